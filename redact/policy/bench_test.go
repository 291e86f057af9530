package policy

import (
	"os"
	"testing"

	audit "k8s.io/apiserver/pkg/apis/audit"
)

func seedPolicy(b *testing.B) *audit.Policy {
	data, err := os.ReadFile("../../conf/policy/tiered.yaml")
	if err != nil {
		b.Fatal(err)
	}
	pol, err := decode(data)
	if err != nil {
		b.Fatal(err)
	}
	return pol
}

type benchRequest struct {
	name string
	ev   map[string]any
}

// benchRequests end at different rules of the seed's policy; the last one
// is the worst case: every rule is tried.
func benchRequests() []benchRequest {
	return []benchRequest{
		{"healthz", req{nonResource: true, uri: "/healthz", verb: "get"}.event()},
		{"lease", req{user: "system:kube-scheduler", resource: "leases", group: "coordination.k8s.io", verb: "update", ns: "kube-system"}.event()},
		{"secret", req{resource: "secrets", verb: "get", ns: "shop"}.event()},
		{"pod-create", req{resource: "pods", verb: "create", ns: "shop"}.event()},
		{"last-rule", req{resource: "configmaps", verb: "get", ns: "kube-system", groups: []string{"system:nodes", "system:authenticated"}}.event()},
	}
}

// BenchmarkEvaluate is the policy's cost per event with the seed's policy.
func BenchmarkEvaluate(b *testing.B) {
	p := compile(seedPolicy(b))
	for _, bc := range benchRequests() {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := p.Evaluate(bc.ev); d.Arrived != RequestResponse {
					b.Fatal(d)
				}
			}
		})
	}
}
