// Package instance is one configured kaudit output: its configuration,
// pipeline, metrics and Loki client, and the flush that ties them together.
// It holds everything the output's exports (plugin/output) do, without cgo,
// so it is tested with plain `go test` and shared by the command-line tool.
package instance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/loki"
	"github.com/kaudit/kaudit/plugin/metrics"
	"github.com/kaudit/kaudit/plugin/pipeline"
)

// Code is a flush result, mapped one to one onto FLB_OK, FLB_RETRY and
// FLB_ERROR by the exports.
type Code int

// Flush results.
const (
	OK Code = iota
	Retry
	Error
)

func (c Code) String() string { return [...]string{"OK", "RETRY", "ERROR"}[c] }

// Instance is one [OUTPUT] section. Safe for concurrent flushes.
type Instance struct {
	Name     string
	Config   *config.Config
	Pipeline *pipeline.Pipeline
	Client   *loki.Client
	Metrics  *metrics.Instance
	entries  *loki.Entries
	server   *metrics.Server
	quiet    bool
	resume   loki.Resume
	// detections remembers the detections of chunks handed back for retry.
	detections *loki.Memo[*pipeline.Detections]
	rejected   *loki.Rejected
	// verbosity is Fluent Bit's log level of the instance (1 error … 5
	// trace, 0 off); lines above it are not written.
	verbosity int
}

var seq atomic.Int64

// Options are for packagings other than the plugin: the kaudit command's
// check and replay neither log a start line nor open a metrics listener.
type Options struct {
	Quiet   bool // no start and stop lines
	NoServe bool // ignore metrics_listen
	// Validate builds the instance without touching the machine: no
	// directory is created and rejected_path is not opened, so that
	// `kaudit check` of a node's configuration passes elsewhere.
	Validate bool
	// LogLevel is the instance's Fluent Bit log_level in Fluent Bit's
	// numbering (0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace), when
	// LogLevelKnown; otherwise info.
	LogLevel      int
	LogLevelKnown bool
}

// FLB log levels kaudit's own map onto (include/fluent-bit/flb_log.h).
const flbInfo = 3

// allows reports whether a line of level lvl passes the instance's
// log_level, as Fluent Bit's flb_plg_* macros decide.
func (in *Instance) allows(lvl pipeline.Level) bool { return int(lvl)+1 <= in.verbosity }

func (in *Instance) logf(lvl pipeline.Level, format string, args ...any) {
	if in.allows(lvl) {
		pipeline.Logf(lvl, in.Name, format, args...)
	}
}

// New validates the configuration and builds everything a flush needs, so
// that any problem stops Fluent Bit at start with one line.
func New(g config.Getter, version string) (*Instance, error) {
	return NewWith(g, version, Options{})
}

// NewWith is New with Options.
func NewWith(g config.Getter, version string, opt Options) (*Instance, error) {
	name := fmt.Sprintf("kaudit.%d", seq.Add(1)-1)
	verbosity := flbInfo
	if opt.LogLevelKnown {
		verbosity = opt.LogLevel
	}
	c, err := config.Parse(g)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pipe, err := pipeline.Build(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	det, pol := pipe.Detector(), pipe.Policy()
	met := metrics.New(name, det.Rules())
	pipe.SetMetrics(met.Pipeline)
	pipe.ShipLines()
	pipe.ReuseTrees() // every emit below renders the event into strings and returns
	var rejected *loki.Rejected
	if c.RejectedPath != "" && !opt.Validate {
		if err := c.Prepare(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if rejected, err = loki.OpenRejected(c.RejectedPath, c.RejectedMaxBytes); err != nil {
			return nil, fmt.Errorf("%s: rejected_path: %w", name, err)
		}
	}
	client, err := loki.New(loki.Settings{Loki: c.Loki, UserAgent: "kaudit/" + version, Metrics: met.Loki,
		Rejected: rejected,
		Log: func(lvl loki.Level, format string, args ...any) {
			if l := [...]pipeline.Level{pipeline.LogError, pipeline.LogWarn, pipeline.LogInfo}[lvl]; int(l)+1 <= verbosity {
				pipeline.Logf(l, name, format, args...)
			}
		},
	})
	if err != nil {
		rejected.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	in := &Instance{Name: name, Config: c, Pipeline: pipe, Client: client, Metrics: met, entries: loki.NewEntries(c),
		detections: loki.NewMemo[*pipeline.Detections](loki.MaxPending, loki.MaxRecordedDetections), rejected: rejected, verbosity: verbosity}
	in.entries.OnCut(met.Pipeline.LinesCut.Inc)
	in.entries.OnMisrouted(met.Pipeline.TenantFallback.Inc)
	in.quiet = opt.Quiet
	if c.MetricsListen != "" && !opt.NoServe {
		if in.server, err = metrics.Serve(c.MetricsListen); err != nil {
			client.Close()
			return nil, fmt.Errorf("%s: metrics_listen: %w", name, err)
		}
	}
	if !opt.Quiet {
		polRules := 0
		if pol != nil {
			polRules = pol.Rules()
		}
		in.logf(pipeline.LogInfo, "kaudit %s started: %s rules=%d redact_rules=%d policy_rules=%d", version, c.Redacted(), len(det.Rules()), len(pipe.Redactor().Rules()), polRules)
	}
	return in, nil
}

// Flush processes one chunk and delivers it. OK means Loki holds every entry
// it could accept; Retry hands the whole chunk back to Fluent Bit's retry
// and storage.
func (in *Instance) Flush(chunk []byte, tag string) Code {
	accepted, key := in.resume.Start(tag, chunk)
	var replay *pipeline.Detections
	if !in.detections.Empty() {
		if key == nil {
			k := loki.ChunkKey(tag, chunk)
			key = &k
		}
		replay, _ = in.detections.Get(*key)
	}
	var b loki.Batch
	// Nothing of the entries outlives the flush: a retry builds them
	// again from the chunk.
	defer b.Release()
	rep, dets := in.Pipeline.ChunkReplay(chunk, replay, func(ev *pipeline.Event) { in.entries.AddTo(&b, ev) })
	if rep.Unrecognized+rep.Malformed+rep.Failed > 0 { // policy drops are expected volume, counted in Stats, not logged
		in.logf(pipeline.LogWarn, "tag=%s: %d records, %d events; unrecognized=%d malformed=%d failed=%d; first: %v",
			tag, rep.Records, rep.Events, rep.Unrecognized, rep.Malformed, rep.Failed, rep.FirstErr)
	}
	b.Skip(accepted)
	out, err := in.Client.Deliver(context.Background(), &b)
	// Said whether or not the rest of the chunk went through: a retry
	// skips the requests Loki already answered, so no later attempt hears
	// of these entries again.
	if out.Late > 0 {
		in.logf(pipeline.LogWarn, "tag=%s: %d of %d entries were older than Loki's out-of-order window for their stream (a backlog behind newer entries, after an outage); sent into streams of their hour, labelled %s=<UTC hour>: README, Delivery", tag, out.Late, b.Len(), loki.BackfillLabel)
	}
	if out.Rejected > 0 {
		in.logf(pipeline.LogError, "tag=%s: loki rejected %d of %d entries as invalid (not retried): %s%s", tag, out.Rejected, b.Len(), out.Reason, in.behindHint(out.Reason))
	}
	if err != nil {
		k := in.resume.Failed(tag, chunk, key, b.Accepted())
		in.detections.Put(k, dets, dets.Weight())
		var re *loki.RetryError
		if !errors.As(err, &re) || !re.Blocked { // blocked causes are logged by the client, once a minute
			in.logf(pipeline.LogWarn, "tag=%s: %d of %d entries not delivered, chunk handed back for retry: %v", tag, out.Left, b.Len(), err)
		}
		return Retry
	}
	in.resume.Done(key)
	if key != nil {
		in.detections.Delete(*key)
	}
	return OK
}

// behindHint explains Loki's "entry too far behind" when its entries could
// not go to a stream of their hour (Loki's answer named other refusals too,
// or the backfill stream refused them): not a bad event but a backlog that
// reached Loki after newer entries of its stream, which no retry can
// deliver; the operator needs to know where the entries are and what to do.
func (in *Instance) behindHint(reason string) string {
	if !strings.Contains(reason, "too far behind") {
		return ""
	}
	where := "they are lost: set rejected_path to keep such entries"
	if in.rejected != nil {
		where = "they are kept in rejected_path " + strconv.Quote(in.Config.RejectedPath) + " and can be pushed into a stream of their own"
	}
	return " (a backlog older than Loki's out-of-order window behind newer entries of its stream, after an outage; " + where + ": README, Delivery)"
}

// Batch runs a chunk through the pipeline and gathers the Loki entries a
// flush sends: the one path shared by the plugin and the kaudit command.
func (in *Instance) Batch(chunk []byte) (*loki.Batch, pipeline.ChunkReport) {
	var b loki.Batch
	rep := in.Pipeline.Chunk(chunk, func(ev *pipeline.Event) { in.entries.AddTo(&b, ev) })
	return &b, rep
}

// Process runs a chunk through the pipeline and hands every entry to emit,
// exactly as a flush would send it (tenant, rendered stream labels, entry).
func (in *Instance) Process(chunk []byte, emit func(tenant, labels string, e push.Entry)) pipeline.ChunkReport {
	return in.Pipeline.Chunk(chunk, func(ev *pipeline.Event) {
		emit(in.entries.Build(ev))
	})
}

// Close logs the instance's totals and releases its connections.
func (in *Instance) Close() {
	defer in.Metrics.Close()
	defer in.server.Close()
	defer in.Client.Close()
	defer in.rejected.Close()
	if in.quiet {
		return
	}
	p, c := &in.Pipeline.Stats, &in.Client.Stats
	var dropped int64
	for i := range p.PolicyDropped {
		dropped += p.PolicyDropped[i].Load()
	}
	in.logf(pipeline.LogInfo, "stopping: records=%d events=%d unrecognized=%d malformed=%d failed=%d detected=%d redacted=%d failed_closed=%d policy_dropped=%d policy_kept=%d pushed=%d rejected=%d backfilled=%d requests=%d retries=%d",
		p.Records.Load(), p.Events.Load(), p.Unrecognized.Load(), p.Malformed.Load(), p.Failed.Load(), p.Detected.Load(), p.Redacted.Load(), p.FailedClosed.Load(),
		dropped, p.PolicyKept.Load(), c.Accepted.Load(), c.Rejected.Load(), c.Late.Load(), c.Requests.Load(), c.Retries.Load())
}
