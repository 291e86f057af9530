package metrics

import (
	"net"
	"net/http"
	"testing"
)

// The profiling endpoints exist only on a listener that asked for them.
func TestEnablePprof(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := Serve(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get := func() int {
		resp, err := http.Get("http://" + addr + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get(); c != http.StatusNotFound {
		t.Fatalf("before EnablePprof: %d, want 404", c)
	}
	for range 2 {
		if err := EnablePprof(addr); err != nil {
			t.Fatal(err)
		}
	}
	if c := get(); c != http.StatusOK {
		t.Fatalf("after EnablePprof: %d, want 200", c)
	}
	if err := EnablePprof("127.0.0.1:1"); err == nil {
		t.Fatal("EnablePprof on an address nothing serves: no error")
	}
}
