package loki

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/config"

	"github.com/kaudit/kaudit/plugin/metrics"
)

const smRefusal = "stream '{job=\"kube-audit\"}' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it."

// refusesMetadata answers like a Loki with allow_structured_metadata false.
func refusesMetadata(_ int, req *push.PushRequest) (int, string) {
	for _, s := range req.Streams {
		for _, e := range s.Entries {
			if len(e.StructuredMetadata) > 0 {
				return 400, smRefusal
			}
		}
	}
	return 204, ""
}

type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) log(lvl Level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, []string{"error", "warn", "info"}[lvl]+" "+strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l *logs) count(part string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, part) {
			n++
		}
	}
	return n
}

func TestMetadataNegotiated(t *testing.T) {
	for _, tc := range []struct {
		mode        config.MetadataMode
		retry       bool
		accepted    int
		withMeta    int // requests that carried structured metadata
		refusedLogs int
	}{
		{config.MetadataAuto, false, 10, 1, 1},
		{config.MetadataOn, true, 0, 2, 0},
		{config.MetadataOff, false, 10, 0, 0},
	} {
		t.Run([]string{"auto", "on", "off"}[tc.mode], func(t *testing.T) {
			rec := &recorder{status: refusesMetadata}
			var l logs
			c := newTest(t, rec, func(s *Settings) { s.MetadataMode = tc.mode; s.Log = l.log })
			var acc int
			var err error
			for range 2 { // a second chunk goes without metadata at once
				var out Outcome
				out, err = c.Deliver(context.Background(), batchOf(5))
				acc += out.Accepted
			}
			var re *RetryError
			if tc.retry != errors.As(err, &re) || (tc.retry && (!re.Blocked || re.Cause != metrics.BlockStructuredMetadata)) {
				t.Fatalf("err = %v, want retry=%v (blocked)", err, tc.retry)
			}
			if acc != tc.accepted {
				t.Errorf("accepted %d, want %d", acc, tc.accepted)
			}
			with := 0
			for _, r := range rec.requests {
				if len(r.Streams[0].Entries[0].StructuredMetadata) > 0 {
					with++
				}
			}
			if with != tc.withMeta {
				t.Errorf("%d requests carried structured metadata, want %d", with, tc.withMeta)
			}
			if n := l.count("refuses structured metadata"); n != tc.refusedLogs {
				t.Errorf("%d refusal lines, want %d: %q", n, tc.refusedLogs, l.lines)
			}
		})
	}
}

// After the probe interval one request carries metadata again; once Loki
// accepts it, entries keep it.
func TestMetadataAcceptedAgain(t *testing.T) {
	var allow bool
	var mu sync.Mutex
	rec := &recorder{status: func(n int, req *push.PushRequest) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if allow {
			return 204, ""
		}
		return refusesMetadata(n, req)
	}}
	var l logs
	c := newTest(t, rec, func(s *Settings) { s.Log = l.log })
	if _, err := c.Deliver(context.Background(), batchOf(3)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	allow = true
	mu.Unlock()
	c.metadataRefused.Store(time.Now().Add(-metadataProbe - time.Second).UnixNano())
	if _, err := c.Deliver(context.Background(), batchOf(3)); err != nil {
		t.Fatal(err)
	}
	last := rec.requests[len(rec.requests)-1]
	if len(last.Streams[0].Entries[0].StructuredMetadata) == 0 || c.metadataRefused.Load() != 0 {
		t.Errorf("metadata not sent again after the probe interval")
	}
	if l.count("accepts structured metadata again") != 1 {
		t.Errorf("no line saying metadata is back: %q", l.lines)
	}
}

// A cause that needs a human is one error line a minute with the fix, and
// clears on the next success.
func TestBlockedDelivery(t *testing.T) {
	for _, tc := range []struct {
		code  int
		cause metrics.Block
		fix   string
	}{
		{401, metrics.BlockUnauthorized, "set tenant_id"},
		{403, metrics.BlockForbidden, "no right to push"},
		{404, metrics.BlockNotFound, "url must be Loki's push endpoint, ending in /loki/api/v1/push"},
		{413, metrics.BlockTooLarge, "raise its body limit"},
	} {
		t.Run(tc.cause.String(), func(t *testing.T) {
			var mu sync.Mutex
			code := tc.code
			rec := &recorder{status: func(int, *push.PushRequest) (int, string) { mu.Lock(); defer mu.Unlock(); return code, "nope" }}
			var l logs
			c := newTest(t, rec, func(s *Settings) { s.Log = l.log })
			for range 3 {
				_, err := c.Deliver(context.Background(), batchOf(2))
				var re *RetryError
				if !errors.As(err, &re) || !re.Blocked || re.Cause != tc.cause {
					t.Fatalf("err = %v", err)
				}
			}
			if n := l.count(tc.fix); n != 1 || l.count("error delivery blocked") != 1 {
				t.Errorf("%d lines with the fix, want exactly 1: %q", n, l.lines)
			}
			if !c.Blocked(tc.cause) {
				t.Error("not reported blocked")
			}
			mu.Lock()
			code = 204
			mu.Unlock()
			if _, err := c.Deliver(context.Background(), batchOf(2)); err != nil {
				t.Fatal(err)
			}
			if c.Blocked(tc.cause) {
				t.Error("still blocked after a success")
			}
		})
	}
}

func TestRejectedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rejected.jsonl")
	r, err := OpenRejected(path, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := batchOf(5)
	b.tenants[0].streams[0].Entries[1].Timestamp = time.Unix(1600000000, 0) // the others share a second
	old := b.tenants[0].streams[0].Entries[1].Timestamp.UTC().Format(time.RFC3339)
	msg := "1 errors like: entry for stream '{job=\"kube-audit\"}' has timestamp too old: " + old + ", oldest acceptable timestamp is: 2026-01-01T00:00:00Z"
	rec := &recorder{status: func(int, *push.PushRequest) (int, string) { return 400, msg }}
	c := newTest(t, rec, func(s *Settings) { s.Rejected = r })
	out, err := c.Deliver(context.Background(), b)
	if err != nil || out.Rejected != 1 {
		t.Fatalf("out=%+v err=%v", out, err)
	}
	lines := readLines(t, path)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want the one refused entry", len(lines))
	}
	var got rejectedLine
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Reason, "timestamp too old") || !strings.Contains(got.Line, `"i":1`) || got.Meta["verb"] != "get" || got.Maybe {
		t.Errorf("line = %+v", got)
	}
	// Rotation keeps both files under the bound.
	for range 400 {
		rq := request{streams: []push.Stream{*b.tenants[0].streams[0]}, entries: 5}
		if _, err := r.Write(rq, refusal{}, "unknown reason"); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	for _, p := range []string{path, path + ".1"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		total += st.Size()
	}
	if total > 64<<10 {
		t.Errorf("%d bytes kept, over the 64 KiB bound", total)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestMemoBounds(t *testing.T) {
	m := NewMemo[int](3, 10)
	if !m.Empty() {
		t.Fatal("new memo not empty")
	}
	for i := range 5 {
		m.Put(ChunkKey("t", []byte{byte(i)}), i, 1)
	}
	if _, ok := m.Get(ChunkKey("t", []byte{0})); ok {
		t.Error("oldest chunk kept past maxItems")
	}
	if v, ok := m.Get(ChunkKey("t", []byte{4})); !ok || v != 4 {
		t.Error("newest chunk forgotten")
	}
	m.Put(ChunkKey("t", []byte{9}), 9, 9) // weight 9 + others > 10
	if _, ok := m.Get(ChunkKey("t", []byte{3})); ok {
		t.Error("weight bound not enforced")
	}
	m.Delete(ChunkKey("t", []byte{9}))
	if m.Forgotten() == 0 {
		t.Error("forgotten chunks not counted")
	}
}

// TLS mistakes block delivery with the fix: an untrusted certificate, and
// an https url pointed at a plain-HTTP port.
func TestTLSBlocked(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(&recorder{})
	defer tlsSrv.Close()
	plain := httptest.NewServer(&recorder{})
	defer plain.Close()
	for _, tc := range []struct {
		url, fix string
	}{
		{tlsSrv.URL + "/loki/api/v1/push", "set tls_ca_file"},
		{"https://" + strings.TrimPrefix(plain.URL, "http://") + "/loki/api/v1/push", "does not speak TLS"},
	} {
		var l logs
		c, err := New(Settings{Loki: config.Loki{URL: tc.url, TLSVerify: true, Timeout: 2 * time.Second, MaxRequestBytes: 1 << 20}, Log: l.log})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Deliver(context.Background(), batchOf(1))
		var re *RetryError
		if !errors.As(err, &re) || !re.Blocked || re.Cause != metrics.BlockTLS || l.count(tc.fix) != 1 {
			t.Errorf("%s: err %v, log %q", tc.url, err, l.lines)
		}
	}
}

func TestMetadataWithinLokiLimits(t *testing.T) {
	var m push.LabelsAdapter
	for i := range 200 {
		m = append(m, push.LabelAdapter{Name: fmt.Sprintf("f%d", i), Value: strings.Repeat("é", 2000)})
	}
	got := fitMetadata(m)
	total := 0
	for _, l := range got {
		if len(l.Value) > maxMetadataValue+len("…") || !utf8.ValidString(l.Value) {
			t.Fatalf("value of %d bytes (valid UTF-8: %v)", len(l.Value), utf8.ValidString(l.Value))
		}
		total += len(l.Name) + len(l.Value)
	}
	if total > 64<<10 || len(got) > 128 || len(got) == 0 {
		t.Errorf("%d pairs, %d bytes", len(got), total)
	}
}

// TestRejectedFileNamesFewerThanRefused: Loki lists a few refused entries
// per reason and counts the rest ("total ignored: 3 out of 5"). The ones it
// names are written as refused, every other entry as maybe stored: none of
// the three refusals is lost from the file.
func TestRejectedFileNamesFewerThanRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rejected.jsonl")
	r, err := OpenRejected(path, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := batchOf(5)
	b.tenants[0].streams[0].Entries[1].Timestamp = time.Unix(1600000000, 0)
	named := b.tenants[0].streams[0].Entries[1].Timestamp
	msg := "entry with timestamp " + named.String() + " ignored, reason: 'entry too far behind' for stream: {job=\"kube-audit\"},\ntotal ignored: 3 out of 5"
	rec := &recorder{status: func(int, *push.PushRequest) (int, string) { return 400, msg }}
	c := newTest(t, rec, func(s *Settings) { s.Rejected = r })
	out, err := c.Deliver(context.Background(), b)
	if err != nil || out.Rejected != 3 {
		t.Fatalf("out=%+v err=%v", out, err)
	}
	lines := readLines(t, path)
	if len(lines) != 5 {
		t.Fatalf("%d lines, want the named entry and the 4 others", len(lines))
	}
	sure := 0
	for _, l := range lines {
		var got rejectedLine
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		if !got.Maybe {
			sure++
			if !strings.Contains(got.Line, `"i":1`) {
				t.Errorf("refused for sure: %+v, want the named entry", got)
			}
		}
	}
	if sure != 1 {
		t.Errorf("%d entries written as refused for sure, want 1", sure)
	}
}
