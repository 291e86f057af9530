package redact

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	jsoniter "github.com/json-iterator/go"

	"github.com/kaudit/kaudit/redact/leakcheck"
)

// fuzzCanary is random per process, so a stored input cannot contain it and
// any occurrence after Redact is the harness's plant leaking. Failing
// inputs still reproduce: the harness plants, the input does not.
var fuzzCanary = func() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "CANARY-fuzz-" + hex.EncodeToString(b[:])
}()

var fuzzJSON = jsoniter.Config{UseNumber: true}.Froze()

// FuzzRedact decodes arbitrary JSON as an event about secrets, plants a
// canary wherever a secret could sit, and requires that Redact removes it
// without panicking and that a second pass changes nothing.
func FuzzRedact(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.in.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"requestObject":"skipped-too-big-size-object"}`))
	f.Add([]byte(`{"requestObject":[{"op":"add","path":"/data/x","value":"v"}]}`))
	f.Add([]byte(`{"kind":0}`))
	f.Add([]byte(`{"requestObject":[{"op":"add","path":"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration","value":"{\"kind\":\"Secret\"}"}]}`))
	f.Add([]byte(`{"requestObject":[{"op":"add","path":"/data/0/-","value":{"a":"b"}}]}`))
	if b, err := os.ReadFile(canaryCorpus); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(line) > 0 {
				f.Add(line)
			}
		}
	}

	r := defaultRedactor(f, Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev map[string]any
		if err := fuzzJSON.Unmarshal(data, &ev); err != nil || ev == nil {
			return
		}
		if bytes.Contains(data, []byte(fuzzCanary)) {
			return
		}
		ev["objectRef"] = map[string]any{"resource": "secrets"}
		ev["requestObject"] = plantBody(ev["requestObject"])
		if m, ok := ev["responseObject"].(map[string]any); ok {
			plantObject(m)
		}
		if _, err := json.Marshal(ev); err != nil {
			return // jsoniter accepted a number encoding/json will not write
		}

		r.Redact(ev)

		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("marshal after Redact: %v", err)
		}
		if bytes.Contains(out, []byte(fuzzCanary)) {
			t.Fatalf("canary leaked at %s", leakPath(ev, fuzzCanary, "$"))
		}
		before := copyEvent(ev)
		if rep := r.Redact(ev); !rep.Empty() {
			t.Fatalf("second Redact reported %q", rep)
		}
		if !reflect.DeepEqual(ev, before) {
			t.Fatal("second Redact changed the event")
		}
	})
}

// plantBody puts the canary where a secret would be for whatever shape the
// fuzzer produced: in data of an object, as an op value of a patch, or as a
// scalar body itself.
func plantBody(v any) any {
	switch b := v.(type) {
	case map[string]any:
		plantObject(b)
		return b
	case []any:
		return append(b,
			map[string]any{"op": "add", "path": "/data/fuzz", "value": fuzzCanary},
			map[string]any{"op": "replace", "path": "/stringData", "value": map[string]any{"fuzz": fuzzCanary}},
			map[string]any{"op": "add", "path": "", "value": map[string]any{"kind": "Secret", "data": map[string]any{"fuzz": fuzzCanary}}},
			map[string]any{"op": "test", "path": "/data/fuzz~1x", "value": fuzzCanary})
	case nil:
		return map[string]any{"data": map[string]any{"fuzz": fuzzCanary}}
	default:
		return fuzzCanary
	}
}

func plantObject(m map[string]any) {
	if d, ok := m["data"].(map[string]any); ok {
		d["fuzz"] = fuzzCanary
	} else {
		m["data"] = fuzzCanary
	}
	if sd, ok := m["stringData"].(map[string]any); ok {
		sd["fuzz"] = fuzzCanary
	}
	if items, ok := m["items"].([]any); ok {
		for _, it := range items {
			if im, ok := it.(map[string]any); ok {
				if d, ok := im["data"].(map[string]any); ok {
					d["fuzz"] = fuzzCanary
				}
			}
		}
	}
	// Inside a parseable last-applied annotation.
	if md, ok := m["metadata"].(map[string]any); ok {
		if an, ok := md["annotations"].(map[string]any); ok {
			if s, ok := an[lastAppliedKey].(string); ok {
				if obj, ok := parseObject(s); ok {
					obj["data"] = map[string]any{"fuzz": fuzzCanary}
					if b, err := json.Marshal(obj); err == nil {
						an[lastAppliedKey] = string(b)
					}
				}
			}
		}
	}
}

// FuzzScanner plants a secret, in one of the formats the scanner knows,
// inside arbitrary text at an arbitrary position, and requires that the
// sweep of that string removes it in every encoding, never panics, and
// that a second pass changes nothing.
func FuzzScanner(f *testing.F) {
	f.Add("", uint8(0), uint16(0))
	f.Add("password=hunter2 and more", uint8(3), uint16(9))
	f.Add("Authorization: Bearer abc", uint8(1), uint16(22))
	f.Add("machine github.com login x password ", uint8(14), uint16(36))
	f.Add("{\"kind\":\"Secret\",\"data\":{\"a\":\"b\"}}", uint8(12), uint16(30))
	f.Add("apiVersion: v1\nkind: ConfigMap\ndata:\n  k: ", uint8(15), uint16(44))
	f.Add("https://user:@host/x?token=", uint8(13), uint16(13))
	r := defaultRedactor(f, Config{})
	find := leakcheck.New(leakcheck.Markers...)
	vals := leakcheck.Values("fuzz")
	f.Fuzz(func(t *testing.T, text string, form uint8, at uint16) {
		if strings.Contains(text, leakcheck.Markers[0]) || strings.Contains(strings.ToUpper(text), leakcheck.Markers[1]) {
			return
		}
		secret := secretForms[int(form)%len(secretForms)](vals)
		pos := int(at) % (len(text) + 1)
		// Separated from its neighbours, as a secret in a text is.
		s := text[:pos] + " " + secret + " " + text[pos:]
		ev := map[string]any{"responseStatus": map[string]any{"message": s}, "requestObject": map[string]any{"kind": "ConfigMap", "data": map[string]any{"notes": s}}}
		r.Redact(ev)
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if f := find.Find(string(out)); f != "" {
			t.Fatalf("secret form %d survived as %q: %s", form%uint8(len(secretForms)), f, out)
		}
		before := copyEvent(ev)
		if rep := r.Redact(ev); !rep.Empty() || !reflect.DeepEqual(before, ev) {
			t.Fatalf("second pass reported %q", rep)
		}
	})
}
