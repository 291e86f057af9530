package redact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"github.com/kaudit/kaudit/testdata"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// corporaDir is testdata/corpora, the real-world corpora.
func corporaDir(t testing.TB) string {
	t.Helper()
	return testdata.CorporaDir(t)
}

// TestCorpora runs every real event through Redact: none may panic, and a
// second pass changes nothing (how much of them is kept is
// TestForensicsKept's). Each is then run again as if objectRef said
// secrets, to exercise the fail-closed paths on real shapes.
func TestCorpora(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corporaDir(t), "*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no corpora in " + corporaDir(t))
	}
	r := mustNew(t, Config{KeepManagedFields: true})
	full := defaultRedactor(t, Config{})
	total := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			sc := bufio.NewScanner(fh)
			sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
			line := 0
			for sc.Scan() {
				line++
				dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
				dec.UseNumber()
				var ev map[string]any
				if err := dec.Decode(&ev); err != nil {
					t.Fatalf("line %d: %v", line, err)
				}
				// Panther rule tests wrap the audit event.
				if inner, ok := ev["event"].(map[string]any); ok {
					ev = inner
				}
				orig := copyEvent(ev)
				r.Redact(ev)
				once := copyEvent(ev)
				if rep := r.Redact(ev); !rep.Empty() || !reflect.DeepEqual(ev, once) {
					t.Errorf("line %d: second pass reported %q", line, rep)
				}
				// The same bodies treated as a secret's must not panic and
				// must be stable under a second pass.
				forced := copyEvent(orig)
				forced["objectRef"] = map[string]any{"resource": "secrets"}
				r.Redact(forced)
				if rep := r.Redact(forced); !rep.Empty() {
					t.Errorf("line %d as secret: second pass reported %q", line, rep)
				}
				// The shipped defaults (rules, managedFields removed).
				withRules := copyEvent(orig)
				full.Redact(withRules)
				if rep := full.Redact(withRules); !rep.Empty() {
					t.Errorf("line %d with default rules: second pass reported %q", line, rep)
				}
				total++
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Logf("%d corpus events", total)
}
