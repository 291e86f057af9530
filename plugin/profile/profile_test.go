package profile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The profile runs from the first Start to the last Stop and is a gzip'd
// pprof file; without the variable nothing happens.
func TestStartStop(t *testing.T) {
	reset := func() { live, file, done = 0, nil, false }
	t.Cleanup(reset)

	t.Setenv(Env, "")
	if err := Start(); err != nil || Active() {
		t.Fatalf("without %s: err=%v active=%v", Env, err, Active())
	}
	if err := Stop(); err != nil {
		t.Fatal(err)
	}
	reset()

	path := filepath.Join(t.TempDir(), "cpu.pprof")
	t.Setenv(Env, path)
	for range 2 { // two instances
		if err := Start(); err != nil {
			t.Fatal(err)
		}
	}
	spin(50 * time.Millisecond)
	if err := Stop(); err != nil || !Active() {
		t.Fatalf("after the first of two stops: err=%v active=%v, want still profiling", err, Active())
	}
	if err := Stop(); err != nil || Active() {
		t.Fatalf("after the last stop: err=%v active=%v", err, Active())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Fatalf("profile is not a gzip'd pprof file (%d bytes)", len(b))
	}
	// A later instance in the same process does not overwrite it.
	if err := Start(); err != nil || Active() {
		t.Fatalf("second profile: err=%v active=%v", err, Active())
	}
}

func TestUnwritable(t *testing.T) {
	t.Cleanup(func() { live, file, done = 0, nil, false })
	t.Setenv(Env, filepath.Join(t.TempDir(), "missing", "cpu.pprof"))
	err := Start()
	if err == nil || !strings.Contains(err.Error(), Env) {
		t.Fatalf("err = %v, want one naming %s", err, Env)
	}
	if err := Flush(); err != nil {
		t.Fatal(err)
	}
}

func spin(d time.Duration) {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		x++
	}
	_ = x
}
