// Package instance is one configured kaudit output: its configuration,
// pipeline and Loki client, and the flush that ties them together. It holds
// everything an export does, without cgo, so it is tested with plain
// `go test` and shared by the command-line tool.
package instance

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync/atomic"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/conf"
	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/loki"
	"github.com/kaudit/kaudit/plugin/metrics"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/redact"
	"github.com/kaudit/kaudit/redact/policy"
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
	entries  *pipeline.Entries
	server   *metrics.Server
	quiet    bool
	progress progress
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
	var met *metrics.Instance
	pipe, err := NewPipeline(c, func(det *detect.Engine) *metrics.Pipeline {
		met = metrics.New(name, det.Rules())
		return met.Pipeline
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	det, pol := pipe.Detector(), pipe.Policy()
	client, err := loki.New(loki.Settings{
		URL: c.URL.String(), HTTPUser: c.HTTPUser, HTTPPasswd: c.HTTPPasswd, BearerToken: c.BearerToken,
		Headers: c.Headers, TLSCAFile: c.TLSCAFile, TLSCertFile: c.TLSCertFile, TLSKeyFile: c.TLSKeyFile,
		TLSVerify: c.TLSVerify, TLSServerName: c.TLSServerName, Timeout: c.Timeout,
		MaxRequestBytes: c.MaxRequestBytes, UserAgent: "kaudit/" + version, Metrics: met.Loki,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	in := &Instance{Name: name, Config: c, Pipeline: pipe, Client: client, Metrics: met, entries: pipeline.NewEntries(c)}
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
		Logf(LogInfo, name, "kaudit %s started: %s rules=%d redact_rules=%d policy_rules=%d", version, c.Redacted(), len(det.Rules()), len(pipe.Redactor().Rules()), polRules)
	}
	return in, nil
}

// NewPipeline builds the decode -> detect -> policy -> redact pipeline a
// configuration describes; the output and the filter share it, so both
// packagings honour every key the same way. withMetrics, when set, receives
// the loaded rules and returns the metrics the pipeline feeds. Errors start
// with the key at fault.
func NewPipeline(c *config.Config, withMetrics func(*detect.Engine) *metrics.Pipeline) (*pipeline.Pipeline, error) {
	det, err := LoadRules(c.RulesFiles)
	if err != nil {
		return nil, fmt.Errorf("rules_file: %w", err)
	}
	red, err := NewRedactor(c)
	if err != nil {
		return nil, err
	}
	var pol *policy.Policy
	if c.AuditPolicyFile != "" {
		if pol, err = policy.LoadFile(c.AuditPolicyFile); err != nil {
			return nil, fmt.Errorf("audit_policy_file: %q: %w", c.AuditPolicyFile, err)
		}
	}
	s := pipeline.Settings{Redactor: red, Detector: det, PassUnrecognized: c.Unrecognized == config.UnrecognizedPass,
		Policy: pol, PolicyKeep: c.PolicyKeep}
	if withMetrics != nil {
		s.Metrics = withMetrics(det)
	}
	return pipeline.New(s)
}

// LoadRules compiles the embedded default rules followed by the user's
// files, which add, override or disable rules.
func LoadRules(files []string) (*detect.Engine, error) {
	names, err := fs.Glob(conf.Rules, "rules/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var srcs []detect.Source
	for _, n := range names {
		b, err := fs.ReadFile(conf.Rules, n)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, detect.Source{Name: "embedded:" + n, Data: b})
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, detect.Source{Name: f, Data: b})
	}
	return detect.New(srcs...)
}

// NewRedactor builds the redactor of a configuration: the embedded
// conf/redact/default.yaml, then redact_file. Each error starts with the
// key whose value is at fault and names the file.
func NewRedactor(c *config.Config) (*redact.Redactor, error) {
	srcs := []redact.Source{{Name: "embedded:" + conf.RedactName, Data: conf.Redact}}
	if c.RedactFile != "" {
		b, err := os.ReadFile(c.RedactFile)
		if err != nil {
			return nil, fmt.Errorf("redact_file: %w", err)
		}
		srcs = append(srcs, redact.Source{Name: c.RedactFile, Data: b})
	}
	cfg := redact.Config{Marker: c.RedactMarker, Rules: srcs, KeepManagedFields: !c.RedactManagedFields, HashKey: []byte(c.RedactHashKey), Mode: c.RedactMode}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redact_marker/redact_hash_key: %w", err)
	}
	red, err := redact.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("redact_file: %w", err)
	}
	return red, nil
}

// Flush processes one chunk and delivers it. OK means Loki holds every entry
// it could accept; Retry hands the whole chunk back to Fluent Bit's retry
// and storage.
func (in *Instance) Flush(chunk []byte, tag string) Code {
	b, rep := in.Batch(chunk)
	if rep.Unrecognized+rep.Malformed+rep.Failed > 0 { // policy drops are expected volume, counted in Stats, not logged
		Logf(LogWarn, in.Name, "tag=%s: %d records, %d events; unrecognized=%d malformed=%d failed=%d; first: %v",
			tag, rep.Records, rep.Events, rep.Unrecognized, rep.Malformed, rep.Failed, rep.FirstErr)
	}
	accepted, key := in.progress.start(tag, chunk)
	b.Skip(accepted)
	out, err := in.Client.Deliver(context.Background(), b)
	if err != nil {
		in.progress.failed(tag, chunk, key, b.Accepted())
		Logf(LogWarn, in.Name, "tag=%s: %d entries not delivered, chunk handed back for retry: %v", tag, b.Len(), err)
		return Retry
	}
	in.progress.done(key)
	if out.Rejected > 0 {
		Logf(LogError, in.Name, "tag=%s: loki rejected %d of %d entries as invalid (not retried): %s", tag, out.Rejected, b.Len(), out.Reason)
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
	Logf(LogInfo, in.Name, "stopping: records=%d events=%d unrecognized=%d malformed=%d failed=%d detected=%d redacted=%d failed_closed=%d policy_dropped=%d policy_kept=%d pushed=%d rejected=%d requests=%d retries=%d",
		p.Records.Load(), p.Events.Load(), p.Unrecognized.Load(), p.Malformed.Load(), p.Failed.Load(), p.Detected.Load(), p.Redacted.Load(), p.FailedClosed.Load(),
		dropped, p.PolicyKept.Load(), c.Accepted.Load(), c.Rejected.Load(), c.Requests.Load(), c.Retries.Load())
}
