package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
)

// tokenSource is what both token readers offer.
type tokenSource interface {
	Next() (Token, bool, error)
	Skip() error
}

// fromTokens rebuilds the value the tokens describe, in the decoder's value
// model, so a token reader can be compared with the tree decoders.
func fromTokens(src tokenSource) (any, error) {
	tok, ok, err := src.Next()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("no value")
	}
	return build(src, tok)
}

func build(src tokenSource, tok Token) (any, error) {
	switch tok.Kind {
	case TokMap:
		m := map[string]any{}
		for {
			k, ok, err := src.Next()
			if err != nil || !ok {
				return nil, errors.Join(err, errors.New("unterminated object"))
			}
			if k.Kind == TokEnd {
				return m, nil
			}
			if k.Kind != TokKey {
				return nil, errors.New("member without key")
			}
			vt, ok, err := src.Next()
			if err != nil || !ok {
				return nil, errors.Join(err, errors.New("key without value"))
			}
			v, err := build(src, vt)
			if err != nil {
				return nil, err
			}
			m[k.Str] = v
		}
	case TokArray:
		a := []any{}
		for {
			et, ok, err := src.Next()
			if err != nil || !ok {
				return nil, errors.Join(err, errors.New("unterminated array"))
			}
			if et.Kind == TokEnd {
				return a, nil
			}
			v, err := build(src, et)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case TokString:
		return tok.Str, nil
	case TokInt:
		return tok.Int(), nil
	case TokUint:
		return tok.Uint(), nil
	case TokFloat:
		return tok.Float(), nil
	case TokNumber:
		return json.Number(tok.Str), nil
	case TokBool:
		return tok.Bool(), nil
	case TokNull:
		return nil, nil
	}
	return nil, errors.New("unexpected token")
}

func TestJSONTokensAgreeWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, ` {"a":1} `, `{"a":[1,2,{"b":null}],"c":"x\ny","d":true,"e":-1.5e3}`,
		`{"a":}`, `{"a":1,}`, `[1]`, `{"a":[1,]}`, `{"a":01}`, `{"a":1}x`, `{"a" 1}`,
		`{"a":tru}`, `{"a":"\u00e9\t"}`, `{"a":"\ud83d\ude00"}`, `{,}`, `{"a":1 "b":2}`,
		`{"a":{}}`, `{"a":[]}`, `{"a":[[],{}]}`, `{"a":1.}`, `{"a":-}`, `{"a":"` + "\x01" + `"}`,
	} {
		checkJSONTokens(t, s)
	}
}

// checkJSONTokens: what the token reader accepts is valid JSON and reads
// as encoding/json reads it.
func checkJSONTokens(t *testing.T, s string) {
	t.Helper()
	checkTape(t, s)
	var jt JSONTokens
	jt.Reset(s)
	got, err := fromTokens(&jt)
	if err == nil {
		_, more, err2 := jt.Next()
		if more || err2 != nil {
			err = errors.New("trailing")
		}
	}
	if err != nil {
		return // refusing is always safe: the tree path takes it
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var want any
	if dec.Decode(&want) != nil || !json.Valid([]byte(s)) {
		t.Fatalf("token reader accepted invalid JSON %q", s)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: tokens give %#v, encoding/json %#v", s, got, want)
	}
}

// checkTape: a tape the decoder recorded while building s's tree holds
// exactly the tokens JSONTokens reads from s, and exists only where
// JSONTokens reads s to its end; skipping agrees too.
func checkTape(t *testing.T, s string) {
	t.Helper()
	d := NewDecoder(nil)
	parseObjectIn(s, d)
	tape, ok := d.TapeFor(s)
	if !ok {
		return
	}
	var jt JSONTokens
	jt.Reset(s)
	for i := 0; ; i++ {
		want, wmore, werr := jt.Next()
		got, gmore, gerr := tape.Next()
		if werr != nil || gerr != nil || want != got || wmore != gmore {
			t.Fatalf("%q: token %d: tape %+v %v %v, JSONTokens %+v %v %v", s, i, got, gmore, gerr, want, wmore, werr)
		}
		if !wmore {
			break
		}
	}
	// Skipping each top-level member's value in turn lands on the same
	// keys.
	tape.Rewind()
	jt.Reset(s)
	tape.Next()
	jt.Next()
	for {
		a, _, _ := tape.Next()
		b, _, _ := jt.Next()
		if a != b {
			t.Fatalf("%q: after skips, tape %+v, JSONTokens %+v", s, a, b)
		}
		if a.Kind != TokKey {
			return
		}
		if e1, e2 := tape.Skip(), jt.Skip(); (e1 == nil) != (e2 == nil) {
			t.Fatalf("%q: skip: tape %v, JSONTokens %v", s, e1, e2)
		}
	}
}

// Every corpus event's JSON text, compact and indented, has a tape that
// JSONTokens agrees with.
func TestTapeCorpora(t *testing.T) {
	n := 0
	for _, l := range corpusLines(t) {
		for _, s := range []string{l.line, mustIndent(t, l.line)} {
			checkTape(t, s)
			d := NewDecoder(nil)
			parseObjectIn(s, d)
			if _, ok := d.TapeFor(s); ok {
				n++
			}
		}
	}
	if n < 500 {
		t.Fatalf("only %d corpus texts had a tape", n)
	}
}

func mustIndent(t *testing.T, s string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A tape is recorded for the text the decoder scanned, and for no other
// string, however equal.
func TestTapeIsForItsText(t *testing.T) {
	d := NewDecoder(nil)
	s := ` {"a":[1,"x",{"b":null,"c":true}]}` + "\n"
	if _, ok := parseObjectIn(s, d); !ok {
		t.Fatal("not parsed")
	}
	if _, ok := d.TapeFor(s); !ok {
		t.Fatal("no tape for the text scanned")
	}
	if _, ok := d.TapeFor(strings.Clone(s)); ok {
		t.Fatal("a tape for an equal copy")
	}
	bad := `{"a":"` + "\xff" + `"}`
	if _, ok := parseObjectIn(bad, d); !ok {
		t.Fatal("invalid UTF-8 not parsed")
	}
	if _, ok := d.TapeFor(s); ok {
		t.Fatal("the tape outlived the next scan")
	}
	if _, ok := d.TapeFor(bad); ok {
		t.Fatal("a tape for invalid UTF-8, which JSONTokens refuses")
	}
	// CRI-prefixed lines are objects after the prefix: JSONTokens does
	// not read them, so no tape.
	cri := `2024-01-01T00:00:00.000000000Z stdout F {"a":1}`
	if _, ok := parseObjectIn(cri, d); !ok {
		t.Fatal("CRI line not parsed")
	}
	if _, ok := d.TapeFor(cri); ok {
		t.Fatal("a tape for a CRI line")
	}
}

// nanMarked stands a NaN (msgpack can carry one; no two are equal) for a
// string naming its type, so that two readings compare.
func nanMarked(v any) any {
	switch x := v.(type) {
	case float32:
		if x != x {
			return "NaN float32"
		}
	case float64:
		if x != x {
			return "NaN float64"
		}
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = nanMarked(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = nanMarked(e)
		}
		return l
	}
	return v
}

// checkMsgpackTokens: what the token reader accepts reads as the tree
// decoder reads it.
func checkMsgpackTokens(t *testing.T, b []byte) {
	t.Helper()
	var mt MsgpackTokens
	mt.Reset(string(b))
	got, err := fromTokens(&mt)
	if err != nil {
		return
	}
	r := reader{s: string(b)}
	want, werr := r.value(0)
	if werr != nil {
		t.Fatalf("token reader accepted what the decoder refuses (%v)", werr)
	}
	if _, isMap := want.(map[string]any); isMap && r.p != mt.Offset() {
		t.Fatalf("token reader ended at %d, decoder at %d", mt.Offset(), r.p)
	}
	if !reflect.DeepEqual(nanMarked(got), nanMarked(want)) {
		t.Fatalf("tokens give %#v, decoder %#v", got, want)
	}
}

func TestMsgpackTokensAgreeWithDecoder(t *testing.T) {
	for name, b := range shapeFixtures(t) {
		m, ok := parseObject(string(b))
		if !ok {
			t.Fatal(name)
		}
		data := encodeChunk(t, m)
		rec, err := NewDecoder(data).Next()
		if err != nil {
			t.Fatal(err)
		}
		var mt MsgpackTokens
		mt.Reset(rec.RawBody)
		got, err := fromTokens(&mt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, rec.Body) {
			t.Fatalf("%s: tokens differ from the decoded body", name)
		}
		checkMsgpackTokens(t, []byte(rec.RawBody))
	}
}

func TestTokensSkip(t *testing.T) {
	var jt JSONTokens
	jt.Reset(`{"a":{"b":[1,{"c":2}]},"d":"e"}`)
	for _, want := range []TokenKind{TokMap, TokKey} {
		if tok, _, _ := jt.Next(); tok.Kind != want {
			t.Fatalf("got %v want %v", tok.Kind, want)
		}
	}
	if err := jt.Skip(); err != nil {
		t.Fatal(err)
	}
	if tok, _, _ := jt.Next(); tok.Kind != TokKey || tok.Str != "d" {
		t.Fatalf("after skip: %+v", tok)
	}
	data := encodeChunk(t, map[string]any{"a": map[string]any{"b": []any{int64(1)}}, "d": "e"})
	rec, _ := NewDecoder(data).Next()
	var mt MsgpackTokens
	mt.Reset(rec.RawBody)
	mt.Next()
	for {
		tok, _, _ := mt.Next()
		if tok.Str == "a" {
			break
		}
		if tok.Kind == TokKey {
			mt.Skip()
		}
	}
	if err := mt.Skip(); err != nil {
		t.Fatal(err)
	}
	for {
		tok, ok, err := mt.Next()
		if err != nil || !ok {
			t.Fatal("no key after skip", err)
		}
		if tok.Kind == TokKey {
			if tok.Str != "d" {
				t.Fatalf("after skip: %+v", tok)
			}
			break
		}
	}
}

func FuzzJSONTokens(f *testing.F) {
	for _, b := range shapeFixtures(f) {
		f.Add(string(b))
	}
	f.Add(`{"a":[1,{"b":"\u00e9"}]}`)
	f.Fuzz(func(t *testing.T, s string) { checkJSONTokens(t, s) })
}

func FuzzMsgpackTokens(f *testing.F) {
	for _, b := range shapeFixtures(f) {
		m, _ := parseObject(string(b))
		rec, _ := NewDecoder(encodeChunk(f, m)).Next()
		f.Add([]byte(rec.RawBody))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkMsgpackTokens(t, b) })
}

func encodeChunk(t testing.TB, m map[string]any) []byte {
	var b bytes.Buffer
	if err := chunk.Encode(&b, []map[string]any{m}, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
