package policy

import (
	"testing"
)

// BenchmarkEvaluate measures the policy's cost per event with the seed's
// policy over a mix of requests that end at different rules (the last rule
// is the worst case: every rule is tried).
func BenchmarkEvaluate(b *testing.B) {
	p, err := LoadFile("../../conf/policy/seed.yaml")
	if err != nil {
		b.Fatal(err)
	}
	evs := []map[string]any{
		req{nonResource: true, uri: "/healthz", verb: "get"}.event(),
		req{user: "system:kube-scheduler", resource: "leases", group: "coordination.k8s.io", verb: "update", ns: "kube-system"}.event(),
		req{resource: "secrets", verb: "get", ns: "shop"}.event(),
		req{resource: "pods", verb: "create", ns: "shop"}.event(),
		req{resource: "configmaps", verb: "get", ns: "kube-system", groups: []string{"system:nodes", "system:authenticated"}}.event(),
	}
	for _, name := range []string{"healthz", "lease", "secret", "pod-create", "last-rule"} {
		ev := evs[0]
		evs = evs[1:]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d := p.Evaluate(ev)
				if d.Arrived != RequestResponse {
					b.Fatal(d)
				}
			}
		})
	}
}
