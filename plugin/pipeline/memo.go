package pipeline

import (
	"strings"

	"github.com/kaudit/kaudit/detect"
)

// Detections are the detection results of one chunk's events, in the order
// the pipeline met them, recorded on the first attempt at the chunk and
// replayed on its retries: detection then stays a function of the events,
// not of how often Loki was away. Only events that matched something or
// were counted by a stateful rule are stored, so memory follows
// detections, not traffic; what else a result holds (the source address)
// is a function of the event alone and is derived again.
type Detections struct {
	events int
	idx    []int32
	res    []detect.Result
	// replay is the position while replaying.
	next int
}

// Events is the number of events the recording covers.
func (d *Detections) Events() int { return d.events }

// Weight is the memory the recording holds, in detections kept (at least 1).
func (d *Detections) Weight() int { return len(d.res) + 1 }

func (d *Detections) record(r detect.Result) {
	if r.Severity > detect.None || len(r.Matches) > 0 || r.CountedIDs() != "" {
		// Kept past the chunk's flush: its own copy, not a substring of
		// the decoder's copy of the whole chunk.
		r.SourceIP = strings.Clone(r.SourceIP)
		d.idx = append(d.idx, int32(d.events))
		d.res = append(d.res, r)
	}
	d.events++
}

// at returns the recorded result of the i-th event, ok false when nothing
// was recorded for it.
func (d *Detections) at(i int) (detect.Result, bool) {
	for d.next < len(d.idx) && int(d.idx[d.next]) < i {
		d.next++
	}
	if d.next < len(d.idx) && int(d.idx[d.next]) == i {
		return d.res[d.next], true
	}
	return detect.Result{}, false
}

// detector is how one pass over a chunk obtains each event's detections:
// from the engine (recording them) or from an earlier recording.
type detector struct {
	eng    *detect.Engine
	rec    *Detections
	replay *Detections
	i      int
}

func (d *detector) detect(e map[string]any) (detect.Result, bool) {
	i := d.i
	d.i++
	if d.replay != nil && i < d.replay.events {
		if r, ok := d.replay.at(i); ok {
			return r, true
		}
		return detect.Result{SourceIP: d.eng.SourceIP(e)}, true
	}
	r := d.eng.Detect(e, nil)
	if d.rec != nil {
		d.rec.record(r)
	}
	return r, false
}
