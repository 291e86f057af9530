package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/testdata"
)

// Artifacts are the built plugin, the C Fluent Bit host and the command.
type Artifacts struct {
	Plugin string // out_kaudit.so
	Filter string // flb-filter_kaudit.so
	Host   string // flbhost
	Cmd    string // kaudit
}

// Build returns the artifacts `make` built when $KAUDIT_SO and
// $KAUDIT_FLBHOST name them (as `make test` does), else builds them into dir
// with the Makefile's own commands.
func Build(dir string) (Artifacts, error) {
	a := Artifacts{Plugin: os.Getenv("KAUDIT_SO"), Filter: os.Getenv("KAUDIT_FILTER_SO"), Host: os.Getenv("KAUDIT_FLBHOST"), Cmd: os.Getenv("KAUDIT_CMD")}
	if a.Plugin != "" && a.Filter != "" && a.Host != "" && a.Cmd != "" {
		return a, nil
	}
	a = Artifacts{Plugin: filepath.Join(dir, "out_kaudit.so"), Filter: filepath.Join(dir, "flb-filter_kaudit.so"), Host: filepath.Join(dir, "flbhost"), Cmd: filepath.Join(dir, "kaudit")}
	return a, Make(dir, a.Plugin, a.Filter, a.Host, a.Cmd)
}

// Make runs the Makefile's own commands with BUILD=dir and extra variables
// (e.g. FLB_VERSION=3.0), building the named targets.
func Make(dir string, args ...string) error {
	root, err := testdata.Root()
	if err != nil {
		return err
	}
	cmd := exec.Command("make", append([]string{"-s", "BUILD=" + dir}, args...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make: %v\n%s", err, out)
	}
	return nil
}

// WriteChunks encodes records into Fluent Bit chunk files of at most per
// records each and returns their paths.
func WriteChunks(dir, prefix string, records []map[string]any, per int, opts chunk.Options) ([]string, error) {
	var paths []string
	for i := 0; i < len(records); i += per {
		var buf bytes.Buffer
		if err := chunk.Encode(&buf, records[i:min(i+per, len(records))], opts); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, fmt.Sprintf("%s-%04d.msgpack", prefix, len(paths)+1))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// HostRun is what the host printed.
type HostRun struct {
	Flushes []Flush
	OK      int
	Retried int
	Failed  int
	Stderr  string // plugin and host logs
	Exit    int
	CPU     time.Duration // the host process's user+system CPU (getrusage of the child)
}

// Flush is one flush attempt the host made.
type Flush struct {
	Instance int
	Chunk    string
	Attempt  int
	RC       string
}

// HostOptions are the host's flags.
type HostOptions struct {
	ABI       int // Fluent Bit major version whose ABI to emulate (3, 4, 5)
	Workers   int
	Retries   int
	RetryWait time.Duration
	Tag       string
	// Filters are [FILTER] kaudit instances (flb-filter_kaudit.so, loaded
	// in the same process) that every chunk goes through before the output.
	Filters []map[string]string
	// Linger keeps the plugin loaded this long after the last flush, before
	// the exit callbacks, so its metrics can be scraped.
	Linger time.Duration
	// Reloads runs Fluent Bit's hot reload this many times: the plugin is
	// exited, unregistered and loaded again in the same process, and each
	// round flushes its share of the chunks.
	Reloads int
}

// RunHost loads the plugin in the C host with one instance per property
// set and flushes every chunk to every instance.
func (a Artifacts) RunHost(opt HostOptions, instances []map[string]string, chunks []string) (*HostRun, error) {
	var args []string
	if opt.ABI != 0 {
		args = append(args, "--abi", fmt.Sprint(opt.ABI))
	}
	if opt.Workers != 0 {
		args = append(args, "--workers", fmt.Sprint(opt.Workers))
	}
	if opt.Retries != 0 {
		args = append(args, "--retries", fmt.Sprint(opt.Retries))
	}
	if opt.RetryWait != 0 {
		args = append(args, "--retry-wait", fmt.Sprint(opt.RetryWait.Milliseconds()))
	}
	if opt.Linger != 0 {
		args = append(args, "--linger", fmt.Sprint(opt.Linger.Milliseconds()))
	}
	if opt.Reloads != 0 {
		args = append(args, "--reload", fmt.Sprint(opt.Reloads))
	}
	if opt.Tag != "" {
		args = append(args, "--tag", opt.Tag)
	}
	if len(opt.Filters) > 0 {
		args = appendInstances(append(args, "--filter", a.Filter), opt.Filters)
	}
	args = appendInstances(append(args, a.Plugin), instances)
	args = append(args, "--")
	args = append(args, chunks...)
	stdout, h, err := a.runHost(args)
	if err != nil {
		return nil, err
	}
	run := &HostRun{Stderr: h.stderr, CPU: h.cpu, Exit: h.exit}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := fields(sc.Text())
		switch {
		case strings.HasPrefix(sc.Text(), "flush "):
			var fl Flush
			fmt.Sscan(f["instance"], &fl.Instance)
			fmt.Sscan(f["attempt"], &fl.Attempt)
			fl.Chunk, fl.RC = f["chunk"], f["rc"]
			run.Flushes = append(run.Flushes, fl)
		case strings.HasPrefix(sc.Text(), "summary "):
			fmt.Sscan(f["ok"], &run.OK)
			fmt.Sscan(f["retried"], &run.Retried)
			fmt.Sscan(f["failed"], &run.Failed)
		}
	}
	return run, nil
}

// appendInstances writes one `-o key=value` group per instance, separated
// by --instance, keys sorted.
func appendInstances(args []string, instances []map[string]string) []string {
	for i, props := range instances {
		if i > 0 {
			args = append(args, "--instance")
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			args = append(args, "-o", k+"="+props[k])
		}
	}
	return args
}

func fields(line string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].Time.Equal(es[j].Time) {
			return es[i].Time.Before(es[j].Time)
		}
		return es[i].Line < es[j].Line
	})
}

// FilterRun is what the host printed when running the filter.
type FilterRun struct {
	Load   string            // the "load" line: symbol, name, struct size, layout
	Inits  []int             // cb_init return code per instance
	Out    map[string]string // chunk path -> file holding the filtered chunk
	RC     []string          // cb_filter results, in call order
	Stderr string
	Exit   int
	CPU    time.Duration // the host process's user+system CPU
}

// RunFilter loads the filter through the host's C plugin loader path with
// one instance per property set (each needs a match, as in Fluent Bit),
// runs every chunk through the instances in order and writes the result of
// each chunk to outDir. abi is the Fluent Bit version whose struct layout
// the host expects ("3.0", "3.2", "4", "5"; "" for the newest).
func (a Artifacts) RunFilter(abi string, instances []map[string]string, chunks []string, outDir string) (*FilterRun, error) {
	return a.runFilter(a.Filter, abi, instances, chunks, outDir)
}

func (a Artifacts) runFilter(so, abi string, instances []map[string]string, chunks []string, outDir string) (*FilterRun, error) {
	var args []string
	if abi != "" {
		args = append(args, "--abi", abi)
	}
	args = appendInstances(append(args, "--filter-out", outDir, so), instances)
	args = append(append(args, "--"), chunks...)
	stdout, h, err := a.runHost(args)
	if err != nil {
		return nil, err
	}
	run := &FilterRun{Stderr: h.stderr, CPU: h.cpu, Exit: h.exit, Out: map[string]string{}}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		f := fields(line)
		switch {
		case strings.HasPrefix(line, "load "):
			run.Load = line
		case strings.HasPrefix(line, "init "):
			var rc int
			fmt.Sscan(f["rc"], &rc)
			run.Inits = append(run.Inits, rc)
		case strings.HasPrefix(line, "filter "):
			run.RC = append(run.RC, f["rc"])
		case strings.HasPrefix(line, "out "):
			run.Out[f["chunk"]] = f["file"]
		}
	}
	return run, nil
}

// FilterAs is RunFilter with another build of the filter (another FLB_VERSION).
func (a Artifacts) FilterAs(so, abi string, instances []map[string]string, chunks []string, outDir string) (*FilterRun, error) {
	return a.runFilter(so, abi, instances, chunks, outDir)
}

// hostExit is what a host run left besides its standard output.
type hostExit struct {
	stderr string
	cpu    time.Duration
	exit   int
}

// runHost runs the host with args; an error only when it could not run at
// all (a non-zero exit is the caller's to judge).
func (a Artifacts) runHost(args []string) (*bytes.Buffer, hostExit, error) {
	cmd := exec.Command(a.Host, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	h := hostExit{stderr: stderr.String()}
	if ps := cmd.ProcessState; ps != nil {
		h.cpu = ps.UserTime() + ps.SystemTime()
	}
	if ee, ok := err.(*exec.ExitError); ok {
		h.exit = ee.ExitCode()
	} else if err != nil {
		return nil, h, err
	}
	return &stdout, h, nil
}
