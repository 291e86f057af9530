package loki

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/loki/pkg/push"
)

// Loki takes an entry into a stream only if it is no older than the newest
// entry the stream holds minus half its max_chunk_age, 1 h by default
// (scripts/loki/BEHAVIOUR.md, "Out of order"). After an outage longer than
// that, Fluent Bit sends new chunks at once while older ones wait for their
// retry, and Loki refuses the older ones' entries for good as "entry too far
// behind". A stream that holds a single hour of entries takes any of them,
// so such entries are sent again into the stream of their labels plus
// backfill="<UTC hour>": every selector on the stream's labels (an alert's
// severity or detection) still matches them, and an outage adds at most one
// stream an hour per label set.

// BackfillLabel names the hour of the streams that take late entries.
const BackfillLabel = "backfill"

var (
	reasonRe = regexp.MustCompile(`reason: '([^']*)'`)
	// Loki 2.x leaves the entry's own time out.
	cutoffRe = regexp.MustCompile(`^entry too far behind, (?:entry timestamp is: [^,]*, )?oldest acceptable timestamp is: (\S+)$`)
)

// behindWindow reports how many of r's entries Loki refused only for being
// older than the out-of-order window: the ingester's answer, every reason it
// names is "entry too far behind", and its count is out of all of r's
// entries (none refused before the ingester). r's entries are in time order
// (split), so they are the first n; that is checked against the cutoff Loki
// names, which it prints to the second, or the answer is not taken as one.
func behindWindow(msg string, r request, n int) (int, bool) {
	if r.late || n <= 0 || len(r.streams) != 1 {
		return 0, false
	}
	m := ignoredRe.FindStringSubmatch(msg)
	if m == nil || m[1] != strconv.Itoa(n) || m[2] != strconv.Itoa(r.entries) {
		return 0, false
	}
	reasons := reasonRe.FindAllStringSubmatch(msg, -1)
	if len(reasons) == 0 || len(reasons) > n {
		return 0, false
	}
	var lo, hi time.Time
	for i, rs := range reasons {
		c := cutoffRe.FindStringSubmatch(rs[1])
		if c == nil {
			return 0, false
		}
		t, err := time.Parse(time.RFC3339, c[1])
		if err != nil {
			return 0, false
		}
		if i == 0 || t.Before(lo) {
			lo = t
		}
		if i == 0 || t.After(hi) {
			hi = t
		}
	}
	es := r.streams[0].Entries
	if len(es) != r.entries || !slices.IsSortedFunc(es, byTime) {
		return 0, false
	}
	if !es[n-1].Timestamp.Before(hi.Add(time.Second)) || (n < len(es) && es[n].Timestamp.Before(lo)) {
		return 0, false
	}
	return n, true
}

// lateRequests puts the first k entries of r, in time order, into requests
// of one hour each, to the stream of r's labels plus the hour's backfill
// label. Each is part of r, so within max_request_bytes.
func lateRequests(r request, k int) []request {
	s := r.streams[0]
	es := s.Entries[:k]
	var out []request
	for start := 0; start < len(es); {
		hour := es[start].Timestamp.UTC().Truncate(time.Hour)
		end := start + 1
		for end < len(es) && es[end].Timestamp.UTC().Truncate(time.Hour).Equal(hour) {
			end++
		}
		out = append(out, request{
			tenant:  r.tenant,
			streams: []push.Stream{{Labels: withLabel(s.Labels, BackfillLabel, hour.Format("2006-01-02T15")), Entries: es[start:end]}},
			entries: end - start,
			late:    true,
		})
		start = end
	}
	return out
}

// withLabel adds name="value" to a rendered label set; Loki sorts a
// stream's labels itself.
func withLabel(labels, name, value string) string {
	l := name + "=" + strconv.Quote(value)
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(labels, "{"), "}"))
	if body == "" {
		return "{" + l + "}"
	}
	return "{" + body + ", " + l + "}"
}
