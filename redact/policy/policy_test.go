package policy

import (
	"github.com/kaudit/kaudit/testdata"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// req describes a request the way the audit event records it.
type req struct {
	user, verb, group, resource, sub, ns, name, uri, level, stage string
	groups                                                        []string
	nonResource                                                   bool
}

func (r req) event() map[string]any {
	gs := make([]any, len(r.groups))
	for i, g := range r.groups {
		gs[i] = g
	}
	ev := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a1",
		"level": or(r.level, "RequestResponse"), "stage": or(r.stage, "ResponseComplete"),
		"verb": or(r.verb, "get"), "user": map[string]any{"username": or(r.user, "alice"), "groups": gs},
		"requestURI": r.uri,
	}
	if !r.nonResource {
		ref := map[string]any{"resource": or(r.resource, "pods"), "apiVersion": "v1"}
		for k, v := range map[string]string{"apiGroup": r.group, "subresource": r.sub, "namespace": r.ns, "name": r.name} {
			if v != "" {
				ref[k] = v
			}
		}
		ev["objectRef"] = ref
	}
	return ev
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func mustLoad(t testing.TB, y string) *Policy {
	t.Helper()
	p, err := Load([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\n" + y))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

// TestMatching covers each matching rule of the Policy API, one policy and
// request per case; the level is what the rule gives or None (no match).
func TestMatching(t *testing.T) {
	const hit = "rules:\n- level: Request\n"
	cases := []struct {
		name   string
		policy string
		req    req
		want   Level
	}{
		{"no rule matches means None", "rules:\n- level: Request\n  verbs: [create]\n", req{verb: "get"}, None},
		{"empty rule matches everything", hit, req{}, Request},
		{"first match wins", "rules:\n- level: Metadata\n  verbs: [get]\n- level: Request\n", req{verb: "get"}, Metadata},
		{"first match wins, later rule", "rules:\n- level: Metadata\n  verbs: [get]\n- level: Request\n", req{verb: "list"}, Request},

		{"users: listed", hit + "  users: [alice]\n", req{user: "alice"}, Request},
		{"users: not listed", hit + "  users: [bob]\n", req{user: "alice"}, None},
		{"users: a group name is not a user", hit + "  users: [system:masters]\n", req{user: "alice", groups: []string{"system:masters"}}, None},
		{"userGroups: any group", hit + "  userGroups: [ops, system:masters]\n", req{groups: []string{"system:authenticated", "system:masters"}}, Request},
		{"userGroups: a user name is not a group", hit + "  userGroups: [alice]\n", req{user: "alice", groups: []string{"system:authenticated"}}, None},
		{"users and userGroups both required", hit + "  users: [alice]\n  userGroups: [ops]\n", req{user: "alice", groups: []string{"dev"}}, None},
		{"users and userGroups both met", hit + "  users: [alice]\n  userGroups: [ops]\n", req{user: "alice", groups: []string{"ops"}}, Request},

		{"verbs: listed", hit + "  verbs: [create, patch]\n", req{verb: "patch"}, Request},
		{"verbs: not listed", hit + "  verbs: [create, patch]\n", req{verb: "update"}, None},

		{"resources: group and resource", hit + "  resources:\n  - group: apps\n    resources: [deployments]\n", req{group: "apps", resource: "deployments"}, Request},
		{"resources: other group", hit + "  resources:\n  - group: apps\n    resources: [deployments]\n", req{group: "extensions", resource: "deployments"}, None},
		{"resources: empty group is core only", hit + "  resources:\n  - group: \"\"\n    resources: [pods]\n", req{group: "apps", resource: "pods"}, None},
		{"resources: group \"*\"", hit + "  resources:\n  - group: \"*\"\n    resources: [pods]\n", req{group: "example.com", resource: "pods"}, Request},
		{"resources: group without resources is the whole group", hit + "  resources:\n  - group: rbac.authorization.k8s.io\n", req{group: "rbac.authorization.k8s.io", resource: "roles"}, Request},
		{"resources: pods does not match pods/exec", hit + "  resources:\n  - resources: [pods]\n", req{resource: "pods", sub: "exec"}, None},
		{"resources: pods/exec matches pods/exec", hit + "  resources:\n  - resources: [pods/exec]\n", req{resource: "pods", sub: "exec"}, Request},
		{"resources: pods/exec does not match pods", hit + "  resources:\n  - resources: [pods/exec]\n", req{resource: "pods"}, None},
		{"resources: pods/* matches pods/log", hit + "  resources:\n  - resources: [pods/*]\n", req{resource: "pods", sub: "log"}, Request},
		{"resources: pods/* matches pods itself", hit + "  resources:\n  - resources: [pods/*]\n", req{resource: "pods"}, Request},
		{"resources: pods/* does not match nodes/proxy", hit + "  resources:\n  - resources: [pods/*]\n", req{resource: "nodes", sub: "proxy"}, None},
		{"resources: */scale matches deployments/scale", hit + "  resources:\n  - group: \"*\"\n    resources: [\"*/scale\"]\n", req{group: "apps", resource: "deployments", sub: "scale"}, Request},
		{"resources: */scale does not match deployments", hit + "  resources:\n  - group: \"*\"\n    resources: [\"*/scale\"]\n", req{group: "apps", resource: "deployments"}, None},
		{"resources: \"*\" matches subresources too", hit + "  resources:\n  - resources: [\"*\"]\n", req{resource: "pods", sub: "exec"}, Request},
		{"resourceNames: listed", hit + "  resources:\n  - resources: [configmaps]\n    resourceNames: [cluster-info]\n", req{resource: "configmaps", name: "cluster-info"}, Request},
		{"resourceNames: other name", hit + "  resources:\n  - resources: [configmaps]\n    resourceNames: [cluster-info]\n", req{resource: "configmaps", name: "app"}, None},
		{"resourceNames: list has no name", hit + "  resources:\n  - resources: [configmaps]\n    resourceNames: [cluster-info]\n", req{resource: "configmaps", verb: "list"}, None},
		{"resources never match a non-resource request", hit + "  resources:\n  - group: \"*\"\n", req{nonResource: true, uri: "/api"}, None},

		{"namespaces: listed", hit + "  namespaces: [kube-system]\n", req{ns: "kube-system"}, Request},
		{"namespaces: other", hit + "  namespaces: [kube-system]\n", req{ns: "default"}, None},
		{"namespaces: \"\" is cluster-scoped", hit + "  namespaces: [\"\"]\n", req{resource: "nodes", name: "n1"}, Request},
		{"namespaces: \"\" is not a namespaced object", hit + "  namespaces: [\"\"]\n", req{ns: "default"}, None},
		{"namespaces never match a non-resource request", hit + "  namespaces: [\"\"]\n", req{nonResource: true, uri: "/version"}, None},

		{"nonResourceURLs: exact", hit + "  nonResourceURLs: [/metrics]\n", req{nonResource: true, uri: "/metrics"}, Request},
		{"nonResourceURLs: exact is not a prefix", hit + "  nonResourceURLs: [/metrics]\n", req{nonResource: true, uri: "/metrics/cadvisor"}, None},
		{"nonResourceURLs: /healthz* prefix", hit + "  nonResourceURLs: [/healthz*]\n", req{nonResource: true, uri: "/healthz/etcd"}, Request},
		{"nonResourceURLs: /healthz* itself", hit + "  nonResourceURLs: [/healthz*]\n", req{nonResource: true, uri: "/healthz"}, Request},
		{"nonResourceURLs: the query string is not part of the path", hit + "  nonResourceURLs: [/healthz]\n", req{nonResource: true, uri: "/healthz?verbose"}, Request},
		{"nonResourceURLs: /healthz* does not match /livez", hit + "  nonResourceURLs: [/healthz*]\n", req{nonResource: true, uri: "/livez"}, None},
		{"nonResourceURLs: never a resource request", hit + "  nonResourceURLs: [\"*\"]\n", req{resource: "pods", uri: "/api/v1/pods"}, None},
		{"nonResourceURLs: \"*\"", hit + "  nonResourceURLs: [\"*\"]\n", req{nonResource: true, uri: "/openapi/v3"}, Request},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustLoad(t, c.policy)
			if got := p.Evaluate(c.req.event()).Level; got != c.want {
				t.Errorf("level = %s, want %s", got, c.want)
			}
		})
	}
}

func TestStagesAndManagedFields(t *testing.T) {
	cases := []struct {
		name          string
		policy        string
		stage         string
		omitted, omf  bool
		level, arrive Level
	}{
		{"rule omits its stage", "rules:\n- level: Metadata\n  omitStages: [RequestReceived]\n", "RequestReceived", true, false, Metadata, RequestResponse},
		{"rule omits another stage", "rules:\n- level: Metadata\n  omitStages: [RequestReceived]\n", "ResponseComplete", false, false, Metadata, RequestResponse},
		{"policy-wide omission applies to every rule", "omitStages: [ResponseStarted]\nrules:\n- level: Metadata\n  omitStages: [RequestReceived]\n", "ResponseStarted", true, false, Metadata, RequestResponse},
		{"policy-wide and rule omissions add up", "omitStages: [ResponseStarted]\nrules:\n- level: Metadata\n  omitStages: [RequestReceived]\n", "RequestReceived", true, false, Metadata, RequestResponse},
		{"omitManagedFields policy-wide", "omitManagedFields: true\nrules:\n- level: Request\n", "ResponseComplete", false, true, Request, RequestResponse},
		{"omitManagedFields rule overrides policy (off)", "omitManagedFields: true\nrules:\n- level: Request\n  omitManagedFields: false\n", "ResponseComplete", false, false, Request, RequestResponse},
		{"omitManagedFields rule overrides policy (on)", "rules:\n- level: Request\n  omitManagedFields: true\n", "ResponseComplete", false, true, Request, RequestResponse},
		{"never above the level it arrived with", "rules:\n- level: RequestResponse\n", "ResponseComplete", false, false, Metadata, Metadata},
		{"lowered below the level it arrived with", "rules:\n- level: Metadata\n", "ResponseComplete", false, false, Metadata, Request},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustLoad(t, c.policy).Evaluate(req{stage: c.stage, level: c.arrive.String()}.event())
			if d.Omitted != c.omitted || d.OmitManagedFields != c.omf || d.Level != c.level || d.Arrived != c.arrive {
				t.Errorf("decision = %+v, want level %s arrived %s omitted %t omitManagedFields %t", d, c.level, c.arrive, c.omitted, c.omf)
			}
			if d.Drop() != c.omitted {
				t.Errorf("Drop() = %t, want %t", d.Drop(), c.omitted)
			}
		})
	}
}

func TestStore(t *testing.T) {
	obj := func() map[string]any {
		return map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p", "managedFields": []any{map[string]any{"manager": "kubectl"}}}, "spec": map[string]any{}}
	}
	list := func() map[string]any {
		return map[string]any{"kind": "PodList", "metadata": map[string]any{}, "items": []any{obj(), obj()}}
	}
	full := func(level string) map[string]any {
		return map[string]any{"level": level, "verb": "create", "requestObject": obj(), "responseObject": list()}
	}
	hasMF := func(o any) bool {
		m, _ := o.(map[string]any)
		if md, ok := m["metadata"].(map[string]any); ok && md["managedFields"] != nil {
			return true
		}
		items, _ := m["items"].([]any)
		for _, it := range items {
			if md, ok := it.(map[string]any)["metadata"].(map[string]any); ok && md["managedFields"] != nil {
				return true
			}
		}
		return false
	}
	cases := []struct {
		name           string
		arrived        string
		d              Decision
		wantLevel      any
		req, resp, omf bool // kept requestObject, responseObject, managedFields
	}{
		{"RequestResponse keeps both", "RequestResponse", Decision{Level: RequestResponse, Arrived: RequestResponse}, "RequestResponse", true, true, true},
		{"Request strips the response", "RequestResponse", Decision{Level: Request, Arrived: RequestResponse}, "Request", true, false, true},
		{"Metadata strips both", "RequestResponse", Decision{Level: Metadata, Arrived: RequestResponse}, "Metadata", false, false, false},
		{"omitManagedFields on object and list items", "RequestResponse", Decision{Level: RequestResponse, Arrived: RequestResponse, OmitManagedFields: true}, "RequestResponse", true, true, false},
		{"level unchanged when not lowered", "Request", Decision{Level: Request, Arrived: Request}, "Request", true, false, true},
		{"absent level is set when stripped", "", Decision{Level: Metadata, Arrived: RequestResponse}, "Metadata", false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := full(c.arrived)
			if c.arrived == "" {
				delete(ev, "level")
			}
			Store(ev, c.d)
			if ev["level"] != c.wantLevel {
				t.Errorf("level = %v, want %v", ev["level"], c.wantLevel)
			}
			if _, ok := ev["requestObject"]; ok != c.req {
				t.Errorf("requestObject kept = %t, want %t", ok, c.req)
			}
			if _, ok := ev["responseObject"]; ok != c.resp {
				t.Errorf("responseObject kept = %t, want %t", ok, c.resp)
			}
			if got := hasMF(ev["requestObject"]) || hasMF(ev["responseObject"]); got != c.omf {
				t.Errorf("managedFields kept = %t, want %t", got, c.omf)
			}
		})
	}
}

func TestKeep(t *testing.T) {
	d := Decision{Level: None, Arrived: RequestResponse}.Keep()
	if d.Drop() || d.Level != Metadata {
		t.Errorf("Keep of None = %+v, want Metadata kept", d)
	}
	d = Decision{Level: Request, Arrived: RequestResponse, Omitted: true}.Keep()
	if d.Drop() || d.Level != Request {
		t.Errorf("Keep of an omitted stage = %+v, want Request kept", d)
	}
}

// TestLoadStrict: every problem stops loading with the API server's own
// message, including those the API server would only warn about.
func TestLoadStrict(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field in a rule", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  verb: [get]\n", `strict decoding error: unknown field "rules[0].verb"`},
		{"unknown top-level field", "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStage: [RequestReceived]\nrules:\n- level: None\n", `unknown field "omitStage"`},
		{"duplicate field", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  level: Metadata\n", `line 5: key "level" already set in map`},
		{"bad level", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n", `rules[0].level: Unsupported value: "Everything"`},
		{"bad stage", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  omitStages: [Done]\n", `rules[0].omitStages[0]: Invalid value: "Done": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic`},
		{"resources and nonResourceURLs together", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [/x]\n  resources:\n  - group: \"\"\n", `rules cannot apply to both regular resources and non-resource URLs`},
		{"non-resource URL without slash", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [healthz]\n", `non-resource URL rules must begin with a '/' character`},
		{"wildcard inside a URL", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [/a*/b]\n", `non-resource URL wildcards`},
		{"no rules", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n", `loaded illegal policy with 0 rules`},
		{"old version", "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n", `audit.k8s.io/v1beta1`},
		{"not a policy", "apiVersion: v1\nkind: ConfigMap\n", `failed decoding`},
		{"no kind", "rules:\n- level: None\n", `failed decoding`},
		{"not yaml", "{", `failed decoding`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load([]byte(c.doc))
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %q, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestShippedPolicies loads every file of conf/policy and checks the
// decisions users rely on.
func TestShippedPolicies(t *testing.T) {
	files, _ := filepath.Glob("../../conf/policy/*.yaml")
	if len(files) < 2 {
		t.Fatalf("conf/policy: %d files, want tiered.yaml and managed-cluster.yaml", len(files))
	}
	for _, f := range files {
		if _, err := LoadFile(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	type want struct {
		req   req
		level Level
		drop  bool
	}
	checks := map[string][]want{
		"tiered.yaml": {
			{req{nonResource: true, uri: "/healthz/poststarthook/x", verb: "get"}, None, true},
			{req{nonResource: true, uri: "/metrics", verb: "get"}, None, true},
			{req{resource: "events", verb: "list"}, None, true},
			{req{resource: "pods", verb: "watch"}, None, true},
			{req{user: "system:kube-scheduler", resource: "leases", group: "coordination.k8s.io", verb: "get", ns: "kube-system"}, None, true},
			{req{user: "system:kube-scheduler", resource: "leases", group: "coordination.k8s.io", verb: "update", ns: "kube-system"}, Metadata, false},
			{req{resource: "secrets", verb: "get", ns: "shop"}, RequestResponse, false},
			{req{resource: "secrets", verb: "get", ns: "shop", stage: "RequestReceived"}, RequestResponse, true},
			{req{resource: "clusterrolebindings", group: "rbac.authorization.k8s.io", verb: "create"}, RequestResponse, false},
			{req{resource: "serviceaccounts", sub: "token", verb: "create", ns: "shop"}, RequestResponse, false},
			{req{resource: "pods", verb: "create", ns: "shop"}, Request, false},
			{req{resource: "pods", sub: "exec", verb: "create", ns: "shop"}, Request, false},
			{req{resource: "pods", sub: "log", verb: "get", ns: "shop"}, Metadata, false},
			{req{resource: "pods", verb: "get", ns: "shop"}, Metadata, false},
			{req{resource: "deployments", group: "apps", verb: "patch", ns: "shop"}, Request, false},
			{req{resource: "mutatingwebhookconfigurations", group: "admissionregistration.k8s.io", verb: "patch"}, Request, false},
			{req{resource: "namespaces", verb: "delete", name: "shop"}, Request, false},
			{req{resource: "configmaps", verb: "get", ns: "kube-system"}, Metadata, false},
			{req{resource: "configmaps", verb: "get", ns: "kube-system", stage: "RequestReceived"}, Metadata, true},
		},
		"managed-cluster.yaml": {
			{req{nonResource: true, uri: "/readyz", verb: "get"}, None, true},
			{req{nonResource: true, uri: "/apis/apps/v1", verb: "get"}, None, true},
			{req{resource: "pods", verb: "watch"}, None, true},
			{req{user: "system:node:n1", groups: []string{"system:nodes"}, resource: "leases", group: "coordination.k8s.io", verb: "update", ns: "kube-node-lease"}, None, true},
			{req{user: "mallory", groups: []string{"system:authenticated"}, resource: "nodes", sub: "status", verb: "patch"}, Request, false},
			{req{resource: "secrets", verb: "get", ns: "shop"}, Metadata, false},
			{req{resource: "secrets", verb: "create", ns: "shop"}, Metadata, false},
			{req{resource: "serviceaccounts", sub: "token", verb: "create", ns: "shop"}, Metadata, false},
			{req{resource: "clusterrolebindings", group: "rbac.authorization.k8s.io", verb: "create"}, RequestResponse, false},
			{req{resource: "clusterroles", group: "rbac.authorization.k8s.io", verb: "get"}, Metadata, false},
			{req{resource: "pods", verb: "create", ns: "shop"}, Request, false},
			{req{resource: "pods", verb: "list"}, Metadata, false},
			{req{resource: "pods", verb: "list", stage: "RequestReceived"}, Metadata, true},
		},
	}
	for file, ws := range checks {
		p, err := LoadFile(filepath.Join("../../conf/policy", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			d := p.Evaluate(w.req.event())
			if d.Level != w.level || d.Drop() != w.drop {
				t.Errorf("%s: %+v: level %s drop %t, want %s drop %t", file, w.req, d.Level, d.Drop(), w.level, w.drop)
			}
		}
	}
}

// TestSeedVerbatim: conf/policy/tiered.yaml is the article's policy
// (testdata/article/audit-policy.txt, as the article's text renders it);
// only indentation differs, so its non-blank lines trimmed equal the
// article's.
func TestSeedVerbatim(t *testing.T) {
	article, err := os.ReadFile(testdata.Dir(t, "article", "audit-policy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(article)
	start, end := strings.Index(s, "# /etc/kubernetes/audit-policy.yaml"), len(s)
	if start < 0 {
		t.Fatal("article text: policy not found")
	}
	ours, err := os.ReadFile("../../conf/policy/tiered.yaml")
	if err != nil {
		t.Fatal(err)
	}
	trim := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- ")); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	o := string(ours)
	o = o[strings.Index(o, "# /etc/kubernetes/audit-policy.yaml"):]
	if got, want := trim(o), trim(s[start:end]); !reflect.DeepEqual(got, want) {
		t.Errorf("tiered.yaml differs from the article:\n got %q\nwant %q", got, want)
	}
}

// Store's changed is what a caller relies on to pass an event on from its
// input bytes: it must be true whenever the event differs afterwards, and
// false only when it is the same.
func TestStoreReportsChange(t *testing.T) {
	obj := func(mf bool) map[string]any {
		md := map[string]any{"name": "p"}
		if mf {
			md["managedFields"] = []any{map[string]any{"manager": "kubectl"}}
		}
		return map[string]any{"kind": "Pod", "metadata": md}
	}
	events := []func() map[string]any{
		func() map[string]any { return map[string]any{"level": "Metadata", "verb": "get"} },
		func() map[string]any { return map[string]any{"verb": "get"} },
		func() map[string]any {
			return map[string]any{"level": "RequestResponse", "requestObject": obj(false), "responseObject": obj(false)}
		},
		func() map[string]any {
			return map[string]any{"level": "RequestResponse", "requestObject": obj(true), "responseObject": map[string]any{"kind": "PodList", "items": []any{obj(false), obj(true)}}}
		},
		func() map[string]any { return map[string]any{"level": "Request", "requestObject": obj(false)} },
		func() map[string]any { return map[string]any{"level": "Bogus", "requestObject": "x"} },
	}
	n := 0
	for i, mk := range events {
		for arrived := None; arrived <= RequestResponse; arrived++ {
			for level := None; level <= RequestResponse; level++ {
				for _, omf := range []bool{false, true} {
					ev, before := mk(), mk()
					d := Decision{Level: min(level, arrived), Arrived: arrived, OmitManagedFields: omf}
					changed := Store(ev, d)
					if differs := !reflect.DeepEqual(ev, before); changed != differs {
						t.Errorf("event %d, %+v: changed = %t, event differs = %t", i, d, changed, differs)
					}
					if !changed {
						n++
					}
				}
			}
		}
	}
	if n == 0 {
		t.Error("no case left an event as it was")
	}
}
