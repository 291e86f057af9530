package redact

import (
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/kaudit/kaudit/redact/literal"
)

// matcher is a compiled rule pattern. Patterns that are a finite set of
// ASCII literals (the usual `(?i)(password|secret|token|key)`) are matched
// by a substring scan, an order of magnitude faster than the regexp engine
// on the short names of every env var of every pod; anything else, and any
// input with non-ASCII bytes (where (?i) folds K to the Kelvin sign), goes
// to the regexp.
type matcher struct {
	re   *regexp.Regexp
	lits []string // lower case when fold
	fold bool
	// first marks the bytes a literal can start with (both cases when
	// fold), so the scan skips most of the text with one table lookup.
	first [256]bool
	empty bool // "" is a literal: everything matches
}

func compileMatcher(p string) (*matcher, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	m := &matcher{re: re}
	if ast, err := syntax.Parse(p, syntax.Perl); err == nil {
		fold := -1
		if lits, ok := literals(ast.Simplify(), &fold, 0); ok && len(lits) > 0 && len(lits) <= maxLiterals {
			m.lits, m.fold = lits, fold == 1
			for _, l := range lits {
				if l == "" {
					m.empty = true
					continue
				}
				m.first[l[0]] = true
				if m.fold && 'a' <= l[0] && l[0] <= 'z' {
					m.first[l[0]-('a'-'A')] = true
				}
			}
		}
	}
	return m, nil
}

const maxLiterals = 64

// literals returns the finite set of strings re matches, if it is one, with
// every literal's case folding the same (*fold: -1 not yet seen, 0 exact,
// 1 folded).
func literals(re *syntax.Regexp, fold *int, depth int) ([]string, bool) {
	if depth > 16 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		f := 0
		if re.Flags&syntax.FoldCase != 0 {
			f = 1
		}
		if *fold != -1 && *fold != f {
			return nil, false
		}
		*fold = f
		s := string(re.Rune)
		if !literal.IsASCII(s) {
			return nil, false
		}
		if f == 1 {
			s = strings.ToLower(s)
		}
		return []string{s}, true
	case syntax.OpCharClass:
		// (?i)k after factoring: the class [Kk] is a folded literal.
		r := re.Rune
		if len(r) == 4 && r[0] == r[1] && r[2] == r[3] && r[0] >= 'A' && r[0] <= 'Z' && r[2] == r[0]+32 {
			if *fold == 0 {
				return nil, false
			}
			*fold = 1
			return []string{string(rune(r[2]))}, true
		}
		return nil, false
	case syntax.OpCapture:
		return literals(re.Sub[0], fold, depth+1)
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			l, ok := literals(sub, fold, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, l...)
			if len(out) > maxLiterals {
				return nil, false
			}
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			l, ok := literals(sub, fold, depth+1)
			if !ok || len(out)*len(l) > maxLiterals {
				return nil, false
			}
			next := make([]string, 0, len(out)*len(l))
			for _, a := range out {
				for _, b := range l {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// MatchString reports whether s contains a match of the pattern.
func (m *matcher) MatchString(s string) bool {
	if m.lits == nil || !literal.IsASCII(s) {
		return m.re.MatchString(s)
	}
	if m.empty {
		return true
	}
	for i := 0; i < len(s); i++ {
		if !m.first[s[i]] {
			continue
		}
		for _, l := range m.lits {
			if m.fold {
				if literal.HasPrefixFold(s[i:], l) {
					return true
				}
			} else if strings.HasPrefix(s[i:], l) {
				return true
			}
		}
	}
	return false
}

// fast reports whether MatchString on a whole text is a sound prefilter for
// its parts: true for literal sets, whose matches are substrings.
func (m *matcher) fast() bool { return m.lits != nil }
