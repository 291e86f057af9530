package deploytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/testdata"
)

const (
	fbDir       = "../../conf/fluent-bit"
	parsersFile = "parsers-kaudit.conf"
)

// pipelines are the shipped configurations, each in both formats.
var pipelines = []string{"tail", "webhook", "aks", "beside"}

// testEnv is what the manifests put in the environment; every ${VAR} of a
// configuration must be one of these.
var testEnv = map[string]string{
	"LOKI_URL":                   "http://loki.monitoring.svc.cluster.local:3100/loki/api/v1/push",
	"LOKI_HOST":                  "loki.monitoring.svc.cluster.local",
	"LOKI_USERNAME":              "kaudit",
	"LOKI_PASSWORD":              "not-a-real-password",
	"EVENTHUB_NAMESPACE":         "example-audit",
	"EVENTHUB_CONNECTION_STRING": "Endpoint=sb://example-audit.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=x",
}

// coreOutputKeys are the keys Fluent Bit's core reads in any [OUTPUT]
// section. tls.*, net.*, host and port are core keys too, but a Go plugin
// never sees them (kaudit has url and tls_*), so a kaudit section using
// them is a mistake and fails here.
var coreOutputKeys = map[string]bool{
	"name": true, "match": true, "match_regex": true, "alias": true,
	"retry_limit": true, "workers": true, "storage.total_limit_size": true,
	"log_level": true, "log_suppress_interval": true,
}

// secretKeys may only hold an environment reference, never a literal.
var secretKeys = map[string]bool{"http_passwd": true, "bearer_token": true, "rdkafka.sasl.password": true}

var envOnly = regexp.MustCompile(`^\$\{[A-Z_][A-Z0-9_]*\}$`)

func configFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, p := range pipelines {
		for _, ext := range []string{".conf", ".yaml"} {
			f := filepath.Join(fbDir, p+ext)
			if _, err := os.Stat(f); err != nil {
				t.Fatalf("shipped configuration missing: %v", err)
			}
			files = append(files, f)
		}
	}
	// Nothing else in the folder may escape the tests.
	all, _ := filepath.Glob(filepath.Join(fbDir, "*"))
	known := map[string]bool{filepath.Join(fbDir, parsersFile): true, filepath.Join(fbDir, "webhook-kubeconfig.yaml"): true}
	for _, f := range files {
		known[f] = true
	}
	for _, f := range all {
		if !known[f] {
			t.Errorf("%s is shipped but not tested: add it to pipelines", f)
		}
	}
	return files
}

func loadConfig(t *testing.T, path string) *fbConfig {
	t.Helper()
	c, err := parseConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigsAreCompletePipelines(t *testing.T) {
	for _, f := range configFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c := loadConfig(t, f)
			if len(c.kind("input")) == 0 || len(c.kind("output")) == 0 {
				t.Fatalf("needs at least one input and one output")
			}
			for _, p := range c.Plugins {
				if p.name() == "" {
					t.Errorf("%s: %s without Name", p.Where, p.Kind)
				}
				if p.Kind != "filter" && p.Kind != "output" {
					continue
				}
				if p.Props["match"] == "" && p.Props["match_regex"] == "" {
					t.Errorf("%s: %s %s without Match", p.Where, p.Kind, p.name())
				}
				if !routed(c, p) {
					t.Errorf("%s: %s %s matches no input's Tag", p.Where, p.Kind, p.name())
				}
			}
			for _, key := range []string{"http_server", "health_check"} {
				if on, _ := boolValue(c.Service[key]); !on {
					t.Errorf("service: %s must be on (the DaemonSet's probes use /api/v1/health)", key)
				}
			}
			if c.Service["http_port"] != "2020" {
				t.Errorf("service: http_port %q, the manifests probe 2020", c.Service["http_port"])
			}
		})
	}
}

func routed(c *fbConfig, p plugin) bool {
	for _, in := range c.kind("input") {
		if tagMatch(p.Props["match"], in.Props["tag"]) {
			return true
		}
	}
	return false
}

// The .conf and .yaml of one pipeline must say the same thing.
func TestClassicAndYAMLAreTwins(t *testing.T) {
	configFiles(t)
	for _, p := range pipelines {
		t.Run(p, func(t *testing.T) {
			classic := loadConfig(t, filepath.Join(fbDir, p+".conf"))
			yml := loadConfig(t, filepath.Join(fbDir, p+".yaml"))
			if d := diffProps(classic.Service, yml.Service); d != "" {
				t.Errorf("service differs: %s", d)
			}
			if len(classic.Plugins) != len(yml.Plugins) {
				t.Fatalf("%d plugins in .conf, %d in .yaml", len(classic.Plugins), len(yml.Plugins))
			}
			// Same instances per kind in the same order (YAML groups by kind).
			for _, kind := range []string{"input", "filter", "output"} {
				a, b := classic.kind(kind), yml.kind(kind)
				if len(a) != len(b) {
					t.Errorf("%d %ss in .conf, %d in .yaml", len(a), kind, len(b))
					continue
				}
				for i := range a {
					if d := diffProps(a[i].Props, b[i].Props); d != "" {
						t.Errorf("%s %d (%s) differs: %s", kind, i, a[i].name(), d)
					}
				}
			}
		})
	}
}

func diffProps(a, b props) string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, fmt.Sprintf("%s only in .conf", k))
		} else if normalized(v) != normalized(w) {
			d = append(d, fmt.Sprintf("%s: %q vs %q", k, v, w))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s only in .yaml", k))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}

// Every [OUTPUT] kaudit uses only keys kaudit or Fluent Bit's core reads,
// parses with the plugin's own config.Parse, keeps secrets in the
// environment, and is set up so that nothing is lost.
func TestKauditOutputs(t *testing.T) {
	for _, f := range configFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c := loadConfig(t, f)
			n := 0
			for _, out := range c.kind("output") {
				if out.name() != "kaudit" {
					continue
				}
				n++
				for _, err := range checkKaudit(c, out) {
					t.Error(err)
				}
			}
			if n == 0 {
				t.Fatal("no [OUTPUT] kaudit")
			}
			// Every ${VAR} anywhere must be provided by the manifests.
			for _, p := range append(c.Plugins, plugin{Where: "service", Props: c.Service}) {
				for k, v := range p.Props {
					if _, err := expand(v, testEnv); err != nil {
						t.Errorf("%s: %s: %v", p.Where, k, err)
					}
				}
			}
		})
	}
}

// checkKaudit checks one [OUTPUT] kaudit of c.
func checkKaudit(c *fbConfig, out plugin) []error {
	kauditKeys := map[string]bool{}
	for _, k := range config.Keys {
		if k.Scope&config.Output != 0 {
			kauditKeys[k.Name] = true
		}
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(out.Where+": "+format, args...)) }
	g := config.MapGetter{}
	for k, v := range out.Props {
		if secretKeys[k] && !envOnly.MatchString(v) {
			fail("%s must be an environment reference such as ${LOKI_PASSWORD}, not a literal", k)
		}
		if coreOutputKeys[k] {
			continue
		}
		if !kauditKeys[k] {
			fail("%q is neither a kaudit key nor a Fluent Bit output key", k)
			continue
		}
		ev, err := expand(v, testEnv)
		if err != nil {
			fail("%s: %v", k, err)
		}
		g[k] = ev
	}
	if _, err := config.Parse(g); err != nil {
		fail("config.Parse: %v", err)
	}
	if rl := strings.ToLower(out.Props["retry_limit"]); rl != "no_limits" && rl != "false" {
		fail("Retry_Limit %q: set no_limits, or a Loki outage longer than the retries loses chunks", out.Props["retry_limit"])
	}
	if out.Props["storage.total_limit_size"] == "" {
		fail("storage.total_limit_size unset: with Retry_Limit no_limits a long Loki outage fills the disk")
	}
	if out.Props["metrics_listen"] == "" {
		fail("metrics_listen unset: nothing would show that delivery is blocked")
	}
	// Every input feeding kaudit buffers on disk.
	for _, in := range c.kind("input") {
		if !tagMatch(out.Props["match"], in.Props["tag"]) {
			continue
		}
		if in.Props["storage.type"] != "filesystem" {
			fail("input %s (%s) feeds kaudit without storage.type filesystem", in.name(), in.Where)
		}
		if in.name() == "tail" && in.Props["db"] == "" {
			fail("tail (%s) feeds kaudit without DB: a restart would re-read or skip", in.Where)
		}
	}
	if c.Service["storage.path"] == "" {
		fail("service: storage.path unset, filesystem buffering is off")
	}
	if on, _ := boolValue(c.Service["storage.checksum"]); on {
		fail("service: storage.checksum on: a chunk written to since its last sync fails the check after Fluent Bit is killed and is discarded whole")
	}
	return errs
}

// An [OUTPUT] kaudit with an unknown key must fail the test above: proof
// that the check can fail.
func TestKauditKeyCheckRejectsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.conf")
	os.WriteFile(f, []byte("[SERVICE]\n    storage.checksum on\n[INPUT]\n    Name dummy\n    Tag a\n[OUTPUT]\n    Name kaudit\n    Match a\n    Host loki\n"), 0o644)
	c, err := parseClassic(f)
	if err != nil {
		t.Fatal(err)
	}
	errs := fmt.Sprint(checkKaudit(c, c.kind("output")[0]))
	for _, want := range []string{`"host" is neither`, "Retry_Limit", "storage.type filesystem", "storage.path unset", "storage.total_limit_size unset", "metrics_listen unset", "storage.checksum on"} {
		if !strings.Contains(errs, want) {
			t.Errorf("checkKaudit did not report %s: %s", want, errs)
		}
	}
	os.WriteFile(f, []byte("[INPUT]\n    Name dummy\n    Tag a\n[OUTPUT]\n    Name kaudit\n    Match a\n    http_passwd hunter2\n    labels severity=x\n"), 0o644)
	c, _ = parseClassic(f)
	errs = fmt.Sprint(checkKaudit(c, c.kind("output")[0]))
	for _, want := range []string{"environment reference", "config.Parse"} {
		if !strings.Contains(errs, want) {
			t.Errorf("checkKaudit did not report %s: %s", want, errs)
		}
	}
	for name, text := range map[string]string{
		"unindented entry": "[INPUT]\nName dummy\n",
		"mixed indent":     "[INPUT]\n    Name dummy\n  Tag a\n",
		"no value":         "[INPUT]\n    Name\n",
		"unknown section":  "[INPUTS]\n    Name dummy\n",
		"missing include":  "@INCLUDE nothing-here.conf\n",
	} {
		os.WriteFile(f, []byte(text), 0o644)
		if _, err := parseClassic(f); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	os.WriteFile(f, []byte("pipeline:\n  input:\n    - name: dummy\n"), 0o644)
	if _, err := parseYAML(f); err == nil {
		t.Error("YAML with a misspelt section parsed without error")
	}
}

func loadParsers(t *testing.T, c *fbConfig) map[string]plugin {
	t.Helper()
	parsers := map[string]plugin{}
	for _, p := range c.Parsers {
		parsers[p.name()] = p
	}
	for _, pf := range strings.Split(c.Service["parsers_file"], "\n") {
		if pf == "" {
			continue
		}
		if !filepath.IsAbs(pf) {
			pf = filepath.Join(filepath.Dir(c.Path), pf)
		}
		pc, err := parseConfig(pf)
		if err != nil {
			t.Fatalf("parsers_file: %v", err)
		}
		if len(pc.Plugins) > 0 {
			t.Errorf("%s: a parsers file holds only parsers", pf)
		}
		for _, p := range pc.Parsers {
			parsers[p.name()] = p
		}
	}
	return parsers
}

func TestParsersReferencedExist(t *testing.T) {
	for _, f := range configFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c := loadConfig(t, f)
			parsers := loadParsers(t, c)
			for _, p := range c.Plugins {
				for _, key := range []string{"parser", "parser_firstline"} {
					if name := p.Props[key]; name != "" {
						if _, ok := parsers[strings.ToLower(name)]; !ok {
							t.Errorf("%s: %s %q is defined in no parsers file of this configuration", p.Where, key, name)
						}
					}
				}
			}
		})
	}
}

// The kube-audit parser: JSON, time from stageTimestamp, event kept whole.
func TestAuditParser(t *testing.T) {
	c, err := parseClassic(filepath.Join(fbDir, parsersFile))
	if err != nil {
		t.Fatal(err)
	}
	var p *plugin
	for i := range c.Parsers {
		if c.Parsers[i].name() == "kube-audit" {
			p = &c.Parsers[i]
		}
	}
	if p == nil {
		t.Fatal("no parser kube-audit")
	}
	want := props{"name": "kube-audit", "format": "json", "time_key": "stageTimestamp", "time_format": "%Y-%m-%dT%H:%M:%S.%LZ", "time_keep": "On"}
	if d := diffProps(want, p.Props); d != "" {
		t.Errorf("kube-audit parser: %s", d)
	}
}

// fbTime parses value with a Time_Format the way flb_parser_time_lookup
// does for the subset kaudit uses (%Y %m %d %H %M %S, literals, %L): the
// format is split at %L, the part before goes through strptime, %L takes up
// to nine digits, the part after goes through strptime again. A format
// containing "%S.%LZ" is read as UTC. Unlike Fluent Bit, trailing input is
// an error here, which only makes the check stricter.
func fbTime(format, value string) (time.Time, error) {
	before, after, hasFrac := strings.Cut(format, "%L")
	var f [6]int // Y m d H M S
	rest, err := strptime(before, value, &f)
	if err != nil {
		return time.Time{}, err
	}
	ns := 0
	if hasFrac {
		digits := 0
		for digits < len(rest) && digits < 9 && rest[digits] >= '0' && rest[digits] <= '9' {
			digits++
		}
		if digits == 0 {
			return time.Time{}, fmt.Errorf("cannot parse %%L in %q", value)
		}
		for i := 0; i < 9; i++ {
			ns *= 10
			if i < digits {
				ns += int(rest[i] - '0')
			}
		}
		if rest, err = strptime(after, rest[digits:], &f); err != nil {
			return time.Time{}, err
		}
	}
	if rest != "" {
		return time.Time{}, fmt.Errorf("%q left over in %q", rest, value)
	}
	if !strings.Contains(format, "%S.%LZ") && !strings.Contains(format, "%z") {
		return time.Time{}, fmt.Errorf("format %q has no zone: Fluent Bit would apply Time_Offset", format)
	}
	return time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], ns, time.UTC), nil
}

func strptime(format, s string, f *[6]int) (string, error) {
	widths := map[byte][2]int{'Y': {0, 4}, 'm': {1, 2}, 'd': {2, 2}, 'H': {3, 2}, 'M': {4, 2}, 'S': {5, 2}}
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			if s == "" || s[0] != format[i] {
				return "", fmt.Errorf("literal %q not found", format[i])
			}
			s = s[1:]
			continue
		}
		i++
		w, ok := widths[format[i]]
		if !ok {
			return "", fmt.Errorf("%%%c is not emulated", format[i])
		}
		n, v := 0, 0
		for n < w[1] && n < len(s) && s[n] >= '0' && s[n] <= '9' {
			v = v*10 + int(s[n]-'0')
			n++
		}
		if n == 0 {
			return "", fmt.Errorf("%%%c: no digits", format[i])
		}
		f[w[0]], s = v, s[n:]
	}
	return s, nil
}

// Real audit lines through the parser's Time_Format: every stageTimestamp
// the API server writes (RFC 3339 with microseconds) must give the event's
// own instant. What this does not prove: Fluent Bit's strptime itself; the
// emulation follows flb_parser.c (v5.1.1) for the directives used.
func TestTimeFormatOnRealEvents(t *testing.T) {
	const format = "%Y-%m-%dT%H:%M:%S.%LZ"
	fixed := []string{"2026-11-21T11:50:24.123456Z", "2019-03-01T00:00:00.000001Z", "2024-12-31T23:59:59.999999Z"}
	check := func(ts string) error {
		want, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return err
		}
		got, err := fbTime(format, ts)
		if err != nil {
			return err
		}
		if !got.Equal(want) {
			return fmt.Errorf("%s: Fluent Bit time %s, event time %s", ts, got, want)
		}
		return nil
	}
	for _, ts := range fixed {
		if err := check(ts); err != nil {
			t.Error(err)
		}
	}
	if _, err := fbTime(format, "2026-11-21T11:50:24Z"); err == nil {
		t.Error("a time without fraction must not match (Fluent Bit warns and keeps the record)")
	}

	files := testdata.Corpora(t)
	micro := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	parsed, other, absent := 0, 0, 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var ev struct {
				StageTimestamp *string `json:"stageTimestamp"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			switch {
			case ev.StageTimestamp == nil:
				absent++
			case micro.MatchString(*ev.StageTimestamp):
				if err := check(*ev.StageTimestamp); err != nil {
					t.Errorf("%s: %v", filepath.Base(f), err)
				}
				parsed++
			default:
				// Hand-written fixtures (seconds only): Fluent Bit warns,
				// keeps the record with the read time; kaudit still takes
				// the entry's time from the event.
				other++
			}
		}
		fh.Close()
	}
	t.Logf("corpora: %d stageTimestamps parsed to the event's instant, %d in another layout, %d events without one", parsed, other, absent)
	if parsed == 0 {
		t.Fatal("no API-server-formatted stageTimestamp in the corpora")
	}
}

// What the webhook and AKS inputs hand kaudit: the http input makes one
// record of an EventList body; the kafka input (Format json) puts an Event
// Hub message under "payload", which aks.conf renames to "message". Both
// must decode to every event they carry.
func TestInputRecordShapes(t *testing.T) {
	load := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "shapes", name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	list := load("eventlist.json")
	evs, _, err := decode.Events(list, nil)
	if err != nil || len(evs) == 0 || len(evs) != len(list["items"].([]any)) {
		t.Errorf("webhook EventList: %d events, %v", len(evs), err)
	}

	hub := load("aks-records.json")
	kafka := map[string]any{"topic": "insights-logs-kube-audit", "partition": 0.0, "offset": 42.0, "error": nil, "key": nil, "payload": hub}
	aks := loadConfig(t, filepath.Join(fbDir, "aks.conf"))
	for _, fl := range aks.kind("filter") {
		if fl.name() == "modify" {
			from, to, _ := strings.Cut(fl.Props["rename"], " ")
			kafka[strings.TrimSpace(to)] = kafka[from]
			delete(kafka, from)
		}
	}
	// The fixture holds one record of another diagnostic category, which
	// kaudit skips; the kafka-shaped record must give what the bare Event
	// Hub message gives.
	want, _, _ := decode.Events(hub, nil)
	if len(want) == 0 {
		t.Fatal("fixture aks-records.json holds no event")
	}
	evs, _, _ = decode.Events(kafka, nil)
	if len(evs) != len(want) {
		t.Errorf("Event Hub message after aks.conf's filter: %d events, want %d", len(evs), len(want))
	}
	raw, _ := json.Marshal(hub)
	kafka["message"] = string(raw) // Format none, or a payload that is not JSON
	if evs, _, _ = decode.Events(kafka, nil); len(evs) != len(want) {
		t.Errorf("Event Hub message as a string: %d events, want %d", len(evs), len(want))
	}
}

// The webhook kubeconfig points the API server at webhook.conf's input.
func TestWebhookKubeconfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fbDir, "webhook-kubeconfig.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The subset of clientcmd/api/v1 Config the webhook backend reads.
	var kc struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Clusters   []struct {
			Name    string `json:"name"`
			Cluster struct {
				Server               string `json:"server"`
				CertificateAuthority string `json:"certificate-authority,omitempty"`
			} `json:"cluster"`
		} `json:"clusters"`
		Contexts []struct {
			Name    string `json:"name"`
			Context struct {
				Cluster string `json:"cluster"`
				User    string `json:"user"`
			} `json:"context"`
		} `json:"contexts"`
		CurrentContext string `json:"current-context"`
		Users          []struct {
			Name string         `json:"name"`
			User map[string]any `json:"user"`
		} `json:"users"`
	}
	if err := strictYAML(b, &kc); err != nil {
		t.Fatal(err)
	}
	if kc.APIVersion != "v1" || kc.Kind != "Config" || len(kc.Clusters) != 1 || len(kc.Contexts) != 1 || kc.CurrentContext != kc.Contexts[0].Name || kc.Contexts[0].Context.Cluster != kc.Clusters[0].Name {
		t.Fatalf("not a one-cluster kubeconfig: %+v", kc)
	}
	c := loadConfig(t, filepath.Join(fbDir, "webhook.conf"))
	in := c.kind("input")[0]
	want := fmt.Sprintf("http://%s:%s/", in.Props["listen"], in.Props["port"])
	if got := kc.Clusters[0].Cluster.Server; got != want {
		t.Errorf("server %q, webhook.conf listens at %q (path / keeps the input's Tag)", got, want)
	}
}
