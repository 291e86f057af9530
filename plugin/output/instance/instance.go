// Package instance is one configured kaudit output: its configuration,
// pipeline, metrics and Loki client, and the flush that ties them together.
// It holds everything the output's exports (plugin/output) do, without cgo,
// so it is tested with plain `go test` and shared by the command-line tool.
package instance

import (
	"context"
	"fmt"
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
}

var seq atomic.Int64

// Options are for packagings other than the plugin: the kaudit command's
// check and replay neither log a start line nor open a metrics listener.
type Options struct {
	Quiet   bool // no start and stop lines
	NoServe bool // ignore metrics_listen
}

// New validates the configuration and builds everything a flush needs, so
// that any problem stops Fluent Bit at start with one line.
func New(g config.Getter, version string) (*Instance, error) {
	return NewWith(g, version, Options{})
}

// NewWith is New with Options.
func NewWith(g config.Getter, version string, opt Options) (*Instance, error) {
	name := fmt.Sprintf("kaudit.%d", seq.Add(1)-1)
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
	client, err := loki.New(loki.Settings{Loki: c.Loki, UserAgent: "kaudit/" + version, Metrics: met.Loki})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	in := &Instance{Name: name, Config: c, Pipeline: pipe, Client: client, Metrics: met, entries: loki.NewEntries(c)}
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
		pipeline.Logf(pipeline.LogInfo, name, "kaudit %s started: %s rules=%d redact_rules=%d policy_rules=%d", version, c.Redacted(), len(det.Rules()), len(pipe.Redactor().Rules()), polRules)
	}
	return in, nil
}

// Flush processes one chunk and delivers it. OK means Loki holds every entry
// it could accept; Retry hands the whole chunk back to Fluent Bit's retry
// and storage.
func (in *Instance) Flush(chunk []byte, tag string) Code {
	b, rep := in.Batch(chunk)
	if rep.Unrecognized+rep.Malformed+rep.Failed > 0 { // policy drops are expected volume, counted in Stats, not logged
		pipeline.Logf(pipeline.LogWarn, in.Name, "tag=%s: %d records, %d events; unrecognized=%d malformed=%d failed=%d; first: %v",
			tag, rep.Records, rep.Events, rep.Unrecognized, rep.Malformed, rep.Failed, rep.FirstErr)
	}
	accepted, key := in.resume.Start(tag, chunk)
	b.Skip(accepted)
	out, err := in.Client.Deliver(context.Background(), b)
	if err != nil {
		in.resume.Failed(tag, chunk, key, b.Accepted())
		pipeline.Logf(pipeline.LogWarn, in.Name, "tag=%s: %d entries not delivered, chunk handed back for retry: %v", tag, b.Len(), err)
		return Retry
	}
	in.resume.Done(key)
	if out.Rejected > 0 {
		pipeline.Logf(pipeline.LogError, in.Name, "tag=%s: loki rejected %d of %d entries as invalid (not retried): %s", tag, out.Rejected, b.Len(), out.Reason)
	}
	return OK
}

// Batch runs a chunk through the pipeline and gathers the Loki entries a
// flush sends: the one path shared by the plugin and the kaudit command.
func (in *Instance) Batch(chunk []byte) (*loki.Batch, pipeline.ChunkReport) {
	var b loki.Batch
	rep := in.Process(chunk, b.Add)
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
	defer in.server.Close()
	defer in.Client.Close()
	if in.quiet {
		return
	}
	p, c := &in.Pipeline.Stats, &in.Client.Stats
	var dropped int64
	for i := range p.PolicyDropped {
		dropped += p.PolicyDropped[i].Load()
	}
	pipeline.Logf(pipeline.LogInfo, in.Name, "stopping: records=%d events=%d unrecognized=%d malformed=%d failed=%d detected=%d redacted=%d failed_closed=%d policy_dropped=%d policy_kept=%d pushed=%d rejected=%d requests=%d retries=%d",
		p.Records.Load(), p.Events.Load(), p.Unrecognized.Load(), p.Malformed.Load(), p.Failed.Load(), p.Detected.Load(), p.Redacted.Load(), p.FailedClosed.Load(),
		dropped, p.PolicyKept.Load(), c.Accepted.Load(), c.Rejected.Load(), c.Requests.Load(), c.Retries.Load())
}
