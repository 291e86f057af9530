package instance

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// Every value of the model survives appendRecord and plugin/decode, at
// every msgpack size class.
func TestRecordRoundTrip(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	many := map[string]any{}
	var arr []any
	for i := 0; i < 70000; i++ {
		arr = append(arr, int64(i%3))
	}
	for i := 0; i < 20; i++ {
		many[long(i+1)] = int64(i)
	}
	body := map[string]any{
		"nil": nil, "t": true, "f": false,
		"ints":    []any{int64(0), int64(127), int64(128), int64(255), int64(256), int64(65535), int64(65536), int64(math.MaxUint32), int64(math.MaxUint32 + 1), int64(math.MaxInt64), int64(-1), int64(-32), int64(-33), int64(-128), int64(-129), int64(-32768), int64(-32769), int64(math.MinInt32), int64(math.MinInt32 - 1), int64(math.MinInt64)},
		"uint":    uint64(math.MaxUint64),
		"float":   1.5,
		"strings": []any{"", long(31), long(32), long(255), long(256), long(65535), long(65536)},
		"many":    many, "arr": arr,
	}
	numbers := map[string]any{"n": json.Number("42"), "big": json.Number("18446744073709551615"), "f": json.Number("2.5"), "bad": json.Number("1e999")}
	want := map[string]any{"n": int64(42), "big": uint64(math.MaxUint64), "f": 2.5, "bad": "1e999"}
	ts := time.Unix(1_700_000_000, 987654321).UTC()
	meta := map[string]any{"k": "v"}
	for _, tc := range []struct {
		name     string
		v2       bool
		meta     map[string]any
		in, want map[string]any
	}{
		{"v2", true, meta, body, body},
		{"v2-empty-metadata", true, nil, body, body},
		{"legacy", false, nil, body, body},
		{"json-numbers", true, nil, numbers, want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &pipeline.Event{Event: tc.in, Record: decode.Record{Time: ts, Metadata: tc.meta, V2: tc.v2}}
			b := appendRecord(nil, ev)
			d := decode.NewDecoder(b)
			rec, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Next(); err != io.EOF {
				t.Fatalf("trailing data: %v", err)
			}
			if rec.V2 != tc.v2 || !rec.Time.Equal(ts) || !reflect.DeepEqual(rec.Metadata, tc.meta) {
				t.Errorf("header: v2=%t time=%v meta=%v", rec.V2, rec.Time, rec.Metadata)
			}
			if !reflect.DeepEqual(rec.Body, tc.want) {
				t.Errorf("body differs")
			}
		})
	}
}

func newInstance(t testing.TB, props config.MapGetter) *Instance {
	in, err := New(props, "test")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func sampleChunk(t testing.TB, n int) ([]byte, *e2e.Sample) {
	s := e2e.Generate(n, 3, time.Now(), time.Hour)
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, e2e.Shapes(s.Events), chunk.Options{Format: chunk.FormatV2}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), s
}

// A corrupt tail costs the tail only; what is emitted is still redacted.
func TestChunkCorruptTail(t *testing.T) {
	chunk, s := sampleChunk(t, 200)
	in := newInstance(t, config.MapGetter{})
	var n int
	in.Chunk(append(chunk[:len(chunk):len(chunk)], 0x92, 0xd7), "t", func(out []byte) {
		if e2e.ContainsCanary(string(out)) {
			t.Fatal("canary in filter output")
		}
		d := decode.NewDecoder(out)
		for {
			if _, err := d.Next(); err != nil {
				break
			}
			n++
		}
	})
	if n != len(s.Events) {
		t.Errorf("%d records out, want %d", n, len(s.Events))
	}
}

// Filter cost per event, decode to re-encoded chunk; BenchmarkPipeline is
// the same work without re-encoding, so the difference is the encoder's.
func BenchmarkFilterChunk(b *testing.B) {
	chunk, s := sampleChunk(b, 2000)
	in := newInstance(b, config.MapGetter{})
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	var size int
	for b.Loop() {
		in.Chunk(chunk, "t", func(out []byte) { size = len(out) })
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(s.Events)), "ns/event")
	b.ReportMetric(float64(size)/float64(len(chunk)), "out/in")
}

func BenchmarkPipeline(b *testing.B) {
	chunk, s := sampleChunk(b, 2000)
	in := newInstance(b, config.MapGetter{})
	b.ReportAllocs()
	for b.Loop() {
		in.Pipeline.Chunk(chunk, func(*pipeline.Event) {})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(s.Events)), "ns/event")
}

// BenchmarkEncode is the re-encoding alone: processed events to records.
func BenchmarkEncode(b *testing.B) {
	chunk, _ := sampleChunk(b, 2000)
	in := newInstance(b, config.MapGetter{})
	var evs []pipeline.Event
	keeping(b, in).Chunk(chunk, func(ev *pipeline.Event) { evs = append(evs, *ev) })
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		out = out[:0]
		for i := range evs {
			out = appendRecord(out, &evs[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// keeping is a pipeline like in's that leaves each event's tree to the
// caller (in's reuses it once its emit returns), for benchmarks that
// collect events and write them afterwards.
func keeping(tb testing.TB, in *Instance) *pipeline.Pipeline {
	tb.Helper()
	p, err := pipeline.Build(in.Config)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// A record too long for a default Loki is passed on whole (other outputs
// take it) and said, once per chunk with the first auditID, because
// Fluent Bit's loki output has Loki refuse it and does not retry: the
// event would otherwise vanish without a line from kaudit.
func TestLongRecordSaid(t *testing.T) {
	in, err := New(config.MapGetter{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ev := func(id string, n int) map[string]any {
		return map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": id, "stage": "ResponseComplete", "verb": "update",
			"requestURI": "/api/v1/namespaces/default/configmaps/big", "user": map[string]any{"username": "alice"},
			"objectRef":      map[string]any{"resource": "configmaps", "namespace": "default", "name": "big"},
			"requestObject":  map[string]any{"kind": "ConfigMap", "data": map[string]any{"blob": strings.Repeat("lorem ipsum ", n/12)}},
			"responseStatus": map[string]any{"code": 200}, "stageTimestamp": "2026-11-29T03:00:00.000000Z"}
	}
	var b bytes.Buffer
	if err := chunk.Encode(&b, []map[string]any{ev("small", 1000), ev("big-1", 300<<10), ev("big-2", 1<<20)}, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	var records int
	logged := captureStderr(t, func() {
		in.Chunk(b.Bytes(), "kube-audit", func(out []byte) {
			d := decode.NewDecoder(out)
			for {
				if _, err := d.Next(); err != nil {
					break
				}
				records++
			}
		})
	})
	if records != 3 {
		t.Errorf("%d records passed on, want 3", records)
	}
	if !strings.Contains(logged, `records passed on longer than Loki's default max_line_size (256 KiB): 2, first auditID="big-1"`) || strings.Count(logged, "\n") != 1 {
		t.Errorf("logged:\n%s", logged)
	}
	if strings.Contains(logged, "lorem") {
		t.Errorf("record content logged:\n%s", logged)
	}
}

// captureStderr runs f with os.Stderr, where the plugin writes its lines,
// captured.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&out, r); close(done) }()
	old := os.Stderr
	os.Stderr = w
	func() {
		defer func() { os.Stderr = old; w.Close() }()
		f()
	}()
	<-done
	return out.String()
}
