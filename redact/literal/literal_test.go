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
		`\b(?:(?:redis-cli\b[^\n;]*?\s-a|sqlcmd\b[^\n;]*?\s-P|mongo(?:sh)?\b[^\n;]*?\s-p|zip\b[^\n;]*?\s-P|7z[ar]?\b[^\n;]*?\s-p)(?:[ \t]+|=)(\S+)|vault\s+login\s+(\S+))`,
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
	words = append(words, "\u212aey", "_", "-", " ", "=", ":", "\n", "\t", "BEGIN ", "PRIVATE KEY", "c", "f", "xx", "y",
		"redis-cli", "sqlcmd", "mongosh", "zip", "7z", "7za", "vault", "login", " -a ", " -p", "-P=", "2026-11-29T14:23:27.659257Z")
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

// The shapes the rules and the redactor use have something to require:
// an alternation whose branches are named by different words still
// requires what they share (here the blank before a command's flag), so
// a timestamp that happens to hold one of the words (…27.659257Z holds
// 7z) is turned away without running the regexp.
func TestRequires(t *testing.T) {
	cmd := `\b(?:(?:redis-cli\b[^\n;]*?\s-a|sqlcmd\b[^\n;]*?\s-P|mongo(?:sh)?\b[^\n;]*?\s-p|zip\b[^\n;]*?\s-P|nuget\b[^\n;]*?\s-p|rdesktop\b[^\n;]*?\s-p|7z[ar]?\b[^\n;]*?\s-p)(?:[ \t]+|=)(\S+)|vault\s+login\s+(\S+))`
	if n := Required(regexp.MustCompile(cmd)); n.MayMatch("2026-11-29T14:23:27.659257Z") {
		t.Errorf("%s: needs %v do not turn away a timestamp", cmd, n)
	}
	for p, want := range map[string]string{
		cmd: " ",
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
