package pipeline_test

import (
	"testing"

	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
)

// source_ip is the address the API server's connection came from, not an
// X-Forwarded-For entry the client wrote, and the forgery is labelled.
func TestSourceIPMetadataIgnoresForgedHeader(t *testing.T) {
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{})
	ev := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "f-1", "verb": "get", "stage": "ResponseComplete",
		"requestURI": "/api/v1/namespaces/web/pods",
		"user":       map[string]any{"username": "eve"}, "sourceIPs": []any{"10.0.0.7", "203.0.113.50"},
		"objectRef":      map[string]any{"resource": "pods", "namespace": "web"},
		"responseStatus": map[string]any{"code": 200},
	}
	_, labels, es := entriesFor(t, c, p, chunk(t, []map[string]any{ev}, fbchunk.Options{}))
	if md := es[0]["_meta"].(map[string]string); md["source_ip"] != "203.0.113.50" {
		t.Errorf("source_ip = %q, want the peer 203.0.113.50", md["source_ip"])
	}
	if labels[0] != `{detection="forwarded_for_forged", job="kube-audit", severity="high"}` {
		t.Errorf("labels %s", labels[0])
	}
}
