package instance

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
)

// stderrLines runs f with os.Stderr, where the plugin writes its lines,
// captured, and returns what it wrote.
func stderrLines(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&out, r); close(done) }()
	defer r.Close()
	func() {
		defer func() { os.Stderr = old; w.Close() }()
		f()
	}()
	<-done
	return out.String()
}

// Entries Loki refused as invalid in a request it answered before a later
// request of the same chunk failed are never sent again (the retry skips
// the requests Loki answered), so the flush that heard the refusal is the
// only one that can say so: the error line naming them must not depend on
// the chunk being delivered in the same attempt.
func TestRejectedLoggedWhenLaterRequestFails(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		switch i {
		case 0:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `entry for stream '{job="kube-audit"}' has timestamp too old: 2020-01-01T00:00:00Z, oldest acceptable timestamp is: 2026-01-01T00:00:00Z`)
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "ingester unavailable")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	in, err := New(config.MapGetter{"url": srv.URL + "/loki/api/v1/push"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// Two streams, so two requests: a routine read, and a namespace
	// deletion that a rule labels.
	recs := []map[string]any{
		{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a1", "stage": "ResponseComplete", "verb": "get", "requestURI": "/api/v1/namespaces/default/pods/p",
			"user": map[string]any{"username": "alice"}, "objectRef": map[string]any{"resource": "pods", "namespace": "default", "name": "p"},
			"responseStatus": map[string]any{"code": 200}, "stageTimestamp": "2026-11-29T03:00:00.000000Z"},
		{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a2", "stage": "ResponseComplete", "verb": "delete", "requestURI": "/api/v1/namespaces/prod",
			"user": map[string]any{"username": "bob"}, "objectRef": map[string]any{"resource": "namespaces", "name": "prod"},
			"responseStatus": map[string]any{"code": 200}, "stageTimestamp": "2026-11-29T03:00:01.000000Z"},
	}
	var b bytes.Buffer
	if err := chunk.Encode(&b, recs, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	var codes []Code
	logged := stderrLines(t, func() {
		codes = append(codes, in.Flush(b.Bytes(), "kube-audit"), in.Flush(b.Bytes(), "kube-audit"))
	})
	if codes[0] != Retry || codes[1] != OK {
		t.Fatalf("flushes answered %v, want [RETRY OK]", codes)
	}
	if n != 3 {
		t.Fatalf("%d requests, want 3 (the retry sends only the failed one)", n)
	}
	if got := strings.Count(logged, "loki rejected 1 of 2 entries as invalid"); got != 1 {
		t.Errorf("refusal logged %d times, want once:\n%s", got, logged)
	}
	// The warning counts what the retry still has to send, not the entries
	// Loki already answered for.
	if !strings.Contains(logged, "1 of 2 entries not delivered, chunk handed back for retry") {
		t.Errorf("retry warning does not count what is left:\n%s", logged)
	}
	if in.Client.Stats.Rejected.Load() != 1 {
		t.Errorf("rejected counter %d, want 1", in.Client.Stats.Rejected.Load())
	}
}

// Loki's "entry too far behind" is not a bad event but a backlog that came
// after newer entries of its stream; the refusal line says so and where the
// entries are (kept with rejected_path, lost without), since no retry can
// deliver them.
func TestTooFarBehindExplained(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "entry with timestamp 2026-11-29 01:25:27.550452 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2026-11-29T01:25:27Z, oldest acceptable timestamp is: 2026-11-29T02:54:42Z',\nuser 'fake', total ignored: 1 out of 1 for stream: {job=\"kube-audit\"}")
	}))
	defer srv.Close()
	var b bytes.Buffer
	rec := map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a1", "stage": "ResponseComplete", "verb": "get", "requestURI": "/api/v1/namespaces/default/pods/p",
		"user": map[string]any{"username": "alice"}, "objectRef": map[string]any{"resource": "pods", "namespace": "default", "name": "p"},
		"responseStatus": map[string]any{"code": 200}, "stageTimestamp": "2026-11-29T01:25:27.550452Z"}
	if err := chunk.Encode(&b, []map[string]any{rec}, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(t.TempDir(), "rejected.jsonl")
	for _, tc := range []struct {
		props config.MapGetter
		want  string
	}{
		{config.MapGetter{}, "they are lost: set rejected_path to keep such entries"},
		{config.MapGetter{"rejected_path": kept}, `they are kept in rejected_path "` + kept + `"`},
	} {
		tc.props["url"] = srv.URL + "/loki/api/v1/push"
		in, err := New(tc.props, "test")
		if err != nil {
			t.Fatal(err)
		}
		logged := stderrLines(t, func() {
			if c := in.Flush(b.Bytes(), "kube-audit"); c != OK {
				t.Errorf("flush answered %v, want OK (no retry can deliver it)", c)
			}
		})
		in.Close()
		if !strings.Contains(logged, "loki rejected 1 of 1 entries as invalid") || !strings.Contains(logged, "out-of-order window") || !strings.Contains(logged, tc.want) {
			t.Errorf("logged:\n%s\nwant %q", logged, tc.want)
		}
	}
}
