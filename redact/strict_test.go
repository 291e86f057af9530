package redact

import (
	"strings"
	"testing"
)

// TestStrictMode: in request and response bodies only allow-listed fields
// keep their strings; what investigations and the detection rules need
// (names, labels, images, security context, RBAC) survives, and what no
// pattern could know to be secret (an env value under an innocent name, a
// free-text annotation) does not.
func TestStrictMode(t *testing.T) {
	r := defaultRedactor(t, Config{Mode: Strict})
	var dep map[string]any
	for _, ev := range benignEvents(t)["benign/events.jsonl"] {
		if ev["verb"] == "update" && lookupPath(ev, "objectRef.name") == "ingress-nginx-controller" && lookupPath(ev, "objectRef.resource") == "deployments" {
			dep = ev
		}
	}
	if dep == nil {
		t.Fatal("no Helm deployment update in the benign corpus")
	}
	orig := copyEvent(dep)
	dep["requestObject"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)["ops.example.com/notes"] = "call ops, code word kaudit-strict-x"
	spec := lookupPath(dep, "requestObject.spec.template.spec").(map[string]any)
	c0 := spec["containers"].([]any)[0].(map[string]any)
	c0["env"] = append(c0["env"].([]any), map[string]any{"name": "UPSTREAM", "value": "kaudit-strict-y"})
	rep := r.Redact(dep)
	if rep.Count(KindStrict) == 0 {
		t.Fatalf("report %q", rep)
	}
	out := string(mustMarshal(t, dep))
	for _, gone := range []string{"kaudit-strict-x", "kaudit-strict-y", "/usr/local/lib/libmimalloc.so"} {
		if strings.Contains(out, gone) {
			t.Errorf("%s kept in strict mode", gone)
		}
	}
	for _, p := range []string{"verb", "user.username", "objectRef.name", "requestObject.metadata.name", "requestObject.metadata.namespace",
		"requestObject.metadata.labels", "requestObject.spec.template.spec.serviceAccountName", "requestObject.spec.template.spec.tolerations"} {
		if a, b := lookupPath(orig, p), lookupPath(dep, p); !strings.EqualFold(string(mustMarshal(t, a)), string(mustMarshal(t, b))) {
			t.Errorf("%s changed in strict mode", p)
		}
	}
	if c := lookupPath(dep, "requestObject.spec.template.spec").(map[string]any)["containers"].([]any)[0].(map[string]any); c["image"] != lookupPath(orig, "requestObject.spec.template.spec").(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] {
		t.Error("image changed in strict mode")
	}
	if sc := lookupPath(dep, "requestObject.spec.template.spec").(map[string]any)["containers"].([]any)[0].(map[string]any)["securityContext"]; !strings.Contains(string(mustMarshal(t, sc)), "NET_BIND_SERVICE") {
		t.Error("security context changed in strict mode")
	}
	// RBAC bodies keep their rules and subjects whole.
	for _, ev := range benignEvents(t)["benign/events.jsonl"] {
		res := lookupPath(ev, "objectRef.resource")
		if res != "clusterroles" && res != "rolebindings" {
			continue
		}
		o := copyEvent(ev)
		r.Redact(ev)
		for _, p := range []string{"requestObject.rules", "requestObject.subjects", "requestObject.roleRef"} {
			if string(mustMarshal(t, lookupPath(o, p))) != string(mustMarshal(t, lookupPath(ev, p))) {
				t.Errorf("%s: %s changed in strict mode", res, p)
			}
		}
	}
	if m, err := ParseMode("lenient"); err == nil || !strings.Contains(err.Error(), "allowed: balanced, strict") || m != Balanced {
		t.Errorf("ParseMode(lenient) = %v, %v", m, err)
	}
}
