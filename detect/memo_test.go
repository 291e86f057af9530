package detect

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kaudit/kaudit/testdata"
)

// Remembering the outcomes of the rules that judge only who asked changes
// no result: an engine that remembers and one that evaluates every rule on
// every event agree on every event the repository holds, played in order
// and then again shuffled (so most outcomes come from the memo), counters
// included.
func TestMemoChangesNothing(t *testing.T) {
	evs := testdata.Events(t, "benign/*.jsonl", "heldout/*.jsonl", "corpora/*.jsonl")
	evs = append(evs, fixtureEvents(t)...)
	memo, plain := loadDefaultInternal(t), loadDefaultInternal(t)
	if len(memo.memo.rules) < 8 {
		t.Fatalf("only %d rules remembered: the comparison says little", len(memo.memo.rules))
	}
	plain.memo = requesterMemo{}
	for _, r := range append(plain.rules[:len(plain.rules):len(plain.rules)], plain.steps...) {
		r.memo = -1
	}
	order := append(evs[:len(evs):len(evs)], evs...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(evs), func(i, j int) {
		order[len(evs)+i], order[len(evs)+j] = order[len(evs)+j], order[len(evs)+i]
	})
	matched := 0
	for i, ev := range order {
		a, b := memo.Detect(ev, nil), plain.Detect(ev, nil)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("event %d (%v): remembered %+v, evaluated %+v", i, ev["auditID"], a, b)
		}
		for _, m := range a.Matches {
			for _, r := range memo.memo.rules {
				if r.info.ID == m.ID {
					matched++
				}
			}
		}
	}
	if matched < 100 {
		t.Errorf("only %d matches of remembered rules in %d events", matched, len(order))
	}
	t.Logf("%d events, %d matches of the %d remembered rules", len(order), matched, len(memo.memo.rules))
}

// The key writes values whole: values that differ only in kind, in a
// number's form or in how a list splits its text are different keys.
func TestMemoKeyTellsValuesApart(t *testing.T) {
	vals := []value{
		{},
		scalarOf("200"),
		scalarOf(200.0),
		scalarOf(true),
		scalarOf("true"),
		listOf([]any{"a,b"}),
		listOf([]any{"a", "b"}),
		listOf([]any{"ab"}),
		listOf([]any{"a", map[string]any{}}),
		listOf([]any{"a"}),
		scalarOf("a"),
	}
	seen := map[string]int{}
	for i := range vals {
		k, ok := appendValue(nil, &vals[i])
		if !ok {
			t.Fatalf("value %d not keyable", i)
		}
		if j, dup := seen[string(k)]; dup {
			t.Errorf("values %d and %d share the key %q", j, i, k)
		}
		seen[string(k)] = i
	}
	// Two fields: ("ab","") and ("a","b") must differ too.
	a, _ := appendValue(nil, &value{scalar: scalar{kind: kindString, s: "ab"}})
	a, _ = appendValue(a, &value{})
	b, _ := appendValue(nil, &value{scalar: scalar{kind: kindString, s: "a"}})
	b, _ = appendValue(b, &value{scalar: scalar{kind: kindString, s: "b"}})
	if string(a) == string(b) {
		t.Error("field boundaries are lost")
	}
}

// fixtureEvents are the events under testdata/detect/<rule>/, the attacks
// each rule is written for.
func fixtureEvents(t *testing.T) []map[string]any {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testdata.Dir(t), "detect", "*", "*.json"))
	if err != nil || len(paths) < 100 {
		t.Fatalf("fixtures: %d files, %v", len(paths), err)
	}
	var evs []map[string]any
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var ev map[string]any
		if err := d.Decode(&ev); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		evs = append(evs, ev)
	}
	return evs
}
