package decode

import (
	"bufio"
	"bytes"
	"errors"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/testdata"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corporaDir is testdata/corpora, the real-world corpora.
func corporaDir(t testing.TB) string {
	t.Helper()
	return testdata.CorporaDir(t)
}

type corpusLine struct {
	file string
	n    int
	line string
}

func corpusLines(t testing.TB) []corpusLine {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corporaDir(t), "*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no corpora in " + corporaDir(t))
	}
	var out []corpusLine
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 16<<20)
		for n := 1; sc.Scan(); n++ {
			if strings.TrimSpace(sc.Text()) != "" {
				out = append(out, corpusLine{filepath.Base(f), n, sc.Text()})
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// corpusBody returns the record a line stands for: Panther rule tests wrap
// the event in {"event": ...}.
func corpusBody(t testing.TB, l corpusLine) map[string]any {
	m, ok := parseObject(l.line)
	if !ok {
		t.Fatalf("%s:%d is not a JSON object", l.file, l.n)
	}
	if ev, ok := m["event"].(map[string]any); ok && m["_panther_rule"] != nil {
		return ev
	}
	return m
}

func isFuzzLine(l corpusLine) bool { return strings.TrimSpace(l.line) == `{"kind":0}` }

func TestCorpora(t *testing.T) {
	lines := corpusLines(t)
	rejected := 0
	for _, l := range lines {
		body := corpusBody(t, l)
		for _, carried := range []bool{false, true} {
			rec := body
			wantShape := Raw
			if carried { // the same event read by tail without a parser
				rec = map[string]any{"log": mustQuoteObj(t, body) + "\n"}
				wantShape = JSONString
			}
			evs, shape, err := Events(rec, nil)
			if isFuzzLine(l) {
				if !errors.Is(err, ErrUnrecognized) || shape != Unknown || len(evs) != 0 {
					t.Errorf("%s:%d: %v %v, want ErrUnrecognized", l.file, l.n, shape, err)
				}
				rejected++
				continue
			}
			if err != nil || shape != wantShape || len(evs) != 1 {
				t.Errorf("%s:%d (carried %v): shape %v, %d events, %v", l.file, l.n, carried, shape, len(evs), err)
				continue
			}
			checkEventTime(t, l, evs[0])
		}
	}
	if rejected != 2 {
		t.Errorf("rejected %d lines, want only the fuzz line (twice)", rejected)
	}
	if len(lines) < 277 {
		t.Errorf("only %d corpus lines", len(lines))
	}
}

func checkEventTime(t *testing.T, l corpusLine, ev map[string]any) {
	t.Helper()
	fallback := time.Unix(1, 0)
	_, a := ev["stageTimestamp"].(string)
	_, b := ev["requestReceivedTimestamp"].(string)
	_, c := ev["timestamp"].(string)
	got := EventTime(ev, fallback)
	if (a || b || c) == got.Equal(fallback) {
		t.Errorf("%s:%d: EventTime %v with timestamps present=%v", l.file, l.n, got, a || b || c)
	}
	if !got.Equal(fallback) && (got.Year() < 2017 || got.Year() > 2030) {
		t.Errorf("%s:%d: implausible EventTime %v", l.file, l.n, got)
	}
}

// Every corpus line as Fluent Bit would hand it over, in both formats.
func TestCorporaThroughChunks(t *testing.T) {
	lines := corpusLines(t)
	var recs []map[string]any
	for _, l := range lines {
		recs = append(recs, corpusBody(t, l))
	}
	for _, format := range []chunk.Format{chunk.FormatLegacy, chunk.FormatV2} {
		var buf bytes.Buffer
		if err := chunk.Encode(&buf, recs, chunk.Options{Format: format}); err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(buf.Bytes())
		events, unknown := 0, 0
		var dst []map[string]any
		for {
			rec, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var shape Shape
			dst, shape, err = Events(rec.Body, dst[:0])
			if errors.Is(err, ErrUnrecognized) {
				unknown++
				continue
			}
			if err != nil || shape != Raw {
				t.Fatalf("record %d: %v %v", d.Records(), shape, err)
			}
			events += len(dst)
		}
		if d.Records() != len(recs) || events != len(recs)-1 || unknown != 1 {
			t.Errorf("format %d: %d records, %d events, %d unknown", format, d.Records(), events, unknown)
		}
	}
}

func mustQuoteObj(t testing.TB, m map[string]any) string {
	s, err := jsonAPI.MarshalToString(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
