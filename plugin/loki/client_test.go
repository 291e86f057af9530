package loki

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/kaudit/kaudit/plugin/config"
)

// recorder is a stand-in Loki for the client's protocol details; behaviour
// against the real Loki is covered by scripts/e2e.
type recorder struct {
	mu       sync.Mutex
	requests []*push.PushRequest
	headers  []http.Header
	status   func(n int, req *push.PushRequest) (int, string)
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	body, _ := io.ReadAll(hr.Body)
	pb, err := snappy.Decode(nil, body)
	if err != nil || hr.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not snappy protobuf", http.StatusUnsupportedMediaType)
		return
	}
	var req push.PushRequest
	if err := req.Unmarshal(pb); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	r.mu.Lock()
	n := len(r.requests)
	r.requests = append(r.requests, &req)
	r.headers = append(r.headers, hr.Header.Clone())
	r.mu.Unlock()
	code, msg := 204, ""
	if r.status != nil {
		code, msg = r.status(n, &req)
	}
	w.WriteHeader(code)
	io.WriteString(w, msg)
}

func newTest(t *testing.T, rec *recorder, mod func(*Settings)) *Client {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	// The servers answer at once, but a loopback request can take
	// seconds on a machine saturated by other test runs; a test of the
	// deadline sets its own.
	s := Settings{Loki: config.Loki{URL: srv.URL + "/loki/api/v1/push", TLSVerify: true, Timeout: 30 * time.Second, MaxRequestBytes: 1 << 20}}
	if mod != nil {
		mod(&s)
	}
	c, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func batchOf(n int, tenants ...string) *Batch { return streamsOf(n, 1, tenants...) }

// streamsOf spreads n entries over tenants and k label sets.
func streamsOf(n, k int, tenants ...string) *Batch {
	var b Batch
	if len(tenants) == 0 {
		tenants = []string{""}
	}
	for i := 0; i < n; i++ {
		b.Add(tenants[i%len(tenants)], fmt.Sprintf(`{job="kube-audit", n="%d"}`, i%k), push.Entry{
			Timestamp: time.Unix(1700000000, int64(i)), Line: fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", 100)),
			StructuredMetadata: push.LabelsAdapter{{Name: "verb", Value: "get"}},
		})
	}
	return &b
}

func entries(reqs []*push.PushRequest) int {
	n := 0
	for _, r := range reqs {
		for _, s := range r.Streams {
			n += len(s.Entries)
		}
	}
	return n
}

func TestDeliverAccepted(t *testing.T) {
	rec := &recorder{}
	c := newTest(t, rec, func(s *Settings) {
		s.HTTPUser, s.HTTPPasswd = "u", "p"
		s.Headers = [][2]string{{"X-Org", "acme"}}
	})
	out, err := c.Deliver(context.Background(), streamsOf(10, 3, "t1", "t2"))
	if err != nil {
		t.Fatal(err)
	}
	// One request per stream: 2 tenants × 3 label sets.
	if out.Accepted != 10 || out.Requests != 6 || entries(rec.requests) != 10 {
		t.Fatalf("outcome %+v, %d entries received", out, entries(rec.requests))
	}
	tenants := map[string]bool{}
	for _, h := range rec.headers {
		tenants[h.Get("X-Scope-OrgID")] = true
		if u, p, ok := (&http.Request{Header: h}).BasicAuth(); !ok || u != "u" || p != "p" {
			t.Errorf("basic auth missing")
		}
		if h.Get("X-Org") != "acme" {
			t.Errorf("extra header missing")
		}
	}
	if !tenants["t1"] || !tenants["t2"] {
		t.Errorf("tenants %v", tenants)
	}
	sm := rec.requests[0].Streams[0].Entries[0].StructuredMetadata
	if len(sm) != 1 || sm[0].Name != "verb" {
		t.Errorf("structured metadata lost: %v", sm)
	}
}

func TestBearerToken(t *testing.T) {
	rec := &recorder{}
	c := newTest(t, rec, func(s *Settings) { s.BearerToken = "tok" })
	if _, err := c.Deliver(context.Background(), batchOf(1)); err != nil {
		t.Fatal(err)
	}
	if got := rec.headers[0].Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization = %q", got)
	}
	if rec.headers[0].Get("X-Scope-OrgID") != "" {
		t.Errorf("tenant header sent without a tenant")
	}
}

func TestSplitBoundsRequests(t *testing.T) {
	rec := &recorder{}
	c := newTest(t, rec, func(s *Settings) { s.MaxRequestBytes = 2048 })
	out, err := c.Deliver(context.Background(), batchOf(200))
	if err != nil {
		t.Fatal(err)
	}
	if out.Accepted != 200 || entries(rec.requests) != 200 {
		t.Fatalf("outcome %+v received %d", out, entries(rec.requests))
	}
	if len(rec.requests) < 10 {
		t.Errorf("only %d requests for ~30 KiB at 2 KiB each", len(rec.requests))
	}
	for i, r := range rec.requests {
		if len(r.Streams) != 1 {
			t.Errorf("request %d carries %d streams", i, len(r.Streams))
		}
		if r.Size() > 2048 {
			t.Errorf("request %d is %d bytes, over max_request_bytes", i, r.Size())
		}
	}
}

func TestStatusClassification(t *testing.T) {
	for _, tc := range []struct {
		code       int
		msg        string
		retry      bool
		rejected   int
		reasonPart string
	}{
		{200, "", false, 0, ""},
		{204, "", false, 0, ""},
		{400, "entry for stream '{job=\"a\"}' has timestamp too old\ntotal ignored: 2 out of 5", false, 2, "timestamp too old"},
		{400, "error parsing labels", false, 5, "error parsing labels"},
		{400, "entry for stream '{job=\"a\"}' has timestamp too old: 2026-10-28T12:16:05Z, oldest acceptable timestamp is: 2026-11-20T12:17:05Z", false, 1, "timestamp too old"},
		{400, "1 errors like: entry for stream '{job=\"a\"}' has timestamp too old; 2 errors like: max entry size '262144' bytes exceeded", false, 3, "timestamp too old"},
		// A 400 that is not Loki's account of entries (a proxy's): Loki
		// stored nothing, so the chunk is retried, not counted lost.
		{400, "proxy fault injected 400", true, 0, ""},
		{400, "<html><head><title>400 Bad Request</title></head></html>", true, 0, ""},
		{429, "ingestion rate limit exceeded", true, 0, ""},
		{500, "internal", true, 0, ""},
		{503, "unavailable", true, 0, ""},
		{401, "no org id", true, 0, ""},
		{404, "not found", true, 0, ""},
	} {
		t.Run(fmt.Sprint(tc.code, tc.msg), func(t *testing.T) {
			rec := &recorder{status: func(int, *push.PushRequest) (int, string) { return tc.code, tc.msg }}
			c := newTest(t, rec, nil)
			out, err := c.Deliver(context.Background(), batchOf(5))
			var re *RetryError
			if tc.retry != errors.As(err, &re) {
				t.Fatalf("err = %v, want retry=%v", err, tc.retry)
			}
			if tc.retry && re.Status != tc.code {
				t.Errorf("status %d", re.Status)
			}
			if out.Rejected != tc.rejected || (!tc.retry && out.Accepted != 5-tc.rejected) {
				t.Errorf("outcome %+v", out)
			}
			if !strings.Contains(out.Reason, tc.reasonPart) {
				t.Errorf("reason %q", out.Reason)
			}
		})
	}
}

func TestTooLargeIsHalved(t *testing.T) {
	rec := &recorder{status: func(_ int, r *push.PushRequest) (int, string) {
		if entries([]*push.PushRequest{r}) > 2 {
			return 413, "too large"
		}
		return 204, ""
	}}
	c := newTest(t, rec, nil)
	out, err := c.Deliver(context.Background(), batchOf(9))
	if err != nil || out.Accepted != 9 {
		t.Fatalf("out %+v err %v", out, err)
	}
}

// A request halved after a 413 must still carry one stream: Loki answers
// for the last stream of a request only, so an entry it refused in another
// would pass for stored.
func TestTooLargeHalvesKeepOneStream(t *testing.T) {
	rec := &recorder{status: func(_ int, r *push.PushRequest) (int, string) {
		if entries([]*push.PushRequest{r}) > 2 {
			return 413, "too large"
		}
		return 204, ""
	}}
	c := newTest(t, rec, nil)
	if _, err := c.Deliver(context.Background(), batchOf(9)); err != nil {
		t.Fatal(err)
	}
	for i, r := range rec.requests {
		if len(r.Streams) != 1 {
			t.Errorf("request %d has %d streams", i, len(r.Streams))
		}
	}
}

// Halves Loki took before a later half failed are not sent again by the
// retry: Loki drops a resend only while it is the stream's newest entry.
func TestTooLargeRetrySkipsDeliveredHalves(t *testing.T) {
	small, failed := 0, false
	stored := map[string]int{}
	rec := &recorder{status: func(_ int, r *push.PushRequest) (int, string) {
		if entries([]*push.PushRequest{r}) > 2 {
			return 413, "too large"
		}
		small++
		if small == 3 && !failed {
			failed = true
			return 503, "busy"
		}
		for _, s := range r.Streams {
			for _, e := range s.Entries {
				stored[e.Line]++
			}
		}
		return 204, ""
	}}
	c := newTest(t, rec, nil)
	b := batchOf(8)
	out, err := c.Deliver(context.Background(), b)
	if err == nil {
		t.Fatal("a 503 was taken for success")
	}
	if out.Left != 4 {
		t.Errorf("left %d, want 4 (two halves of 2 were stored)", out.Left)
	}
	if _, err := c.Deliver(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 8 {
		t.Errorf("%d entries stored, want 8", len(stored))
	}
	for line, n := range stored {
		if n != 1 {
			t.Errorf("%s sent %d times", line, n)
		}
	}
}

func TestUnreachableIsRetry(t *testing.T) {
	c, err := New(Settings{Loki: config.Loki{URL: "http://127.0.0.1:1/loki/api/v1/push", Timeout: time.Second, MaxRequestBytes: 1 << 20, TLSVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Deliver(context.Background(), batchOf(1))
	var re *RetryError
	if !errors.As(err, &re) || re.Status != 0 {
		t.Fatalf("err = %v", err)
	}
}

func TestTimeoutBoundsTheFlush(t *testing.T) {
	rec := &recorder{status: func(int, *push.PushRequest) (int, string) { time.Sleep(2 * time.Second); return 204, "" }}
	c := newTest(t, rec, func(s *Settings) { s.Timeout = 300 * time.Millisecond; s.MaxRequestBytes = 1024 })
	start := time.Now()
	_, err := c.Deliver(context.Background(), batchOf(50))
	if err == nil {
		t.Fatal("a slow Loki was taken for success")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("flush took %s with a 300ms timeout", d)
	}
}

func TestBadTLSFilesFailAtStart(t *testing.T) {
	if _, err := New(Settings{Loki: config.Loki{TLSCAFile: "client_test.go", Timeout: time.Second}}); err == nil || !strings.Contains(err.Error(), "tls_ca_file") {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkSplit(b *testing.B) {
	batch := batchOf(2000, "a", "b")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		batch.split(1 << 20)
	}
}

// Delivering the same Batch again resumes at the request that failed, so
// a backfill's retry never resends what Loki already took.
func TestRedeliverResumes(t *testing.T) {
	rec := &recorder{status: func(n int, _ *push.PushRequest) (int, string) {
		if n == 1 {
			return 503, "ingester busy"
		}
		return 204, ""
	}}
	c := newTest(t, rec, nil)
	b := streamsOf(30, 3) // three streams: three requests
	if _, err := c.Deliver(context.Background(), b); err == nil {
		t.Fatal("503 not reported")
	}
	out, err := c.Deliver(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.requests) != 4 || out.Requests != 2 || out.Accepted != 20 {
		t.Fatalf("%d requests in all, second delivery %+v; want 4 and 2 requests for 20 entries", len(rec.requests), out)
	}
	if entries(rec.requests) != 40 || entries(rec.requests[1:2]) != 10 || rec.requests[1].Streams[0].Labels != rec.requests[2].Streams[0].Labels {
		t.Errorf("the failed request was not the one resent")
	}
	if _, err := c.Deliver(context.Background(), b); err != nil || len(rec.requests) != 4 {
		t.Errorf("a delivered batch was sent again")
	}
}

// A chunk rebuilt for a retry can split differently (a stateful rule now
// labels one of its events otherwise, adding a stream that comes first).
// Resuming skips only requests Loki holds by content, so every entry of the
// rebuilt batch reaches Loki; skipping by position would lose one.
func TestRebuiltBatchResumesByContent(t *testing.T) {
	fail := true
	rec := &recorder{status: func(n int, _ *push.PushRequest) (int, string) {
		if n == 1 && fail {
			return 503, "ingester busy"
		}
		return 204, ""
	}}
	c := newTest(t, rec, nil)
	first := streamsOf(30, 3)
	_, err := c.Deliver(context.Background(), first)
	if err == nil {
		t.Fatal("503 not reported")
	}
	accepted := first.Accepted()
	if len(accepted) != 1 {
		t.Fatalf("%d requests remembered as accepted, want 1 (%v)", len(accepted), err)
	}
	fail = false

	// The same entries, but entry 0 now carries another label set.
	var rebuilt Batch
	for i := 0; i < 30; i++ {
		labels := fmt.Sprintf(`{job="kube-audit", n="%d"}`, i%3)
		if i == 0 {
			labels = `{detection="x", job="kube-audit"}`
		}
		rebuilt.Add("", labels, push.Entry{Timestamp: time.Unix(1700000000, int64(i)),
			Line: fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", 100)), StructuredMetadata: push.LabelsAdapter{{Name: "verb", Value: "get"}}})
	}
	rebuilt.Skip(accepted)
	before := len(rec.requests)
	if _, err := c.Deliver(context.Background(), &rebuilt); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rec.requests[before:] {
		for _, s := range r.Streams {
			for _, e := range s.Entries {
				got[s.Labels+e.Line] = true
			}
		}
	}
	for _, tb := range rebuilt.tenants {
		for _, s := range tb.streams {
			for _, e := range s.Entries {
				if !got[s.Labels+e.Line] {
					t.Errorf("entry %s in %s never reached Loki", e.Line[:8], s.Labels)
				}
			}
		}
	}

	// Rebuilt identically, the accepted request is not sent again.
	same := streamsOf(30, 3)
	same.Skip(accepted)
	before = len(rec.requests)
	if _, err := c.Deliver(context.Background(), same); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.requests) - before; n != 2 {
		t.Errorf("%d requests for an identical rebuild, want 2 (the accepted one skipped)", n)
	}
}
