// Package config turns the properties of a Fluent Bit [OUTPUT] section into a
// validated Config. It reads through a one-method Getter so it can be tested
// with a map and used by every packaging (the .so, the filter, the command).
//
// Every key lives in one table (Keys): parsing, defaults, validation and the
// README's configuration reference all come from it, so they cannot drift.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/redact"
)

// Getter returns the value of a property, or "" when it is not set. Fluent
// Bit's own lookup is case-insensitive and returns the first occurrence.
type Getter interface {
	Get(key string) string
}

// MapGetter is a Getter over a map with lower-case keys, for tests and tools.
type MapGetter map[string]string

// Get implements Getter.
func (m MapGetter) Get(key string) string { return m[strings.ToLower(key)] }

// Unrecognized says what happens to a record that carries no audit event.
type Unrecognized int

const (
	// UnrecognizedDrop counts and drops the record: the safe default, since
	// an unknown shape may hold anything, secrets included.
	UnrecognizedDrop Unrecognized = iota
	// UnrecognizedPass sends the record as it came, unredacted.
	UnrecognizedPass
)

// Label is one static Loki stream label.
type Label struct{ Name, Value string }

// MetaField is one extra structured-metadata field: a static value, or a
// dotted path into the audit event when Path is set.
type MetaField struct {
	Name  string
	Value string
	Path  []string
}

// Config is the validated configuration of one output instance.
type Config struct {
	// Loki is everything the Loki client needs; loki.New takes it whole.
	Loki
	Labels      []Label // sorted by name
	TenantID    string
	TenantIDKey string
	// TenantIDPath is TenantIDKey split into the keys of a nested lookup.
	TenantIDPath    []string
	Metadata        []MetaField
	Unrecognized    Unrecognized
	RulesFiles      []string
	RedactMarker    string
	MinSeverity     detect.Severity
	MetricsListen   string
	AuditPolicyFile string
	// PolicyKeep is the lowest detection severity whose events the audit
	// policy never drops; detect.None disables the exception.
	PolicyKeep detect.Severity
	// RedactFile is the user's extra redaction rules, applied after the
	// embedded conf/redact/default.yaml.
	RedactFile          string
	RedactManagedFields bool
	RedactHashKey       string
	RedactMode          redact.Mode
	// TrustedProxies are the addresses and prefixes (canonical text) of
	// proxies in front of the API server whose X-Forwarded-For entries
	// are believed.
	TrustedProxies []string
	// Pprof adds Go's /debug/pprof/ endpoints to the metrics listener.
	Pprof bool

	// effective is every key read, with its value or default, in Keys
	// order: what Redacted shows.
	effective [][2]string
}

// Loki is the delivery part of a Config: the push endpoint, its
// credentials, TLS, limits, and what to do with what Loki refuses.
type Loki struct {
	URL             string // a valid http(s) URL
	HTTPUser        string
	HTTPPasswd      string
	BearerToken     string
	Headers         [][2]string
	TLSCAFile       string
	TLSCertFile     string
	TLSKeyFile      string
	TLSVerify       bool
	TLSServerName   string
	Timeout         time.Duration
	MaxRequestBytes int
	// MetadataMode says whether entries carry structured metadata.
	MetadataMode MetadataMode
	// MaxLineBytes is the longest line sent; bodies of a longer event are cut.
	MaxLineBytes int
	// RejectedPath, when set, keeps the entries Loki refused as invalid.
	RejectedPath     string
	RejectedMaxBytes int
}

// MetadataMode is the structured_metadata_mode setting.
type MetadataMode int

// Structured metadata modes.
const (
	// MetadataAuto sends structured metadata and, when Loki answers that it
	// does not allow it, sends the same entries without it.
	MetadataAuto MetadataMode = iota
	// MetadataOn always sends it; a Loki that refuses it blocks delivery
	// (retried, logged as an error) rather than lose the events.
	MetadataOn
	// MetadataOff never sends it.
	MetadataOff
)

var metadataModes = [...]string{"auto", "on", "off"}

func (m MetadataMode) String() string { return metadataModes[m] }

// Scope says which packaging reads a key: the output pushes to Loki, the
// filter hands records on; both decode, detect and redact the same way.
type Scope uint8

// Scopes; a key's scope is a bit set.
const (
	Output Scope = 1 << iota
	Filter
	Both = Output | Filter
)

func (s Scope) String() string {
	switch s {
	case Output:
		return "output"
	case Filter:
		return "filter"
	}
	return "output and filter"
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Key describes one configuration key. Keys is the single source of truth.
type Key struct {
	Name    string
	Default string
	Help    string
	Scope   Scope
	parse   func(c *Config, v string) error
	// Secret keys' values never appear in logs (Redacted shows "***").
	Secret bool
}

// MaxLabels is Loki's default max_label_names_per_series; kaudit adds
// `severity` and `detection` to the static labels, and `backfill` to the
// streams of entries older than Loki's out-of-order window, so those three
// are reserved.
const MaxLabels = 15

// Keys lists every key kaudit reads, in documentation order. Names Fluent
// Bit's core consumes for outputs (host, port, tls.*, workers, retry_limit,
// alias, match, log_level, storage.*, net.*) never reach a Go plugin, so none
// is used here.
var Keys = []Key{
	{"url", "http://127.0.0.1:3100/loki/api/v1/push", "Loki push endpoint (http or https). `host`/`port` are consumed by Fluent Bit's core and never reach a Go plugin, hence one URL.", Output, parseURL, false},
	{"labels", "job=kube-audit", "Static stream labels, `name=value` pairs separated by commas. Only static values: per-event facts go to structured metadata, so streams stay few. `severity` and `detection` are added by kaudit and reserved, as is `backfill` (the hour of entries Loki refused as older than its out-of-order window, resent into a stream of their own: see Delivery).", Output, parseLabels, false},
	{"tenant_id", "", "Tenant sent as `X-Scope-OrgID` (multi-tenant Loki). Empty: no header.", Output, parseTenant, false},
	{"tenant_id_key", "", "Record key whose string value is the tenant for that record (looked up in the Fluent Bit record, then in the audit event); a nested key is a dotted path (`objectRef.namespace`) or a record accessor (`$objectRef['namespace']`); falls back to `tenant_id`, as does a value Loki cannot take as a tenant (more than 150 bytes, a character other than letters, digits and `!-_.*'()`, such as the `|` that separates tenants), so that one event never holds its chunk back.", Output, parseTenantKey, false},
	{"http_user", "", "Basic-auth user.", Output, func(c *Config, v string) error { c.HTTPUser = v; return nil }, false},
	{"http_passwd", "", "Basic-auth password. Environment references such as `${LOKI_PASSWORD}` are expanded by Fluent Bit.", Output, func(c *Config, v string) error { c.HTTPPasswd = v; return nil }, true},
	{"bearer_token", "", "Bearer token sent as `Authorization: Bearer …`. Exclusive with `http_user`.", Output, func(c *Config, v string) error { c.BearerToken = v; return nil }, true},
	{"header", "", "Extra HTTP headers, `Name value` pairs separated by commas (e.g. `X-Org acme, X-Env prod`).", Output, parseHeaders, true},
	{"tls_ca_file", "", "PEM file of CAs that verify Loki's certificate (default: system roots). `tls.*` keys are consumed by Fluent Bit's core, hence the underscore.", Output, func(c *Config, v string) error { c.TLSCAFile = v; return checkFile(v) }, false},
	{"tls_cert_file", "", "PEM client certificate for mutual TLS (with `tls_key_file`).", Output, func(c *Config, v string) error { c.TLSCertFile = v; return checkFile(v) }, false},
	{"tls_key_file", "", "PEM private key of `tls_cert_file`.", Output, func(c *Config, v string) error { c.TLSKeyFile = v; return checkFile(v) }, false},
	{"tls_verify", "on", "Verify Loki's certificate and host name. `off` is for tests only.", Output, func(c *Config, v string) (err error) { c.TLSVerify, err = parseBool(v); return err }, false},
	{"tls_server_name", "", "Server name to verify instead of the URL's host.", Output, func(c *Config, v string) error { c.TLSServerName = v; return nil }, false},
	{"timeout", "10s", "Deadline for delivering one chunk (all its requests). A flush never blocks Fluent Bit longer; on expiry the chunk is retried.", Output, parseTimeout, false},
	{"max_request_bytes", "1048576", "Upper bound on the uncompressed size of one push request; larger chunks are split. Keep it below Loki's per-tenant `ingestion_burst_size_mb` and per-stream `per_stream_rate_limit_burst` (one request holds one stream), or a request can never be accepted: Loki answers 429 to every retry, logged as a warning each time, and the chunk stays in Fluent Bit's storage until the value is lowered.", Output, parseMaxRequest, false},
	{"structured_metadata", "", "Extra structured metadata, `name=value` (static) or `name=$path.to.field` / `name=$path['to']['field']` (from the audit event, dotted or Fluent Bit record-accessor form) pairs separated by commas.", Output, parseMetadata, false},
	{"structured_metadata_mode", "auto", "`auto`: send structured metadata; when Loki answers that it does not allow it (Loki 2.x, schema before v13, `allow_structured_metadata: false`), send the same entries without it, log once, count, and try again with it every 5 minutes. `on`: always send it; a Loki refusing it blocks delivery (retried, logged as an error) instead of losing events. `off`: never send it. Without it, every per-event field is still in the line.", Output, parseMetadataMode, false},
	{"max_line_bytes", "262144", "Longest line sent, Loki's `max_line_size` (256 KiB by default). A longer event keeps its envelope (who, what, when, outcome, objectRef, annotations) and has its bodies cut to fit, marked in the line (`kaudit.cut`, `kaudit.original_bytes`) and in structured metadata (`cut`), and counted: an event is never refused for its size.", Output, parseMaxLine, false},
	{"rejected_path", "", "File to which entries Loki refused as invalid (400) are appended, one JSON object per line with tenant, labels, time, line, structured metadata and Loki's reason. Its directory is created (mode 0700) at start if missing. Empty: refused entries are only counted and logged.", Output, func(c *Config, v string) error { c.RejectedPath = v; return checkDir(v) }, false},
	{"rejected_max_bytes", "100M", "Size bound of `rejected_path`: when it would grow past half of this, it is renamed to `rejected_path.1` (replacing the previous one) and a new file is started, so the two never hold more.", Output, parseRejectedMax, false},
	{"unrecognized", "drop", "What to do with a record that holds no audit event: `drop` (count and drop) or `pass` (send it on, every string of it swept by the redactor as an event's would be).", Both, parseUnrecognized, false},
	{"rules_file", "", "Extra detection rule files (comma-separated), applied after the embedded defaults: they add, override or disable rules.", Both, parseRulesFiles, false},
	{"trusted_proxies", "", "Addresses or CIDR prefixes (comma-separated) of load balancers and proxies in front of the API server. The client address of an event (rules' `sourceIP`, metadata `source_ip`) is the last entry of `sourceIPs`, the connection the API server accepted, stepping back over these to the first address that is none of them; entries a client writes into X-Forwarded-For never count. Appended to the rules' `trusted_proxies` list.", Both, parseTrustedProxies, false},
	{"redact_marker", "[REDACTED]", "Replacement for every redacted value (a `marker` in `redact_file` takes precedence).", Both, parseMarker, false},
	{"redact_file", "", "Extra redaction rules (YAML, format in redact/README.md), applied after the embedded conf/redact/default.yaml: more resources and paths, exclusions, the marker. Validated at start.", Both, func(c *Config, v string) error { c.RedactFile = v; return checkFile(v) }, false},
	{"redact_managed_fields", "on", "Remove `metadata.managedFields` from every object (they name every field a manager set and are noise in a log store). `off` keeps them.", Both, func(c *Config, v string) (err error) { c.RedactManagedFields, err = parseBool(v); return err }, false},
	{"redact_mode", "balanced", "`balanced`: remove what the structure of Kubernetes objects and the content scanner show to be secret, keep the rest for forensics. `strict`: in request and response bodies keep only the strings of an allow-list of fields (names, namespaces, labels, images, security context, RBAC rules, subjects, owner references, ...) and remove every other string. See redact/README.md.", Both, func(c *Config, v string) (err error) {
		c.RedactMode, err = redact.ParseMode(strings.ToLower(v))
		return err
	}, false},
	{"redact_hash_key", "", "Key (16 to 256 bytes) of an HMAC-SHA256 appended to the marker of each removed string value (`[REDACTED] hmac=1a2b3c4d5e6f`), so a rotation is visible without the value. Empty: no hash.", Both, parseHashKey, true},
	{"min_severity", "none", "Drop audit events whose highest detection is below this severity (`none`, `info`, `low`, `medium`, `high`, `critical`); `none` keeps every event. Unrecognized records passed with `unrecognized pass` are kept.", Filter, parseMinSeverity, false},
	{"metrics_listen", "", "`host:port` on which to serve Prometheus metrics at `/metrics` (e.g. `0.0.0.0:2021`). Empty: no listener. Instances naming the same address share one server, which serves every instance (label `instance_name`).", Output, parseListen, false},
	{"pprof", "off", "`on` adds Go's profiling endpoints (`/debug/pprof/`, e.g. `/debug/pprof/profile?seconds=30` for a CPU profile of the plugin inside the running Fluent Bit) to the `metrics_listen` server; needs `metrics_listen`. They expose stacks and cost CPU while a profile runs: keep the listener on a trusted address. `KAUDIT_CPUPROFILE=/path` in Fluent Bit's environment profiles from start to exit instead.", Output, parsePprof, false},
	{"audit_policy_file", "", "Kubernetes audit Policy (`audit.k8s.io/v1`, the file an API server takes as `--audit-policy-file`) applied in the pipeline, for clusters whose API server you cannot configure (AKS, EKS, GKE). Detection sees each event as it arrived; the policy then decides what is stored. Empty: everything is stored as it came. See [Audit policy in the pipeline](#audit-policy-in-the-pipeline).", Both, func(c *Config, v string) error { c.AuditPolicyFile = v; return checkFile(v) }, false},
	{"policy_keep_severity", "high", "Events that matched a detection of this severity or above are never dropped by `audit_policy_file` (they are stored at least at Metadata): `info`, `low`, `medium`, `high`, `critical`, or `none` to let the policy drop anything.", Both, parseKeepSeverity, false},
}

// Foreign are keys of Fluent Bit's native `loki` output that kaudit does
// not take, with what to use instead. A Go plugin cannot list the keys it
// was given (the proxy only answers lookups by name), so these, and the
// other kaudit plugin's keys, are the mistakes it can see for itself;
// `kaudit check` sees every key.
var Foreign = map[string]string{
	"uri":                          "kaudit takes the whole push endpoint in url",
	"compress":                     "kaudit always sends snappy-compressed protobuf",
	"line_format":                  "the line is always the audit event as JSON",
	"label_keys":                   "per-event values belong in structured_metadata (labels would explode stream cardinality)",
	"label_map_path":               "use labels (static) and structured_metadata (per event)",
	"remove_keys":                  "use redact_file to remove fields",
	"drop_single_key":              "the line is always the audit event as JSON",
	"auto_kubernetes_labels":       "audit events carry no pod metadata; use labels",
	"structured_metadata_map_keys": "use structured_metadata with $path entries",
}

// coreKeys are Fluent Bit's own instance keys (and prefixes' first
// segments): never reported as a kaudit key misspelt.
var coreKeys = map[string]bool{"name": true, "match": true, "match_regex": true, "alias": true, "log_level": true,
	"log_suppress_interval": true, "host": true, "port": true, "ipv6": true, "retry_limit": true, "workers": true,
	"routes": true, "tls": true, "condition": true, "active": true}

// misspelt looks up the likely typos of every key of the scope (a letter
// dropped, doubled or swapped with its neighbour): the proxy cannot list
// the keys it was given, but it answers any name asked. What a user most
// often gets wrong (`lables`, `tennant_id`) is thus refused even where
// Fluent Bit takes no config map.
func misspelt(g Getter, scope Scope) []string {
	known := map[string]bool{}
	for _, k := range Keys {
		known[k.Name] = true
	}
	for k := range Foreign {
		known[k] = true
	}
	var errs []string
	seen := map[string]bool{}
	for _, k := range Keys {
		if k.Scope&scope == 0 {
			continue
		}
		for _, typo := range typos(k.Name) {
			if seen[typo] || known[typo] || coreKeys[typo] {
				continue
			}
			seen[typo] = true
			if strings.TrimSpace(g.Get(typo)) != "" {
				errs = append(errs, fmt.Sprintf("%s: unknown key (did you mean %s?)", typo, k.Name))
			}
		}
	}
	return errs
}

func typos(k string) []string {
	var out []string
	for i := range len(k) {
		out = append(out, k[:i]+k[i+1:])    // dropped
		out = append(out, k[:i+1]+k[i:])    // doubled
		if i+1 < len(k) && k[i] != k[i+1] { // swapped
			out = append(out, k[:i]+string(k[i+1])+string(k[i])+k[i+2:])
		}
	}
	return out
}

// Parse reads every key of the output through g, applies defaults and
// validates. All problems are reported together, on one line, each starting
// with its key.
func Parse(g Getter) (*Config, error) { return ParseScope(g, Output) }

// ParseScope is Parse for the keys of one packaging.
func ParseScope(g Getter, scope Scope) (*Config, error) {
	c := &Config{}
	var errs []string
	for _, k := range Keys {
		if k.Scope&scope == 0 {
			continue
		}
		v := strings.TrimSpace(g.Get(k.Name))
		if v == "" {
			v = k.Default
		}
		if err := k.parse(c, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", k.Name, err))
		}
		c.effective = append(c.effective, [2]string{k.Name, v})
	}
	for _, k := range Keys {
		if k.Scope&scope == 0 && strings.TrimSpace(g.Get(k.Name)) != "" {
			errs = append(errs, fmt.Sprintf("%s: a key of the kaudit %s, not of the %s", k.Name, k.Scope, scope))
		}
	}
	errs = append(errs, misspelt(g, scope)...)
	for _, name := range sortedKeys(Foreign) {
		if strings.TrimSpace(g.Get(name)) != "" {
			errs = append(errs, fmt.Sprintf("%s: a key of Fluent Bit's loki output that kaudit does not take (%s)", name, Foreign[name]))
		}
	}
	if scope&Output != 0 {
		if c.HTTPUser != "" && c.BearerToken != "" {
			errs = append(errs, "bearer_token: set together with http_user (choose one authentication)")
		}
		if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
			errs = append(errs, "tls_cert_file: tls_cert_file and tls_key_file must be set together")
		}
		if c.MaxLineBytes > 0 && c.MaxRequestBytes > 0 && c.MaxLineBytes > c.MaxRequestBytes/2 {
			errs = append(errs, fmt.Sprintf("max_line_bytes: %d is more than half of max_request_bytes (%d): a line must leave room for its labels and metadata", c.MaxLineBytes, c.MaxRequestBytes))
		}
	}
	if len(errs) > 0 {
		return nil, errors.New("invalid configuration: " + strings.Join(errs, "; "))
	}
	return c, nil
}

// Redacted renders the effective configuration for the start-up log line:
// every key read, in Keys order, with the values of Secret keys masked and
// the password of any URL value removed.
func (c *Config) Redacted() string {
	secret := map[string]bool{}
	for _, k := range Keys {
		secret[k.Name] = k.Secret
	}
	parts := make([]string, 0, len(c.effective))
	for _, kv := range c.effective {
		name, v := kv[0], kv[1]
		switch {
		case secret[name] && v != "":
			v = "***"
		case strings.Contains(v, "@"):
			if u, err := url.Parse(v); err == nil && u.User != nil {
				v = u.Redacted()
			}
		}
		parts = append(parts, fmt.Sprintf("%s=%q", name, v))
	}
	return strings.Join(parts, " ")
}

func parseURL(c *Config, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", MaskUserinfo(v))
	}
	c.URL = u.String()
	return nil
}

// labelName is Prometheus' label-name syntax, which Loki enforces.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Reserved labels are set by kaudit per event, or per stream of late
// entries (backfill).
var reserved = map[string]bool{"severity": true, "detection": true, "backfill": true}

func parseLabels(c *Config, v string) error {
	c.Labels = nil
	seen := map[string]bool{}
	for _, part := range splitList(v) {
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		value = strings.Trim(value, `"`)
		switch {
		case !ok:
			return fmt.Errorf("%q is not name=value", part)
		case strings.HasPrefix(value, "$") || strings.HasPrefix(name, "$"):
			return fmt.Errorf("%q: record accessors are not allowed in labels (per-event values would explode stream cardinality; use structured_metadata)", part)
		case !labelName.MatchString(name) || strings.HasPrefix(name, "__"):
			return fmt.Errorf("%q: invalid label name %q", part, name)
		case reserved[name]:
			return fmt.Errorf("%q: label %q is set by kaudit", part, name)
		case seen[name]:
			return fmt.Errorf("%q: label %q given twice", part, name)
		case value == "":
			return fmt.Errorf("%q: empty value", part)
		}
		seen[name] = true
		c.Labels = append(c.Labels, Label{name, value})
	}
	if len(c.Labels) == 0 {
		return fmt.Errorf("%q: at least one label is required (Loki rejects streams without labels)", v)
	}
	if len(c.Labels)+len(reserved) > MaxLabels {
		return fmt.Errorf("%d labels: at most %d, since kaudit adds severity, detection and backfill", len(c.Labels), MaxLabels-len(reserved))
	}
	sort.Slice(c.Labels, func(i, j int) bool { return c.Labels[i].Name < c.Labels[j].Name })
	return nil
}

// headerName is RFC 7230's token syntax.
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// MaskUserinfo hides the credentials of a URL in a message: the start-up
// line that refuses one that does not parse, the delivery errors that name
// the url. Everything before the last @ after the scheme goes, so a
// password holding an @ or a / is never half printed.
func MaskUserinfo(v string) string {
	at := strings.LastIndex(v, "@")
	if at < 0 {
		return v
	}
	from := 0
	if i := strings.Index(v, "://"); i >= 0 && i < at {
		from = i + 3
	}
	return v[:from] + "***" + v[at:]
}

// parseHeaders reads `Name value` pairs. Its errors name the entry by
// position and print no value: headers carry API keys and tokens, and the
// line refusing them goes to Fluent Bit's log.
func parseHeaders(c *Config, v string) error {
	c.Headers = nil
	parts := splitList(v)
	for i, part := range parts {
		name, value, ok := strings.Cut(part, " ")
		if n, val, colon := strings.Cut(part, ":"); colon && (!ok || len(n) < len(name)) {
			name, value, ok = n, val, true
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !headerName.MatchString(name) || value == "" {
			return fmt.Errorf("entry %d of %d is not `Name value` (a header name, a space or a colon, then the value; the entry is not printed, it may hold a credential)", i+1, len(parts))
		}
		switch strings.ToLower(name) {
		case "content-type", "content-encoding", "content-length", "host":
			return fmt.Errorf("entry %d of %d: header %s is set by kaudit", i+1, len(parts), name)
		}
		c.Headers = append(c.Headers, [2]string{name, value})
	}
	return nil
}

func checkFile(v string) error {
	if v == "" {
		return nil
	}
	if _, err := os.Stat(v); err != nil {
		return fmt.Errorf("%q: %v", v, errors.Unwrap(err))
	}
	return nil
}

func parseTimeout(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
	}
	if err != nil || d < 100*time.Millisecond || d > 10*time.Minute {
		return fmt.Errorf("%q is not a duration between 100ms and 10m (e.g. 10s)", v)
	}
	c.Timeout = d
	return nil
}

func parseMaxRequest(c *Config, v string) error {
	n, err := parseSize(v)
	if err != nil || n < 1024 || n > 64<<20 {
		return fmt.Errorf("%q is not a size between 1KiB and 64MiB (e.g. 1048576, 512K, 2M)", v)
	}
	c.MaxRequestBytes = n
	return nil
}

// parseSize accepts plain bytes or K/M suffixes, as Fluent Bit's sizes do.
func parseSize(v string) (int, error) {
	mult := 1
	s := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(v), "B"), "I"))
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	return n * mult, err
}

func parseMetadata(c *Config, v string) error {
	c.Metadata = nil
	for _, part := range splitList(v) {
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !labelName.MatchString(name) || value == "" {
			return fmt.Errorf("%q is not name=value or name=$path", part)
		}
		f := MetaField{Name: name, Value: value}
		if strings.HasPrefix(value, "$") {
			path, err := ParsePath(value)
			if err != nil {
				return fmt.Errorf("%q: %v", part, err)
			}
			f.Value, f.Path = "", path
		}
		c.Metadata = append(c.Metadata, f)
	}
	return nil
}

// ParsePath reads a field path in the forms Fluent Bit users write: dotted
// (`objectRef.namespace`, with or without a leading `$`) or record accessor
// (`$objectRef['namespace']`, `$a["b"]['c']`, mixed with dots).
func ParsePath(v string) ([]string, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "$")
	var path []string
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
			if s == "" || s[0] == '.' || s[0] == '[' {
				return nil, fmt.Errorf("%q: empty path segment", v)
			}
			continue
		case '[':
			if len(s) < 2 || (s[1] != '\'' && s[1] != '"') {
				return nil, fmt.Errorf("%q: a bracket must hold a quoted key, as in $a['b']", v)
			}
			q := s[1]
			end := strings.IndexByte(s[2:], q)
			if end < 0 || len(s) < end+4 || s[end+3] != ']' {
				return nil, fmt.Errorf("%q: unterminated bracket", v)
			}
			key := s[2 : end+2]
			if key == "" {
				return nil, fmt.Errorf("%q: empty path segment", v)
			}
			path = append(path, key)
			s = s[end+4:]
		default:
			i := strings.IndexAny(s, ".[")
			if i < 0 {
				i = len(s)
			}
			path = append(path, s[:i])
			s = s[i:]
		}
	}
	if len(path) == 0 {
		return nil, fmt.Errorf("%q: empty path", v)
	}
	return path, nil
}

func parseTenant(c *Config, v string) error {
	if v != "" && !ValidTenant(v) {
		return fmt.Errorf("%q is not a tenant Loki takes (1 to 150 letters, digits or !-_.*'(), not . or ..)", v)
	}
	c.TenantID = v
	return nil
}

// ValidTenant reports whether Loki takes s as one tenant (X-Scope-OrgID):
// 1 to 150 bytes of letters, digits and !-_.*'(), neither "." nor "..".
func ValidTenant(s string) bool {
	if s == "" || len(s) > 150 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!-_.*'()", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func parseTenantKey(c *Config, v string) error {
	c.TenantIDKey, c.TenantIDPath = v, nil
	if v == "" {
		return nil
	}
	path, err := ParsePath(v)
	if err != nil {
		return err
	}
	c.TenantIDPath = path
	return nil
}

func parseMetadataMode(c *Config, v string) error {
	for i, n := range metadataModes {
		if strings.EqualFold(v, n) {
			c.MetadataMode = MetadataMode(i)
			return nil
		}
	}
	return fmt.Errorf("unknown value %q (allowed: auto, on, off)", v)
}

// MinLineBytes leaves room for the envelope of any event.
const MinLineBytes = 4096

func parseMaxLine(c *Config, v string) error {
	n, err := parseSize(v)
	if err != nil || n < MinLineBytes || n > 16<<20 {
		return fmt.Errorf("%q is not a size between 4KiB and 16MiB (e.g. 262144, 256K)", v)
	}
	c.MaxLineBytes = n
	return nil
}

func parseRejectedMax(c *Config, v string) error {
	n, err := parseSize(v)
	if err != nil || n < 64<<10 {
		return fmt.Errorf("%q is not a size of at least 64KiB (e.g. 100M)", v)
	}
	c.RejectedMaxBytes = n
	return nil
}

// checkDir accepts a file path whose directory exists or could be made by
// Prepare: parsing must leave the machine untouched, because `kaudit check`
// validates a node's configuration on any machine, where the directory need
// not exist yet. Only a regular file (or anything else not a directory) in
// the way, or an ancestor that cannot be examined, fails here; permissions
// are Prepare's to find out.
func checkDir(v string) error {
	if v == "" {
		return nil
	}
	for d := filepath.Dir(v); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		switch {
		case err == nil && st.IsDir():
			return nil
		case err == nil:
			return fmt.Errorf("%q: %q is not a directory", v, d)
		case !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fmt.Errorf("%q: %v", v, errors.Unwrap(err))
		}
		if d == filepath.Dir(d) {
			return fmt.Errorf("%q: no ancestor of its directory exists", v)
		}
	}
}

// Prepare creates what the configuration names but Parse only checked could
// exist: the directory of rejected_path, private to the plugin's user as the
// entries it will hold are, much as Fluent Bit creates its storage.path.
// Callers that only validate do not call it.
func (c *Config) Prepare() error {
	if c.RejectedPath == "" {
		return nil
	}
	d := filepath.Dir(c.RejectedPath)
	if err := os.MkdirAll(d, 0o700); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			if pe.Path != d { // the component in the way
				return fmt.Errorf("rejected_path: cannot create directory %q: %s: %v", d, pe.Path, pe.Err)
			}
			err = pe.Err
		}
		return fmt.Errorf("rejected_path: cannot create directory %q: %v", d, err)
	}
	return nil
}

func parseUnrecognized(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "drop":
		c.Unrecognized = UnrecognizedDrop
	case "pass":
		c.Unrecognized = UnrecognizedPass
	default:
		return fmt.Errorf("unknown value %q (allowed: drop, pass)", v)
	}
	return nil
}

func parseRulesFiles(c *Config, v string) error {
	c.RulesFiles = nil
	for _, f := range splitList(v) {
		if err := checkFile(f); err != nil {
			return err
		}
		c.RulesFiles = append(c.RulesFiles, f)
	}
	return nil
}

func parseMinSeverity(c *Config, v string) (err error) {
	c.MinSeverity, err = detect.ParseSeverity(v)
	return err
}

func parseHashKey(c *Config, v string) error {
	if n := len(v); n > 0 && (n < 16 || n > 256) {
		return fmt.Errorf("%d bytes long (allowed: 16 to 256, or empty for no hash)", n)
	}
	c.RedactHashKey = v
	return nil
}

func parseMarker(c *Config, v string) error {
	if strings.ContainsAny(v, "\"\\\n") {
		return fmt.Errorf("%q: quotes, backslashes and newlines are not allowed", v)
	}
	c.RedactMarker = v
	return nil
}

func parsePprof(c *Config, v string) (err error) {
	if c.Pprof, err = parseBool(v); err != nil {
		return err
	}
	if c.Pprof && c.MetricsListen == "" {
		return fmt.Errorf("on needs metrics_listen (the endpoints are served there)")
	}
	return nil
}

func parseListen(c *Config, v string) error {
	c.MetricsListen = v
	if v == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 0.0.0.0:2021)", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number between 1 and 65535", v, port)
	}
	return nil
}

func parseKeepSeverity(c *Config, v string) error {
	sev, err := detect.ParseSeverity(v)
	if err != nil {
		return err
	}
	c.PolicyKeep = sev
	return nil
}

// parseBool accepts Fluent Bit's boolean spellings.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (on/off, true/false, yes/no)", v)
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Markdown renders the configuration reference that README.md carries
// between `<!-- CONFIG-KEYS -->` markers; a test keeps the two identical.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| key | default | plugins | meaning |\n|---|---|---|---|\n")
	for _, k := range Keys {
		d := "`" + k.Default + "`"
		if k.Default == "" {
			d = "(none)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, d, [...]string{"", "output", "filter", "output, filter"}[k.Scope], k.Help)
	}
	return b.String()
}

func parseTrustedProxies(c *Config, v string) error {
	c.TrustedProxies = nil
	var bad []string
	for _, item := range splitList(v) {
		var p netip.Prefix
		var err error
		if strings.Contains(item, "/") {
			p, err = netip.ParsePrefix(item)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(item); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q", item))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked().String())
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: not an address or CIDR prefix (e.g. 10.0.0.0/8, 192.0.2.7)", strings.Join(bad, ", "))
	}
	return nil
}
