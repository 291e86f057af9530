package redact

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/conf"
)

// TestRulesInvalid: every bad rules file fails at New, naming the file, the
// rule and the key.
func TestRulesInvalid(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"not yaml", "rules: [", "site.yaml: "},
		{"unknown top key", "rulez: []", `site.yaml: json: unknown field "rulez"`},
		{"unknown rule key", "rules:\n  - id: a\n    resource: [x]\n", `unknown field "resource"`},
		{"duplicate yaml key", "rules: []\nrules: []\n", `site.yaml: `},
		{"bad id", "rules:\n  - id: Bad-Id\n    resources: [x]\n    fields: [{path: a}]\n", `rules[0]: id: "Bad-Id"`},
		{"duplicate id", "rules:\n  - {id: a, resources: [x], fields: [{path: a}]}\n  - {id: a, resources: [z], fields: [{path: a}]}\n", "rules[1] (a): id: duplicate"},
		{"no target", "rules:\n  - {id: a, fields: [{path: a}]}\n", "rules[0] (a): resources: a rule needs resources, kinds or both"},
		{"no fields", "rules:\n  - {id: a, resources: [x]}\n", "rules[0] (a): fields: a rule needs fields, env or both"},
		{"bad resource", "rules:\n  - {id: a, resources: [Pods], fields: [{path: a}]}\n", `resources[0]: "Pods" is not a resource`},
		{"secret-bearing kind resource", "rules:\n  - {id: a, resources: [secrets], fields: [{path: a}]}\n", `resources[0]: "secrets" is a built-in secret-bearing kind`},
		{"secret-bearing kind kind", "rules:\n  - {id: a, kinds: [TokenReview], fields: [{path: a}]}\n", `kinds[0]: "TokenReview" is a built-in secret-bearing kind`},
		{"list kind", "rules:\n  - {id: a, kinds: [ConfigMapList], fields: [{path: a}]}\n", `kinds[0]: "ConfigMapList"`},
		{"bad kind", "rules:\n  - {id: a, kinds: [configmap], fields: [{path: a}]}\n", `kinds[0]: "configmap" is not a kind`},
		{"empty path", "rules:\n  - {id: a, kinds: [X], fields: [{keys: a}]}\n", "fields[0].path: empty"},
		{"empty segment", "rules:\n  - {id: a, kinds: [X], fields: [{path: a..b}]}\n", `fields[0].path: "a..b" has an empty segment`},
		{"list step alone", "rules:\n  - {id: a, kinds: [X], fields: [{path: 'a.[].b'}]}\n", `fields[0].path: "a.[].b" has an empty segment`},
		{"index in path", "rules:\n  - {id: a, kinds: [X], fields: [{path: 'a[0].b'}]}\n", `fields[0].path: "a[0].b": a bracket stands only as [] after a step that holds a list`},
		{"bad keys", "rules:\n  - {id: a, kinds: [X], fields: [{path: a, keys: '('}]}\n", "fields[0].keys: error parsing regexp"},
		{"except without keys", "rules:\n  - {id: a, kinds: [X], fields: [{path: a, except_keys: b}]}\n", "fields[0].except_keys: needs keys or jwt"},
		{"env without names", "rules:\n  - {id: a, kinds: [X], env: {}}\n", "env.names: empty"},
		{"bad env names", "rules:\n  - {id: a, kinds: [X], env: {names: '['}}\n", "env.names: error parsing regexp"},
		{"bad marker", "marker: \"a\\nb\"\n", "site.yaml: marker: contains a control character"},
		{"empty marker", "marker: ''\n", "site.yaml: marker: empty"},
		{"pod specs", "pod_specs: {paths: [spec.x], containers: [sidecars]}\n", "site.yaml: pod_specs: built in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Rules: []Source{{Name: conf.RedactName, Data: conf.Redact}, {Name: "site.yaml", Data: []byte(tc.yaml)}}})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "rules: ") {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	// Several problems are reported together.
	_, err := New(Config{Rules: []Source{{Name: "a.yaml", Data: []byte("rules:\n  - {id: a, kinds: [x], fields: [{path: ''}]}\n")}}})
	if err == nil || !strings.Contains(err.Error(), "kinds[0]") || !strings.Contains(err.Error(), "fields[0].path") {
		t.Errorf("not every problem reported: %v", err)
	}
}

// TestRulesOverride: a later file replaces a rule by id, disables one, sets
// the marker, and an empty file changes nothing.
func TestRulesOverride(t *testing.T) {
	r := defaultRedactor(t, Config{Rules: []Source{
		{Name: "empty.yaml", Data: []byte("# nothing\n")},
		{Name: "site.yaml", Data: []byte("marker: '<cut>'\nrules:\n  - id: container_env_credentials\n    enabled: false\n  - id: configmap_credential_keys\n    kinds: [ConfigMap]\n    resources: [configmaps]\n    fields: [{path: data, keys: '^pin$'}]\n")},
	}})
	if got := strings.Join(r.Rules(), ","); got != "configmap_credential_keys,external_secrets_fake_provider,external_secrets_fake_generator,alertmanager_webhook_url" {
		t.Errorf("rules %s", got)
	}
	ev := map[string]any{
		"objectRef":     map[string]any{"resource": "configmaps"},
		"requestObject": map[string]any{"data": map[string]any{"pin": "1", "password": "kept-now"}},
	}
	// The rule now names pin only; password is still removed, by name:
	// a rule adds to what is removed, it cannot keep a credential.
	if rep := r.Redact(ev).String(); rep != "credential_name=1,rule_value=1" {
		t.Errorf("report %q", rep)
	}
	data := ev["requestObject"].(map[string]any)["data"].(map[string]any)
	if data["pin"] != "<cut>" || data["password"] != "<cut>" {
		t.Errorf("data %v", data)
	}
	pod := map[string]any{"objectRef": map[string]any{"resource": "pods"}, "requestObject": map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"env": []any{map[string]any{"name": "PASSWORD", "value": "still-removed"}, map[string]any{"name": "TOKENISH_MODE", "value": "kept"}}}}}}}
	if rep := r.Redact(pod).String(); rep != "credential_name=1" {
		t.Errorf("disabled env rule: report %q, want the name check alone", rep)
	}
}

func TestIsJWT(t *testing.T) {
	for s, want := range map[string]bool{
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln":        true,
		"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln": true,
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.":             true,
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0":             false,
		"eyJhbGciOiJIUzI1NiJ9..c2ln":                       false,
		"eyJ.a.b.c":                                        false,
		"eyJ a.b.c":                                        false,
		"hello.world.x":                                    false,
		"":                                                 false,
	} {
		if got := isJWT(s); got != want {
			t.Errorf("isJWT(%q) = %v", s, got)
		}
	}
}

// TestHashKey: with a key each removed string carries a short keyed hash,
// equal for equal values and different for different ones (a rotation is
// visible); the value itself never appears; a second pass changes nothing.
func TestHashKey(t *testing.T) {
	key := []byte("0123456789abcdef")
	r := mustNew(t, Config{HashKey: key})
	mk := func(a, b string) map[string]any {
		return map[string]any{"objectRef": map[string]any{"resource": "secrets"},
			"requestObject": map[string]any{"data": map[string]any{"a": a, "b": b, "c": map[string]any{"x": 1}}}}
	}
	ev := mk("c2VjcmV0LTE=", "c2VjcmV0LTE=")
	r.Redact(ev)
	data := ev["requestObject"].(map[string]any)["data"].(map[string]any)
	a, b := data["a"].(string), data["b"].(string)
	if !strings.HasPrefix(a, DefaultMarker+" hmac=") || len(a) != len(DefaultMarker)+len(" hmac=")+12 || a != b {
		t.Errorf("a=%q b=%q", a, b)
	}
	if data["c"] != DefaultMarker {
		t.Errorf("non-string value: %v", data["c"])
	}
	ev2 := mk("c2VjcmV0LTI=", "")
	r.Redact(ev2)
	if a2 := ev2["requestObject"].(map[string]any)["data"].(map[string]any)["a"]; a2 == a {
		t.Error("a rotated value has the same hash")
	}
	other := mustNew(t, Config{HashKey: []byte("fedcba9876543210")})
	ev3 := mk("c2VjcmV0LTE=", "")
	other.Redact(ev3)
	if ev3["requestObject"].(map[string]any)["data"].(map[string]any)["a"] == a {
		t.Error("the hash does not depend on the key")
	}
	before := copyEvent(ev)
	if rep := r.Redact(ev); !rep.Empty() || !reflectEqual(ev, before) {
		t.Errorf("second pass reported %q or changed the event", rep)
	}
	for _, bad := range [][]byte{[]byte("short"), make([]byte, 257)} {
		if _, err := New(Config{HashKey: bad}); err == nil || !strings.Contains(err.Error(), "hash_key:") {
			t.Errorf("%d-byte key: err %v", len(bad), err)
		}
	}
}

// TestManagedFields: removed by default from every object (a foreign body,
// list items, a kind's object), kept when configured.
func TestManagedFields(t *testing.T) {
	mf := func() map[string]any {
		return map[string]any{"name": "x", "managedFields": []any{map[string]any{"manager": "m", "fieldsV1": map[string]any{"f:data": map[string]any{"f:password": map[string]any{}}}}}}
	}
	mk := func() map[string]any {
		return map[string]any{"objectRef": map[string]any{"resource": "leases", "apiGroup": "coordination.k8s.io"},
			"requestObject":  map[string]any{"kind": "Lease", "metadata": mf()},
			"responseObject": map[string]any{"kind": "LeaseList", "items": []any{map[string]any{"metadata": mf()}, map[string]any{"kind": "Secret", "metadata": mf()}}}}
	}
	ev := mk()
	if rep := NewDefault().Redact(ev).String(); rep != "managed_fields=3" {
		t.Errorf("report %q", rep)
	}
	if strings.Contains(string(mustMarshal(t, ev)), "managedFields") {
		t.Error("managedFields left")
	}
	kept := mk()
	if rep := mustNew(t, Config{KeepManagedFields: true}).Redact(kept); !rep.Empty() {
		t.Errorf("kept: report %q", rep)
	}
}

func reflectEqual(a, b map[string]any) bool { return reflect.DeepEqual(a, b) }

// TestReadmeExample keeps the rules example in redact/README.md loadable.
func TestReadmeExample(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml example in README.md")
	}
	r := defaultRedactor(t, Config{Rules: []Source{{Name: "README.md", Data: []byte(example)}}})
	if got := strings.Join(r.Rules(), ","); got != "configmap_credential_keys,external_secrets_fake_provider,external_secrets_fake_generator,alertmanager_webhook_url,widget_credentials,rollout_env" {
		t.Errorf("rules %s", got)
	}
	ev := map[string]any{"objectRef": map[string]any{"resource": "widgets", "apiGroup": "example.com"},
		"requestObject": map[string]any{"spec": map[string]any{"pin": "1", "settings": map[string]any{"db_password": "x", "token_url": "https://t"},
			"pins": []any{map[string]any{"name": "door", "value": "4711"}}}}}
	if rep := r.Redact(ev).String(); rep != "rule_value=3" {
		t.Errorf("report %q", rep)
	}
	if r.Marker() != "<removed>" {
		t.Errorf("marker %q", r.Marker())
	}
}

// TestMatcherAgreesWithRegexp: the literal fast path answers exactly as the
// regexp does, for ASCII and non-ASCII input (the Kelvin sign folds to k).
func TestMatcherAgreesWithRegexp(t *testing.T) {
	inputs := []string{"", "password", "DB_PASSWORD", "Passwd", "api-KEY", "monkey", "MODE", "x-token-y", "secre", "SECRET",
		"\u212aey", "pa\u017f\u017fword", "credentials", "CREDENTIAL", "kE", "ke", "k", "pin", "xpinx", "PIN"}
	for _, p := range []string{
		`(?i)(password|passwd|secret|token|credential|key)`,
		`(?i)password|key`,
		`(?i)k`,
		`pin`,
		`^pin$`,
		`(?i)(a|b)(c|d)`,
		`[0-9]+`,
		`(?i)pass(word)?`,
	} {
		m, err := compileMatcher(p)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(p)
		for _, in := range inputs {
			if got, want := m.MatchString(in), re.MatchString(in); got != want {
				t.Errorf("%q on %q: %v, regexp says %v (fast=%v)", p, in, got, want, m.fast())
			}
		}
	}
	if m, _ := compileMatcher(`(?i)(password|passwd|secret|token|credential|key)`); !m.fast() {
		t.Error("the default pattern is not on the fast path")
	}
	if m, _ := compileMatcher(`^pin$`); m.fast() {
		t.Error("an anchored pattern is on the fast path")
	}
}

// TestLastAppliedPrefilter: on objects a rule claims, the annotation is
// parsed only when it may hold something to remove, and an escape that
// could hide a key or kind always makes it parsed.
func TestLastAppliedPrefilter(t *testing.T) {
	r := defaultRedactor(t, Config{})
	cm := func(la string) map[string]any {
		return map[string]any{"objectRef": map[string]any{"resource": "configmaps"},
			"requestObject": map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"annotations": map[string]any{lastAppliedKey: la}}}}
	}
	for _, tc := range []struct{ la, report string }{
		{`{"apiVersion":"v1","data":{"mode":"fast"},"kind":"ConfigMap"}` + "\n", ""},
		{`{"apiVersion":"v1","data":{"password":"CANARY-1"},"kind":"ConfigMap"}` + "\n", "last_applied=1"},
		{`{"apiVersion":"v1","data":{"pass\u0077ord":"CANARY-1"},"kind":"ConfigMap"}`, "last_applied=1"},
		{`{"apiVersion":"v1","data":{"x":"CANARY-1"},"kind":"Secr\u0065t"}`, "last_applied=1"},
		{`{"data":{"mode":"eyJhbGciOiJIUzI1NiJ9.Q0FOQVJZLTE.c2ln"},"kind":"ConfigMap"}`, "last_applied=1"},
		{`{"data":{"mode":"fast"},"kind":"ConfigMap"`, "failed_closed=1"},
	} {
		ev := cm(tc.la)
		if got := r.Redact(ev).String(); got != tc.report {
			t.Errorf("%s: report %q, want %q", tc.la, got, tc.report)
		}
		assertNoLeak(t, ev, "CANARY-1")
	}
	ev := cm(`{"apiVersion":"v1","data":{"mode":"fast"},"kind":"ConfigMap"}` + "\n")
	if n := testing.AllocsPerRun(100, func() { r.Redact(ev) }); n != 0 && !raceEnabled {
		t.Errorf("a ConfigMap with nothing to remove in its annotation: %v allocs", n)
	}
}

// TestRulesWhereverTheObjectIs: a rule applies to its kind's objects
// wherever the sweep finds them, and to the bodies of an event on its
// resource whatever their shape: a kindless merge patch, a JSON patch (the
// value at the rule's path, a member of its map, an env variable set by
// index), a list's items, an object nested in another one, an annotation
// that records one.
func TestRulesWhereverTheObjectIs(t *testing.T) {
	site := "rules:\n" +
		"  - id: widget_credentials\n    resources: [widgets.example.com]\n    kinds: [Widget]\n" +
		"    fields:\n      - path: spec.pin\n      - path: spec.settings\n        keys: '(?i)pin'\n        except_keys: '^pinned$'\n" +
		"    env:\n      names: '(?i)pin'\n"
	r := defaultRedactor(t, Config{Rules: []Source{{Name: "site.yaml", Data: []byte(site)}}})
	onWidgets := func(body any) map[string]any {
		return map[string]any{"objectRef": map[string]any{"resource": "widgets", "apiGroup": "example.com"}, "requestObject": body}
	}
	widget := func() map[string]any {
		return map[string]any{"kind": "Widget", "spec": map[string]any{"pin": "CANARY-1", "settings": map[string]any{"pinCode": "CANARY-2", "pinned": "kept"}}}
	}
	for _, tc := range []struct {
		name, report, kept string
		ev                 map[string]any
	}{
		{"merge patch", "rule_value=2", "kept", onWidgets(map[string]any{"spec": map[string]any{"pin": "CANARY-1", "settings": map[string]any{"pinCode": "CANARY-2", "pinned": "kept"}}})},
		{"json patch", "rule_value=4", "", onWidgets([]any{
			map[string]any{"op": "replace", "path": "/spec/pin", "value": "CANARY-1"},
			map[string]any{"op": "add", "path": "/spec/settings/pinCode", "value": "CANARY-2"},
			map[string]any{"op": "add", "path": "/spec/settings", "value": map[string]any{"pinCode": "CANARY-3"}},
			map[string]any{"op": "replace", "path": "/spec/template/spec/containers/0/env/2/value", "value": "CANARY-4"},
		})},
		{"list items", "rule_value=2", "kept", onWidgets(map[string]any{"kind": "WidgetList", "items": []any{map[string]any{"spec": widget()["spec"]}}})},
		{"nested in another object", "rule_value=2", "kept", map[string]any{"objectRef": map[string]any{"resource": "gadgets", "apiGroup": "example.com"},
			"requestObject": map[string]any{"kind": "Gadget", "spec": map[string]any{"inline": widget()}}}},
		{"pod template env", "rule_value=1", "fast", onWidgets(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"env": []any{map[string]any{"name": "PIN", "value": "CANARY-1"}, map[string]any{"name": "MODE", "value": "fast"}}}}}}}})},
		{"recorded in last-applied", "last_applied=1", "kept", map[string]any{"objectRef": map[string]any{"resource": "gadgets"},
			"requestObject": map[string]any{"kind": "Gadget", "metadata": map[string]any{"annotations": map[string]any{lastAppliedKey: string(mustMarshal(t, widget()))}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Redact(tc.ev).String(); got != tc.report {
				t.Errorf("report %q, want %q", got, tc.report)
			}
			assertNoLeak(t, tc.ev, "CANARY-")
			if out := string(mustMarshal(t, tc.ev)); tc.kept != "" && !strings.Contains(out, tc.kept) {
				t.Errorf("%q not kept: %s", tc.kept, out)
			}
		})
	}
	// Without the rule, the same names are not credentials: what removes
	// them above is the rule.
	ev := onWidgets(map[string]any{"spec": map[string]any{"pin": "1234"}})
	if rep := defaultRedactor(t, Config{}).Redact(ev); !rep.Empty() {
		t.Errorf("no rule: report %q", rep)
	}
}
