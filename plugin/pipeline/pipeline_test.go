package pipeline_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/conf"
	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/loki"
	"github.com/kaudit/kaudit/plugin/metrics"
	. "github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/redact"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// newPipeline is the pipeline as the output runs it: events the screen
// passes carry their line.
func newPipeline(t testing.TB, pass bool) *Pipeline {
	t.Helper()
	p := filterPipeline(t, pass)
	p.ShipLines()
	return p
}

// filterPipeline is the pipeline as the filter runs it: every event's tree
// is redacted, as the filter writes records from it.
func filterPipeline(t testing.TB, pass bool) *Pipeline {
	t.Helper()
	det, err := LoadRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New(withShippedRules(redact.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Settings{Redactor: red, Detector: det, PassUnrecognized: pass})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// withShippedRules adds the rules the plugin ships (NewRedactor) to cfg: the
// pipeline's tests hold what runs, rules included, not the engine alone.
func withShippedRules(cfg redact.Config) redact.Config {
	cfg.Rules = append([]redact.Source{{Name: conf.RedactName, Data: conf.Redact}}, cfg.Rules...)
	return cfg
}

func chunk(t testing.TB, records []map[string]any, opts fbchunk.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := fbchunk.Encode(&b, records, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func entriesFor(t testing.TB, c *config.Config, p *Pipeline, data []byte) (tenants, labels []string, es []map[string]any) {
	t.Helper()
	b := loki.NewEntries(c)
	p.Chunk(data, func(ev *Event) {
		tenant, l, e := b.Build(ev)
		var line map[string]any
		if err := json.Unmarshal([]byte(e.Line), &line); err != nil {
			t.Fatalf("line is not JSON: %v", err)
		}
		md := map[string]string{}
		for _, m := range e.StructuredMetadata {
			md[m.Name] = m.Value
		}
		line["_meta"], line["_ts"] = md, e.Timestamp
		tenants, labels, es = append(tenants, tenant), append(labels, l), append(es, line)
	})
	return
}

func TestShapesBecomeEntries(t *testing.T) {
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	s := e2e.Generate(40, 3, end, time.Minute)
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{"labels": "job=kube-audit,cluster=x", "tenant_id": "fallback", "tenant_id_key": "tenant"})
	records := e2e.Shapes(s.Events)
	records[0]["tenant"] = "from-record"
	_, labels, es := entriesFor(t, c, p, chunk(t, records, fbchunk.Options{}))
	if len(es) != 40 {
		t.Fatalf("%d entries from %d records, want 40", len(es), len(records))
	}
	for i, e := range es {
		want := s.Events[i]
		if e["auditID"] != want["auditID"] {
			t.Fatalf("entry %d out of order", i)
		}
		ts, _ := time.Parse(time.RFC3339Nano, want["stageTimestamp"].(string))
		if !e["_ts"].(time.Time).Equal(ts) {
			t.Errorf("entry %d: time %v want %v", i, e["_ts"], ts)
		}
		if !strings.HasPrefix(labels[i], `{cluster="x"`) {
			t.Errorf("labels %s", labels[i])
		}
		if rule := s.Planted[want["auditID"].(string)]; rule != "" && !strings.Contains(labels[i], rule) {
			t.Errorf("entry %d: planted %s, labels %s", i, rule, labels[i])
		}
	}
}

func TestTenantKey(t *testing.T) {
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{"tenant_id": "fallback", "tenant_id_key": "tenant"})
	ev := e2e.Generate(3, 1, time.Now(), time.Minute).Events
	ev[0]["tenant"] = "in-event"
	rec := map[string]any{"log": mustJSON(t, ev[1]), "tenant": "in-record"}
	tenants, _, _ := entriesFor(t, c, p, chunk(t, []map[string]any{ev[0], rec, ev[2]}, fbchunk.Options{}))
	if strings.Join(tenants, ",") != "in-event,in-record,fallback" {
		t.Errorf("tenants %v", tenants)
	}
}

// A tenant_id_key value Loki cannot take goes to tenant_id and is
// counted; an absent one (a cluster-scoped object has no namespace) is
// routine and is not.
func TestTenantKeyInvalidValueCounted(t *testing.T) {
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{"tenant_id": "fallback", "tenant_id_key": "tenant"})
	evs := e2e.Generate(4, 1, time.Now(), time.Minute).Events
	evs[0]["tenant"] = "team-a|team-b"
	evs[1]["tenant"] = strings.Repeat("n", 151)
	evs[2]["tenant"] = "team-c"
	b := loki.NewEntries(c)
	hooked := 0
	b.OnMisrouted(func() { hooked++ })
	var tenants []string
	p.Chunk(chunk(t, evs, fbchunk.Options{}), func(ev *Event) {
		tenant, _, _ := b.Build(ev)
		tenants = append(tenants, tenant)
	})
	if strings.Join(tenants, ",") != "fallback,fallback,team-c,fallback" {
		t.Errorf("tenants %v", tenants)
	}
	if b.Misrouted.Load() != 2 || hooked != 2 {
		t.Errorf("counted %d (hook %d), want 2", b.Misrouted.Load(), hooked)
	}
}

func TestDetectionLabelsAndMetadata(t *testing.T) {
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{"structured_metadata": "env=prod,group=$objectRef.apiGroup"})
	ev := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a-1", "verb": "create", "stage": "ResponseComplete",
		"requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
		"user":       map[string]any{"username": "eve"}, "sourceIPs": []any{"203.0.113.9"},
		"objectRef":      map[string]any{"resource": "clusterrolebindings", "apiGroup": "rbac.authorization.k8s.io", "name": "x"},
		"responseStatus": map[string]any{"code": 201},
	}
	_, labels, es := entriesFor(t, c, p, chunk(t, []map[string]any{ev}, fbchunk.Options{}))
	if labels[0] != `{detection="clusterrolebinding_create", job="kube-audit", severity="critical"}` {
		t.Errorf("labels %s", labels[0])
	}
	md := es[0]["_meta"].(map[string]string)
	want := map[string]string{"audit_id": "a-1", "user": "eve", "verb": "create", "resource": "clusterrolebindings", "name": "x",
		"source_ip": "203.0.113.9", "code": "201", "detections": "clusterrolebinding_create:critical", "env": "prod", "group": "rbac.authorization.k8s.io"}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, md[k], v)
		}
	}
}

func TestUnrecognizedDroppedOrPassed(t *testing.T) {
	records := []map[string]any{{"hello": "world"}, e2e.Generate(1, 1, time.Now(), time.Minute).Events[0]}
	data := chunk(t, records, fbchunk.Options{})
	c, _ := config.Parse(config.MapGetter{})
	for _, pass := range []bool{false, true} {
		p := newPipeline(t, pass)
		_, _, es := entriesFor(t, c, p, data)
		want := 1
		if pass {
			want = 2
		}
		if len(es) != want || p.Stats.Unrecognized.Load() != 1 {
			t.Errorf("pass=%v: %d entries, unrecognized=%d", pass, len(es), p.Stats.Unrecognized.Load())
		}
		if pass && es[0]["_meta"].(map[string]string)["kaudit_error"] != "unrecognized" {
			t.Errorf("passed record not marked")
		}
	}
}

// A corrupt tail loses only the tail; a malformed record only itself.
func TestBadRecordsStayContained(t *testing.T) {
	evs := e2e.Generate(3, 1, time.Now(), time.Minute).Events
	good := chunk(t, evs, fbchunk.Options{})
	data := append(append([]byte{}, good...), 0x92, 0x01, 0xa1, 'x') // delimited, but the body is not a map
	data = append(data, chunk(t, evs[:1], fbchunk.Options{})...)
	data = append(data, 0x92, 0x01) // truncated
	p := newPipeline(t, false)
	n := 0
	rep := p.Chunk(data, func(*Event) { n++ })
	if n != 4 || rep.Malformed != 2 || rep.FirstErr == nil {
		t.Errorf("events=%d report=%+v", n, rep)
	}
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkChunk measures the whole hot path per event: decode a Fluent Bit
// chunk, detect, redact, and render the Loki entry (line JSON, labels,
// structured metadata) — everything but the HTTP push.
func BenchmarkChunk(b *testing.B) {
	productionMemory(b)
	for _, bc := range []struct {
		name, policy    string
		shapes, metrics bool
	}{{"raw", "", false, false}, {"mixed-shapes", "", true, false}, {"raw-metrics", "", false, true}, {"raw-seed-policy", "../../conf/policy/tiered.yaml", false, false}} {
		b.Run(bc.name, func(b *testing.B) {
			s := e2e.Generate(1000, 1, benchStart, time.Hour)
			records := s.Events
			if bc.shapes {
				records = e2e.Shapes(records)
			}
			data := chunk(b, records, fbchunk.Options{})
			p := withPolicy(b, bc.policy, detect.High)
			if bc.metrics {
				p.SetMetrics(metrics.New("bench."+bc.name, p.Detector().Rules()).Pipeline)
			}
			c, _ := config.Parse(config.MapGetter{})
			eb := loki.NewEntries(c)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.Chunk(data, func(ev *Event) { eb.Build(ev) })
			}
			b.StopTimer()
			perEvent := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(s.Events))
			b.ReportMetric(perEvent, "ns/event")
			b.ReportMetric(1e9/perEvent, "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// A kaudit filter's mark is removed before detection and never reaches the
// line; only a well-formed redaction summary is carried to the metadata.
func TestFilterMarkStripped(t *testing.T) {
	p := newPipeline(t, false)
	base := map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "a1",
		"stage": "ResponseComplete", "verb": "get", "objectRef": map[string]any{"resource": "configmaps", "namespace": "x", "name": "y"},
		"stageTimestamp": "2026-01-01T00:00:00Z"}
	for _, tc := range []struct {
		name  string
		mark  any
		prior string
	}{
		{"summary", map[string]any{"severity": "high", "redacted": "secret_data=2,token=1"}, "secret_data=2,token=1"},
		{"forged", map[string]any{"redacted": "kaudit-canary-x; anything"}, ""},
		{"not-a-map", "whatever", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := map[string]any{}
			for k, v := range base {
				ev[k] = v
			}
			ev[MarkKey] = tc.mark
			var got []Event
			p.Chunk(chunk(t, []map[string]any{ev}, fbchunk.Options{}), func(e *Event) { got = append(got, *e) })
			if len(got) != 1 {
				t.Fatalf("%d events", len(got))
			}
			if _, ok := got[0].Event[MarkKey]; ok {
				t.Errorf("mark kept in the event")
			}
			if got[0].PriorRedacted != tc.prior || got[0].Detect.Severity != detect.None {
				t.Errorf("prior %q severity %v, want %q none", got[0].PriorRedacted, got[0].Detect.Severity, tc.prior)
			}
		})
	}
}

// A secret body the redactor cannot read reaches Loki as the marker, says
// so in `redacted`, and is counted.
func TestFailedClosedCountedAndReported(t *testing.T) {
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{})
	ev := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a-1", "verb": "update", "stage": "ResponseComplete",
		"objectRef":     map[string]any{"resource": "secrets", "name": "x"},
		"requestObject": "skipped-too-big-size-object",
		"responseObject": map[string]any{"kind": "Secret", "data": map[string]any{"k": "djE="},
			"metadata": map[string]any{"managedFields": []any{map[string]any{"manager": "m"}}}},
	}
	_, _, es := entriesFor(t, c, p, chunk(t, []map[string]any{ev}, fbchunk.Options{}))
	if got := es[0]["_meta"].(map[string]string)["redacted"]; got != "failed_closed=1,managed_fields=1,secret_data=1" {
		t.Errorf("redacted = %q", got)
	}
	if es[0]["requestObject"] != "[REDACTED]" {
		t.Errorf("requestObject = %v", es[0]["requestObject"])
	}
	if p.Stats.FailedClosed.Load() != 1 || p.Stats.Redacted.Load() != 1 {
		t.Errorf("failed_closed=%d redacted=%d", p.Stats.FailedClosed.Load(), p.Stats.Redacted.Load())
	}
}
