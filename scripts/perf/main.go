// Command perf is `make perf`: an end-to-end throughput run of the built
// plugins in the Fluent Bit host against a real Loki. It generates
// realistic audit events (the e2e sample generator), writes them as Fluent
// Bit chunks in the two record forms a `tail` input produces — parsed
// records (tail + json parser) and raw lines (`{"log": "<line>"}`, tail
// without a parser) — flushes each through build/out_kaudit.so into Loki,
// runs the parsed chunks through build/flb-filter_kaudit.so alone, and
// prints events/s and the host process's CPU per event (user+system from
// getrusage of the child). Loki runs in its own process, so its work is
// not counted; the host's own share (reading chunk files, the C side) is,
// as Fluent Bit's would be.
//
// With -cpuprofile DIR each run also writes a CPU profile of the plugin
// (KAUDIT_CPUPROFILE) to DIR/<run>.pprof, for `go tool pprof`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/profile"
	"github.com/kaudit/kaudit/scripts/e2e"
)

func main() {
	so := flag.String("so", "build/out_kaudit.so", "the built output plugin")
	filter := flag.String("filter", "build/flb-filter_kaudit.so", "the built filter plugin")
	host := flag.String("host", "build/flbhost", "the C Fluent Bit host")
	n := flag.Int("n", 100000, "audit events to generate")
	per := flag.Int("per", 512, "records per chunk")
	workers := flag.Int("workers", 1, "output workers (flushes in parallel)")
	runs := flag.Int("runs", 3, "runs of each configuration; the median is printed")
	prof := flag.String("cpuprofile", "", "directory for a CPU profile of each configuration's first run")
	only := flag.String("only", "", "comma-separated configurations to run (parsed, rawline, filter); empty: all")
	bd := flag.String("breakdown", "", "only print the stage breakdown of this CPU profile (taken over -n events) and exit")
	flag.Parse()
	if *bd != "" {
		if err := Breakdown(os.Stdout, *bd, *n); err != nil {
			fmt.Fprintln(os.Stderr, "perf:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*so, *filter, *host, *n, *per, *workers, *runs, *prof, *only); err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

type result struct {
	name    string
	events  int
	wall    []time.Duration
	cpu     []time.Duration
	profile string
	so      string // the plugin profiled
}

func run(so, filter, host string, n, per, workers, runs int, prof, only string) error {
	dir, err := os.MkdirTemp("", "kaudit-perf-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	want := func(name string) bool { return only == "" || strings.Contains(","+only+",", ","+name+",") }

	end := time.Now().Truncate(time.Second)
	sample := e2e.Generate(n, 1, end, 30*time.Minute)
	parsed := sample.Events
	raw := make([]map[string]any, len(parsed))
	var lineBytes int
	for i, ev := range parsed {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		lineBytes += len(b)
		raw[i] = map[string]any{"log": string(b)}
	}
	opts := chunk.Options{Format: chunk.FormatV2, Time: chunk.TimeEventTime}
	parsedChunks, err := e2e.WriteChunks(dir, "parsed", parsed, per, opts)
	if err != nil {
		return err
	}
	rawChunks, err := e2e.WriteChunks(dir, "rawline", raw, per, opts)
	if err != nil {
		return err
	}
	fmt.Printf("%d events (%.0f bytes of JSON each on average), %d chunks of %d records per form\n", n, float64(lineBytes)/float64(n), len(parsedChunks), per)

	var loki *e2e.Loki
	if want("parsed") || want("rawline") {
		if loki, err = e2e.StartLoki(dir); err != nil {
			return err
		}
		defer loki.Stop()
	}
	art := e2e.Artifacts{Plugin: so, Filter: filter, Host: host}
	var results []*result
	profileTo := func(name string, i int) string {
		if prof == "" || i > 0 {
			os.Unsetenv(profile.Env)
			return ""
		}
		p, _ := filepath.Abs(filepath.Join(prof, name+".pprof"))
		os.Setenv(profile.Env, p)
		return p
	}
	if err := os.MkdirAll(prof, 0o755); prof != "" && err != nil {
		return err
	}
	for _, c := range []struct {
		name   string
		chunks []string
	}{{"parsed", parsedChunks}, {"rawline", rawChunks}} {
		if !want(c.name) {
			continue
		}
		r := &result{name: "output, " + c.name + " records", events: n, so: so}
		for i := range runs {
			r.profile = firstNonEmpty(r.profile, profileTo(c.name, i))
			// A tenant per run: Loki sees every run as new data, never as
			// a resend of the previous run's entries.
			start := time.Now()
			hr, err := art.RunHost(e2e.HostOptions{Workers: workers}, []map[string]string{{
				"url": loki.PushURL(), "tenant_id": fmt.Sprintf("perf-%s-%d", c.name, i), "labels": "job=kube-audit,cluster=perf",
			}}, c.chunks)
			took := time.Since(start)
			if err != nil {
				return err
			}
			if hr.Exit != 0 || hr.OK != len(c.chunks) {
				return fmt.Errorf("%s: host exit %d, %d of %d chunks OK:\n%s", c.name, hr.Exit, hr.OK, len(c.chunks), tail(hr.Stderr))
			}
			r.wall, r.cpu = append(r.wall, took), append(r.cpu, hr.CPU)
		}
		results = append(results, r)
	}
	if want("filter") {
		r := &result{name: "filter alone, parsed records", events: n, so: filter}
		for i := range runs {
			r.profile = firstNonEmpty(r.profile, profileTo("filter", i))
			out := filepath.Join(dir, fmt.Sprintf("filtered-%d", i))
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			start := time.Now()
			fr, err := art.RunFilter("", []map[string]string{{"match": "*"}}, parsedChunks, out)
			took := time.Since(start)
			if err != nil {
				return err
			}
			if fr.Exit != 0 || len(fr.Out) != len(parsedChunks) {
				return fmt.Errorf("filter: host exit %d, %d of %d chunks out:\n%s", fr.Exit, len(fr.Out), len(parsedChunks), tail(fr.Stderr))
			}
			r.wall, r.cpu = append(r.wall, took), append(r.cpu, fr.CPU)
			os.RemoveAll(out)
		}
		results = append(results, r)
	}
	os.Unsetenv(profile.Env)

	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%s/%s, %d CPUs, %s; load average %s; median of %d runs, workers=%d\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), strings.Join(strings.Fields(string(load))[:3], " "), runs, workers)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "configuration\tevents/s (wall)\tCPU µs/event (host process)\tCPU µs/event, every run\t")
	for _, r := range results {
		var each []string
		for _, c := range r.cpu {
			each = append(each, fmt.Sprintf("%.1f", us(c, r.events)))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%s\t\n", r.name, float64(r.events)/median(r.wall).Seconds(), us(median(r.cpu), r.events), strings.Join(each, " "))
	}
	tw.Flush()
	for _, r := range results {
		if r.profile != "" {
			fmt.Printf("\nprofile of %s: %s (go tool pprof %s %s)\n", r.name, r.profile, r.so, r.profile)
			if err := Breakdown(os.Stdout, r.profile, r.events); err != nil {
				return err
			}
		}
	}
	return nil
}

func us(d time.Duration, events int) float64 { return float64(d.Microseconds()) / float64(events) }

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown CPU"
}
