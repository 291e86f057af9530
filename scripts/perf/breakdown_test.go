package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// A sample goes to the innermost frame that names a stage: allocation
// inside decode is decode's, snappy inside the client is snappy's, a
// runtime-only stack is the runtime's.
func TestBreakdown(t *testing.T) {
	fn := map[string]*profile.Function{}
	loc := func(names ...string) []*profile.Location {
		var ls []*profile.Location
		for _, n := range names { // leaf first
			f := fn[n]
			if f == nil {
				f = &profile.Function{ID: uint64(len(fn) + 1), Name: n}
				fn[n] = f
			}
			ls = append(ls, &profile.Location{ID: uint64(len(fn)*100 + len(ls) + 1), Line: []profile.Line{{Function: f}}})
		}
		return ls
	}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Value: []int64{1, 3000}, Location: loc("runtime.mallocgc", "github.com/kaudit/kaudit/plugin/decode.(*reader).readMap", "github.com/kaudit/kaudit/plugin/pipeline.(*Pipeline).Chunk", "runtime.cgocallback")},
			{Value: []int64{1, 1000}, Location: loc("github.com/klauspost/compress/s2.encodeBlockAsm", "github.com/kaudit/kaudit/plugin/loki.encodeBody", "github.com/kaudit/kaudit/plugin/loki.(*Client).send")},
			{Value: []int64{1, 1000}, Location: loc("runtime.scanobject", "runtime.gcBgMarkWorker")},
		},
	}
	for _, f := range fn {
		p.Function = append(p.Function, f)
	}
	for _, s := range p.Sample {
		p.Location = append(p.Location, s.Location...)
	}
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var out bytes.Buffer
	if err := Breakdown(&out, path, 1); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"decode (msgpack, record shapes)  60.0%", "snappy  20.0%", "runtime: GC (background)  20.0%", "total in Go (profiled)   100%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("breakdown lacks %q:\n%s", want, out.String())
		}
	}
}
