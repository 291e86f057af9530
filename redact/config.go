package redact

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
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
	return errors.Join(errs...)
}

// Redactor removes secrets from audit events. It holds no per-event state,
// so one Redactor serves any number of goroutines.
type Redactor struct {
	marker string
	// mark is marker already boxed, so writing it into a map[string]any
	// does not allocate once per removed value.
	mark any
}

// New validates cfg and returns a Redactor; it is the only place a
// configuration error can surface.
func New(cfg Config) (*Redactor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Marker == "" {
		cfg.Marker = DefaultMarker
	}
	return &Redactor{marker: cfg.Marker, mark: cfg.Marker}, nil
}

// NewDefault returns a Redactor using DefaultMarker.
func NewDefault() *Redactor {
	r, err := New(Config{})
	if err != nil {
		panic("redact: default config invalid: " + err.Error())
	}
	return r
}

// Marker returns the effective marker, for logging the effective configuration.
func (r *Redactor) Marker() string { return r.marker }
