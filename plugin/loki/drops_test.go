package loki

import (
	"testing"

	"github.com/kaudit/kaudit/plugin/metrics"
)

// Loki's grouped 400 answer (scripts/loki/BEHAVIOUR.md) is split per group;
// whatever it does not account for keeps the message's overall reason.
func TestCountDrops(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		n    int
		want map[metrics.Drop]int
	}{
		{"1 errors like: max entry size '262144' bytes exceeded for stream '{a=\"b\"}' while adding an entry with length '307200' bytes; 2 errors like: entry for stream '{a=\"b\"}' has timestamp too old: 2026-11-13T11:08:58Z, oldest acceptable timestamp is: 2026-11-14T11:08:58Z; 1 errors like: entry for stream '{}' has 16 label names; limit 15", 4,
			map[metrics.Drop]int{metrics.DropLineTooLong: 1, metrics.DropTooOld: 2, metrics.DropLabels: 1}},
		{"entry with timestamp 2026-11-21 10:08:38 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: x',\nentry with timestamp 2026-11-21 10:08:39 +0000 UTC ignored, reason: 'entry too far behind'\nuser 'fake', total ignored: 2 out of 5", 2,
			map[metrics.Drop]int{metrics.DropTooOld: 2}},
		{"couldn't parse labels: 1:5: parse error", 3, map[metrics.Drop]int{metrics.DropLabels: 3}},
	} {
		got := map[metrics.Drop]int{}
		countDrops(tc.msg, tc.n, func(d metrics.Drop, k int) { got[d] += k })
		if len(got) != len(tc.want) {
			t.Errorf("%.40q: got %v, want %v", tc.msg, got, tc.want)
		}
		for d, k := range tc.want {
			if got[d] != k {
				t.Errorf("%.40q: %s=%d, want %d", tc.msg, d, got[d], k)
			}
		}
	}
}
