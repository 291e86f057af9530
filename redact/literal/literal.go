// Package literal reads off a regular expression what every match of it
// must contain, so that a text without it is turned away before the
// regexp engine runs. Go's engine has no literal prefilter for patterns
// like (?i)(^|[^a-z])pass(word|wd), and on long texts it runs at a few
// megabytes a second; a substring check runs at memory speed. Both the
// redactor's credential patterns and the rules' regex tests use it.
package literal

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Lit is a literal a match may contain; fold: ASCII case-insensitive.
type Lit struct {
	S    string
	Fold bool
}

const (
	maxReqClauses = 8  // clauses kept per pattern
	maxReqLits    = 16 // literals per clause
	maxClassRunes = 8  // a character class bigger than this requires nothing
)

// Needs is what every match of a regexp contains: clauses, each a set of
// literals of which a match contains at least one. Empty when nothing is
// known: every text may match.
type Needs [][]Lit

// Required returns what every match of re contains, the most selective
// clauses first.
func Required(re *regexp.Regexp) Needs {
	ast, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	cl := required(ast.Simplify(), 0)
	// The most selective first: longer literals, fewer of them.
	slices.SortStableFunc(cl, func(a, b []Lit) int { return reqScore(b) - reqScore(a) })
	if len(cl) > maxReqClauses {
		cl = cl[:maxReqClauses]
	}
	return cl
}

func reqScore(c []Lit) int {
	m := 1 << 20
	for _, l := range c {
		m = min(m, len(l.S))
	}
	return m*64 - len(c)
}

// required returns clauses that every match of re satisfies.
func required(re *syntax.Regexp, depth int) [][]Lit {
	if depth > 32 {
		return nil
	}
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		if fold {
			for _, r := range re.Rune {
				if r >= utf8.RuneSelf {
					return nil // Unicode folding: not for an ASCII check
				}
			}
			return [][]Lit{{{S: strings.ToLower(string(re.Rune)), Fold: true}}}
		}
		return [][]Lit{{{S: string(re.Rune)}}}
	case syntax.OpCharClass:
		var c []Lit
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi-lo >= maxClassRunes || len(c)+int(hi-lo)+1 > maxClassRunes {
				return nil
			}
			for r := lo; r <= hi; r++ {
				c = append(c, Lit{S: string(r)})
			}
		}
		if len(c) == 0 {
			return nil
		}
		return [][]Lit{c}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0], depth+1)
		}
		return nil
	case syntax.OpConcat:
		// Every part's match is in the whole's.
		var out [][]Lit
		for _, sub := range re.Sub {
			out = append(out, required(sub, depth+1)...)
		}
		return out
	case syntax.OpAlternate:
		// A match is one branch's: a clause that holds a clause of every
		// branch is required of the whole. Each branch's most selective
		// clause, unioned, is the one that turns most texts away, but
		// branches named by different words soon make it too big to keep;
		// a clause the branches share (\s in every form of a command line)
		// still turns away texts without it, so one union is grown from
		// each clause of the first branch, taking from every other branch
		// the clause that adds fewest literals.
		subs := make([][][]Lit, len(re.Sub))
		for i, sub := range re.Sub {
			if subs[i] = required(sub, depth+1); len(subs[i]) == 0 {
				return nil
			}
		}
		var out [][]Lit
		if c, ok := unionOf(subs, func(cl [][]Lit, _ []Lit) []Lit { return best(cl) }, nil); ok {
			out = append(out, c)
		}
		for _, seed := range subs[0] {
			c, ok := unionOf(subs[1:], fewestNew, seed)
			if ok && !slices.ContainsFunc(out, func(o []Lit) bool { return sameLits(o, c) }) {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// unionOf unions seed with the clause pick takes of each branch's, without
// repeats; ok is false when it grows past maxReqLits.
func unionOf(branches [][][]Lit, pick func(cl [][]Lit, sofar []Lit) []Lit, seed []Lit) (c []Lit, ok bool) {
	c = addLits(nil, seed)
	for _, cl := range branches {
		if c = addLits(c, pick(cl, c)); len(c) > maxReqLits {
			return nil, false
		}
	}
	return c, len(c) > 0
}

// best is the most selective of a branch's clauses.
func best(cl [][]Lit) []Lit {
	b := cl[0]
	for _, x := range cl[1:] {
		if reqScore(x) > reqScore(b) {
			b = x
		}
	}
	return b
}

// fewestNew is the clause of cl that adds fewest literals to sofar.
func fewestNew(cl [][]Lit, sofar []Lit) []Lit {
	var b []Lit
	n := -1
	for _, x := range cl {
		k := 0
		for _, l := range x {
			if !slices.Contains(sofar, l) {
				k++
			}
		}
		if n < 0 || k < n {
			b, n = x, k
		}
	}
	return b
}

// addLits appends to c the literals of add it lacks.
func addLits(c, add []Lit) []Lit {
	for _, l := range add {
		if !slices.Contains(c, l) {
			c = append(c, l)
		}
	}
	return c
}

func sameLits(a, b []Lit) bool {
	if len(a) != len(b) {
		return false
	}
	for _, l := range a {
		if !slices.Contains(b, l) {
			return false
		}
	}
	return true
}

// MayMatch reports whether s satisfies every clause: false means the
// regexp cannot match s. ASCII case folding is exact only for ASCII
// text: (?i)k also matches the Kelvin sign, so text with other bytes
// satisfies a folded literal.
func (n Needs) MayMatch(s string) bool {
	for _, c := range n {
		ok := false
		for _, l := range c {
			if l.Fold {
				if ContainsFold(s, l.S) || !IsASCII(s) {
					ok = true
					break
				}
			} else if strings.Contains(s, l.S) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// ContainsFold is strings.Contains with ASCII case folding; lit is lower
// case.
func ContainsFold(s, lit string) bool {
	if lit == "" {
		return true
	}
	c0 := lit[0]
	up := c0
	if 'a' <= c0 && c0 <= 'z' {
		up = c0 - 32
	}
	for i := 0; i+len(lit) <= len(s); i++ {
		if (s[i] == c0 || s[i] == up) && HasPrefixFold(s[i:], lit) {
			return true
		}
	}
	return false
}

// HasPrefixFold is strings.HasPrefix with ASCII case folding; lit is
// lower case.
func HasPrefixFold(s, lit string) bool {
	if len(s) < len(lit) {
		return false
	}
	for j := 0; j < len(lit); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[j] {
			return false
		}
	}
	return true
}

// IsASCII reports whether s holds only ASCII bytes.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
