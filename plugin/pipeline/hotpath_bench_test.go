package pipeline_test

import (
	"encoding/json"
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
// does) in the record forms a
// `tail` input produces: parsed records (raw), the same with every other
// shape mixed in, and raw lines ({"log": "<the event as JSON>"}, tail
// without a parser). Besides wall time it reports the process's CPU time
// per event (getrusage: every thread, so the GC's too), which a machine
// shared with other work inflates far less than wall time.
func BenchmarkHotPath(b *testing.B) {
	productionMemory(b)
	s := e2e.Generate(1000, 1, time.Now(), time.Hour)
	lines := make([]map[string]any, len(s.Events))
	for i, ev := range s.Events {
		line, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		lines[i] = map[string]any{"log": string(line)}
	}
	for _, bc := range []struct {
		name    string
		records []map[string]any
	}{{"raw", s.Events}, {"mixed-shapes", e2e.Shapes(s.Events)}, {"rawline", lines}} {
		b.Run(bc.name, func(b *testing.B) {
			data := chunk(b, bc.records, fbchunk.Options{})
			p := withPolicy(b, "", detect.High)
			p.ReuseTrees() // AddTo renders each event into the batch
			c, _ := config.Parse(config.MapGetter{})
			eb := loki.NewEntries(c)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// As a flush does: the chunk's entries gathered in one
				// batch (its arena), which delivery would then encode,
				// and its memory handed back for the next.
				var bt loki.Batch
				p.Chunk(data, func(ev *Event) { eb.AddTo(&bt, ev) })
				bt.Release()
			}
			b.StopTimer()
			events := float64(b.N * len(s.Events))
			perEvent := float64(b.Elapsed().Nanoseconds()) / events
			b.ReportMetric(perEvent, "ns/event")
			b.ReportMetric(1e9/perEvent, "events/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/events, "cpu-ns/event")
			b.ReportMetric(0, "ns/op")
		})
	}
}

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
