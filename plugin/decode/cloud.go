package decode

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"strings"
)

// Audit events as the managed clouds deliver them.
//
// EKS sends the control plane's audit log to CloudWatch Logs; a
// subscription (Kinesis Firehose, Lambda, Fluent Bit's kinesis input)
// delivers batches of
//
//	{"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/prod/cluster",
//	 "logStream":"kube-apiserver-audit-...","logEvents":[{"id":"...",
//	 "timestamp":1714641251201,"message":"<audit event JSON>"}]}
//
// sometimes still gzip'd and base64'd ({"awslogs":{"data":"H4sI..."}}, as
// a Lambda receives them).
//
// GKE writes Cloud Logging entries whose protoPayload is a
// google.cloud.audit.AuditLog; they are mapped onto audit.k8s.io/v1 events
// so that detection and redaction see the fields they know.

// maxCloudBatch bounds a decompressed CloudWatch batch.
const maxCloudBatch = 64 << 20

// cloudWatchEvents extracts the audit events of a CloudWatch Logs batch.
// ok is false when body is no such batch. Events are built in d's maps (d
// may be nil).
func cloudWatchEvents(body map[string]any, dst []map[string]any, d *Decoder) ([]map[string]any, batch, bool) {
	if aw, isMap := body["awslogs"].(map[string]any); isMap {
		data, _ := aw["data"].(string)
		inner, ok := awslogsData(data, d)
		if !ok {
			return dst, batch{}, false
		}
		body = inner
	}
	mt, _ := body["messageType"].(string)
	if mt == "" {
		return dst, batch{}, false
	}
	if _, ok := body["logGroup"].(string); !ok {
		return dst, batch{}, false
	}
	if mt == "CONTROL_MESSAGE" {
		return dst, batch{}, true // a subscription's health check: no events
	}
	evs, ok := body["logEvents"].([]any)
	if !ok {
		return dst, batch{}, mt == "DATA_MESSAGE" && body["logEvents"] == nil
	}
	var b batch
	for _, it := range evs {
		b.total++
		le, _ := it.(map[string]any)
		ev, ok := objectIn(le["message"], d)
		if ok && IsEvent(ev) {
			dst = append(dst, ev)
		} else {
			b.skipped++
		}
	}
	return dst, b, true
}

func awslogsData(s string, d *Decoder) (map[string]any, bool) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxCloudBatch+1))
	if err != nil || len(out) > maxCloudBatch {
		return nil, false
	}
	return parseObjectIn(string(out), d)
}

const gkeAuditType = "type.googleapis.com/google.cloud.audit.AuditLog"

// gkeEvent maps a Cloud Logging entry of GKE's Kubernetes audit log onto an
// audit event. ok is false when entry is no such entry.
func gkeEvent(entry map[string]any) (map[string]any, bool) {
	pp, ok := entry["protoPayload"].(map[string]any)
	if !ok {
		return nil, false
	}
	if t, _ := pp["@type"].(string); t != gkeAuditType {
		return nil, false
	}
	method, _ := pp["methodName"].(string)
	if !strings.HasPrefix(method, "io.k8s.") {
		return nil, false
	}
	ev := map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "stage": "ResponseComplete"}
	// io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>
	parts := strings.Split(strings.TrimPrefix(method, "io.k8s."), ".")
	if n := len(parts); n >= 4 {
		ev["verb"] = parts[n-1]
	}
	resName, _ := pp["resourceName"].(string)
	ref, uri := gkeRef(resName)
	if ref != nil {
		ev["objectRef"] = ref
	}
	if uri != "" {
		ev["requestURI"] = uri
	}
	id := ""
	if op, ok := entry["operation"].(map[string]any); ok {
		id, _ = op["id"].(string)
	}
	if id == "" {
		id, _ = entry["insertId"].(string)
	}
	ev["auditID"] = id
	user := map[string]any{}
	if ai, ok := pp["authenticationInfo"].(map[string]any); ok {
		if e, ok := ai["principalEmail"].(string); ok {
			user["username"] = e
		}
	}
	ev["user"] = user
	if rm, ok := pp["requestMetadata"].(map[string]any); ok {
		if ip, ok := rm["callerIp"].(string); ok {
			ev["sourceIPs"] = []any{ip}
		}
		if ua, ok := rm["callerSuppliedUserAgent"].(string); ok {
			ev["userAgent"] = ua
		}
	}
	level := "Metadata"
	for src, dst := range map[string]string{"request": "requestObject", "response": "responseObject"} {
		if b, ok := pp[src].(map[string]any); ok {
			body := make(map[string]any, len(b))
			for k, v := range b {
				if k != "@type" {
					body[k] = v
				}
			}
			ev[dst] = body
			level = "RequestResponse"
		}
	}
	ev["level"] = level
	status := map[string]any{"code": int64(200)}
	if st, ok := pp["status"].(map[string]any); ok {
		status["code"] = httpCode(st["code"])
		if msg, ok := st["message"].(string); ok && msg != "" {
			status["message"] = msg
		}
	}
	ev["responseStatus"] = status
	if ts, ok := entry["timestamp"].(string); ok {
		ev["requestReceivedTimestamp"], ev["stageTimestamp"] = ts, ts
	}
	if az, ok := pp["authorizationInfo"].([]any); ok && len(az) > 0 {
		if a, ok := az[0].(map[string]any); ok {
			dec := "forbid"
			if g, _ := a["granted"].(bool); g {
				dec = "allow"
			}
			ev["annotations"] = map[string]any{"authorization.k8s.io/decision": dec}
		}
	}
	return ev, true
}

// gkeRef parses resourceName: core/v1/namespaces/NS/RES/NAME[/SUB] or
// GROUP/VERSION/[namespaces/NS/]RES[/NAME[/SUB]].
func gkeRef(name string) (map[string]any, string) {
	seg := strings.Split(name, "/")
	if len(seg) < 3 {
		return nil, ""
	}
	group, version, rest := seg[0], seg[1], seg[2:]
	ref := map[string]any{"apiVersion": version}
	uri := "/apis/" + group + "/" + version
	if group == "core" || group == "" {
		uri = "/api/" + version
	} else {
		ref["apiGroup"] = group
	}
	if len(rest) >= 3 && rest[0] == "namespaces" {
		ref["namespace"] = rest[1]
		uri += "/namespaces/" + rest[1]
		rest = rest[2:]
	}
	ref["resource"] = rest[0]
	uri += "/" + rest[0]
	if len(rest) >= 2 {
		ref["name"] = rest[1]
		uri += "/" + rest[1]
	}
	if len(rest) >= 3 {
		ref["subresource"] = rest[2]
		uri += "/" + rest[2]
	}
	return ref, uri
}

// httpCode maps a google.rpc.Code to the HTTP status the API server
// answered with.
func httpCode(v any) int64 {
	var c int64
	switch x := v.(type) {
	case int64:
		c = x
	case uint64:
		c = int64(x)
	case float64:
		c = int64(x)
	case interface{ Int64() (int64, error) }:
		c, _ = x.Int64()
	}
	switch c {
	case 0:
		return 200
	case 3, 9, 11:
		return 400
	case 16:
		return 401
	case 7:
		return 403
	case 5:
		return 404
	case 6, 10:
		return 409
	case 8:
		return 429
	case 4:
		return 504
	case 14:
		return 503
	}
	return 500
}
