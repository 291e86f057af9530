package decode

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/testdata"
)

// jsoniterObject is what parseObject answered before scanObject: the
// reference the scanner is held to.
func jsoniterObject(s string) (map[string]any, bool) {
	var m map[string]any
	if err := jsonAPI.UnmarshalFromString(s, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// checkScan fails if scanObject vouches for a tree jsoniter would not
// build; it reports whether the scanner took s.
func checkScan(t *testing.T, name, s string) bool {
	t.Helper()
	got, ok := scanObject(s)
	if !ok {
		return false
	}
	want, wok := jsoniterObject(s)
	if !wok {
		t.Errorf("%s: scanObject accepted what jsoniter rejects: %.200q", name, s)
		return true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: scanObject and jsoniter build different trees from %.200q", name, s)
	}
	return true
}

// jsonTexts returns every JSON document under testdata (the real corpora,
// the shapes, redaction, detection and canary fixtures), a .jsonl file line
// by line, plus every string inside them that is itself a JSON object (AKS
// properties.log, last-applied annotations, events under log).
func jsonTexts(t *testing.T) map[string]string {
	root, err := testdata.Root()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = filepath.Walk(filepath.Join(root, "testdata"), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(p, ".jsonl"):
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 64<<20)
			for n := 1; sc.Scan(); n++ {
				out[p+":"+strconv.Itoa(n)] = sc.Text()
			}
			return sc.Err()
		case strings.HasSuffix(p, ".json"):
			b, err := os.ReadFile(p)
			out[p] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range out {
		if m, ok := jsoniterObject(strings.TrimLeft(s, " \t\r\n")); ok {
			nested(m, name, out)
		}
	}
	return out
}

func nested(v any, name string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			nested(e, name+"."+k, out)
		}
	case []any:
		for i, e := range x {
			nested(e, name+"["+strconv.Itoa(i)+"]", out)
		}
	case string:
		if s := strings.TrimLeft(x, " \t\r\n"); strings.HasPrefix(s, "{") {
			out[name] = s
		}
	}
}

// Every JSON text of the corpora and fixtures gives the same tree through
// scanObject as through jsoniter, and the scanner (not the fallback) reads
// nearly all of them: otherwise it would not be the fast path.
func TestScanObjectMatchesJsoniter(t *testing.T) {
	texts := jsonTexts(t)
	took, objects := 0, 0
	for name, s := range texts {
		s = strings.TrimLeft(s, " \t\r\n")
		if !strings.HasPrefix(s, "{") {
			continue
		}
		checkScan(t, name, s)
		if _, ok := jsoniterObject(s); !ok {
			continue // not JSON: both refuse it (checkScan holds the scanner to that)
		}
		objects++
		if checkScan(t, name, s) {
			took++
		} else {
			t.Logf("left to jsoniter: %s: %.120q", name, s)
		}
	}
	t.Logf("the scanner read %d of the %d JSON objects jsoniter reads", took, objects)
	if objects < 300 || took < objects*99/100 {
		t.Fatalf("the scanner read %d of %d objects: want at least 99%%", took, objects)
	}
}

// Corners where jsoniter's reading is its own: the scanner leaves them to
// it (or agrees), and parseObject answers as jsoniter does.
func TestScanObjectCorners(t *testing.T) {
	for _, s := range []string{
		`{}`, `{"a":[]}`, `{"a":{}}`, `{"a":null,"b":true,"c":false}`,
		`{"a":1,"a":2}`, `{"a":{"x":1},"a":{"y":2}}`,
		`{"n":-0.5e+10,"m":0,"k":-0,"j":1E5}`,
		`{"n":00}`, `{"n":1.}`, `{"n":.5}`, `{"n":+1}`, `{"n":1e}`, `{"n":0x10}`, `{"n":1_000}`,
		`{"s":"a\"b\\c\/d\b\f\n\r\t"}`, `{"s":"\u00e9\u2028\u0000"}`,
		`{"s":"\ud83d\ude00"}`, `{"s":"\ud83d"}`, `{"s":"\ude00x"}`, `{"s":"\u12"}`, `{"s":"\uZZZZ"}`, `{"s":"\x"}`,
		"{\"s\":\"tab\there\"}", "{\"s\":\"\xff\xfe\"}", "{\"\xc3\xa9\":\"caf\xc3\xa9\"}",
		`{"a":1,}`, `{"a":1`, `{"a"}`, `{"a":}`, `{"a":1}x`, `{"a":1} `, `{"a":1}{}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`,
		`{"a":[1,2,]}`, `{"a":[1 2]}`, `{,}`, `{"a":"b"` + strings.Repeat(" ", 3) + `}`,
		`{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
		" {\n\t\"a\" : [ 1 , { } ] \r\n} ",
	} {
		s = strings.TrimLeft(s, " \t\r\n")
		checkScan(t, s, s)
		got, gok := parseObject(s)
		want, wok := jsoniterObject(s)
		if gok != wok || !reflect.DeepEqual(got, want) {
			t.Errorf("parseObject(%q) = %v %v, jsoniter %v %v", s, got, gok, want, wok)
		}
	}
}

// FuzzScanObject holds scanObject to jsoniter on any input: whatever the
// scanner accepts, jsoniter accepts and builds the same tree from.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",{"b":null}],"c":true}`, `{"s":"\u00e9\n"}`, `{"n":-1.5e3}`} {
		f.Add(s)
	}
	// The real corpora, line by line, as seeds.
	for _, l := range corpusLines(f) {
		f.Add(l.line)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(s, "{") {
			return
		}
		checkScan(t, "fuzz", s)
	})
}
