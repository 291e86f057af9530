package redact

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const fixtureDir = "../testdata/redact"

// newCanary returns a value no fixture or corpus can contain by accident,
// so finding it after Redact can only mean a leak.
func newCanary(t testing.TB) string {
	t.Helper()
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "CANARY-" + hex.EncodeToString(b[:])
}

type leakForm struct{ name, text string }

// leakForms lists the canary as it could survive: plain, and base64 in
// every alphabet, padded or not, at each byte alignment inside a longer
// encoded value (only the characters that depend on canary bytes alone).
func leakForms(canary string) []leakForm {
	forms := []leakForm{{"plain", canary}}
	encs := []struct {
		name string
		enc  *base64.Encoding
	}{
		{"base64-std", base64.StdEncoding},
		{"base64-url", base64.URLEncoding},
		{"base64-std-raw", base64.RawStdEncoding},
		{"base64-url-raw", base64.RawURLEncoding},
	}
	for _, e := range encs {
		forms = append(forms, leakForm{e.name, e.enc.EncodeToString([]byte(canary))})
		for off := 1; off < 3; off++ {
			s := e.enc.EncodeToString(append(make([]byte, off), canary...))
			forms = append(forms, leakForm{fmt.Sprintf("%s+%d", e.name, off), s[4 : len(s)-4]})
		}
	}
	return forms
}

// substitute fills a fixture template with the canary in the encodings the
// fixtures use: {{CANARY}} plain (stringData, tokens), {{CANARY_B64}} as
// Secret data carries it, {{CANARY_B64URL}} as a JWT segment carries it.
func substitute(tmpl []byte, canary string) []byte {
	r := strings.NewReplacer(
		"{{CANARY}}", canary,
		"{{CANARY_B64}}", base64.StdEncoding.EncodeToString([]byte(canary)),
		"{{CANARY_B64URL}}", base64.RawURLEncoding.EncodeToString([]byte(canary)),
	)
	return []byte(r.Replace(string(tmpl)))
}

// decodeEvent decodes as the plugin's decoder does: numbers stay json.Number.
func decodeEvent(t testing.TB, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return ev
}

// assertNoLeak fails if any form of the canary survives anywhere in v once
// marshalled, naming the JSON path where it was found.
func assertNoLeak(t testing.TB, v any, canary string) {
	t.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	for _, f := range leakForms(canary) {
		if bytes.Contains(out, []byte(f.text)) {
			t.Errorf("canary leaked (%s form) at %s", f.name, leakPath(v, f.text, "$"))
		}
	}
}

func leakPath(v any, needle, path string) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.Contains(k, needle) {
				return path + " (key)"
			}
			if p := leakPath(x[k], needle, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := leakPath(e, needle, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case string:
		if strings.Contains(x, needle) {
			return path
		}
	}
	return ""
}

// deepCopy copies a value-model tree so a test can compare before and after.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	default:
		return v
	}
}

func copyEvent(ev map[string]any) map[string]any { return deepCopy(ev).(map[string]any) }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name+".in.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadFixture returns the named fixture with a fresh canary planted.
func loadFixture(t testing.TB, name string) (map[string]any, string) {
	t.Helper()
	canary := newCanary(t)
	return decodeEvent(t, substitute(readFixture(t, name), canary)), canary
}

func mustNew(t testing.TB, cfg Config) *Redactor {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
