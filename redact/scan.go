package redact

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kaudit/kaudit/redact/literal"
)

// pattern is one compiled credential format (conf/redact/patterns.yaml).
type pattern struct {
	id       string
	keywords []string // lower case
	re       *regexp.Regexp
	// groups are removed (none: the whole match).
	groups []int
	// names, when set, are the groups that must hold a credential name:
	// one for each alternative of re that has one (the first that
	// matched counts).
	names []int
	// anywhere: the keywords of a pattern with a name wake it wherever
	// they occur, not only in an assignment's key (define('AUTH_KEY', …)).
	anywhere bool
	// lines: the pattern reads files (a text with a line break), whose
	// lines are key and value; a one-line text is not looked at.
	lines bool
	// sep, when > 0, is the separator group of an assignment: empty means
	// a space-separated form, which counts only for flags and bare
	// password words.
	sep int
	// runs: a pattern of token shapes that have no keyword (Vault's s.
	// tokens, bootstrap tokens): it runs on the strings whose pass finds
	// a run of token characters framed as one (shapedRun, headRun).
	runs bool
	// shaped: a match counts only when its value is shaped like a
	// generated credential (generated): prose that names a credential
	// and goes on (api key kX9..., not api key rotation). Without a name,
	// each group is judged on its own, so that a pattern can frame the
	// places a credential may stand (the path segments after /hooks/)
	// and leave the words and ids that stand there instead.
	shaped bool
	// needs is what every match of re contains (literal.Required): a text
	// without it is not given to the regexp.
	needs literal.Needs
}

// scanner is the content scanner: a keyword prefilter in front of the
// patterns. A string with none of the keywords costs one pass of table
// steps over its bytes and no allocation.
type scanner struct {
	patterns []*pattern
	names    *names
	// ac finds every keyword and credential word in one pass.
	ac *automaton
	// minKeyword is the length of the shortest keyword: a shorter string
	// wakes no pattern.
	minKeyword int
	// runSet are the patterns of token shapes (pattern.runs); formats
	// those without a name, which find a credential by its format
	// wherever it sits.
	runSet, formats patSet
}

func newScanner(ps []*pattern, nm *names) *scanner {
	sc := &scanner{patterns: ps, names: nm}
	var words []acWordSpec
	for _, set := range []map[string]bool{nm.words, nm.lastWords, nm.whole} {
		for w := range set {
			words = append(words, acWordSpec{word: w, name: true})
		}
	}
	for _, w := range nm.substrings {
		words = append(words, acWordSpec{word: w, name: true})
	}
	for i, p := range ps {
		if i >= maxPatterns {
			break // refused by the caller
		}
		p.needs = literal.Required(p.re)
		if p.runs {
			sc.runSet.add(i)
		}
		if len(p.names) == 0 {
			sc.formats.add(i)
		}
		for _, k := range p.keywords {
			ws := acWordSpec{word: k}
			if len(p.names) > 0 && !p.anywhere {
				ws.ctx.add(i)
			} else {
				ws.pats.add(i)
			}
			words = append(words, ws)
			if sc.minKeyword == 0 || len(k) < sc.minKeyword {
				sc.minKeyword = len(k)
			}
		}
	}
	// The forms escapedForm and structured look for, found in the same
	// pass.
	words = append(words,
		acWordSpec{word: `\u`, flags: flagUnicodeEscape},
		acWordSpec{word: `\"`, flags: flagQuoteEscape},
		acWordSpec{word: "%", flags: flagPercent},
		acWordSpec{word: "\n", flags: flagNewline})
	for _, e := range entityForms {
		words = append(words, acWordSpec{word: e, flags: flagEntity})
	}
	sc.ac = newAutomaton(words)
	return sc
}

// b64Class marks the bytes of base64 (both alphabets) and hex.
var b64Class = func() (t [256]bool) {
	for i := range t {
		t[i] = isB64Char(byte(i))
	}
	return t
}()

// lower is ASCII lower-casing by table.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 32)
		}
	}
	return t
}()

// maxPatterns bounds the patterns (a bit set selects those to run).
const maxPatterns = 64 * len(patSet{})

// patSet is a set of patterns by index, a bit each. Two words: the
// automaton's outputs are ORed into a string's set at each keyword as
// one word was, with no loop, and the shipped patterns leave room for a
// site's own.
type patSet [2]uint64

func (p *patSet) add(i int)          { p[i>>6] |= 1 << uint(i&63) }
func (p patSet) has(i int) bool      { return p[i>>6]&(1<<uint(i&63)) != 0 }
func (p patSet) empty() bool         { return p[0]|p[1] == 0 }
func (p patSet) or(q patSet) patSet  { return patSet{p[0] | q[0], p[1] | q[1]} }
func (p patSet) and(q patSet) patSet { return patSet{p[0] & q[0], p[1] & q[1]} }

// newTo reports whether q holds a pattern p does not.
func (p patSet) newTo(q patSet) bool { return q[0]&^p[0]|q[1]&^p[1] != 0 }

// candidates returns the set of patterns whose keywords occur in s. A
// keyword of an assignment pattern counts only where it is part of a key
// followed by a separator (`db.password =`, `"token":`) or of a flag
// (`--token abc`): credential words inside ordinary text and paths
// (/var/run/secrets/...) do not wake the regexp.
func (sc *scanner) candidates(s string) patSet {
	return sc.hits(s, true)
}

// mayHold reports whether s contains any keyword or credential word at
// all, in any context: text without one cannot hold anything the sweep
// would remove once parsed, so it need not be parsed.
func (sc *scanner) mayHold(s string) bool {
	a := sc.ac
	delta, class, firstOut := a.delta, &a.class, a.firstOut
	st := uint32(0)
	for i := 0; i < len(s); i++ {
		st = delta[st+uint32(class[s[i]])]
		if st >= firstOut && a.out[(st-firstOut)>>a.shift].word {
			return true
		}
	}
	return false
}

func (sc *scanner) hits(s string, context bool) patSet {
	set, _ := sc.survey(s, context)
	return set
}

// survey is the one pass over a string that decides what else looks at
// it: the patterns whose keywords occur (set) and whether it holds a run
// of base64 or hex characters long enough to be an encoded payload.
func (sc *scanner) survey(s string, context bool) (set patSet, longRun bool) {
	if len(s) < sc.minKeyword && len(s) < minEncoded {
		return patSet{}, false
	}
	lk := sc.look(s, context)
	return lk.set, lk.longRun
}

// look is what one pass over a string tells the sweep.
type look struct {
	set     patSet // the patterns to run (survey's set)
	longRun bool   // a run of base64 or hex characters of minEncoded or more
	any     bool   // a keyword or credential word in any context (mayHold)
	// encodable: some run of minEncoded or more is one encodedKind
	// accepts (encodedRuns has something to decode).
	encodable bool
	flags     uint8 // the forms found (flag...)
}

const (
	flagUnicodeEscape = 1 << iota // `\u`
	flagQuoteEscape               // `\"`
	flagPercent                   // a percent escape: % and two hex digits
	flagNewline                   // a line break
	flagDottedRun                 // a dotted run (headRun)
	flagEntity                    // an HTML character reference (entityForms)
	flagShapedRun                 // a long run of a token's shape (shapedRun)
	flagFold                      // a character names.folded drops or replaces
)

// entityForms are the HTML character references that can hide a key or a
// quoted value: &quot;DbPassword&quot;, &lt;password&gt;, &#34;.
var entityForms = [...]string{"&quot;", "&apos;", "&lt;", "&#"}

// escape reports whether s holds a form escapedForm looks for in its
// body (`\u`, `\"`, %XX, an HTML character reference).
func (l look) escape() bool {
	return l.flags&(flagUnicodeEscape|flagQuoteEscape|flagPercent|flagEntity) != 0
}

// look makes the pass: one table step per byte for the keywords, the
// credential words and the escape forms, one more lookup for the runs.
func (sc *scanner) look(s string, context bool) (l look) {
	a := sc.ac
	delta, class, firstOut := a.delta, &a.class, a.firstOut
	st := uint32(0)
	run := 0
	longRun := false
	high := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		high |= c
		run = (run + 1) & b64Mask[c]
		st = delta[st+uint32(class[c])]
		if run >= minEncoded {
			longRun = true
			if run == minEncoded {
				// Once per long run: could it be an encoding, or a
				// token of a known shape?
				if !l.encodable {
					l.encodable = encodableRun(s, i+1-minEncoded)
				}
				if l.flags&flagShapedRun == 0 && shapedRun(s, i+1-minEncoded) {
					l.flags |= flagShapedRun
				}
			}
		} else if run == dottedRun && i >= dottedRun+dottedHead && s[i-dottedRun] == '.' && headRun(s, i-dottedRun) {
			l.flags |= flagDottedRun
		}
		if st >= firstOut {
			a.output(&l, s, i, st, context)
		}
	}
	l.longRun = longRun
	if high >= utf8.RuneSelf && sc.names.foldable(s) {
		l.flags |= flagFold
	}
	if l.flags&(flagDottedRun|flagShapedRun) != 0 {
		l.set = l.set.or(sc.runSet)
	}
	return l
}

// A dotted run is a run of dottedHead token characters, a dot and a run
// of dottedRun (a bootstrap token: abcdef.0123456789abcdef): the shapes
// of the runs patterns that the long runs do not cover.
const (
	dottedHead = 6
	dottedRun  = 16
)

// shapedRun reports whether the long run of token characters that starts
// at s[a] has the length and frame of a token the runs patterns know: 24
// after "s." (Vault), 46 or more after "b." starting AAAAAQ (Vault batch),
// 34 starting SK (Twilio), 35 or 36 with -us after 32 (Mailchimp), 40
// framed AQ...AA...== (Ceph); or, as the value of an assignment whose
// name and = the run holds (TWILIO=SK..., a .env line), has one after
// the first = within a name's length of its start.
func shapedRun(s string, a int) bool {
	e := a
	for e < len(s) && b64Class[s[e]] {
		e++
	}
	if tokenShape(s, a, e) || opaqueRun(s, a, e) {
		return true
	}
	if e-a < 2 {
		return false
	}
	v := strings.IndexByte(s[a+1:min(e, a+maxAssignedName)], '=') + a + 2 // after the =
	return v > a+1 && v < e && s[v] != '=' && tokenShape(s, v, e)
}

// maxAssignedName bounds where shapedRun looks for an assignment's =: a
// name is short, and an = further into a run is base64's padding.
const maxAssignedName = 64

// opaqueRun reports whether the run s[a:e] starts, or has after an =,
// a piece of letters and digits shaped like a generated key (opaque:
// 32 hex digits or more, or 24 letters and digits or more in random
// mixed case), which opaque_assignment judges by the name before it
// (ALGOLIA_ADMIN=<32 hex>). Pieces elsewhere in a run (inside a
// certificate's base64) are no value of an assignment.
func opaqueRun(s string, a, e int) bool {
	for p := a; p < e; {
		q := p
		for q < e && (isDigit(s[q]) || 'a' <= s[q] && s[q] <= 'z' || 'A' <= s[q] && s[q] <= 'Z') {
			q++
		}
		if n := q - p; n >= 24 && (n >= 32 && hexToken(s[p:q]) || randomCase(s[p:q])) {
			return true
		}
		// The next piece that starts after an =.
		p = q
		for p < e && s[p] != '=' {
			p++
		}
		for p < e && s[p] == '=' {
			p++
		}
	}
	return false
}

// tokenShape judges the maximal run s[a:e] (shapedRun).
func tokenShape(s string, a, e int) bool {
	n := e - a
	if a >= 2 && s[a-1] == '.' {
		switch s[a-2] {
		case 's':
			return n == 24
		case 'b':
			return n >= 46 && strings.HasPrefix(s[a:], "AAAAAQ")
		}
	}
	return n == 34 && s[a] == 'S' && s[a+1] == 'K' || (n == 35 || n == 36) && s[a+32:a+35] == "-us" ||
		n == 40 && s[a] == 'A' && s[a+1] == 'Q' && s[a+14] == 'A' && s[a+15] == 'A' && s[a+38] == '=' && s[a+39] == '='
}

// headRun reports whether exactly dottedHead token characters stand
// before the dot at s[d].
func headRun(s string, d int) bool {
	for j := d - dottedHead; j < d; j++ {
		if !b64Class[s[j]] {
			return false
		}
	}
	return d == dottedHead || !b64Class[s[d-dottedHead-1]]
}

// encodableRun reports whether the run of base64 or hex characters that
// starts at s[i] is one encodedKind accepts as base64 or hex.
func encodableRun(s string, i int) bool {
	start := i
	allHex, std, url, upperOrDigit := true, false, false, false
	for ; i < len(s) && b64Class[s[i]]; i++ {
		c := s[i]
		if '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' {
			upperOrDigit = true
		}
		if !isHex(c) {
			allHex = false
			switch c {
			case '+', '/':
				std = true
			case '-', '_':
				url = true
			}
		}
	}
	return allHex && (i-start)%2 == 0 || !(std && url) && upperOrDigit && s[start] != '/'
}

// output adds to l what the words that end at s[i] (in state st) say.
func (a *automaton) output(l *look, s string, i int, st uint32, context bool) {
	o := &a.out[(st-a.firstOut)>>a.shift]
	if o.word {
		l.any = true
	}
	if o.flags != 0 {
		f := o.flags
		if f&flagPercent != 0 && !(i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])) {
			f &^= flagPercent
		}
		if f&flagUnicodeEscape != 0 && s[i] != 'u' { // the pass folds case, \U is no escape
			f &^= flagUnicodeEscape
		}
		l.flags |= f
	}
	if !context {
		l.set = l.set.or(o.pats).or(o.ctx)
		return
	}
	l.set = l.set.or(o.pats)
	if !l.set.newTo(o.ctx) {
		return
	}
	for _, w := range o.ctxWords {
		if l.set.newTo(w.ctx) && assignmentContext(s, i+1-w.n, w.n) {
			l.set = l.set.or(w.ctx)
		}
	}
}

// b64Mask is b64Class as a mask for the run counter.
var b64Mask = func() (t [256]int) {
	for i := range t {
		if b64Class[i] {
			t[i] = -1
		}
	}
	return t
}()

// automaton is an Aho–Corasick automaton compiled to a DFA over classes of
// ASCII-lower-cased bytes: one table step per byte of text finds every
// occurrence of every word. A state is the offset of its row in delta
// (its number << shift), so a step is one addition and one load. States
// at or above firstOut end some word; their outputs (those of the words
// that end there, and of the words that are suffixes of those) are in
// out, by number - firstOut>>shift.
type automaton struct {
	class    [256]uint8
	shift    uint32
	delta    []uint32
	firstOut uint32
	out      []acOut
}

type acWordSpec struct {
	word      string
	pats, ctx patSet
	name      bool
	flags     uint8
}

type acOut struct {
	// pats are patterns that any occurrence wakes; ctx those that one
	// wakes only in an assignment context, by word (ctxWords).
	pats, ctx patSet
	ctxWords  []acCtxWord
	// word: a keyword or credential word ends here.
	word  bool
	flags uint8
}

type acCtxWord struct {
	n   int
	ctx patSet
}

func newAutomaton(words []acWordSpec) *automaton {
	a := &automaton{}
	// Byte classes: one per distinct byte of the words (as written, lower
	// case), 0 for the rest; text is lower-cased by the class table.
	var cls [256]uint8
	n := 1
	for _, w := range words {
		for i := 0; i < len(w.word); i++ {
			if c := w.word[i]; cls[c] == 0 {
				if n == 256 {
					panic("redact: too many byte classes")
				}
				cls[c] = uint8(n)
				n++
			}
		}
	}
	for b := range a.class {
		a.class[b] = cls[lower[b]]
	}
	for 1<<a.shift < n {
		a.shift++
	}
	width := 1 << a.shift
	// The trie.
	type node struct {
		next   []int32 // by class, -1: none
		fail   int
		depth  int
		own    []acWordSpec
		output acOut
	}
	newNode := func(depth int) *node {
		nd := &node{next: make([]int32, width), depth: depth}
		for i := range nd.next {
			nd.next[i] = -1
		}
		return nd
	}
	nodes := []*node{newNode(0)}
	for _, w := range words {
		if w.word == "" {
			continue
		}
		cur := 0
		for i := 0; i < len(w.word); i++ {
			c := cls[w.word[i]]
			if nodes[cur].next[c] < 0 {
				nodes = append(nodes, newNode(nodes[cur].depth+1))
				nodes[cur].next[c] = int32(len(nodes) - 1)
			}
			cur = int(nodes[cur].next[c])
		}
		nodes[cur].own = append(nodes[cur].own, w)
	}
	// Failure links and outputs breadth first, then the DFA.
	order := []int{0}
	for q := 0; q < len(order); q++ {
		u := order[q]
		nu := nodes[u]
		// Outputs: the node's own words and its failure state's.
		if u != 0 {
			o := nodes[nu.fail].output
			o.ctxWords = slices.Clone(o.ctxWords)
			for _, w := range nu.own {
				o.pats = o.pats.or(w.pats)
				o.flags |= w.flags
				if w.name || !w.pats.empty() || !w.ctx.empty() {
					o.word = true
				}
				if !w.ctx.empty() {
					o.ctx = o.ctx.or(w.ctx)
					merged := false
					for j := range o.ctxWords {
						if o.ctxWords[j].n == len(w.word) {
							o.ctxWords[j].ctx = o.ctxWords[j].ctx.or(w.ctx)
							merged = true
						}
					}
					if !merged {
						o.ctxWords = append(o.ctxWords, acCtxWord{n: len(w.word), ctx: w.ctx})
					}
				}
			}
			nu.output = o
		}
		for c := 0; c < width; c++ {
			v := nu.next[c]
			if v < 0 {
				if u == 0 {
					nu.next[c] = 0
				} else {
					nu.next[c] = nodes[nu.fail].next[c]
				}
				continue
			}
			if u == 0 {
				nodes[v].fail = 0
			} else {
				nodes[v].fail = int(nodes[nu.fail].next[c])
			}
			order = append(order, int(v))
		}
	}
	// Renumber: states without output first (breadth first, the root is
	// 0), then those with one, so that the pass tests one comparison.
	has := func(nd *node) bool {
		o := &nd.output
		return o.word || o.flags != 0 || !o.pats.empty() || !o.ctx.empty()
	}
	id := make([]uint32, len(nodes))
	var seq []int
	for _, u := range order {
		if !has(nodes[u]) {
			id[u] = uint32(len(seq))
			seq = append(seq, u)
		}
	}
	a.firstOut = uint32(len(seq)) << a.shift
	for _, u := range order {
		if has(nodes[u]) {
			id[u] = uint32(len(seq))
			seq = append(seq, u)
			a.out = append(a.out, nodes[u].output)
		}
	}
	a.delta = make([]uint32, len(seq)*width)
	for i, u := range seq {
		for c, v := range nodes[u].next {
			a.delta[i*width+c] = id[v] << a.shift
		}
	}
	return a
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '$' || c >= 0x80
}

// assignmentContext reports whether the keyword at s[i:i+n] sits in a key
// followed by a separator, or in a flag or a bare password word followed
// by a space.
func assignmentContext(s string, i, n int) bool {
	j := i + n
	for j < len(s) && isKeyChar(s[j]) {
		j++
	}
	k := j
	if k < len(s) && s[k] == ']' { // data[DB_PASSWORD]: in a field path
		k++
	}
	if k < len(s) && (s[k] == '"' || s[k] == '\'') {
		k++
	}
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	if k < len(s) && (s[k] == ':' || s[k] == '=') {
		return true
	}
	if explicitValue(s, k) {
		return true // a YAML explicit key: ? password, then : value
	}
	if j < len(s) && s[j] == '>' {
		// an XML element: <password>x</password>
		b := i
		for b > 0 && isKeyChar(s[b-1]) {
			b--
		}
		if b > 0 && s[b-1] == '<' {
			return true
		}
	}
	if j == len(s) || s[j] != ' ' && s[j] != '\t' {
		return false
	}
	b := i
	for b > 0 && isKeyChar(s[b-1]) {
		b--
	}
	if s[b] == '-' {
		return true
	}
	if b > 0 && (s[b-1] == '<' || s[b-1] == ':') {
		return true // an XML element with attributes: <password encrypted="false">
	}
	if lineStart(s, b) && strings.IndexByte(s, '\n') >= 0 {
		return true // a file's line: HTTP_Passwd secret, auth_pass secret
	}
	switch strings.ToLower(s[b:j]) {
	case "password", "passwd", "pass":
		return true
	}
	// A key in a message followed by the words that introduce its value
	// (`data.DB_PASS has value "x"`, `token is 'x'`).
	e := k
	for e < len(s) && 'a' <= lower[s[e]] && lower[s[e]] <= 'z' {
		e++
	}
	switch strings.ToLower(s[k:e]) {
	case "was", "is", "has", "value", "with", "set":
		return true
	}
	return false
}

// explicitValue reports whether a line break at s[k] is followed by a line
// that gives a value: blanks, a colon and a blank (YAML's `? key` form).
func explicitValue(s string, k int) bool {
	if k < len(s) && s[k] == '\r' {
		k++
	}
	if k >= len(s) || s[k] != '\n' {
		return false
	}
	for k++; k < len(s) && (s[k] == ' ' || s[k] == '\t'); k++ {
	}
	return k+1 < len(s) && s[k] == ':' && (s[k+1] == ' ' || s[k+1] == '\t')
}

// lineStart reports whether only blanks, a list dash or a quote stand
// between the start of s[b]'s line and b.
func lineStart(s string, b int) bool {
	for b > 0 {
		switch s[b-1] {
		case ' ', '\t', '"', '\'', '-':
			b--
			continue
		case '\n':
			return true
		}
		return false
	}
	return true
}

// scanSet returns s with every credential the patterns of set (the
// candidates of s) find replaced by mask(found), and how many were
// replaced. Every pattern looks at the original text and the spans they
// find are merged before anything is replaced: no pattern's match can hide
// another's (a .netrc password followed by a key=value, a flag inside an
// assignment's value).
func (sc *scanner) scanSet(s string, set patSet, mask func(string) string, keep func(string) bool) (string, int) {
	if set.empty() {
		return s, 0
	}
	var buf [8][2]int
	spans := buf[:0]
	for i, p := range sc.patterns {
		if set.has(i) {
			spans = sc.find(p, s, keep, spans)
		}
	}
	if len(spans) == 0 {
		return s, 0
	}
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	var b strings.Builder
	last, n := 0, 0
	for i := 0; i < len(spans); {
		a, e := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] <= e; i++ {
			e = max(e, spans[i][1])
		}
		if a < last {
			a = last
		}
		b.WriteString(s[last:a])
		b.WriteString(mask(s[a:e]))
		last = e
		n++
	}
	b.WriteString(s[last:])
	return b.String(), n
}

// find appends the spans of s that p removes.
func (sc *scanner) find(p *pattern, s string, keep func(string) bool, spans [][2]int) [][2]int {
	if !p.needs.MayMatch(s) || p.lines && strings.IndexByte(s, '\n') < 0 {
		return spans
	}
	groups := p.groups
	if len(groups) == 0 {
		groups = []int{0}
	}
	for pos := 0; pos <= len(s); {
		loc := p.re.FindStringSubmatchIndex(s[pos:])
		if loc == nil {
			break
		}
		for i := range loc {
			if loc[i] >= 0 {
				loc[i] += pos
			}
		}
		next := loc[1]
		if next == loc[0] {
			next++
		}
		if len(p.names) > 0 {
			a, e := -1, -1
			for _, g := range p.names {
				if a, e = loc[2*g], loc[2*g+1]; a >= 0 {
					break
				}
			}
			// A name right after // is a URL's host (http://auth:8080):
			// a password in its userinfo is the URL pattern's.
			if a < 0 || urlHost(s, a, e) || !sc.assignmentCounts(s[a:e], a > 0 && (s[a-1] == '?' || s[a-1] == '&'), p, loc, s) || referenceValue(sc.names, p, loc, s) || p.shaped && !generated(firstSecret(p, loc, s)) || inReference(sc.names, s, a) {
				// The value of a key that is no credential may be the
				// next assignment (RBAC: db_password=...): search again
				// right after the key.
				if a >= 0 && e > pos {
					next = e
				}
				if p.lines {
					// Its lines start at line breaks, not inside one.
					if nl := strings.IndexByte(s[loc[0]:], '\n'); nl >= 0 {
						next = loc[0] + nl + 1
					} else {
						next = len(s)
					}
				}
				pos = next
				continue
			}
		}
		for _, g := range groups {
			a, e := loc[2*g], loc[2*g+1]
			if a >= 0 && a < e && !keep(s[a:e]) && (!p.shaped || len(p.names) > 0 || generated(s[a:e])) {
				spans = append(spans, [2]int{a, e})
			}
		}
		pos = next
	}
	return spans
}

// assignmentCounts decides a key=value match by its key, which stands
// after ? or & when inQuery: a parameter of a query string.
func (sc *scanner) assignmentCounts(key string, inQuery bool, p *pattern, loc []int, s string) bool {
	// value judges a string of digits as the number it spells
	// (MAX_TOKENS=4096 is a quantity), as the sweep does env values.
	v := firstSecret(p, loc, s)
	if inQuery {
		if !sc.names.queryValue(key, v) {
			return false
		}
	} else if !sc.names.value(key, v) {
		return false
	}
	if imageReference(key, v) {
		// ghcr.io/acme/token-exchange:v1.2.3 in a kubelet message is an
		// image and its tag, not a key and its value.
		return false
	}
	if p.sep > 0 && loc[2*p.sep] < 0 { // space-separated
		if strings.HasPrefix(key, "-") {
			return true
		}
		switch strings.ToLower(key) {
		case "password", "passwd", "pass":
			return true
		}
		return false
	}
	return true
}

// imageReference reports whether key:v reads as a container image
// reference: a repository path whose first part is a registry host
// (registry.example.com/..., localhost:5000/...) and a tag in the
// grammar of tags (128 letters, digits, _ . - at most), with or without
// an @sha256 digest after it.
func imageReference(key, v string) bool {
	slash := strings.IndexByte(key, '/')
	// The host has a dot or a port; the name the assignment pattern reads
	// from localhost:5000/app:v1 starts at the port.
	if slash <= 0 || strings.HasPrefix(key, "-") || !strings.ContainsAny(key[:slash], ".:") && !isDigits(key[:slash]) {
		return false
	}
	if at := strings.Index(v, "@sha256:"); at >= 0 {
		d := v[at+len("@sha256:"):]
		if len(d) != 64 || !isHexString(d) {
			return false
		}
		v = v[:at]
	}
	if v == "" || len(v) > 128 || v[0] == '.' || v[0] == '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// firstSecret is the text of the first secret group of p that matched.
func firstSecret(p *pattern, loc []int, s string) string {
	for _, g := range p.groups {
		if a := loc[2*g]; a >= 0 {
			return s[a:loc[2*g+1]]
		}
	}
	return ""
}

// referenceValue reports whether the value of a key=value match is a
// switch (true, off), a file path or a reference (names.reference: $(VAR),
// ${VAR}, {{ .Values.x }}; $host), which names where a credential is, not
// what it is (a reference that gives a default in place, ${DB_PASSWORD:x},
// is none), or is itself a label of prose
// ("policy-passwords: check-data: ...").
func referenceValue(nm *names, p *pattern, loc []int, s string) bool {
	for _, g := range p.groups {
		a := loc[2*g]
		if a < 0 {
			continue
		}
		v := s[a:loc[2*g+1]]
		if boolWord(v) || variableName(v) {
			return true
		}
		// A value stops before a closing bracket: the reference is the
		// value and up to two bytes after it (${TOKEN}, {{ .x }}, %(x)s).
		for e, n := loc[2*g+1], 0; nm != nil && n <= 2 && e+n <= len(s); n++ {
			if nm.reference(s[a : e+n]) {
				return true
			}
		}
		// ... or at the first space in it: a template action
		// (password: {{ .password }}), which the value opens.
		if nm != nil && nm.referenceAt(s, a) {
			return true
		}
		if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasSuffix(v, ":") && !setByEquals(p, loc, s, a) {
			return true
		}
		if e := loc[2*g+1]; nm != nil && a >= 2 && s[a-1] == ' ' && s[a-2] == ':' && nm.verdict[v] && e+1 < len(s) && (s[e] == ' ' || s[e] == ',') {
			// An error chain states what is wrong with the credential
			// its name labels, and the sentence goes on (oauth token:
			// unexpected status 401, api key: missing or empty): a
			// verdict is no value there when more prose follows it. A
			// word before the next link's name (password: changeme
			// user: admin) is still taken for a value.
			return true
		}
		if e := loc[2*g+1]; lowerWord(v) && (a == 0 || s[a-1] != '"' && s[a-1] != '\'') && e+1 < len(s) && s[e] == ' ' && s[e+1] == '"' {
			// A bare word before a quoted name is prose naming what the
			// quote is (kubelet: volume "db-secret" : secret "db-password"
			// not found), not a value.
			return true
		}
	}
	return false
}

// setByEquals reports whether the value at s[a] stands right after the =
// that follows its name: a value that ends in a colon labels prose after
// a colon (policy-passwords: check-data: ...) and is the next key after
// an = and a space (key= client_secret: x); glued to the =, the colon is
// the sentence going on (access_token=x: 401 in an error message).
func setByEquals(p *pattern, loc []int, s string, a int) bool {
	for _, g := range p.names {
		if e := loc[2*g+1]; loc[2*g] >= 0 && e <= a {
			return strings.HasSuffix(strings.TrimRight(s[e:a], `"'`), "=")
		}
	}
	return false
}

// inReference reports whether the name at s[a] is a part of a word that
// is a reference without spaces (names.reference): the secretsmanager of
// arn:aws:secretsmanager:eu-west-1:...:secret:prod/db names no setting.
func inReference(nm *names, s string, a int) bool {
	const stops = " \t\r\n=\"',;"
	i := strings.LastIndexAny(s[:a], stops) + 1
	j := strings.IndexAny(s[a:], stops)
	if j < 0 {
		j = len(s)
	} else {
		j += a
	}
	return i < a && nm != nil && nm.reference(s[i:j])
}

// lowerWord reports whether v is a word of lower-case ASCII letters.
func lowerWord(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 'a' || v[i] > 'z' {
			return false
		}
	}
	return v != ""
}

// variableName reports whether v is a bare variable reference: $host,
// $http_authorization (nginx), $DB_PASSWORD (a shell's): all lower or all
// upper case, so a password that starts with $ is not taken for one.
func variableName(v string) bool {
	return len(v) >= 2 && v[0] == '$' && oneCase(v[1:], func(i int, c byte) bool {
		return c == '_' || isDigit(c) && i > 0
	})
}

// oneCase reports whether s's letters are ASCII and of one case, lower or
// upper, and every other byte is one that other (given its index) allows.
func oneCase(s string, other func(i int, c byte) bool) bool {
	lower, upper := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			lower = true
		case 'A' <= c && c <= 'Z':
			upper = true
		case !other(i, c):
			return false
		}
	}
	return !(lower && upper)
}

// Encoded payloads: a value that is entirely base64 or hex is decoded and
// its content scanned; gzip inside is opened (Helm keeps releases as
// base64 of gzip). Bounds keep a hostile value from costing more than a
// few times its size.
const (
	minEncoded     = 24
	maxDecoded     = 1 << 20
	maxEncodeDepth = 3
)

// encodedKind says what s could be an encoding of.
func encodedKind(s string) (b64, hx bool) {
	if len(s) < minEncoded {
		return false, false
	}
	b64, hx = true, len(s)%2 == 0
	var std, url, upperOrDigit bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		isHex := '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
		if '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' {
			upperOrDigit = true
		}
		if !isHex {
			hx = false
			switch {
			case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '=' || c == '\n' || c == '\r':
			case c == '+' || c == '/':
				std = true
			case c == '-' || c == '_':
				url = true
			default:
				return false, false
			}
		}
	}
	// Paths (/api/v1/...) and names (skipped-too-big) are made of base64
	// characters too; an encoding uses one alphabet and, for any content
	// worth a look, upper case or digits.
	if std && url || !upperOrDigit || s[0] == '/' {
		b64 = false
	}
	return b64, hx
}

// decodeAny decodes s as hex or base64 (standard or URL alphabet, padded
// or not, line-wrapped); ok is false when it is neither.
func decodeAny(s string, hx bool) ([]byte, bool) {
	if hx {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	t := s
	if strings.ContainsAny(t, "\r\n") {
		t = strings.NewReplacer("\n", "", "\r", "").Replace(t)
	}
	t = strings.TrimRight(t, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil {
			return b, true
		}
	}
	return nil, false
}

// textualPrefix decodes the first characters of s on the stack and
// reports whether they could start text or gzip: digests, UIDs and random
// keys decode to binary and are left alone without allocating.
func textualPrefix(s string, hx bool) bool {
	var src [32]byte
	var dst [24]byte
	n := copy(src[:], s)
	var m int
	var err error
	if hx {
		m, err = hex.Decode(dst[:], src[:n&^1])
	} else {
		n &^= 3
		m, err = base64.StdEncoding.Decode(dst[:], src[:n])
		if err != nil {
			m, err = base64.URLEncoding.Decode(dst[:], src[:n])
		}
	}
	if err != nil && m == 0 {
		return true // let the full decoder judge
	}
	return isGzip(dst[:m]) || printable(dst[:m])
}

// gunzip opens a gzip payload, bounded; ok is false when b is not gzip or
// is truncated or bigger than the bound (the caller then fails closed).
func gunzip(b []byte) ([]byte, bool) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
	if err != nil || len(out) > maxDecoded {
		return nil, false
	}
	return out, true
}

func isGzip(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }

// printable reports whether b looks like text: UTF-8 (a rune cut at the
// end aside) with few control characters. Decoded binary (a certificate's
// DER, a random key, an identifier that only looked like base64) is not.
func printable(b []byte) bool {
	bad := 0
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			bad++
		}
	}
	if bad*20 >= len(b) {
		return false
	}
	for cut := 0; cut < 4 && cut <= len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return true
		}
	}
	return false
}

// spans returns the merged-or-not spans of s that the patterns remove.
func (sc *scanner) spans(s string, keep func(string) bool) [][2]int {
	set := sc.candidates(s)
	if set.empty() {
		return nil
	}
	var spans [][2]int
	for i, p := range sc.patterns {
		if set.has(i) {
			spans = sc.find(p, s, keep, spans)
		}
	}
	return spans
}

// urlHost reports whether the name s[a:e] of an assignment is the host of
// a URL (http://auth:8080, //token:443): what follows its colon is a port
// or a path, not a value.
func urlHost(s string, a, e int) bool {
	return strings.HasPrefix(s[a:e], "//") || a >= 2 && s[a-2:a] == "//"
}
