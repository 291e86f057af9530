// Package profile takes a CPU profile of a kaudit .so inside the process
// that loaded it (Fluent Bit, or the C host), where `go test -cpuprofile`
// cannot reach: cgo transitions, the Go runtime sharing the process with
// Fluent Bit's threads and the real chunk sizes all show up only there.
//
// It is opt-in through the environment, so a production configuration
// never profiles by accident:
//
//	KAUDIT_CPUPROFILE=/tmp/kaudit.pprof fluent-bit -e out_kaudit.so -c …
//
// The profile starts with the first instance and is written when the last
// one exits (Fluent Bit's exit callbacks), then read with
// `go tool pprof build/out_kaudit.so /tmp/kaudit.pprof`. A `.so` built with
// `-ldflags -s` keeps the function names pprof needs (Go's own symbol table).
package profile

import (
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
)

// Env names the file the CPU profile is written to.
const Env = "KAUDIT_CPUPROFILE"

var (
	mu   sync.Mutex
	live int // instances started and not yet stopped
	file *os.File
	done bool // one profile per process: a second one would overwrite the first
)

// Start is called once per instance at init. The first call starts the CPU
// profile if $KAUDIT_CPUPROFILE names a file; an error (unwritable path,
// a profile already running) is returned for one log line and never stops
// the plugin.
func Start() error {
	mu.Lock()
	defer mu.Unlock()
	live++
	path := os.Getenv(Env)
	if path == "" || file != nil || done {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%s: %w", Env, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", Env, err)
	}
	file = f
	return nil
}

// Stop is called once per instance at exit; the last one writes the
// profile out.
func Stop() error {
	mu.Lock()
	defer mu.Unlock()
	if live > 0 {
		live--
	}
	if live > 0 {
		return nil
	}
	return flush()
}

// Flush writes the profile out now, whatever instances remain (the plugin
// is being unloaded).
func Flush() error {
	mu.Lock()
	defer mu.Unlock()
	return flush()
}

func flush() error {
	if file == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := file.Close()
	file, done = nil, true
	return err
}

// Active reports whether a profile is being taken.
func Active() bool {
	mu.Lock()
	defer mu.Unlock()
	return file != nil
}
