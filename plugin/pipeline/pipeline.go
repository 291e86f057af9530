// Package pipeline is kaudit's core path, shared by every packaging (the
// output .so, the filter, the command): decode a Fluent Bit chunk into audit
// events, detect on each event as it arrived, let the audit policy decide
// what of it is stored, redact that, and hand the result on. One bad record never takes its chunk down, and an event whose
// processing fails is dropped, never passed on unredacted.
package pipeline

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/plugin/metrics"
	"github.com/kaudit/kaudit/redact"
	"github.com/kaudit/kaudit/redact/policy"
)

// Settings wires the pipeline; built by the packaging from its Config.
type Settings struct {
	Redactor *redact.Redactor
	Detector *detect.Engine
	// PassUnrecognized hands records without an audit event on as they came
	// (unredacted) instead of dropping them.
	PassUnrecognized bool
	// Metrics, when set, receives the same counts as Stats and more
	// (detections by rule, redactions by kind).
	Metrics *metrics.Pipeline
	// Policy, when set, decides what of each event is stored, as the API
	// server would have with it (--audit-policy-file).
	Policy *policy.Policy
	// PolicyKeep is the lowest detection severity whose events the policy
	// never drops (they are stored at least at Metadata); detect.None
	// disables the exception.
	PolicyKeep detect.Severity
	// Lines is set by a packaging that ships Event.Line when it is set (the
	// output): events that need no redaction then skip the tree walk.
	Lines bool
	// MaxLine is the longest Loki line the packaging sends as it is
	// (max_line_bytes; 0: no limit). A longer event takes the full path,
	// whose redacted tree the cut works on.
	MaxLine int
	// Reuse is set by a packaging whose emit keeps nothing of an Event
	// past its return, not a map, a list or a string of it (ReuseTrees):
	// a record's maps are then handed back to the decoder for the next
	// records once its events are done, and the decoder's copy of a
	// chunk's text is overwritten by the next chunk's.
	Reuse bool
}

// Stats are counters since start, safe to read concurrently.
type Stats struct {
	Records      atomic.Int64 // Fluent Bit records seen
	Events       atomic.Int64 // audit events emitted
	Unrecognized atomic.Int64 // records holding no audit event
	Malformed    atomic.Int64 // records or chunk tails that could not be decoded, items of an EventList that were not events
	Failed       atomic.Int64 // events dropped because processing failed (fail closed)
	Detected     atomic.Int64 // events with at least one detection
	Redacted     atomic.Int64 // events from which something was removed
	// PolicyDropped counts events the audit policy did not store, by the
	// level it gave them (None, or the level of a rule whose stage is
	// omitted): kaudit_policy_dropped_total{level}.
	PolicyDropped [policy.NumLevels]atomic.Int64
	// PolicyKept counts events the policy would have dropped but that
	// matched a detection of PolicyKeep or above.
	PolicyKept   atomic.Int64
	FailedClosed atomic.Int64 // events with a secret-bearing body replaced whole (shape not understood)
	// DetectionsReused counts events of retried chunks whose detections
	// came from the first attempt.
	DetectionsReused atomic.Int64
}

// Event is one processed audit event, valid only during the emit callback.
type Event struct {
	Event map[string]any // redacted audit event
	// Line, when set, is the event's Loki line, written from the input
	// because the redactor's screen proved nothing in it needs removing
	// (Event is then the tree as decoded: every string in it passed the
	// screen). Empty when the line is to be rendered from Event. Its bytes
	// are reused for the next event: a packaging that keeps it copies it.
	Line     string
	Time     time.Time     // the event's own time, else the record's
	Record   decode.Record // the Fluent Bit record that carried it
	Detect   detect.Result
	Redacted redact.Report
	// PriorRedacted is what a kaudit filter earlier in the pipeline reported
	// removing (its mark's `redacted`), so the output can still say it after
	// this pass found nothing left to remove. Only a well-formed summary
	// (kind=count pairs) is kept: the field is not trusted further.
	PriorRedacted string
	// Unrecognized is set when the record carried no audit event and
	// PassUnrecognized is on: Event is then the record body as it came.
	Unrecognized bool
	// Unchanged is set only when Record.Raw is this event, metadata
	// included, exactly as it is now: the record was the event (or passed
	// whole), decoding kept all of it (Record.Exact), it carried no
	// kaudit mark, the policy stored it as it came and redaction removed
	// nothing. A packaging may then pass Raw on instead of re-encoding.
	// Any doubt leaves it false: Raw is the input, unredacted.
	Unchanged bool
	// Again is set for the events of a chunk processed before (a retry
	// whose first attempt's detections were kept): the counters already
	// hold them, so that a Loki outage does not inflate what they count.
	Again bool
}

// ChunkReport summarises one chunk for the caller's single log line.
type ChunkReport struct {
	Records, Events, Unrecognized, Malformed, Failed int
	// PolicyDropped is the number of events the audit policy did not store.
	PolicyDropped int
	// FirstErr is the first decoding or processing problem, for the log; it
	// never quotes record content.
	FirstErr error
}

// MarkKey is the top-level field the kaudit filter adds to each record it
// has something to say about (severity, detections, what was redacted).
const MarkKey = "kaudit"

// redactSummary is the form of redact.Report.String().
var redactSummary = regexp.MustCompile(`^[a-z_]{1,32}=[0-9]{1,9}(,[a-z_]{1,32}=[0-9]{1,9}){0,15}$`)

// decoders keep their reusable maps and string blocks across chunks.
var decoders = sync.Pool{New: func() any { return decode.NewDecoder(nil) }}

// Pipeline is safe for concurrent use: Fluent Bit may flush several chunks of
// one instance at once (`workers`).
type Pipeline struct {
	s     Settings
	Stats Stats
	// fullPath turns the screen off: every event is redacted as a tree.
	// The tests' reference for what the screen may pass.
	fullPath bool
}

// New returns a pipeline; Redactor and Detector are required.
func New(s Settings) (*Pipeline, error) {
	if s.Redactor == nil || s.Detector == nil {
		return nil, errors.New("pipeline: redactor and detector are required")
	}
	return &Pipeline{s: s}, nil
}

// Chunk decodes a Fluent Bit chunk and calls emit once per audit event, in
// order. emit must not keep the Event after returning.
func (p *Pipeline) Chunk(data []byte, emit func(*Event)) ChunkReport {
	rep, _ := p.ChunkReplay(data, nil, emit)
	return rep
}

// ChunkReplay is Chunk for a chunk that may be delivered more than once.
// Without replay it runs the rules and returns what they found, for the
// caller to keep if the chunk must be retried; with the recording of an
// earlier attempt at the same chunk it reuses that instead of running the
// rules again (stateful rules see each event once), and returns it.
func (p *Pipeline) ChunkReplay(data []byte, replay *Detections, emit func(*Event)) (ChunkReport, *Detections) {
	d := &detector{eng: p.s.Detector, replay: replay}
	if replay == nil {
		d.rec = &Detections{}
	} else {
		replay.next = 0
	}
	var rep ChunkReport
	dec := decoders.Get().(*decode.Decoder)
	dec.Reset(data)
	dec.ReuseText(p.s.Reuse)
	// One screen per chunk: a line written from the input lives in its
	// buffer until the next event's.
	st := fastStates.Get().(*fastState)
	st.dec = dec
	defer func() {
		st.dec = nil
		dec.Reset(nil)
		decoders.Put(dec)
		fastStates.Put(st)
	}()
	var events []map[string]any
	var ev Event
	for {
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rep.Malformed++
			rep.note(fmt.Errorf("record %d: %w", rep.Records+rep.Malformed, err))
			if errors.Is(err, decode.ErrCorruptChunk) {
				break // the rest of the chunk is not delimited; what came before stands
			}
			continue
		}
		rep.Records++
		var shape decode.Shape
		events, shape, err = dec.Events(rec.Body, events[:0])
		if err != nil && len(events) == 0 {
			if errors.Is(err, decode.ErrUnrecognized) {
				rep.Unrecognized++
				rep.note(fmt.Errorf("record %d: %w", rep.Records, err))
				if p.s.PassUnrecognized {
					// Passed on, but not unredacted: the sweep sees every
					// string of the record as it would in an event.
					red, touched := p.redactRecord(&rec)
					ev = Event{Event: rec.Body, Time: rec.Time, Record: rec, Unrecognized: true, Redacted: red, Again: replay != nil}
					ev.Unchanged = !touched && red.Empty() && rec.Exact
					emit(&ev)
					rep.Events++
				}
				continue
			}
			rep.Malformed++
			rep.note(fmt.Errorf("record %d (%s): %w", rep.Records, shape, err))
			continue
		}
		if err != nil { // some items of a batch were bad; the rest go on
			rep.Malformed++
			rep.note(fmt.Errorf("record %d (%s): %w", rep.Records, shape, err))
		}
		for _, e := range events {
			keep, perr := p.process(e, rec, shape, &ev, d, st)
			if perr != nil {
				rep.Failed++
				rep.note(perr)
				continue
			}
			if !keep {
				rep.PolicyDropped++
				continue
			}
			// Only a record that is the event itself can stand for it.
			ev.Unchanged = ev.Unchanged && shape == decode.Raw && len(events) == 1 && rec.Exact
			emit(&ev)
			rep.Events++
		}
		if p.s.Reuse {
			// Nothing holds the record now: not the emitted events (the
			// packaging promised), not the pipeline (ev and events are
			// overwritten before they are read again), not the rules.
			dec.Recycle()
		}
	}
	if replay != nil {
		// Counted on the first attempt; the caller's log still reports
		// this one.
		return rep, replay
	}
	p.Stats.Records.Add(int64(rep.Records + rep.Malformed))
	p.Stats.Events.Add(int64(rep.Events))
	p.Stats.Unrecognized.Add(int64(rep.Unrecognized))
	p.Stats.Malformed.Add(int64(rep.Malformed))
	p.Stats.Failed.Add(int64(rep.Failed))
	if m := p.s.Metrics; m != nil {
		m.Records.Add(float64(rep.Records + rep.Malformed))
		m.Events.Add(float64(rep.Events))
		m.Reject(metrics.ReasonUnrecognized, rep.Unrecognized)
		m.Reject(metrics.ReasonMalformed, rep.Malformed)
		m.Reject(metrics.ReasonFailed, rep.Failed)
	}
	return rep, d.rec
}

// process detects on the event as it arrived (full fidelity), lets the
// policy cut it to what is stored, then redacts; keep is false when the
// policy drops it. Detection comes first so that a privileged pod is caught
// even when the policy stores pods at Metadata, and dropped events still
// count. A panic here drops the event: redaction that did not finish must
// never let its input through.
func (p *Pipeline) process(e map[string]any, rec decode.Record, shape decode.Shape, out *Event, dt *detector, st *fastState) (keep bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			keep, err = false, fmt.Errorf("event dropped: processing panicked: %v", r)
		}
	}()
	// A kaudit filter earlier in the pipeline left its summary here; it is
	// no part of the audit schema, and the result is recomputed below.
	var prior string
	mark, marked := e[MarkKey]
	if marked {
		if m, ok := mark.(map[string]any); ok {
			if r, ok := m["redacted"].(string); ok && redactSummary.MatchString(r) {
				prior = r
			}
		}
		delete(e, MarkKey)
	}
	det, reused := dt.detect(e)
	again := dt.replay != nil
	if reused {
		// Counted when first detected: a retry is not a new match.
		p.Stats.DetectionsReused.Add(1)
		if m := p.s.Metrics; m != nil {
			m.DetectionsReused.Inc()
		}
	} else {
		if det.Severity > detect.None {
			p.Stats.Detected.Add(1)
		}
		if m := p.s.Metrics; m != nil { // before the policy: dropped events still count
			for i := range det.Matches {
				m.Detection(det.Matches[i].ID)
			}
		}
	}
	var d policy.Decision
	var altered bool // by the policy
	if p.s.Policy != nil {
		d = p.s.Policy.Evaluate(e)
		if d.Drop() {
			if p.s.PolicyKeep == detect.None || det.Severity < p.s.PolicyKeep {
				if !again {
					p.Stats.PolicyDropped[d.Level].Add(1)
					if m := p.s.Metrics; m != nil {
						m.PolicyDropped[d.Level].Inc()
					}
				}
				return false, nil
			}
			if !again {
				p.Stats.PolicyKept.Add(1)
				if m := p.s.Metrics; m != nil {
					m.PolicyKept.Inc()
				}
			}
			d = d.Keep()
		}
	}
	var line string
	var red redact.Report
	fast, asCame := false, false
	if !p.fullPath && !marked && rec.Metadata == nil && (p.s.Policy == nil || !policy.Trims(e, d)) {
		omitManaged := p.s.Policy != nil && d.OmitManagedFields
		if p.s.Lines {
			line, red, fast = p.fastLine(st, &rec, shape, e, omitManaged)
		} else {
			// The tree is what leaves: skip redacting it only when nothing
			// in it, managedFields included, would change.
			asCame = p.unchanged(st, &rec, shape, e, omitManaged)
		}
	}
	if !fast && !asCame {
		if p.s.Policy != nil {
			altered = policy.Store(e, d)
		}
		// e is the whole record when the event sat at its top level
		// (Merge_Log, Preserve_Key): Redact sweeps every key of it, and
		// drops a copy of the event kept under log. The record's metadata
		// leaves with it too.
		red = p.s.Redactor.Redact(e)
		if rec.Metadata != nil {
			if _, _, mr := p.s.Redactor.RedactValue(rec.Metadata); !mr.Empty() {
				red.Add(mr)
			}
		}
	}
	if !red.Empty() && !again {
		p.Stats.Redacted.Add(1)
		if red.Count(redact.KindFailedClosed) > 0 {
			p.Stats.FailedClosed.Add(1)
		}
		if m := p.s.Metrics; m != nil {
			m.Redacted(red)
		}
	}
	*out = Event{Event: e, Line: line, Time: decode.EventTime(e, rec.Time), Record: rec, Detect: det, Redacted: red, PriorRedacted: prior, Again: again}
	// A line from the input may lack what the policy omits from the tree.
	out.Unchanged = !fast && !marked && !altered && red.Empty() // the caller adds what it knows of the record
	return true, nil
}

// redactRecord redacts a record passed on with `unrecognized pass`, body
// and metadata; touched is set when the body was replaced.
func (p *Pipeline) redactRecord(rec *decode.Record) (rep redact.Report, touched bool) {
	if nv, ok, r := p.s.Redactor.RedactValue(rec.Body); ok {
		touched = true
		if m, isMap := nv.(map[string]any); isMap {
			rec.Body = m
		} else {
			rec.Body = map[string]any{}
		}
		rep.Add(r)
	} else {
		rep.Add(r)
	}
	if rec.Metadata != nil {
		_, _, r := p.s.Redactor.RedactValue(rec.Metadata)
		rep.Add(r)
	}
	return rep, touched
}

// Detector is the rule engine the pipeline runs.
func (p *Pipeline) Detector() *detect.Engine { return p.s.Detector }

// Redactor is the redactor the pipeline runs.
func (p *Pipeline) Redactor() *redact.Redactor { return p.s.Redactor }

// Policy is the audit policy the pipeline applies, nil when none.
func (p *Pipeline) Policy() *policy.Policy { return p.s.Policy }

func (r *ChunkReport) note(err error) {
	if r.FirstErr == nil {
		r.FirstErr = err
	}
}
