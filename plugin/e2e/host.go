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

	"github.com/kaudit/kaudit/plugin/decode"
)

// Artifacts are the built plugin, the C Fluent Bit host and the command.
type Artifacts struct {
	Plugin string // out_kaudit.so
	Host   string // flbhost
	Cmd    string // kaudit
}

// Build returns the artifacts `make` built when $KAUDIT_SO and
// $KAUDIT_FLBHOST name them (as `make test` does), else builds them into dir
// with the Makefile's own commands.
func Build(dir string) (Artifacts, error) {
	a := Artifacts{Plugin: os.Getenv("KAUDIT_SO"), Host: os.Getenv("KAUDIT_FLBHOST"), Cmd: os.Getenv("KAUDIT_CMD")}
	if a.Plugin != "" && a.Host != "" && a.Cmd != "" {
		return a, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return a, err
	}
	cmd := exec.Command("make", "-s", "BUILD="+dir, filepath.Join(dir, "out_kaudit.so"), filepath.Join(dir, "flbhost"), filepath.Join(dir, "kaudit"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return a, fmt.Errorf("make: %v\n%s", err, out)
	}
	return Artifacts{Plugin: filepath.Join(dir, "out_kaudit.so"), Host: filepath.Join(dir, "flbhost"), Cmd: filepath.Join(dir, "kaudit")}, nil
}

// WriteChunks encodes records into Fluent Bit chunk files of at most per
// records each and returns their paths.
func WriteChunks(dir, prefix string, records []map[string]any, per int, opts decode.EncodeOptions) ([]string, error) {
	var paths []string
	for i := 0; i < len(records); i += per {
		var buf bytes.Buffer
		if err := decode.EncodeChunk(&buf, records[i:min(i+per, len(records))], opts); err != nil {
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
	// Linger keeps the plugin loaded this long after the last flush, before
	// the exit callbacks, so its metrics can be scraped.
	Linger time.Duration
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
	if opt.Tag != "" {
		args = append(args, "--tag", opt.Tag)
	}
	args = append(args, a.Plugin)
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
	args = append(args, "--")
	args = append(args, chunks...)
	cmd := exec.Command(a.Host, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	run := &HostRun{Stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		run.Exit = ee.ExitCode()
	} else if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(&stdout)
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
