package detect_test

import (
	"testing"

	"github.com/kaudit/kaudit/detect"
)

func TestSourceIPStepsBackOverTrustedProxies(t *testing.T) {
	plain := defaultEngine(t)
	behindLB, err := detect.New(append(defaultSources(t), detect.ProxiesSource("trusted_proxies", []string{"10.0.0.0/24", "192.0.2.10"}))...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name            string
		ips             []any
		plain, behindLB string
	}{
		{"direct", []any{"203.0.113.5"}, "203.0.113.5", "203.0.113.5"},
		{"forged header, direct", []any{"10.1.2.3", "203.0.113.5"}, "203.0.113.5", "203.0.113.5"},
		{"through the load balancer", []any{"198.51.100.7", "10.0.0.4"}, "10.0.0.4", "198.51.100.7"},
		{"two trusted hops", []any{"198.51.100.7", "192.0.2.10", "10.0.0.4"}, "10.0.0.4", "198.51.100.7"},
		{"forged entry before the real client", []any{"10.9.9.9", "198.51.100.7", "10.0.0.4"}, "10.0.0.4", "198.51.100.7"},
		{"only trusted", []any{"10.0.0.4"}, "10.0.0.4", "10.0.0.4"},
	} {
		ev := map[string]any{"stage": "ResponseComplete", "verb": "get", "sourceIPs": tc.ips}
		if got := plain.SourceIP(ev); got != tc.plain {
			t.Errorf("%s: sourceIP %q, want %q", tc.name, got, tc.plain)
		}
		if got := behindLB.SourceIP(ev); got != tc.behindLB {
			t.Errorf("%s behind the load balancer: sourceIP %q, want %q", tc.name, got, tc.behindLB)
		}
		if got := behindLB.Detect(ev, nil).SourceIP; got != tc.behindLB {
			t.Errorf("%s: Result.SourceIP %q, want %q", tc.name, got, tc.behindLB)
		}
	}
	if _, err := detect.New(append(defaultSources(t), detect.ProxiesSource("trusted_proxies", []string{"lb.internal"}))...); err == nil {
		t.Error("a name in trusted_proxies must fail at load")
	}
}

// A kubelet with a forged public header is the private node it is (no
// public-address alarm) but carries a chain no kubelet sends; a stolen
// token from the internet claiming a private origin is seen as public.
func TestForgedForwardedFor(t *testing.T) {
	e := defaultEngine(t)
	kubelet := map[string]any{"stage": "ResponseComplete", "verb": "get", "user": map[string]any{"username": "system:node:worker-1"},
		"sourceIPs": []any{"198.51.100.77", "10.0.1.21"}, "objectRef": map[string]any{"resource": "nodes", "name": "worker-1"}, "responseStatus": map[string]any{"code": 200}}
	if got := e.Detect(kubelet, nil).IDs(); got != "forwarded_for_forged" {
		t.Errorf("kubelet with a forged public header: %q, want forwarded_for_forged only", got)
	}
	stolen := map[string]any{"stage": "ResponseComplete", "verb": "list", "user": map[string]any{"username": "system:serviceaccount:web:api"},
		"sourceIPs": []any{"10.0.0.7", "203.0.113.50"}, "objectRef": map[string]any{"resource": "pods", "namespace": "web"}, "responseStatus": map[string]any{"code": 200}}
	if got := e.Detect(stolen, nil).IDs(); got != "forwarded_for_forged,system_principal_public_ip" {
		t.Errorf("stolen token with a private header: %q", got)
	}
	// A rotating forged header no longer splits the 403 burst.
	burst := 0
	for i := 0; i < 25; i++ {
		ev := map[string]any{"stage": "ResponseComplete", "verb": "get", "user": map[string]any{"username": "mallory@example.com"},
			"requestReceivedTimestamp": "2025-06-02T10:00:00Z",
			"sourceIPs":                []any{"10.0.0." + string(rune('0'+i%10)), "198.51.100.9"}, "responseStatus": map[string]any{"code": 403}}
		for _, m := range e.Detect(ev, nil).Matches {
			if m.ID == "forbidden_burst_source" {
				burst++
			}
		}
	}
	if burst == 0 {
		t.Error("forbidden_burst_source never fired for 25 refusals from one peer behind rotating headers")
	}
}
