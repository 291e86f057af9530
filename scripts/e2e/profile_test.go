package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/profile"
)

// Profiling the .so where it runs: $KAUDIT_CPUPROFILE in the host's
// environment leaves a CPU profile when the plugin exits (output and
// filter), and `pprof on` serves /debug/pprof/ on the metrics listener
// while the plugin is loaded.
func TestProfileInHost(t *testing.T) {
	need(t)
	dir := t.TempDir()
	end, span := window()
	s := Generate(300, 12, end, span)
	chunks, err := WriteChunks(dir, "p", s.Events, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "out.pprof")
	t.Setenv(profile.Env, out)
	run, err := art.RunHost(HostOptions{}, []map[string]string{{"url": shared.PushURL(), "tenant_id": "profile"}}, chunks)
	if err != nil || run.Exit != 0 {
		t.Fatalf("host: %v exit %d\n%s", err, run.Exit, run.Stderr)
	}
	isProfile(t, out)

	filtered := filepath.Join(dir, "filtered")
	if err := os.MkdirAll(filtered, 0o755); err != nil {
		t.Fatal(err)
	}
	fout := filepath.Join(dir, "filter.pprof")
	t.Setenv(profile.Env, fout)
	fr, err := art.RunFilter("", []map[string]string{{"match": "*"}}, chunks, filtered)
	if err != nil || fr.Exit != 0 {
		t.Fatalf("filter host: %v exit %d\n%s", err, fr.Exit, fr.Stderr)
	}
	isProfile(t, fout)
	t.Setenv(profile.Env, "")

	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	done := make(chan *HostRun, 1)
	go func() {
		run, _ := art.RunHost(HostOptions{Linger: 5 * time.Second}, []map[string]string{
			{"url": shared.PushURL(), "tenant_id": "profile", "metrics_listen": addr, "pprof": "on"},
		}, chunks)
		done <- run
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/debug/pprof/")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
				t.Fatalf("/debug/pprof/: %d\n%.300s", resp.StatusCode, body)
			}
			break
		}
		select {
		case run := <-done:
			t.Fatalf("host ended before /debug/pprof/ answered:\n%s", run.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/debug/pprof/ never answered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if run := <-done; run == nil || run.Exit != 0 {
		t.Fatalf("host with pprof on failed")
	}
}

func isProfile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no profile written: %v", err)
	}
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Fatalf("%s is not a gzip'd pprof profile (%d bytes)", path, len(b))
	}
}
