package detect

import (
	"reflect"
	"testing"

	"github.com/kaudit/kaudit/testdata"
)

// Keeping each field's value, and each shared test's outcome, for the
// other rules that read or make them changes no result: two engines, one
// reading every field afresh and making every test itself,
// agree on every event the repository holds (benign traffic, planted and
// held-out attacks, the public corpora), in order, counters included.
func TestSlotsChangeNothing(t *testing.T) {
	evs := testdata.Events(t, "benign/*.jsonl", "heldout/*.jsonl", "corpora/*.jsonl")
	if len(evs) < 1000 {
		t.Fatalf("only %d events", len(evs))
	}
	slotted, plain := loadDefaultInternal(t), loadDefaultInternal(t)
	if slotted.nSlots < 10 || slotted.nResults < 10 {
		t.Fatalf("%d slots, %d results: the rules share no field and no test?", slotted.nSlots, slotted.nResults)
	}
	for _, r := range plain.rules {
		for _, m := range []matcher{r.cond, r.exc} {
			eachField(m, func(fm *fieldMatch) { fm.slot, fm.res = -1, -1 })
		}
	}
	matched := agree(t, evs, slotted, plain, "with slots", "without")
	t.Logf("%d events, %d with matches, %d slots, %d shared tests", len(evs), matched, slotted.nSlots, slotted.nResults)
}

// Leaving out the equality tests on verb and resource that the index has
// already decided changes no result: an engine evaluating every rule as
// written agrees on every event the repository holds, in order.
func TestUnindexedChangesNothing(t *testing.T) {
	evs := testdata.Events(t, "benign/*.jsonl", "heldout/*.jsonl", "corpora/*.jsonl", "detect/*/*.jsonl")
	lean, written := loadDefaultInternal(t), loadDefaultInternal(t)
	dropped := 0
	for _, r := range written.rules {
		n, w := 0, 0
		eachField(r.cond, func(*fieldMatch) { n++ })
		eachField(r.written, func(*fieldMatch) { w++ })
		if n < w {
			dropped++
		}
		r.cond = r.written
	}
	if dropped < 50 {
		t.Fatalf("only %d rules lost a test to the index", dropped)
	}
	matched := agree(t, evs, lean, written, "lean", "as written")
	t.Logf("%d events, %d with matches, %d rules evaluated without their indexed tests", len(evs), matched, dropped)
}

// agree runs engines a and b over evs in order, fails at the first event
// they judge differently, and returns how many events matched a rule;
// fewer than 100 would make the comparison say little.
func agree(t *testing.T, evs []map[string]any, a, b *Engine, aName, bName string) int {
	t.Helper()
	matched := 0
	for i, ev := range evs {
		ra, rb := a.Detect(ev, nil), b.Detect(ev, nil)
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("event %d (%v): %s %+v, %s %+v", i, ev["auditID"], aName, ra, bName, rb)
		}
		if len(ra.Matches) > 0 {
			matched++
		}
	}
	if matched < 100 {
		t.Errorf("only %d of %d events matched a rule: the comparison says little", matched, len(evs))
	}
	return matched
}
