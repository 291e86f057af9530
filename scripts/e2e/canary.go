package e2e

import (
	"encoding/base64"
	"strings"
)

// canaryForms are substrings present in every plain, base64 or base64url
// rendering of any text that contains Canary, at any byte alignment.
var canaryForms = func() []string {
	forms := []string{Canary}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := 0; shift < 3; shift++ {
			s := enc.EncodeToString([]byte(strings.Repeat("\x00", shift) + Canary))
			start := 0
			if shift > 0 {
				start = 4 // the group shared with preceding bytes
			}
			end := 4 * ((shift + len(Canary)) / 3) // groups wholly inside the canary
			forms = append(forms, s[start:end])
		}
	}
	return forms
}()

// ContainsCanary reports whether s holds a planted secret in any form.
func ContainsCanary(s string) bool {
	for _, f := range canaryForms {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}
