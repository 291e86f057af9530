package decode

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"io"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Hand-built msgpack, independent of both the decoder and ugorji.

func mstr(s string) []byte {
	switch {
	case len(s) < 32:
		return append([]byte{0xa0 | byte(len(s))}, s...)
	case len(s) < 256:
		return append([]byte{0xd9, byte(len(s))}, s...)
	case len(s) < 65536:
		return append(binary.BigEndian.AppendUint16([]byte{0xda}, uint16(len(s))), s...)
	}
	return append(binary.BigEndian.AppendUint32([]byte{0xdb}, uint32(len(s))), s...)
}

func mbin(s string) []byte { return append([]byte{0xc4, byte(len(s))}, s...) }

func marr(items ...[]byte) []byte {
	b := []byte{0x90 | byte(len(items))}
	if len(items) > 15 {
		b = binary.BigEndian.AppendUint16([]byte{0xdc}, uint16(len(items)))
	}
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

// mmap takes alternating keys and values.
func mmap(kv ...[]byte) []byte {
	b := []byte{0x80 | byte(len(kv)/2)}
	if len(kv)/2 > 15 {
		b = binary.BigEndian.AppendUint16([]byte{0xde}, uint16(len(kv)/2))
	}
	for _, it := range kv {
		b = append(b, it...)
	}
	return b
}

func fixext8(sec, nsec uint32) []byte {
	b := []byte{0xd7, 0x00}
	b = binary.BigEndian.AppendUint32(b, sec)
	return binary.BigEndian.AppendUint32(b, nsec)
}

func ext8(sec, nsec uint32) []byte {
	b := []byte{0xc7, 0x08, 0x00}
	b = binary.BigEndian.AppendUint32(b, sec)
	return binary.BigEndian.AppendUint32(b, nsec)
}

func f64(f float64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0xcb}, math.Float64bits(f))
}

func f32(f float32) []byte {
	return binary.BigEndian.AppendUint32([]byte{0xca}, math.Float32bits(f))
}

func mint(i int64) []byte { return AppendInt(nil, i) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func legacy(ts, body []byte) []byte { return marr(ts, body) }

func v2(ts, meta, body []byte) []byte { return marr(marr(ts, meta), body) }

// collect drains a decoder.
func collect(t *testing.T, chunk []byte) (recs []Record, recErrs []*RecordError, final error) {
	t.Helper()
	d := NewDecoder(chunk)
	for i := 0; ; i++ {
		if i > len(chunk)+1 {
			t.Fatal("decoder does not make progress")
		}
		rec, err := d.Next()
		var re *RecordError
		switch {
		case err == nil:
			recs = append(recs, rec)
		case errors.As(err, &re):
			recErrs = append(recErrs, re)
		default:
			return recs, recErrs, err
		}
	}
}

func sampleRecords() []map[string]any {
	return []map[string]any{
		{
			"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "get",
			"user":        map[string]any{"username": "alice", "groups": []any{"a", "b"}},
			"code":        int64(403),
			"negative":    int64(-70000),
			"big":         uint64(math.MaxUint64),
			"maxint":      int64(math.MaxInt64),
			"ratio":       0.25,
			"ok":          true,
			"nothing":     nil,
			"empty":       map[string]any{},
			"emptyList":   []any{},
			"longString":  strings.Repeat("x", 300),
			"hugeString":  strings.Repeat("y", 70000),
			"unicode":     "päß✓",
			"requestBody": []any{map[string]any{"op": "add", "path": "/a", "value": int64(1)}},
		},
		{"log": "plain line", "n": int64(0)},
	}
}

func TestRoundTripChunk(t *testing.T) {
	ts := []time.Time{
		time.Date(2024, 5, 14, 9, 12, 44, 108233000, time.UTC),
		time.Date(2024, 5, 14, 9, 12, 45, 999999999, time.UTC),
	}
	meta := map[string]any{"otlp": map[string]any{"severity": "INFO"}}
	for _, format := range []chunk.Format{chunk.FormatLegacy, chunk.FormatV2} {
		for _, kind := range []chunk.TimeKind{chunk.TimeEventTime, chunk.TimeEventTimeExt8, chunk.TimeInt, chunk.TimeFloat} {
			var buf bytes.Buffer
			want := sampleRecords()
			if err := chunk.Encode(&buf, want, chunk.Options{Format: format, Time: kind, Times: ts, Metadata: meta}); err != nil {
				t.Fatal(err)
			}
			recs, bad, err := collect(t, buf.Bytes())
			if err != io.EOF || len(bad) != 0 || len(recs) != len(want) {
				t.Fatalf("format %d time %d: %d records, %d bad, err %v", format, kind, len(recs), len(bad), err)
			}
			for i, rec := range recs {
				if !reflect.DeepEqual(rec.Body, want[i]) {
					t.Errorf("format %d time %d record %d:\n got %#v\nwant %#v", format, kind, i, rec.Body, want[i])
				}
				if format == chunk.FormatV2 && !reflect.DeepEqual(rec.Metadata, meta) {
					t.Errorf("metadata %#v", rec.Metadata)
				}
				if format == chunk.FormatLegacy && rec.Metadata != nil {
					t.Errorf("legacy metadata %#v", rec.Metadata)
				}
				wantT := ts[i]
				switch kind {
				case chunk.TimeInt:
					wantT = wantT.Truncate(time.Second)
				case chunk.TimeFloat:
					if d := rec.Time.Sub(wantT); d < -time.Microsecond || d > time.Microsecond {
						t.Errorf("float time %v, want %v", rec.Time, wantT)
					}
					continue
				}
				if !rec.Time.Equal(wantT) {
					t.Errorf("format %d time %d: time %v, want %v", format, kind, rec.Time, wantT)
				}
			}
		}
	}
}

func TestTimestampForms(t *testing.T) {
	body := mmap(mstr("k"), mstr("v"))
	cases := []struct {
		name string
		ts   []byte
		want time.Time
	}{
		{"fixext8", fixext8(1700000000, 5), time.Unix(1700000000, 5)},
		{"ext8", ext8(1700000000, 999999999), time.Unix(1700000000, 999999999)},
		{"ext8 past 2038", ext8(4000000000, 0), time.Unix(4000000000, 0)},
		{"fixint", mint(7), time.Unix(7, 0)},
		{"uint8", []byte{0xcc, 200}, time.Unix(200, 0)},
		{"uint16", []byte{0xcd, 1, 0}, time.Unix(256, 0)},
		{"uint32", []byte{0xce, 0x65, 0x53, 0xf1, 0x00}, time.Unix(0x6553f100, 0)},
		{"uint64", []byte{0xcf, 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00}, time.Unix(0x6553f100, 0)},
		{"int32 signed form", []byte{0xd2, 0x65, 0x53, 0xf1, 0x00}, time.Unix(0x6553f100, 0)},
		{"negative fixint", []byte{0xfb}, time.Unix(-5, 0)},
		{"negative int16", mint(-1000), time.Unix(-1000, 0)},
		{"float64", f64(1700000000.25), time.Unix(1700000000, 250000000)},
		{"float32", f32(1.5), time.Unix(1, 500000000)},
		{"negative float", f64(-10.25), time.Unix(-11, 750000000)},
	}
	for _, c := range cases {
		for _, chunk := range [][]byte{legacy(c.ts, body), v2(c.ts, mmap(), body)} {
			recs, bad, err := collect(t, chunk)
			if err != io.EOF || len(bad) != 0 || len(recs) != 1 {
				t.Fatalf("%s: %d records, bad %v, err %v", c.name, len(recs), bad, err)
			}
			if !recs[0].Time.Equal(c.want) {
				t.Errorf("%s: got %v want %v", c.name, recs[0].Time, c.want)
			}
			if recs[0].Time.Location() != time.UTC {
				t.Errorf("%s: time not in UTC", c.name)
			}
			if recs[0].Body["k"] != "v" {
				t.Errorf("%s: body %v", c.name, recs[0].Body)
			}
		}
	}
}

func TestStringsKeysAndScalars(t *testing.T) {
	body := mmap(
		mbin("binkey"), mbin("bin value"),
		mint(5), mstr("int key"),
		mint(-3), mstr("negative key"),
		[]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mstr("uint64 key"),
		[]byte{0xc0}, mstr("nil key is skipped"),
		[]byte{0xc3}, mstr("bool key is skipped"),
		f64(1.5), mstr("float key is skipped"),
		mmap(mstr("a"), mstr("b")), mstr("map key is skipped"),
		marr(mstr("a")), mstr("array key is skipped"),
		mstr(strings.Repeat("k", 40)), mstr("str8 key"),
		mstr("str16"), mstr(strings.Repeat("s", 300)),
		mstr("bin16"), append([]byte{0xc5, 0x01, 0x00}, strings.Repeat("b", 256)...),
		mstr("f32"), f32(0.5),
		mstr("i8"), []byte{0xd0, 0x80},
		mstr("i64"), mint(math.MinInt64),
		mstr("u8"), []byte{0xcc, 0xff},
		mstr("nested eventtime"), fixext8(1700000000, 1),
		mstr("other ext"), []byte{0xd4, 0x05, 0x01},
		mstr("array16"), cat([]byte{0xdc, 0x00, 0x02}, mstr("x"), mstr("y")),
		mstr("map16"), cat([]byte{0xde, 0x00, 0x01}, mstr("x"), mstr("y")),
	)
	recs, bad, err := collect(t, legacy(fixext8(1, 0), body))
	if err != io.EOF || len(bad) != 0 || len(recs) != 1 {
		t.Fatalf("%d records, bad %v, err %v", len(recs), bad, err)
	}
	want := map[string]any{
		"binkey":                "bin value",
		"5":                     "int key",
		"-3":                    "negative key",
		"18446744073709551615":  "uint64 key",
		strings.Repeat("k", 40): "str8 key",
		"str16":                 strings.Repeat("s", 300),
		"bin16":                 strings.Repeat("b", 256),
		"f32":                   float64(0.5),
		"i8":                    int64(-128),
		"i64":                   int64(math.MinInt64),
		"u8":                    int64(255),
		"nested eventtime":      "2023-11-14T22:13:20.000000001Z",
		"other ext":             nil,
		"array16":               []any{"x", "y"},
		"map16":                 map[string]any{"x": "y"},
	}
	if !reflect.DeepEqual(recs[0].Body, want) {
		t.Errorf("got  %#v\nwant %#v", recs[0].Body, want)
	}
}

func TestMalformedRecordsAreSkipped(t *testing.T) {
	good := func(n int64) []byte { return v2(fixext8(1, 0), mmap(), mmap(mstr("n"), mint(n))) }
	chunk := cat(
		good(1),
		legacy(fixext8(1, 0), mstr("body is a string")),
		marr(mint(1), mint(2), mint(3)),
		marr(marr(fixext8(1, 0)), mmap()),
		legacy([]byte{0xd7, 0x05, 0, 0, 0, 0, 0, 0, 0, 0}, mmap()),
		legacy(mstr("ts"), mmap()),
		v2(fixext8(1, 0), mstr("meta"), mmap()),
		legacy(f64(math.NaN()), mmap()),
		legacy([]byte{0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0}, mmap()),
		legacy(fixext8(1, 0), cat([]byte{0x81}, mstr("deep"), bytes.Repeat([]byte{0x91}, 600), []byte{0xc0})),
		good(2),
	)
	recs, bad, err := collect(t, chunk)
	if err != io.EOF {
		t.Fatalf("err %v", err)
	}
	if len(recs) != 2 || recs[0].Body["n"] != int64(1) || recs[1].Body["n"] != int64(2) {
		t.Fatalf("records %v", recs)
	}
	if len(bad) != 9 {
		t.Fatalf("%d malformed, want 9: %v", len(bad), bad)
	}
	for i, re := range bad {
		if re.Index != i+1 {
			t.Errorf("malformed record index %d, want %d", re.Index, i+1)
		}
		if !errors.Is(re, ErrMalformedRecord) || errors.Is(re, ErrCorruptChunk) {
			t.Errorf("errors.Is wrong for %v", re)
		}
	}
	if !strings.Contains(bad[8].Error(), "nesting") {
		t.Errorf("deep record error %q", bad[8])
	}
}

func TestCorruptChunks(t *testing.T) {
	good := legacy(fixext8(1, 0), mmap(mstr("secret"), mstr("hunter2")))
	cases := []struct {
		name    string
		chunk   []byte
		records int
	}{
		{"truncated last record", cat(good, good, good[:len(good)-3]), 2},
		{"truncated header", cat(good, []byte{0x92, 0xd7}), 1},
		{"not an array", cat(good, mstr("garbage"), good), 1},
		{"reserved byte", cat(good, legacy(fixext8(1, 0), mmap(mstr("a"), []byte{0xc1}))), 1},
		{"forged array32 length", cat(good, []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0}), 1},
		{"forged map32 length", cat([]byte{0x92, 0x01, 0xdf, 0x7f, 0xff, 0xff, 0xff}, good), 0},
		{"forged str32 length", cat(good, []byte{0x92, 0x01, 0x81, 0xdb, 0xff, 0xff, 0xff, 0xff}), 1},
		{"forged ext32 length", cat(good, []byte{0x92, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x00}), 1},
	}
	for _, c := range cases {
		recs, _, err := collect(t, c.chunk)
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorruptChunk) {
			t.Fatalf("%s: err %v, want CorruptError", c.name, err)
		}
		if len(recs) != c.records || ce.Records != c.records {
			t.Errorf("%s: %d records (error says %d), want %d", c.name, len(recs), ce.Records, c.records)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error leaks content: %v", c.name, err)
		}
		if !strings.Contains(err.Error(), "after") {
			t.Errorf("%s: error %q does not say how far decoding got", c.name, err)
		}
	}
}

func TestErrorsAreSticky(t *testing.T) {
	d := NewDecoder([]byte{0x92, 0x01})
	_, err1 := d.Next()
	_, err2 := d.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v, %v", err1, err2)
	}
	d.Reset(nil)
	for i := 0; i < 2; i++ {
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("empty chunk: %v", err)
		}
	}
}

func TestGroupMarkersAreSkipped(t *testing.T) {
	chunk := cat(
		v2(mint(-1), mmap(mstr("resource"), mstr("x")), mmap(mstr("scope"), mstr("y"))),
		v2(fixext8(5, 0), mmap(), mmap(mstr("n"), mint(1))),
		v2(mint(-2), mmap(), mmap()),
		v2(fixext8(0xffffffff, 0), mmap(), mmap()),
		v2(fixext8(6, 0), mmap(), mmap(mstr("n"), mint(2))),
		v2(fixext8(0xfffffffe, 0), mmap(), mmap()),
	)
	d := NewDecoder(chunk)
	var got []any
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.Body["n"])
	}
	if !reflect.DeepEqual(got, []any{int64(1), int64(2)}) || d.Groups() != 4 || d.Records() != 2 || d.Malformed() != 0 {
		t.Fatalf("got %v, groups %d records %d", got, d.Groups(), d.Records())
	}
}

func TestValuesDoNotAliasChunk(t *testing.T) {
	chunk := legacy(fixext8(1, 0), mmap(mstr("key"), mstr("a value of some length"), mstr("b"), mbin("bin")))
	rec, err := NewDecoder(chunk).Next()
	if err != nil {
		t.Fatal(err)
	}
	for i := range chunk {
		chunk[i] = 'Z'
	}
	if rec.Body["key"] != "a value of some length" || rec.Body["b"] != "bin" {
		t.Fatalf("values changed with the chunk: %v", rec.Body)
	}
}

// A forged length must not cost memory in proportion to the length.
func TestForgedLengthsAllocateLittle(t *testing.T) {
	chunks := [][]byte{
		{0x92, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff},
		{0x92, 0x01, 0xdf, 0xff, 0xff, 0xff, 0xff},
		cat([]byte{0x92, 0x01, 0x81, 0xa1, 'k', 0xdb, 0xff, 0xff, 0xff, 0xf0}, make([]byte, 64)),
	}
	for _, c := range chunks {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		collect(t, c)
		runtime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<16 {
			t.Errorf("chunk % x allocated %d bytes", c[:8], d)
		}
	}
}

// Strings boxed in shared blocks stay each their own across many blocks
// and records.
func TestBoxedStrings(t *testing.T) {
	d := NewDecoder(nil)
	var chunk []byte
	for i := 0; i < 3*boxBlock; i++ {
		chunk = append(chunk, legacy(fixext8(1, 0), mmap(mstr("v"), mint(int64(i)), mstr("s"), mstr(strings.Repeat("x", i%20)+string(rune('a'+i%26))+itoa(i))))...)
	}
	d.Reset(chunk)
	n := 0
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		i := int(rec.Body["v"].(int64))
		if want := strings.Repeat("x", i%20) + string(rune('a'+i%26)) + itoa(i); rec.Body["s"] != want {
			t.Fatalf("record %d: %q want %q", i, rec.Body["s"], want)
		}
		n++
	}
	if n != 3*boxBlock {
		t.Fatalf("n=%d", n)
	}
}

func itoa(i int) string { return string(appendDecimal(nil, i)) }

func appendDecimal(b []byte, i int) []byte {
	if i >= 10 {
		b = appendDecimal(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// Fluent Bit always writes fixarray/fixmap framing, but any msgpack writer
// may use the wider forms.
func TestWideFraming(t *testing.T) {
	body := cat([]byte{0xdf, 0, 0, 0, 1}, mstr("k"), mstr("v"))
	meta := []byte{0xde, 0, 0}
	ext16 := cat([]byte{0xc8, 0, 8, 0}, fixext8(9, 10)[2:])
	ext32 := cat([]byte{0xc9, 0, 0, 0, 8, 0}, fixext8(9, 10)[2:])
	chunk := cat(
		cat([]byte{0xdc, 0, 2}, cat([]byte{0xdd, 0, 0, 0, 2}, ext16, meta), body),
		cat([]byte{0xdd, 0, 0, 0, 2}, ext32, body),
	)
	recs, bad, err := collect(t, chunk)
	if err != io.EOF || len(bad) != 0 || len(recs) != 2 {
		t.Fatalf("%d records, bad %v, err %v", len(recs), bad, err)
	}
	for _, r := range recs {
		if r.Body["k"] != "v" || !r.Time.Equal(time.Unix(9, 10)) || r.Metadata != nil {
			t.Errorf("record %+v", r)
		}
	}
}

func TestChunkNumbers(t *testing.T) {
	rec := map[string]any{
		"int": json.Number("12"), "neg": json.Number("-70000"), "float": json.Number("1.5"),
		"big": json.Number("18446744073709551615"), "exp": json.Number("1e400"),
		"nested": []any{map[string]any{"n": json.Number("3")}}, "bin": []byte("raw"),
	}
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, []map[string]any{rec}, chunk.Options{Format: chunk.FormatLegacy, Time: chunk.TimeInt}); err != nil {
		t.Fatal(err)
	}
	r, err := NewDecoder(buf.Bytes()).Next()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"int": int64(12), "neg": int64(-70000), "float": 1.5, "big": uint64(math.MaxUint64), "exp": "1e400",
		"nested": []any{map[string]any{"n": int64(3)}}, "bin": "raw",
	}
	if !reflect.DeepEqual(r.Body, want) {
		t.Fatalf("got %#v", r.Body)
	}
	if err := chunk.Encode(&buf, []map[string]any{nil}, chunk.Options{}); err == nil {
		t.Error("nil record accepted")
	}
	if err := chunk.Encode(&buf, []map[string]any{{}}, chunk.Options{Times: []time.Time{time.Unix(-1, 0)}}); err == nil {
		t.Error("negative EventTime accepted")
	}
}

func TestAppendInt(t *testing.T) {
	for _, i := range []int64{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		r := reader{s: string(AppendInt(nil, i))}
		v, err := r.value(0)
		if err != nil || v != i || r.p != len(r.s) {
			t.Errorf("%d: got %v, %v", i, v, err)
		}
	}
}

// Exact holds only when nothing of the record's bytes was left out of Body
// and Metadata: a consumer that passes Raw on relies on redaction having
// seen all of it.
func TestExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  []byte
		want bool
	}{
		{"plain", v2(fixext8(1, 0), mmap(mstr("m"), mstr("x")), mmap(mstr("a"), mmap(mstr("b"), marr(mstr("c"), mint(1))))), true},
		{"int and bin keys", legacy(mint(1), mmap(mint(5), mstr("x"), mbin("k"), mbin("v"))), true},
		{"nested eventtime", legacy(mint(1), mmap(mstr("t"), fixext8(1, 2))), true},
		{"duplicate key", legacy(mint(1), mmap(mstr("a"), mstr("secret"), mstr("a"), mstr("x"))), false},
		{"duplicate nested key", legacy(mint(1), mmap(mstr("o"), mmap(mstr("a"), mstr("secret"), mstr("a"), mstr("x")))), false},
		{"int and string key alike", legacy(mint(1), mmap(mint(5), mstr("secret"), mstr("5"), mstr("x"))), false},
		{"skipped key", legacy(mint(1), mmap(marr(mstr("k")), mstr("secret"), mstr("a"), mstr("x"))), false},
		{"other ext", legacy(mint(1), mmap(mstr("e"), []byte{0xd4, 0x05, 0x01})), false},
		{"metadata duplicate", v2(fixext8(1, 0), mmap(mstr("m"), mstr("secret"), mstr("m"), mstr("x")), mmap(mstr("a"), mstr("b"))), false},
	} {
		recs, bad, err := collect(t, tc.rec)
		if err != io.EOF || len(bad) != 0 || len(recs) != 1 {
			t.Fatalf("%s: %d records, bad %v, err %v", tc.name, len(recs), bad, err)
		}
		if recs[0].Exact != tc.want {
			t.Errorf("%s: Exact = %v, want %v", tc.name, recs[0].Exact, tc.want)
		}
	}
}
