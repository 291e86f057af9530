package redact

import "fmt"

// Mode is how much of a body's text is kept.
type Mode uint8

const (
	// Balanced removes what the structure and the scanner show to be
	// secret and keeps everything else, for forensics.
	Balanced Mode = iota
	// Strict keeps, in request and response bodies, only the strings of
	// the fields on the strict allow-list (conf/redact/kubernetes.yaml
	// strict_allow: names, namespaces, labels, images, security context,
	// RBAC rules, subjects, owner references, ...) and removes every other
	// string. The event's own fields are treated as in Balanced.
	Strict
)

func (m Mode) String() string {
	if m == Strict {
		return "strict"
	}
	return "balanced"
}

// ParseMode parses a redact_mode value.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "balanced", "":
		return Balanced, nil
	case "strict":
		return Strict, nil
	}
	return Balanced, fmt.Errorf("unknown value %q (allowed: balanced, strict)", s)
}
