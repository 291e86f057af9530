package detect_test

import (
	"strings"
	"testing"

	"github.com/kaudit/kaudit/detect"
)

// One request, one judged stage: the table covers every stage of ordinary
// and long-running requests, allowed and refused, as Judged sees one event
// alone (the engine also judges a long-running ResponseComplete whose
// ResponseStarted it never saw: TestLongRunningCompleteWithoutStarted).
func TestJudged(t *testing.T) {
	ev := func(stage, verb, sub string, code any) map[string]any {
		e := map[string]any{"stage": stage, "verb": verb, "objectRef": map[string]any{"resource": "pods", "subresource": sub}}
		if code != nil {
			e["responseStatus"] = map[string]any{"code": code}
		}
		return e
	}
	for _, tc := range []struct {
		name string
		ev   map[string]any
		want bool
	}{
		{"get received", ev("RequestReceived", "get", "", nil), false},
		{"get complete", ev("ResponseComplete", "get", "", 200), true},
		{"get refused", ev("ResponseComplete", "get", "", 403), true},
		{"panic", ev("Panic", "get", "", 500), true},
		{"no stage", ev("", "get", "", 200), true},
		{"exec received", ev("RequestReceived", "create", "exec", nil), false},
		{"exec started", ev("ResponseStarted", "create", "exec", 101), true},
		{"exec complete", ev("ResponseComplete", "create", "exec", 101), false},
		{"exec refused", ev("ResponseComplete", "create", "exec", 403), true},
		{"watch started", ev("ResponseStarted", "watch", "", 200), true},
		{"watch complete", ev("ResponseComplete", "watch", "", 200), false},
		{"watch refused", ev("ResponseComplete", "watch", "", 403), true},
		{"logs started", ev("ResponseStarted", "get", "log", 200), true},
		{"portforward complete", ev("ResponseComplete", "create", "portforward", 101), false},
	} {
		if got := detect.Judged(tc.ev); got != tc.want {
			t.Errorf("%s: Judged = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Every stage of a refused cluster-wide secret list: never "secrets
// listed", one denial label on one stage.
func TestRefusedListOneDenial(t *testing.T) {
	e := defaultEngine(t)
	var ids []string
	for _, stage := range []string{"RequestReceived", "ResponseComplete"} {
		ev := map[string]any{"stage": stage, "verb": "list", "user": map[string]any{"username": "mallory@example.com"},
			"sourceIPs": []any{"10.0.0.9"}, "objectRef": map[string]any{"resource": "secrets"}}
		if stage == "ResponseComplete" {
			ev["responseStatus"] = map[string]any{"code": 403}
		}
		if got := e.Detect(ev, nil).IDs(); got != "" {
			ids = append(ids, stage+":"+got)
		}
	}
	if len(ids) != 1 || ids[0] != "ResponseComplete:secret_access_denied" {
		t.Errorf("labels %v, want only ResponseComplete:secret_access_denied", ids)
	}
}

// A log without ResponseStarted (a policy that omits it) still sees execs
// once long_running_stage says so, and only once.
func TestLongRunningStageSetting(t *testing.T) {
	site := "lists:\n  long_running_stage: [ResponseComplete]\n"
	e, err := detect.New(append(defaultSources(t), detect.Source{Name: "site.yaml", Data: []byte(site)})...)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(stage string) map[string]any {
		return map[string]any{"stage": stage, "verb": "create", "user": map[string]any{"username": "mallory@example.com"},
			"sourceIPs": []any{"10.0.0.9"}, "responseStatus": map[string]any{"code": 101},
			"objectRef": map[string]any{"resource": "pods", "subresource": "exec", "namespace": "web", "name": "api-0"}}
	}
	if got := e.Detect(exec("ResponseComplete"), nil).IDs(); got != "pod_exec" {
		t.Errorf("ResponseComplete: %q, want pod_exec", got)
	}
	if got := e.Detect(exec("ResponseStarted"), nil).IDs(); got != "" {
		t.Errorf("ResponseStarted: %q, want nothing", got)
	}
	if _, err := detect.New(append(defaultSources(t), detect.Source{Name: "site.yaml", Data: []byte("lists:\n  long_running_stage: [Panic]\n")})...); err == nil || !strings.Contains(err.Error(), "long_running_stage") {
		t.Errorf("bad long_running_stage: %v", err)
	}
}

// The engine judges a long-running request's ResponseComplete only when it
// saw no ResponseStarted of the same auditID: a full log gets one label
// per request, a log (or a single event) without ResponseStarted is not
// blind.
func TestLongRunningCompleteWithoutStarted(t *testing.T) {
	e := defaultEngine(t)
	exec := func(id, stage string) map[string]any {
		return map[string]any{"auditID": id, "stage": stage, "verb": "create", "requestURI": "/api/v1/namespaces/web/pods/api-0/exec?command=sh",
			"user": map[string]any{"username": "alice@example.com"}, "sourceIPs": []any{"10.0.0.9"},
			"objectRef":      map[string]any{"resource": "pods", "subresource": "exec", "namespace": "web", "name": "api-0"},
			"responseStatus": map[string]any{"code": 101}}
	}
	labelled := func(ev map[string]any) bool { return strings.Contains(e.Detect(ev, nil).IDs(), "pod_exec") }
	if !labelled(exec("a", "ResponseStarted")) {
		t.Fatal("ResponseStarted of an exec not labelled")
	}
	if labelled(exec("a", "ResponseComplete")) {
		t.Error("ResponseComplete of an exec whose ResponseStarted was judged labelled again")
	}
	if !labelled(exec("b", "ResponseComplete")) {
		t.Error("ResponseComplete of an exec with no ResponseStarted in the log not labelled")
	}
	if labelled(exec("c", "RequestReceived")) {
		t.Error("RequestReceived labelled")
	}
}
