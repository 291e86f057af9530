package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/google/pprof/profile"
)

// A stage of the hot path and the function-name prefixes that belong to it.
// A sample goes to the innermost frame that names a stage, so allocation
// and GC assist inside a stage count for that stage; runtime frames with no
// stage above them are the runtime's own (background GC, scheduler) or cgo.
var stages = []struct {
	name     string
	prefixes []string
}{
	{"raw line JSON (into the tree)", []string{"github.com/kaudit/kaudit/plugin/decode.parseObject", "github.com/kaudit/kaudit/plugin/decode.scanObject", "github.com/kaudit/kaudit/plugin/decode.(*scanner)", "github.com/json-iterator/", "github.com/modern-go/"}},
	{"decode (msgpack, record shapes)", []string{"github.com/kaudit/kaudit/plugin/decode."}},
	{"detect", []string{"github.com/kaudit/kaudit/detect."}},
	{"policy", []string{"github.com/kaudit/kaudit/redact/policy."}},
	{"redact", []string{"github.com/kaudit/kaudit/redact."}},
	{"line encoding (event → JSON)", []string{"github.com/kaudit/kaudit/plugin/pipeline.Line", "github.com/kaudit/kaudit/plugin/pipeline.append", "github.com/kaudit/kaudit/plugin/pipeline.writeScreened"}},
	{"entries (labels, metadata)", []string{"github.com/kaudit/kaudit/plugin/loki.(*Entries)", "github.com/kaudit/kaudit/plugin/loki.(*Batch).Add"}},
	{"pipeline glue", []string{"github.com/kaudit/kaudit/plugin/pipeline."}},
	{"filter re-encoding (msgpack out)", []string{"github.com/kaudit/kaudit/plugin/filter/instance."}},
	{"protobuf", []string{"github.com/grafana/loki/pkg/push.", "github.com/kaudit/kaudit/plugin/loki.marshalRequest", "github.com/kaudit/kaudit/plugin/loki.put", "github.com/kaudit/kaudit/plugin/loki.requestSize", "github.com/kaudit/kaudit/plugin/loki.streamSize", "github.com/kaudit/kaudit/plugin/loki.pbEntrySize", "github.com/kaudit/kaudit/plugin/loki.labelSize", "github.com/kaudit/kaudit/plugin/loki.timestamp", "github.com/kaudit/kaudit/plugin/loki.stringField", "github.com/kaudit/kaudit/plugin/loki.field", "github.com/kaudit/kaudit/plugin/loki.sov"}},
	{"snappy", []string{"github.com/golang/snappy.", "github.com/klauspost/compress/"}},
	{"HTTP (client, TCP)", []string{"net/http.", "net.", "net/", "internal/poll.", "bufio.", "syscall.", "internal/runtime/syscall", "crypto/"}},
	{"delivery glue (batching, split)", []string{"github.com/kaudit/kaudit/plugin/loki.", "github.com/kaudit/kaudit/plugin/output"}},
	{"runtime: GC (background)", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcMarkDone", "runtime.forEachP"}},
	{"runtime: scheduler", []string{"runtime.mcall", "runtime.schedule", "runtime.findRunnable", "runtime.park_m", "runtime.goexit0"}},
	{"C (the host's own code, libc)", []string{"runtime._ExternalCode"}},
	{"cgo transitions", []string{"runtime.cgocallback", "runtime.cgocall", "crosscall2", "_cgoexp_", "runtime.asmcgocall", "runtime.needm", "runtime.dropm"}},
}

// Breakdown prints the CPU profile at path split by stage, as a share of
// the profile and as µs per event.
func Breakdown(w io.Writer, path string, events int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return err
	}
	vi := len(p.SampleType) - 1 // cpu nanoseconds
	by := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		by[classify(s)] += v
	}
	type row struct {
		name string
		ns   int64
	}
	var rows []row
	for k, v := range by {
		rows = append(rows, row{k, v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ns > rows[j].ns })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "stage\tshare\tµs/event\t\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.2f\t\n", r.name, 100*float64(r.ns)/float64(total), float64(r.ns)/1e3/float64(events))
	}
	fmt.Fprintf(tw, "total in Go (profiled)\t100%%\t%.2f\t\n", float64(total)/1e3/float64(events))
	return tw.Flush()
}

func classify(s *profile.Sample) string {
	// Location[0] is the leaf; walk from the leaf outwards.
	for _, loc := range s.Location {
		for _, line := range loc.Line { // inlined frames: innermost first
			if line.Function == nil {
				continue
			}
			name := line.Function.Name
			for _, st := range stages {
				for _, pre := range st.prefixes {
					if strings.HasPrefix(name, pre) {
						return st.name
					}
				}
			}
		}
	}
	return "runtime: other"
}
