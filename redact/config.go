package redact

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Hash keys shorter than minHashKey make the keyed hash guessable for short
// values; longer than maxHashKey is a misconfiguration (a file path pasted
// as the key, say).
const (
	minHashKey = 16
	maxHashKey = 256
	// hashSep separates the marker from the hash: "[REDACTED] hmac=1a2b3c4d5e6f".
	hashSep = " hmac="
	// hashHex is how many hex digits of HMAC-SHA256 are kept: 48 bits tell a
	// rotation apart and are far too few to confirm a guess offline at scale.
	hashHex = 12
)

// DefaultMarker is what a removed value becomes when Config.Marker is empty.
const DefaultMarker = "[REDACTED]"

// maxMarkerLen keeps a misconfigured marker from multiplying the size of
// large Secret lists, where it replaces every value.
const maxMarkerLen = 64

// Config is the user-facing redaction configuration.
type Config struct {
	// Marker replaces every removed value and every body whose shape the
	// redactor does not understand. Empty means DefaultMarker.
	Marker string
	// Rules are redaction files (rules, credential names, annotations,
	// patterns, the marker) applied in order after the embedded knowledge:
	// a later rule or pattern with the same id replaces an earlier one; see
	// redact/README.md. The secret-bearing kinds cannot be changed.
	Rules []Source
	// KeepManagedFields keeps metadata.managedFields, which are removed by
	// default.
	KeepManagedFields bool
	// Mode is Balanced (the zero value) or Strict.
	Mode Mode
	// HashKey, when set, appends a short HMAC-SHA256 of each removed string
	// value to the marker, so a rotation is visible without the value.
	HashKey []byte
}

// Validate reports every problem at once so a bad configuration fails at
// startup with the whole list, not one error per restart.
func (c Config) Validate() error {
	var errs []error
	m := c.Marker
	if !utf8.ValidString(m) {
		errs = append(errs, errors.New("marker: not valid UTF-8"))
	}
	if len(m) > maxMarkerLen {
		errs = append(errs, fmt.Errorf("marker: %d bytes long (allowed: at most %d)", len(m), maxMarkerLen))
	}
	for _, c := range m {
		if unicode.IsControl(c) {
			errs = append(errs, errors.New("marker: contains a control character"))
			break
		}
	}
	if n := len(c.HashKey); n > 0 && (n < minHashKey || n > maxHashKey) {
		errs = append(errs, fmt.Errorf("hash_key: %d bytes long (allowed: %d to %d, or empty for no hash)", n, minHashKey, maxHashKey))
	}
	return joinErrs(errs)
}

// Redactor removes secrets from audit events. It holds no per-event state,
// so one Redactor serves any number of goroutines.
type Redactor struct {
	marker string
	// mark is marker already boxed, so writing it into a map[string]any
	// does not allocate once per removed value.
	mark any
	// hashPrefix is marker+hashSep when hashing is on.
	hashPrefix  string
	hashKey     []byte
	dropManaged bool
	rules       *ruleSet
	strict      bool
	strictAllow map[string]bool
	// cleanKeys are long map keys already judged harmless.
	cleanKeys keySet
	// inertKeys are map keys the screen has judged: neither renamed nor
	// naming a credential (the rules that look at their member are
	// keyRules').
	inertKeys keySet
	// ruleNames are env-style names judged by ruleName, keyRules keys
	// judged by ruleKey.
	ruleNames memo[bool]
	keyRules  memo[uint64]
	verdicts  *verdicts
}

// New validates cfg and returns a Redactor; it is the only place a
// configuration error can surface.
func New(cfg Config) (*Redactor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rs, err := loadRules(cfg.Rules)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if rs.marker != nil {
		cfg.Marker = *rs.marker
	}
	if cfg.Marker == "" {
		cfg.Marker = DefaultMarker
	}
	r := &Redactor{marker: cfg.Marker, mark: cfg.Marker, dropManaged: !cfg.KeepManagedFields, rules: rs, strict: cfg.Mode == Strict, strictAllow: rs.strictAllow, verdicts: newVerdicts()}
	if len(cfg.HashKey) > 0 {
		r.hashKey = append([]byte(nil), cfg.HashKey...)
		r.hashPrefix = cfg.Marker + hashSep
	}
	return r, nil
}

// NewDefault returns a Redactor with the built-in secret-bearing kinds only (no extra
// rules), DefaultMarker, and managedFields removed.
func NewDefault() *Redactor {
	r, err := New(Config{})
	if err != nil {
		panic("redact: default config invalid: " + err.Error())
	}
	return r
}

// Marker returns the effective marker, for logging the effective configuration.
func (r *Redactor) Marker() string { return r.marker }

// Rules returns the ids of the rules in force, for the start-up log.
func (r *Redactor) Rules() []string {
	ids := make([]string, 0, len(r.rules.rules))
	for _, x := range r.rules.rules {
		ids = append(ids, x.id)
	}
	return ids
}
