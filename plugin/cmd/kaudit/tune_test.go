package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/plugin/pipeline"
)

const benignCorpus = "../../../testdata/benign/cluster.jsonl"

// tune over the benign corpus proposes the CI deployer's roll-outs, whose
// proposal loads, silences that identity on that rule only, and leaves the
// rule firing for anyone else.
func TestTuneFiles(t *testing.T) {
	site := filepath.Join(t.TempDir(), "site.yaml")
	code, out, errOut := runT(t, "tune", "--min-hours", "1", "--write", site, benignCorpus)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Before: 63 of 4643 events (1.36%)",
		"workload_containers_patched              system:serviceaccount:ci:deployer",
		"Proposed exceptions: 1 (rule, identity) pairs.",
		"With the proposal, still firing: 15 of 4643 events",
		"Silenced: 48 of 63 events labelled medium or higher.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(site)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "alice@example.com") {
		t.Errorf("a person was proposed without --people:\n%s", data)
	}
	e, err := pipeline.LoadRules([]string{site})
	if err != nil {
		t.Fatalf("proposal does not load: %v", err)
	}
	patch := func(user string) map[string]any {
		return map[string]any{"stage": "ResponseComplete", "verb": "patch", "user": map[string]any{"username": user},
			"sourceIPs": []any{"10.244.5.77"}, "responseStatus": map[string]any{"code": 200},
			"objectRef":     map[string]any{"resource": "deployments", "namespace": "web", "name": "api", "apiGroup": "apps"},
			"requestObject": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "api", "image": "evil/backdoor:1"}}}}}}}
	}
	if got := e.Detect(patch("system:serviceaccount:ci:deployer"), nil).IDs(); got != "" {
		t.Errorf("the tuned identity still fires: %q", got)
	}
	if got := e.Detect(patch("system:serviceaccount:web:api"), nil).IDs(); got != "workload_containers_patched" {
		t.Errorf("another identity: %q, want workload_containers_patched", got)
	}
}

// tune reads history from Loki's query_range, page by page, with the
// tenant header, and never proposes a forgery rule however routine.
func TestTuneLoki(t *testing.T) {
	f, err := os.Open(benignCorpus)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	forged := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"f%d","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/nodes/w1","user":{"username":"system:node:w1"},"sourceIPs":["198.51.100.7","10.0.1.21"],"objectRef":{"resource":"nodes","name":"w1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-03-02T%02d:10:00Z"}`
	for i := 0; i < 30; i++ {
		lines = append(lines, fmt.Sprintf(forged, i, 8+i%3))
	}
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/loki/api/v1/query_range" || r.Header.Get("X-Scope-OrgID") != "team-a" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		queries = append(queries, r.URL.Query().Get("query"))
		// One page of everything; the client asks again only for a full page.
		var values [][2]string
		for i, l := range lines {
			values = append(values, [2]string{fmt.Sprint(1772438400000000000 + int64(i)), l})
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "streams",
			"result": []any{map[string]any{"stream": map[string]string{"job": "kube-audit"}, "values": values}}}})
	}))
	defer srv.Close()
	code, out, errOut := runT(t, "tune", "--loki", srv.URL, "-o", "tenant_id=team-a", "--min-hours", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if len(queries) != 1 || queries[0] != `{job="kube-audit"}` {
		t.Errorf("queries %q", queries)
	}
	if !strings.Contains(out, "forwarded_for_forged") || !strings.Contains(out, "system:serviceaccount:ci:deployer") {
		t.Errorf("report misses the forged kubelet or the deployer:\n%s", out)
	}
	proposal := out[strings.Index(out, "# Proposed by kaudit tune"):]
	if strings.Contains(proposal, "forwarded_for_forged") || !strings.Contains(proposal, "workload_containers_patched") {
		t.Errorf("proposal:\n%s", proposal)
	}
}
