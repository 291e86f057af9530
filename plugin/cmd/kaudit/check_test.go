package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Misspelt keys, keys of the other kaudit plugin and keys of the native
// loki output are refused, each on one line naming file and line, in every
// place a kaudit plugin can be configured; valid configurations pass.
func TestCheckKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("included.conf", `[OUTPUT]
    Name        kaudit
    Match       kube-audit
    tennant_id  acme
`)
	write("filters.yaml", `pipeline:
  filters:
    - name: kaudit
      match: '*'
      url: http://loki:3100/loki/api/v1/push
`)
	t.Setenv("LOKI_URL", "http://loki:3100/loki/api/v1/push")
	for _, tc := range []struct {
		name, file, body string
		want             []string // one line each, in order; none: passes
	}{
		{"valid classic", "ok.conf", `[SERVICE]
    flush 1
[FILTER]
    Name         kaudit
    Match        kube-audit
    min_severity high
[OUTPUT]
    Name                     kaudit
    Match                    kube-audit
    url                      ${LOKI_URL}
    Retry_Limit              no_limits
    storage.total_limit_size 2G
    tls.verify               on
    net.keepalive            on
    workers                  2
    structured_metadata      ns=$objectRef['namespace']
`, nil},
		{"valid yaml with processors", "ok.yaml", `pipeline:
  inputs:
    - name: tail
      path: /var/log/audit.log
      processors:
        logs:
          - name: kaudit
            min_severity: low
  outputs:
    - name: kaudit
      match: '*'
      url: ${LOKI_URL}
      labels: job=kube-audit
      retry_limit: no_limits
      processors:
        logs:
          - name: kaudit
            redact_marker: '[X]'
`, nil},
		{"misspelt output key", "typo.conf", `[OUTPUT]
    Name   kaudit
    Match  *
    lables job=audit
`, []string{`typo.conf:4: [OUTPUT] kaudit: unknown key "lables" (did you mean "labels"?)`}},
		{"native loki key", "native.conf", `[OUTPUT]
    Name     kaudit
    Match    *
    compress gzip
`, []string{`native.conf:4: [OUTPUT] kaudit: "compress" is a key of Fluent Bit's loki output that kaudit does not take`}},
		{"filter key in an output", "wrong.conf", `[OUTPUT]
    Name         kaudit
    Match        *
    min_severity high
`, []string{`wrong.conf:4: [OUTPUT] kaudit: "min_severity" is a key of the kaudit filter, not of the output`}},
		{"output key in a filter", "wrongf.conf", `[FILTER]
    Name      kaudit
    Match     *
    tenant_id acme
`, []string{`wrongf.conf:4: [FILTER] kaudit: "tenant_id" is a key of the kaudit output, not of the filter`}},
		{"included file", "main.conf", `@INCLUDE included.conf
`, []string{`included.conf:4: [OUTPUT] kaudit: unknown key "tennant_id" (did you mean "tenant_id"?)`}},
		{"yaml includes and processor", "main.yaml", `includes:
  - filters.yaml
pipeline:
  outputs:
    - name: stdout
      match: '*'
      processors:
        logs:
          - name: kaudit
            redact_markr: '[X]'
`, []string{`filters.yaml:5: filter kaudit: "url" is a key of the kaudit output, not of the filter`,
			`main.yaml:10: output processor (logs) kaudit: unknown key "redact_markr" (did you mean "redact_marker"?)`}},
		{"yaml output", "out.yaml", `pipeline:
  outputs:
    - name: kaudit
      match: '*'
      tenant_id_kye: objectRef.namespace
`, []string{`out.yaml:5: output kaudit: unknown key "tenant_id_kye" (did you mean "tenant_id_key"?)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(tc.file, tc.body)
			code, out, errOut := runT(t, "check", "--config", p)
			if tc.want == nil {
				if code != 0 {
					t.Fatalf("code %d: %s%s", code, out, errOut)
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code != 1 || len(lines) != len(tc.want) {
				t.Fatalf("code %d, %d lines, want 1 and %d:\n%s", code, len(lines), len(tc.want), errOut)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], filepath.Join(dir, w)) {
					t.Errorf("line %q\nwant   %q", lines[i], filepath.Join(dir, w))
				}
			}
		})
	}
}

// Every Fluent Bit configuration shipped passes check, with the ${NAME}
// references the deployments set.
func TestShippedConfigsPass(t *testing.T) {
	t.Setenv("LOKI_URL", "http://loki:3100/loki/api/v1/push")
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "conf", "fluent-bit", "*"))
	n := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if !strings.Contains(string(b), "[OUTPUT]") && !strings.Contains(string(b), "pipeline:") {
			continue // parsers, kubeconfig
		}
		n++
		if code, out, errOut := runT(t, "check", "--config", f); code != 0 {
			t.Errorf("%s: code %d\n%s%s", f, code, out, errOut)
		}
	}
	if n < 8 {
		t.Errorf("only %d configurations checked", n)
	}
}

// check validates a node's configuration on any machine: a rejected_path
// whose directory is not there yet passes, and neither it nor the file is
// made.
func TestCheckCreatesNothing(t *testing.T) {
	root := t.TempDir()
	cfg := filepath.Join(root, "fluent-bit.conf")
	rej := filepath.Join(root, "var", "lib", "kaudit", "rejected.jsonl")
	os.WriteFile(cfg, []byte("[OUTPUT]\n    name kaudit\n    match *\n    rejected_path "+rej+"\n"), 0o644)
	if code, out, errOut := runT(t, "check", "--config", cfg); code != 0 {
		t.Fatalf("code %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(root, "var")); !os.IsNotExist(err) {
		t.Errorf("check touched the disk: %v", err)
	}
	os.MkdirAll(filepath.Dir(rej), 0o700)
	if code, out, errOut := runT(t, "check", "--config", cfg); code != 0 {
		t.Fatalf("code %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(rej); !os.IsNotExist(err) {
		t.Errorf("check created %s: %v", rej, err)
	}
}

// Fluent Bit expands ${NAME} only: `$name` is a record accessor or a
// literal and stays as written.
func TestOnlyBracedEnvExpanded(t *testing.T) {
	t.Setenv("NAME", "expanded")
	if got := expandEnv("${NAME} $NAME $kubernetes['x'] ${UNSET_VAR_X}", map[string]string{}); got != "expanded $NAME $kubernetes['x'] " {
		t.Errorf("got %q", got)
	}
}
