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
