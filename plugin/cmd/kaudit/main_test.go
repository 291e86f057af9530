package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runT(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsage(t *testing.T) {
	code, out, _ := runT(t)
	if code != 0 || !strings.Contains(out, "kaudit replay") || !strings.Contains(out, "kaudit push") || !strings.Contains(out, "kaudit check") {
		t.Errorf("plain kaudit: code %d\n%s", code, out)
	}
	code, _, errOut := runT(t, "frobnicate")
	if code != 2 || !strings.HasPrefix(errOut, `kaudit: unknown command "frobnicate"`) {
		t.Errorf("unknown command: code %d\n%s", code, errOut)
	}
	code, _, errOut = runT(t, "replay")
	if code != 2 || !strings.Contains(errOut, "no input file") {
		t.Errorf("replay without files: code %d\n%s", code, errOut)
	}
}

// check fails with one precise line per problem, naming the key or the rule.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	badRules := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badRules, []byte("rules:\n  - id: x\n    severity: extreme\n"), 0o644)
	badRedact := filepath.Join(dir, "bad-redact.yaml")
	os.WriteFile(badRedact, []byte("rules:\n  - id: r\n    resources: [widgets]\n    colour: red\n"), 0o644)
	goodRedact := filepath.Join(dir, "good-redact.yaml")
	os.WriteFile(goodRedact, []byte("rules:\n  - id: container_env_credentials\n    enabled: false\n"), 0o644)
	goodRules := filepath.Join(dir, "good.yaml")
	os.WriteFile(goodRules, []byte("rules:\n  - id: namespace_delete\n    enabled: false\n"), 0o644)
	classic := filepath.Join(dir, "fluent-bit.conf")
	os.WriteFile(classic, []byte(`[SERVICE]
    flush 1
@SET loki=loki.example
[OUTPUT]
    Name   stdout
    Match  *
[OUTPUT]
    Name   kaudit
    Match  kube.audit
    url    http://${loki}:3100/loki/api/v1/push
    labels job=kube-audit, cluster=${CLUSTER}
[OUTPUT]
    Name    kaudit
    Match   other
    timeout forever
`), 0o644)
	yamlConf := filepath.Join(dir, "fluent-bit.yaml")
	os.WriteFile(yamlConf, []byte(`pipeline:
  outputs:
    - name: kaudit
      match: '*'
      url: http://loki:3100/loki/api/v1/push
      max_request_bytes: 1048576
      metrics_listen: 0.0.0.0:2021
`), 0o644)
	t.Setenv("CLUSTER", "prod")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"defaults", nil, 0, "kaudit check: ok (1 output(s), 0 filter(s) or processor(s), 0 rule file(s), 0 redaction file(s))"},
		{"bad redact", []string{"--redact", badRedact}, 1, "redact_file: "},
		{"bad redact names the key", []string{"--redact", badRedact}, 1, "colour"},
		{"good redact", []string{"--redact", goodRedact}, 0, "1 redaction file(s)"},
		{"bad key", []string{"-o", "url=ftp://x"}, 1, `kaudit: kaudit.`},
		{"bad key text", []string{"-o", "unrecognized=keep"}, 1, `unrecognized: unknown value "keep" (allowed: drop, pass)`},
		{"bad listen", []string{"-o", "metrics_listen=nowhere"}, 1, `metrics_listen: "nowhere" is not host:port`},
		{"bad rules", []string{"--rules", badRules}, 1, `rule "x"`},
		{"good rules", []string{"--rules", goodRules}, 0, "1 rule file(s)"},
		{"classic: second output bad", []string{"--config", classic}, 1, `fluent-bit.conf:13: [OUTPUT] kaudit: kaudit.`},
		{"classic: override fixes it", []string{"--config", classic, "-o", "timeout=5s"}, 0, "ok (2 output(s)"},
		{"yaml", []string{"--config", yamlConf}, 0, "ok (1 output(s)"},
		{"no kaudit output", []string{"--config", badRules}, 1, "no output, filter or processor with name kaudit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runT(t, append([]string{"check"}, tc.args...)...)
			all := out + errOut
			if code != tc.code || !strings.Contains(all, tc.want) {
				t.Errorf("code %d, want %d; output %q, want %q", code, tc.code, all, tc.want)
			}
			if code == 1 && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("not one line: %q", errOut)
			}
		})
	}
	// The classic file's values, with ${VAR} and @SET expanded, reach the plugin.
	outs, err := readConfig(classic)
	if err != nil || len(outs) != 2 || outs[0]["url"] != "http://loki.example:3100/loki/api/v1/push" || outs[0]["labels"] != "job=kube-audit, cluster=prod" {
		t.Errorf("readConfig: %v %v", outs, err)
	}
}

// Every input shape a backfill meets gives the entries the plugin would
// send: raw events, EventList, AKS, pretty-printed documents, gzip under a
// rotated name, and lines that are not JSON (counted, not sent).
func TestReplayInputs(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	dir := t.TempDir()
	ev := func(id string) string {
		return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"` + id + `","stage":"ResponseComplete","verb":"delete","user":{"username":"alice"},"objectRef":{"resource":"namespaces","name":"prod"},"stageTimestamp":"2024-01-01T00:00:0` + id + `Z"}`
	}
	plain := ev("1") + "\n" + "not json at all\n\n" + `{"kind":"EventList","items":[` + ev("2") + `,` + ev("3") + `]}` + "\n"
	os.WriteFile(filepath.Join(dir, "audit.log"), []byte(plain), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	aks, _ := json.Marshal(map[string]any{"category": "kube-audit", "properties": map[string]any{"log": ev("4")}})
	zw.Write(append(aks, '\n'))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "audit-2024-01-01T00-00-00.000.log"), gz.Bytes(), 0o644)

	code, out, errOut := runT(t, "replay", "-o", "labels=job=audit", filepath.Join(dir, "audit.log"), filepath.Join(dir, "audit-2024-01-01T00-00-00.000.log"),
		filepath.Join(root, "testdata", "shapes", "eventlist.json"))
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		md, ls := e.Metadata.Map(), e.Labels.Map()
		ids = append(ids, md["audit_id"])
		if ls["job"] != "audit" {
			t.Errorf("labels %v", ls)
		}
		if len(md["audit_id"]) == 1 { // the four written above
			if ls["detection"] != "namespace_delete" || ls["severity"] != "high" || md["user"] != "alice" || !strings.HasPrefix(e.Time, "2024-01-01T00:00:0"+md["audit_id"]) {
				t.Errorf("entry %s: labels %v metadata %v time %s", md["audit_id"], ls, md, e.Time)
			}
		}
	}
	if len(ids) != 4+4 || strings.Join(ids[:4], ",") != "1,2,3,4" {
		t.Errorf("audit ids %v (want 1,2,3,4 then the fixture's four)", ids)
	}
	if !strings.Contains(errOut, "5 records, 8 entries; unrecognized=1") {
		t.Errorf("summary %q", errOut)
	}
}

func TestParseLabels(t *testing.T) {
	got, err := parseLabels(`{cluster="a \"b\"", detection="x,y", job="kube-audit"}`)
	if err != nil || len(got) != 3 || got[0] != [2]string{"cluster", `a "b"`} || got[1][1] != "x,y" {
		t.Errorf("%v %v", got, err)
	}
	if _, err := parseLabels(`job="x"`); err == nil {
		t.Error("accepted a selector without braces")
	}
}
