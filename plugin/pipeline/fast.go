package pipeline

import (
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/redact"
)

// Most events carry nothing to redact: a lease renewal, a kubelet's pod
// watch, a controller's status update. For those the Loki line is written
// straight from the record's tokens while the redactor's screen judges
// every key and string, in one pass over the input and without the tree
// walk, the copy or the sorted re-encoding the full path costs. The first
// string the screen cannot vouch for sends the event down the full path,
// which redacts the tree as before; the screen's own tests prove that it
// passes nothing the full path would have changed.

// tokenSource is a record read as tokens: msgpack as Fluent Bit sent it
// (mp), or the JSON line tail read without a parser, from the tape its
// scan recorded (tp) or scanned again (js). A struct, not an interface:
// the calls are direct, once per token.
type tokenSource struct {
	mp *decode.MsgpackTokens
	tp *decode.Tape
	js *decode.JSONTokens
}

func (s tokenSource) Next() (decode.Token, bool, error) {
	switch {
	case s.mp != nil:
		return s.mp.Next()
	case s.tp != nil:
		return s.tp.Next()
	}
	return s.js.Next()
}

func (s tokenSource) Skip() error {
	switch {
	case s.mp != nil:
		return s.mp.Skip()
	case s.tp != nil:
		return s.tp.Skip()
	}
	return s.js.Skip()
}

type fastState struct {
	// dec is the chunk's decoder, whose tape may hold a JSON line's
	// tokens.
	dec *decode.Decoder
	mp  decode.MsgpackTokens
	js  decode.JSONTokens
	sc  redact.Screen
	buf []byte
}

var fastStates = sync.Pool{New: func() any { return &fastState{buf: make([]byte, 0, 4096)} }}

// fastLine returns e's Loki line and what the screen removed when the
// record's tokens prove e needs no redaction; ok is false otherwise, and e
// must then take the full path. omitManaged is the policy's
// omitManagedFields for this event. The line is st's buffer or the
// record's own text, valid until st screens the next event: the emitted
// Event's Line, which a packaging copies if it keeps it.
func (p *Pipeline) fastLine(st *fastState, rec *decode.Record, shape decode.Shape, e map[string]any, omitManaged bool) (line string, rep redact.Report, ok bool) {
	line, ok = p.screen(st, rec, shape, e, omitManaged, true)
	if !ok {
		return "", rep, false
	}
	if max := p.s.MaxLine; max > 0 && len(line) > max {
		return "", rep, false // cutting to fit works on the redacted tree
	}
	if len(line) == 0 {
		return "", rep, false
	}
	return line, st.sc.Report(), true
}

// unchanged reports whether the record's tokens prove that redaction
// would leave e exactly as it came (nothing removed, managedFields
// included): a packaging that writes records back passes it on as it is.
// omitManaged is the policy's omitManagedFields, which changes an event
// that has them.
func (p *Pipeline) unchanged(st *fastState, rec *decode.Record, shape decode.Shape, e map[string]any, omitManaged bool) bool {
	if shape != decode.Raw {
		return false
	}
	_, ok := p.screen(st, rec, shape, e, omitManaged, false)
	return ok && st.sc.Report().Empty() && st.sc.Dropped() == 0
}

// screen feeds the record's tokens to the redactor's screen and, when
// write is set, returns the line: written into st.buf from the tokens, or,
// for a JSON line the screen passes whole, the line itself. Re-encoding
// a text that is already the event's JSON and that redaction leaves as it
// is would only cost the copy and the escape checks of every string.
func (p *Pipeline) screen(st *fastState, rec *decode.Record, shape decode.Shape, e map[string]any, omitManaged, write bool) (string, bool) {
	src, text, ok := st.source(rec, shape)
	if !ok {
		return "", false
	}
	// A member the screen leaves out (managedFields) means the line must
	// be written; its name in the text says so before the pass does.
	verbatim := write && text != "" && !namesManagedFields(text)
	b, ok := p.screenPass(st, src, e, omitManaged, write && !verbatim)
	if verbatim && ok && st.sc.Dropped() > 0 {
		// Spelt with escapes: written after all, from the start again.
		src, _, _ = st.source(rec, shape)
		verbatim = false
		b, ok = p.screenPass(st, src, e, omitManaged, true)
	}
	if !ok {
		return "", false
	}
	if verbatim {
		return decode.TrimSpace(text), true
	}
	if len(b) == 0 {
		return "", true
	}
	return unsafe.String(&b[0], len(b)), true
}

// source returns the record's tokens, read from their start, and the JSON
// line they come from when they come from one; ok is false for a record
// the screen does not read.
func (st *fastState) source(rec *decode.Record, shape decode.Shape) (src tokenSource, text string, ok bool) {
	switch shape {
	case decode.Raw:
		if rec.RawBody == "" || !rec.Exact {
			return src, "", false
		}
		st.mp.Reset(rec.RawBody)
		src.mp = &st.mp
		return src, "", true
	case decode.JSONString:
		// Only the line tail reads without a parser: {"log": "<event>"}.
		s, isStr := rec.Body["log"].(string)
		if !isStr || len(rec.Body) != 1 {
			return src, "", false
		}
		if tp, ok := st.dec.TapeFor(s); ok {
			src.tp = tp
		} else {
			st.js.Reset(s)
			src.js = &st.js
		}
		return src, s, true
	}
	return src, "", false
}

// screenPass is one reading of src by the screen, writing the line into
// st.buf when write is set.
func (p *Pipeline) screenPass(st *fastState, src tokenSource, e map[string]any, omitManaged, write bool) ([]byte, bool) {
	sc := &st.sc
	sc.Reset(p.s.Redactor, e, omitManaged)
	if !sc.OK() {
		return nil, false
	}
	b, top, id, ok := writeScreened(st.buf[:0], src, sc, write)
	if cap(b) <= 1<<20 {
		st.buf = b[:0]
	} else {
		// Kept until the line is used, not past it.
		st.buf = make([]byte, 0, 4096)
	}
	// The tokens must be the event the tree holds, not a wrapper around
	// it or a text with members the tree lost to a repeated key.
	return b, ok && sc.OK() && top == len(e) && sameID(id, e["auditID"])
}

// namesManagedFields reports whether s holds the word managedFields, found
// by its capital F: a byte rare in audit JSON, which the search for a
// whole word would not skip to as fast as it skips to an F.
func namesManagedFields(s string) bool {
	const word, at = "managedFields", len("managed")
	for i := 0; ; {
		j := strings.IndexByte(s[i:], 'F')
		if j < 0 {
			return false
		}
		i += j
		if i >= at && strings.HasPrefix(s[i-at:], word) {
			return true
		}
		i++
	}
}

// writeScreened writes the value src reads as compact JSON while feeding
// the screen, and stops at the first thing the screen refuses. top is the
// number of members of the outer object and id its auditID.
func writeScreened(b []byte, src tokenSource, sc *redact.Screen, write bool) (out []byte, top int, id tokenID, ok bool) {
	// first is set while the innermost container has had no member yet
	// (an outer one always has: the container inside it); closers[d]
	// ends container d.
	first := false
	var closers [64]byte
	depth := 0
	key := false // the previous token was a key: no comma before the value
	auditID := false
	for {
		// A tape's tokens are read in line: the JSON line's case, where
		// the reading is most of the screen's cost beyond its judgement.
		var tok decode.Token
		var more bool
		var err error
		if src.tp != nil {
			tok, more, err = src.tp.Next()
		} else {
			tok, more, err = src.Next()
		}
		if err != nil {
			return b, 0, id, false
		}
		if !more {
			return b, top, id, depth == 0
		}
		if tok.Kind == decode.TokEnd {
			if depth == 0 {
				return b, 0, id, false
			}
			depth--
			first = false
			sc.Close()
			if write {
				b = append(b, closers[depth])
			}
			continue
		}
		if write && depth > 0 && !key && !first {
			b = append(b, ',')
		}
		first = false
		wasKey := key
		key = false
		switch tok.Kind {
		case decode.TokMap, decode.TokArray:
			if depth >= len(closers) {
				return b, 0, id, false
			}
			sc.Open(tok.Kind == decode.TokMap)
			first = true
			depth++
			if write {
				if tok.Kind == decode.TokMap {
					b, closers[depth-1] = append(b, '{'), '}'
				} else {
					b, closers[depth-1] = append(b, '['), ']'
				}
			}
		case decode.TokKey:
			if depth == 1 {
				top++
				auditID = tok.Str == "auditID"
			}
			if sc.Key(tok.Str) {
				if depth == 1 {
					top--
				}
				if err := src.Skip(); err != nil {
					return b, 0, id, false
				}
				// Nothing was written for the member: its comma too.
				if write && len(b) > 0 && b[len(b)-1] == ',' {
					b = b[:len(b)-1]
				} else {
					first = true
				}
				continue
			}
			if write {
				b = appendString(b, tok.Str)
				b = append(b, ':')
			}
			key = true
		case decode.TokString:
			sc.String(tok.Str)
			if depth == 1 && wasKey && auditID {
				id = tokenID{tok.Str, true}
			}
			if write {
				b = appendString(b, tok.Str)
			}
		case decode.TokInt, decode.TokUint, decode.TokFloat, decode.TokNumber:
			sc.Number()
			if write {
				b = appendScalar(b, tok)
			}
		default:
			if write {
				b = appendScalar(b, tok)
			}
		}
		if !sc.OK() {
			return b, 0, id, false
		}
	}
}

// tokenID is the string the tokens held under auditID, if any.
type tokenID struct {
	s   string
	set bool
}

// sameID reports whether the tokens' auditID is the tree's: the same
// string, or none in either (a member of another type is none in the
// tokens, and not nil in the tree).
func sameID(id tokenID, tree any) bool {
	if !id.set {
		return tree == nil
	}
	s, ok := tree.(string)
	return ok && s == id.s
}

func appendScalar(b []byte, tok decode.Token) []byte {
	switch tok.Kind {
	case decode.TokInt:
		return strconv.AppendInt(b, tok.Int(), 10)
	case decode.TokUint:
		return strconv.AppendUint(b, tok.Uint(), 10)
	case decode.TokFloat:
		return appendFloat(b, tok.Float())
	case decode.TokNumber:
		return append(b, tok.Str...)
	case decode.TokBool:
		return strconv.AppendBool(b, tok.Bool())
	case decode.TokNull:
		return append(b, "null"...)
	}
	return b
}
