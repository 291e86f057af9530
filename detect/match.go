package detect

import (
	"regexp"
	"slices"
	"strings"

	"github.com/kaudit/kaudit/redact/literal"
)

// matcher is a compiled condition. Conditions are data compiled once at load
// into a tree of matchers; a different condition language (CEL, say) only
// has to produce another implementation. match must not allocate or retain
// the event, and must be safe for concurrent use.
type matcher interface {
	match(c *evalCtx) bool
}

type allOf []matcher

func (a allOf) match(c *evalCtx) bool {
	for _, m := range a {
		if !m.match(c) {
			return false
		}
	}
	return true
}

type anyOf []matcher

func (a anyOf) match(c *evalCtx) bool {
	for _, m := range a {
		if m.match(c) {
			return true
		}
	}
	return false
}

type notOf struct{ m matcher }

func (n notOf) match(c *evalCtx) bool { return !n.m.match(c) }

// fieldMatch applies one value test to one field.
type fieldMatch struct {
	f   *field
	arg string
	t   test
	// slot is where an evaluation keeps this field's value for the other
	// rules that read it (Engine.assignSlots); -1: read it each time.
	slot int32
	// spec is the test as written (field, argument and operand), the
	// same for two tests exactly when they hold for the same events;
	// res is where an evaluation keeps the outcome for the other rules
	// that make the same test, -1 when no other rule does.
	spec string
	res  int32
}

func (fm *fieldMatch) match(c *evalCtx) bool {
	if fm.res < 0 || int(fm.res) >= len(c.results) {
		return fm.t.test(c.get(fm))
	}
	r := &c.results[fm.res]
	if r.gen != c.gen {
		r.held, r.gen = fm.t.test(c.get(fm)), c.gen
	}
	return r.held
}

// evalCtx is one event's evaluation. A routine event is tested by a
// score of rules, most of which read the same few fields (the user, the
// client address, the response code): each field is read from the event
// once and its value kept in a slot for the rest. gen tells this event's
// slots from an earlier one's, so nothing is cleared between events but
// the slots that were filled, whose values may point into the event.
type evalCtx struct {
	ev map[string]any
	// verb, when set, is what the verb field reads (verbF): a
	// server-side apply that created its object is judged as a create.
	verb    string
	verbF   *field
	gen     uint32
	slots   []slotValue
	filled  []int32
	results []result
	// memo holds the outcomes of memoOf's requesterMemo rules by the
	// values they read (memoKey is the key being built).
	memo    map[string]uint64
	memoOf  *Engine
	memoKey []byte
}

// result is the outcome of a test several rules make, for one event.
type result struct {
	gen  uint32
	held bool
}

type slotValue struct {
	gen uint32
	v   value
}

// newEvalCtx evaluates ev without slots: every field is read when tested.
func newEvalCtx(ev map[string]any) *evalCtx { return &evalCtx{ev: ev} }

func (c *evalCtx) get(fm *fieldMatch) *value {
	if c.verb != "" && fm.f == c.verbF {
		return &value{scalar: scalar{kind: kindString, s: c.verb}}
	}
	if fm.slot < 0 || int(fm.slot) >= len(c.slots) {
		v := fm.f.get(c.ev, fm.arg)
		return &v
	}
	sv := &c.slots[fm.slot]
	if sv.gen != c.gen {
		sv.v, sv.gen = fm.f.get(c.ev, fm.arg), c.gen
		c.filled = append(c.filled, fm.slot)
	}
	return &sv.v
}

// start readies c for ev with n slots and nRes results.
func (c *evalCtx) start(ev map[string]any, n, nRes int) {
	if len(c.slots) < n {
		c.slots = make([]slotValue, n)
	}
	if len(c.results) < nRes {
		c.results = make([]result, nRes)
	}
	c.ev = ev
	if c.gen++; c.gen == 0 { // wrapped: no slot may look filled
		for i := range c.slots {
			c.slots[i].gen = 0
		}
		for i := range c.results {
			c.results[i].gen = 0
		}
		c.gen = 1
	}
}

// done drops what c holds of the event.
func (c *evalCtx) done() {
	for _, i := range c.filled {
		c.slots[i].v = value{}
	}
	c.filled = c.filled[:0]
	c.ev = nil
}

// test judges a whole field value (absent, scalar or list).
type test interface {
	test(v *value) bool
}

// leaf judges one scalar; elems lifts it to lists with "any element" meaning.
type leaf interface {
	leaf(v scalar) bool
}

type elems struct{ l leaf }

func (e elems) test(v *value) bool {
	switch v.kind {
	case kindAbsent:
		return false
	case kindList:
		for _, x := range v.list {
			if s := scalarIn(x); s.kind != kindAbsent && e.l.leaf(s) {
				return true
			}
		}
		return false
	case kindNested:
		for _, x := range v.list {
			if nestedAny(x, v.key, e.l) {
				return true
			}
		}
		return false
	case kindWalk:
		return v.walk(v.m, e.l)
	case kindQuery:
		return queryAny(v.s, v.key, e.l)
	}
	return e.l.leaf(v.scalar)
}

type absentTest bool

func (a absentTest) test(v *value) bool { return (v.kind == kindAbsent) == bool(a) }

type notTest struct{ t test }

func (n notTest) test(v *value) bool { return !n.t.test(v) }

type andTest []test

func (a andTest) test(v *value) bool {
	for _, t := range a {
		if !t.test(v) {
			return false
		}
	}
	return true
}

// eqLeaf is "in": equality with any listed value. Numbers compare
// numerically so 200, 200.0 and "200" agree without formatting numbers.
type eqLeaf struct {
	strs []string
	set  map[string]struct{} // replaces strs for long lists
	nums []float64           // the numeric entries of strs
}

func newEqLeaf(vals []string) *eqLeaf {
	e := &eqLeaf{}
	for _, s := range vals {
		if v := (scalar{kind: kindString, s: s}); looksNumeric(s) {
			if n, ok := v.num(); ok {
				e.nums = append(e.nums, n)
			}
		}
	}
	if len(vals) > 8 {
		e.set = make(map[string]struct{}, len(vals))
		for _, s := range vals {
			e.set[s] = struct{}{}
		}
	} else {
		e.strs = vals
	}
	return e
}

func (e *eqLeaf) leaf(v scalar) bool {
	if v.kind == kindNumber {
		n, ok := v.num()
		if !ok {
			return false
		}
		for _, x := range e.nums {
			if x == n {
				return true
			}
		}
		return false
	}
	if e.set != nil {
		_, ok := e.set[v.s]
		return ok
	}
	for _, s := range e.strs {
		if s == v.s {
			return true
		}
	}
	return false
}

// globLeaf matches any of a set of glob patterns. Lists grow long (the
// allow-lists hold dozens of identities, the tool list dozens of
// substrings) and several are tested on every event, so patterns are sorted
// by shape at compile time: exact names go in a set, "prefix*" patterns are
// prefix tests, "*infix*" patterns are found in one pass over the text, and
// only the rest run the general matcher.
type globLeaf struct {
	all      bool // a pattern "*" (or "**"): everything matches
	exact    map[string]struct{}
	prefixes prefixSet
	infixes  []string
	byFirst  *[256][]uint16 // infixes by first byte
	// pairs marks the first two bytes of the infixes of two or more
	// bytes, singles the infixes of one: most positions of a text start
	// no infix, and are passed over on one bit.
	pairs   *[1 << 16 / 64]uint64
	singles *[256]bool
	general []glob
}

func newGlobLeaf(patterns []string) *globLeaf {
	g := &globLeaf{}
	var prefixes []string
	for _, p := range patterns {
		n := strings.Count(p, "*")
		switch {
		case strings.Trim(p, "*") == "" && n > 0:
			g.all = true
		case n == 0:
			if g.exact == nil {
				g.exact = map[string]struct{}{}
			}
			g.exact[p] = struct{}{}
		case n == 1 && strings.HasSuffix(p, "*"):
			prefixes = append(prefixes, p[:len(p)-1])
		case n == 2 && len(p) > 2 && p[0] == '*' && p[len(p)-1] == '*':
			if g.byFirst == nil {
				g.byFirst, g.pairs, g.singles = new([256][]uint16), new([1 << 16 / 64]uint64), new([256]bool)
			}
			lit := p[1 : len(p)-1]
			g.byFirst[lit[0]] = append(g.byFirst[lit[0]], uint16(len(g.infixes)))
			g.infixes = append(g.infixes, lit)
			if len(lit) == 1 {
				g.singles[lit[0]] = true
			} else {
				pair := uint16(lit[0])<<8 | uint16(lit[1])
				g.pairs[pair/64] |= 1 << (pair % 64)
			}
		default:
			g.general = append(g.general, newGlob(p))
		}
	}
	g.prefixes = newPrefixSet(prefixes)
	return g
}

// prefixSet answers whether a text starts with any of a set of prefixes
// in one binary search and a short walk, however many there are. Sorted,
// the prefixes of a text all come at or before the last prefix that sorts
// at or before the text, and each is a prefix of that one: so the walk
// goes from there through the prefixes of it (parent: the longest other
// member that is a prefix of it).
type prefixSet struct {
	sorted []string
	parent []int32 // -1: none
}

func newPrefixSet(ps []string) prefixSet {
	ps = slices.Clone(ps)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	set := prefixSet{sorted: ps, parent: make([]int32, len(ps))}
	for i, p := range ps {
		set.parent[i] = -1
		// The members that are prefixes of p sort before it; the
		// nearest such is the longest.
		for j := i - 1; j >= 0; j-- {
			if strings.HasPrefix(p, ps[j]) {
				set.parent[i] = int32(j)
				break
			}
		}
	}
	return set
}

func (ps *prefixSet) prefixOf(s string) bool {
	if len(ps.sorted) == 0 {
		return false
	}
	// The last member <= s.
	i, found := slices.BinarySearch(ps.sorted, s)
	if !found {
		i--
	}
	for i >= 0 {
		if strings.HasPrefix(s, ps.sorted[i]) {
			return true
		}
		i = int(ps.parent[i])
	}
	return false
}

func (g *globLeaf) leaf(v scalar) bool {
	if g.all {
		return true
	}
	s := v.str()
	if _, ok := g.exact[s]; ok {
		return true
	}
	if g.prefixes.prefixOf(s) {
		return true
	}
	if g.byFirst != nil {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if g.singles[c] {
				return true
			}
			if i+1 == len(s) {
				break
			}
			if pair := uint16(c)<<8 | uint16(s[i+1]); g.pairs[pair/64]&(1<<(pair%64)) == 0 {
				continue
			}
			for _, k := range g.byFirst[c] {
				if strings.HasPrefix(s[i:], g.infixes[k]) {
					return true
				}
			}
		}
	}
	for i := range g.general {
		if g.general[i].match(s) {
			return true
		}
	}
	return false
}

type prefixLeaf []string

func (p prefixLeaf) leaf(v scalar) bool {
	s := v.str()
	for _, x := range p {
		if strings.HasPrefix(s, x) {
			return true
		}
	}
	return false
}

// regexLeaf holds when any of its regexps matches. Each first asks what
// every match of it contains (literal.Needs): a rule's regex over a
// ConfigMap's data would otherwise run Go's engine, a few megabytes a
// second for the usual (?i)(^|[^a-z])pass(word|wd) shapes, over every
// value of every ConfigMap written.
type regexLeaf []regexTest

type regexTest struct {
	re    *regexp.Regexp
	needs literal.Needs
}

func (r regexLeaf) leaf(v scalar) bool {
	s := v.str()
	for _, t := range r {
		if t.needs.MayMatch(s) && t.re.MatchString(s) {
			return true
		}
	}
	return false
}

type cmpOp uint8

const (
	opGT cmpOp = iota
	opGTE
	opLT
	opLTE
)

type cmpLeaf struct {
	op cmpOp
	n  float64
}

func (c cmpLeaf) leaf(v scalar) bool {
	n, ok := v.num()
	if !ok {
		return false
	}
	switch c.op {
	case opGT:
		return n > c.n
	case opGTE:
		return n >= c.n
	case opLT:
		return n < c.n
	default:
		return n <= c.n
	}
}

// glob supports only '*' (any run of characters, including none); every
// other character is literal, so user names like system:node:* need no
// escaping.
type glob struct {
	parts []string // pattern split at '*'; one part means no '*'
}

func newGlob(p string) glob { return glob{parts: strings.Split(p, "*")} }

func (g *glob) match(s string) bool {
	if len(g.parts) == 1 {
		return s == g.parts[0]
	}
	first, last := g.parts[0], g.parts[len(g.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, p := range g.parts[1 : len(g.parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// nestedAny reports whether l holds for a value at the dotted key below x:
// every list met on the way yields the rest of the key in each element
// (clusterRoleSelectors.matchExpressions.key), a mapping at the end yields
// its keys and values, as for a path that meets no list (body[data]).
func nestedAny(x any, key string, l leaf) bool {
	for key != "" {
		switch t := x.(type) {
		case map[string]any:
			k, rest, _ := strings.Cut(key, ".")
			x, key = t[k], rest
		case []any:
			for _, y := range t {
				if nestedAny(y, key, l) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	switch t := x.(type) {
	case map[string]any:
		return walkMapping(t, l)
	case []any:
		for _, y := range t {
			if s := scalarIn(y); s.kind != kindAbsent && l.leaf(s) {
				return true
			}
		}
		return false
	}
	s := scalarIn(x)
	return s.kind != kindAbsent && l.leaf(s)
}
