package loki

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// The plain case is served by direct; a proxy from the environment or
// credentials in the url keep net/http's Transport, which knows them.
func TestDirectOnlyForThePlainCase(t *testing.T) {
	for _, tc := range []struct {
		url, proxy string
		direct     bool
	}{
		{"http://127.0.0.1:3100/loki/api/v1/push", "", true},
		{"https://loki.example.com/loki/api/v1/push", "", true},
		{"http://loki.example.com/loki/api/v1/push", "http://proxy.example.com:3128", false},
		{"http://user:pw@loki.example.com/loki/api/v1/push", "", false},
	} {
		t.Setenv("HTTP_PROXY", tc.proxy)
		t.Setenv("http_proxy", tc.proxy)
		c, err := New(Settings{Loki: config.Loki{URL: tc.url, Timeout: time.Second, MaxRequestBytes: 1 << 20}})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.direct != nil; got != tc.direct {
			t.Errorf("%s (proxy %q): direct %v, want %v", tc.url, tc.proxy, got, tc.direct)
		}
	}
}

// The request on the wire is the one net/http's client sends: same
// method, target, headers (custom ones, authorization, tenant) and body.
func TestDirectSendsWhatTransportSends(t *testing.T) {
	type seen struct {
		target string
		header http.Header
		body   string
	}
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		h.Del("Accept-Encoding") // net/http's own, for answers it decompresses
		mu.Lock()
		got = append(got, seen{r.Method + " " + r.RequestURI + " " + r.Host, h, string(b)})
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer srv.Close()
	for _, mod := range []func(*Settings){
		func(s *Settings) { s.HTTPUser, s.HTTPPasswd = "u", "p:w" },
		func(s *Settings) {
			s.BearerToken = "tok"
			s.Headers = [][2]string{{"X-Org", "acme"}, {"Authorization", "overridden"}}
		},
	} {
		got = nil
		s := Settings{Loki: config.Loki{URL: srv.URL + "/loki/api/v1/push?x=1", Timeout: time.Second, MaxRequestBytes: 1 << 20}, UserAgent: "kaudit/test"}
		mod(&s)
		c, err := New(s)
		if err != nil {
			t.Fatal(err)
		}
		if c.direct == nil {
			t.Fatal("not direct")
		}
		for _, useDirect := range []bool{true, false} {
			d := c.direct
			if !useDirect {
				c.direct = nil
			}
			if _, _, err := c.post(context.Background(), "tenant-a", []byte("body")); err != nil {
				t.Fatal(err)
			}
			c.direct = d
		}
		if len(got) != 2 {
			t.Fatalf("%d requests", len(got))
		}
		if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
			t.Errorf("direct sent\n%v\nnet/http sent\n%v", got[0], got[1])
		}
	}
}

// A tenant that would break the request head is refused, as net/http
// refuses it: a record's tenant_id_key value never writes a header.
func TestDirectRefusesBadTenant(t *testing.T) {
	rec := &recorder{}
	c := newTest(t, rec, nil)
	_, err := c.Deliver(context.Background(), batchOf(1, "a\r\nX-Injected: 1"))
	if err == nil || len(rec.requests) != 0 {
		t.Fatalf("err %v, %d requests", err, len(rec.requests))
	}
}

// A kept connection Loki closed while it was idle is found closed before
// anything is written to it, and the push goes over a new one: a restart
// of Loki between flushes costs no retry.
func TestDirectIdleConnectionClosedByLoki(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(rec)
	var conns []net.Conn
	var mu sync.Mutex
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := New(Settings{Loki: config.Loki{URL: srv.URL + "/loki/api/v1/push", Timeout: 2 * time.Second, MaxRequestBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Deliver(context.Background(), batchOf(1)); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		mu.Lock()
		for _, nc := range conns {
			nc.Close() // as Loki's idle timeout or a restart does
		}
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	if len(rec.requests) != 3 {
		t.Errorf("%d requests stored, want 3", len(rec.requests))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 3 {
		t.Errorf("%d connections, want a new one per push", len(conns))
	}
}

// Answers in every framing net/http reads: a chunked body, a body with a
// length, none, and "Connection: close", after which the connection is not
// used again.
func TestDirectAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	answers := []string{
		"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nentry\r\n6\r\n too o\r\n2\r\nld\r\n0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nbusy",
		"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
	}
	conns := make(chan int, len(answers))
	go func() {
		n := 0
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- n
			br := bufio.NewReader(nc)
			for n < len(answers) {
				req, err := http.ReadRequest(br)
				if err != nil {
					break
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(nc, answers[n])
				n++
				if strings.Contains(answers[n-1], "close") {
					break
				}
			}
			nc.Close()
		}
	}()
	c, err := New(Settings{Loki: config.Loki{URL: "http://" + ln.Addr().String() + "/loki/api/v1/push", Timeout: 2 * time.Second, MaxRequestBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status int
		msg    string
	}{{400, "entry too old"}, {204, ""}, {500, "busy"}, {204, ""}, {204, ""}}
	for i, w := range want {
		status, msg, err := c.direct.post(context.Background(), "", []byte("x"))
		if err != nil || status != w.status || msg != w.msg {
			t.Errorf("answer %d: %d %q %v, want %d %q", i, status, msg, err, w.status, w.msg)
		}
	}
	close(conns)
	var opened []int
	for n := range conns {
		opened = append(opened, n)
	}
	if fmt.Sprint(opened) != "[0 4]" {
		t.Errorf("connections opened before answers %v, want [0 4]", opened)
	}
}

// BenchmarkPush delivers a chunk's worth of routine entries over six
// streams (six requests) to a real Loki, with direct and with net/http's
// Transport, and reports the process CPU per request and per entry:
// getrusage covers every thread, so the Transport's goroutine hand-offs
// and the scheduler's wake-ups count as they do in Fluent Bit.
func BenchmarkPush(b *testing.B) {
	l, err := e2e.StartLoki(b.TempDir())
	if err != nil {
		b.Skip("no Loki: ", err)
	}
	defer l.Stop()
	c, err := config.Parse(config.MapGetter{"url": l.PushURL()})
	if err != nil {
		b.Fatal(err)
	}
	evs := routineEvents(b, c, 512)
	en := NewEntries(c)
	es := make([]push.Entry, len(evs))
	for i := range evs {
		_, _, es[i] = en.Build(&evs[i])
	}
	for _, mode := range []string{"direct", "transport"} {
		b.Run(mode, func(b *testing.B) {
			cl, err := New(Settings{Loki: c.Loki})
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			if mode == "transport" {
				cl.direct = nil
			}
			var reqs int
			cpu0 := cpuNow()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var bt Batch
				for j, e := range es {
					// Six label sets: a chunk with a few detections.
					e.Timestamp = e.Timestamp.Add(time.Duration(i))
					bt.Add("bench", labelSets[j%len(labelSets)], e)
				}
				out, err := cl.Deliver(context.Background(), &bt)
				if err != nil {
					b.Fatal(err)
				}
				reqs += out.Requests
				bt.Release()
			}
			b.StopTimer()
			cpu := float64((cpuNow() - cpu0).Nanoseconds()) / 1e3
			b.ReportMetric(cpu/float64(reqs), "cpu-µs/request")
			b.ReportMetric(cpu/float64(b.N*len(evs)), "cpu-µs/event")
		})
	}
}

var labelSets = func() (l [6]string) {
	for i := range l {
		l[i] = fmt.Sprintf(`{job="kube-audit", s="%d"}`, i)
	}
	return l
}()

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
