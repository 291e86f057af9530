// Package pipeline is kaudit's core path, shared by every packaging (the
// output .so, the filter, the command): decode a Fluent Bit chunk into audit
// events, detect on each event as it arrived, redact it, and hand the result
// on. One bad record never takes its chunk down, and an event whose
// processing fails is dropped, never passed on unredacted.
package pipeline

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/redact"
)

// Settings wires the pipeline; built by the packaging from its Config.
type Settings struct {
	Redactor *redact.Redactor
	Detector *detect.Engine
	// PassUnrecognized hands records without an audit event on as they came
	// (unredacted) instead of dropping them.
	PassUnrecognized bool
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
	FailedClosed atomic.Int64 // events with a secret-bearing body replaced whole (shape not understood)
}

// Event is one processed audit event, valid only during the emit callback.
type Event struct {
	Event    map[string]any // redacted audit event
	Time     time.Time      // the event's own time, else the record's
	Record   decode.Record  // the Fluent Bit record that carried it
	Detect   detect.Result
	Redacted redact.Report
	// Unrecognized is set when the record carried no audit event and
	// PassUnrecognized is on: Event is then the record body as it came.
	Unrecognized bool
}

// ChunkReport summarises one chunk for the caller's single log line.
type ChunkReport struct {
	Records, Events, Unrecognized, Malformed, Failed int
	// FirstErr is the first decoding or processing problem, for the log; it
	// never quotes record content.
	FirstErr error
}

// Pipeline is safe for concurrent use: Fluent Bit may flush several chunks of
// one instance at once (`workers`).
type Pipeline struct {
	s     Settings
	Stats Stats
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
	var rep ChunkReport
	dec := decode.NewDecoder(data)
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
		events, shape, err = decode.Events(rec.Body, events[:0])
		if err != nil && len(events) == 0 {
			if errors.Is(err, decode.ErrUnrecognized) {
				rep.Unrecognized++
				rep.note(fmt.Errorf("record %d: %w", rep.Records, err))
				if p.s.PassUnrecognized {
					ev = Event{Event: rec.Body, Time: rec.Time, Record: rec, Unrecognized: true}
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
			if perr := p.process(e, rec, &ev); perr != nil {
				rep.Failed++
				rep.note(perr)
				continue
			}
			emit(&ev)
			rep.Events++
		}
	}
	p.Stats.Records.Add(int64(rep.Records + rep.Malformed))
	p.Stats.Events.Add(int64(rep.Events))
	p.Stats.Unrecognized.Add(int64(rep.Unrecognized))
	p.Stats.Malformed.Add(int64(rep.Malformed))
	p.Stats.Failed.Add(int64(rep.Failed))
	return rep
}

// process detects on the event as it arrived (full fidelity), then redacts.
// A panic here drops the event: redaction that did not finish must never
// let its input through.
func (p *Pipeline) process(e map[string]any, rec decode.Record, out *Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("event dropped: processing panicked: %v", r)
		}
	}()
	det := p.s.Detector.Detect(e, nil)
	red := p.s.Redactor.Redact(e)
	if det.Severity > detect.None {
		p.Stats.Detected.Add(1)
	}
	if !red.Empty() {
		p.Stats.Redacted.Add(1)
		if red.Count(redact.KindFailedClosed) > 0 {
			p.Stats.FailedClosed.Add(1)
		}
	}
	*out = Event{Event: e, Time: decode.EventTime(e, rec.Time), Record: rec, Detect: det, Redacted: red}
	return nil
}

func (r *ChunkReport) note(err error) {
	if r.FirstErr == nil {
		r.FirstErr = err
	}
}
