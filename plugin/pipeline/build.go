package pipeline

import (
	"fmt"
	"os"

	"github.com/kaudit/kaudit/conf"
	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/metrics"
	"github.com/kaudit/kaudit/redact"
	"github.com/kaudit/kaudit/redact/policy"
)

// Build builds the decode -> detect -> policy -> redact pipeline a
// configuration describes: the one constructor of every packaging (output,
// filter, command), so all honour every key the same way. Errors start with
// the key at fault. Metrics, if any, are attached with SetMetrics.
func Build(c *config.Config) (*Pipeline, error) {
	det, err := LoadRules(c.RulesFiles, c.TrustedProxies...)
	if err != nil {
		return nil, fmt.Errorf("rules_file: %w", err)
	}
	red, err := NewRedactor(c)
	if err != nil {
		return nil, err
	}
	var pol *policy.Policy
	if c.AuditPolicyFile != "" {
		if pol, err = policy.LoadFile(c.AuditPolicyFile); err != nil {
			return nil, fmt.Errorf("audit_policy_file: %q: %w", c.AuditPolicyFile, err)
		}
	}
	return New(Settings{Redactor: red, Detector: det, PassUnrecognized: c.Unrecognized == config.UnrecognizedPass,
		Policy: pol, PolicyKeep: c.PolicyKeep, MaxLine: c.MaxLineBytes})
}

// LoadRules compiles the embedded default rules followed by the user's
// files, which add, override or disable rules: production and tests load
// rules through it.
func LoadRules(files []string, proxies ...string) (*detect.Engine, error) {
	srcs, err := detect.FromFS(conf.Rules, "rules/*.yaml")
	if err != nil {
		return nil, err
	}
	for i := range srcs {
		srcs[i].Name = "embedded:" + srcs[i].Name
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, detect.Source{Name: f, Data: b})
	}
	if len(proxies) > 0 {
		srcs = append(srcs, detect.ProxiesSource("trusted_proxies", proxies))
	}
	return detect.New(srcs...)
}

// NewRedactor builds the redactor of a configuration: the embedded
// conf/redact/default.yaml, then redact_file. Each error starts with the
// key whose value is at fault and names the file.
func NewRedactor(c *config.Config) (*redact.Redactor, error) {
	srcs := []redact.Source{{Name: "embedded:" + conf.RedactName, Data: conf.Redact}}
	if c.RedactFile != "" {
		b, err := os.ReadFile(c.RedactFile)
		if err != nil {
			return nil, fmt.Errorf("redact_file: %w", err)
		}
		srcs = append(srcs, redact.Source{Name: c.RedactFile, Data: b})
	}
	cfg := redact.Config{Marker: c.RedactMarker, Rules: srcs, KeepManagedFields: !c.RedactManagedFields, HashKey: []byte(c.RedactHashKey), Mode: c.RedactMode}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redact_marker/redact_hash_key: %w", err)
	}
	red, err := redact.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("redact_file: %w", err)
	}
	return red, nil
}

// SetMetrics makes the pipeline feed m (the same counts as Stats and more:
// detections by rule, redactions by kind). Call it before the first chunk.
func (p *Pipeline) SetMetrics(m *metrics.Pipeline) { p.s.Metrics = m }

// ShipLines tells the pipeline its packaging sends Event.Line when set
// (Settings.Lines).
func (p *Pipeline) ShipLines() { p.s.Lines = true }

// ReuseTrees tells the pipeline its packaging's emit keeps nothing of an
// Event past its return: no map, list or Record.Body, and no string (a
// packaging that keeps one, a Loki entry's metadata, copies it). The maps
// of each record are then reused to decode the records after it, and one
// buffer holds every chunk's text in turn, which spares most of what
// decoding costs and allocates (Settings.Reuse).
func (p *Pipeline) ReuseTrees() { p.s.Reuse = true }
