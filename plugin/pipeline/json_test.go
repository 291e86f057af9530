package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/kaudit/kaudit/scripts/e2e"
	"github.com/kaudit/kaudit/testdata"
)

// reference is what the line must equal: encoding/json, HTML escaping off.
// encoding/json refuses a json.Number that is not a JSON number; appendJSON
// quotes it instead, and the reference does the same.
func reference(t testing.TB, v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(quoteBadNumbers(v)); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func quoteBadNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !json.Valid([]byte(x)) {
			return string(x)
		}
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = quoteBadNumbers(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = quoteBadNumbers(e)
		}
		return l
	}
	return v
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	cases := []any{
		nil, true, false, "", "plain", "quote\" back\\slash", "ctl\x00\x01\x1f\b\f\n\r\t", "<html>&amp;",
		"bad utf8 \xff\xfe end", "line\u2028sep\u2029", "ünïcödé ✓ 🚀",
		int64(-42), uint64(math.MaxUint64), 1, 0.0, math.Copysign(0, -1), 1.5, 1e-7, 1e21, 123456789.125, 1e-6, 1e20, -3.25e-10,
		json.Number("12"), json.Number("-1.5e+30"), json.Number("00"), json.Number("1."), json.Number("-"), json.Number("1e"), json.Number("0.5E-3"),
		[]any{}, map[string]any{}, []any{nil, "a", int64(1), map[string]any{"z": 1.0, "a": []any{"b"}}},
		map[string]any{"b": int64(1), "a": "x", "A": true, "_": nil, "ü": "u"},
	}
	for _, c := range cases {
		if got, want := string(appendJSON(nil, c)), reference(t, c); got != want {
			t.Errorf("%#v:\n got %s\nwant %s", c, got, want)
		}
	}
}

func TestAppendJSONNonFinite(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(appendJSON(nil, map[string]any{"f": f})); got != `{"f":null}` {
			t.Errorf("%v: %s", f, got)
		}
	}
}

// Every real and generated event renders exactly as encoding/json would.
func TestAppendJSONOnEvents(t *testing.T) {
	events := e2e.Generate(500, 5, time.Now(), time.Hour).Events
	files := testdata.Corpora(t)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var m map[string]any
			if jsonNumbers.Unmarshal(sc.Bytes(), &m) == nil {
				events = append(events, m)
			}
		}
		fh.Close()
	}
	for _, ev := range events {
		if got, want := string(appendJSON(nil, ev)), reference(t, ev); got != want {
			t.Fatalf("differs from encoding/json:\n got %s\nwant %s", got, want)
		}
	}
}

var jsonNumbers = jsoniter.Config{UseNumber: true}.Froze()

func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte(`{"a":"\u2028<>&","b":[1,2.5,-0,1e400],"c":{"d":null,"e":"\xff"}}`))
	f.Add([]byte(`{"kind":"Event","verb":"get","user":{"username":"system:node:a"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if jsonNumbers.Unmarshal(data, &v) != nil {
			return
		}
		if got, want := string(appendJSON(nil, v)), reference(t, v); got != want {
			t.Fatalf("differs from encoding/json:\n got %s\nwant %s", got, want)
		}
	})
}
