package decode

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const shapesDir = "../../testdata/shapes"

func loadShape(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(shapesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := parseObject(string(b))
	if !ok {
		t.Fatalf("%s is not a JSON object", name)
	}
	return m
}

func TestShapeFixtures(t *testing.T) {
	cases := []struct {
		file    string
		shape   Shape
		events  int
		skipped int
	}{
		{"eventlist.json", EventList, 4, 0},
		{"aks.json", AKS, 1, 0},
		{"aks-records.json", AKSRecords, 2, 1},
		{"log-string.json", JSONString, 1, 0},
		{"message-string.json", JSONString, 2, 0},
		{"v1beta1.json", Raw, 1, 0},
		{"cloudwatch.json", CloudWatch, 2, 1},
		{"cloudwatch-gzip.json", CloudWatch, 2, 1},
		{"gke.json", GKE, 1, 0},
		{"unknown.json", Unknown, 0, 0},
	}
	for _, c := range cases {
		body := loadShape(t, c.file)
		evs, shape, err := Events(body, nil)
		if shape != c.shape || len(evs) != c.events {
			t.Errorf("%s: shape %v, %d events, err %v; want %v, %d", c.file, shape, len(evs), err, c.shape, c.events)
		}
		var se *SkippedError
		switch {
		case c.shape == Unknown:
			if !errors.Is(err, ErrUnrecognized) {
				t.Errorf("%s: err %v, want ErrUnrecognized", c.file, err)
			}
		case c.skipped > 0:
			if !errors.As(err, &se) || se.Skipped != c.skipped || se.Shape != c.shape {
				t.Errorf("%s: err %v, want %d skipped", c.file, err, c.skipped)
			}
		case err != nil:
			t.Errorf("%s: %v", c.file, err)
		}
		for _, ev := range evs {
			if !IsEvent(ev) || ev["auditID"] == nil {
				t.Errorf("%s: not an event: %v", c.file, ev)
			}
		}
	}
}

// JSON carried in strings is decoded with numbers kept exact.
func TestJSONStringNumbers(t *testing.T) {
	evs, _, err := Events(loadShape(t, "log-string.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	code := evs[0]["responseStatus"].(map[string]any)["code"]
	if code != json.Number("201") {
		t.Fatalf("code is %T %v, want json.Number 201", code, code)
	}
}

func event(extra string) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"get","requestURI":"/x"` + extra + `}`
}

func TestShapes(t *testing.T) {
	ev := event("")
	quoted, _ := json.Marshal(ev)
	docker, _ := json.Marshal(map[string]any{"log": ev + "\n", "stream": "stdout", "time": "2024-01-01T00:00:00Z"})
	dockerQuoted, _ := json.Marshal(string(docker) + "\n")
	cases := []struct {
		name    string
		body    string
		shape   Shape
		events  int
		skipped int
	}{
		{"complete event", ev, Raw, 1, 0},
		{"v1beta1", `{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","verb":"get"}`, Raw, 1, 0},
		{"EKS partial, no kind", `{"verb":"get","user":{"username":"u"}}`, Raw, 1, 0},
		{"partial, kind but no apiVersion", `{"kind":"Event","verb":"get","sourceIPs":[]}`, Raw, 1, 0},
		{"partial, apiVersion but no kind", `{"apiVersion":"audit.k8s.io/v1","verb":"get","auditID":"x"}`, Raw, 1, 0},
		{"verb alone is not enough", `{"verb":"get","sourceIPs":[]}`, Unknown, 0, 0},
		{"verb of the wrong type", `{"verb":1,"auditID":"x"}`, Unknown, 0, 0},
		{"kind Event alone", `{"kind":"Event"}`, Unknown, 0, 0},
		{"kind 0", `{"kind":0}`, Unknown, 0, 0},
		{"conflicting kind", `{"kind":"Pod","verb":"get","auditID":"x"}`, Unknown, 0, 0},
		{"core Event", `{"kind":"Event","apiVersion":"v1","verb":"get","auditID":"x"}`, Unknown, 0, 0},
		{"apiVersion wrong type", `{"kind":"Event","apiVersion":1,"verb":"get"}`, Unknown, 0, 0},
		{"EventList", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + ev + `,` + ev + `]}`, EventList, 2, 0},
		{"EventList with bad items", `{"kind":"EventList","items":[` + ev + `,"x",{"kind":"Event","apiVersion":"v1"},null,{}]}`, EventList, 1, 4},
		{"empty EventList", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null}`, EventList, 0, 0},
		{"core EventList", `{"kind":"EventList","apiVersion":"v1","items":[` + ev + `]}`, Unknown, 0, 0},
		{"EventList items not a list", `{"kind":"EventList","items":{}}`, Unknown, 0, 0},
		{"AKS", `{"category":"kube-audit","properties":{"log":` + string(quoted) + `}}`, AKS, 1, 0},
		{"AKS admin, properties as string", `{"category":"kube-audit-admin","properties":` + mustQuote(`{"log":`+string(quoted)+`}`) + `}`, AKS, 1, 0},
		{"AKS log not an event", `{"category":"kube-audit","properties":{"log":"I0101 started"}}`, Unknown, 0, 0},
		{"AKS other category", `{"category":"kube-apiserver","properties":{"log":` + string(quoted) + `}}`, Unknown, 0, 0},
		{"AKS batch", `{"records":[{"category":"kube-audit","properties":{"log":` + string(quoted) + `}},{"category":"guard","properties":{}}, 7]}`, AKSRecords, 1, 2},
		{"records that are not diagnostics", `{"records":[1,2]}`, Unknown, 0, 0},
		{"log string", `{"log":` + string(quoted) + `}`, JSONString, 1, 0},
		{"log with newline and spaces", `{"log":` + mustQuote("  "+ev+"\n") + `}`, JSONString, 1, 0},
		{"message string", `{"message":` + string(quoted) + `}`, JSONString, 1, 0},
		{"log not JSON, message is", `{"log":"hello","message":` + string(quoted) + `}`, JSONString, 1, 0},
		{"journal entry (systemd input)", `{"_SYSTEMD_UNIT":"kube-apiserver.service","_HOSTNAME":"cp-1","PRIORITY":"6","SYSLOG_IDENTIFIER":"kube-apiserver","_PID":"812","MESSAGE":` + string(quoted) + `}`, JSONString, 1, 0},
		{"journal entry not an event", `{"_SYSTEMD_UNIT":"kube-apiserver.service","MESSAGE":"I0101 12:00:00 serving"}`, Unknown, 0, 0},
		{"tail Key of another name", `{"line":` + string(quoted) + `}`, JSONString, 1, 0},
		{"tail Key with Path_Key and Offset_Key", `{"file":"/var/log/kubernetes/audit/audit.log","offset":1024,"line":` + string(quoted) + `}`, JSONString, 1, 0},
		{"kubernetes filter Merge_Log_Key", `{"stream":"stdout","logtag":"F","kubernetes":{"pod_name":"kube-apiserver-cp-1","labels":{"component":"kube-apiserver"}},"log_processed":` + ev + `}`, Nested, 1, 0},
		{"nest filter Nest_under", `{"source":"cp-1","audit":` + ev + `}`, Nested, 1, 0},
		{"OpenTelemetry log body", `{"body":` + ev + `,"attributes":{"k8s.pod.name":"kube-apiserver-cp-1"}}`, Nested, 1, 0},
		{"EventList under another member", `{"payload":` + mustQuote(`{"kind":"EventList","items":[`+ev+`]}`) + `}`, JSONString, 1, 0},
		{"other members, none an event", `{"kubernetes":{"labels":{"a":"b"}},"data":"{\"a\":1}","n":1}`, Unknown, 0, 0},
		{"AKS envelope of another category not searched", `{"category":"kube-apiserver","properties":{"log":` + string(quoted) + `},"extra":` + ev + `}`, Unknown, 0, 0},
		{"log as object", `{"log":` + ev + `}`, JSONString, 1, 0},
		{"docker json-file line in log", `{"log":` + string(dockerQuoted) + `}`, JSONString, 1, 0},
		{"CRI line in log", `{"log":` + mustQuote("2024-01-01T00:00:00.123456789Z stdout F "+ev) + `}`, JSONString, 1, 0},
		{"CRI partial line", `{"log":` + mustQuote("2024-01-01T00:00:00.123456789Z stdout P "+ev) + `}`, Unknown, 0, 0},
		{"EventList in log", `{"log":` + mustQuote(`{"kind":"EventList","items":[`+ev+`,1]}`) + `}`, JSONString, 1, 1},
		{"log not JSON", `{"log":"E0101 12:00:00 something failed"}`, Unknown, 0, 0},
		{"log truncated JSON", `{"log":` + mustQuote(ev[:len(ev)-3]) + `}`, Unknown, 0, 0},
		{"log trailing garbage", `{"log":` + mustQuote(ev+"}") + `}`, Unknown, 0, 0},
		{"log JSON array", `{"log":"[1,2]"}`, Unknown, 0, 0},
		{"log JSON not an event", `{"log":"{\"a\":1}"}`, Unknown, 0, 0},
		{"nesting too deep", nest(ev, maxNesting+1), Unknown, 0, 0},
		{"nesting at the limit", nest(ev, maxNesting), JSONString, 1, 0},
		{"empty body", `{}`, Unknown, 0, 0},
	}
	for _, c := range cases {
		body, ok := parseObject(c.body)
		if !ok {
			t.Fatalf("%s: bad test JSON %s", c.name, c.body)
		}
		dst := make([]map[string]any, 1, 4) // Events appends
		evs, shape, err := Events(body, dst)
		if shape != c.shape || len(evs)-1 != c.events {
			t.Errorf("%s: shape %v, %d events (%v); want %v, %d", c.name, shape, len(evs)-1, err, c.shape, c.events)
			continue
		}
		var se *SkippedError
		switch {
		case c.shape == Unknown:
			if !errors.Is(err, ErrUnrecognized) {
				t.Errorf("%s: err %v", c.name, err)
			}
		case c.skipped > 0:
			if !errors.As(err, &se) || se.Skipped != c.skipped || se.Total != c.events+c.skipped {
				t.Errorf("%s: err %v, want %d skipped", c.name, err, c.skipped)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestErrorsDoNotQuoteContent(t *testing.T) {
	body, _ := parseObject(`{"log":"{\"password\":\"hunter2\""}`)
	_, _, err := Events(body, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err %v", err)
	}
}

func TestShapeString(t *testing.T) {
	seen := map[string]bool{}
	for s := Unknown; s <= JSONString; s++ {
		seen[s.String()] = true
	}
	if len(seen) != int(JSONString)+1 || Shape(99).String() != "unknown" {
		t.Fatalf("names %v", seen)
	}
}

func mustQuote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// nest wraps ev in n levels of {"log": "<json>"}.
func nest(ev string, n int) string {
	for i := 0; i < n; i++ {
		ev = `{"log":` + mustQuote(ev) + `}`
	}
	return ev
}

func TestSkippedErrorMessage(t *testing.T) {
	err := &SkippedError{Shape: EventList, Skipped: 2, Total: 5}
	if got := err.Error(); !strings.Contains(got, "2 of 5 eventlist") {
		t.Fatal(got)
	}
}

// TestGKEMapping pins the audit event a GKE entry becomes: what detection
// and redaction read must be where an API server puts it.
func TestGKEMapping(t *testing.T) {
	evs, shape, err := Events(loadShape(t, "gke.json"), nil)
	if err != nil || shape != GKE || len(evs) != 1 {
		t.Fatalf("shape %v, %d events, %v", shape, len(evs), err)
	}
	ev := evs[0]
	ref, _ := ev["objectRef"].(map[string]any)
	user, _ := ev["user"].(map[string]any)
	status, _ := ev["responseStatus"].(map[string]any)
	resp, _ := ev["responseObject"].(map[string]any)
	got := map[string]any{
		"verb": ev["verb"], "resource": ref["resource"], "namespace": ref["namespace"], "name": ref["name"],
		"uri": ev["requestURI"], "user": user["username"], "ip": ev["sourceIPs"].([]any)[0], "ua": ev["userAgent"],
		"code": status["code"], "kind": resp["kind"], "auditID": ev["auditID"], "level": ev["level"],
	}
	want := map[string]any{
		"verb": "get", "resource": "secrets", "namespace": "default", "name": "db",
		"uri": "/api/v1/namespaces/default/secrets/db", "user": "alice@example.com", "ip": "203.0.113.7",
		"ua": "kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350", "code": int64(200), "kind": "Secret",
		"auditID": "0e6c3b8a-1d2f-4e5a-9b7c-8d6e5f4a3b2c", "level": "RequestResponse",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if _, ok := resp["@type"]; ok {
		t.Error("@type kept in the body")
	}
	if !IsEvent(ev) {
		t.Error("mapped entry is not an audit event")
	}
}

// TestIsEventNeedsTheRequest: kind and apiVersion alone are no event to
// ship (a malformed line, a placeholder); one field of the request with
// them is, as exported and test events carry only a few.
func TestIsEventNeedsTheRequest(t *testing.T) {
	for _, c := range []struct {
		ev   map[string]any
		want bool
	}{
		{map[string]any{"apiVersion": "audit.k8s.io/v1", "kind": "Event"}, false},
		{map[string]any{"apiVersion": "audit.k8s.io/v1", "kind": "Event", "sourceIPs": []any{"127.0.0.1"}, "user": map[string]any{"username": "system:anonymous"}}, true},
		{map[string]any{"apiVersion": "audit.k8s.io/v1", "kind": "Event", "auditID": "a"}, true},
		{map[string]any{"apiVersion": "audit.k8s.io/v1", "kind": "Event", "verb": "get"}, true},
		{map[string]any{"apiVersion": "v1", "kind": "Event", "verb": "get"}, false},
	} {
		if got := IsEvent(c.ev); got != c.want {
			t.Errorf("IsEvent(%v) = %v, want %v", c.ev, got, c.want)
		}
	}
}

// A line cut short is reported as broken JSON, not as some other
// program's log, and the message never quotes the line.
func TestCutLineSaysWhy(t *testing.T) {
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","verb":"get","requestURI":"/api/v1/secrets?token=s3cr3tvalue`
	for _, body := range []map[string]any{
		{"log": line},
		{"message": "  " + line},
		{"log": "2026-01-02T03:04:05.678Z stdout F " + line},
		{"line": line}, // tail's Key line
	} {
		_, shape, err := Events(body, nil)
		if shape != Unknown || !errors.Is(err, ErrUnrecognized) || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("%v: %v %v, want ErrUnrecognized saying the JSON is broken", body, shape, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the error quotes the record: %v", err)
		}
	}
	for _, body := range []map[string]any{
		{"log": "E1128 12:00:00 controller.go:42] some program's log"},
		{"log": `{"level":"info","msg":"some program's JSON log"}`},
	} {
		if _, _, err := Events(body, nil); err != ErrUnrecognized {
			t.Errorf("%v: %v, want plain ErrUnrecognized", body, err)
		}
	}
}
