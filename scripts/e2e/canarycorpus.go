package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kaudit/kaudit/redact/leakcheck"
	"github.com/kaudit/kaudit/testdata"
)

// CanaryCorpus reads testdata/canary/events.jsonl (one audit event per
// redaction case, secrets as placeholders) with every placeholder filled by
// a Canary-prefixed value, re-timed to the second before end so Loki
// accepts them. The redact package's unit test reads the same file.
func CanaryCorpus(end time.Time) ([]map[string]any, error) {
	root, err := testdata.Root()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", "canary", "events.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		line, err := leakcheck.Fill(sc.Bytes(), fmt.Sprintf("case-%03d", i))
		if err != nil {
			return nil, fmt.Errorf("canary corpus line %d: %w", i+1, err)
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var ev map[string]any
		if err := dec.Decode(&ev); err != nil {
			return nil, fmt.Errorf("canary corpus line %d: %w", i+1, err)
		}
		ts := end.Add(-time.Duration(i+1) * time.Second).UTC().Format(time.RFC3339Nano)
		ev["requestReceivedTimestamp"], ev["stageTimestamp"] = ts, ts
		out = append(out, ev)
	}
	return out, sc.Err()
}

// ShapeNames are the record shapes EveryShape produces, in order: the
// four of Shape, then the kubernetes filter's Merge_Log with Keep_Log (the
// event at the top level and its JSON under log, beside the pod's
// metadata), the parser filter's Preserve_Key, EKS CloudWatch Logs
// batches plain and gzip'd, and GKE Cloud Logging entries.
var ShapeNames = [...]string{"raw", "eventlist", "aks", "log", "merge_log", "preserve_key", "cloudwatch", "cloudwatch_gzip", "gke"}

// EveryShape returns each event in every record shape the plugin accepts
// (raw, one webhook EventList holding them all, AKS diagnostic record, JSON
// string under `log`), each copy with its auditID suffixed by the shape
// name so the copies stay apart in Loki.
func EveryShape(events []map[string]any) []map[string]any {
	var out []map[string]any
	for k, shape := range ShapeNames {
		copies := make([]map[string]any, len(events))
		for i, ev := range events {
			c := make(map[string]any, len(ev))
			for key, v := range ev {
				c[key] = v
			}
			c["auditID"] = fmt.Sprint(ev["auditID"], "-", shape)
			copies[i] = c
		}
		if k < 4 {
			out = append(out, Shape(k, copies)...)
		} else {
			out = append(out, CloudShape(shape, copies)...)
		}
	}
	return out
}

// CloudShape wraps events in one of the record shapes beyond Shape's four
// (ShapeNames[4:]).
func CloudShape(shape string, events []map[string]any) []map[string]any {
	var out []map[string]any
	switch shape {
	case "merge_log", "preserve_key":
		for _, e := range events {
			b, _ := json.Marshal(e)
			r := make(map[string]any, len(e)+4)
			for k, v := range e {
				r[k] = v
			}
			r["log"] = string(b) + "\n"
			r["stream"] = "stdout"
			if shape == "merge_log" {
				r["kubernetes"] = map[string]any{"pod_name": "kube-apiserver-cp-1", "namespace_name": "kube-system", "container_name": "kube-apiserver",
					"labels": map[string]any{"component": "kube-apiserver", "tier": "control-plane"}, "host": "cp-1"}
			}
			out = append(out, r)
		}
	case "cloudwatch", "cloudwatch_gzip":
		var les []any
		for i, e := range events {
			b, _ := json.Marshal(e)
			les = append(les, map[string]any{"id": fmt.Sprintf("3791234567890123456789012345678901234567890123456789%04d", i), "timestamp": int64(1714641251201 + i), "message": string(b)})
		}
		batch := map[string]any{"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "/aws/eks/prod/cluster",
			"logStream": "kube-apiserver-audit-2d0c7d5d1c5f4e3a9b8c", "subscriptionFilters": []any{"kaudit"}, "logEvents": les}
		if shape == "cloudwatch_gzip" {
			b, _ := json.Marshal(batch)
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(b)
			zw.Close()
			batch = map[string]any{"awslogs": map[string]any{"data": base64.StdEncoding.EncodeToString(z.Bytes())}}
		}
		out = append(out, batch)
	case "gke":
		for _, e := range events {
			out = append(out, GKEEntry(e))
		}
	}
	return out
}

func refFromPath(uri string) map[string]any {
	p, _, _ := strings.Cut(uri, "?")
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	ref := map[string]any{}
	switch {
	case len(seg) >= 3 && seg[0] == "api":
		ref["apiVersion"], seg = seg[1], seg[2:]
	case len(seg) >= 4 && seg[0] == "apis":
		ref["apiGroup"], ref["apiVersion"], seg = seg[1], seg[2], seg[3:]
	default:
		return ref
	}
	if len(seg) >= 3 && seg[0] == "namespaces" {
		ref["namespace"], seg = seg[1], seg[2:]
	}
	for i, k := range []string{"resource", "name", "subresource"} {
		if i < len(seg) {
			ref[k] = seg[i]
		}
	}
	return ref
}

// GKEEntry renders an audit event as GKE's Cloud Logging writes it.
func GKEEntry(e map[string]any) map[string]any {
	ref, _ := e["objectRef"].(map[string]any)
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	if r := refFromPath(str(e, "requestURI")); str(r, "resource") != "" {
		// GKE names the resource the API server served, which is the one
		// the (decoded) request path names, whatever objectRef said.
		ref = r
	}
	group := str(ref, "apiGroup")
	if group == "" {
		group = "core"
	}
	version := str(ref, "apiVersion")
	if version == "" {
		version = "v1"
	}
	res := group + "/" + version
	if ns := str(ref, "namespace"); ns != "" {
		res += "/namespaces/" + ns
	}
	res += "/" + str(ref, "resource")
	method := "io.k8s." + group + "." + version + "." + str(ref, "resource")
	if n := str(ref, "name"); n != "" {
		res += "/" + n
	}
	if sub := str(ref, "subresource"); sub != "" {
		res += "/" + sub
		method += "." + sub
	}
	method += "." + str(e, "verb")
	user, _ := e["user"].(map[string]any)
	pp := map[string]any{"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "k8s.io", "methodName": method, "resourceName": res,
		"authenticationInfo": map[string]any{"principalEmail": str(user, "username")}, "status": map[string]any{"code": int64(0)},
		"requestMetadata": map[string]any{"callerIp": "203.0.113.7", "callerSuppliedUserAgent": str(e, "userAgent")}}
	if rs, ok := e["responseStatus"].(map[string]any); ok {
		if m := str(rs, "message"); m != "" {
			pp["status"] = map[string]any{"code": int64(7), "message": m}
		}
	}
	for src, dst := range map[string]string{"requestObject": "request", "responseObject": "response"} {
		if b, ok := e[src].(map[string]any); ok {
			c := map[string]any{"@type": "k8s.io/Object"}
			for k, v := range b {
				c[k] = v
			}
			pp[dst] = c
		}
	}
	return map[string]any{"insertId": "gke-" + str(e, "auditID"), "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
		"operation":    map[string]any{"id": str(e, "auditID"), "producer": "k8s.io", "first": true, "last": true},
		"protoPayload": pp, "resource": map[string]any{"type": "k8s_cluster", "labels": map[string]any{"cluster_name": "prod", "location": "europe-west1", "project_id": "acme-prod"}},
		"severity": "NOTICE", "timestamp": e["stageTimestamp"], "receiveTimestamp": e["stageTimestamp"]}
}
