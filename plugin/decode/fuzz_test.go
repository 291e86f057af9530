package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func shapeFixtures(t testing.TB) map[string][]byte {
	files, err := filepath.Glob(filepath.Join(shapesDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s", shapesDir)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// checkModel walks v, failing on any type outside the value model, and
// returns how many values it holds.
func checkModel(t *testing.T, v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 1
		for _, e := range v {
			n += checkModel(t, e)
		}
		return n
	case []any:
		n := 1
		for _, e := range v {
			n += checkModel(t, e)
		}
		return n
	case string, bool, nil, int64, uint64, float64, json.Number:
		return 1
	}
	t.Fatalf("value of type %T outside the value model", v)
	return 0
}

func FuzzDecoder(f *testing.F) {
	var recs []map[string]any
	for _, b := range shapeFixtures(f) {
		m, ok := parseObject(string(b))
		if !ok {
			f.Fatal("fixture")
		}
		recs = append(recs, m)
	}
	for _, format := range []chunk.Format{chunk.FormatLegacy, chunk.FormatV2} {
		for _, kind := range []chunk.TimeKind{chunk.TimeEventTime, chunk.TimeEventTimeExt8, chunk.TimeInt, chunk.TimeFloat} {
			var buf bytes.Buffer
			if err := chunk.Encode(&buf, recs[:2], chunk.Options{Format: format, Time: kind,
				Metadata: map[string]any{"k": "v"}}); err != nil {
				f.Fatal(err)
			}
			f.Add(buf.Bytes())
		}
	}
	f.Add(cat(v2(mint(-1), mmap(), mmap()), legacy(fixext8(1, 2), mmap(mbin("k"), mbin("v"), mint(3), mstr("x"))), v2(mint(-2), mmap(), mmap())))
	f.Add(legacy(f64(1.5), mmap(mstr("a"), marr(mint(1), f32(2), []byte{0xc0, 0xc2, 0xc3}))))
	f.Add([]byte{0x92, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(data)
		values := 0
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatal("Next does not make progress")
			}
			rec, err := d.Next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, ErrMalformedRecord) {
				continue
			}
			if err != nil {
				if !errors.Is(err, ErrCorruptChunk) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				if _, again := d.Next(); again != err {
					t.Fatal("corrupt error is not sticky")
				}
				break
			}
			if rec.Body == nil {
				t.Fatal("nil body without error")
			}
			values += checkModel(t, rec.Body)
			if rec.Metadata != nil {
				values += checkModel(t, rec.Metadata)
			}
			evs, _, _ := Events(rec.Body, nil)
			for _, ev := range evs {
				EventTime(ev, rec.Time)
			}
		}
		// Every value costs at least one input byte: memory stays
		// proportional to the input whatever lengths it declares.
		if values > len(data) {
			t.Fatalf("%d values from %d bytes", values, len(data))
		}
	})
}

func FuzzEvents(f *testing.F) {
	for name, b := range shapeFixtures(f) {
		f.Add(string(b))
		if m, ok := parseObject(string(b)); ok {
			for _, k := range textKeys {
				if s, ok := m[k].(string); ok {
					f.Add(s)
				}
			}
		} else {
			f.Fatal(name)
		}
	}
	f.Add(`{"kind":0}`)
	f.Add(`{"verb":"get","user":{}}`)
	f.Add(`2024-01-01T00:00:00Z stdout F {"kind":"Event","verb":"get"}`)
	f.Add(`{"log":"{\"log\":\"{\\\"verb\\\":\\\"get\\\",\\\"auditID\\\":\\\"x\\\"}\"}"}`)
	f.Add(`{"kind":"EventList","items":[{"verb":"get","auditID":"a","stageTimestamp":"2024-01-01 00:00:00.5"}, 3]}`)
	f.Add(`{"line":"{\"verb\":\"get\",\"auditID\":\"x\"}","offset":3}`)
	f.Add(`{"kubernetes":{"labels":{}},"log_processed":{"verb":"get","auditID":"x"},"body":"{\"verb\":1"}`)
	f.Add(`{"category":"kube-apiserver","properties":{},"other":{"verb":"get","auditID":"x"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		fallback := time.Unix(7, 0)
		evs, shape, err := Events(map[string]any{"log": s}, nil)
		var se *SkippedError
		switch {
		case err == nil:
		case errors.Is(err, ErrUnrecognized):
			if shape != Unknown || len(evs) != 0 {
				t.Fatalf("unrecognized with shape %v and %d events", shape, len(evs))
			}
		case errors.As(err, &se):
			if se.Skipped < 1 || se.Skipped > se.Total || se.Total-se.Skipped != len(evs) {
				t.Fatalf("skipped %+v with %d events", se, len(evs))
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if err == nil && shape == Unknown {
			t.Fatal("no error for shape Unknown")
		}
		for _, ev := range evs {
			if !IsEvent(ev) {
				t.Fatal("returned a non-event")
			}
			checkModel(t, ev)
			if tm := EventTime(ev, fallback); tm.IsZero() {
				t.Fatal("zero EventTime")
			}
		}
	})
}
