package detect

import (
	"fmt"
	"strings"
)

// Severity orders detections so one event with several matches can carry a
// single level (the highest) as a Loki label. The zero value, None, means
// "nothing matched" and is never a rule's severity.
type Severity uint8

// Severities in ascending order; comparisons with < and > are meaningful.
const (
	None Severity = iota
	Info
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{
	None:     "none",
	Info:     "info",
	Low:      "low",
	Medium:   "medium",
	High:     "high",
	Critical: "critical",
}

// String returns the lower-case name used in rule files and labels.
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// ParseSeverity accepts the names String returns, in any case, so the same
// spelling works in rule files and in plugin configuration.
func ParseSeverity(s string) (Severity, error) {
	for i, name := range severityNames {
		if strings.EqualFold(s, name) {
			return Severity(i), nil
		}
	}
	return None, fmt.Errorf("unknown severity %q (allowed: %s)", s, strings.Join(severityNames[:], ", "))
}

// MarshalText lets Severity appear in JSON/YAML configuration as its name.
func (s Severity) MarshalText() ([]byte, error) {
	if int(s) >= len(severityNames) {
		return nil, fmt.Errorf("invalid severity %d", uint8(s))
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText is the inverse of MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
