package metrics

import (
	"fmt"
	"net/http/pprof"
)

// EnablePprof adds Go's profiling endpoints (/debug/pprof/, e.g.
// /debug/pprof/profile?seconds=30 for a CPU profile of the plugin inside
// the running Fluent Bit) to the listener this Server holds. Off unless the
// `pprof` key asks for it: the endpoints expose stacks and cost CPU while a
// profile runs, so they must never be on by default on a listener that
// Prometheus scrapes from the network. Idempotent; the endpoints stay until
// the listener stops.
func EnablePprof(addr string) error {
	srvMu.Lock()
	defer srvMu.Unlock()
	l := servers[addr]
	if l == nil {
		return fmt.Errorf("pprof: no metrics listener on %q", addr)
	}
	if l.pprof {
		return nil
	}
	l.mux.HandleFunc("/debug/pprof/", pprof.Index)
	l.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	l.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	l.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	l.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	l.pprof = true
	return nil
}
