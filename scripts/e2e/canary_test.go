package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
)

// TestCanaryCorpus is the redaction proof: every case of
// testdata/canary/events.jsonl, in every record shape, goes through the
// real .so loaded by the C host into the real Loki, twice (default
// settings, and with a hash key and values as structured metadata); then no form of a
// canary (plain, base64 std or url, padded or not, any alignment) may
// appear anywhere Loki returns it: line, stream labels or structured
// metadata. Nor in the plugin's own log. Every event must be stored and
// say in `redacted` what was removed.
func TestCanaryCorpus(t *testing.T) {
	need(t)
	end, _ := window()
	events, err := CanaryCorpus(end)
	if err != nil {
		t.Fatal(err)
	}
	records := EveryShape(events)
	chunks, err := WriteChunks(t.TempDir(), "canary", records, 16, chunk.Options{Format: chunk.FormatV2, Time: chunk.TimeEventTime})
	if err != nil {
		t.Fatal(err)
	}
	instances := []map[string]string{
		{"url": shared.PushURL(), "tenant_id": "canary-default"},
		{"url": shared.PushURL(), "tenant_id": "canary-hash", "redact_hash_key": "e2e-hash-key-0123456789",
			"structured_metadata": "req=$requestObject,resp=$responseObject"},
	}
	run, err := art.RunHost(HostOptions{Workers: 2}, instances, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || run.OK != len(instances)*len(chunks) {
		t.Fatalf("host: exit=%d ok=%d want %d\n%s", run.Exit, run.OK, len(instances)*len(chunks), run.Stderr)
	}
	if ContainsCanary(run.Stderr) {
		t.Error("a canary reached the plugin's log")
	}
	for _, in := range instances {
		tenant := in["tenant_id"]
		got, err := shared.Query(tenant, `{job="kube-audit"}`, end.Add(-time.Hour), end.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if want := len(ShapeNames) * len(events); len(got) != want {
			t.Errorf("%s: %d entries in Loki, want %d", tenant, len(got), want)
		}
		seen := map[string]bool{}
		hashed := 0
		for _, e := range got {
			id := e.Metadata["audit_id"]
			seen[id] = true
			if ContainsCanary(e.Line) {
				t.Errorf("%s: canary in the line of %s", tenant, id)
			}
			for k, v := range e.Labels {
				if ContainsCanary(k) || ContainsCanary(v) {
					t.Errorf("%s: canary in label %s of %s", tenant, k, id)
				}
			}
			for k, v := range e.Metadata {
				if ContainsCanary(k) || ContainsCanary(v) {
					t.Errorf("%s: canary in structured metadata %s of %s", tenant, k, id)
				}
			}
			// A GKE entry carries less than the event it came from (no
			// event annotations, no query string): some canaries never
			// reach kaudit in that shape.
			if e.Metadata["redacted"] == "" && !strings.HasSuffix(id, "-gke") {
				t.Errorf("%s: %s stored without redacted metadata", tenant, id)
			}
			if strings.Contains(e.Line, "[REDACTED] hmac=") {
				hashed++
			}
		}
		if (in["redact_hash_key"] != "") != (hashed > 0) {
			t.Errorf("%s: %d lines with a keyed hash", tenant, hashed)
		}
		for _, ev := range events {
			for _, shape := range ShapeNames {
				if id := fmt.Sprint(ev["auditID"], "-", shape); !seen[id] {
					t.Errorf("%s: %s missing", tenant, id)
				}
			}
		}
	}
}
