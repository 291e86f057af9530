package literal

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// What Required reads off a regexp never turns away a text the regexp
// matches: random texts built from the regexps' own literals, in both
// cases, with non-ASCII look-alikes (the Kelvin sign folds to k) and
// filler, are put to both.
func TestNeverTurnsAwayAMatch(t *testing.T) {
	pats := []string{
		`(?i)aws[_-](s3[_-])?access[_-]key[_-]id`,
		`(?i)aws[_-]secret[_-]access[_-]key`,
		`(?i)(^|[^a-z])pass(word|phrase|wd)([^a-z]|$)`,
		`(?i)(api|secret|private)[_-]?key([^a-z]|$)`,
		`BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY`,
		`^-?c[a-zA-Z]*f$`,
		`cannot impersonate`,
		`(?i)token\s*[:=]\s*\S+`,
		`x{2,}y+z?`,
		`(ab|cd)(ef|gh)`,
		`[0-9]+`,
		`.*`,
	}
	var words []string
	var res []*regexp.Regexp
	var needs []Needs
	for _, p := range pats {
		re := regexp.MustCompile(p)
		n := Required(re)
		res, needs = append(res, re), append(needs, n)
		for _, c := range n {
			for _, l := range c {
				words = append(words, l.S, strings.ToUpper(l.S))
			}
		}
	}
	words = append(words, "\u212aey", "_", "-", " ", "=", ":", "\n", "BEGIN ", "PRIVATE KEY", "c", "f", "xx", "y")
	rng := rand.New(rand.NewPCG(4, 5))
	turned := 0
	for i := 0; i < 50000; i++ {
		var b strings.Builder
		for n := rng.IntN(8); n >= 0; n-- {
			b.WriteString(words[rng.IntN(len(words))])
			if rng.IntN(3) == 0 {
				b.WriteByte(byte('a' + rng.IntN(26)))
			}
		}
		s := b.String()
		for j, re := range res {
			if needs[j].MayMatch(s) {
				continue
			}
			turned++
			if re.MatchString(s) {
				t.Fatalf("%s: needs %v turn away %q, which it matches", pats[j], needs[j], s)
			}
		}
	}
	if turned == 0 {
		t.Fatal("nothing turned away: the test says nothing")
	}
	t.Logf("%d regexp runs turned away", turned)
}

// The shapes the rules and the redactor use have something to require.
func TestRequires(t *testing.T) {
	for p, want := range map[string]string{
		`(?i)(^|[^a-z])pass(word|phrase|wd)([^a-z]|$)`: "pass",
		`BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY`:   "PRIVATE KEY",
		`cannot impersonate`:                           "cannot impersonate",
	} {
		n := Required(regexp.MustCompile(p))
		found := false
		for _, c := range n {
			for _, l := range c {
				found = found || l.S == want
			}
		}
		if !found {
			t.Errorf("%s: needs %v, want %q among them", p, n, want)
		}
	}
}
