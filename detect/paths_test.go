package detect_test

import (
	"strings"
	"testing"

	"github.com/kaudit/kaudit/detect"
)

// add_exceptions scopes a shipped rule from a site file: the named
// identity is quiet on that rule only, everyone else still fires.
func TestAddExceptions(t *testing.T) {
	site := `
rules:
  - id: secret_list_all_namespaces
    add_exceptions:
      - user.username: system:serviceaccount:tools:inventory
`
	e, err := detect.New(append(defaultSources(t), detect.Source{Name: "site.yaml", Data: []byte(site)})...)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(user string) map[string]any {
		return map[string]any{"stage": "ResponseComplete", "verb": "list", "user": map[string]any{"username": user},
			"sourceIPs": []any{"10.244.1.2"}, "objectRef": map[string]any{"resource": "secrets"}, "responseStatus": map[string]any{"code": 200}}
	}
	if got := e.Detect(ev("system:serviceaccount:tools:inventory"), nil).IDs(); got != "" {
		t.Errorf("excepted identity: %q", got)
	}
	if got := e.Detect(ev("system:serviceaccount:tools:other"), nil).IDs(); got != "secret_list_all_namespaces" {
		t.Errorf("other identity: %q", got)
	}
	for _, bad := range []string{
		"rules:\n  - id: no_such_rule\n    add_exceptions: [{verb: get}]\n",
		"rules:\n  - id: secret_list_all_namespaces\n    add_exceptions: [{no_such_field: x}]\n",
		"rules:\n  - id: x_new\n    title: t\n    severity: low\n    condition: {verb: get}\n    add_exceptions: [{verb: list}]\n",
	} {
		if _, err := detect.New(append(defaultSources(t), detect.Source{Name: "site.yaml", Data: []byte(bad)})...); err == nil || !strings.Contains(err.Error(), "site.yaml") {
			t.Errorf("%q: error %v, want one naming site.yaml", bad, err)
		}
	}
}

// every holds when all elements pass: a CA-bundle-only patch in object,
// strategic-merge or JSON-patch form, not one that also moves the service.
func TestEveryAndBodyPaths(t *testing.T) {
	e := defaultEngine(t)
	ev := func(body any) map[string]any {
		return map[string]any{"stage": "ResponseComplete", "verb": "patch", "user": map[string]any{"username": "mallory@example.com"},
			"sourceIPs": []any{"10.0.0.9"}, "responseStatus": map[string]any{"code": 200}, "requestObject": body,
			"objectRef": map[string]any{"resource": "validatingwebhookconfigurations", "name": "x", "apiGroup": "admissionregistration.k8s.io"}}
	}
	hook := func(cc map[string]any) map[string]any {
		return map[string]any{"webhooks": []any{map[string]any{"name": "a", "clientConfig": cc}}}
	}
	for _, tc := range []struct {
		name string
		body any
		want string
	}{
		{"ca only", hook(map[string]any{"caBundle": "LS0t"}), ""},
		{"ca only, json patch", []any{map[string]any{"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": "LS0t"}}, ""},
		{"ca and service", hook(map[string]any{"caBundle": "LS0t", "service": map[string]any{"name": "evil"}}), "admission_webhook_change"},
		{"failure policy", []any{map[string]any{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}}, "admission_webhook_change"},
		{"empty body", map[string]any{}, "admission_webhook_change"},
	} {
		if got := e.Detect(ev(tc.body), nil).IDs(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// user.ownNamespace tells a service account working in its own namespace
// from one reaching into another, and says nothing of people.
func TestOwnNamespace(t *testing.T) {
	rule := `
rules:
  - id: own_ns
    title: t
    severity: low
    mitre: [T1552]
    condition: {user.ownNamespace: true}
  - id: other_ns
    title: t
    severity: low
    mitre: [T1552]
    condition: {user.ownNamespace: false}
  - id: no_sa
    title: t
    severity: low
    mitre: [T1552]
    condition: {user.ownNamespace: {absent: true}}
`
	e, err := detect.New(detect.Source{Name: "t.yaml", Data: []byte(rule)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, ns, want string }{
		{"system:serviceaccount:argocd:argocd-server", "argocd", "own_ns"},
		{"system:serviceaccount:shop:web", "vault", "other_ns"},
		{"system:serviceaccount:shop:web", "", "other_ns"},
		{"system:serviceaccount:shopx:web", "shop", "other_ns"},
		{"system:serviceaccount:shop", "shop", "no_sa"},
		{"alice@example.com", "shop", "no_sa"},
		{"system:node:worker-1", "shop", "no_sa"},
	} {
		ref := map[string]any{"resource": "secrets"}
		if tc.ns != "" {
			ref["namespace"] = tc.ns
		}
		ev := map[string]any{"stage": "ResponseComplete", "verb": "list", "user": map[string]any{"username": tc.user}, "objectRef": ref}
		if got := e.Detect(ev, nil).IDs(); got != tc.want {
			t.Errorf("%s in %q: %q, want %q", tc.user, tc.ns, got, tc.want)
		}
	}
}

// body[...] steps through every list on its path, and a mapping at the
// end yields its keys and values, however deep the lists are.
func TestBodyPathNestedLists(t *testing.T) {
	rule := `
rules:
  - id: by_label_key
    title: t
    severity: low
    mitre: [T1098]
    condition:
      "body[aggregationRule.clusterRoleSelectors.matchLabels]": rbac.authorization.k8s.io/aggregate-to-admin
  - id: by_expression_key
    title: t
    severity: low
    mitre: [T1098]
    condition:
      "body[aggregationRule.clusterRoleSelectors.matchExpressions.key]": rbac.authorization.k8s.io/aggregate-to-edit
`
	e, err := detect.New(detect.Source{Name: "t.yaml", Data: []byte(rule)})
	if err != nil {
		t.Fatal(err)
	}
	ev := func(sel map[string]any) map[string]any {
		return map[string]any{"stage": "ResponseComplete", "verb": "create", "objectRef": map[string]any{"resource": "clusterroles"},
			"requestObject": map[string]any{"kind": "ClusterRole", "aggregationRule": map[string]any{"clusterRoleSelectors": []any{
				map[string]any{"matchLabels": map[string]any{"team": "a"}}, sel}}}}
	}
	for _, tc := range []struct {
		sel  map[string]any
		want string
	}{
		{map[string]any{"matchLabels": map[string]any{"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}, "by_label_key"},
		{map[string]any{"matchExpressions": []any{map[string]any{"key": "x"}, map[string]any{"key": "rbac.authorization.k8s.io/aggregate-to-edit", "operator": "Exists"}}}, "by_expression_key"},
		{map[string]any{"matchExpressions": []any{map[string]any{"key": "rbac.example.com/aggregate-to-monitoring"}}}, ""},
		{map[string]any{"matchLabels": "not a mapping"}, ""},
	} {
		if got := e.Detect(ev(tc.sel), nil).IDs(); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.sel, got, tc.want)
		}
	}
}
