package pipeline_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/loki"
	. "github.com/kaudit/kaudit/plugin/pipeline"
)

func execEvent(i int, at time.Time) map[string]any {
	ts := at.Add(time.Duration(i) * time.Second).UTC().Format(time.RFC3339Nano)
	return map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": fmt.Sprintf("exec-%d", i),
		"stage": "ResponseStarted", "requestURI": "/api/v1/namespaces/shop/pods/web/exec?command=sh", "verb": "create",
		"user": map[string]any{"username": "mallory"}, "sourceIPs": []any{"10.0.0.9"},
		"objectRef":      map[string]any{"resource": "pods", "namespace": "shop", "name": "web", "subresource": "exec", "apiVersion": "v1"},
		"responseStatus": map[string]any{"code": int64(101)}, "requestReceivedTimestamp": ts, "stageTimestamp": ts,
	}
}

type built struct {
	labels string
	e      push.Entry
}

func buildAll(c *config.Config, p *Pipeline, data []byte, replay *Detections) ([]built, *Detections) {
	b := loki.NewEntries(c)
	var out []built
	_, rec := p.ChunkReplay(data, replay, func(ev *Event) {
		_, l, e := b.Build(ev)
		out = append(out, built{l, e})
	})
	return out, rec
}

// A retried chunk produces the entries of its first attempt, byte for
// byte, and stateful rules see its events once; running the rules again
// (what a retry did before) escalates three execs into a repeated-exec
// alert.
func TestReplayKeepsDetections(t *testing.T) {
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{})
	at := time.Now().Add(-time.Minute)
	// A secret read matches nothing but is counted by a stateful rule: its
	// `counted` metadata must survive the replay too.
	read := execEvent(3, at)
	read["verb"], read["requestURI"], read["stage"] = "get", "/api/v1/namespaces/shop/secrets/db", "ResponseComplete"
	read["objectRef"] = map[string]any{"resource": "secrets", "namespace": "shop", "name": "db", "apiVersion": "v1"}
	read["responseStatus"] = map[string]any{"code": int64(200)}
	data := chunk(t, []map[string]any{execEvent(0, at), execEvent(1, at), execEvent(2, at), read}, fbchunk.Options{})
	first, rec := buildAll(c, p, data, nil)
	if rec.Events() != 4 {
		t.Fatalf("recorded %d events, want 4", rec.Events())
	}
	if md := fmt.Sprint(first[3].e.StructuredMetadata); !strings.Contains(md, "counted") || first[3].labels != `{job="kube-audit"}` {
		t.Fatalf("the secret read should be counted and unlabelled: %s %s", first[3].labels, md)
	}
	for _, b := range first {
		if strings.Contains(b.labels, "pod_exec_repeated") {
			t.Fatalf("three execs already repeated: %s", b.labels)
		}
	}
	for attempt := 2; attempt <= 4; attempt++ {
		again, _ := buildAll(c, p, data, rec)
		if len(again) != len(first) {
			t.Fatalf("attempt %d: %d entries, want %d", attempt, len(again), len(first))
		}
		for i := range first {
			if again[i].labels != first[i].labels || again[i].e.Line != first[i].e.Line || !again[i].e.Timestamp.Equal(first[i].e.Timestamp) ||
				fmt.Sprint(again[i].e.StructuredMetadata) != fmt.Sprint(first[i].e.StructuredMetadata) {
				t.Errorf("attempt %d, entry %d differs:\n%s %v\n%s %v", attempt, i, first[i].labels, first[i].e.StructuredMetadata, again[i].labels, again[i].e.StructuredMetadata)
			}
		}
	}
	if got := p.Stats.DetectionsReused.Load(); got != 12 {
		t.Errorf("detections reused for %d events, want 12", got)
	}
	// The sensitivity check: without the recording the counter sees the
	// events again and the resend is relabelled.
	rerun, _ := buildAll(c, p, data, nil)
	if !strings.Contains(rerun[2].labels, "pod_exec_repeated") {
		t.Errorf("re-running the rules did not escalate; the test proves nothing: %s", rerun[2].labels)
	}
}

func secretList(n int, at time.Time) map[string]any {
	ev := execEvent(0, at)
	ev["auditID"] = fmt.Sprintf("list-%d", n)
	ev["verb"], ev["level"], ev["requestURI"] = "list", "RequestResponse", "/api/v1/secrets"
	ev["objectRef"] = map[string]any{"resource": "secrets", "apiVersion": "v1"}
	ev["responseStatus"] = map[string]any{"code": int64(200)}
	ev["annotations"] = map[string]any{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding"}
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"metadata": map[string]any{"name": fmt.Sprintf("s-%d", i), "namespace": "ns", "labels": map[string]any{"app": strings.Repeat("a", 40)}}, "type": "Opaque"}
	}
	ev["responseObject"] = map[string]any{"kind": "SecretList", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "12345"}, "items": items}
	return ev
}

func TestBigEventsFit(t *testing.T) {
	at := time.Now().Add(-time.Minute)
	huge := secretList(10, at)
	huge["annotations"].(map[string]any)["giant"] = strings.Repeat("z", 2<<20)
	for _, tc := range []struct {
		name string
		ev   map[string]any
		cut  string
	}{
		{"1MB", secretList(8000, at), "responseObject"},
		{"10MB", secretList(80000, at), "responseObject"},
		{"giant annotation", huge, "responseObject,long_strings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := len(Line(tc.ev))
			line, cut := FitLine(tc.ev, orig, 256<<10)
			if len(line) > 256<<10 {
				t.Fatalf("line %d bytes, over the limit", len(line))
			}
			if cut != tc.cut {
				t.Errorf("cut %q, want %q", cut, tc.cut)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatal(err)
			}
			mark, _ := got[MarkKey].(map[string]any)
			if mark["cut"] != tc.cut || mark["original_bytes"] != float64(orig) {
				t.Errorf("mark %v, want cut %q original_bytes %d", mark, tc.cut, orig)
			}
			for _, k := range []string{"auditID", "user", "verb", "objectRef", "responseStatus", "stageTimestamp", "annotations", "sourceIPs"} {
				if got[k] == nil {
					t.Errorf("envelope field %s lost", k)
				}
			}
			if ro, _ := got["responseObject"].(map[string]any); tc.name != "giant annotation" && (ro["kind"] != "SecretList" || ro["items"] == nil) {
				t.Errorf("body summary %v", ro)
			}
			if tc.ev["responseObject"].(map[string]any)["items"] == nil {
				t.Error("the event itself was modified")
			}
		})
	}
}

func TestCutCountedAndInMetadata(t *testing.T) {
	p := newPipeline(t, false)
	c, err := config.Parse(config.MapGetter{"max_line_bytes": "64K"})
	if err != nil {
		t.Fatal(err)
	}
	data := chunk(t, []map[string]any{secretList(3000, time.Now().Add(-time.Minute)), execEvent(0, time.Now())}, fbchunk.Options{})
	b := loki.NewEntries(c)
	cuts := 0
	b.OnCut(func() { cuts++ })
	var md []push.LabelsAdapter
	p.Chunk(data, func(ev *Event) {
		_, _, e := b.Build(ev)
		if len(e.Line) > 64<<10 {
			t.Errorf("line of %d bytes", len(e.Line))
		}
		md = append(md, e.StructuredMetadata)
	})
	if cuts != 1 || b.Cut.Load() != 1 || !strings.Contains(fmt.Sprint(md[0]), "cut responseObject") || strings.Contains(fmt.Sprint(md[1]), "cut") {
		t.Errorf("cuts=%d metadata=%v", cuts, md)
	}
}

func TestNestedTenantAndAccessors(t *testing.T) {
	p := newPipeline(t, false)
	ev := execEvent(0, time.Now())
	for _, key := range []string{"objectRef.namespace", "$objectRef['namespace']", `$objectRef["namespace"]`} {
		c, err := config.Parse(config.MapGetter{"tenant_id": "fallback", "tenant_id_key": key, "structured_metadata": "ns=$objectRef['namespace'], who=$user.username"})
		if err != nil {
			t.Fatal(err)
		}
		tenants, _, es := entriesFor(t, c, p, chunk(t, []map[string]any{ev}, fbchunk.Options{}))
		if len(tenants) != 1 || tenants[0] != "shop" {
			t.Errorf("%s: tenants %v", key, tenants)
		}
		md, _ := es[0]["_meta"].(map[string]string)
		if md["ns"] != "shop" || md["who"] != "mallory" {
			t.Errorf("metadata %v", md)
		}
	}
}

func TestMetadataOff(t *testing.T) {
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{"structured_metadata_mode": "off"})
	got, _ := buildAll(c, p, chunk(t, []map[string]any{execEvent(0, time.Now())}, fbchunk.Options{}), nil)
	if len(got) != 1 || len(got[0].e.StructuredMetadata) != 0 {
		t.Errorf("structured metadata sent with mode off: %v", got)
	}
}

// A retried chunk's records, events, redactions, cuts and tenant fallbacks
// were counted on its first attempt: a Loki outage must not multiply what
// the counters report. A chunk met without its first attempt's record (a
// restart, or one forgotten) is counted again.
func TestRetryCountsOnce(t *testing.T) {
	p := newPipeline(t, false)
	c, err := config.Parse(config.MapGetter{"max_line_bytes": "4K", "tenant_id_key": "objectRef.namespace"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute)
	secret := execEvent(1, at)
	secret["verb"], secret["level"], secret["requestURI"] = "create", "Request", "/api/v1/namespaces/shop/secrets"
	secret["objectRef"] = map[string]any{"resource": "secrets", "namespace": "bad|ns", "name": "db", "apiVersion": "v1"}
	secret["requestObject"] = map[string]any{"kind": "Secret", "apiVersion": "v1", "metadata": map[string]any{"name": "db"}, "data": map[string]any{"password": "aHVudGVyMg=="}}
	data := chunk(t, []map[string]any{execEvent(0, at), secret, secretList(200, at), {"not": "an audit event"}}, fbchunk.Options{})

	b := loki.NewEntries(c)
	attempt := func(replay *Detections) *Detections {
		_, rec := p.ChunkReplay(data, replay, func(ev *Event) { b.Build(ev) })
		return rec
	}
	counts := func() [6]int64 {
		s := &p.Stats
		return [...]int64{s.Records.Load(), s.Events.Load(), s.Unrecognized.Load(), s.Redacted.Load(), b.Cut.Load(), b.Misrouted.Load()}
	}
	rec := attempt(nil)
	once := counts()
	if once != [...]int64{4, 3, 1, 1, 1, 1} {
		t.Fatalf("first attempt counted records, events, unrecognized, redacted, cut, misrouted = %v, want [4 3 1 1 1 1]", once)
	}
	for i := 0; i < 3; i++ {
		attempt(rec)
	}
	if got := counts(); got != once {
		t.Errorf("after three retries the counters read %v, want them as after the first attempt, %v", got, once)
	}
	attempt(nil)
	if got := counts(); got != [...]int64{8, 6, 2, 2, 2, 2} {
		t.Errorf("a chunk met afresh counts again: %v, want [8 6 2 2 2 2]", got)
	}
}
