package decode

import (
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// A JSON line under `log` or `message` (tail without a parser) is the
// event as text. Parsing it with jsoniter into maps was the largest single
// cost of that configuration: reflection-driven decoding, a fresh string
// per key and value, and maps grown one key at a time.
//
// scanObject parses the line by hand into the tree jsoniter builds
// (map[string]any, []any, string, json.Number, bool, nil), with keys and
// unescaped strings sharing the line's memory (the decoder already holds
// the record as its own string, which msgpack values share too) and each
// map and slice allocated once at its final size. It accepts only strict
// JSON it is sure to read exactly as jsoniter does, and says so; anything
// else (an escaped surrogate, a control character, a number outside the
// JSON grammar, nesting deeper than scanMaxDepth, any error) is left to
// jsoniter, whose answer, tree or rejection, stands. A differential test
// and FuzzScanObject hold the two to the same trees.

const scanMaxDepth = 256

// scanner state; pooled because the kv and value stacks grow to the
// largest event seen and are reused.
type scanner struct {
	s     string
	p     int
	depth int
	keys  []string
	vals  []any
	// pool, bx and tape, when set, are a Decoder's (see reuse.go,
	// tape.go).
	pool *treePool
	bx   *boxes
	tape *Tape
	// spill, when set, keeps the strings unescape writes (a Decoder's
	// under ReuseText); scratch is where it writes them.
	spill   *spill
	scratch []byte
	// ascii is set when the last string str read was plain ASCII, and
	// so valid UTF-8 without a second look.
	ascii bool
}

var scanners = sync.Pool{New: func() any { return &scanner{keys: make([]string, 0, 64), vals: make([]any, 0, 64)} }}

// scanObject parses s, which starts with '{', as one JSON object. ok is
// false when the scanner cannot vouch for the result; the caller then asks
// jsoniter.
func scanObject(s string) (m map[string]any, ok bool) { return scanObjectIn(s, nil) }

// scanObjectIn is scanObject building in d's maps (d may be nil).
func scanObjectIn(s string, d *Decoder) (m map[string]any, ok bool) {
	sc := scanners.Get().(*scanner)
	sc.s, sc.p, sc.depth = s, 0, 0
	if d != nil {
		sc.pool, sc.bx, sc.tape = d.pool, d.boxes, d.tape
		if d.reuseText {
			sc.spill = d.spill
		}
		d.tapeOf = ""
		d.tape.toks, d.tape.ok = d.tape.toks[:0], true
	}
	m, ok = sc.object()
	if ok {
		sc.ws()
		ok = sc.p == len(s)
	}
	clear(sc.vals[:cap(sc.vals)]) // drop references into s
	clear(sc.keys[:cap(sc.keys)])
	sc.s, sc.keys, sc.vals = "", sc.keys[:0], sc.vals[:0]
	sc.pool, sc.bx, sc.tape, sc.spill = nil, nil, nil, nil
	if cap(sc.scratch) > maxScratch {
		sc.scratch = nil
	}
	scanners.Put(sc)
	if !ok {
		return nil, false
	}
	return m, true
}

func (sc *scanner) ws() { sc.next() }

// next passes over white space and returns the byte it stops at, 0 at the
// end (a NUL is no JSON token either). Audit lines are compact: the byte
// is nearly always past the space character, which one comparison shows,
// and the caller tests it without reading it again.
func (sc *scanner) next() byte {
	for sc.p < len(sc.s) {
		if c := sc.s[sc.p]; c > ' ' || !isSpace(c) {
			return c
		}
		sc.p++
	}
	return 0
}

// isSpace: JSON's white space.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// TrimSpace is s without the white space JSON allows around a value.
func TrimSpace(s string) string {
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	for s != "" && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func (sc *scanner) object() (map[string]any, bool) {
	if sc.depth++; sc.depth > scanMaxDepth {
		return nil, false
	}
	sc.p++ // '{'
	sc.record(Token{Kind: TokMap})
	// Keys and values have their own stacks: an enclosing array keeps
	// its items on the value stack only.
	kb, vb := len(sc.keys), len(sc.vals)
	sc.ws()
	if sc.p < len(sc.s) && sc.s[sc.p] == '}' {
		sc.p++
		sc.depth--
		sc.record(Token{Kind: TokEnd})
		return sc.pool.get(0), true
	}
	for {
		if sc.next() != '"' {
			return nil, false
		}
		k, ok := sc.str()
		if !ok {
			return nil, false
		}
		sc.recordString(TokKey, k)
		if sc.next() != ':' {
			return nil, false
		}
		sc.p++
		v, ok := sc.value()
		if !ok {
			return nil, false
		}
		sc.keys = append(sc.keys, k)
		sc.vals = append(sc.vals, v)
		more, ok := sc.sep('}')
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
	}
	sc.record(Token{Kind: TokEnd})
	m := sc.pool.get(len(sc.keys) - kb)
	for i := range len(sc.keys) - kb {
		m[sc.keys[kb+i]] = sc.vals[vb+i] // a repeated key: the last wins, as in jsoniter
	}
	clear(sc.vals[vb:])
	sc.keys, sc.vals = sc.keys[:kb], sc.vals[:vb]
	sc.depth--
	return m, true
}

// sep reads what follows a member or element: ',' (more follow) or close
// (the last one).
func (sc *scanner) sep(close byte) (more, ok bool) {
	c := sc.next()
	if c == 0 {
		return false, false
	}
	sc.p++
	switch c {
	case ',':
		return true, true
	case close:
		return false, true
	}
	return false, false
}

func (sc *scanner) array() ([]any, bool) {
	if sc.depth++; sc.depth > scanMaxDepth {
		return nil, false
	}
	sc.p++ // '['
	sc.record(Token{Kind: TokArray})
	base := len(sc.vals)
	sc.ws()
	if sc.p < len(sc.s) && sc.s[sc.p] == ']' {
		sc.p++
		sc.depth--
		sc.record(Token{Kind: TokEnd})
		return sc.pool.list(0), true
	}
	for {
		v, ok := sc.value()
		if !ok {
			return nil, false
		}
		sc.vals = append(sc.vals, v)
		more, ok := sc.sep(']')
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
	}
	sc.record(Token{Kind: TokEnd})
	a := sc.pool.list(len(sc.vals) - base)
	copy(a, sc.vals[base:])
	clear(sc.vals[base:])
	sc.vals = sc.vals[:base]
	sc.depth--
	return a, true
}

// delimited reports whether the scalar that ended at p is followed by
// something JSON allows after a value.
func (sc *scanner) delimited() bool {
	if sc.p >= len(sc.s) {
		return true
	}
	switch sc.s[sc.p] {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func (sc *scanner) lit(word string, v any) (any, bool) {
	if len(sc.s)-sc.p < len(word) || sc.s[sc.p:sc.p+len(word)] != word {
		return nil, false
	}
	sc.p += len(word)
	return v, sc.delimited()
}

func (sc *scanner) value() (any, bool) {
	switch c := sc.next(); {
	case c == '"':
		s, ok := sc.str()
		sc.recordString(TokString, s)
		return sc.bx.box(s), ok
	case c == '{':
		m, ok := sc.object()
		return m, ok
	case c == '[':
		a, ok := sc.array()
		if !ok {
			return nil, false
		}
		return sc.bx.list(a), true
	case c == 't':
		sc.record(boolToken(true))
		return sc.lit("true", true)
	case c == 'f':
		sc.record(boolToken(false))
		return sc.lit("false", false)
	case c == 'n':
		sc.record(Token{Kind: TokNull})
		return sc.lit("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return sc.number()
	}
	return nil, false
}

// number reads a number of the JSON grammar, kept as its text.
func (sc *scanner) number() (any, bool) {
	s, start := sc.s, sc.p
	p := start
	if s[p] == '-' {
		p++
	}
	digits := func() int {
		n := 0
		for p < len(s) && s[p] >= '0' && s[p] <= '9' {
			p++
			n++
		}
		return n
	}
	switch {
	case p < len(s) && s[p] == '0':
		p++
	case digits() == 0:
		return nil, false
	}
	if p < len(s) && s[p] == '.' {
		p++
		if digits() == 0 {
			return nil, false
		}
	}
	if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
		p++
		if p < len(s) && (s[p] == '+' || s[p] == '-') {
			p++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	sc.p = p
	sc.record(Token{Kind: TokNumber, Str: s[start:p]})
	return sc.bx.number(s[start:p]), sc.delimited()
}

// record adds tok to the Decoder's tape, when there is one. A scan that
// fails leaves a tape nobody reads (TapeFor).
func (sc *scanner) record(tok Token) {
	if sc.tape != nil {
		sc.tape.record(tok)
	}
}

// recordString records a key or string, marking the tape unusable for a
// line when s is not valid UTF-8.
func (sc *scanner) recordString(k TokenKind, s string) {
	if sc.tape != nil {
		sc.tape.record(Token{Kind: k, Str: s})
		if sc.tape.ok && !sc.ascii && !utf8.ValidString(s) {
			sc.tape.ok = false
		}
	}
}

// str reads a string at p (on its opening quote). Without escapes it is a
// slice of the line.
func (sc *scanner) str() (string, bool) {
	s := sc.s
	start := sc.p + 1
	sc.ascii = true
	i := start
	if start+8 <= len(s) {
		// Most keys and many values end within a word: the quote that
		// ends them is the first byte the word flags, found without a
		// call.
		if m := notPlain(load8(s, start)); m != 0 {
			i += bits.TrailingZeros64(m) / 8
		} else {
			i += 8 + PlainPrefix(s[start+8:])
		}
	} else {
		i += PlainPrefix(s[start:])
	}
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			sc.p = i + 1
			return s[start:i], true
		case c == '\\':
			sc.ascii = false // what the escapes stand for is not looked at
			return sc.unescape(start, i)
		case c < 0x20:
			return "", false
		case c >= 0x80:
			sc.ascii = false
		}
	}
	return "", false
}

// maxScratch bounds the scratch buffer a pooled scanner keeps.
const maxScratch = 64 << 10

// unescape decodes a string with escapes; i is the first backslash. It
// writes in the scanner's scratch buffer, and the string is one copy of
// it: a new one, or one in the Decoder's spill.
func (sc *scanner) unescape(start, i int) (string, bool) {
	s := sc.s
	b := append(sc.scratch[:0], s[start:i]...)
	defer func() { sc.scratch = b[:0] }()
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			sc.p = i + 1
			if sc.spill != nil {
				return sc.spill.own(b), true
			}
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b = append(b, s[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok || utf16.IsSurrogate(r) {
				// Surrogates, paired or not, are jsoniter's to read.
				return "", false
			}
			b = utf8.AppendRune(b, r)
			i += 6
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

func hex4(s string, p int) (rune, bool) {
	if p+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[p:p+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}
