package loki

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/config"
)

// behindAnswer is the ingester's 400 for entries older than the window,
// as pkg/ingester/stream.go writes it: at most ten named, all counted.
func behindAnswer(refused []time.Time, cutoff time.Time, total int) string {
	var b strings.Builder
	for i, ts := range refused {
		if i == 10 {
			break
		}
		fmt.Fprintf(&b, "entry with timestamp %s ignored, reason: 'entry too far behind, entry timestamp is: %s, oldest acceptable timestamp is: %s',\n",
			ts.String(), ts.Format(time.RFC3339), cutoff.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "user 'fake', total ignored: %d out of %d for stream: {job=\"kube-audit\"}", len(refused), total)
	return b.String()
}

func timedRequest(times ...time.Time) request {
	es := make([]push.Entry, len(times))
	for i, ts := range times {
		es[i] = push.Entry{Timestamp: ts, Line: fmt.Sprint(i)}
	}
	return request{tenant: "t", streams: []push.Stream{{Labels: `{job="kube-audit"}`, Entries: es}}, entries: len(es)}
}

func TestBehindWindow(t *testing.T) {
	base := time.Date(2026, 11, 29, 3, 59, 30, 0, time.UTC)
	cutoff := base.Add(90 * time.Second).Add(400 * time.Millisecond) // Loki prints it to the second
	var times []time.Time
	for i := range 14 {
		times = append(times, base.Add(time.Duration(i)*10*time.Second))
	}
	// Entries 0..9 are before the cutoff (up to base+90s), 10.. after.
	late := 0
	for _, ts := range times {
		if ts.Before(cutoff) {
			late++
		}
	}
	r := timedRequest(times...)
	msg := behindAnswer(times[:late], cutoff, len(times))
	n := rejectedCount(msg, r.entries)
	if k, ok := behindWindow(msg, r, n); !ok || k != late {
		t.Fatalf("behindWindow = %d, %v; want %d", k, ok, late)
	}
	// Loki 2.x names the cutoff only.
	loki2 := regexp.MustCompile(`entry timestamp is: [^,]*, `).ReplaceAllString(msg, "")
	if k, ok := behindWindow(loki2, r, n); !ok || k != late {
		t.Errorf("Loki 2 answer: behindWindow = %d, %v; want %d", k, ok, late)
	}
	reqs := lateRequests(r, late)
	if len(reqs) != 2 || reqs[0].entries+reqs[1].entries != late {
		t.Fatalf("late requests %+v", reqs)
	}
	if l := reqs[0].streams[0].Labels; l != `{job="kube-audit", backfill="2026-11-29T03"}` {
		t.Errorf("labels %s", l)
	}
	if l := reqs[1].streams[0].Labels; l != `{job="kube-audit", backfill="2026-11-29T04"}` {
		t.Errorf("labels %s", l)
	}
	for _, lr := range reqs {
		if !lr.late {
			t.Error("a late request not marked: it would be backfilled again")
		}
	}

	for name, tc := range map[string]struct {
		msg string
		r   request
	}{
		// Another reason beside the window: which entries it names is
		// not known, so nothing is taken for late.
		"mixed reasons": {strings.Replace(msg, "entry too far behind, entry timestamp is: "+times[0].Format(time.RFC3339)+", oldest acceptable timestamp is: "+cutoff.Format(time.RFC3339), "Per stream rate limit exceeded", 1), r},
		// The distributor refused some before the ingester saw them.
		"count of fewer": {behindAnswer(times[:late], cutoff, len(times)-1), r},
		// Loki's count and its cutoff disagree with the request's order.
		"not a prefix": {behindAnswer(times[:late], base.Add(10*time.Second), len(times)), r},
		"unsorted":     {msg, timedRequest(append([]time.Time{times[len(times)-1]}, times[:len(times)-1]...)...)},
		"already late": {msg, request{tenant: r.tenant, streams: r.streams, entries: r.entries, late: true}},
		"other answer": {"entry for stream '{job=\"kube-audit\"}' has timestamp too old: 2026-01-01T00:00:00Z, oldest acceptable timestamp is: 2026-11-01T00:00:00Z", r},
	} {
		if k, ok := behindWindow(tc.msg, tc.r, rejectedCount(tc.msg, tc.r.entries)); ok {
			t.Errorf("%s: taken as %d late entries", name, k)
		}
	}
}

// The ingester judges a request's entries in order, each against the
// newest entry before it, and split puts a stream's entries in time order:
// what it refuses for the window is then a prefix, the only shape
// behindWindow takes.
func TestSplitPutsStreamsInTimeOrder(t *testing.T) {
	base := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	var b Batch
	for _, d := range []int{5, 1, 3, 1, 2} {
		b.Add("t", `{job="a"}`, push.Entry{Timestamp: base.Add(time.Duration(d) * time.Second), Line: fmt.Sprint(d)})
	}
	reqs := b.split(1 << 20)
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	var got []string
	for _, e := range reqs[0].streams[0].Entries {
		got = append(got, e.Timestamp.Format("05"))
	}
	if s := strings.Join(got, " "); s != "01 01 02 03 05" {
		t.Errorf("order %s", s)
	}
}

// The configuration refuses the backfill label as a static label: a stream
// of late entries would otherwise hold it twice.
func TestBackfillLabelReserved(t *testing.T) {
	if _, err := config.Parse(config.MapGetter{"labels": "job=a, " + BackfillLabel + "=x"}); err == nil {
		t.Errorf("labels with %s accepted", BackfillLabel)
	}
}
