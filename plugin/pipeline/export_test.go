package pipeline

import (
	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/redact/policy"
)

// SetPolicy swaps the audit policy of a built pipeline, for the external
// tests of this package.
func (p *Pipeline) SetPolicy(pol *policy.Policy, keep detect.Severity) {
	p.s.Policy, p.s.PolicyKeep = pol, keep
}

// FullPathOnly turns the screen off, for tests that hold what it passes to
// what the full path ships.
func (p *Pipeline) FullPathOnly() { p.fullPath = true }

// NoReuse makes p decode every record into maps of its own.
func (p *Pipeline) NoReuse() { p.s.Reuse = false }
