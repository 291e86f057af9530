package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With Loki unreachable the input is read to the end at once; the bar
// must show what Loki acknowledged (nothing), not what was read.
func TestPushProgressIsDelivery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	in := filepath.Join(t.TempDir(), "audit.log")
	ev := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"x","name":"y"},"stageTimestamp":"2026-01-01T00:00:00Z"}`
	os.WriteFile(in, []byte(ev+"\n"), 0o644)
	code, _, errOut := runT(t, "push", "--url", "http://"+addr+"/loki/api/v1/push", "--max-retries", "0", "--progress", in)
	if code != 1 {
		t.Fatalf("code %d\n%s", code, errOut)
	}
	bars := strings.Split(errOut, "\r")
	last := bars[len(bars)-1]
	if strings.Contains(errOut, "100%") || !strings.Contains(last, "  0% delivered 0KiB/") {
		t.Errorf("progress with nothing delivered: %q", last)
	}
}
