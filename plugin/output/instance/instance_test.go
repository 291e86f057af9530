package instance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/testdata"
)

func TestNewRejectsBadConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - id: x\n    severity: extreme\n"), 0o644)
	for _, tc := range []struct {
		in   config.MapGetter
		want string
	}{
		{config.MapGetter{"url": "nope"}, `url: "nope"`},
		{config.MapGetter{"rules_file": bad}, "rules_file:"},
		{config.MapGetter{"rules_file": bad}, `rule "x"`},
	} {
		_, err := New(tc.in, "test")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestRulesFileOverridesDefaults(t *testing.T) {
	f := filepath.Join(t.TempDir(), "site.yaml")
	os.WriteFile(f, []byte("rules:\n  - id: namespace_delete\n    enabled: false\n"), 0o644)
	in, err := New(config.MapGetter{"rules_file": f}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ev := map[string]any{"verb": "delete", "objectRef": map[string]any{"resource": "namespaces", "name": "prod"}, "user": map[string]any{"username": "bob"}}
	det, _ := pipeline.LoadRules(nil)
	if det.Detect(ev, nil).IDs() != "namespace_delete" {
		t.Fatal("the default rule does not fire")
	}
	if in.Pipeline == nil {
		t.Fatal("no pipeline")
	}
	site, _ := pipeline.LoadRules([]string{f})
	if got := site.Detect(ev, nil).IDs(); got != "" {
		t.Errorf("disabled rule still fires: %q", got)
	}
}

// README's detection table is generated from the embedded rules.
func TestReadmeRulesTable(t *testing.T) {
	det, err := pipeline.LoadRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	testdata.CheckReadme(t, "RULES", detect.Markdown(det.Rules()))
}

// A bad policy stops the instance at start with one line naming the key and
// the API server's own message; a good one is wired into the pipeline.
func TestAuditPolicyFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(bad, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  verb: [get]\n"), 0o644)
	_, err := New(config.MapGetter{"audit_policy_file": bad}, "test")
	if err == nil {
		t.Fatal("bad policy accepted")
	}
	for _, want := range []string{"audit_policy_file:", `strict decoding error: unknown field "rules[0].verb"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
	if _, err := New(config.MapGetter{"audit_policy_file": filepath.Join(t.TempDir(), "absent.yaml")}, "test"); err == nil || !strings.Contains(err.Error(), "audit_policy_file:") {
		t.Errorf("absent policy file: err %v", err)
	}
	if _, err := New(config.MapGetter{"policy_keep_severity": "urgent"}, "test"); err == nil || !strings.Contains(err.Error(), "policy_keep_severity:") {
		t.Errorf("bad policy_keep_severity: err %v", err)
	}
	in, err := New(config.MapGetter{"audit_policy_file": testdata.Path(t, "conf", "policy", "tiered.yaml"), "policy_keep_severity": "none"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Config.PolicyKeep != detect.None {
		t.Errorf("policy_keep_severity none: %v", in.Config.PolicyKeep)
	}
}

// The redaction keys reach the redactor: a bad redact_file stops start-up
// naming the key, the file and the rule key at fault; a good one adds rules
// after the embedded defaults and can switch one off.
func TestRedactKeys(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - id: x\n    resources: [widgets]\n    fields:\n      - path: spec.pin\n        keys: '(('\n"), 0o644)
	_, err := New(config.MapGetter{"redact_file": bad}, "test")
	if err == nil || !strings.Contains(err.Error(), "redact_file: ") || !strings.Contains(err.Error(), bad+": rules[0] (x): fields[0].keys:") {
		t.Errorf("err %v", err)
	}
	if _, err := New(config.MapGetter{"redact_hash_key": "short"}, "test"); err == nil || !strings.Contains(err.Error(), "redact_hash_key:") {
		t.Errorf("short hash key: err %v", err)
	}

	site := filepath.Join(dir, "site.yaml")
	os.WriteFile(site, []byte("marker: '<cut>'\nrules:\n  - id: container_env_credentials\n    enabled: false\n  - id: widget_pin\n    resources: [widgets.example.com]\n    fields:\n      - path: spec.pin\n"), 0o644)
	c, err := config.Parse(config.MapGetter{"redact_file": site, "redact_managed_fields": "off", "redact_hash_key": "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := pipeline.NewRedactor(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(red.Rules(), ","); got != "configmap_credential_keys,external_secrets_fake_provider,external_secrets_fake_generator,alertmanager_webhook_url,widget_pin" {
		t.Errorf("rules = %s", got)
	}
	ev := map[string]any{
		"objectRef":     map[string]any{"resource": "widgets", "apiGroup": "example.com"},
		"requestObject": map[string]any{"metadata": map[string]any{"managedFields": []any{}}, "spec": map[string]any{"pin": "1234"}},
	}
	if got := red.Redact(ev).String(); got != "rule_value=1" {
		t.Errorf("report %q", got)
	}
	pin := ev["requestObject"].(map[string]any)["spec"].(map[string]any)["pin"].(string)
	if !strings.HasPrefix(pin, "<cut> hmac=") || len(pin) != len("<cut> hmac=")+12 {
		t.Errorf("pin = %q", pin)
	}
}

// Like Fluent Bit's storage.path, the directory of rejected_path is made at
// start, private; a file in its way stops start-up on one line naming the
// key. Validation alone makes nothing.
func TestRejectedDirAtStart(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "var", "lib", "kaudit")
	g := config.MapGetter{"rejected_path": filepath.Join(dir, "rejected.jsonl")}
	in, err := NewWith(g, "test", Options{Quiet: true, NoServe: true, Validate: true})
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
	if _, err := os.Stat(filepath.Join(root, "var")); !os.IsNotExist(err) {
		t.Fatalf("validation touched the disk: %v", err)
	}
	in, err = NewWith(g, "test", Options{Quiet: true, NoServe: true})
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 || !st.IsDir() {
		t.Fatalf("directory: %v, %v", st, err)
	}

	// Only Prepare sees a directory that cannot be made for want of
	// permission; a file in the way is what a test can set up as any user.
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o600)
	_, err = NewWith(config.MapGetter{"rejected_path": filepath.Join(file, "r.jsonl")}, "test", Options{Quiet: true, NoServe: true})
	if err == nil || !strings.Contains(err.Error(), "rejected_path: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v", err)
	}
}
