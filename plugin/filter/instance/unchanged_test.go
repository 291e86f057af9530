package instance

import (
	"bytes"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/scripts/e2e"
)

func encodeChunk(t testing.TB, records []map[string]any, o chunk.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, records, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeAll(t testing.TB, data []byte) []decode.Record {
	t.Helper()
	var recs []decode.Record
	d := decode.NewDecoder(data)
	for {
		rec, err := d.Next()
		if err != nil {
			return recs
		}
		recs = append(recs, rec)
	}
}

// An event written from its input bytes reads back as the re-encoded
// record would, in every record form; the others are re-encoded.
func TestPassedAsCameReadsAsReencoded(t *testing.T) {
	s := e2e.Generate(300, 5, time.Now(), time.Hour)
	for _, o := range []chunk.Options{
		{Format: chunk.FormatV2, Time: chunk.TimeEventTime, Metadata: map[string]any{"k": "v"}},
		{Format: chunk.FormatV2, Time: chunk.TimeFloat},
		{Time: chunk.TimeInt},
	} {
		in := newInstance(t, config.MapGetter{})
		asCame := 0
		in.Pipeline.Chunk(encodeChunk(t, e2e.Shapes(s.Events), o), func(ev *pipeline.Event) {
			got, as := appendEvent(nil, ev)
			if as {
				asCame++
				if string(got) != ev.Record.Raw {
					t.Fatal("written as it came but not its input bytes")
				}
			}
			want := appendRecord(nil, ev)
			g, w := decodeAll(t, got), decodeAll(t, want)
			if len(g) != 1 || len(w) != 1 {
				t.Fatalf("%d and %d records", len(g), len(w))
			}
			if !reflect.DeepEqual(g[0].Body, w[0].Body) || !reflect.DeepEqual(g[0].Metadata, w[0].Metadata) || !g[0].Time.Equal(w[0].Time) || g[0].V2 != w[0].V2 {
				t.Errorf("event %v reads back differently from its input bytes", ev.Event["auditID"])
			}
		})
		if asCame == 0 {
			t.Errorf("%+v: no event written as it came", o)
		}
	}
}

// Filter answers "same" (NOTOUCH) only when every record is written as it
// came and nothing else was dropped; then use is not called.
func TestFilterSame(t *testing.T) {
	s := e2e.Generate(300, 5, time.Now(), time.Hour)
	v2 := chunk.Options{Format: chunk.FormatV2, Time: chunk.TimeEventTime}
	in := newInstance(t, config.MapGetter{})
	// The routine events the filter passes as they came. The instance's
	// pipeline reuses a chunk's text once its events are emitted: the
	// id is kept as a copy.
	clean := map[any]bool{}
	in.Pipeline.Chunk(encodeChunk(t, s.Events, v2), func(ev *pipeline.Event) {
		if _, as := appendEvent(nil, ev); as {
			clean[strings.Clone(ev.Event["auditID"].(string))] = true
		}
	})
	var cleanRecs, dirty []map[string]any
	for _, ev := range s.Events {
		if clean[ev["auditID"]] {
			cleanRecs = append(cleanRecs, ev)
		} else {
			dirty = append(dirty, ev)
		}
	}
	if len(cleanRecs) < 10 || len(dirty) == 0 {
		t.Fatalf("%d clean and %d other events: the sample no longer tests this", len(cleanRecs), len(dirty))
	}
	filter := func(in *Instance, data []byte) (same bool, out []byte, called bool) {
		same = in.Filter(data, "t", func(b []byte) { out, called = append([]byte(nil), b...), true })
		return
	}
	data := encodeChunk(t, cleanRecs, v2)
	if same, _, called := filter(in, data); !same || called {
		t.Errorf("clean chunk: same=%t, use called=%t; want NOTOUCH", same, called)
	}
	var got []byte
	in.Chunk(data, "t", func(b []byte) { got = append([]byte(nil), b...) })
	if !bytes.Equal(got, data) {
		t.Error("Chunk of a clean chunk does not hand on the input")
	}

	one := append(append([]map[string]any(nil), cleanRecs...), dirty[0])
	withSecret := copyMap(cleanRecs[0])
	withSecret["annotations"] = map[string]any{"note": "db_password=" + e2e.Canary + "filter"}
	for name, c := range map[string][]byte{
		"one event to mark or redact": encodeChunk(t, one, v2),
		"a secret":                    encodeChunk(t, append([]map[string]any{withSecret}, cleanRecs...), v2),
		"a group marker":              append(groupMarker(), data...),
		"a malformed record":          append(append([]byte(nil), data...), 0x92, 0xc0, 0xc0),
		"a record not an event":       append(append([]byte(nil), data...), encodeChunk(t, []map[string]any{{"log": "hello"}}, v2)...),
	} {
		same, out, called := filter(in, c)
		if same || !called {
			t.Errorf("%s: same=%t, use called=%t; want MODIFIED", name, same, called)
		}
		if e2e.ContainsCanary(string(out)) {
			t.Errorf("%s: canary in the output", name)
		}
	}
	below := newInstance(t, config.MapGetter{"min_severity": "low"})
	if same, out, _ := filter(below, data); same || len(out) != 0 {
		t.Errorf("min_severity: same=%t with %d bytes out; want MODIFIED, nothing", same, len(out))
	}
}

// groupMarker is a Fluent Bit group start record: [[-1, {}], {"k": "v"}].
func groupMarker() []byte {
	b := []byte{0x92, 0x92, 0xff, 0x80}
	b = decode.AppendMapHeader(b, 1)
	b = decode.AppendString(b, "k")
	return decode.AppendString(b, "v")
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// BenchmarkFilterRaw is BenchmarkFilterChunk for records a `tail` input
// with a JSON parser produces (the record is the event): the case where
// most records can be written as they came. pipeline is the same work
// without writing records, so the difference is the filter's own.
func BenchmarkFilterRaw(b *testing.B) {
	s := e2e.Generate(2000, 3, time.Now(), time.Hour)
	data := encodeChunk(b, s.Events, chunk.Options{Format: chunk.FormatV2})
	in := newInstance(b, config.MapGetter{})
	b.Run("filter", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			in.Chunk(data, "t", func([]byte) {})
		}
		reportPerEvent(b, cpu0, len(s.Events))
	})
	b.Run("pipeline", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			in.Pipeline.Chunk(data, func(*pipeline.Event) {})
		}
		reportPerEvent(b, cpu0, len(s.Events))
	})
}

// BenchmarkWrite is the filter's own share alone, processed events to
// records, for the generator's mixed shapes and for raw records:
// reencode writes every event anew (appendRecord), ascame is what Filter
// does (appendEvent).
func BenchmarkWrite(b *testing.B) {
	s := e2e.Generate(2000, 3, time.Now(), time.Hour)
	for _, mix := range []struct {
		name    string
		records []map[string]any
	}{{"mixed", e2e.Shapes(s.Events)}, {"raw", s.Events}} {
		in := newInstance(b, config.MapGetter{})
		var evs []pipeline.Event
		keeping(b, in).Chunk(encodeChunk(b, mix.records, chunk.Options{Format: chunk.FormatV2}), func(ev *pipeline.Event) { evs = append(evs, *ev) })
		for _, w := range []struct {
			name  string
			write func([]byte, *pipeline.Event) []byte
		}{
			{"reencode", appendRecord},
			{"ascame", func(b []byte, ev *pipeline.Event) []byte { b, _ = appendEvent(b, ev); return b }},
		} {
			b.Run(mix.name+"/"+w.name, func(b *testing.B) {
				b.ReportAllocs()
				var out []byte
				cpu0 := cpuTime()
				for b.Loop() {
					out = out[:0]
					for i := range evs {
						out = w.write(out, &evs[i])
					}
				}
				reportPerEvent(b, cpu0, len(evs))
			})
		}
	}
}

// reportPerEvent reports wall and CPU time per event; CPU time (getrusage,
// every thread) is what a machine shared with other work inflates least.
func reportPerEvent(b *testing.B, cpu0 time.Duration, events int) {
	n := float64(b.N * events)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/n, "cpu-ns/event")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
