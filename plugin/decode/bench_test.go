package decode

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/ugorji/go/codec"
)

// benchEvents builds n events shaped like a busy cluster's: 70% Metadata
// (~700 bytes of JSON), 30% RequestResponse pod creates (~3 KB).
func benchEvents(n int) []map[string]any {
	users := []string{"system:serviceaccount:kube-system:replicaset-controller", "system:kube-scheduler",
		"system:node:ip-10-0-1-23.ec2.internal", "alice@example.com", "system:apiserver"}
	resources := []string{"pods", "configmaps", "leases", "endpoints", "secrets", "nodes"}
	verbs := []string{"get", "list", "watch", "update", "patch"}
	base := time.Date(2024, 5, 14, 9, 0, 0, 0, time.UTC)
	out := make([]map[string]any, n)
	for i := range out {
		ts := base.Add(time.Duration(i) * 1731 * time.Microsecond)
		ev := map[string]any{
			"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
			"auditID":    fmt.Sprintf("6a4b6c2e-1d1f-4e63-9c55-%012x", i),
			"stage":      "ResponseComplete",
			"requestURI": fmt.Sprintf("/api/v1/namespaces/ns-%d/%s/obj-%d", i%7, resources[i%6], i),
			"verb":       verbs[i%5],
			"user": map[string]any{"username": users[i%5],
				"groups": []any{"system:serviceaccounts", "system:authenticated"}},
			"sourceIPs": []any{fmt.Sprintf("10.0.%d.%d", i%4, i%250)},
			"userAgent": "kube-controller-manager/v1.30.1 (linux/amd64) kubernetes/1234567",
			"objectRef": map[string]any{"resource": resources[i%6], "namespace": fmt.Sprintf("ns-%d", i%7),
				"name": fmt.Sprintf("obj-%d", i), "apiVersion": "v1"},
			"responseStatus":           map[string]any{"metadata": map[string]any{}, "code": int64(200)},
			"requestReceivedTimestamp": ts.Format("2006-01-02T15:04:05.000000Z"),
			"stageTimestamp":           ts.Add(3 * time.Millisecond).Format("2006-01-02T15:04:05.000000Z"),
			"annotations": map[string]any{"authorization.k8s.io/decision": "allow",
				"authorization.k8s.io/reason": ""},
		}
		if i%10 >= 7 {
			ev["level"] = "RequestResponse"
			ev["verb"] = "create"
			pod := benchPod(i)
			ev["requestObject"] = pod
			ev["responseObject"] = pod
		}
		out[i] = ev
	}
	return out
}

func benchPod(i int) map[string]any {
	return map[string]any{
		"kind": "Pod", "apiVersion": "v1",
		"metadata": map[string]any{"name": fmt.Sprintf("api-7d9f-%d", i), "namespace": "payments",
			"labels":          map[string]any{"app": "api", "pod-template-hash": "7d9f"},
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-7d9f", "uid": "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a", "controller": true, "blockOwnerDeletion": true}}},
		"spec": map[string]any{
			"containers": []any{map[string]any{
				"name": "api", "image": "registry.example.com/api:1.4.2",
				"args":  []any{"--port=8080", "--log-level=info"},
				"ports": []any{map[string]any{"containerPort": int64(8080), "protocol": "TCP"}},
				"env": []any{map[string]any{"name": "DB_HOST", "value": "db.payments.svc"},
					map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "db", "key": "password"}}}},
				"resources":              map[string]any{"limits": map[string]any{"cpu": "500m", "memory": "256Mi"}, "requests": map[string]any{"cpu": "100m", "memory": "128Mi"}},
				"volumeMounts":           []any{map[string]any{"name": "kube-api-access-x7k2p", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}},
				"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
				"securityContext": map[string]any{"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true},
			}},
			"restartPolicy": "Always", "terminationGracePeriodSeconds": int64(30), "dnsPolicy": "ClusterFirst",
			"serviceAccountName": "api", "serviceAccount": "api", "securityContext": map[string]any{"fsGroup": int64(2000)},
			"schedulerName": "default-scheduler", "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority", "priority": int64(0),
		},
		"status": map[string]any{"phase": "Pending", "qosClass": "Burstable"},
	}
}

func benchChunk(b *testing.B, n int) []byte {
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, benchEvents(n), chunk.Options{}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func TestBenchEventSizes(t *testing.T) {
	evs := benchEvents(10)
	meta, _ := jsonAPI.MarshalToString(evs[0])
	rr, _ := jsonAPI.MarshalToString(evs[7])
	if len(meta) < 600 || len(meta) > 900 || len(rr) < 2500 || len(rr) > 4000 {
		t.Fatalf("bench events are %d and %d bytes of JSON, want ~700 and ~3000", len(meta), len(rr))
	}
}

// reportPerRecord adds per-record figures; allocs are counted around the
// whole loop, so keep setup out of it.
func reportPerRecord(b *testing.B, records int, run func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/record")
}

func BenchmarkDecodeChunk(b *testing.B) {
	const records = 1000
	chunk := benchChunk(b, records)
	drain := func(d *Decoder) {
		for {
			if _, err := d.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				return
			}
		}
	}
	b.Run("new-decoder", func(b *testing.B) {
		b.SetBytes(int64(len(chunk)))
		reportPerRecord(b, records, func() { drain(NewDecoder(chunk)) })
	})
	b.Run("reused-decoder", func(b *testing.B) {
		b.SetBytes(int64(len(chunk)))
		d := NewDecoder(nil)
		reportPerRecord(b, records, func() { d.Reset(chunk); drain(d) })
	})
	b.Run("with-events", func(b *testing.B) {
		d := NewDecoder(nil)
		var dst []map[string]any
		reportPerRecord(b, records, func() {
			d.Reset(chunk)
			for {
				rec, err := d.Next()
				if err == io.EOF {
					return
				}
				if dst, _, err = Events(rec.Body, dst[:0]); err != nil || len(dst) != 1 {
					b.Fatal(err)
				}
				_ = EventTime(dst[0], rec.Time)
			}
		})
	})
	// The generic alternative this package replaces, for comparison.
	b.Run("ugorji-baseline", func(b *testing.B) {
		h := &codec.MsgpackHandle{WriteExt: true}
		h.RawToString = true
		h.MapType = reflect.TypeOf(map[string]any(nil))
		reportPerRecord(b, records, func() {
			dec := codec.NewDecoderBytes(chunk, h)
			for i := 0; i < records; i++ {
				var v any
				if err := dec.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// The tail-without-parser path: every event is JSON inside a log string.
func BenchmarkEventsJSONString(b *testing.B) {
	evs := benchEvents(100)
	bodies := make([]map[string]any, len(evs))
	for i, ev := range evs {
		s, _ := jsonAPI.MarshalToString(ev)
		bodies[i] = map[string]any{"log": s + "\n", "stream": "stdout"}
	}
	var dst []map[string]any
	reportPerRecord(b, len(bodies), func() {
		for _, body := range bodies {
			var err error
			if dst, _, err = Events(body, dst[:0]); err != nil || len(dst) != 1 {
				b.Fatal(err)
			}
		}
	})
}

// Sanity: what the benchmark decodes is what was encoded.
func TestBenchChunkRoundTrips(t *testing.T) {
	evs := benchEvents(50)
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, evs, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(buf.Bytes())
	for i := 0; ; i++ {
		rec, err := d.Next()
		if err == io.EOF {
			if i != len(evs) {
				t.Fatalf("%d records", i)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rec.Body, evs[i]) {
			t.Fatalf("record %d differs", i)
		}
		if !strings.HasPrefix(rec.Body["auditID"].(string), "6a4b6c2e") {
			t.Fatal("auditID")
		}
	}
}
