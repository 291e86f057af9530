// Package metrics is kaudit's Prometheus instrumentation: one registry per
// process, one set of series per output instance (label `instance_name`),
// every label value taken from a constant list and started at zero, and
// every counter resolved once at start so the hot path is a bare atomic add.
//
// Metrics leave the .so through an optional HTTP listener (`metrics_listen`);
// instances that name the same address share one server, which serves every
// instance of the process.
package metrics

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/redact"
	"github.com/kaudit/kaudit/redact/policy"
)

const namespace = "kaudit"

// Reason a record produced no event.
type Reason uint8

// Record rejection reasons.
const (
	ReasonUnrecognized Reason = iota // holds no audit event
	ReasonMalformed                  // could not be decoded
	ReasonFailed                     // processing failed; dropped, fail closed
	reasonCount
)

var reasonNames = [reasonCount]string{"unrecognized", "malformed", "failed"}

// Status is the class of one push request's outcome.
type Status uint8

// Push statuses. 400, 413 and 429 are apart from their class because each
// means something different to delivery (see README, "Delivery").
const (
	Status2xx Status = iota
	Status400
	Status413
	Status429
	Status4xx
	Status5xx
	StatusError // no HTTP answer: connection refused, timeout, TLS
	statusCount
)

var statusNames = [statusCount]string{"2xx", "400", "413", "429", "4xx", "5xx", "error"}

// StatusOf classifies an HTTP status code (0: no answer).
func StatusOf(code int) Status {
	switch {
	case code == 0:
		return StatusError
	case code/100 == 2:
		return Status2xx
	case code == 400:
		return Status400
	case code == 413:
		return Status413
	case code == 429:
		return Status429
	case code/100 == 5:
		return Status5xx
	}
	return Status4xx
}

// Drop is why Loki refused an entry (a 400), from Loki's own message.
type Drop uint8

// Drop reasons, a small closed set that Loki's many messages map onto.
const (
	DropTooOld             Drop = iota // timestamp too old, entry too far behind
	DropTooNew                         // timestamp too new
	DropLineTooLong                    // max entry size exceeded
	DropLabels                         // too many label names, value too long, unparsable labels
	DropStructuredMetadata             // structured metadata too large or too many
	DropRateLimited                    // per-stream rate limit
	DropOther                          // anything else Loki refused
	dropCount
)

var dropNames = [dropCount]string{"too_old", "too_new", "line_too_long", "labels", "structured_metadata", "rate_limited", "other"}

// DropOf maps one of Loki's refusal messages onto a Drop.
func DropOf(msg string) Drop {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "too old"), strings.Contains(m, "too far behind"):
		return DropTooOld
	case strings.Contains(m, "too new"):
		return DropTooNew
	case strings.Contains(m, "max entry size"), strings.Contains(m, "line too long"):
		return DropLineTooLong
	case strings.Contains(m, "structured metadata"):
		return DropStructuredMetadata
	case strings.Contains(m, "label"):
		return DropLabels
	case strings.Contains(m, "rate limit"):
		return DropRateLimited
	}
	return DropOther
}

// String returns the reason's label value.
func (d Drop) String() string { return dropNames[d] }

func policyLevels() string {
	names := make([]string, policy.NumLevels)
	for l := range names {
		names[l] = policy.Level(l).String()
	}
	return strings.Join(names, ", ")
}

// Vectors of the process; every instance curries them with its name.
type vectors struct {
	records, events, rejected, redactions, detections *prometheus.CounterVec
	policyDropped, policyKept                         *prometheus.CounterVec
	requests, retries, accepted, dropped              *prometheus.CounterVec
	linesCut, detectionsReused, smStripped, saved     *prometheus.CounterVec
	backfilled                                        *prometheus.CounterVec
	tenantFallback                                    *prometheus.CounterVec
	latency                                           *prometheus.HistogramVec
	blocked, up, lastSuccess, smRefused               *prometheus.GaugeVec
}

// Block is a cause of blocked delivery: a mistake a human must fix, which
// retrying alone never will.
type Block uint8

// Block causes.
const (
	BlockUnauthorized       Block = iota // 401: no or wrong tenant / credentials
	BlockForbidden                       // 403: credentials without the right
	BlockNotFound                        // 404: url is not the push endpoint
	BlockTLS                             // certificate or protocol mismatch
	BlockStructuredMetadata              // structured_metadata_mode on, and Loki refuses it
	BlockTooLarge                        // 413 for a request of one entry
	blockCount
)

// NumBlocks is the number of Block causes.
const NumBlocks = int(blockCount)

var blockNames = [blockCount]string{"unauthorized", "forbidden", "not_found", "tls", "structured_metadata", "too_large"}

// String returns the cause's label value.
func (b Block) String() string { return blockNames[b] }

// def describes one metric: the registry and README's table both come
// from Defs.
type def struct {
	Name   string
	Help   string
	Labels []string // besides instance_name
	Values string   // the label values, for the README
	vec    func(v *vectors) **prometheus.CounterVec
}

// Defs lists every counter, in documentation order.
var Defs = []def{
	{"records_total", "Fluent Bit records received (including ones that could not be decoded).", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.records }},
	{"events_total", "Audit events emitted towards Loki, after redaction.", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.events }},
	{"records_rejected_total", "Records or events that produced no entry, by reason: unrecognized (no audit event), malformed (not decodable), failed (processing failed, dropped fail closed).", []string{"reason"}, strings.Join(reasonNames[:], ", "), func(v *vectors) **prometheus.CounterVec { return &v.rejected }},
	{"redactions_total", "Values removed from audit events, by kind.", []string{"kind"}, kindList(), func(v *vectors) **prometheus.CounterVec { return &v.redactions }},
	{"policy_dropped_total", "Events the audit policy (audit_policy_file) did not store, by the level it gave them (None, or a level whose stage is omitted).", []string{"level"}, policyLevels(), func(v *vectors) **prometheus.CounterVec { return &v.policyDropped }},
	{"policy_kept_total", "Events the audit policy would have dropped, stored because they matched a detection of policy_keep_severity or above.", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.policyKept }},
	{"detections_total", "Rule matches, by rule id and the rule's severity.", []string{"rule", "severity"}, "every enabled rule", func(v *vectors) **prometheus.CounterVec { return &v.detections }},
	{"loki_requests_total", "Push requests sent to Loki, by status class (error: no HTTP answer).", []string{"status"}, strings.Join(statusNames[:], ", "), func(v *vectors) **prometheus.CounterVec { return &v.requests }},
	{"loki_retries_total", "Deliveries handed back for retry (Loki away, overloaded, or refusing the credentials).", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.retries }},
	{"loki_entries_accepted_total", "Entries Loki accepted.", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.accepted }},
	{"loki_entries_dropped_total", "Entries Loki refused as invalid (400, never retried), by reason.", []string{"reason"}, strings.Join(dropNames[:], ", "), func(v *vectors) **prometheus.CounterVec { return &v.dropped }},
	{"loki_entries_saved_total", "Refused entries written to rejected_path.", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.saved }},
	{"loki_entries_backfilled_total", "Entries Loki refused as older than its out-of-order window for their stream (a backlog after an outage), sent again into the stream of their hour (label backfill); they count as accepted or dropped once that stream answers.", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.backfilled }},
	{"loki_structured_metadata_stripped_total", "Entries sent without their structured metadata because Loki does not allow it (structured_metadata_mode auto).", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.smStripped }},
	{"tenant_fallback_total", "Events sent to tenant_id because their tenant_id_key value is not a tenant Loki takes (too long, or a character outside its set: a client writes what it likes into a request path's namespace).", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.tenantFallback }},
	{"lines_cut_total", "Events whose bodies were cut so that the line fits max_line_bytes.", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.linesCut }},
	{"detections_reused_total", "Events of a retried chunk whose detections were taken from the first attempt instead of running the rules again.", nil, "", func(v *vectors) **prometheus.CounterVec { return &v.detectionsReused }},
}

// gaugeDef describes one gauge; README's table comes from GaugeDefs too.
type gaugeDef struct {
	Name   string
	Help   string
	Labels []string
	Values string
	vec    func(v *vectors) **prometheus.GaugeVec
}

// GaugeDefs lists every gauge, in documentation order.
var GaugeDefs = []gaugeDef{
	{"delivery_up", "1 while the last delivery attempt succeeded, 0 while chunks are being handed back for retry.", nil, "", func(v *vectors) **prometheus.GaugeVec { return &v.up }},
	{"delivery_last_success_timestamp_seconds", "Unix time of the last chunk Loki acknowledged (0: none yet).", nil, "", func(v *vectors) **prometheus.GaugeVec { return &v.lastSuccess }},
	{"delivery_blocked", "1 while delivery is blocked by a mistake that needs a human (the error log says what to fix), by cause; 0 once a push succeeds again.", []string{"reason"}, strings.Join(blockNames[:], ", "), func(v *vectors) **prometheus.GaugeVec { return &v.blocked }},
	{"loki_structured_metadata_refused", "1 while Loki refuses structured metadata and entries are sent without it.", nil, "", func(v *vectors) **prometheus.GaugeVec { return &v.smRefused }},
}

const (
	latencyName = "loki_request_duration_seconds"
	latencyHelp = "Latency of push requests to Loki, until the answer's headers (or the transport error)."
)

func kindList() string {
	var ks []string
	for _, k := range redact.Kinds() {
		ks = append(ks, k.String())
	}
	return strings.Join(ks, ", ")
}

var (
	regOnce sync.Once
	reg     *prometheus.Registry
	vecs    vectors
)

// Registry returns the process's registry, created on first use (never in
// init, and never the client library's global DefaultRegisterer: a Fluent
// Bit process may load other Go plugins that use it).
func Registry() *prometheus.Registry {
	regOnce.Do(func() {
		reg = prometheus.NewRegistry()
		inst := []string{"instance_name"}
		for _, d := range Defs {
			v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: d.Name, Help: d.Help}, append(append([]string(nil), inst...), d.Labels...))
			reg.MustRegister(v)
			*d.vec(&vecs) = v
		}
		for _, d := range GaugeDefs {
			v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: d.Name, Help: d.Help}, append(append([]string(nil), inst...), d.Labels...))
			reg.MustRegister(v)
			*d.vec(&vecs) = v
		}
		vecs.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: latencyName, Help: latencyHelp,
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, inst)
		reg.MustRegister(vecs.latency)
		// The .so carries its own Go runtime inside Fluent Bit: its heap and
		// goroutines are kaudit's, and process_* is Fluent Bit's whole process.
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	})
	return reg
}

// Markdown renders README's metrics table (between `<!-- METRICS -->`
// markers); a test keeps the two identical.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| metric | type | labels (besides `instance_name`) | meaning |\n|---|---|---|---|\n")
	row := func(name, typ, labels, help string) {
		fmt.Fprintf(&b, "| `%s_%s` | %s | %s | %s |\n", namespace, name, typ, labels, help)
	}
	for _, d := range Defs {
		labels := "–"
		if len(d.Labels) > 0 {
			labels = "`" + strings.Join(d.Labels, "`, `") + "`: " + d.Values
		}
		row(d.Name, "counter", labels, d.Help)
	}
	for _, d := range GaugeDefs {
		labels := "–"
		if len(d.Labels) > 0 {
			labels = "`" + strings.Join(d.Labels, "`, `") + "`: " + d.Values
		}
		row(d.Name, "gauge", labels, d.Help)
	}
	row(latencyName, "histogram", "–", latencyHelp)
	return b.String()
}

// Pipeline holds the counters the decode/detect/redact path increments.
// A nil *Pipeline counts nothing.
type Pipeline struct {
	Records       prometheus.Counter
	Events        prometheus.Counter
	PolicyDropped [policy.NumLevels]prometheus.Counter
	PolicyKept    prometheus.Counter
	Rejected      [reasonCount]prometheus.Counter
	Redactions    []prometheus.Counter // indexed by redact.Kind
	// LinesCut counts events cut to fit max_line_bytes.
	LinesCut prometheus.Counter
	// TenantFallback counts events sent to tenant_id for an invalid
	// tenant_id_key value.
	TenantFallback prometheus.Counter
	// DetectionsReused counts events of retried chunks detected once only.
	DetectionsReused prometheus.Counter
	detections       map[string]prometheus.Counter
}

// Detection counts one match of rule id; ids outside the loaded rule set
// (impossible for one engine) are ignored.
func (p *Pipeline) Detection(id string) {
	if c, ok := p.detections[id]; ok {
		c.Inc()
	}
}

// Redacted adds one event's removals.
func (p *Pipeline) Redacted(r redact.Report) {
	for k, c := range p.Redactions {
		if n := r.Count(redact.Kind(k)); n > 0 {
			c.Add(float64(n))
		}
	}
}

// Reject counts n records or events that produced no entry.
func (p *Pipeline) Reject(r Reason, n int) {
	if n > 0 {
		p.Rejected[r].Add(float64(n))
	}
}

// Loki holds the push client's series. A nil *Loki counts nothing.
type Loki struct {
	Requests [statusCount]prometheus.Counter
	Dropped  [dropCount]prometheus.Counter
	Retries  prometheus.Counter
	Accepted prometheus.Counter
	Latency  prometheus.Observer
	// Saved counts refused entries written to rejected_path.
	Saved prometheus.Counter
	// Backfilled counts entries sent again into the stream of their hour.
	Backfilled prometheus.Counter
	// MetadataStripped counts entries sent without structured metadata.
	MetadataStripped prometheus.Counter
	MetadataRefused  prometheus.Gauge
	Blocked          [blockCount]prometheus.Gauge
	Up               prometheus.Gauge
	LastSuccess      prometheus.Gauge
}

// Request records one push request's status and latency.
func (l *Loki) Request(code int, d time.Duration) {
	l.Requests[StatusOf(code)].Inc()
	l.Latency.Observe(d.Seconds())
}

// Instance is the series of one output instance.
type Instance struct {
	Name     string
	Pipeline *Pipeline
	Loki     *Loki
}

// New resolves every series of the instance name and starts them at zero:
// one per reason, kind, status and rule, so a rate() query never sees a
// series appear from nothing.
func New(name string, rules []detect.Rule) *Instance {
	Registry()
	in := &Instance{Name: name, Pipeline: &Pipeline{detections: map[string]prometheus.Counter{}}, Loki: &Loki{}}
	p, l := in.Pipeline, in.Loki
	p.Records = vecs.records.WithLabelValues(name)
	p.Events = vecs.events.WithLabelValues(name)
	for i := range p.Rejected {
		p.Rejected[i] = vecs.rejected.WithLabelValues(name, reasonNames[i])
	}
	for l := range p.PolicyDropped {
		p.PolicyDropped[l] = vecs.policyDropped.WithLabelValues(name, policy.Level(l).String())
	}
	p.PolicyKept = vecs.policyKept.WithLabelValues(name)
	for _, k := range redact.Kinds() {
		p.Redactions = append(p.Redactions, vecs.redactions.WithLabelValues(name, k.String()))
	}
	for _, r := range rules {
		if r.Enabled {
			p.detections[r.ID] = vecs.detections.WithLabelValues(name, r.ID, r.Severity.String())
		}
	}
	for i := range l.Requests {
		l.Requests[i] = vecs.requests.WithLabelValues(name, statusNames[i])
	}
	for i := range l.Dropped {
		l.Dropped[i] = vecs.dropped.WithLabelValues(name, dropNames[i])
	}
	l.Retries = vecs.retries.WithLabelValues(name)
	l.Accepted = vecs.accepted.WithLabelValues(name)
	l.Latency = vecs.latency.WithLabelValues(name)
	l.Saved = vecs.saved.WithLabelValues(name)
	l.Backfilled = vecs.backfilled.WithLabelValues(name)
	l.MetadataStripped = vecs.smStripped.WithLabelValues(name)
	l.MetadataRefused = vecs.smRefused.WithLabelValues(name)
	for i := range l.Blocked {
		l.Blocked[i] = vecs.blocked.WithLabelValues(name, blockNames[i])
	}
	l.Up = vecs.up.WithLabelValues(name)
	l.Up.Set(1)
	l.LastSuccess = vecs.lastSuccess.WithLabelValues(name)
	p.LinesCut = vecs.linesCut.WithLabelValues(name)
	p.TenantFallback = vecs.tenantFallback.WithLabelValues(name)
	p.DetectionsReused = vecs.detectionsReused.WithLabelValues(name)
	return in
}

// Close removes every series of the instance. Fluent Bit's hot reload
// (SIGHUP with Hot_Reload) stops every instance and starts new ones in the
// same process, named anew (kaudit.0, then kaudit.1): without this, each
// reload would leave a few hundred series of a stopped instance on
// /metrics for the life of the process.
func (in *Instance) Close() {
	match := prometheus.Labels{"instance_name": in.Name}
	for _, d := range Defs {
		(*d.vec(&vecs)).DeletePartialMatch(match)
	}
	for _, d := range GaugeDefs {
		(*d.vec(&vecs)).DeletePartialMatch(match)
	}
	vecs.latency.DeletePartialMatch(match)
}
