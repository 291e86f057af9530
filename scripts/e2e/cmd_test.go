package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/testdata"
)

// replayEntry is one line of `kaudit replay`.
type replayEntry struct {
	Tenant   string
	Labels   map[string]string
	Metadata map[string]string
	Time     time.Time
	Line     string
}

// `kaudit replay` prints exactly what the .so, loaded by the Fluent Bit
// host, stores in Loki: the same lines, stream labels, structured metadata
// and timestamps, byte for byte, for the shared corpora and every fixture
// under testdata (raw events, EventList, AKS, strings under log, secrets).
func TestReplayMatchesPlugin(t *testing.T) {
	need(t)
	root, _ := testdata.Root()
	inputs := map[string][]string{}
	corpora := testdata.Corpora(t)
	for _, f := range corpora {
		inputs[strings.TrimSuffix(filepath.Base(f), ".jsonl")] = []string{f}
	}
	fixtures, _ := filepath.Glob(filepath.Join(root, "testdata", "*", "*.json"))
	more, _ := filepath.Glob(filepath.Join(root, "testdata", "*", "*", "*.json"))
	inputs["testdata"] = append(fixtures, more...)
	if len(inputs["testdata"]) == 0 {
		t.Fatal("no fixtures under testdata")
	}
	for name, files := range inputs {
		t.Run(name, func(t *testing.T) {
			tenant := "replay-" + name
			records := retimedRecords(t, files)
			dir := t.TempDir()
			in := filepath.Join(dir, "in.jsonl")
			writeJSONL(t, in, records, false)

			// The plugin's side: chunks of the same records through the host.
			chunks, err := WriteChunks(dir, "c", records, 50, chunk.Options{Time: chunk.TimeEventTime})
			if err != nil {
				t.Fatal(err)
			}
			run, err := art.RunHost(HostOptions{}, []map[string]string{{"url": shared.PushURL(), "tenant_id": tenant, "structured_metadata": "env=test,group=$objectRef.apiGroup"}}, chunks)
			if err != nil {
				t.Fatal(err)
			}
			if run.Exit != 0 {
				t.Fatalf("host exit %d\n%s", run.Exit, run.Stderr)
			}
			stored, err := shared.Query(tenant, `{job="kube-audit"}`, time.Now().Add(-2*time.Hour), time.Now().Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}

			// The command's side.
			out, stderr := runCmd(t, "replay", "-o", "tenant_id="+tenant, "-o", "structured_metadata=env=test,group=$objectRef.apiGroup", in)
			replayed := parseReplay(t, out)
			if len(replayed) == 0 || len(replayed) != len(stored) {
				t.Fatalf("replay printed %d entries, Loki holds %d (%s)", len(replayed), len(stored), stderr)
			}
			byKey := map[string]Entry{}
			for _, e := range stored {
				byKey[e.Time.Format(time.RFC3339Nano)+"\x00"+e.Line] = e
			}
			for _, r := range replayed {
				e, ok := byKey[r.Time.Format(time.RFC3339Nano)+"\x00"+r.Line]
				if !ok {
					t.Errorf("replayed entry at %s not stored by the plugin (or its line differs): %.200s", r.Time, r.Line)
					continue
				}
				if r.Tenant != tenant {
					t.Errorf("tenant %q", r.Tenant)
				}
				// Loki adds service_name and detected_level itself
				// (scripts/loki/BEHAVIOUR.md); everything else is kaudit's.
				labels := without(e.Labels, "service_name")
				if !equal(labels, r.Labels) {
					t.Errorf("%s: labels: Loki %v, replay %v", r.Metadata["audit_id"], labels, r.Labels)
				}
				md := without(e.Metadata, "detected_level")
				if !equal(md, r.Metadata) {
					t.Errorf("%s: metadata: Loki %v, replay %v", r.Metadata["audit_id"], md, r.Metadata)
				}
			}
		})
	}
}

// retimedRecords reads JSON lines or pretty-printed fixtures and moves
// every event to the last minutes (Loki refuses old entries), keeping each
// shape (EventList items, AKS properties.log strings, log strings). Events
// without a time would take the time they were read, which differs between
// the two runs by nature, so every event gets one.
func retimedRecords(t *testing.T, files []string) []map[string]any {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	n := 0
	var out []map[string]any
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var docs []map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		for dec.More() {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				docs = nil
				break
			}
			docs = append(docs, m)
		}
		if docs == nil { // lines, some not JSON at all
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				d := json.NewDecoder(strings.NewReader(line))
				d.UseNumber()
				var m map[string]any
				if d.Decode(&m) != nil || m == nil {
					m = map[string]any{"log": line}
				}
				docs = append(docs, m)
			}
		}
		for _, m := range docs {
			if ev, ok := m["event"].(map[string]any); ok { // Panther's test wrapper
				m = ev
			}
			out = append(out, retime(m, now, &n).(map[string]any))
		}
	}
	return out
}

func retime(v any, now time.Time, n *int) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = retime(e, now, n)
		}
		_, a := x["auditID"]
		_, s := x["stageTimestamp"]
		_, r := x["requestReceivedTimestamp"]
		_, v := x["verb"] // partial (EKS-style) events carry no time at all
		_, u := x["requestURI"]
		if _, gke := x["protoPayload"]; gke { // a GKE entry: its own time is the event's
			*n++
			x["timestamp"] = now.Add(-time.Duration(*n) * time.Millisecond).Format(time.RFC3339Nano)
			return x
		}
		if aw, ok := x["awslogs"].(map[string]any); ok { // a gzip'd CloudWatch batch
			if data, ok := aw["data"].(string); ok {
				aw["data"] = retimeAWSLogs(data, now, n)
			}
			return x
		}
		if a || s || r || v || u || x["kind"] == "Event" {
			*n++
			ts := now.Add(-time.Duration(*n) * time.Millisecond).Format(time.RFC3339Nano)
			x["stageTimestamp"], x["requestReceivedTimestamp"] = ts, ts
			delete(x, "timestamp")
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = retime(e, now, n)
		}
		return x
	case string:
		if s := strings.TrimSpace(x); strings.HasPrefix(s, "{") {
			d := json.NewDecoder(strings.NewReader(s))
			d.UseNumber()
			var m map[string]any
			if d.Decode(&m) == nil {
				b, _ := json.Marshal(retime(m, now, n))
				return string(b)
			}
		}
	}
	return v
}

// retimeAWSLogs retimes the events inside base64 of gzip of a CloudWatch
// batch.
func retimeAWSLogs(data string, now time.Time, n *int) string {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return data
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return data
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return data
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil {
		return data
	}
	out, _ := json.Marshal(retime(m, now, n))
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(out)
	zw.Close()
	return base64.StdEncoding.EncodeToString(z.Bytes())
}

func writeJSONL(t *testing.T, path string, records []map[string]any, gz bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		zw.Close()
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func runCmd(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(art.Cmd, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("kaudit %s: %v\n%s", strings.Join(args, " "), err, e.String())
	}
	return o.String(), e.String()
}

func parseReplay(t *testing.T, out string) []replayEntry {
	t.Helper()
	var es []replayEntry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var raw struct {
			Tenant   string            `json:"tenant"`
			Labels   map[string]string `json:"labels"`
			Metadata map[string]string `json:"metadata"`
			Time     time.Time         `json:"time"`
			Line     string            `json:"line"`
		}
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("replay output %q: %v", line, err)
		}
		es = append(es, replayEntry(raw))
	}
	return es
}

func without(m map[string]string, key string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// `kaudit push` backfills 100,000 events, from a plain file and a gzip'd
// rotated one in every record shape, into the real Loki; every event is
// queryable afterwards, exactly once.
func TestPushBackfill(t *testing.T) {
	need(t)
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	end := time.Now().Truncate(time.Second)
	span := 50 * time.Minute
	s := Generate(n, 7, end, span)
	dir := t.TempDir()
	half := len(s.Events) / 2
	plain := filepath.Join(dir, "audit.log")
	rotated := filepath.Join(dir, "audit-2024-01-01T00-00-00.000.log")
	writeJSONL(t, rotated, Shapes(s.Events[:half]), true)
	writeJSONL(t, plain, s.Events[half:], false)

	start := time.Now()
	_, stderr := runCmd(t, "push", "--url", shared.PushURL(), "-o", "tenant_id=backfill", "--progress", rotated, plain)
	took := time.Since(start)
	if !strings.Contains(stderr, "[####") || !strings.Contains(stderr, fmt.Sprintf("delivered %d, refused by Loki 0", n)) {
		t.Fatalf("push summary:\n%s", stderr)
	}
	t.Log(strings.TrimSpace(stderr[strings.LastIndex(stderr, "\n[")+1:]))
	t.Logf("kaudit push: %d events in %s = %.0f events/s (2 shared cores, Loki on the same machine)", n, took.Round(time.Millisecond), float64(n)/took.Seconds())

	got, err := shared.Query("backfill", `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ids := byAuditID(t, got)
	if len(got) != n || len(ids) != n {
		t.Fatalf("%d entries (%d audit ids) in Loki, want %d", len(got), len(ids), n)
	}
	for _, ev := range s.Events {
		if _, ok := ids[ev["auditID"].(string)]; !ok {
			t.Fatalf("event %s missing", ev["auditID"])
		}
	}
	for id, rule := range s.Planted {
		if e := ids[id]; !strings.Contains(e.Labels["detection"], rule) {
			t.Errorf("%s: detection %q, want %s", id, e.Labels["detection"], rule)
		}
	}
	for _, e := range got {
		if ContainsCanary(e.Line) {
			t.Fatalf("canary in %s", e.Metadata["audit_id"])
		}
	}
}

// Loki unreachable: push retries, then exits non-zero naming what was not
// delivered; nothing is reported as sent.
func TestPushFailsLoudly(t *testing.T) {
	need(t)
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := Generate(10, 1, time.Now(), time.Minute)
	in := filepath.Join(t.TempDir(), "audit.log")
	writeJSONL(t, in, s.Events, false)
	cmd := exec.Command(art.Cmd, "push", "--url", "http://"+addr+"/loki/api/v1/push", "--max-retries", "2", in)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "records 1-10 (10 entries) not delivered after 3 attempts") || !strings.Contains(string(out), "delivered 0") {
		t.Errorf("message:\n%s", out)
	}
}

// The plugin's metrics, scraped from the .so while the Fluent Bit host
// holds it loaded: two instances share one listener, the exposition passes
// Prometheus' lint and the counts match what Loki received.
func TestMetricsScrape(t *testing.T) {
	need(t)
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	end, span := window()
	s := Generate(1500, 11, end, span)
	records := Shapes(s.Events)
	chunks, err := WriteChunks(t.TempDir(), "m", records, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// One record no shape recognizes, in its own chunk.
	bad, err := WriteChunks(t.TempDir(), "u", []map[string]any{{"hello": "world"}}, 1, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	chunks = append(chunks, bad...)

	type result struct {
		run *HostRun
		err error
	}
	done := make(chan result, 1)
	go func() {
		run, err := art.RunHost(HostOptions{Workers: 2, Linger: 10 * time.Second}, []map[string]string{
			{"url": shared.PushURL(), "tenant_id": "metrics-a", "metrics_listen": addr},
			{"url": shared.PushURL(), "tenant_id": "metrics-b", "metrics_listen": addr},
		}, chunks)
		done <- result{run, err}
	}()
	n := len(s.Events)
	var text string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case r := <-done:
			t.Fatalf("host ended before the final scrape: %v\n%s", r.err, r.run.Stderr)
		default:
		}
		text = scrape(addr)
		if metric(text, `kaudit_loki_entries_accepted_total{instance_name="kaudit.0"}`) == float64(n) &&
			metric(text, `kaudit_loki_entries_accepted_total{instance_name="kaudit.1"}`) == float64(n) &&
			metric(text, `kaudit_records_rejected_total{instance_name="kaudit.1",reason="unrecognized"}`) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts never reached %d:\n%s", n, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	for _, inst := range []string{"kaudit.0", "kaudit.1"} {
		l := `{instance_name="` + inst + `"`
		if got := metric(text, `kaudit_records_total`+l+`}`); got != float64(len(records)+1) {
			t.Errorf("%s records %v, want %d", inst, got, len(records)+1)
		}
		if got := metric(text, `kaudit_events_total`+l+`}`); got != float64(n) {
			t.Errorf("%s events %v, want %d", inst, got, n)
		}
		for rule, planted := range s.Attacks {
			re := regexp.MustCompile(`kaudit_detections_total\{instance_name="` + regexp.QuoteMeta(inst) + `",rule="` + rule + `",severity="[a-z]+"\} (\S+)`)
			m := re.FindStringSubmatch(text)
			if m == nil {
				t.Errorf("%s: no detections series for %s", inst, rule)
				continue
			}
			if v, _ := strconv.ParseFloat(m[1], 64); v < float64(planted) {
				t.Errorf("%s: %s detections %v, planted %d", inst, rule, v, planted)
			}
		}
		if metric(text, `kaudit_redactions_total`+l+`,kind="secret_data"}`) < float64(s.Secrets) {
			t.Errorf("%s: secret_data redactions below %d", inst, s.Secrets)
		}
		reqs := metric(text, `kaudit_loki_requests_total`+l+`,status="2xx"}`)
		if reqs < 1 || metric(text, `kaudit_loki_request_duration_seconds_count`+l+`}`) != reqs {
			t.Errorf("%s: requests %v vs latency count %v", inst, reqs, metric(text, `kaudit_loki_request_duration_seconds_count`+l+`}`))
		}
		for _, zero := range []string{`kaudit_loki_retries_total` + l + `}`, `kaudit_loki_entries_dropped_total` + l + `,reason="too_old"}`, `kaudit_records_rejected_total` + l + `,reason="failed"}`} {
			if v := metric(text, zero); v != 0 {
				t.Errorf("%s = %v, want 0 (and present)", zero, v)
			}
		}
	}
	r := <-done
	if r.err != nil || r.run.Exit != 0 {
		t.Fatalf("host: %v exit %d\n%s", r.err, r.run.Exit, r.run.Stderr)
	}
}

func scrape(addr string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric returns the value of the series written exactly as name{labels},
// or -1 when it is absent.
func metric(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// metricSum sums every series of name in a /metrics text, whatever their
// labels: zero when there is none.
func metricSum(text, name string) (float64, error) {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %q: %w", name, line, err)
		}
		sum += v
	}
	return sum, nil
}

// A metrics_listen port held by another process stops Fluent Bit at start
// with one line naming the key and the address.
func TestMetricsListenConflict(t *testing.T) {
	need(t)
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	run, err := art.RunHost(HostOptions{}, []map[string]string{{"url": shared.PushURL(), "metrics_listen": addr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit == 0 || !strings.Contains(run.Stderr, `metrics_listen: "`+addr+`": `) {
		t.Fatalf("exit %d\n%s", run.Exit, run.Stderr)
	}
}
