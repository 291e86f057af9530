package loki

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http/httpproxy"

	"github.com/kaudit/kaudit/plugin/config"
)

// A push is one request and one answer, and a flush waits for each answer
// before the next request (one stream per request, in order). net/http's
// Transport carries every request over two goroutines of its connection,
// a writer and a reader, and hands the request and the answer between them
// and the caller: on a two-core node every hand-off wakes a thread
// (BenchmarkPush, both ways into a real Loki: 445 against 307 µs of CPU a
// request, encoding and compression included). direct makes the exchange on
// the flush's own goroutine instead: the request head and body in one
// write, the answer read with net/http's own parser, the connection kept
// for the next push. It serves the plain case only: a proxy from the
// environment or credentials in the url keep the standard Transport.
type direct struct {
	addr string // host:port to dial
	tls  *tls.Config
	// head is the request line and every header that is the same for each
	// push, in the order and with the values net/http would send them.
	head   []byte
	dialer net.Dialer
	url    string // for errors, credentials masked

	mu   sync.Mutex
	idle []*pushConn
}

// pushConn is one kept-alive HTTP/1.1 connection to Loki.
type pushConn struct {
	nc   net.Conn
	raw  syscall.Conn // the TCP connection under TLS, for the liveness check
	br   *bufio.Reader
	used time.Time
}

const (
	maxIdleConns    = 8
	idleConnTimeout = 90 * time.Second
	dialTimeout     = 5 * time.Second
	tlsTimeout      = 5 * time.Second
)

// newDirect returns nil when s is not the plain case.
func newDirect(s Settings, tc *tls.Config) *direct {
	u, err := url.Parse(s.URL)
	if err != nil || u.User != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return nil
	}
	// net/http's own reading of HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
	if p, err := httpproxy.FromEnvironment().ProxyFunc()(u); err != nil || p != nil {
		return nil
	}
	d := &direct{addr: u.Host, url: config.MaskUserinfo(s.URL), dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		d.addr = net.JoinHostPort(u.Hostname(), port)
	}
	if u.Scheme == "https" {
		d.tls = tc.Clone()
		if d.tls.ServerName == "" {
			d.tls.ServerName = u.Hostname()
		}
		d.tls.NextProtos = []string{"http/1.1"}
	}
	// The headers post sets, in its order: a later Set replaces an earlier
	// one of the same name.
	h := http.Header{}
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("User-Agent", s.UserAgent)
	for _, kv := range s.Headers {
		h.Set(kv[0], kv[1])
	}
	switch {
	case s.BearerToken != "":
		h.Set("Authorization", "Bearer "+s.BearerToken)
	case s.HTTPUser != "":
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.HTTPUser+":"+s.HTTPPasswd)))
	}
	for k, vs := range h {
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) || k == "X-Scope-Orgid" {
				return nil // net/http's answer (an error, or the tenant header) stays
			}
		}
	}
	var b strings.Builder
	b.WriteString("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n")
	_ = h.Write(&b)
	d.head = []byte(b.String())
	return d
}

var writeBufs = sync.Pool{New: func() any { return new([]byte) }}

// post sends one push and returns Loki's status and the start of its
// answer. The request is written once: a connection that turns out to be
// closed is found before anything is written to it, never after.
func (d *direct) post(ctx context.Context, tenant string, body []byte) (int, string, error) {
	if tenant != "" && !httpguts.ValidHeaderFieldValue(tenant) {
		return 0, "", d.fail(errors.New("net/http: invalid header field value for \"X-Scope-OrgID\""))
	}
	pc, err := d.get(ctx)
	if err != nil {
		return 0, "", d.fail(err)
	}
	deadline, _ := ctx.Deadline()
	pc.nc.SetDeadline(deadline)
	// A flush given up on (Fluent Bit stopping) ends the exchange at once.
	stop := context.AfterFunc(ctx, func() { pc.nc.SetDeadline(time.Unix(1, 0)) })

	// Head and body in one write: one segment on the wire for a small
	// push, and a write the race detector sees (it does not see writev).
	wp := writeBufs.Get().(*[]byte)
	w := append((*wp)[:0], d.head...)
	if tenant != "" {
		w = append(w, "X-Scope-Orgid: "...)
		w = append(w, tenant...)
		w = append(w, "\r\n"...)
	}
	w = append(w, "Content-Length: "...)
	w = strconv.AppendInt(w, int64(len(body)), 10)
	w = append(w, "\r\n\r\n"...)
	w = append(w, body...)
	_, werr := pc.nc.Write(w)
	if cap(w) <= maxPooled {
		*wp = w
		writeBufs.Put(wp)
	}
	resp, err := func() (*http.Response, error) {
		if werr != nil {
			// A server may answer (413) and close before reading all of
			// a large body: its answer is the outcome, as net/http has it.
			if resp, err := http.ReadResponse(pc.br, nil); err == nil {
				resp.Close = true
				return resp, nil
			}
			return nil, werr
		}
		return http.ReadResponse(pc.br, nil)
	}()
	if err != nil {
		stop()
		pc.nc.Close()
		return 0, "", d.fail(err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, derr := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Kept only if the cancellation can no longer touch its deadline.
	if !stop() || derr != nil || resp.Close {
		pc.nc.Close()
	} else {
		d.put(pc)
	}
	return resp.StatusCode, string(msg), nil
}

// fail words a transport error as net/http's client does.
func (d *direct) fail(err error) error {
	return &url.Error{Op: "Post", URL: d.url, Err: err}
}

// get returns a kept connection that is still open, or a new one.
func (d *direct) get(ctx context.Context) (*pushConn, error) {
	now := time.Now()
	for {
		d.mu.Lock()
		n := len(d.idle)
		if n == 0 {
			d.mu.Unlock()
			break
		}
		pc := d.idle[n-1]
		d.idle[n-1] = nil
		d.idle = d.idle[:n-1]
		d.mu.Unlock()
		if now.Sub(pc.used) < idleConnTimeout && pc.open() {
			return pc, nil
		}
		pc.nc.Close()
	}
	nc, err := d.dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	raw, _ := nc.(syscall.Conn)
	if d.tls != nil {
		tc := tls.Client(nc, d.tls)
		hctx, cancel := context.WithTimeout(ctx, tlsTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return &pushConn{nc: nc, raw: raw, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// open reports whether Loki kept the connection open while it was idle:
// nothing to read and no end of stream, asked of the socket without
// waiting. Anything Loki sent unasked (a TLS alert, a close) retires it.
func (pc *pushConn) open() bool {
	if pc.br.Buffered() > 0 || pc.raw == nil {
		return false
	}
	pc.nc.SetDeadline(time.Time{}) // the last push's may have passed
	rc, err := pc.raw.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true // one look, never a wait
	})
	return err == nil && alive
}

func (d *direct) put(pc *pushConn) {
	pc.used = time.Now()
	d.mu.Lock()
	if len(d.idle) < maxIdleConns {
		d.idle = append(d.idle, pc)
		pc = nil
	}
	d.mu.Unlock()
	if pc != nil {
		pc.nc.Close()
	}
}

// close closes the kept connections.
func (d *direct) close() {
	d.mu.Lock()
	idle := d.idle
	d.idle = nil
	d.mu.Unlock()
	for _, pc := range idle {
		pc.nc.Close()
	}
}
