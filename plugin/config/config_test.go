package config

import (
	"errors"
	"github.com/kaudit/kaudit/testdata"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := Parse(MapGetter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.URL; got != "http://127.0.0.1:3100/loki/api/v1/push" {
		t.Errorf("url = %s", got)
	}
	if len(c.Labels) != 1 || c.Labels[0] != (Label{"job", "kube-audit"}) {
		t.Errorf("labels = %v", c.Labels)
	}
	if c.Timeout != 10*time.Second || c.MaxRequestBytes != 1<<20 || !c.TLSVerify || c.Unrecognized != UnrecognizedDrop || c.RedactMarker != "[REDACTED]" || !c.RedactManagedFields || c.RedactFile != "" || c.RedactHashKey != "" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestValid(t *testing.T) {
	c, err := Parse(MapGetter{
		"url":                 "https://loki.example:3100/loki/api/v1/push",
		"labels":              `job=kube-audit, cluster="prod-1"`,
		"header":              "X-Org acme, X-Env: prod",
		"timeout":             "3",
		"max_request_bytes":   "512K",
		"structured_metadata": "cluster=prod, group=$objectRef.apiGroup",
		"unrecognized":        "PASS",
		"tls_verify":          "off",
		"trusted_proxies":     "10.0.0.0/8, 192.0.2.7, 2001:db8::1:2/64",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Labels[0].Name != "cluster" || c.Labels[0].Value != "prod-1" {
		t.Errorf("labels not sorted/unquoted: %v", c.Labels)
	}
	if len(c.Headers) != 2 || c.Headers[0] != [2]string{"X-Org", "acme"} || c.Headers[1] != [2]string{"X-Env", "prod"} {
		t.Errorf("headers = %v", c.Headers)
	}
	if c.Timeout != 3*time.Second || c.MaxRequestBytes != 512<<10 || c.TLSVerify || c.Unrecognized != UnrecognizedPass {
		t.Errorf("parsed = %+v", c)
	}
	if strings.Join(c.TrustedProxies, " ") != "10.0.0.0/8 192.0.2.7/32 2001:db8::/64" {
		t.Errorf("trusted_proxies = %v", c.TrustedProxies)
	}
	if len(c.Metadata) != 2 || c.Metadata[1].Path[1] != "apiGroup" || c.Metadata[0].Value != "prod" {
		t.Errorf("metadata = %+v", c.Metadata)
	}
}

// Each bad value must stop start-up with one line that names the key and
// quotes the value.
func TestInvalid(t *testing.T) {
	tooMany := []string{}
	for i := 0; i < 14; i++ {
		tooMany = append(tooMany, "l"+string(rune('a'+i))+"=x")
	}
	for _, tc := range []struct {
		name string
		in   MapGetter
		want string
	}{
		{"url scheme", MapGetter{"url": "ftp://x"}, `url: "ftp://x"`},
		{"url garbage", MapGetter{"url": "::"}, `url: "::"`},
		{"label syntax", MapGetter{"labels": "job"}, `labels: "job" is not name=value`},
		{"label accessor", MapGetter{"labels": "user=$user['username']"}, "labels:"},
		{"label reserved", MapGetter{"labels": "severity=x"}, `labels: "severity=x"`},
		{"label name", MapGetter{"labels": "1a=x"}, `invalid label name "1a"`},
		{"label dup", MapGetter{"labels": "a=1,a=2"}, `given twice`},
		{"too many labels", MapGetter{"labels": strings.Join(tooMany, ",")}, "labels: 14 labels"},
		{"header", MapGetter{"header": "X-Org acme, NoValue"}, "header: entry 2 of 2 is not `Name value`"},
		{"header reserved", MapGetter{"header": "Content-Type text/plain"}, `header: entry 1 of 1: header Content-Type is set by kaudit`},
		{"timeout", MapGetter{"timeout": "soon"}, `timeout: "soon"`},
		{"timeout range", MapGetter{"timeout": "1h"}, `timeout: "1h"`},
		{"max_request_bytes", MapGetter{"max_request_bytes": "10"}, `max_request_bytes: "10"`},
		{"unrecognized", MapGetter{"unrecognized": "keep"}, `unrecognized: unknown value "keep" (allowed: drop, pass)`},
		{"tls_verify", MapGetter{"tls_verify": "maybe"}, `tls_verify: "maybe"`},
		{"tls_ca_file", MapGetter{"tls_ca_file": "/nonexistent/ca.pem"}, `tls_ca_file: "/nonexistent/ca.pem"`},
		{"cert without key", MapGetter{"tls_cert_file": "config.go"}, "tls_cert_file: tls_cert_file and tls_key_file"},
		{"auth both", MapGetter{"http_user": "u", "bearer_token": "t"}, "bearer_token:"},
		{"metadata", MapGetter{"structured_metadata": "a=$x..y"}, `structured_metadata: "a=$x..y"`},
		{"rules_file", MapGetter{"rules_file": "/nonexistent.yaml"}, `rules_file: "/nonexistent.yaml"`},
		{"marker", MapGetter{"redact_marker": `a"b`}, `redact_marker:`},
		{"metrics_listen no port", MapGetter{"metrics_listen": "localhost"}, `metrics_listen: "localhost" is not host:port`},
		{"metrics_listen port", MapGetter{"metrics_listen": ":99999"}, `metrics_listen: ":99999": port "99999"`},
		{"metrics_listen port zero", MapGetter{"metrics_listen": "127.0.0.1:0"}, `metrics_listen: "127.0.0.1:0"`},
		{"redact_file", MapGetter{"redact_file": "/nonexistent.yaml"}, `redact_file: "/nonexistent.yaml"`},
		{"redact_managed_fields", MapGetter{"redact_managed_fields": "sometimes"}, `redact_managed_fields: "sometimes"`},
		{"trusted_proxies", MapGetter{"trusted_proxies": "10.0.0.0/8, lb.internal, 10.1.0.0/33"}, `trusted_proxies: "lb.internal", "10.1.0.0/33": not an address or CIDR prefix`},
		{"redact_hash_key short", MapGetter{"redact_hash_key": "short"}, `redact_hash_key: 5 bytes long (allowed: 16 to 256`},
		{"metadata accessor unterminated", MapGetter{"structured_metadata": "a=$x['y"}, `structured_metadata: "a=$x['y"`},
		{"metadata accessor unquoted", MapGetter{"structured_metadata": "a=$x[y]"}, `a bracket must hold a quoted key`},
		{"structured_metadata_mode", MapGetter{"structured_metadata_mode": "maybe"}, `structured_metadata_mode: unknown value "maybe" (allowed: auto, on, off)`},
		{"max_line_bytes small", MapGetter{"max_line_bytes": "100"}, `max_line_bytes: "100"`},
		{"max_line_bytes over request", MapGetter{"max_line_bytes": "1M", "max_request_bytes": "1M"}, `max_line_bytes: 1048576 is more than half of max_request_bytes`},
		{"rejected_path under a file", MapGetter{"rejected_path": "/dev/null/kaudit/r.jsonl"}, `rejected_path: "/dev/null/kaudit/r.jsonl": "/dev/null" is not a directory`},
		{"rejected_max_bytes", MapGetter{"rejected_max_bytes": "1K"}, `rejected_max_bytes: "1K"`},
		{"tenant_id two tenants", MapGetter{"tenant_id": "a|b"}, `tenant_id: "a|b" is not a tenant Loki takes`},
		{"tenant_id too long", MapGetter{"tenant_id": strings.Repeat("t", 151)}, `tenant_id: "ttt`},
		{"tenant_id_key", MapGetter{"tenant_id_key": "a..b"}, `tenant_id_key: "a..b": empty path segment`},
		{"filter key in the output", MapGetter{"min_severity": "high"}, `min_severity: a key of the kaudit filter, not of the output`},
		{"native loki key", MapGetter{"compress": "gzip"}, `compress: a key of Fluent Bit's loki output that kaudit does not take`},
		{"misspelt labels", MapGetter{"lables": "job=x"}, `lables: unknown key (did you mean labels?)`},
		{"misspelt tenant_id", MapGetter{"tennant_id": "acme"}, `tennant_id: unknown key (did you mean tenant_id?)`},
		{"misspelt tenant_id_key", MapGetter{"tenant_id_kye": "objectRef.namespace"}, `tenant_id_kye: unknown key (did you mean tenant_id_key?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q does not contain %q on one line", msg, tc.want)
			}
		})
	}
}

func TestOutputKeyInTheFilter(t *testing.T) {
	_, err := ParseScope(MapGetter{"url": "http://loki:3100/loki/api/v1/push"}, Filter)
	if err == nil || !strings.Contains(err.Error(), "url: a key of the kaudit output, not of the filter") {
		t.Errorf("err = %v", err)
	}
}

func TestParsePath(t *testing.T) {
	for in, want := range map[string]string{
		"objectRef.namespace":        "objectRef|namespace",
		"$objectRef.namespace":       "objectRef|namespace",
		"$objectRef['namespace']":    "objectRef|namespace",
		`$a["b.c"]['d']`:             "a|b.c|d",
		"$user['extra'].scopes":      "user|extra|scopes",
		"$annotations['a.k8s.io/x']": "annotations|a.k8s.io/x",
		"tenant":                     "tenant",
	} {
		got, err := ParsePath(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("ParsePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestDeliveryDefaults(t *testing.T) {
	c, err := Parse(MapGetter{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MetadataMode != MetadataAuto || c.MaxLineBytes != 262144 || c.RejectedPath != "" || c.RejectedMaxBytes != 100<<20 {
		t.Errorf("defaults %+v", c)
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, err := Parse(MapGetter{"timeout": "x", "unrecognized": "y"})
	if err == nil || !strings.Contains(err.Error(), "timeout:") || !strings.Contains(err.Error(), "unrecognized:") {
		t.Fatalf("want both keys named, got %v", err)
	}
}

func TestRedactedHidesCredentials(t *testing.T) {
	c, err := Parse(MapGetter{"url": "https://u:pw-canary@loki/x", "http_user": "bob", "http_passwd": "pw-canary2",
		"header": "X-Api-Key pw-canary3", "redact_hash_key": "pw-canary4-0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Redacted()
	if strings.Contains(s, "pw-canary") {
		t.Errorf("credentials leak into the start-up line: %s", s)
	}
	for _, k := range Keys { // every output key is shown, from the table
		if k.Scope&Output != 0 && !strings.Contains(s, k.Name+"=") {
			t.Errorf("%s missing from the start-up line: %s", k.Name, s)
		}
	}
}

// A refused value never prints the credentials it holds: the refusal is the
// one line Fluent Bit logs at start, and logs are shipped and kept.
func TestRefusalHidesCredentials(t *testing.T) {
	for _, tc := range []struct {
		in   MapGetter
		want string
	}{
		{MapGetter{"header": "X-Api-Key=pw-canary"}, "header: entry 1 of 1 is not"},
		{MapGetter{"header": "X-Org acme, pw-canary"}, "header: entry 2 of 2 is not"},
		{MapGetter{"header": "Host pw-canary"}, "header: entry 1 of 1: header Host is set by kaudit"},
		{MapGetter{"url": "http://u:pw-canary@loki host:3100/loki/api/v1/push"}, `url: "http://***@loki host:3100/loki/api/v1/push" is not an http(s) URL`},
		{MapGetter{"url": "ftp://u:pw-canary@loki/x"}, `url: "ftp://***@loki/x"`},
	} {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("%v accepted", tc.in)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "pw-canary") || !strings.Contains(msg, tc.want) {
			t.Errorf("error %q: want %q and no credential", msg, tc.want)
		}
	}
}

// README's configuration reference is generated from Keys.
func TestReadmeConfigTable(t *testing.T) {
	testdata.CheckReadme(t, "CONFIG-KEYS", Markdown())
}

// A node's configuration is checked anywhere: a rejected_path whose
// directory is still to be made passes, and parsing makes nothing.
func TestRejectedDirValidatedNotCreated(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "var", "lib", "kaudit")
	c, err := Parse(MapGetter{"rejected_path": filepath.Join(dir, "rejected.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "var")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("parsing touched the disk: %v", err)
	}
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Fatalf("Prepare: %v, %v", st, err)
	}
}

// A regular file where a directory of rejected_path should be fails both
// the check and the creation, on one line naming the key.
func TestRejectedDirFileInTheWay(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "lib")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "kaudit", "rejected.jsonl")
	_, err := Parse(MapGetter{"rejected_path": path})
	if err == nil || !strings.Contains(err.Error(), "rejected_path: ") || !strings.Contains(err.Error(), "not a directory") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Parse: %v", err)
	}
	c := &Config{}
	c.RejectedPath = path
	err = c.Prepare()
	if err == nil || !strings.HasPrefix(err.Error(), "rejected_path: ") || !strings.Contains(err.Error(), "not a directory") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Prepare: %v", err)
	}
}
