// Package instance is one configured kaudit filter: the same pipeline as
// the output (decode, detect, redact), writing records back as a Fluent Bit
// chunk instead of pushing them to Loki. It has no cgo, so it is tested with
// plain `go test`; plugin/filter is the C-facing glue.
package instance

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/plugin/pipeline"
)

// Instance is one [FILTER] section (or one `processors:` entry). Fluent Bit
// may call it from several threads; Chunk is safe for concurrent use.
type Instance struct {
	Name     string
	Config   *config.Config
	Pipeline *pipeline.Pipeline
	Dropped  atomic.Int64 // events below min_severity
	// verbosity is Fluent Bit's log_level of the instance (0 off, 1 error
	// … 5 trace); lines above it are not written.
	verbosity int
}

// DefaultLogLevel is Fluent Bit's default log_level, info.
const DefaultLogLevel = 3

var seq atomic.Int64

// New validates the configuration and builds the pipeline, so any problem
// stops Fluent Bit at start with one line naming the key.
func New(g config.Getter, version string) (*Instance, error) {
	return NewWith(g, version, DefaultLogLevel)
}

// NewWith is New for an instance whose Fluent Bit log_level is logLevel:
// its own lines obey it as flb_plg_* lines do.
func NewWith(g config.Getter, version string, logLevel int) (*Instance, error) {
	name := fmt.Sprintf("kaudit.%d", seq.Add(1)-1)
	c, err := config.ParseScope(g, config.Filter)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pipe, err := pipeline.Build(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pipe.ReuseTrees() // each emit encodes its record into the output and returns
	in := &Instance{Name: name, Config: c, Pipeline: pipe, verbosity: logLevel}
	in.Logf(pipeline.LogInfo, "kaudit %s filter started: unrecognized=%s min_severity=%s rules=%d rules_files=%d audit_policy_file=%q",
		version, [...]string{"drop", "pass"}[c.Unrecognized], c.MinSeverity, len(pipe.Detector().Rules()), len(c.RulesFiles), c.AuditPolicyFile)
	return in, nil
}

// Logf writes one of the instance's lines if its log_level lets it through.
func (in *Instance) Logf(lvl pipeline.Level, format string, args ...any) {
	if int(lvl)+1 <= in.verbosity {
		Logf(lvl, in.Name, format, args...)
	}
}

// Logf writes one line as Fluent Bit prints a filter's; never record content.
func Logf(lvl pipeline.Level, who, format string, args ...any) {
	pipeline.LogfAs("filter", lvl, who, format, args...)
}

// lokiMaxLine is Loki's default max_line_size. A record whose msgpack is
// longer has a longer JSON line (every string keeps its bytes and gains its
// quotes, every map its braces), which Loki refuses with 400: Fluent Bit's
// loki output then drops the chunk's refused entries without retrying, and
// the filter, which cannot know what follows it, says so rather than cut an
// event that an Elasticsearch or S3 output would take whole.
const lokiMaxLine = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// Chunk runs one chunk through the pipeline and hands the records it
// produced to use, which must copy what it keeps: the buffer is reused.
// Records keep their Fluent Bit timestamp and event format; an EventList
// becomes one record per event, an envelope the event it carries. A record
// that cannot be processed is dropped, never passed on unredacted.
func (in *Instance) Chunk(data []byte, tag string, use func(out []byte)) {
	if in.Filter(data, tag, use) {
		use(data)
	}
}

// Filter is Chunk for a caller that can keep its input: when the records it
// would write are the input, byte for byte, it returns true and does not
// call use, so Fluent Bit can be told NOTOUCH and spared a copy. That holds
// only when every record came out as one event the pipeline positively
// reports unchanged (pipeline.Event.Unchanged) with nothing to mark, each
// written as its input bytes, and nothing else was dropped or added (a
// malformed record, a group marker, an event below min_severity): anything
// else is written out, so an unredacted input is never what passes.
func (in *Instance) Filter(data []byte, tag string, use func(out []byte)) (same bool) {
	bp := bufPool.Get().(*[]byte)
	out := (*bp)[:0]
	min := in.Config.MinSeverity
	var dropped, long int
	var firstLong string
	verbatim := true
	rep := in.Pipeline.Chunk(data, func(ev *pipeline.Event) {
		if !ev.Unrecognized && ev.Detect.Severity < min {
			dropped++
			return
		}
		var as bool
		at := len(out)
		out, as = appendEvent(out, ev)
		verbatim = verbatim && as
		if len(out)-at > lokiMaxLine {
			if long == 0 {
				// The tree is reused for the next event: keep a copy.
				id, _ := ev.Event["auditID"].(string)
				firstLong = strings.Clone(id)
			}
			long++
		}
	})
	if dropped > 0 {
		in.Dropped.Add(int64(dropped))
	}
	if long > 0 {
		in.Logf(pipeline.LogWarn, "tag=%s: records passed on longer than Loki's default max_line_size (256 KiB): %d, first auditID=%q: Loki refuses such a line and Fluent Bit's loki output does not retry it, so that event is lost there; out_kaudit cuts bodies to fit (max_line_bytes)",
			tag, long, firstLong)
	}
	if rep.Unrecognized+rep.Malformed+rep.Failed > 0 {
		in.Logf(pipeline.LogWarn, "tag=%s: %d records, %d events; unrecognized=%d malformed=%d failed=%d; first: %v",
			tag, rep.Records, rep.Events, rep.Unrecognized, rep.Malformed, rep.Failed, rep.FirstErr)
	}
	// Equal lengths would not prove it: a skipped group marker and a
	// re-encoded record can cancel out. The comparison is a memcmp.
	same = verbatim && bytes.Equal(out, data)
	if !same {
		use(out)
	}
	if cap(out) <= 4<<20 { // keep one oversized chunk from pinning memory
		*bp = out[:0]
		bufPool.Put(bp)
	}
	return same
}

// appendEvent writes ev's record: its input bytes when nothing was
// redacted, policy-cut or taken out of a carrier (Unchanged) and there is
// no mark to add, which spares re-encoding the whole event; else
// appendRecord's. asCame reports the former.
func appendEvent(b []byte, ev *pipeline.Event) (_ []byte, asCame bool) {
	if ev.Unchanged && ev.Redacted.Empty() && ev.Detect.Severity == detect.None && ev.Record.Raw != "" {
		return append(b, ev.Record.Raw...), true
	}
	return appendRecord(b, ev), false
}

// appendRecord writes [[ts, metadata], body] (or [ts, body] when the record
// came in the legacy format) with the kaudit mark appended to the body.
func appendRecord(b []byte, ev *pipeline.Event) []byte {
	rec := &ev.Record
	b = append(b, 0x92)
	if rec.V2 {
		b = append(b, 0x92)
		b = decode.AppendEventTime(b, rec.Time)
		if rec.Metadata == nil {
			b = append(b, 0x80)
		} else {
			b = decode.AppendValue(b, rec.Metadata)
		}
	} else {
		b = decode.AppendEventTime(b, rec.Time)
	}
	if ev.Unrecognized {
		return decode.AppendValue(b, ev.Event)
	}
	mark := ev.Detect.Severity > detect.None || !ev.Redacted.Empty()
	n := len(ev.Event)
	if mark {
		n++
	}
	b = decode.AppendMapEntries(decode.AppendMapHeader(b, n), ev.Event)
	if mark {
		b = appendMark(b, ev)
	}
	return b
}

// appendMark writes kaudit: {severity, detection, detections, redacted}: the
// same values the output plugin puts in its labels and structured metadata,
// so a downstream output can route or label on them.
func appendMark(b []byte, ev *pipeline.Event) []byte {
	b = decode.AppendString(b, pipeline.MarkKey)
	det := ev.Detect.Severity > detect.None
	red := !ev.Redacted.Empty()
	n := 0
	if det {
		n += 3
	}
	if red {
		n++
	}
	b = decode.AppendMapHeader(b, n)
	if det {
		b = decode.AppendString(b, "severity")
		b = decode.AppendString(b, ev.Detect.Severity.String())
		b = decode.AppendString(b, "detection")
		b = decode.AppendString(b, ev.Detect.IDs())
		b = decode.AppendString(b, "detections")
		b = decode.AppendString(b, pipeline.Summary(ev.Detect))
	}
	if red {
		b = decode.AppendString(b, "redacted")
		b = decode.AppendString(b, ev.Redacted.String())
	}
	return b
}

// Close logs the instance's totals.
func (in *Instance) Close() {
	p := &in.Pipeline.Stats
	in.Logf(pipeline.LogInfo, "stopping: records=%d events=%d below_min_severity=%d unrecognized=%d malformed=%d failed=%d detected=%d redacted=%d",
		p.Records.Load(), p.Events.Load(), in.Dropped.Load(), p.Unrecognized.Load(), p.Malformed.Load(), p.Failed.Load(), p.Detected.Load(), p.Redacted.Load())
}
