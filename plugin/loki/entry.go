package loki

import (
	"encoding/json"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/pipeline"
)

// Entries turns processed events into Loki entries. The stream labels are
// the static labels plus `severity` and `detection`: an alert is a label
// selector. Everything per event (who, what, which object) goes to
// structured metadata, never to labels, so stream count stays bounded by
// the rule set.
type Entries struct {
	labels    []config.Label
	static    string
	tenantID  string
	tenantKey []string
	meta      []config.MetaField
	mode      config.MetadataMode
	maxLine   int
	// Cut counts lines whose bodies were cut to fit maxLine (an event of
	// a retried chunk only once: pipeline.Event.Again).
	Cut     atomic.Int64
	cutHook func()
	// Misrouted counts events whose tenant_id_key value Loki cannot take
	// as a tenant, sent to tenant_id instead (once, as Cut).
	Misrouted     atomic.Int64
	misroutedHook func()
	streams       sync.Map // detection ids + severity -> rendered label set
}

// NewEntries prepares the rendering of one output instance's entries.
func NewEntries(c *config.Config) *Entries {
	e := &Entries{labels: c.Labels, tenantID: c.TenantID, tenantKey: c.TenantIDPath, meta: c.Metadata, mode: c.MetadataMode, maxLine: c.MaxLineBytes}
	e.static = renderLabels(c.Labels)
	return e
}

// OnCut sets a function called once per line cut to fit max_line_bytes,
// when Cut counts it.
func (b *Entries) OnCut(f func()) { b.cutHook = f }

// OnMisrouted sets a function called once per event sent to tenant_id
// because its tenant_id_key value is not a tenant Loki takes, when
// Misrouted counts it.
func (b *Entries) OnMisrouted(f func()) { b.misroutedHook = f }

// Build returns the tenant, the rendered stream labels and the entry.
func (b *Entries) Build(ev *pipeline.Event) (tenant, labels string, e push.Entry) {
	return b.build(ev, nil)
}

// AddTo renders ev into bt as Build would and adds it. The entry's
// structured metadata, and the values it makes up, are carved from bt's
// arena rather than allocated one by one: a flush's entries live and die
// with its Batch, so one block serves many of them (TestDeliveryAllocs).
func (b *Entries) AddTo(bt *Batch, ev *pipeline.Event) {
	bt.Add(b.build(ev, &bt.arena))
}

// build is Build; a is where metadata is kept, nil to allocate it.
func (b *Entries) build(ev *pipeline.Event, a *arena) (tenant, labels string, e push.Entry) {
	// A line from the input is the pipeline's buffer, reused for the next
	// event: the entry keeps a copy.
	line := a.own(ev.Line)
	if line == "" {
		line = a.renderLine(ev.Event)
	}
	var cut string
	if b.maxLine > 0 && len(line) > b.maxLine {
		line, cut = pipeline.FitLine(ev.Event, len(line), b.maxLine)
		if !ev.Again {
			b.Cut.Add(1)
			if b.cutHook != nil {
				b.cutHook()
			}
		}
	}
	e = push.Entry{Timestamp: ev.Time, Line: line}
	labels = b.static
	if ev.Detect.Severity > 0 {
		labels = b.detectionLabels(ev)
	}
	if b.mode != config.MetadataOff {
		m := b.metadata(ev, a)
		if cut != "" {
			m = append(m, push.LabelAdapter{Name: "cut", Value: cut})
		}
		e.StructuredMetadata = a.keep(fitMetadata(m))
	}
	return b.tenant(ev, a), labels, e
}

func (b *Entries) detectionLabels(ev *pipeline.Event) string {
	ids := ev.Detect.IDs()
	key := ev.Detect.Severity.String() + "|" + ids
	if v, ok := b.streams.Load(key); ok {
		return v.(string)
	}
	all := append(append([]config.Label(nil), b.labels...),
		config.Label{Name: "severity", Value: ev.Detect.Severity.String()},
		config.Label{Name: "detection", Value: ids})
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	s := renderLabels(all)
	b.streams.Store(key, s)
	return s
}

func renderLabels(ls []config.Label) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(l.Name)
		sb.WriteByte('=')
		sb.WriteString(strconv.Quote(l.Value))
	}
	sb.WriteByte('}')
	return sb.String()
}

// tenant is the record's tenant_id_key value, or tenant_id. A value Loki
// would refuse as a tenant (too long, a character outside its set, "|"
// that it reads as several tenants) counts as absent: the API server writes
// what a client sent into the event (objectRef.namespace of a request to a
// made-up path), and Loki refuses such a push whole, so the one event would
// hold its chunk back for ever.
// Such events are counted: a value made up to move events out of a
// tenant's view is worth seeing.
func (b *Entries) tenant(ev *pipeline.Event, a *arena) string {
	if b.tenantKey == nil {
		return b.tenantID
	}
	invalid := false
	for _, body := range [...]map[string]any{ev.Record.Body, ev.Event} {
		if s, ok := lookup(body, b.tenantKey).(string); ok {
			if config.ValidTenant(s) {
				return a.own(s)
			}
			invalid = true
		}
	}
	if invalid && !ev.Again {
		b.Misrouted.Add(1)
		if b.misroutedHook != nil {
			b.misroutedHook()
		}
	}
	return b.tenantID
}

// metadata carries the per-event facts an investigator filters on. Room
// is taken for every pair it may add and a `cut`, so nothing appended
// leaves a's block.
func (b *Entries) metadata(ev *pipeline.Event, a *arena) push.LabelsAdapter {
	if ev.Unrecognized {
		return append(b.extra(ev, a, a.take(2+len(b.meta))), push.LabelAdapter{Name: "kaudit_error", Value: "unrecognized"})
	}
	m := a.take(13 + len(b.meta))
	// Values are owned (arena.own): most are the event's strings, which
	// live in the decoder's text of the chunk, reused for the next one.
	// addOwned takes one already made in the arena.
	addOwned := func(name, value string) {
		if value != "" {
			m = append(m, push.LabelAdapter{Name: name, Value: value})
		}
	}
	add := func(name, value string) { addOwned(name, a.own(value)) }
	e := ev.Event
	user, _ := e["user"].(map[string]any)
	obj, _ := e["objectRef"].(map[string]any)
	add("audit_id", str(e["auditID"]))
	add("user", str(user["username"]))
	add("verb", str(e["verb"]))
	resource := str(obj["resource"])
	if sub := str(obj["subresource"]); sub != "" && resource != "" {
		addOwned("resource", a.join(resource, sub))
	} else {
		add("resource", resource)
	}
	add("namespace", str(obj["namespace"]))
	add("name", str(obj["name"]))
	// The client address as the rules saw it: the connection's address,
	// stepping back over trusted proxies, never a client-written header.
	// The rules saw the event before redaction: what they took for an
	// address leaves only if it is one.
	if ip := ev.Detect.SourceIP; ip != "" && isAddr(ip) {
		add("source_ip", ip)
	} else if ips, ok := e["sourceIPs"].([]any); ok && len(ips) > 0 {
		add("source_ip", str(ips[len(ips)-1]))
	}
	if rs, ok := e["responseStatus"].(map[string]any); ok {
		addOwned("code", a.str(rs["code"]))
	}
	if ev.Detect.Severity > 0 {
		add("detections", pipeline.Summary(ev.Detect))
	}
	// Stateful rules whose condition held, crossed or not: Loki ruler rules
	// add these up across API servers (conf/alerting).
	add("counted", ev.Detect.CountedIDs())
	if !ev.Redacted.Empty() {
		add("redacted", ev.Redacted.String())
	} else if ev.PriorRedacted != "" {
		add("redacted", ev.PriorRedacted)
	}
	return b.extra(ev, a, m)
}

func (b *Entries) extra(ev *pipeline.Event, a *arena, m push.LabelsAdapter) push.LabelsAdapter {
	for _, f := range b.meta {
		v := f.Value
		if f.Path != nil {
			v = a.str(lookup(ev.Event, f.Path))
		}
		if v != "" {
			m = append(m, push.LabelAdapter{Name: f.Name, Value: v})
		}
	}
	return m
}

func lookup(v any, path []string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// statusCodes are responseStatus.code's values, rendered once: every entry
// carries one, and strconv allocates for numbers of three digits.
var statusCodes = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

// str renders scalars; objects and arrays are not metadata.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case int64:
		if x >= 0 && x < int64(len(statusCodes)) {
			return statusCodes[x]
		}
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// Loki refuses an entry whose structured metadata is over 64 KiB or 128
// pairs (scripts/loki/BEHAVIOUR.md): the event would be lost for how it was
// framed. Every value is in the line too, so values are shortened instead.
const (
	maxMetadataValue = 1024
	maxMetadataBytes = 60 << 10
	maxMetadataPairs = 128
)

// fitMetadata keeps structured metadata within Loki's limits: values cut to
// maxMetadataValue bytes, and pairs beyond the limits dropped from the end
// (the configured extras come last).
func fitMetadata(m push.LabelsAdapter) push.LabelsAdapter {
	total := 0
	for i := range m {
		if v := m[i].Value; len(v) > maxMetadataValue {
			n := maxMetadataValue
			for n > 0 && !utf8.RuneStart(v[n]) {
				n--
			}
			m[i].Value = v[:n] + "…"
		}
		total += len(m[i].Name) + len(m[i].Value)
		if total > maxMetadataBytes || i >= maxMetadataPairs {
			return m[:i]
		}
	}
	return m
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
