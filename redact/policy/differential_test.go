package policy

import (
	"math/rand"
	"os/exec"
	"strings"
	"testing"

	audit "k8s.io/apiserver/pkg/apis/audit"
	k8spolicy "k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// attributes rebuilds from an event the authorizer.Attributes the API
// server evaluated its policy against, for the real evaluator.
func attributes(ev map[string]any) authorizer.AttributesRecord {
	var a authorizer.AttributesRecord
	a.Verb, _ = ev["verb"].(string)
	if u, ok := ev["user"].(map[string]any); ok {
		info := &user.DefaultInfo{}
		info.Name, _ = u["username"].(string)
		switch gs := u["groups"].(type) {
		case []any:
			for _, g := range gs {
				if s, ok := g.(string); ok {
					info.Groups = append(info.Groups, s)
				}
			}
		case []string:
			info.Groups = gs
		}
		a.User = info
	}
	if ref, ok := ev["objectRef"].(map[string]any); ok {
		a.ResourceRequest = true
		a.Namespace, _ = ref["namespace"].(string)
		a.APIGroup, _ = ref["apiGroup"].(string)
		a.APIVersion, _ = ref["apiVersion"].(string)
		a.Resource, _ = ref["resource"].(string)
		a.Subresource, _ = ref["subresource"].(string)
		a.Name, _ = ref["name"].(string)
	}
	uri, _ := ev["requestURI"].(string)
	a.Path, _, _ = strings.Cut(uri, "?")
	return a
}

// Vocabularies for policies and requests drawn from the same small sets, so
// that rules hit, nearly hit (pods vs pods/exec, /healthz vs /healthzx) and
// miss.
var (
	vUsers      = []string{"alice", "bob", "system:kube-scheduler", "system:anonymous", ""}
	vGroups     = []string{"system:authenticated", "system:nodes", "system:masters", "ops", ""}
	vVerbs      = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "bind", "post"}
	vNamespaces = []string{"", "default", "kube-system", "shop"}
	vAPIGroups  = []string{"", "apps", "rbac.authorization.k8s.io", "coordination.k8s.io"}
	vResources  = []string{"pods", "secrets", "deployments", "nodes", "leases", "scale", "exec"}
	vSubs       = []string{"", "", "exec", "log", "scale", "status", "token"}
	vSpecs      = []string{"pods", "pods/exec", "pods/*", "*/scale", "*/exec", "*", "secrets", "deployments", "deployments/scale", "nodes/status", "leases", "pods/", "/exec", "exec"}
	vNames      = []string{"", "a", "cluster-admin", "kube-scheduler"}
	vPaths      = []string{"/healthz", "/healthz/etcd", "/healthzx", "/livez", "/metrics", "/metrics/cadvisor", "/api", "/api/v1", "/apis/apps/v1", "/version", "/", ""}
	vURLSpecs   = []string{"/healthz*", "/healthz", "/metrics", "/api/*", "/api*", "*", "/", "/livez*", "/apis/*", "/h*"}
	vStages     = []audit.Stage{audit.StageRequestReceived, audit.StageResponseStarted, audit.StageResponseComplete, audit.StagePanic}
	vLevels     = []audit.Level{audit.LevelNone, audit.LevelMetadata, audit.LevelRequest, audit.LevelRequestResponse}
)

func some(r *rand.Rand, from []string, max int) []string {
	if r.Intn(2) == 0 {
		return nil
	}
	n := 1 + r.Intn(max)
	out := make([]string, n)
	for i := range out {
		out[i] = from[r.Intn(len(from))]
	}
	return out
}

func randomPolicy(r *rand.Rand) *audit.Policy {
	p := &audit.Policy{OmitManagedFields: r.Intn(2) == 0}
	for range r.Intn(3) {
		p.OmitStages = append(p.OmitStages, vStages[r.Intn(len(vStages))])
	}
	for range 1 + r.Intn(8) {
		pr := audit.PolicyRule{Level: vLevels[r.Intn(len(vLevels))], Users: some(r, vUsers, 2), UserGroups: some(r, vGroups, 2), Verbs: some(r, vVerbs, 3)}
		if r.Intn(3) == 0 {
			pr.Namespaces = some(r, vNamespaces, 2)
		}
		switch r.Intn(3) {
		case 0:
			for range 1 + r.Intn(2) {
				gr := audit.GroupResources{Group: append(vAPIGroups, "*")[r.Intn(len(vAPIGroups)+1)], Resources: some(r, vSpecs, 3)}
				if r.Intn(4) == 0 {
					gr.ResourceNames = some(r, vNames, 2)
				}
				pr.Resources = append(pr.Resources, gr)
			}
		case 1:
			pr.NonResourceURLs = some(r, vURLSpecs, 3)
		}
		for range r.Intn(2) {
			pr.OmitStages = append(pr.OmitStages, vStages[r.Intn(len(vStages))])
		}
		if r.Intn(3) == 0 {
			b := r.Intn(2) == 0
			pr.OmitManagedFields = &b
		}
		p.Rules = append(p.Rules, pr)
	}
	return p
}

func randomEvent(r *rand.Rand) map[string]any {
	ev := map[string]any{
		"verb":  vVerbs[r.Intn(len(vVerbs))],
		"stage": string(vStages[r.Intn(len(vStages))]),
		"level": string(vLevels[r.Intn(len(vLevels))]),
	}
	switch r.Intn(6) {
	case 0: // no user
	case 1:
		ev["user"] = map[string]any{"username": vUsers[r.Intn(len(vUsers))], "groups": some(r, vGroups, 3)} // []string
	default:
		var gs []any
		for _, g := range some(r, vGroups, 3) {
			gs = append(gs, g)
		}
		ev["user"] = map[string]any{"username": vUsers[r.Intn(len(vUsers))], "groups": gs}
	}
	if r.Intn(4) == 0 {
		ev["requestURI"] = vPaths[r.Intn(len(vPaths))] + []string{"", "?verbose", "?timeout=5s"}[r.Intn(3)]
		return ev
	}
	ref := map[string]any{"resource": vResources[r.Intn(len(vResources))], "apiVersion": "v1"}
	for k, vs := range map[string][]string{"namespace": vNamespaces, "apiGroup": vAPIGroups, "subresource": vSubs, "name": vNames} {
		if v := vs[r.Intn(len(vs))]; v != "" {
			ref[k] = v
		}
	}
	ev["objectRef"] = ref
	ev["requestURI"] = "/api/v1/" + ref["resource"].(string)
	return ev
}

// TestDifferential: the port decides exactly as the API server's own
// evaluator (k8s.io/apiserver/pkg/audit/policy) on many generated policies
// and requests: level, stage omission and omitManagedFields.
func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	policies, requests := 2000, 200
	if testing.Short() {
		policies = 200
	}
	levels := map[Level]int{}
	failures := 0
	for range policies {
		pol := randomPolicy(r)
		ours := compile(pol)
		real := k8spolicy.NewPolicyRuleEvaluator(pol.DeepCopy())
		for range requests {
			ev := randomEvent(r)
			got := ours.Evaluate(ev)
			rc := real.EvaluatePolicyRule(attributes(ev))
			want := Decision{Level: fromK8s(rc.Level), Arrived: fromK8s(audit.Level(ev["level"].(string))), OmitManagedFields: rc.OmitManagedFields}
			want.Level = min(want.Level, want.Arrived)
			for _, s := range rc.OmitStages {
				want.Omitted = want.Omitted || string(s) == ev["stage"]
			}
			levels[fromK8s(rc.Level)]++
			if got != want {
				failures++
				if failures <= 5 {
					t.Errorf("policy %+v\nevent %v\ngot %+v, the API server's evaluator %+v", pol, ev, got, want)
				}
			}
		}
	}
	if failures > 0 {
		t.Fatalf("%d of %d decisions differ", failures, policies*requests)
	}
	for l := None; l < NumLevels; l++ {
		if levels[l] < policies*requests/50 {
			t.Errorf("only %d requests at %s: the generator does not exercise the rules", levels[l], l)
		}
	}
	t.Logf("%d decisions identical; by level %v", policies*requests, levels)
}

// BenchmarkRealEvaluator is the API server's evaluator on the same requests
// as BenchmarkEvaluate, attributes included, for comparison.
func BenchmarkRealEvaluator(b *testing.B) {
	pol := seedPolicy(b)
	real := k8spolicy.NewPolicyRuleEvaluator(pol)
	for _, bc := range benchRequests() {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rc := real.EvaluatePolicyRule(attributes(bc.ev)); rc.Level == "x" {
					b.Fatal(rc)
				}
			}
		})
	}
}

// TestNoEvaluatorInTheBuild: the package (and so the .so) must not link the
// API server's evaluator package, whose import registers Go, process and
// apiserver_audit_* collectors in k8s.io/component-base's global registry.
func TestNoEvaluatorInTheBuild(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "k8s.io/apiserver/pkg/audit" || pkg == "k8s.io/apiserver/pkg/audit/policy" || strings.HasPrefix(pkg, "k8s.io/component-base") {
			t.Errorf("redact/policy links %s", pkg)
		}
	}
}
