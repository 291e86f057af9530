package pipeline_test

import (
	"flag"

	"github.com/kaudit/kaudit/plugin/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/decode"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/loki"
	. "github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/redact/policy"
	"github.com/kaudit/kaudit/scripts/e2e"
	"github.com/kaudit/kaudit/testdata"
)

func withPolicy(t testing.TB, file string, keep detect.Severity) *Pipeline {
	t.Helper()
	p := newPipeline(t, false)
	if file != "" {
		pol, err := policy.LoadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p.SetPolicy(pol, keep)
	}
	return p
}

func loadPolicy(t testing.TB, y string) *policy.Policy {
	t.Helper()
	pol, err := policy.Load([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// stored runs records through p and returns what it emits, by auditID: the
// stored line and the detection ids.
type storedEvent struct {
	line map[string]any
	ids  string
}

func stored(t testing.TB, p *Pipeline, records []map[string]any) (map[string]storedEvent, ChunkReport) {
	t.Helper()
	c, _ := config.Parse(config.MapGetter{})
	b := loki.NewEntries(c)
	out := map[string]storedEvent{}
	rep := p.Chunk(chunk(t, records, fbchunk.Options{}), func(ev *Event) {
		_, _, e := b.Build(ev)
		var line map[string]any
		if err := json.Unmarshal([]byte(e.Line), &line); err != nil {
			t.Fatal(err)
		}
		id, _ := line["auditID"].(string)
		out[id] = storedEvent{line, ev.Detect.IDs()}
	})
	return out, rep
}

// Detection runs on the event as it arrived: with the seed's policy every
// planted attack is still detected, with the same rules, and what is stored
// is cut to the policy's level.
func TestPolicyDetectsOnFullFidelity(t *testing.T) {
	s := e2e.Generate(3000, 11, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), time.Hour)
	records := e2e.Shapes(s.Events)
	plain, _ := stored(t, newPipeline(t, false), records)
	p := withPolicy(t, "../../conf/policy/managed-cluster.yaml", detect.High)
	got, rep := stored(t, p, records)
	// Leader-election leases and kubelets reading their Node are heartbeats.
	heartbeats := 0
	for _, ev := range s.Events {
		ref := ev["objectRef"].(map[string]any)
		user, _ := ev["user"].(map[string]any)["username"].(string)
		beat := ref["resource"] == "leases" || ref["resource"] == "nodes" && strings.HasPrefix(user, "system:node:")
		if beat {
			heartbeats++
		}
		if _, ok := got[ev["auditID"].(string)]; ok == beat {
			t.Errorf("%s (%s %v by %s): stored %t", ev["auditID"], ev["verb"], ref["resource"], user, ok)
		}
	}
	if rep.PolicyDropped != heartbeats || heartbeats == 0 {
		t.Errorf("managed-cluster policy dropped %d generated events, want the %d heartbeats", rep.PolicyDropped, heartbeats)
	}
	for id, rule := range s.Planted {
		g, ok := got[id]
		if !ok {
			t.Errorf("%s (%s): not stored", id, rule)
			continue
		}
		if !strings.Contains(g.ids, rule) || g.ids != plain[id].ids {
			t.Errorf("%s: detections %q with the policy, %q without, want %s", id, g.ids, plain[id].ids, rule)
		}
	}
	var priv, secrets int
	for id, g := range got {
		if plain[id].ids != g.ids {
			t.Errorf("%s: detections %q with the policy, %q without", id, g.ids, plain[id].ids)
		}
		ref, _ := g.line["objectRef"].(map[string]any)
		switch {
		case strings.Contains(g.ids, "privileged_pod_create"):
			// Caught on the request body the policy then keeps (Request for writes).
			priv++
			if g.line["requestObject"] == nil || g.line["responseObject"] != nil || g.line["level"] != "Request" {
				t.Errorf("%s: privileged pod stored at %v with request %t response %t", id, g.line["level"], g.line["requestObject"] != nil, g.line["responseObject"] != nil)
			}
		case ref["resource"] == "secrets":
			secrets++
			if g.line["responseObject"] != nil || g.line["level"] != "Metadata" {
				t.Errorf("%s: secret read stored at %v with its response", id, g.line["level"])
			}
		}
	}
	if priv == 0 || secrets == 0 {
		t.Fatalf("sample lacks privileged pods (%d) or secret reads (%d)", priv, secrets)
	}
	if p.Stats.Detected.Load() == 0 {
		t.Error("no detections counted")
	}
}

// Events the policy drops still count as detected; those that matched a
// rule of policy_keep_severity or above are stored anyway, at Metadata.
func TestPolicyDropsButKeepsDetections(t *testing.T) {
	s := e2e.Generate(2000, 5, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), time.Hour)
	dropAll := loadPolicy(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n")
	base := newPipeline(t, false)
	stored(t, base, s.Events)
	var high int
	for _, ev := range s.Events {
		if base.Detector().Detect(ev, nil).Severity >= detect.High {
			high++
		}
	}
	for _, keep := range []detect.Severity{detect.High, detect.None} {
		t.Run(keep.String(), func(t *testing.T) {
			p := newPipeline(t, false)
			p.SetPolicy(dropAll, keep)
			got, rep := stored(t, p, s.Events)
			want := high
			if keep == detect.None {
				want = 0
			}
			if len(got) != want || rep.Events != want || int(p.Stats.PolicyKept.Load()) != want {
				t.Errorf("stored %d (report %d, kept %d), want %d", len(got), rep.Events, p.Stats.PolicyKept.Load(), want)
			}
			if n := p.Stats.PolicyDropped[policy.None].Load(); int(n) != len(s.Events)-want || rep.PolicyDropped != int(n) {
				t.Errorf("dropped{None} = %d, report %d, want %d", n, rep.PolicyDropped, len(s.Events)-want)
			}
			if p.Stats.Detected.Load() != base.Stats.Detected.Load() {
				t.Errorf("detected %d with the policy, %d without", p.Stats.Detected.Load(), base.Stats.Detected.Load())
			}
			for id, g := range got {
				if g.line["level"] != "Metadata" || g.line["requestObject"] != nil || g.line["responseObject"] != nil {
					t.Errorf("%s: kept at %v with bodies", id, g.line["level"])
				}
			}
		})
	}
}

// Stage omission drops, and counts by the rule's level; the level a stored
// event carries is never raised.
func TestPolicyStagesAndLevels(t *testing.T) {
	pol := loadPolicy(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: RequestResponse\n")
	evs := e2e.FlatRequestResponse(e2e.Generate(200, 3, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), time.Hour).Events, true)
	evs = append(evs, e2e.Generate(50, 4, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), time.Hour).Events...)
	p := newPipeline(t, false)
	p.SetPolicy(pol, detect.None)
	got, rep := stored(t, p, evs)
	if rep.PolicyDropped != 200 || p.Stats.PolicyDropped[policy.RequestResponse].Load() != 200 {
		t.Errorf("dropped %d (RequestResponse %d), want the 200 RequestReceived events", rep.PolicyDropped, p.Stats.PolicyDropped[policy.RequestResponse].Load())
	}
	for _, ev := range evs[400:] {
		g := got[ev["auditID"].(string)]
		if g.line["level"] != ev["level"] {
			t.Errorf("%s: stored at %v, arrived at %v", ev["auditID"], g.line["level"], ev["level"])
		}
	}
}

// corpusEvents reads a JSONL corpus (Panther's test wrapper unwrapped) into
// audit events.
func corpusEvents(t testing.TB, path string) []map[string]any {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if ev, ok := m["event"].(map[string]any); ok {
			m = ev
		}
		evs, _, _ := decode.Events(m, nil)
		out = append(out, evs...)
	}
	return out
}

var volume = flag.Bool("volume", false, "TestPolicyVolume: measure the generated mix (about 30 s) instead of taking its rows from "+generatedRows)

// generatedRows holds TestPolicyVolume's rows for the generated mix, as the
// last -volume run measured them.
const generatedRows = "testdata/policy-volume-generated.md"

// TestPolicyVolume measures what Loki stores (entries and line bytes) with
// no policy, the article's and the managed-cluster one, on the real corpora
// and on a large generated mix, as generated and as a flat RequestResponse
// policy would have written it; it checks that every detection still fires
// and keeps README's table current (-update). The generated mix takes about
// 30 s, so it is measured only with -volume (which also checks, or with
// -update rewrites, generatedRows); otherwise its rows come from
// generatedRows and the corpora rows are measured.
func TestPolicyVolume(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	corpora := testdata.Corpora(t)
	type dataset struct {
		name   string
		events []map[string]any
	}
	var sets []dataset
	for _, f := range corpora {
		sets = append(sets, dataset{"corpus " + filepath.Base(f), corpusEvents(t, f)})
	}
	var gen []dataset
	if *volume {
		evs := e2e.Generate(20000, 42, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), time.Hour).Events
		gen = []dataset{
			{"generated mix, as generated", evs},
			{"generated mix, flat RequestResponse", e2e.FlatRequestResponse(evs, false)},
			{"generated mix, flat RequestResponse with RequestReceived", e2e.FlatRequestResponse(evs, true)},
		}
	}
	policies := []struct{ name, file string }{{"none", ""}, {"tiered.yaml", "../../conf/policy/tiered.yaml"}, {"managed-cluster.yaml", "../../conf/policy/managed-cluster.yaml"}}
	rows := func(sets []dataset) string {
		var b strings.Builder
		for _, ds := range sets {
			data := chunk(t, ds.events, fbchunk.Options{})
			var base int
			var baseDet int64
			for _, pc := range policies {
				p := withPolicy(t, pc.file, detect.High)
				c, _ := config.Parse(config.MapGetter{})
				eb := loki.NewEntries(c)
				bytes := 0
				rep := p.Chunk(data, func(ev *Event) {
					_, _, e := eb.Build(ev)
					bytes += len(e.Line)
				})
				if pc.file == "" {
					base, baseDet = bytes, p.Stats.Detected.Load()
				} else if d := p.Stats.Detected.Load(); d != baseDet {
					t.Errorf("%s with %s: %d events detected, %d without the policy", ds.name, pc.name, d, baseDet)
				}
				less := "—"
				if pc.file != "" {
					less = fmt.Sprintf("%.0f%%", 100*(1-float64(bytes)/float64(base)))
				}
				fmt.Fprintf(&b, "| %s (%d) | %s | %d | %d | %s |\n", ds.name, len(ds.events), pc.name, rep.Events, bytes, less)
			}
		}
		return b.String()
	}
	recorded, err := os.ReadFile(generatedRows)
	if err != nil {
		t.Fatal(err)
	}
	generated := string(recorded)
	if *volume {
		generated = rows(gen)
		if generated != string(recorded) {
			if *testdata.Update {
				if err := os.WriteFile(generatedRows, []byte(generated), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				t.Errorf("%s is stale; rerun with -volume -update", generatedRows)
			}
		}
	}
	table := "| events | policy | events stored | bytes stored | less than no policy |\n|---|---|---:|---:|---:|\n" + rows(sets) + generated
	t.Logf("\n%s", table)
	testdata.CheckReadme(t, "POLICY-VOLUME", table)
}

// Policy drops and keeps reach the metrics, by level.
func TestPolicyMetrics(t *testing.T) {
	p := withPolicy(t, "../../conf/policy/tiered.yaml", detect.High)
	m := metrics.New("policy-metrics-test", p.Detector().Rules()).Pipeline
	p.SetMetrics(m)
	watch := map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "w", "verb": "watch", "stage": "ResponseComplete",
		"user": map[string]any{"username": "system:kube-scheduler"}, "objectRef": map[string]any{"resource": "pods"}}
	// A watch is judged on ResponseStarted, the stage that carries its code.
	anon := map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a", "verb": "watch", "stage": "ResponseStarted",
		"user": map[string]any{"username": "system:anonymous"}, "objectRef": map[string]any{"resource": "secrets"}, "sourceIPs": []any{"203.0.113.7"}}
	n := 0
	p.Chunk(chunk(t, []map[string]any{watch, anon}, fbchunk.Options{}), func(*Event) { n++ })
	if got := testutil.ToFloat64(m.PolicyDropped[policy.None]); got != 1 {
		t.Errorf("kaudit_policy_dropped_total{level=None} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.PolicyKept); got != 1 || n != 1 {
		t.Errorf("kaudit_policy_kept_total = %v (events stored %d), want the anonymous watch kept", got, n)
	}
}
