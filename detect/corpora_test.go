package detect_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCorpora pushes every event of the shared real-world corpora through
// Detect (no panic, consistent result) and checks what the default rules say
// about events whose meaning is known.
func TestCorpora(t *testing.T) {
	e := defaultEngine(t)
	lines := readCorpora(t)
	var decoded, matched, skipped int
	for _, l := range lines {
		ev, err := decodeEvent(l.raw)
		if err != nil {
			skipped++ // not a JSON object: the plugin decoder rejects such lines upstream
			continue
		}
		decoded++
		if inner, ok := ev["event"].(map[string]any); ok { // Panther test wrapper
			ev = inner
		}
		res := e.Detect(ev, nil)
		checkResult(t, res)
		if len(res.Matches) > 0 {
			matched++
		}
	}
	t.Logf("%d lines: %d decoded, %d with detections, %d skipped", len(lines), decoded, matched, skipped)
	if decoded == 0 {
		t.Fatal("nothing decoded")
	}
}

// Falco's captures, by line (the corpus is kept unchanged; auditIDs repeat
// in it), with the rules that must fire on them.
var falcoExpect = map[int]string{
	1:  "anonymous_request",         // namespace created as system:anonymous
	2:  "clusterrolebinding_create", // binding to cluster-admin
	3:  "pod_exec",                  // attach
	21: "privileged_pod_create",     // replicaset-controller creates a privileged pod
	44: "namespace_delete",
	48: "pod_exec", // exec
	52: "",         // same namespace creation as line 1, by an ordinary user
}

func TestFalcoCorpus(t *testing.T) {
	e := defaultEngine(t)
	seen := map[int]bool{}
	byKind := map[string]int{}
	for _, l := range readCorpora(t) {
		if l.file != "falco-k8s-audit-traces.jsonl" {
			continue
		}
		ev, err := decodeEvent(l.raw)
		if err != nil {
			continue
		}
		ids := e.Detect(ev, nil).IDs()
		if want, ok := falcoExpect[l.line]; ok {
			seen[l.line] = true
			if ids != want {
				t.Errorf("line %d: got %q, want %q", l.line, ids, want)
			}
		}
		for _, m := range strings.Split(ids, ",") {
			byKind[m]++
		}
	}
	for line := range falcoExpect {
		if !seen[line] {
			t.Errorf("line %d: not an event in the corpus", line)
		}
	}
	// The captures hold 3 privileged pods, 2 exec/attach sessions, 2
	// ClusterRoleBindings and 1 namespace deletion.
	for rule, n := range map[string]int{"privileged_pod_create": 3, "pod_exec": 2, "clusterrolebinding_create": 2, "namespace_delete": 1} {
		if byKind[rule] != n {
			t.Errorf("%s fired %d times, want %d", rule, byKind[rule], n)
		}
	}
}

// Panther's labelled tests whose label follows from the event's shape (not
// from Panther-specific exclusions such as "system principal" or "failed
// request", which kaudit deliberately does not copy): test name -> our rule
// and whether it must fire.
var pantherExpect = map[string]struct {
	rule string
	want bool
}{
	"EKS Exec Into Pod":                               {"pod_exec", true},
	"Pod Creation (Not Exec)":                         {"pod_exec", false},
	"Get Pod (Not Exec - no subresource)":             {"pod_exec", false},
	"EKS long-lived token created":                    {"serviceaccount_token_create", true},
	"User creating token in system namespace (alert)": {"serviceaccount_token_create", true},
	"System principal in user namespace (alert)":      {"serviceaccount_token_create", true},
	"System principal in system namespace (excluded)": {"serviceaccount_token_create", false},
	"Service account creation (not token)":            {"serviceaccount_token_create", false},
	"Get service account (not create)":                {"serviceaccount_token_create", false},
	"EKS MutatingWebhookConfiguration Created":        {"admission_webhook_change", true},
	"Different Resource Type":                         {"admission_webhook_change", false},
	"EKS ClusterRoleBinding to cluster-admin":         {"clusterrolebinding_create", true},
	"RoleBinding (not ClusterRoleBinding)":            {"clusterrolebinding_create", false},
	"Reading ClusterRoleBinding (not creating)":       {"clusterrolebinding_create", false},
	"EKS cluster-wide secret list":                    {"secret_list_all_namespaces", true},
	"Namespaced secret list (not cluster-wide)":       {"secret_list_all_namespaces", false},
	"Get single secret (not list)":                    {"secret_list_all_namespaces", false},
	"EKS Privileged Pod Created":                      {"privileged_pod_create", true},
	"Non-Privileged Pod Created":                      {"privileged_pod_create", false},
	"Run-As-Root Pod Created":                         {"privileged_pod_create", false},
	"Anonymous API Access":                            {"anonymous_request", true},
	"Anonymous API Access Web Scanner Allowed":        {"anonymous_request", true},
	"Anonymous API Access Web Scanner Denied":         {"anonymous_request", true},
	"Non-Anonymous API Access":                        {"anonymous_request", false},
	"kube-probe Health Check (excluded)":              {"anonymous_request", false},
	"ELB Health Checker (excluded)":                   {"anonymous_request", false},
}

func TestPantherCorpus(t *testing.T) {
	e := defaultEngine(t)
	seen := map[string]bool{}
	for _, l := range readCorpora(t) {
		if l.file != "panther-k8s-rule-tests.jsonl" {
			continue
		}
		var tc struct {
			Test  string          `json:"_test"`
			Event json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(l.raw, &tc); err != nil {
			t.Fatalf("line %d: %v", l.line, err)
		}
		exp, ok := pantherExpect[tc.Test]
		if !ok {
			continue
		}
		seen[tc.Test] = true
		ev, err := decodeEvent(tc.Event)
		if err != nil {
			t.Fatalf("line %d: %v", l.line, err)
		}
		got := false
		for _, m := range e.Detect(ev, nil).Matches {
			got = got || m.ID == exp.rule
		}
		if got != exp.want {
			t.Errorf("line %d %q: %s fired=%v, want %v", l.line, tc.Test, exp.rule, got, exp.want)
		}
	}
	for name := range pantherExpect {
		if !seen[name] {
			t.Errorf("test %q not in corpus", name)
		}
	}
}
