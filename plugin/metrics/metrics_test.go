package metrics

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/redact"
	"github.com/kaudit/kaudit/testdata"
)

var rules = []detect.Rule{
	{ID: "pod_exec", Severity: detect.High, Enabled: true},
	{ID: "off", Severity: detect.Critical, Enabled: false},
}

// Every series exists at zero from the start, and the exposition passes
// Prometheus' own lint (promtool check metrics uses the same package).
func TestExpositionLintAndZeroes(t *testing.T) {
	New("lint.0", rules)
	problems, err := promlint.NewWithMetricFamilies(gather(t)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	text := scrapeRegistry(t)
	for _, want := range []string{
		`kaudit_records_total{instance_name="lint.0"} 0`,
		`kaudit_events_total{instance_name="lint.0"} 0`,
		`kaudit_records_rejected_total{instance_name="lint.0",reason="malformed"} 0`,
		`kaudit_redactions_total{instance_name="lint.0",kind="failed_closed"} 0`,
		`kaudit_redactions_total{instance_name="lint.0",kind="token"} 0`,
		`kaudit_detections_total{instance_name="lint.0",rule="pod_exec",severity="high"} 0`,
		`kaudit_loki_requests_total{instance_name="lint.0",status="429"} 0`,
		`kaudit_loki_entries_dropped_total{instance_name="lint.0",reason="too_old"} 0`,
		`kaudit_loki_retries_total{instance_name="lint.0"} 0`,
		`kaudit_loki_request_duration_seconds_count{instance_name="lint.0"} 0`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(text, `rule="off"`) {
		t.Error("a disabled rule has a series")
	}
	if n := len(redact.Kinds()); strings.Count(text, `kaudit_redactions_total{instance_name="lint.0"`) != n {
		t.Errorf("want %d redaction kinds", n)
	}
}

func TestCountsAndNoAllocs(t *testing.T) {
	in := New("count.0", rules)
	p := in.Pipeline
	var r redact.Report
	if a := testing.AllocsPerRun(100, func() {
		p.Records.Inc()
		p.Detection("pod_exec")
		p.Redacted(r)
		p.Reject(ReasonFailed, 1)
		in.Loki.Request(204, 0)
	}); a != 0 {
		t.Errorf("hot path allocates %.0f times", a)
	}
	text := scrapeRegistry(t)
	for _, want := range []string{
		`kaudit_records_total{instance_name="count.0"} 101`,
		`kaudit_detections_total{instance_name="count.0",rule="pod_exec",severity="high"} 101`,
		`kaudit_records_rejected_total{instance_name="count.0",reason="failed"} 101`,
		`kaudit_loki_requests_total{instance_name="count.0",status="2xx"} 101`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
}

func TestDropOf(t *testing.T) {
	for msg, want := range map[string]Drop{
		"entry for stream '{a=\"b\"}' has timestamp too old: 2026-11-13T11:08:58Z":              DropTooOld,
		"entry with timestamp 2026-11-21 ignored, reason: 'entry too far behind, oldest ...'":   DropTooOld,
		"entry for stream '{}' has timestamp too new: 2030-01-01":                               DropTooNew,
		"max entry size '262144' bytes exceeded for stream '{}' while adding an entry":          DropLineTooLong,
		"entry for stream '{}' has 16 label names; limit 15":                                    DropLabels,
		"couldn't parse labels: 1:5: parse error":                                               DropLabels,
		"structured metadata too large for stream":                                              DropStructuredMetadata,
		"Per stream rate limit exceeded (limit: 3MB/sec) while attempting to ingest for stream": DropRateLimited,
		"mime: no media type": DropOther,
	} {
		if got := DropOf(msg); got != want {
			t.Errorf("DropOf(%q) = %s, want %s", msg, got, want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[int]Status{0: StatusError, 204: Status2xx, 400: Status400, 401: Status4xx, 413: Status413, 429: Status429, 503: Status5xx} {
		if got := StatusOf(code); got != want {
			t.Errorf("StatusOf(%d) = %s, want %s", code, statusNames[got], statusNames[want])
		}
	}
}

// Two instances naming one address share its server; the port stays open
// until the last one closes; a port held elsewhere fails at start.
func TestServeShareAndConflict(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if _, err := Serve(addr); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("held port: err %v, want one naming %s", err, addr)
	}
	ln.Close()
	a, err := Serve(addr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Serve(addr)
	if err != nil {
		t.Fatalf("second instance on the same address: %v", err)
	}
	a.Close()
	a.Close() // idempotent: must not release b's hold
	if body := get(t, "http://"+addr+"/metrics"); !strings.Contains(body, "kaudit_records_total") {
		t.Errorf("scrape after one close:\n%s", body)
	}
	b.Close()
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("listener still open after the last close")
	}
	for _, bad := range []string{"localhost", ":0", ":http", "1.2.3.4:70000"} {
		if _, err := Serve(bad); err == nil {
			t.Errorf("Serve(%q) accepted", bad)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func gather(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	mfs, err := Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func scrapeRegistry(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(Registry(), promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestReadme(t *testing.T) {
	testdata.CheckReadme(t, "METRICS", Markdown())
}

// A closed instance leaves nothing on /metrics, and another instance's
// series stay: a hot reload stops every instance and starts new ones in
// the same process.
func TestCloseRemovesTheInstance(t *testing.T) {
	gone, kept := New("reload.0", rules), New("reload.1", rules)
	gone.Pipeline.Records.Inc()
	gone.Loki.Request(204, time.Millisecond)
	kept.Pipeline.Records.Inc()
	gone.Close()
	text := scrapeRegistry(t)
	if strings.Contains(text, `instance_name="reload.0"`) {
		t.Errorf("series of the closed instance remain:\n%s", text)
	}
	for _, want := range []string{`kaudit_records_total{instance_name="reload.1"} 1`, `kaudit_delivery_up{instance_name="reload.1"} 1`} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
}
