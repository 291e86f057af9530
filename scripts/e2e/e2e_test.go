package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/testdata"
)

var (
	art     Artifacts
	shared  *Loki
	skipAll string
)

// TestMain builds the .so and the C host (or takes them from `make test`)
// and starts one real Loki shared by the tests that do not kill it. Without
// a Loki binary the tests skip, unless KAUDIT_REQUIRE_E2E is set (as `make
// test` and CI do): there, a missing Loki is a failure.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "kaudit-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if _, err := LokiBinary(); err != nil {
			if os.Getenv("KAUDIT_REQUIRE_E2E") != "" {
				fmt.Fprintln(os.Stderr, "e2e:", err)
				return 1
			}
			skipAll = err.Error()
			return m.Run()
		}
		if art, err = Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		if shared, err = StartLoki(dir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer shared.Stop()
		return m.Run()
	}())
}

func need(t *testing.T) {
	t.Helper()
	if skipAll != "" {
		t.Skip(skipAll)
	}
}

// window is the time range the generated events fall in.
func window() (end time.Time, span time.Duration) {
	return time.Now().Truncate(time.Second), 20 * time.Minute
}

func byAuditID(t *testing.T, es []Entry) map[string]Entry {
	t.Helper()
	m := map[string]Entry{}
	for _, e := range es {
		id := e.Metadata["audit_id"]
		if _, dup := m[id]; dup {
			t.Errorf("audit_id %s stored twice", id)
		}
		m[id] = e
	}
	return m
}

// The whole path: several instances with their own configuration, both
// chunk formats and every timestamp kind, every record shape, concurrent
// flushes; then everything is read back from Loki and checked event by
// event.
func TestEndToEnd(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(3000, 42, end, span)
	records := Shapes(s.Events)
	dir := t.TempDir()
	var chunks []string
	for i, opt := range []chunk.Options{
		{Format: chunk.FormatV2, Time: chunk.TimeEventTime},
		{Format: chunk.FormatLegacy, Time: chunk.TimeInt},
		{Format: chunk.FormatV2, Time: chunk.TimeFloat},
		{Format: chunk.FormatLegacy, Time: chunk.TimeEventTimeExt8},
	} {
		part := records[i*len(records)/4 : (i+1)*len(records)/4]
		c, err := WriteChunks(dir, fmt.Sprint("f", i), part, 200, opt)
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, c...)
	}
	run, err := art.RunHost(HostOptions{Workers: 3}, []map[string]string{
		{"url": shared.PushURL(), "tenant_id": "e2e-a"},
		{"url": shared.PushURL(), "tenant_id": "e2e-b", "labels": "job=audit, cluster=b", "structured_metadata": "env=prod,group=$objectRef.apiGroup"},
	}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || run.OK != 2*len(chunks) || run.Retried != 0 {
		t.Fatalf("host: exit=%d ok=%d retried=%d want ok=%d\n%s", run.Exit, run.OK, run.Retried, 2*len(chunks), run.Stderr)
	}

	want := map[string]map[string]any{}
	for _, ev := range s.Events {
		want[ev["auditID"].(string)] = ev
	}
	for _, tc := range []struct{ tenant, selector, job, cluster string }{
		{"e2e-a", `{job="kube-audit"}`, "kube-audit", ""},
		{"e2e-b", `{job="audit"}`, "audit", "b"},
	} {
		got := mustQuery(t, shared, tc.tenant, tc.selector, end.Add(-span-time.Minute), end.Add(time.Minute))
		if len(got) != len(s.Events) {
			t.Fatalf("%s: %d entries in Loki, want %d", tc.tenant, len(got), len(s.Events))
		}
		for id, e := range byAuditID(t, got) {
			ev, ok := want[id]
			if !ok {
				t.Fatalf("%s: unexpected audit_id %q", tc.tenant, id)
			}
			checkEntry(t, e, ev, s.Planted[id], tc.job, tc.cluster)
		}
	}
	// The seed's LogQL keeps working on the line.
	secretReads := mustQuery(t, shared, "e2e-a", `{job="kube-audit"} | json | objectRef_resource="secrets" and verb="get"`, end.Add(-span-time.Minute), end.Add(time.Minute))
	if len(secretReads) != s.Secrets {
		t.Errorf("seed LogQL found %d secret reads, want %d", len(secretReads), s.Secrets)
	}
	// An alert is a label selector.
	for rule, n := range s.Attacks {
		got := mustQuery(t, shared, "e2e-a", fmt.Sprintf(`{job="kube-audit", detection=~".*%s.*"}`, rule), end.Add(-span-time.Minute), end.Add(time.Minute))
		if len(got) != n {
			t.Errorf("selector for %s: %d entries, want %d", rule, len(got), n)
		}
	}
}

func checkEntry(t *testing.T, e Entry, ev map[string]any, attack, job, cluster string) {
	t.Helper()
	id := ev["auditID"].(string)
	if ContainsCanary(e.Line) || ContainsCanary(fmt.Sprint(e.Metadata)) || ContainsCanary(fmt.Sprint(e.Labels)) {
		t.Fatalf("%s: a canary secret reached Loki", id)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(e.Line), &line); err != nil {
		t.Fatalf("%s: line is not JSON: %v", id, err)
	}
	if line["verb"] != ev["verb"] || line["requestURI"] != ev["requestURI"] {
		t.Errorf("%s: line lost fields", id)
	}
	ts, _ := time.Parse(time.RFC3339Nano, ev["stageTimestamp"].(string))
	if !e.Time.Equal(ts) {
		t.Errorf("%s: entry time %s, want stageTimestamp %s", id, e.Time, ts)
	}
	if e.Labels["job"] != job || e.Labels["cluster"] != cluster {
		t.Errorf("%s: labels %v", id, e.Labels)
	}
	for k := range e.Labels {
		switch k {
		case "job", "cluster", "severity", "detection", "service_name":
		default:
			t.Errorf("%s: unexpected stream label %q (labels must stay low-cardinality)", id, k)
		}
	}
	user := ev["user"].(map[string]any)["username"].(string)
	if e.Metadata["user"] != user || e.Metadata["verb"] != ev["verb"] {
		t.Errorf("%s: metadata %v", id, e.Metadata)
	}
	if cluster != "" && e.Metadata["env"] != "prod" {
		t.Errorf("%s: configured structured_metadata missing: %v", id, e.Metadata)
	}
	if attack == "" && e.Labels["detection"] != "" {
		t.Errorf("%s (user %s, %s %v): false positive %q", id, user, ev["verb"], ev["objectRef"], e.Labels["detection"])
	}
	if attack != "" && !strings.Contains(","+e.Labels["detection"]+",", ","+attack+",") {
		t.Errorf("%s (user %s, %s %v): detection label %q lacks planted %s", id, user, ev["verb"], ev["objectRef"], e.Labels["detection"], attack)
	}
	if e.Labels["detection"] != "" && e.Labels["severity"] == "" {
		t.Errorf("%s: detection without severity", id)
	}
	if e.Metadata["detections"] == "" && e.Labels["detection"] != "" {
		t.Errorf("%s: detections missing from metadata", id)
	}
}

// Every Fluent Bit ABI the host emulates loads the same .so.
func TestABIVersions(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(50, 7, end, span)
	chunks, err := WriteChunks(t.TempDir(), "abi", s.Events, 50, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, abi := range []int{3, 4, 5} {
		t.Run(fmt.Sprint("fluent-bit-", abi), func(t *testing.T) {
			tenant := fmt.Sprint("abi-", abi)
			run, err := art.RunHost(HostOptions{ABI: abi}, []map[string]string{{"url": shared.PushURL(), "tenant_id": tenant}}, chunks)
			if err != nil {
				t.Fatal(err)
			}
			if run.Exit != 0 || run.OK != 1 {
				t.Fatalf("exit=%d ok=%d\n%s", run.Exit, run.OK, run.Stderr)
			}
			got := mustQuery(t, shared, tenant, `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
			if len(got) != 50 {
				t.Errorf("%d entries, want 50", len(got))
			}
		})
	}
}

// A bad value stops start-up with one line naming the key and the value.
func TestBadConfigStopsStartup(t *testing.T) {
	need(t)
	badRedact := filepath.Join(t.TempDir(), "redact.yaml")
	if err := os.WriteFile(badRedact, []byte("rules:\n  - {id: a, kinds: [x], fields: [{path: data, keys: '('}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, value, want string
	}{
		{"url", "ftp://loki", `url: "ftp://loki"`},
		{"timeout", "forever", `timeout: "forever"`},
		{"labels", "user=$user", "labels:"},
		{"unrecognized", "keep", `unrecognized: unknown value "keep"`},
		{"redact_file", badRedact, "redact_file: rules: " + badRedact + `: rules[0] (a): kinds[0]: "x" is not a kind (CamelCase: ConfigMap); fields[0].keys: error parsing regexp`},
		{"redact_hash_key", "short", "redact_hash_key: 5 bytes long"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			run, err := art.RunHost(HostOptions{}, []map[string]string{{"url": shared.PushURL()}, {tc.key: tc.value}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if run.Exit == 0 {
				t.Fatal("host started with a bad configuration")
			}
			var lines []string
			for _, l := range strings.Split(run.Stderr, "\n") {
				if strings.Contains(l, tc.want) {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Errorf("want one line containing %q, stderr:\n%s", tc.want, run.Stderr)
			}
		})
	}
}

// Records that carry no audit event are dropped and counted by default,
// passed on with `unrecognized pass`, and never break their chunk.
func TestUnrecognizedRecords(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(20, 9, end, span)
	records := append([]map[string]any{{"hello": "world"}, {"kind": 0}, {"log": "not json at all"}}, s.Events...)
	chunks, err := WriteChunks(t.TempDir(), "unrec", records, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := art.RunHost(HostOptions{}, []map[string]string{
		{"url": shared.PushURL(), "tenant_id": "unrec-drop"},
		{"url": shared.PushURL(), "tenant_id": "unrec-pass", "unrecognized": "pass"},
	}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || run.OK != 2 {
		t.Fatalf("exit=%d ok=%d\n%s", run.Exit, run.OK, run.Stderr)
	}
	if !strings.Contains(run.Stderr, "unrecognized=3") {
		t.Errorf("unrecognized records not counted in the log:\n%s", run.Stderr)
	}
	for tenant, want := range map[string]int{"unrec-drop": 20, "unrec-pass": 23} {
		got := mustQuery(t, shared, tenant, `{job="kube-audit"}`, time.Now().Add(-48*time.Hour), time.Now().Add(time.Minute))
		if len(got) != want {
			t.Errorf("%s: %d entries, want %d", tenant, len(got), want)
		}
	}
}

// Every event of the shared real-world corpora goes through; the malformed
// fuzz line is rejected cleanly.
func TestCorpora(t *testing.T) {
	need(t)
	files := testdata.Corpora(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			records, events := corpusRecords(t, f)
			tenant := "corpus-" + strings.TrimSuffix(filepath.Base(f), ".jsonl")
			chunks, err := WriteChunks(t.TempDir(), "c", records, 64, chunk.Options{Time: chunk.TimeInt})
			if err != nil {
				t.Fatal(err)
			}
			run, err := art.RunHost(HostOptions{}, []map[string]string{{"url": shared.PushURL(), "tenant_id": tenant}}, chunks)
			if err != nil {
				t.Fatal(err)
			}
			if run.Exit != 0 || run.OK != len(chunks) || strings.Contains(run.Stderr, "panic") {
				t.Fatalf("exit=%d ok=%d of %d\n%s", run.Exit, run.OK, len(chunks), run.Stderr)
			}
			got := mustQuery(t, shared, tenant, `{job="kube-audit"}`, time.Now().Add(-24*time.Hour), time.Now().Add(time.Minute))
			if len(got) != events {
				t.Errorf("%d entries stored, want %d\n%s", len(got), events, run.Stderr)
			}
			if unrecognized := len(records) - events; unrecognized > 0 && !strings.Contains(run.Stderr, fmt.Sprintf("unrecognized=%d", unrecognized)) {
				t.Errorf("%d records without an event not counted:\n%s", unrecognized, run.Stderr)
			}
			for _, e := range got {
				if ContainsCanary(e.Line) {
					t.Errorf("canary in %s", e.Metadata["audit_id"])
				}
			}
		})
	}
}

// corpusRecords reads a JSONL corpus the way tail without a parser would
// carry bad lines, re-times events to now so Loki accepts them, and counts
// the audit events the records hold.
func corpusRecords(t *testing.T, path string) ([]map[string]any, int) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var records []map[string]any
	events := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	now := time.Now().UTC()
	for i := 0; sc.Scan(); i++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			records = append(records, map[string]any{"log": sc.Text()})
			continue
		}
		if ev, ok := m["event"].(map[string]any); ok { // Panther's test wrapper
			m = ev
		}
		ts := now.Add(-time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		m["stageTimestamp"], m["requestReceivedTimestamp"] = ts, ts
		delete(m, "timestamp")
		evs, _, _ := decode.Events(m, nil)
		events += len(evs)
		records = append(records, m)
	}
	return records, events
}

// Loki goes away: the plugin answers FLB_RETRY, Fluent Bit retries, and
// once Loki is back every event is there exactly once. Two outages, one
// after the other: Loki down when flushing starts (connection refused), and
// Loki killed while flushes are in flight, at a deterministic point (a
// proxy kills it on the sixth push, after five were accepted).
func TestLokiOutage(t *testing.T) {
	need(t)
	dir := t.TempDir()
	l, err := StartLoki(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	restartAfter := func(d time.Duration) <-chan error {
		done := make(chan error, 1)
		go func() { time.Sleep(d); done <- l.Start() }()
		return done
	}
	end, span := window()
	s := Generate(4000, 11, end, span)
	chunks, err := WriteChunks(dir, "down", s.Events, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stored := func(tenant string) []Entry {
		t.Helper()
		got := mustQuery(t, l, tenant, `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
		byAuditID(t, got)
		return got
	}
	check := func(tenant, via string, run *HostRun, restarted <-chan error, want string) []Entry {
		t.Helper()
		if err := <-restarted; err != nil {
			t.Fatal(err)
		}
		if run.Exit != 0 || run.OK != len(chunks) || run.Retried == 0 || !strings.Contains(run.Stderr, want) {
			t.Fatalf("%s: exit=%d ok=%d of %d retried=%d, want retries on %q\n%s", via, run.Exit, run.OK, len(chunks), run.Retried, want, run.Stderr)
		}
		return stored(tenant)
	}
	opts := HostOptions{Workers: 2, Retries: -1, RetryWait: 500 * time.Millisecond}

	// Down before the first flush.
	l.Stop()
	restarted := restartAfter(1500 * time.Millisecond)
	run, err := art.RunHost(opts, []map[string]string{{"url": l.PushURL(), "tenant_id": "down-start", "timeout": "2s"}}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if got := check("down-start", "down at start", run, restarted, "connection refused"); len(got) != len(s.Events) {
		t.Errorf("down at start: %d entries after the outage, want %d (lost or duplicated)\n%s", len(got), len(s.Events), run.Stderr)
	}

	// Killed mid-flush.
	target, _ := url.Parse(l.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var pushes atomic.Int64
	killed := make(chan (<-chan error), 1)
	proxyAddr := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pushes.Add(1) == 6 {
			l.Stop()
			killed <- restartAfter(2 * time.Second)
		}
		proxy.ServeHTTP(w, r)
	}))
	run, err = art.RunHost(opts, []map[string]string{{"url": "http://" + proxyAddr + "/loki/api/v1/push", "tenant_id": "killed", "timeout": "2s"}}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case restarted = <-killed:
	default:
		t.Fatalf("the proxy saw %d pushes and never killed Loki", pushes.Load())
	}
	killedGot := check("killed", "killed mid-flush", run, restarted, "loki answered 502")

	// Loki itself can lose entries it acknowledged when it is killed: two
	// pushes to one stream in flight together may write their WAL records
	// out of order, and the replay then discards the earlier one as already
	// recovered (scripts/loki/BEHAVIOUR.md, "Start and stop"). Every entry
	// missing from either run after this restart must be one the replay
	// discarded; anything else is kaudit's.
	text := scrape(strings.TrimPrefix(l.URL(), "http://"))
	if text == "" {
		t.Fatal("Loki's /metrics could not be read")
	}
	discarded, err := metricSum(text, "loki_ingester_wal_discarded_samples_total")
	if err != nil {
		t.Fatal(err)
	}
	downGot := stored("down-start")
	if missing := 2*len(s.Events) - len(killedGot) - len(downGot); missing != int(discarded) {
		t.Errorf("killed mid-flush: %d entries stored, and %d of the first run after the restart, want %d each less the %v Loki's WAL replay discarded (lost or duplicated)\nhost:\n%s\nloki:\n%s",
			len(killedGot), len(downGot), len(s.Events), discarded, run.Stderr, l.LogTail())
	} else if missing > 0 {
		t.Logf("Loki's WAL replay discarded %d entries it had acknowledged; every other entry is stored once", missing)
	}
}

// A push mixing valid and invalid entries: Loki keeps the valid ones and
// answers 400; the chunk is acknowledged (never retried forever) and the
// refused entries are counted with Loki's reason. An event too big for
// max_line_size is never one of them: it is cut to fit.
func TestPartiallyInvalidPush(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(30, 13, end, span)
	old := Generate(1, 14, end.Add(-30*24*time.Hour), time.Minute).Events[0] // older than reject_old_samples_max_age
	huge := Generate(1, 15, end, time.Minute).Events[0]
	huge["requestObject"] = map[string]any{"kind": "ConfigMap", "data": map[string]any{"blob": strings.Repeat("x", 300<<10)}} // over max_line_size
	records := append(append([]map[string]any{old}, s.Events...), huge)
	chunks, err := WriteChunks(t.TempDir(), "invalid", records, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := art.RunHost(HostOptions{Retries: 2, RetryWait: 100 * time.Millisecond}, []map[string]string{{"url": shared.PushURL(), "tenant_id": "invalid"}}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || run.OK != 1 || run.Retried != 0 {
		t.Fatalf("exit=%d ok=%d retried=%d\n%s", run.Exit, run.OK, run.Retried, run.Stderr)
	}
	if !strings.Contains(run.Stderr, "loki rejected 1 of 32 entries") {
		t.Errorf("rejections not counted and logged:\n%s", run.Stderr)
	}
	got := mustQuery(t, shared, "invalid", `{job="kube-audit"}`, end.Add(-29*24*time.Hour), end.Add(time.Minute))
	if len(got) != 31 {
		t.Errorf("%d entries stored, want 31 (30 valid and the oversized one, cut)", len(got))
	}
}

// A Loki slower than the timeout: the flush gives up within the timeout
// (Fluent Bit's engine is never held longer) and retries; nothing is lost
// and nothing is stored twice even though the slow pushes did land.
func TestSlowLoki(t *testing.T) {
	need(t)
	target, _ := url.Parse(shared.URL())
	var slow atomic.Bool
	slow.Store(true)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxyAddr := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			time.Sleep(1500 * time.Millisecond)
			slow.Store(false) // the next attempt is fast
		}
		proxy.ServeHTTP(w, r)
	}))

	end, span := window()
	s := Generate(200, 17, end, span)
	chunks, err := WriteChunks(t.TempDir(), "slow", s.Events, 200, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	run, err := art.RunHost(HostOptions{Retries: 3, RetryWait: 2 * time.Second},
		[]map[string]string{{"url": "http://" + proxyAddr + "/loki/api/v1/push", "tenant_id": "slow", "timeout": "500ms"}}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || run.OK != 1 || run.Retried != 1 {
		t.Fatalf("exit=%d ok=%d retried=%d\n%s", run.Exit, run.OK, run.Retried, run.Stderr)
	}
	if first := run.Flushes[0]; first.RC != "RETRY" {
		t.Errorf("first flush %s, want RETRY", first.RC)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("flushes took %s: the timeout did not bound them", took)
	}
	got := mustQuery(t, shared, "slow", `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
	if len(got) != 200 {
		t.Errorf("%d entries, want 200 (lost or duplicated)", len(got))
	}
}

// mustQuery reads entries back from Loki or fails the test.
func mustQuery(t *testing.T, l *Loki, tenant, logql string, from, to time.Time) []Entry {
	t.Helper()
	got, err := l.Query(tenant, logql, from, to)
	if err != nil {
		t.Fatalf("%v\nloki log:\n%s", err, l.LogTail())
	}
	return got
}

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// serveLoopback serves h on a free 127.0.0.1 port until the test ends and
// returns its address: the tests' stand-ins in front of the real Loki
// (slow, failing, or killing it).
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// A chunk whose requests partly succeeded is retried from the request that
// failed: what Loki accepted is never sent again (Loki would not reliably
// drop the resend, scripts/loki/BEHAVIOUR.md). A proxy fails the second push
// of a chunk carrying several streams once.
func TestRetryResumesAfterAcceptedRequests(t *testing.T) {
	need(t)
	target, _ := url.Parse(shared.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var pushes int
	forwarded := map[[32]byte]int{}
	proxyAddr := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		mu.Lock()
		pushes++
		n := pushes
		if n != 2 {
			forwarded[sha256.Sum256(body)]++
		}
		mu.Unlock()
		if n == 2 {
			http.Error(w, "injected failure", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))

	end, span := window()
	s := Generate(400, 23, end, span)
	if len(s.Attacks) < 3 {
		t.Fatalf("sample has %d detection kinds; need several streams in the chunk", len(s.Attacks))
	}
	chunks, err := WriteChunks(t.TempDir(), "resume", s.Events, len(s.Events), chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := art.RunHost(HostOptions{Retries: 3, RetryWait: 200 * time.Millisecond},
		[]map[string]string{{"url": "http://" + proxyAddr + "/loki/api/v1/push", "tenant_id": "resume"}}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || run.OK != 1 || run.Retried != 1 {
		t.Fatalf("exit=%d ok=%d retried=%d\n%s", run.Exit, run.OK, run.Retried, run.Stderr)
	}
	mu.Lock()
	for _, n := range forwarded {
		if n > 1 {
			t.Errorf("a request Loki had accepted was sent again (%d times)", n)
		}
	}
	if pushes < 3 {
		t.Errorf("only %d pushes: the chunk did not span several requests", pushes)
	}
	mu.Unlock()
	got := mustQuery(t, shared, "resume", `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
	if len(got) != len(s.Events) {
		t.Errorf("%d entries, want %d", len(got), len(s.Events))
	}
	byAuditID(t, got)
}
