package detect_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"

	"github.com/kaudit/kaudit/detect"
)

// routineMix approximates a control plane's audit stream: mostly lease
// renewals, reads and status writes by system identities, a few creates,
// one exec. Weights are repetitions.
var routineMix = []struct {
	weight int
	json   string
}{
	{4, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager?timeout=5s","verb":"get","user":{"username":"system:kube-controller-manager","groups":["system:authenticated"]},"sourceIPs":["10.0.0.10"],"userAgent":"kube-controller-manager/v1.31.2","objectRef":{"resource":"leases","namespace":"kube-system","name":"kube-controller-manager","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}`},
	{3, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler?timeout=5s","verb":"update","user":{"username":"system:kube-scheduler","groups":["system:authenticated"]},"sourceIPs":["10.0.0.10"],"userAgent":"kube-scheduler/v1.31.2","objectRef":{"resource":"leases","namespace":"kube-system","name":"kube-scheduler","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{5, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a3","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-3?timeout=10s","verb":"update","user":{"username":"system:node:worker-3","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.1.13"],"userAgent":"kubelet/v1.31.2","objectRef":{"resource":"leases","namespace":"kube-node-lease","name":"worker-3","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{3, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a4","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/monitoring/configmaps/prometheus-config","verb":"get","user":{"username":"system:serviceaccount:monitoring:prometheus","groups":["system:serviceaccounts","system:serviceaccounts:monitoring","system:authenticated"]},"sourceIPs":["10.2.3.4"],"userAgent":"prometheus/2.53","objectRef":{"resource":"configmaps","namespace":"monitoring","name":"prometheus-config","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{2, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a5","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500","verb":"list","user":{"username":"system:kube-scheduler","groups":["system:authenticated"]},"sourceIPs":["10.0.0.10"],"userAgent":"kube-scheduler/v1.31.2","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{2, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a6","stage":"ResponseComplete","requestURI":"/api/v1/pods?watch=true","verb":"watch","user":{"username":"system:kube-scheduler","groups":["system:authenticated"]},"sourceIPs":["10.0.0.10"],"userAgent":"kube-scheduler/v1.31.2","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{3, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a7","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/pods/api-0","verb":"get","user":{"username":"system:node:worker-3","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.1.13"],"userAgent":"kubelet/v1.31.2","objectRef":{"resource":"pods","namespace":"web","name":"api-0","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{3, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a8","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/pods/api-0/status","verb":"patch","user":{"username":"system:node:worker-3","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.1.13"],"userAgent":"kubelet/v1.31.2","objectRef":{"resource":"pods","namespace":"web","name":"api-0","subresource":"status","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestObject":{"status":{"conditions":[{"type":"Ready","status":"True"}]}}}`},
	{2, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a9","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/events","verb":"create","user":{"username":"system:node:worker-3","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.1.13"],"userAgent":"kubelet/v1.31.2","objectRef":{"resource":"events","namespace":"web","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201}}`},
	{2, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a10","stage":"ResponseComplete","requestURI":"/api/v1/nodes/worker-3/status?timeout=10s","verb":"patch","user":{"username":"system:node:worker-3","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.1.13"],"userAgent":"kubelet/v1.31.2","objectRef":{"resource":"nodes","name":"worker-3","subresource":"status","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{2, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a11","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/serviceaccounts/api/token","verb":"create","user":{"username":"system:node:worker-3","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.1.13"],"userAgent":"kubelet/v1.31.2","objectRef":{"resource":"serviceaccounts","namespace":"web","name":"api","subresource":"token","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201}}`},
	{1, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a12","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/pods","verb":"create","user":{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},"sourceIPs":["10.0.0.10"],"userAgent":"kube-controller-manager/v1.31.2","objectRef":{"resource":"pods","namespace":"web","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"generateName":"api-7d9f8-","namespace":"web"},"spec":{"containers":[{"name":"api","image":"ghcr.io/example/api:2.3.1","securityContext":{"allowPrivilegeEscalation":false,"runAsNonRoot":true}},{"name":"proxy","image":"envoyproxy/envoy:v1.30.2"}],"initContainers":[{"name":"migrate","image":"ghcr.io/example/api:2.3.1"}]}}}`},
	{1, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a13","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/secrets/api-tls","verb":"get","user":{"username":"system:serviceaccount:web:api","groups":["system:serviceaccounts","system:serviceaccounts:web","system:authenticated"]},"sourceIPs":["10.2.3.9"],"userAgent":"api/2.3.1","objectRef":{"resource":"secrets","namespace":"web","name":"api-tls","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{1, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a14","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/secrets?limit=500","verb":"list","user":{"username":"system:serviceaccount:web:api","groups":["system:serviceaccounts","system:serviceaccounts:web","system:authenticated"]},"sourceIPs":["10.2.3.9"],"userAgent":"api/2.3.1","objectRef":{"resource":"secrets","namespace":"web","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{1, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a15","stage":"ResponseComplete","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["10.0.0.1"],"userAgent":"kube-probe/1.31","responseStatus":{"metadata":{},"code":200}}`},
	{1, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a16","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/web/deployments","verb":"list","user":{"username":"alice@example.com","groups":["system:authenticated"]},"sourceIPs":["10.9.0.4"],"userAgent":"kubectl/v1.31.2","objectRef":{"resource":"deployments","namespace":"web","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`},
	{1, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a17","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/web/pods/api-0/exec?command=sh&stdin=true&tty=true","verb":"get","user":{"username":"alice@example.com","groups":["system:authenticated"]},"sourceIPs":["10.9.0.4"],"userAgent":"kubectl/v1.31.2","objectRef":{"resource":"pods","namespace":"web","name":"api-0","subresource":"exec","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":101}}`},
}

func mixEvents(t testing.TB) (all, quiet []map[string]any) {
	t.Helper()
	for _, m := range routineMix {
		ev, err := decodeEvent([]byte(m.json))
		if err != nil {
			t.Fatal(err)
		}
		for range m.weight {
			all = append(all, ev)
		}
	}
	e := defaultEngine(t)
	for _, ev := range all {
		if len(e.Detect(ev, nil).Matches) == 0 {
			quiet = append(quiet, ev)
		}
	}
	if len(quiet) != len(all)-1 {
		t.Fatalf("mix should hold exactly one detection, has %d", len(all)-len(quiet))
	}
	return all, quiet
}

// BenchmarkDetect reports the cost per event over the routine mix. Besides
// wall time it reports process CPU time per event (cpu-ns/op), which stays
// meaningful on a machine shared with other work.
func BenchmarkDetect(b *testing.B) {
	e := defaultEngine(b)
	evs, _ := mixEvents(b)
	dst := make([]detect.Match, 0, 8)
	var n int
	b.ReportAllocs()
	start := cpuTime()
	ops := 0
	for i := 0; b.Loop(); i++ {
		n += len(e.Detect(evs[i%len(evs)], dst).Matches)
		ops++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(ops), "cpu-ns/op")
	_ = n
}

// BenchmarkDetectMetadata is the cost of one Metadata-level event no rule
// matches (a lease renewal by a kubelet), against the full default set.
func BenchmarkDetectMetadata(b *testing.B) {
	e := defaultEngine(b)
	_, quiet := mixEvents(b)
	ev := quiet[0] // the controller manager's lease get
	if ev["level"] != "Metadata" {
		b.Fatal("want a Metadata event")
	}
	dst := make([]detect.Match, 0, 8)
	b.ReportAllocs()
	start := cpuTime()
	ops := 0
	for b.Loop() {
		e.Detect(ev, dst)
		ops++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(ops), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkDetectParallel(b *testing.B) {
	e := defaultEngine(b)
	evs, _ := mixEvents(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]detect.Match, 0, 8)
		for i := 0; pb.Next(); i++ {
			e.Detect(evs[i%len(evs)], dst)
		}
	})
}

// BenchmarkDetectMatch is the cost of an event that fires, label included.
func BenchmarkDetectMatch(b *testing.B) {
	e := defaultEngine(b)
	evs, quiet := mixEvents(b)
	var exec map[string]any
	for _, ev := range evs {
		if len(quiet) > 0 && len(e.Detect(ev, nil).Matches) > 0 {
			exec = ev
		}
	}
	dst := make([]detect.Match, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Detect(exec, dst).IDs()
	}
}

func TestDetectZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	e := defaultEngine(t)
	evs, quiet := mixEvents(t)
	if a := testing.AllocsPerRun(50, func() {
		for _, ev := range quiet {
			e.Detect(ev, nil)
		}
	}); a != 0 {
		t.Errorf("%.1f allocations per run over events that match nothing, want 0", a)
	}
	dst := make([]detect.Match, 0, 8)
	if a := testing.AllocsPerRun(50, func() {
		for _, ev := range evs {
			dst = e.Detect(ev, dst).Matches
		}
	}); a != 0 {
		t.Errorf("%.1f allocations per run with a reused dst, want 0", a)
	}
	two := detect.Result{Matches: []detect.Match{{ID: "a_rule"}, {ID: "b_rule"}}}
	if a := testing.AllocsPerRun(50, func() { _ = two.IDs() }); a != 1 {
		t.Errorf("IDs() of two matches: %.1f allocations, want 1", a)
	}
	one := detect.Result{Matches: two.Matches[:1]}
	if a := testing.AllocsPerRun(50, func() { _ = one.IDs() }); a != 0 {
		t.Errorf("IDs() of one match: %.1f allocations, want 0", a)
	}
}

// TestDetectConcurrent shares one engine between goroutines (run with -race).
func TestDetectConcurrent(t *testing.T) {
	e := statelessEngine(t)
	fx := loadFixtures(t)
	want := make([]string, len(fx))
	for i, f := range fx {
		want[i] = e.Detect(f.ev, nil).IDs()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]detect.Match, 0, 4)
			for round := range 50 {
				for i := range fx {
					j := (i + g + round) % len(fx)
					res := e.Detect(fx[j].ev, dst)
					if got := res.IDs(); got != want[j] {
						errs <- fmt.Errorf("goroutine %d: %s/%s got %q want %q", g, fx[j].rule, fx[j].name, got, want[j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestDetectConcurrentStateful shares one engine's counters between
// goroutines, as concurrent flushes of one plugin instance do (run with
// -race): however the events interleave, exactly the ones past the
// threshold are labelled.
func TestDetectConcurrentStateful(t *testing.T) {
	e := fixtureEngine(t)
	var seq []map[string]any
	for _, sq := range loadSequences(t) {
		if sq.rule == "pod_exec_repeated" && sq.name == "positive_four_in_five_minutes" {
			seq = sq.evs
		}
	}
	if len(seq) != 4 {
		t.Fatalf("sequence has %d events", len(seq))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ev := range seq {
				for _, m := range e.Detect(ev, nil).Matches {
					if m.ID == "pod_exec_repeated" {
						mu.Lock()
						fired++
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	if fired != 8*4-3 {
		t.Fatalf("%d labelled, want %d", fired, 8*4-3)
	}
}
