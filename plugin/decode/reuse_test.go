package decode

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
)

// decodeAll returns every record's body, metadata and events, each
// rendered as JSON (a recycled tree cannot be kept, only what was read of
// it), reading chunk with d and recycling after every record when
// recycle is set.
func decodeAll(t *testing.T, d *Decoder, data []byte, recycle bool) []string {
	t.Helper()
	d.Reset(data)
	var out []string
	var evs []map[string]any
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			out = append(out, "error: "+err.Error())
			continue
		}
		var shape Shape
		evs, shape, err = d.Events(rec.Body, evs[:0])
		out = append(out, render(t, rec.Body), render(t, rec.Metadata), shape.String(), errString(err))
		for _, ev := range evs {
			out = append(out, render(t, ev))
		}
		if recycle {
			d.Recycle()
		}
	}
}

func render(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v) // keys sorted
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A decoder building records in the maps of records it was handed back
// reads every corpus record, parsed and as a raw line, in both chunk
// formats, exactly as a fresh decoder does: no member of an earlier event
// survives in a reused map, and reused maps of either size serve records
// of any size. The records alternate between large and small events so
// maps change hands between them.
func TestRecycleDecodesTheSame(t *testing.T) {
	lines := corpusLines(t)
	var recs []map[string]any
	for i, l := range lines {
		body := corpusBody(t, l)
		recs = append(recs, body, map[string]any{"log": mustQuoteObj(t, body)})
		// A small record between large ones, with metadata-like nesting.
		recs = append(recs, map[string]any{"n": int64(i), "m": map[string]any{"k": "v"}})
	}
	for _, format := range []chunk.Format{chunk.FormatLegacy, chunk.FormatV2} {
		var buf bytes.Buffer
		if err := chunk.Encode(&buf, recs, chunk.Options{Format: format}); err != nil {
			t.Fatal(err)
		}
		want := decodeAll(t, NewDecoder(nil), buf.Bytes(), false)
		for _, reuseText := range []bool{false, true} {
			d := NewDecoder(nil)
			d.ReuseText(reuseText)
			for round := 0; round < 2; round++ { // the second starts with a full pool
				got := decodeAll(t, d, buf.Bytes(), true)
				if !reflect.DeepEqual(got, want) {
					for i := range min(len(got), len(want)) {
						if got[i] != want[i] {
							t.Fatalf("format %v text reused %t round %d: item %d:\n got %.300s\nwant %.300s", format, reuseText, round, i, got[i], want[i])
						}
					}
					t.Fatalf("format %v text reused %t round %d: %d items, want %d", format, reuseText, round, len(got), len(want))
				}
			}
			if n := len(d.pool.free[0]) + len(d.pool.free[1]); n == 0 {
				t.Fatalf("format %v: no map was handed back", format)
			}
			if reuseText && (d.boxes.strs.n == 0 && len(d.boxes.strs.blocks) == 0 || cap(d.text) == 0) {
				t.Fatalf("format %v: text reused, but no box block or text buffer kept", format)
			}
		}
	}
}

// firstRecord encodes recs as a chunk and returns a decoder with
// ReuseText set to reuse, reading it, and the chunk's first record.
func firstRecord(t *testing.T, recs []map[string]any, reuse bool) (*Decoder, Record) {
	t.Helper()
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, recs, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(nil)
	d.ReuseText(reuse)
	d.Reset(buf.Bytes())
	rec, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	return d, rec
}

// With ReuseText, a string or a boxed value kept past its record's
// Recycle and its chunk's Reset is overwritten (in test binaries, with
// '#'): what the pipeline's packagings promise not to do shows. Without
// ReuseText both stay as they were.
func TestReusedTextIsOverwritten(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		d, rec := firstRecord(t, []map[string]any{{"verb": "get", "user": "alice"}}, reuse)
		boxed := rec.Body["verb"]
		s := rec.Body["user"].(string)
		if boxed != "get" || s != "alice" {
			t.Fatalf("decoded %v %q", boxed, s)
		}
		wantBoxed, wantS := any("get"), "alice"
		if reuse {
			wantBoxed, wantS = "#", "#####"
		}
		d.Recycle()
		if boxed != wantBoxed {
			t.Errorf("reuse %t: a boxed value kept past Recycle reads %v", reuse, boxed)
		}
		d.Reset(nil)
		if s != wantS {
			t.Errorf("reuse %t: a string kept past Reset reads %q", reuse, s)
		}
	}
}

// The same holds for what a raw line's scan makes besides slices of the
// text: a list's box is poisoned at Recycle, a string written to undo its
// escapes at Reset; without ReuseText neither is touched.
func TestReusedLineValuesAreOverwritten(t *testing.T) {
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseComplete","verb":"get","groups":["a","b"],"reason":"allowed by \"admin\""}`
	for _, reuse := range []bool{true, false} {
		d, rec := firstRecord(t, []map[string]any{{"log": line}}, reuse)
		evs, shape, err := d.Events(rec.Body, nil)
		if err != nil || len(evs) != 1 || shape != JSONString {
			t.Fatalf("events %v, shape %v, err %v", evs, shape, err)
		}
		groups := evs[0]["groups"]
		reason := evs[0]["reason"].(string)
		if render(t, groups) != `["a","b"]` || reason != `allowed by "admin"` {
			t.Fatalf("decoded %v %q", groups, reason)
		}
		d.Recycle()
		if got := render(t, groups); reuse != (got == `["#"]`) {
			t.Errorf("reuse %t: a list kept past Recycle reads %s", reuse, got)
		}
		d.Reset(nil)
		if reuse != (reason == strings.Repeat("#", len(`allowed by "admin"`))) {
			t.Errorf("reuse %t: an unescaped string kept past Reset reads %q", reuse, reason)
		}
	}
}

// Recycling drops the decoder's view of maps it did not get back: a
// record decoded after one that was kept leaves the kept one alone.
func TestKeptRecordIsNotReused(t *testing.T) {
	recs := []map[string]any{
		{"a": "first", "m": map[string]any{"k": "one"}},
		{"a": "second", "m": map[string]any{"k": "two"}},
	}
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, recs, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(buf.Bytes())
	kept, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	// Not recycled: the caller keeps it.
	next, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	d.Recycle()
	if _, err := d.Next(); err != io.EOF {
		t.Fatal(err)
	}
	if got := render(t, kept.Body); got != `{"a":"first","m":{"k":"one"}}` {
		t.Errorf("kept record changed: %s", got)
	}
	if len(next.Body) != 0 {
		t.Errorf("the recycled record was not emptied: %v", next.Body)
	}
}

// A map that grew large (a body's thousand keys) is not kept: the pool
// would hold the room it grew to for good.
func TestLargeMapsAreNotKept(t *testing.T) {
	big := map[string]any{}
	for i := range maxPooledMembers + 1 {
		big[string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
	}
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, []map[string]any{{"big": big}}, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(buf.Bytes())
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	d.Recycle()
	if len(d.pool.free[0]) != 1 || len(d.pool.free[1]) != 0 {
		t.Fatalf("free maps: %d small, %d large; want the record's own map only", len(d.pool.free[0]), len(d.pool.free[1]))
	}
}
