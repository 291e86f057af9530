package pipeline_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/loki"
	. "github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// BenchmarkChunkRawLine is BenchmarkChunk's routine mix as `tail` without a
// parser hands it over: every record {"log": "<the event as a JSON line>"}.
func BenchmarkChunkRawLine(b *testing.B) {
	s := e2e.Generate(1000, 1, time.Now(), time.Hour)
	records := make([]map[string]any, len(s.Events))
	for i, ev := range s.Events {
		line, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		records[i] = map[string]any{"log": string(line)}
	}
	data := chunk(b, records, fbchunk.Options{})
	p := withPolicy(b, "", detect.High)
	c, _ := config.Parse(config.MapGetter{})
	eb := loki.NewEntries(c)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Chunk(data, func(ev *Event) { eb.Build(ev) })
	}
	b.StopTimer()
	perEvent := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(s.Events))
	b.ReportMetric(perEvent, "ns/event")
	b.ReportMetric(1e9/perEvent, "events/s")
	b.ReportMetric(0, "ns/op")
}
