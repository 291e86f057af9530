package detect

import (
	"reflect"
	"testing"

	"github.com/kaudit/kaudit/testdata"
)

// Keeping each field's value for the other rules that read it changes no
// result: two engines, one reading every field afresh for every test,
// agree on every event the repository holds (benign traffic, planted and
// held-out attacks, the public corpora), in order, counters included.
func TestSlotsChangeNothing(t *testing.T) {
	evs := testdata.Events(t, "benign/*.jsonl", "heldout/*.jsonl", "corpora/*.jsonl")
	if len(evs) < 1000 {
		t.Fatalf("only %d events", len(evs))
	}
	slotted, plain := loadDefaultInternal(t), loadDefaultInternal(t)
	if slotted.nSlots < 10 {
		t.Fatalf("%d slots: the rules share no field?", slotted.nSlots)
	}
	for _, r := range plain.rules {
		for _, m := range []matcher{r.cond, r.exc} {
			eachField(m, func(fm *fieldMatch) { fm.slot = -1 })
		}
	}
	matched := 0
	for i, ev := range evs {
		a, b := slotted.Detect(ev, nil), plain.Detect(ev, nil)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("event %d (%v): with slots %+v, without %+v", i, ev["auditID"], a, b)
		}
		if len(a.Matches) > 0 {
			matched++
		}
	}
	if matched < 100 {
		t.Errorf("only %d of %d events matched a rule: the comparison says little", matched, len(evs))
	}
	t.Logf("%d events, %d with matches, %d slots", len(evs), matched, slotted.nSlots)
}
