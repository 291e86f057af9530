package metrics

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ValidateListen checks a `metrics_listen` value: host:port with a port
// between 1 and 65535; an empty host listens on every interface.
func ValidateListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 0.0.0.0:2021, 127.0.0.1:9464)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number between 1 and 65535", addr, port)
	}
	return nil
}

// Server is one instance's hold on a shared listener.
type Server struct {
	addr string
	once sync.Once
}

type listener struct {
	srv   *http.Server
	mux   *http.ServeMux
	refs  int
	pprof bool // /debug/pprof/ registered (EnablePprof)
}

var (
	srvMu   sync.Mutex
	servers = map[string]*listener{}
)

// Serve starts serving /metrics on addr, or joins the server another
// instance of this process already runs there. A port held by something
// else (another process, or the same port spelt with another host) fails
// here, at start, with the address in the message.
func Serve(addr string) (*Server, error) {
	if err := ValidateListen(addr); err != nil {
		return nil, err
	}
	srvMu.Lock()
	defer srvMu.Unlock()
	if l, ok := servers[addr]; ok {
		l.refs++
		return &Server{addr: addr}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w (another process, or another kaudit instance with a different spelling of the same port, holds it)", addr, errors.Unwrap(err))
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(Registry(), promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("kaudit: metrics at /metrics\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	servers[addr] = &listener{srv: srv, mux: mux, refs: 1}
	go func() { _ = srv.Serve(ln) }()
	return &Server{addr: addr}, nil
}

// Close releases the hold; the last one stops the listener.
func (s *Server) Close() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		srvMu.Lock()
		defer srvMu.Unlock()
		l := servers[s.addr]
		if l == nil {
			return
		}
		if l.refs--; l.refs == 0 {
			delete(servers, s.addr)
			_ = l.srv.Close()
		}
	})
}
