package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"system:node:*", "system:node:worker-1", true},
		{"system:node:*", "system:node:", true},
		{"system:node:*", "system:nodes", false},
		{"system:node:*", "xsystem:node:a", false},
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"/healthz?*", "/healthz?verbose", true},
		{"/healthz?*", "/healthz", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "a-b-b-c", true},
		{"a*b*c", "acb", false},
		{"ab*ba", "aba", false}, // prefix and suffix must not overlap
		{"*.example.com", "evil.example.com", true},
		{"*.example.com", "example.com", false},
		{"a**b", "ab", true},
	} {
		g := newGlob(tc.pat)
		if got := g.match(tc.s); got != tc.want {
			t.Errorf("glob %q on %q = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

func TestScalarNormalisation(t *testing.T) {
	for _, tc := range []struct {
		in   any
		kind kind
		str  string
		num  float64
	}{
		{"get", kindString, "get", 0},
		{"", kindAbsent, "", 0},
		{json.Number("403"), kindNumber, "403", 403},
		{int64(403), kindNumber, "403", 403},
		{uint64(403), kindNumber, "403", 403},
		{float64(403), kindNumber, "403", 403},
		{403, kindNumber, "403", 403},
		{true, kindBool, "true", 0},
		{nil, kindAbsent, "", 0},
		{[]byte("x"), kindAbsent, "", 0},
		{map[string]any{}, kindAbsent, "", 0},
		{[]any{"a"}, kindAbsent, "", 0},
	} {
		v := scalarOf(tc.in)
		if v.kind != tc.kind || v.str() != tc.str {
			t.Errorf("scalarOf(%#v) = kind %d %q, want %d %q", tc.in, v.kind, v.str(), tc.kind, tc.str)
		}
		if tc.kind == kindNumber {
			if n, ok := v.num(); !ok || n != tc.num {
				t.Errorf("scalarOf(%#v).num() = %v %v", tc.in, n, ok)
			}
		}
	}
}

// compileTest builds a one-rule condition the way the loader does.
func compileCond(t *testing.T, cond string, lists map[string][]string) matcher {
	t.Helper()
	var node any
	if err := strictDecode([]byte(cond), &node); err != nil {
		t.Fatal(err)
	}
	c := &compiler{lists: lists}
	m := c.block(node, "condition")
	if len(c.errs) > 0 {
		t.Fatalf("%s: %v", cond, c.errs)
	}
	return m
}

func TestOperators(t *testing.T) {
	ev := map[string]any{
		"verb":           "get",
		"requestURI":     "/api/v1/namespaces/kube-system/secrets/token-x",
		"user":           map[string]any{"username": "system:serviceaccount:ci:runner", "groups": []any{"system:serviceaccounts", "system:authenticated"}},
		"sourceIPs":      []any{"203.0.113.7", "10.0.0.1"},
		"objectRef":      map[string]any{"resource": "secrets", "namespace": "kube-system", "name": "token-x"},
		"responseStatus": map[string]any{"code": json.Number("403")},
		"annotations":    map[string]any{"authorization.k8s.io/decision": "forbid"},
	}
	lists := map[string][]string{"ci": {"system:serviceaccount:ci:*"}, "empty": {}}
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{`{"verb": "get"}`, true},
		{`{"verb": ["list", "get"]}`, true},
		{`{"verb": {"in": ["list"]}}`, false},
		{`{"verb": "GET"}`, false}, // case-sensitive, like the API server
		{`{"objectRef.resource": "secrets", "verb": "list"}`, false},
		{`{"user.username": {"glob": "system:serviceaccount:*:runner"}}`, true},
		{`{"user.username": {"prefix": ["system:node:", "system:serviceaccount:"]}}`, true},
		{`{"requestURI": {"regex": "/secrets/token-"}}`, true},
		{`{"requestURI": {"regex": "^/secrets"}}`, false},
		{`{"user.username": {"list": "ci"}}`, true},
		{`{"user.username": {"list": "empty"}}`, false},
		{`{"user.username": {"not": {"list": "empty"}}}`, true},
		{`{"user.groups": "system:authenticated"}`, true},
		{`{"user.groups": {"not": "system:masters"}}`, true},
		{`{"user.groups": {"not": "system:authenticated"}}`, false},
		{`{"sourceIPs": {"glob": "10.*"}}`, true},
		{`{"objectRef.namespace": {"absent": true}}`, false},
		{`{"objectRef.subresource": {"absent": true}}`, true},
		{`{"objectRef.subresource": {"absent": false}}`, false},
		{`{"objectRef.subresource": "exec"}`, false},
		{`{"objectRef.subresource": {"not": "exec"}}`, true},
		{`{"responseStatus.code": 403}`, true},
		{`{"responseStatus.code": "403"}`, true},
		{`{"responseStatus.code": 403.0}`, true},
		{`{"responseStatus.code": [401, 403]}`, true},
		{`{"responseStatus.code": {"gte": 400, "lt": 500}}`, true},
		{`{"responseStatus.code": {"gt": 403}}`, false},
		{`{"responseStatus.code": {"lte": 403}}`, true},
		{`{"responseStatus.code": {"glob": "4*"}}`, true},
		{`{"annotations[authorization.k8s.io/decision]": "forbid"}`, true},
		{`{"annotations[\"authorization.k8s.io/decision\"]": "forbid"}`, true},
		{`{"annotations[authorization.k8s.io/reason]": {"absent": true}}`, true},
		{`{"any": [{"verb": "list"}, {"verb": "get"}]}`, true},
		{`{"any": [{"verb": "list"}, {"verb": "watch"}]}`, false},
		{`{"all": [{"verb": "get"}, {"objectRef.resource": "secrets"}]}`, true},
		{`{"not": {"verb": "get"}}`, false},
		{`{"not": {"verb": "get", "objectRef.resource": "pods"}}`, true},
		{`{"pod.privileged": {"absent": true}}`, true},
		{`{"requestObject.kind": {"absent": true}}`, true},
	} {
		m := compileCond(t, tc.cond, lists)
		if got := m.match(newEvalCtx(ev)); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.cond, got, tc.want)
		}
	}
}

// TestHostileEvents: wrong types anywhere are absent values, never panics.
func TestHostileEvents(t *testing.T) {
	conds := []string{
		`{"verb": "get"}`, `{"user.groups": "x"}`, `{"sourceIPs": {"glob": "*"}}`,
		`{"responseStatus.code": {"gte": 1}}`, `{"pod.privileged": true}`, `{"rbac.verbs": "bind"}`,
		`{"annotations[a]": {"absent": true}}`, `{"objectRef.namespace": {"regex": "."}}`,
	}
	evs := []map[string]any{
		nil,
		{},
		{"verb": 5, "user": "alice", "objectRef": []any{"pods"}, "sourceIPs": "1.2.3.4", "annotations": "x"},
		{"user": map[string]any{"groups": []any{nil, 5, map[string]any{}, []any{"x"}, "x"}}},
		{"responseStatus": map[string]any{"code": "abc"}, "requestObject": "{\"kind\":\"Pod\"}"},
		{"objectRef": map[string]any{"resource": "pods"}, "requestObject": []any{"op", 5, map[string]any{"op": "add", "path": 5}}},
		{"objectRef": map[string]any{"resource": "roles"}, "requestObject": map[string]any{"rules": []any{5, map[string]any{"verbs": "bind"}, map[string]any{"verbs": []any{nil, "bind"}}}}},
		{"requestObject": map[string]any{"kind": "Pod", "spec": map[string]any{"containers": map[string]any{}, "initContainers": []any{"x", nil, map[string]any{"securityContext": "privileged"}}}}},
		{"requestObject": map[string]any{"kind": "CronJob", "spec": []any{}}},
	}
	for _, cond := range conds {
		m := compileCond(t, cond, nil)
		for i, ev := range evs {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s on event %d panicked: %v", cond, i, r)
					}
				}()
				m.match(newEvalCtx(ev))
			}()
		}
	}
	// The nested verbs list with a non-string element still finds "bind".
	if !compileCond(t, `{"rbac.verbs": "bind"}`, nil).match(newEvalCtx(evs[6])) {
		t.Error("rbac.verbs should skip junk elements and find bind")
	}
}

func TestPodPrivileged(t *testing.T) {
	priv := map[string]any{"name": "c", "securityContext": map[string]any{"privileged": true}}
	plain := map[string]any{"name": "c", "securityContext": map[string]any{"privileged": false}}
	spec := func(list string, c any) map[string]any { return map[string]any{list: []any{c}} }
	tmpl := func(s map[string]any) map[string]any { return map[string]any{"template": map[string]any{"spec": s}} }
	for _, tc := range []struct {
		name string
		ev   map[string]any
		want scalar
	}{
		{"pod", map[string]any{"requestObject": map[string]any{"kind": "Pod", "spec": spec("containers", priv)}}, valueTrue},
		{"pod init", map[string]any{"requestObject": map[string]any{"kind": "Pod", "spec": spec("initContainers", priv)}}, valueTrue},
		{"pod plain", map[string]any{"requestObject": map[string]any{"kind": "Pod", "spec": spec("containers", plain)}}, valueFalse},
		{"privileged string is not true", map[string]any{"requestObject": map[string]any{"kind": "Pod", "spec": spec("containers", map[string]any{"securityContext": map[string]any{"privileged": "true"}})}}, valueFalse},
		{"deployment", map[string]any{"requestObject": map[string]any{"kind": "Deployment", "spec": tmpl(spec("containers", priv))}}, valueTrue},
		{"job", map[string]any{"requestObject": map[string]any{"kind": "Job", "spec": tmpl(spec("containers", priv))}}, valueTrue},
		{"replicationcontroller", map[string]any{"requestObject": map[string]any{"kind": "ReplicationController", "spec": tmpl(spec("containers", priv))}}, valueTrue},
		{"cronjob", map[string]any{"requestObject": map[string]any{"kind": "CronJob", "spec": map[string]any{"jobTemplate": map[string]any{"spec": tmpl(spec("containers", priv))}}}}, valueTrue},
		{"podtemplate", map[string]any{"requestObject": map[string]any{"kind": "PodTemplate", "template": map[string]any{"spec": spec("containers", priv)}}}, valueTrue},
		{"deploymentconfig", map[string]any{"requestObject": map[string]any{"kind": "DeploymentConfig", "spec": tmpl(spec("containers", priv))}}, valueTrue},
		{"rollout", map[string]any{"requestObject": map[string]any{"kind": "Rollout", "spec": tmpl(spec("containers", priv))}}, valueTrue},
		{"rollout by workload reference", map[string]any{"requestObject": map[string]any{"kind": "Rollout", "spec": map[string]any{"workloadRef": map[string]any{"kind": "Deployment", "name": "web"}}}}, valueFalse},
		{"rollout patch by resource", map[string]any{"objectRef": map[string]any{"resource": "rollouts"}, "requestObject": map[string]any{"spec": tmpl(spec("containers", priv))}}, valueTrue},
		{"legacy ephemeralcontainers", map[string]any{"requestObject": map[string]any{"kind": "EphemeralContainers", "ephemeralContainers": []any{priv}}}, valueTrue},
		{"kind from resource", map[string]any{"objectRef": map[string]any{"resource": "daemonsets"}, "requestObject": map[string]any{"spec": tmpl(spec("containers", priv))}}, valueTrue},
		{"pod spec at wrong depth for kind", map[string]any{"requestObject": map[string]any{"kind": "Deployment", "spec": spec("containers", priv)}}, valueFalse},
		{"response when no request", map[string]any{"responseObject": map[string]any{"kind": "Pod", "spec": spec("ephemeralContainers", priv)}}, valueTrue},
		{"request wins over response", map[string]any{"requestObject": map[string]any{"kind": "Pod", "spec": spec("containers", plain)}, "responseObject": map[string]any{"kind": "Pod", "spec": spec("containers", priv)}}, valueFalse},
		{"delete options", map[string]any{"objectRef": map[string]any{"resource": "pods"}, "requestObject": map[string]any{"kind": "DeleteOptions"}}, scalar{}},
		{"configmap", map[string]any{"objectRef": map[string]any{"resource": "configmaps"}, "requestObject": map[string]any{"data": map[string]any{"privileged": true}}}, scalar{}},
		{"no body", map[string]any{"objectRef": map[string]any{"resource": "pods"}}, scalar{}},
		{"json patch privileged flag", jsonPatch("pods", "/spec/containers/0/securityContext/privileged", true), valueTrue},
		{"json patch privileged false", jsonPatch("pods", "/spec/containers/0/securityContext/privileged", false), valueFalse},
		{"json patch container", jsonPatch("deployments", "/spec/template/spec/initContainers/-", priv), valueTrue},
		{"json patch container list", jsonPatch("pods", "/spec/ephemeralContainers", []any{plain, priv}), valueTrue},
		{"json patch template", jsonPatch("deployments", "/spec/template", map[string]any{"spec": spec("containers", priv)}), valueTrue},
		{"json patch whole cronjob spec", jsonPatch("cronjobs", "/spec", map[string]any{"jobTemplate": map[string]any{"spec": tmpl(spec("containers", priv))}}), valueTrue},
		{"json patch root", jsonPatch("pods", "", map[string]any{"kind": "Pod", "spec": spec("containers", priv)}), valueTrue},
		{"json patch remove", map[string]any{"objectRef": map[string]any{"resource": "pods"}, "requestObject": []any{map[string]any{"op": "remove", "path": "/spec/containers/0/securityContext/privileged", "value": true}}}, valueFalse},
		{"json patch unrelated", jsonPatch("deployments", "/spec/replicas", json.Number("3")), valueFalse},
		{"json patch on configmap", jsonPatch("configmaps", "/data/privileged", true), scalar{}},
	} {
		if got := podPrivileged(tc.ev); got.kind != tc.want.kind || got.s != tc.want.s {
			t.Errorf("%s: got kind %d %q, want kind %d %q", tc.name, got.kind, got.s, tc.want.kind, tc.want.s)
		}
	}
}

func jsonPatch(resource, path string, val any) map[string]any {
	return map[string]any{
		"objectRef":     map[string]any{"resource": resource},
		"requestObject": []any{map[string]any{"op": "test", "path": "/metadata/name", "value": "x"}, map[string]any{"op": "add", "path": path, "value": val}},
	}
}

func TestRBACVerbs(t *testing.T) {
	rules := []any{map[string]any{"verbs": []any{"get"}}, map[string]any{"verbs": []any{"escalate"}}}
	m := compileCond(t, `{"rbac.verbs": ["bind", "escalate"]}`, nil)
	for _, tc := range []struct {
		name string
		ev   map[string]any
		want bool
	}{
		{"clusterrole", map[string]any{"requestObject": map[string]any{"kind": "ClusterRole", "rules": rules}}, true},
		{"role patch by resource", map[string]any{"objectRef": map[string]any{"resource": "roles"}, "requestObject": map[string]any{"rules": rules}}, true},
		{"binding is not a role", map[string]any{"requestObject": map[string]any{"kind": "ClusterRoleBinding", "rules": rules}}, false},
		{"kindless non-role", map[string]any{"objectRef": map[string]any{"resource": "configmaps"}, "requestObject": map[string]any{"rules": rules}}, false},
		{"read-only role", map[string]any{"requestObject": map[string]any{"kind": "Role", "rules": []any{map[string]any{"verbs": []any{"get", "list"}}}}}, false},
	} {
		if got := m.match(newEvalCtx(tc.ev)); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestIndex: a routine event is checked against few rules. This is what
// keeps Detect cheap; the exact buckets follow from default.yaml.
func TestIndex(t *testing.T) {
	e := loadDefaultInternal(t)
	bucket := func(verb, resource string) []string {
		ev := map[string]any{"verb": verb, "objectRef": map[string]any{"resource": resource}}
		vi, ok := e.verbIdx[e.verbF.get(ev, "").str()]
		if !ok {
			vi = len(e.verbIdx)
		}
		ri, ok := e.resIdx[e.resF.get(ev, "").str()]
		if !ok {
			ri = len(e.resIdx)
		}
		var ids []string
		for _, r := range e.table[vi*e.nRes+ri] {
			if r.step != nil {
				ids = append(ids, r.info.ID+"/after") // a sequence's earlier step
				continue
			}
			ids = append(ids, r.info.ID)
		}
		return ids
	}
	// Rules requiring a response code are skipped after one read of it.
	gates := map[string]string{}
	for _, r := range e.rules {
		if r.codeGate != nil {
			gates[r.info.ID] = fmt.Sprint(r.codeGate)
		}
	}
	for _, r := range e.steps {
		if r.codeGate != nil {
			gates[r.info.ID+"/after"] = fmt.Sprint(r.codeGate)
		}
	}
	for id, want := range map[string]string{"unauthenticated_request": "[401]", "brute_force_uri": "[401 403]", "forbidden_from_public_ip": "[403]", "forbidden_create": "[403]", "impersonation_after_refusal/after": "[403]"} {
		if gates[id] != want {
			t.Errorf("%s: code gate %q, want %q", id, gates[id], want)
		}
	}
	if _, ok := gates["secret_access_denied"]; ok {
		t.Error("secret_access_denied tests the code inside any: no gate may be derived")
	}
	// Rules naming no verb or resource (who calls, from where) are candidates
	// for every event; keep them few and cheap.
	everywhere := bucket("", "")
	if want := "[addon_credential_from_operator_network anonymous_request anonymous_request_denied brute_force_uri forbidden_burst_source forbidden_from_public_ip forwarded_for_forged impersonation impersonation_after_refusal impersonation_denied impersonation_privileged node_credential_public_ip offensive_user_agent system_credential_unusual_client system_masters_unknown system_principal_public_ip threat_source_ip unauthenticated_request unknown_system_user user_not_allowed impersonation_after_refusal/after]"; fmt.Sprint(everywhere) != want {
		t.Errorf("rules checked on every event: %v, want %s", everywhere, want)
	}
	for _, tc := range []struct {
		verb, resource string
		want           string
	}{
		{"get", "leases", "[]"},
		{"update", "leases", "[anonymous_write control_plane_lease_takeover node_lease_forged]"},
		{"watch", "configmaps", "[permission_enumeration]"}, // watch streams like list
		{"get", "pods", "[exec_service_account_token_read exec_suspicious_command kubectl_cp_from_pod pod_exec pod_exec_namespace_role pod_exec_repeated pod_log_burst pod_portforward pod_service_proxy privileged_request_after_refusal privileged_request_after_refusal/after]"},
		{"list", "secrets", "[permission_enumeration privileged_request_after_refusal secret_access_denied secret_list_all_namespaces secret_list_by_person secret_list_kube_system secret_list_namespace secret_read_after_refusals secret_read_unusual_client privileged_request_after_refusal/after secret_read_after_refusals/after]"},
		{"patch", "nodes", "[anonymous_write kubelet_nodes_proxy node_patch_unexpected]"},
		{"bind", "clusterroles", "[rbac_bind_escalate]"},
		{"escalate", "anything", "[rbac_bind_escalate]"},
	} {
		var specific []string
		for _, id := range bucket(tc.verb, tc.resource) {
			if !slices.Contains(everywhere, id) {
				specific = append(specific, id)
			}
		}
		if got := fmt.Sprint(specific); got != tc.want {
			t.Errorf("%s %s: candidates beyond the everywhere rules %s, want %s", tc.verb, tc.resource, got, tc.want)
		}
	}
}
