package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
)

// The benchmarks use the shipped defaults (conf/redact/default.yaml,
// managedFields removed), as the plugin does.

func BenchmarkRedactNonSecret(b *testing.B) {
	r := defaultRedactor(b, Config{})
	ev, _ := loadFixture(b, "pod-get")
	b.ReportAllocs()
	for b.Loop() {
		r.Redact(ev)
	}
}

// BenchmarkRedactNonSecretLastApplied is a kubectl-applied ConfigMap update
// with nothing secret: a rule claims ConfigMaps, and their annotation is
// parsed (its raw text holds a keyword) and re-serialised to be compared.
func BenchmarkRedactNonSecretLastApplied(b *testing.B) {
	r := defaultRedactor(b, Config{})
	raw := bytes.ReplaceAll(readFixture(b, "configmap-update-last-applied"), []byte("AWS_ACCESS_KEY_ID"), []byte("AWS_REGION"))
	ev := decodeEvent(b, raw)
	if rep := r.Redact(ev); !rep.Empty() {
		b.Fatalf("reported %q", rep)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Redact(ev)
	}
}

// BenchmarkRedactConfigMapCredentialLastApplied is the same update with a
// credential (an AWS secret access key, where the fixture has the key's
// id, which is none): the annotation is parsed, redacted and re-serialised
// on every event.
func BenchmarkRedactConfigMapCredentialLastApplied(b *testing.B) {
	raw := readFixture(b, "configmap-update-last-applied")
	raw = bytes.ReplaceAll(raw, []byte("AWS_ACCESS_KEY_ID"), []byte("AWS_SECRET_ACCESS_KEY"))
	raw = bytes.ReplaceAll(raw, []byte("AKIAEXAMPLE"), []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"))
	benchFresh(b, decodeEvent(b, raw), 4096)
}

func secretGetEvent(keys int) map[string]any {
	data := map[string]any{}
	for i := 0; i < keys; i++ {
		data[fmt.Sprintf("key-%d", i)] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("value-%d-0123456789abcdef", i)))
	}
	return map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "verb": "get",
		"stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/default/secrets/db-creds",
		"user":      map[string]any{"username": "alice", "groups": []any{"system:authenticated"}},
		"objectRef": map[string]any{"resource": "secrets", "namespace": "default", "name": "db-creds", "apiVersion": "v1"},
		"responseObject": map[string]any{
			"kind": "Secret", "apiVersion": "v1", "type": "Opaque",
			"metadata": map[string]any{"name": "db-creds", "namespace": "default", "uid": "0c8a3f6e", "resourceVersion": "48213",
				"creationTimestamp": "2024-05-02T09:14:11Z", "labels": map[string]any{"app": "shop"}},
			"data": data,
		},
	}
}

// benchFresh measures Redact on unredacted events: copies are prepared in
// batches with the timer stopped, so neither copying nor re-redacting an
// already-redacted event is measured.
func benchFresh(b *testing.B, ev map[string]any, batch int) {
	r := defaultRedactor(b, Config{})
	if rep := r.Redact(copyEvent(ev)); rep.Empty() {
		b.Fatal("benchmark event has nothing to redact")
	}
	evs := make([]map[string]any, batch)
	b.ReportAllocs()
	b.ResetTimer()
	i := batch
	for b.Loop() {
		if i == batch {
			b.StopTimer()
			for j := range evs {
				evs[j] = copyEvent(ev)
			}
			i = 0
			b.StartTimer()
		}
		r.Redact(evs[i])
		i++
	}
}

// BenchmarkRedactLease is the most frequent event of a cluster (leader
// election renewals) with the managedFields an update response carries;
// only the first run removes them, so this is the steady cost of an event
// nothing claims.
func BenchmarkRedactLease(b *testing.B) {
	r := defaultRedactor(b, Config{})
	ev := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "verb": "update", "stage": "ResponseComplete",
		"requestURI": "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
		"objectRef":  map[string]any{"resource": "leases", "namespace": "kube-system", "name": "kube-scheduler", "apiGroup": "coordination.k8s.io", "apiVersion": "v1"},
		"requestObject": map[string]any{"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
			"metadata": map[string]any{"name": "kube-scheduler", "namespace": "kube-system"},
			"spec":     map[string]any{"holderIdentity": "cp-1", "leaseDurationSeconds": 15}},
		"responseObject": map[string]any{"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
			"metadata": map[string]any{"name": "kube-scheduler", "namespace": "kube-system"},
			"spec":     map[string]any{"holderIdentity": "cp-1", "leaseDurationSeconds": 15}},
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Redact(ev)
	}
}

func BenchmarkRedactSecret(b *testing.B) {
	benchFresh(b, secretGetEvent(5), 4096)
}

// secretList1MiB builds a SecretList response of about 1 MiB, the size an
// audit backend sees for `kubectl get secrets -A -o json` on a busy cluster.
func secretList1MiB(tb testing.TB) (map[string]any, int) {
	var items []any
	size := 0
	for size < 1<<20 {
		n := len(items)
		data := map[string]any{}
		for k := 0; k < 5; k++ {
			data[fmt.Sprintf("key-%d", k)] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("secret-value-%d-%d-0123456789abcdef0123456789abcdef", n, k)))
		}
		la := fmt.Sprintf(`{"apiVersion":"v1","data":{"key-0":"c2VjcmV0"},"kind":"Secret","metadata":{"annotations":{},"name":"s-%d","namespace":"default"},"type":"Opaque"}`+"\n", n)
		md := map[string]any{"name": fmt.Sprintf("s-%d", n), "namespace": "default", "uid": fmt.Sprintf("0c8a3f6e-5d2b-4d8e-9a4c-%012d", n),
			"resourceVersion": fmt.Sprint(40000 + n), "creationTimestamp": "2024-05-02T09:14:11Z", "labels": map[string]any{"app": "shop", "tier": "backend"}}
		if n%10 == 0 {
			md["annotations"] = map[string]any{lastAppliedKey: la}
		}
		item := map[string]any{"metadata": md, "type": "Opaque", "data": data}
		items = append(items, item)
		b, err := json.Marshal(item)
		if err != nil {
			tb.Fatal(err)
		}
		size += len(b) + 1
	}
	ev := secretGetEvent(0)
	ev["verb"] = "list"
	ev["requestURI"] = "/api/v1/secrets?limit=500"
	ev["responseObject"] = map[string]any{"kind": "SecretList", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "48290"}, "items": items}
	return ev, len(items)
}

func BenchmarkRedactSecretList1MiB(b *testing.B) {
	ev, _ := secretList1MiB(b)
	raw, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	benchFresh(b, ev, 1)
}
