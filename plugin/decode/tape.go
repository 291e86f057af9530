package decode

import "unsafe"

// A JSON line read without a parser is scanned once for its tree; the
// redactor's screen and the line writer then want the same text again as
// tokens. The scanner records the tokens it meets on a Tape as it builds
// the tree, so the second reading is a walk over a slice instead of a
// second scan of the text (strings, escapes and numbers included).

// Tape is the tokens of one JSON object in document order, as JSONTokens
// would read them, recorded by the Decoder that built the object's tree.
type Tape struct {
	toks []Token
	i    int
	// ok: every key and string was valid UTF-8, which JSONTokens
	// requires (the tree keeps invalid bytes; a line must not).
	ok bool
}

// Rewind starts reading the tape from its first token.
func (t *Tape) Rewind() { t.i = 0 }

// Next is JSONTokens.Next.
func (t *Tape) Next() (Token, bool, error) {
	if t.i >= len(t.toks) {
		return Token{}, false, nil
	}
	t.i++
	return t.toks[t.i-1], true, nil
}

// Skip is JSONTokens.Skip: it passes over the value after a key.
func (t *Tape) Skip() error {
	d := 0
	for t.i < len(t.toks) {
		switch t.toks[t.i].Kind {
		case TokMap, TokArray:
			d++
		case TokEnd:
			d--
		}
		t.i++
		if d < 0 {
			return ErrNotPlain
		}
		if d == 0 {
			return nil
		}
	}
	return ErrNotPlain
}

func (t *Tape) record(tok Token) { t.toks = append(t.toks, tok) }

// TapeFor returns the tape of the object the Decoder scanned from s, the
// very string (not an equal one) a record of the last Next holds, when it
// has one: s was scanned without jsoniter's help and holds valid UTF-8.
func (d *Decoder) TapeFor(s string) (*Tape, bool) {
	if d.tape == nil || !d.tape.ok || len(d.tapeOf) != len(s) || len(s) == 0 ||
		unsafe.StringData(d.tapeOf) != unsafe.StringData(s) {
		return nil, false
	}
	d.tape.Rewind()
	return d.tape, true
}
