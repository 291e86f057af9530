package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/redact/policy"
	"github.com/kaudit/kaudit/testdata"
)

// The seed's policy through the real .so: one instance without a policy and
// one with conf/policy/tiered.yaml flush the same chunks, as a flat
// RequestResponse API server would have written them (with RequestReceived
// events) plus probe and watch noise. Loki must hold, for the policy tenant,
// exactly the events the policy keeps, cut to their level, with every
// detection of the unfiltered tenant on them, and the events the policy
// drops must not be there unless they matched a high or critical rule.
func TestAuditPolicy(t *testing.T) {
	need(t)
	root, err := testdata.Root()
	if err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(root, "conf", "policy", "tiered.yaml")
	pol, err := policy.LoadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	end, span := window()
	s := Generate(1500, 7, end, span)
	events := FlatRequestResponse(s.Events, true)
	for i, ev := range FlatRequestResponse(Generate(60, 8, end, span).Events, false) {
		switch i % 3 { // what the seed's policy exists to drop
		case 0:
			ev["verb"] = "watch"
		case 1:
			delete(ev, "objectRef")
			delete(ev, "responseObject")
			ev["requestURI"] = "/healthz/etcd"
		default:
			ref := ev["objectRef"].(map[string]any)
			ref["resource"] = "events"
			delete(ref, "apiGroup") // core events; events.k8s.io ones are another group
			ev["verb"] = "list"
		}
		events = append(events, ev)
	}
	chunks, err := WriteChunks(t.TempDir(), "p", Shapes(events), 200, chunk.Options{Format: chunk.FormatV2, Time: chunk.TimeEventTime})
	if err != nil {
		t.Fatal(err)
	}
	run, err := art.RunHost(HostOptions{Workers: 2}, []map[string]string{
		{"url": shared.PushURL(), "tenant_id": "policy-none"},
		{"url": shared.PushURL(), "tenant_id": "policy-seed", "audit_policy_file": seed},
	}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || run.OK != 2*len(chunks) {
		t.Fatalf("host: exit=%d ok=%d want %d\n%s", run.Exit, run.OK, 2*len(chunks), run.Stderr)
	}
	read := func(tenant string) map[string]Entry {
		got, err := shared.Query(tenant, `{job="kube-audit"}`, end.Add(-span-2*time.Minute), end.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]Entry{}
		for _, e := range got {
			var line map[string]any
			if err := json.Unmarshal([]byte(e.Line), &line); err != nil {
				t.Fatal(err)
			}
			k := fmt.Sprint(line["auditID"], "/", line["stage"])
			if _, dup := m[k]; dup {
				t.Errorf("%s: %s stored twice", tenant, k)
			}
			m[k] = e
		}
		return m
	}
	none, seeded := read("policy-none"), read("policy-seed")
	if len(none) != len(events) {
		t.Fatalf("policy-none: %d entries, want %d", len(none), len(events))
	}
	dropped, kept := 0, 0
	fired := map[string]bool{}
	for _, ev := range events {
		k := fmt.Sprint(ev["auditID"], "/", ev["stage"])
		full := none[k]
		sev, _ := detect.ParseSeverity(or(full.Labels["severity"], "none"))
		d := pol.Evaluate(ev)
		e, stored := seeded[k]
		switch {
		case d.Drop() && sev < detect.High:
			dropped++
			if stored {
				t.Errorf("%s (%s %v): stored, the policy drops it", k, ev["verb"], ev["objectRef"])
			}
			continue
		case d.Drop():
			kept++
			d = d.Keep()
		}
		if !stored {
			t.Errorf("%s (%s %v): not stored, the policy keeps it at %s", k, ev["verb"], ev["objectRef"], d.Level)
			continue
		}
		var line map[string]any
		json.Unmarshal([]byte(e.Line), &line)
		if line["level"] != d.Level.String() {
			t.Errorf("%s: stored at %v, want %s", k, line["level"], d.Level)
		}
		_, req := line["requestObject"]
		_, resp := line["responseObject"]
		if (d.Level < policy.Request && req) || (d.Level < policy.RequestResponse && resp) {
			t.Errorf("%s: at %s with requestObject %t responseObject %t", k, d.Level, req, resp)
		}
		if e.Labels["detection"] != full.Labels["detection"] || e.Labels["severity"] != full.Labels["severity"] {
			t.Errorf("%s: detection %q/%q with the policy, %q/%q without", k, e.Labels["detection"], e.Labels["severity"], full.Labels["detection"], full.Labels["severity"])
		}
		for _, id := range strings.Split(e.Labels["detection"], ",") {
			fired[id] = true
		}
		if ContainsCanary(e.Line) {
			t.Errorf("%s: canary in the line", k)
		}
	}
	for rule := range s.Attacks {
		if !fired[rule] {
			t.Errorf("%s never fired with the policy on", rule)
		}
	}
	if len(seeded) != len(events)-dropped || dropped+kept < len(s.Events)+60 {
		t.Errorf("policy-seed holds %d entries, want %d (%d dropped, %d kept for their detections)", len(seeded), len(events)-dropped, dropped, kept)
	}
	if !strings.Contains(run.Stderr, fmt.Sprintf("policy_dropped=%d policy_kept=%d", dropped, kept)) {
		t.Errorf("stop line lacks policy_dropped=%d policy_kept=%d:\n%s", dropped, kept, run.Stderr)
	}
	t.Logf("%d events: policy-seed stored %d (%d dropped, %d kept for a high detection)", len(events), len(seeded), dropped, kept)
}

// A bad policy file stops start-up with one line naming the key and the API
// server's message.
func TestBadAuditPolicyStopsStartup(t *testing.T) {
	need(t)
	f := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(f, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  omitStage: [RequestReceived]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run, err := art.RunHost(HostOptions{}, []map[string]string{{"url": shared.PushURL(), "audit_policy_file": f}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit == 0 {
		t.Fatal("host started with a bad policy")
	}
	n := 0
	for _, l := range strings.Split(run.Stderr, "\n") {
		if strings.Contains(l, "audit_policy_file:") && strings.Contains(l, `strict decoding error: unknown field "rules[0].omitStage"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("want one line naming audit_policy_file and the unknown field, stderr:\n%s", run.Stderr)
	}
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
