package e2e

import "github.com/kaudit/kaudit/redact/leakcheck"

// canaries finds a planted value's markers (Canary, and the alphanumeric
// one of provider-key formats) plain, as base64 std or url at any
// alignment, as hex, and inside base64 of gzip.
var canaries = leakcheck.New(leakcheck.Markers...)

// ContainsCanary reports whether s holds a planted secret in any form.
func ContainsCanary(s string) bool { return canaries.Find(s) != "" }
