package redact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/conf"
	"github.com/kaudit/kaudit/redact/leakcheck"
)

// canaryCorpus is one audit event per name (testdata/canary/events.jsonl,
// named by the annotation kaudit.test/case); the end-to-end test sends the
// same file through the real plugin into the real Loki.
const canaryCorpus = "../testdata/canary/events.jsonl"

func defaultRedactor(t testing.TB, cfg Config) *Redactor {
	t.Helper()
	cfg.Rules = append([]Source{{Name: conf.RedactName, Data: conf.Redact}}, cfg.Rules...)
	return mustNew(t, cfg)
}

// substituteCorpus fills a corpus line's placeholders with values that
// carry the canary markers (leakcheck.Values).
func substituteCorpus(t testing.TB, line []byte, id string) []byte {
	t.Helper()
	b, err := leakcheck.Fill(line, id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// markers finds a canary in every encoding: plain, base64 std or url at
// any alignment, hex, base64 of gzip.
var markers = leakcheck.New(leakcheck.Markers...)

type corpusLine struct {
	Case   string         `json:"case"`
	Report string         `json:"report"`
	Event  map[string]any `json:"event"`
}

// TestCanaryCorpus redacts every name of the corpus with the shipped
// defaults: no form of the canary may survive, every name must report what
// it removed, a second pass must change nothing, and the output is compared
// with testdata/canary/events.want.jsonl (reviewed by hand; -update
// rewrites it) so that what is kept is checked as closely as what is
// removed.
func TestCanaryCorpus(t *testing.T) {
	r := defaultRedactor(t, Config{})
	fh, err := os.Open(canaryCorpus)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var got bytes.Buffer
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		ev0 := decodeEvent(t, sc.Bytes())
		name := ev0["annotations"].(map[string]any)["kaudit.test/case"].(string)
		if seen[name] {
			t.Errorf("name %s twice", name)
		}
		seen[name] = true
		id := strings.ReplaceAll(name, "_", "-")
		ev := decodeEvent(t, substituteCorpus(t, sc.Bytes(), id))
		rep := r.Redact(ev)
		t.Run(name, func(t *testing.T) {
			assertNoLeak(t, ev, "kaudit-canary-"+id)
			if f := markers.Find(string(mustMarshal(t, ev))); f != "" {
				t.Errorf("canary form %q survived", f)
			}
			if rep.Empty() {
				t.Error("nothing reported")
			}
			again := copyEvent(ev)
			if rep2 := r.Redact(again); !rep2.Empty() {
				t.Errorf("second Redact reported %q", rep2)
			}
			if !reflect.DeepEqual(again, ev) {
				t.Error("second Redact changed the event")
			}
		})
		b, err := json.Marshal(corpusLine{Case: name, Report: rep.String(), Event: ev})
		if err != nil {
			t.Fatal(err)
		}
		got.Write(b)
		got.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// The READMEs give the corpus's size, which grows with every leak
	// found: hold them to it.
	for _, doc := range [...]struct{ path, phrase string }{
		{"README.md", "(%d cases,"}, {"README.md", "— %d cases ×"}, {"../README.md", "the %d canary cases"},
	} {
		b, err := os.ReadFile(doc.path)
		if err != nil {
			t.Fatal(err)
		}
		if p := fmt.Sprintf(doc.phrase, len(seen)); !bytes.Contains(b, []byte(p)) {
			t.Errorf("%s does not say %q", doc.path, p)
		}
	}
	want := strings.TrimSuffix(canaryCorpus, ".jsonl") + ".want.jsonl"
	if *update {
		if err := os.WriteFile(want, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wb, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v (run go test ./redact -run TestCanaryCorpus -update)", err)
	}
	if !bytes.Equal(wb, got.Bytes()) {
		t.Errorf("output differs from %s (run with -update and review the diff)", want)
	}
}
