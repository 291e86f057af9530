package detect_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kaudit/kaudit/detect"
)

func src(name, yaml string) detect.Source { return detect.Source{Name: name, Data: []byte(yaml)} }

func fixtureEvent(t *testing.T, rule, name string) map[string]any {
	t.Helper()
	for _, f := range loadFixtures(t) {
		if f.rule == rule && f.name == name {
			return f.ev
		}
	}
	t.Fatalf("no fixture %s/%s", rule, name)
	return nil
}

func ruleByID(e *detect.Engine, id string) (detect.Rule, bool) {
	for _, r := range e.Rules() {
		if r.ID == id {
			return r, true
		}
	}
	return detect.Rule{}, false
}

func TestOverrideReplacesWholeRule(t *testing.T) {
	e, err := detect.New(append(defaultSources(t), src("site.yaml", `
rules:
  - id: pod_exec
    title: Exec (SPDY only)
    severity: low
    condition:
      verb: create
      objectRef.subresource: exec
`))...)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := ruleByID(e, "pod_exec")
	if r.Severity != detect.Low || r.Title != "Exec (SPDY only)" || r.Source != "site.yaml" || len(r.MITRE) != 0 {
		t.Errorf("override not applied wholesale: %+v", r)
	}
	if got := e.Detect(fixtureEvent(t, "pod_exec", "positive_get_websocket"), nil).IDs(); got != "" {
		t.Errorf("replaced condition still matches get: %q", got)
	}
	if got := e.Detect(fixtureEvent(t, "pod_exec", "positive_attach"), nil).IDs(); got != "" {
		t.Errorf("replaced condition still matches attach: %q", got)
	}
	res := e.Detect(fixtureEvent(t, "pod_exec", "positive_create_spdy"), nil)
	if res.IDs() != "pod_exec" || res.Severity != detect.Low {
		t.Errorf("got %q %v, want pod_exec low", res.IDs(), res.Severity)
	}
}

func TestDisableAndReenable(t *testing.T) {
	ev := fixtureEvent(t, "pod_exec", "positive_attach")
	off := src("off.yaml", "rules:\n  - id: pod_exec\n    enabled: false\n")
	e, err := detect.New(append(defaultSources(t), off)...)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Detect(ev, nil).IDs(); got != "" {
		t.Errorf("disabled rule fired: %q", got)
	}
	if r, ok := ruleByID(e, "pod_exec"); !ok || r.Enabled {
		t.Errorf("Rules() should list pod_exec as disabled, got %+v", r)
	}
	on := src("on.yaml", "rules:\n  - id: pod_exec\n    enabled: true\n")
	e, err = detect.New(append(defaultSources(t), off, on)...)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Detect(ev, nil).IDs(); got != "pod_exec" {
		t.Errorf("re-enabled rule: got %q", got)
	}
}

func TestListAppendAndReplace(t *testing.T) {
	ev := fixtureEvent(t, "node_patch_unexpected", "positive_status_by_pod_identity")
	e := defaultEngine(t)
	if got := e.Detect(ev, nil).IDs(); got != "node_patch_unexpected" {
		t.Fatalf("baseline: got %q", got)
	}
	e, err := detect.New(append(defaultSources(t), src("site.yaml", `
lists:
  node_patchers:
    append: true
    items: ["system:serviceaccount:default:*"]
`))...)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Detect(ev, nil).IDs(); got != "" {
		t.Errorf("appended glob should except the patcher, got %q", got)
	}
	// Appending to node_users must keep the shipped system:node:* entry.
	e, err = detect.New(append(defaultSources(t), src("site.yaml", `
lists:
  node_users: {append: true, items: ["eks:node-manager"]}
`))...)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Detect(fixtureEvent(t, "node_patch_unexpected", "negative_kubelet_status"), nil).IDs(); got != "" {
		t.Errorf("append dropped the original items: got %q", got)
	}
	// Replacing node_users drops system:node:*, so kubelets become unexpected.
	e, err = detect.New(append(defaultSources(t), src("site.yaml", `
lists:
  node_users: ["eks:node-manager"]
`))...)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Detect(fixtureEvent(t, "node_patch_unexpected", "negative_kubelet_status"), nil).IDs(); got != "node_patch_unexpected" {
		t.Errorf("replaced list: got %q", got)
	}
}

func TestNewRuleInLaterSource(t *testing.T) {
	e, err := detect.New(append(defaultSources(t), src("site.yaml", `
rules:
  - id: forbidden_burst
    title: Forbidden request by a person
    severity: low
    condition:
      responseStatus.code: {gte: 400, lt: 404}
      annotations[authorization.k8s.io/decision]: forbid
      user.username: {not: {prefix: "system:"}}
`))...)
	if err != nil {
		t.Fatal(err)
	}
	ev := fixtureEvent(t, "anonymous_request_denied", "positive_secrets_forbidden")
	if got := e.Detect(ev, nil).IDs(); got != "anonymous_request_denied" {
		t.Errorf("system:anonymous must not match the new rule: %q", got)
	}
	ev = fixtureEvent(t, "secret_list_all_namespaces", "negative_forbidden")
	// A refused list is not "secrets listed": only the denial rules fire.
	const base = "secret_access_denied"
	if got := e.Detect(ev, nil).IDs(); got != base {
		t.Errorf("service account (system:) must not match: %q", got)
	}
	ev["user"] = map[string]any{"username": "mallory"}
	res := e.Detect(ev, nil)
	if res.IDs() != "forbidden_burst,"+base || res.Severity != detect.Medium {
		t.Errorf("got %q %v", res.IDs(), res.Severity)
	}
}

// TestLoadErrors: every message names the source, the rule id (or list) and
// the offending key, so a user can fix the file without reading code.
func TestLoadErrors(t *testing.T) {
	rule := func(body string) string {
		return "rules:\n  - id: r1\n    title: t\n    severity: high\n" + body
	}
	for _, tc := range []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "rulez: []\n", []string{"user.yaml", `unknown key "rulez"`, "allowed: lists, rules"}},
		{"unknown rule key", rule("    titel: x\n    condition: {verb: get}\n"), []string{"user.yaml", `rule "r1"`, `"titel"`}},
		{"rule key in wrong case", rule("    Condition: {verb: get}\n"), []string{`rule "r1"`, `unknown key "Condition"`}},
		{"top-level key in wrong case", "Rules: []\n", []string{"user.yaml", `unknown key "Rules"`}},
		{"unknown field", rule("    condition:\n      objectRef.resourc: pods\n"), []string{"user.yaml", `rule "r1"`, "condition.objectRef.resourc", `unknown field "objectRef.resourc"`, "objectRef.resource"}},
		{"unknown field in exceptions", rule("    condition: {verb: get}\n    exceptions:\n      - any:\n          - usr.name: x\n"), []string{`rule "r1"`, "exceptions[0].any[0].usr.name", "unknown field"}},
		{"field without its argument", rule("    condition: {annotations: x}\n"), []string{`rule "r1"`, `unknown field "annotations"`, "annotations[<key>]"}},
		{"bad regex", rule("    condition:\n      requestURI: {regex: \"(\"}\n"), []string{`rule "r1"`, "condition.requestURI.regex", "bad regex", "missing closing )"}},
		{"bad severity", "rules:\n  - id: r1\n    title: t\n    severity: urgent\n    condition: {verb: get}\n", []string{"user.yaml", `rule "r1"`, "severity", `"urgent"`, "allowed: info, low, medium, high, critical"}},
		{"severity none", "rules:\n  - id: r1\n    title: t\n    severity: none\n    condition: {verb: get}\n", []string{`rule "r1"`, `severity: unknown value "none"`}},
		{"missing severity", "rules:\n  - id: r1\n    title: t\n    condition: {verb: get}\n", []string{`rule "r1"`, "severity: required"}},
		{"missing title", "rules:\n  - id: r1\n    severity: low\n    condition: {verb: get}\n", []string{`rule "r1"`, "title: required"}},
		{"missing condition", rule(""), []string{`rule "r1"`, "condition: required"}},
		{"empty condition", rule("    condition: {}\n"), []string{`rule "r1"`, "empty condition"}},
		{"unknown operator", rule("    condition:\n      verb: {eq: get}\n"), []string{`rule "r1"`, "condition.verb.eq", `unknown operator "eq"`, "allowed: in, glob"}},
		{"unknown list", rule("    condition:\n      user.username: {list: admins}\n"), []string{`rule "r1"`, "condition.user.username.list", `unknown list "admins"`}},
		{"bad bool", rule("    condition:\n      pod.privileged: maybe\n"), []string{`rule "r1"`, "pod.privileged", `"maybe"`}},
		{"null test", rule("    condition:\n      objectRef.namespace:\n"), []string{`rule "r1"`, "condition.objectRef.namespace", "absent: true"}},
		{"absent not bool", rule("    condition:\n      objectRef.namespace: {absent: sure}\n"), []string{`rule "r1"`, "condition.objectRef.namespace.absent", "true or false"}},
		{"numeric op needs number", rule("    condition:\n      responseStatus.code: {gte: high}\n"), []string{`rule "r1"`, "responseStatus.code.gte", "want a number"}},
		{"any needs list", rule("    condition:\n      any: get\n"), []string{`rule "r1"`, "condition.any", "list of condition mappings"}},
		{"bad id", "rules:\n  - id: Pod-Exec\n    title: t\n    severity: low\n    condition: {verb: get}\n", []string{`rule "Pod-Exec"`, "id: must match"}},
		{"missing id", "rules:\n  - title: t\n    severity: low\n    condition: {verb: get}\n", []string{"user.yaml", "rules[0]", "id: must match"}},
		{"bad mitre", rule("    mitre: [T12]\n    condition: {verb: get}\n"), []string{`rule "r1"`, "mitre[0]", `"T12"`}},
		{"wrong type", "rules:\n  - id: r1\n    title: [a]\n    severity: low\n    condition: {verb: get}\n", []string{`rule "r1"`, "title: want a string, got a list"}},
		{"duplicate id", rule("    condition: {verb: get}\n") + "  - id: r1\n    enabled: false\n", []string{`rule "r1"`, "defined twice"}},
		{"disable unknown rule", "rules:\n  - id: nope\n    enabled: false\n", []string{"user.yaml", `rule "nope"`, "no earlier source defines"}},
		{"entry without effect", "rules:\n  - id: pod_exec\n", []string{`rule "pod_exec"`, "nothing to do"}},
		{"append to undefined list", "lists:\n  admins: {append: true, items: [a]}\n", []string{"user.yaml", "lists.admins", "no earlier source defines"}},
		{"unknown list key", "lists:\n  admins: {items: [a], apend: true}\n", []string{"lists.admins", `unknown key "apend"`}},
		{"bad list item", "lists:\n  admins: [a, {b: c}]\n", []string{"lists.admins.items[1]", "non-empty string"}},
		{"bad list name", "lists:\n  Admins: [a]\n", []string{"lists.Admins", "must match"}},
		{"threshold without key", rule("    condition: {verb: get}\n    threshold: {window: 1m, more_than: 3}\n"), []string{`rule "r1"`, "threshold.key: required"}},
		{"threshold list key", rule("    condition: {verb: get}\n    threshold: {key: [user.groups], window: 1m, more_than: 3}\n"), []string{`rule "r1"`, "threshold.key[0]", "user.groups is a list field"}},
		{"threshold bad window", rule("    condition: {verb: get}\n    threshold: {key: [user.username], window: soon, more_than: 3}\n"), []string{`rule "r1"`, "threshold.window", `"soon"`}},
		{"threshold no count", rule("    condition: {verb: get}\n    threshold: {key: [user.username], window: 1m}\n"), []string{`rule "r1"`, "threshold.more_than: required"}},
		{"threshold huge max_keys", rule("    condition: {verb: get}\n    threshold: {key: [user.username], window: 1m, more_than: 1, max_keys: 99999999}\n"), []string{`rule "r1"`, "threshold.max_keys", "want 1 to 1048576"}},
		{"threshold unknown key", rule("    condition: {verb: get}\n    threshold: {key: [user.username], window: 1m, more_than: 1, per: x}\n"), []string{`rule "r1"`, `threshold: unknown key "per" (allowed: key, distinct`}},
		{"sequence without after", rule("    condition: {verb: get}\n    sequence: {key: [user.username], window: 1m}\n"), []string{`rule "r1"`, "sequence.after: required"}},
		{"sequence bad after", rule("    condition: {verb: get}\n    sequence: {after: {vrb: get}, key: [user.username], window: 1m}\n"), []string{`rule "r1"`, "sequence.after.vrb", "unknown field"}},
		{"sequence without key", rule("    condition: {verb: get}\n    sequence: {after: {verb: get}, window: 1m}\n"), []string{`rule "r1"`, "sequence.key: required"}},
		{"sequence bad window", rule("    condition: {verb: get}\n    sequence: {after: {verb: get}, key: [user.username], window: 0s}\n"), []string{`rule "r1"`, "sequence.window", `"0s"`}},
		{"sequence at_least", rule("    condition: {verb: get}\n    sequence: {after: {verb: get}, key: [user.username], window: 1m, at_least: 101}\n"), []string{`rule "r1"`, "sequence.at_least", "want 1 to 100"}},
		{"sequence unknown key", rule("    condition: {verb: get}\n    sequence: {after: {verb: get}, key: [user.username], window: 1m, within: 1m}\n"), []string{`rule "r1"`, `sequence: unknown key "within" (allowed: after, at_least, key, window, max_keys)`}},
		{"sequence and threshold", rule("    condition: {verb: get}\n    threshold: {key: [user.username], window: 1m, more_than: 1}\n    sequence: {after: {verb: get}, key: [user.username], window: 1m}\n"), []string{`rule "r1"`, "sequence: a rule is a threshold or a sequence, not both"}},
		{"bad cidr", rule("    condition:\n      sourceIP: {cidr: [10.0.0.0/33]}\n"), []string{`rule "r1"`, "condition.sourceIP.cidr", "neither an address nor a CIDR"}},
		{"bad cidr in list", "lists:\n  bad_ips: [not-an-ip]\n" + rule("    condition:\n      sourceIPs: {cidr_list: bad_ips}\n"), []string{`rule "r1"`, "cidr_list", `"not-an-ip"`}},
		{"yaml syntax", "rules: [\n", []string{"user.yaml", "yaml"}},
		{"duplicate yaml key", "lists:\n  a: [x]\n  a: [y]\n", []string{"user.yaml", `"a"`, "already"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := detect.New(append(defaultSources(t), src("user.yaml", tc.yaml))...)
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadErrorsAreAllReported(t *testing.T) {
	_, err := detect.New(
		src("a.yaml", "rules:\n  - id: one\n    title: t\n    severity: urgent\n    condition: {verb: get}\n  - id: two\n    title: t\n    severity: low\n    condition: {vrb: get, requestURI: {regex: '['}}\n"),
		src("b.yaml", "rules:\n  - id: three\n    enabled: false\n"),
	)
	if err == nil {
		t.Fatal("loaded without error")
	}
	msg := err.Error()
	for _, w := range []string{`a.yaml: rule "one": severity`, `a.yaml: rule "two": condition.vrb`, `a.yaml: rule "two": condition.requestURI.regex`, `b.yaml: rule "three"`} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in\n%s", w, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != 4 {
		t.Errorf("%d errors, want 4:\n%s", n, msg)
	}
}

func TestEmptyAndNoSources(t *testing.T) {
	e, err := detect.New(src("empty.yaml", ""), src("comments.yaml", "# nothing yet\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res := e.Detect(fixtureEvent(t, "pod_exec", "positive_attach"), nil); res.Severity != detect.None || res.IDs() != "" {
		t.Errorf("empty engine matched: %+v", res)
	}
	if _, err := detect.New(); err != nil {
		t.Fatal(err)
	}
}

func TestFromFS(t *testing.T) {
	fsys := fstest.MapFS{
		"rules/20-site.yaml": {Data: []byte("rules:\n  - id: pod_exec\n    enabled: false\n")},
		"rules/10-base.yaml": {Data: []byte("rules:\n  - id: pod_exec\n    title: t\n    severity: low\n    condition: {objectRef.subresource: exec}\n")},
		"rules/notes.txt":    {Data: []byte("not yaml")},
		"other/ignored.yaml": {Data: []byte("bad: [")},
	}
	srcs, err := detect.FromFS(fsys, "rules/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 || srcs[0].Name != "rules/10-base.yaml" || srcs[1].Name != "rules/20-site.yaml" {
		t.Fatalf("want the two yaml files in lexical order, got %v", srcs)
	}
	e, err := detect.New(srcs...)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := ruleByID(e, "pod_exec"); r.Enabled || r.Source != "rules/10-base.yaml" {
		t.Errorf("got %+v", r)
	}
	if _, err := detect.FromFS(fsys, "nothing/*.yaml"); err == nil || !strings.Contains(err.Error(), "nothing/*.yaml") {
		t.Errorf("want an error naming the pattern, got %v", err)
	}
}

func TestSeverity(t *testing.T) {
	order := []detect.Severity{detect.None, detect.Info, detect.Low, detect.Medium, detect.High, detect.Critical}
	for i, s := range order {
		if i > 0 && !(order[i-1] < s) {
			t.Errorf("%v not below %v", order[i-1], s)
		}
		got, err := detect.ParseSeverity(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("ParseSeverity(%q) = %v, %v", s.String(), got, err)
		}
		b, err := s.MarshalText()
		var back detect.Severity
		if err != nil || back.UnmarshalText(b) != nil || back != s {
			t.Errorf("text round trip of %v: %q %v", s, b, err)
		}
	}
	if _, err := detect.ParseSeverity("urgent"); err == nil || !strings.Contains(err.Error(), "allowed: none, info, low, medium, high, critical") {
		t.Errorf("got %v", err)
	}
	if got := detect.Severity(9).String(); got != "Severity(9)" {
		t.Errorf("got %q", got)
	}
}
