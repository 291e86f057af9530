package pipeline_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/loki"
	. "github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/redact"
	"github.com/kaudit/kaudit/redact/policy"
	"github.com/kaudit/kaudit/scripts/e2e"
	"github.com/kaudit/kaudit/testdata"
)

// fastCorpus is every realistic event the repository holds: benign traffic
// of every kind, the public corpora, planted attacks, the canary corpus
// (every one secret-bearing) and the generator's routine mix.
func fastCorpus(t *testing.T) []map[string]any {
	t.Helper()
	var files []string
	for _, pat := range []string{"benign/*.jsonl", "heldout/*.jsonl", "corpora/*.jsonl"} {
		m, err := filepath.Glob(filepath.Join(testdata.Dir(t), pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var evs []map[string]any
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			if inner, ok := ev["event"].(map[string]any); ok {
				ev = inner
			}
			evs = append(evs, ev)
		}
	}
	canaries, err := e2e.CanaryCorpus(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, canaries...)
	return append(evs, e2e.Generate(2000, 5, time.Now(), time.Hour).Events...)
}

type shipped struct {
	line     string
	redacted string
	fast     bool
}

func ship(t *testing.T, p *Pipeline, data []byte) []shipped {
	t.Helper()
	c, _ := config.Parse(config.MapGetter{})
	b := loki.NewEntries(c)
	var out []shipped
	p.Chunk(data, func(ev *Event) {
		_, _, e := b.Build(ev)
		out = append(out, shipped{e.Line, ev.Redacted.String(), ev.Line != ""})
	})
	return out
}

// TestFastLineIsTheFullPath holds the screen to its promise on every
// corpus, in both record forms that take it (parsed records and raw lines),
// with and without an audit policy and with managedFields kept or dropped:
// an event that leaves with a line written from its input carries exactly
// what the full path (policy, Redact, the tree's line) ships for it, and the
// same report. The canary corpus, where every event holds a secret, must
// never be passed by the screen with anything left to remove.
func TestFastLineIsTheFullPath(t *testing.T) {
	evs := fastCorpus(t)
	lines := make([]map[string]any, len(evs))
	for i, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = map[string]any{"log": string(b)}
	}
	det, err := LoadRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range []struct {
		name, policy string
		keepManaged  bool
	}{
		{"no-policy", "", false},
		{"keep-managed", "", true},
		{"tiered", "../../conf/policy/tiered.yaml", false},
		{"managed-cluster", "../../conf/policy/managed-cluster.yaml", true},
	} {
		red, err := redact.New(redact.Config{KeepManagedFields: pc.keepManaged})
		if err != nil {
			t.Fatal(err)
		}
		var pol *policy.Policy
		if pc.policy != "" {
			if pol, err = policy.LoadFile(pc.policy); err != nil {
				t.Fatal(err)
			}
		}
		mk := func(lines bool) *Pipeline {
			p, err := New(Settings{Redactor: red, Detector: det, Policy: pol, PolicyKeep: detect.High, Lines: lines})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		for _, form := range []struct {
			name    string
			records []map[string]any
		}{{"parsed", evs}, {"rawline", lines}} {
			data := chunk(t, form.records, fbchunk.Options{})
			full, fast := ship(t, mk(false), data), ship(t, mk(true), data)
			if len(full) != len(fast) {
				t.Fatalf("%s/%s: %d events on the full path, %d with lines", pc.name, form.name, len(full), len(fast))
			}
			n := 0
			for i := range fast {
				if !fast[i].fast {
					continue
				}
				n++
				if fast[i].redacted != full[i].redacted {
					t.Errorf("%s/%s: event %d: screen reports %q, full path %q", pc.name, form.name, i, fast[i].redacted, full[i].redacted)
				}
				if !sameJSON(t, fast[i].line, full[i].line) {
					t.Errorf("%s/%s: event %d: line from input differs from the full path's:\n%s\n%s", pc.name, form.name, i, fast[i].line, full[i].line)
				}
			}
			if n == 0 {
				t.Errorf("%s/%s: no event took the line from its input", pc.name, form.name)
			}
			t.Logf("%s/%s: %d of %d events shipped from their input", pc.name, form.name, n, len(fast))
		}
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	da := json.NewDecoder(bytes.NewReader([]byte(a)))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader([]byte(b)))
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
