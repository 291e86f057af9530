package decode

import (
	"errors"
	"math"
	"unicode/utf8"
)

// TokenKind names what a Token is.
type TokenKind uint8

const (
	TokMap    TokenKind = iota + 1 // an object starts; its members follow, then TokEnd
	TokArray                       // an array starts; its elements follow, then TokEnd
	TokEnd                         // the innermost object or array ends
	TokKey                         // an object member's name; its value follows
	TokString                      // a string value
	TokInt                         // an integer (Int)
	TokUint                        // an integer above MaxInt64 (Uint)
	TokFloat                       // a float (Float)
	TokNumber                      // a JSON number, as its text (Str)
	TokBool                        // true or false (Bool)
	TokNull                        // null or nil
)

// Token is one step of a value read in document order. Str aliases the
// input (or, for a JSON string with escapes, a decoded copy); a number or
// bool is in bits, read with the method of its kind. Four words: the
// readers return tokens in registers, once per token of every event.
type Token struct {
	Kind TokenKind
	Str  string
	bits uint64
}

// Int is a TokInt's value.
func (t Token) Int() int64 { return int64(t.bits) }

// Uint is a TokUint's value.
func (t Token) Uint() uint64 { return t.bits }

// Float is a TokFloat's value.
func (t Token) Float() float64 { return math.Float64frombits(t.bits) }

// Bool is a TokBool's value.
func (t Token) Bool() bool { return t.bits != 0 }

func intToken(i int64) Token     { return Token{Kind: TokInt, bits: uint64(i)} }
func floatToken(f float64) Token { return Token{Kind: TokFloat, bits: math.Float64bits(f)} }

func boolToken(b bool) Token {
	if b {
		return Token{Kind: TokBool, bits: 1}
	}
	return Token{Kind: TokBool}
}

// ErrNotPlain reports a value the token readers do not carry (msgpack bin,
// ext or non-string keys, JSON that is not strict RFC 8259): the caller
// takes the path that builds a tree instead.
var ErrNotPlain = errors.New("decode: value has no plain token form")

// maxTokenDepth bounds nesting as the tree decoder does.
const maxTokenDepth = maxDepth

// MsgpackTokens reads one msgpack value (a record body) as tokens, without
// building it: the path that proves an event needs no change reads each
// byte once and allocates nothing.
type MsgpackTokens struct {
	s string
	p int
	// left counts what remains of the innermost open container: elements
	// of an array, keys and values (two per member) of a map; outer
	// holds the containers around it. Read once per token, the innermost
	// is a field rather than an element of the stack.
	left  int
	isMap bool
	outer [maxTokenDepth]struct {
		left  int
		isMap bool
	}
	depth int
	done  bool
}

// Reset starts reading the value at the start of s. The stack of outer
// containers is only read below depth, each entry written when the
// container inside it opens, so it is not cleared: that would be 4 KiB
// per value.
func (t *MsgpackTokens) Reset(s string) {
	t.s, t.p, t.depth, t.done = s, 0, 0, false
}

// Next returns the next token; at the end of the value it returns
// ok == false with a nil error.
func (t *MsgpackTokens) Next() (tok Token, ok bool, err error) {
	key := false
	if t.depth > 0 {
		if t.left == 0 {
			t.depth--
			if t.depth > 0 {
				o := &t.outer[t.depth-1]
				t.left, t.isMap = o.left, o.isMap
			}
			return Token{Kind: TokEnd}, true, nil
		}
		key = t.isMap && t.left%2 == 0
		t.left--
	} else {
		if t.done {
			return Token{}, false, nil
		}
		t.done = true
	}
	if t.p >= len(t.s) {
		return Token{}, false, errTruncated
	}
	c := t.s[t.p]
	if key {
		n, ok := t.strLen(c)
		if !ok {
			return Token{}, false, ErrNotPlain
		}
		s, err := t.take(n)
		return Token{Kind: TokKey, Str: s}, err == nil, err
	}
	if n, ok := t.strLen(c); ok {
		s, err := t.take(n)
		return Token{Kind: TokString, Str: s}, err == nil, err
	}
	switch {
	case c <= 0x7f:
		t.p++
		return intToken(int64(c)), true, nil
	case c >= 0xe0:
		t.p++
		return intToken(int64(int8(c))), true, nil
	case c <= 0x9f || c >= 0xdc && c <= 0xdf:
		isMap := c <= 0x8f || c >= 0xde
		r := reader{s: t.s, p: t.p}
		n, ok := r.arrayLen()
		if isMap {
			n, ok = r.mapLen()
		}
		if !ok {
			return Token{}, false, errTruncated
		}
		t.p = r.p
		return t.open(n, isMap)
	case c == 0xc0:
		t.p++
		return Token{Kind: TokNull}, true, nil
	case c == 0xc2 || c == 0xc3:
		t.p++
		return boolToken(c == 0xc3), true, nil
	case c >= 0xca && c <= 0xd3:
		return t.number(c)
	}
	return Token{}, false, ErrNotPlain
}

func (t *MsgpackTokens) open(n int, isMap bool) (Token, bool, error) {
	if t.depth >= maxTokenDepth {
		return Token{}, false, errDepth
	}
	w := n
	if isMap {
		w = 2 * n
	}
	// Every element takes at least one byte: a forged count fails here,
	// not after a long loop.
	if w > len(t.s)-t.p {
		return Token{}, false, errTruncated
	}
	if t.depth > 0 {
		o := &t.outer[t.depth-1]
		o.left, o.isMap = t.left, t.isMap
	}
	t.left, t.isMap = w, isMap
	t.depth++
	if isMap {
		return Token{Kind: TokMap}, true, nil
	}
	return Token{Kind: TokArray}, true, nil
}

// strLen reads a str header (not bin: a JSON consumer has no bytes type).
func (t *MsgpackTokens) strLen(c byte) (int, bool) {
	s, p := t.s, t.p
	switch {
	case c >= 0xa0 && c <= 0xbf:
		t.p++
		return int(c & 0x1f), true
	case c == 0xd9 && p+2 <= len(s):
		t.p += 2
		return int(s[p+1]), true
	case c == 0xda && p+3 <= len(s):
		t.p += 3
		return int(be16(s, p+1)), true
	case c == 0xdb && p+5 <= len(s):
		t.p += 5
		return int(be32(s, p+1)), true
	}
	return 0, false
}

func (t *MsgpackTokens) take(n int) (string, error) {
	if n < 0 || n > len(t.s)-t.p {
		return "", errTruncated
	}
	t.p += n
	return t.s[t.p-n : t.p], nil
}

func (t *MsgpackTokens) number(c byte) (Token, bool, error) {
	size := [...]int{4, 8, 1, 2, 4, 8, 1, 2, 4, 8}[c-0xca]
	if 1+size > len(t.s)-t.p {
		return Token{}, false, errTruncated
	}
	p := t.p + 1
	t.p += 1 + size
	var u uint64
	for i := 0; i < size; i++ {
		u = u<<8 | uint64(t.s[p+i])
	}
	switch c {
	case 0xca:
		return floatToken(float64(math.Float32frombits(uint32(u)))), true, nil
	case 0xcb:
		return floatToken(math.Float64frombits(u)), true, nil
	case 0xcc, 0xcd, 0xce:
		return intToken(int64(u)), true, nil
	case 0xcf:
		if u > math.MaxInt64 {
			return Token{Kind: TokUint, bits: u}, true, nil
		}
		return intToken(int64(u)), true, nil
	case 0xd0:
		return intToken(int64(int8(u))), true, nil
	case 0xd1:
		return intToken(int64(int16(u))), true, nil
	case 0xd2:
		return intToken(int64(int32(u))), true, nil
	}
	return intToken(int64(u)), true, nil
}

// Skip skips the value that follows the key just returned (or the next
// element of an array) without returning its tokens.
func (t *MsgpackTokens) Skip() error {
	if t.depth == 0 || t.left == 0 {
		return ErrNotPlain
	}
	end, err := skip(t.s, t.p)
	if err != nil {
		return err
	}
	t.left--
	t.p = end
	return nil
}

// Offset is the read position in the input, for a caller that wants the
// bytes a value spans.
func (t *MsgpackTokens) Offset() int { return t.p }

// JSONTokens reads one JSON object as tokens under the strict grammar (no
// duplicate check: the caller compares member counts where it matters).
type JSONTokens struct {
	sc    scanner
	inMap [maxTokenDepth]bool
	// first is set right after a container opens: no comma before the
	// next member; val right after a key: its value comes next.
	first, val bool
	depth      int
	done       bool
}

// Reset starts reading the JSON text s, which must be one object with
// nothing but white space around it.
func (t *JSONTokens) Reset(s string) {
	// inMap is only read below depth (see MsgpackTokens.Reset).
	t.sc = scanner{s: s, keys: t.sc.keys[:0], vals: t.sc.vals[:0]}
	t.first, t.val, t.depth, t.done = false, false, 0, false
}

// Next is MsgpackTokens.Next for JSON.
func (t *JSONTokens) Next() (tok Token, ok bool, err error) {
	sc := &t.sc
	sc.ws()
	if t.done {
		if sc.p != len(sc.s) {
			return Token{}, false, ErrNotPlain
		}
		return Token{}, false, nil
	}
	if sc.p >= len(sc.s) {
		return Token{}, false, ErrNotPlain
	}
	if t.depth == 0 {
		if sc.s[sc.p] != '{' {
			return Token{}, false, ErrNotPlain
		}
		return t.open(true)
	}
	if t.val {
		t.val = false
		return t.value()
	}
	c := sc.s[sc.p]
	inMap := t.inMap[t.depth-1]
	if (inMap && c == '}') || (!inMap && c == ']') {
		sc.p++
		t.depth--
		t.first = false
		if t.depth == 0 {
			t.done = true
		}
		return Token{Kind: TokEnd}, true, nil
	}
	if !t.first {
		if c != ',' {
			return Token{}, false, ErrNotPlain
		}
		sc.p++
		sc.ws()
	}
	t.first = false
	if inMap {
		if sc.p >= len(sc.s) || sc.s[sc.p] != '"' {
			return Token{}, false, ErrNotPlain
		}
		k, ok := sc.str()
		if !ok || !sc.ascii && !utf8.ValidString(k) {
			return Token{}, false, ErrNotPlain
		}
		sc.ws()
		if sc.p >= len(sc.s) || sc.s[sc.p] != ':' {
			return Token{}, false, ErrNotPlain
		}
		sc.p++
		t.val = true
		return Token{Kind: TokKey, Str: k}, true, nil
	}
	return t.value()
}

func (t *JSONTokens) value() (Token, bool, error) {
	sc := &t.sc
	sc.ws()
	if sc.p >= len(sc.s) {
		return Token{}, false, ErrNotPlain
	}
	switch c := sc.s[sc.p]; {
	case c == '{':
		return t.open(true)
	case c == '[':
		return t.open(false)
	case c == '"':
		// Invalid UTF-8 is left to the tree decoder, whose reading the
		// rest of the pipeline shares.
		s, ok := sc.str()
		if !ok || !sc.ascii && !utf8.ValidString(s) {
			return Token{}, false, ErrNotPlain
		}
		return Token{Kind: TokString, Str: s}, true, nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(sc.s)-sc.p >= len(lit) && sc.s[sc.p:sc.p+len(lit)] == lit {
				sc.p += len(lit)
				if !sc.delimited() {
					return Token{}, false, ErrNotPlain
				}
				if lit == "null" {
					return Token{Kind: TokNull}, true, nil
				}
				return boolToken(lit == "true"), true, nil
			}
		}
	case c == '-' || '0' <= c && c <= '9':
		start := sc.p
		for sc.p < len(sc.s) && numberByte(sc.s[sc.p]) {
			sc.p++
		}
		if !ValidNumber(sc.s[start:sc.p]) {
			return Token{}, false, ErrNotPlain
		}
		return Token{Kind: TokNumber, Str: sc.s[start:sc.p]}, true, nil
	}
	return Token{}, false, ErrNotPlain
}

func numberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (t *JSONTokens) open(isMap bool) (Token, bool, error) {
	if t.depth >= maxTokenDepth {
		return Token{}, false, errDepth
	}
	t.sc.p++
	t.inMap[t.depth] = isMap
	t.depth++
	t.first = true
	if isMap {
		return Token{Kind: TokMap}, true, nil
	}
	return Token{Kind: TokArray}, true, nil
}

// Skip skips the value after the key just returned, by reading its tokens.
func (t *JSONTokens) Skip() error {
	d := 0
	for {
		tok, ok, err := t.Next()
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotPlain
		}
		switch tok.Kind {
		case TokMap, TokArray:
			d++
		case TokEnd:
			d--
		}
		if d == 0 {
			return nil
		}
	}
}

// ValidNumber reports whether s is a number under RFC 8259: what a JSON
// writer may copy as it is.
func ValidNumber(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		for s = s[1:]; s != "" && '0' <= s[0] && s[0] <= '9'; s = s[1:] {
		}
	default:
		return false
	}
	if s != "" && s[0] == '.' {
		s = s[1:]
		if s == "" || s[0] < '0' || s[0] > '9' {
			return false
		}
		for ; s != "" && '0' <= s[0] && s[0] <= '9'; s = s[1:] {
		}
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s != "" && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		if s == "" || s[0] < '0' || s[0] > '9' {
			return false
		}
		for ; s != "" && '0' <= s[0] && s[0] <= '9'; s = s[1:] {
		}
	}
	return s == ""
}
