package pipeline_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/internal/poison"
	"github.com/kaudit/kaudit/plugin/loki"
	. "github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// BenchmarkHotPath is BenchmarkChunk's routine mix (the e2e generator,
// full rule set and redactor, Loki entries gathered in a batch as a flush
// does) in the record forms a `tail` input produces: parsed records (raw),
// the same with every other shape mixed in, and raw lines ({"log": "<the
// event as JSON>"}, tail without a parser). An iteration is a chunk of
// 1 000 events, taken in turn from hotChunks chunks of different events,
// so that what is unique to an event in a real log (its auditID, its
// timestamps, the names it creates) is not met again a few thousand
// events later, where memos would remember it. Besides wall time it
// reports the process's CPU time per event (getrusage: every thread, so
// the GC's too), which a machine shared with other work inflates far less
// than wall time.
func BenchmarkHotPath(b *testing.B) {
	productionMemory(b)
	const perChunk = 1000
	s := e2e.Generate(hotChunks*perChunk, 1, benchStart, time.Hour)
	type form struct {
		name   string
		record func([]map[string]any) []map[string]any
	}
	for _, f := range []form{
		{"raw", func(evs []map[string]any) []map[string]any { return evs }},
		{"mixed-shapes", e2e.Shapes},
		{"rawline", func(evs []map[string]any) []map[string]any {
			lines, err := e2e.Lines(evs)
			if err != nil {
				b.Fatal(err)
			}
			return lines
		}},
	} {
		b.Run(f.name, func(b *testing.B) {
			var chunks [hotChunks][]byte
			size := 0
			for i := range chunks {
				chunks[i] = chunk(b, f.record(s.Events[i*perChunk:(i+1)*perChunk]), fbchunk.Options{})
				size += len(chunks[i])
			}
			p := withPolicy(b, "", detect.High)
			p.ReuseTrees() // AddTo renders each event into the batch
			c, _ := config.Parse(config.MapGetter{})
			eb := loki.NewEntries(c)
			b.SetBytes(int64(size / hotChunks))
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// As a flush does: the chunk's entries gathered in one
				// batch (its arena), which delivery would then encode,
				// and its memory handed back for the next.
				var bt loki.Batch
				p.Chunk(chunks[i%hotChunks], func(ev *Event) { eb.AddTo(&bt, ev) })
				bt.Release()
			}
			b.StopTimer()
			events := float64(b.N * perChunk)
			perEvent := float64(b.Elapsed().Nanoseconds()) / events
			b.ReportMetric(perEvent, "ns/event")
			b.ReportMetric(1e9/perEvent, "events/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/events, "cpu-ns/event")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// hotChunks is how many chunks of different events BenchmarkHotPath
// takes in turn: 16 000 events, whose unique strings are three times
// the redactor's verdict table.
const hotChunks = 16

// benchStart is when the benchmarks' generated events happen: a fixed
// time, not the clock's, so that two runs count the same work. Times are
// text like any other to the redactor (a microsecond field ending in 7
// puts "7Z" in a timestamp, a keyword of a command's pattern).
var benchStart = time.Date(2026, 3, 2, 9, 30, 0, 250000, time.UTC)

// productionMemory turns off, for one benchmark, the poisoning test
// binaries do to memory handed back for reuse: the benchmark measures the
// path as the plugin runs it.
func productionMemory(b *testing.B) {
	on := poison.On
	poison.On = false
	b.Cleanup(func() { poison.On = on })
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
