// Package leakcheck finds planted secrets in output, in every encoding a
// value can leave in: plain, base64 (standard or URL alphabet, padded or
// not, at any byte alignment inside a longer encoded value), hex (either
// case), and base64 of gzip. Tests of the redactor and of the whole plugin
// share it, so "absent" means the same everywhere.
package leakcheck

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
)

// Forms returns the substrings present in every rendering of any text that
// contains secret: plain, hex, and the base64 characters that depend on
// secret's bytes alone at each of the three alignments.
func Forms(secret string) []string {
	forms := []string{secret, hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret)))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := 0; shift < 3; shift++ {
			s := enc.EncodeToString([]byte(strings.Repeat("\x00", shift) + secret))
			start := 0
			if shift > 0 {
				start = 4 // the group shared with preceding bytes
			}
			end := 4 * ((shift + len(secret)) / 3) // groups wholly inside the secret
			if end > start {
				forms = append(forms, s[start:end])
			}
		}
	}
	return forms
}

// Checker finds any of a set of secrets.
type Checker struct {
	forms []string
}

// New returns a Checker for secrets (each at least 6 bytes, so that its
// encoded forms are specific).
func New(secrets ...string) *Checker {
	c := &Checker{}
	for _, s := range secrets {
		c.forms = append(c.forms, Forms(s)...)
	}
	return c
}

// Find reports the first form of a secret found in s, also inside
// base64-of-gzip runs, or "".
func (c *Checker) Find(s string) string {
	return c.find(s, 0)
}

func (c *Checker) find(s string, depth int) string {
	for _, f := range c.forms {
		if strings.Contains(s, f) {
			return f
		}
	}
	if depth > 2 {
		return ""
	}
	for _, run := range base64Runs(s) {
		b := decode(run)
		if b == nil {
			continue
		}
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				continue
			}
			out, _ := io.ReadAll(io.LimitReader(zr, 16<<20))
			b = out
		}
		if f := c.find(string(b), depth+1); f != "" {
			return f
		}
	}
	return ""
}

// base64Runs returns the maximal runs of base64 characters of 16 or more.
func base64Runs(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		isB64 := i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '/' || s[i] == '-' || s[i] == '_' || s[i] == '=')
		if isB64 && start < 0 {
			start = i
		} else if !isB64 && start >= 0 {
			if i-start >= 16 {
				out = append(out, s[start:i])
			}
			start = -1
		}
	}
	return out
}

func decode(run string) []byte {
	t := strings.TrimRight(run, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for cut := 0; cut < 4 && cut < len(t); cut++ {
			if b, err := enc.DecodeString(t[:len(t)-cut]); err == nil {
				return b
			}
		}
	}
	return nil
}
