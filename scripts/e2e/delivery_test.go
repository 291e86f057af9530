package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
)

// scraped runs the host with one instance serving metrics and returns the
// run and the last scrape taken before the plugin was unloaded (the host
// lingers after the last flush, so that scrape sees the final counts).
func scraped(t *testing.T, opts HostOptions, props map[string]string, chunks []string) (*HostRun, string) {
	t.Helper()
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	props["metrics_listen"] = addr
	opts.Linger = 1500 * time.Millisecond
	type result struct {
		run *HostRun
		err error
	}
	done := make(chan result, 1)
	go func() {
		run, err := art.RunHost(opts, []map[string]string{props}, chunks)
		done <- result{run, err}
	}()
	var last string
	for {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatal(r.err)
			}
			return r.run, last
		case <-time.After(150 * time.Millisecond):
			if s := scrape(addr); s != "" {
				last = s
			}
		}
	}
}

func inst(series, labels string) string {
	if labels == "" {
		return series + `{instance_name="kaudit.0"}`
	}
	return series + `{instance_name="kaudit.0",` + labels + `}`
}

// A Loki that does not allow structured metadata stores every event: the
// client sends the same entries without it, says so once, and counts it.
// With structured_metadata_mode on, delivery is blocked instead (retried,
// one error line), never acknowledged unstored.
func TestStructuredMetadataRefused(t *testing.T) {
	need(t)
	dir := t.TempDir()
	l, err := StartLokiWith(dir, "-validation.allow-structured-metadata=false")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	end, span := window()
	s := Generate(2000, 31, end, span)
	chunks, err := WriteChunks(dir, "nosm", s.Events, 200, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, text := scraped(t, HostOptions{Workers: 2, Retries: 2, RetryWait: 200 * time.Millisecond}, map[string]string{"url": l.PushURL(), "tenant_id": "nosm"}, chunks)
	if run.Exit != 0 || run.OK != len(chunks) || run.Retried != 0 {
		t.Fatalf("exit=%d ok=%d of %d retried=%d\n%s", run.Exit, run.OK, len(chunks), run.Retried, run.Stderr)
	}
	if n := strings.Count(run.Stderr, "loki refuses structured metadata"); n != 1 {
		t.Errorf("%d lines about the refusal, want 1\n%s", n, run.Stderr)
	}
	got := mustQuery(t, l, "nosm", `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
	if len(got) != len(s.Events) {
		t.Errorf("%d of %d events stored", len(got), len(s.Events))
	}
	if v := metric(text, inst("kaudit_loki_structured_metadata_stripped_total", "")); v != float64(len(s.Events)) {
		t.Errorf("stripped_total %v, want %d", v, len(s.Events))
	}
	if v := metric(text, inst("kaudit_loki_structured_metadata_refused", "")); v != 1 {
		t.Errorf("structured_metadata_refused %v, want 1", v)
	}
	if v := metric(text, inst("kaudit_loki_entries_dropped_total", `reason="structured_metadata"`)); v != 0 {
		t.Errorf("entries counted dropped for their framing: %v", v)
	}

	run, text = scraped(t, HostOptions{Retries: 2, RetryWait: 200 * time.Millisecond}, map[string]string{"url": l.PushURL(), "tenant_id": "nosm-on", "structured_metadata_mode": "on"}, chunks[:1])
	if run.OK != 0 || run.Retried == 0 || strings.Count(run.Stderr, "delivery blocked (structured_metadata)") != 1 {
		t.Errorf("mode on: ok=%d retried=%d, want blocked with one error line\n%s", run.OK, run.Retried, run.Stderr)
	}
	if v := metric(text, inst("kaudit_delivery_blocked", `reason="structured_metadata"`)); v != 1 {
		t.Errorf("delivery_blocked{structured_metadata} %v, want 1", v)
	}
}

// bigSecretList is a cluster-wide Secret list of about size bytes once
// redacted (names and labels survive redaction; data does not).
func bigSecretList(base map[string]any, size int) map[string]any {
	ev := map[string]any{}
	for k, v := range base {
		ev[k] = v
	}
	ev["verb"], ev["level"], ev["requestURI"] = "list", "RequestResponse", "/api/v1/secrets"
	ev["objectRef"] = map[string]any{"resource": "secrets", "apiVersion": "v1"}
	ev["user"] = map[string]any{"username": "mallory", "groups": []any{"system:authenticated"}}
	ev["responseStatus"] = map[string]any{"metadata": map[string]any{}, "code": 200}
	delete(ev, "requestObject")
	var items []any
	for n := 0; n < size; n += 230 {
		items = append(items, map[string]any{
			"metadata": map[string]any{"name": fmt.Sprintf("secret-%07d", len(items)), "namespace": fmt.Sprintf("team-%03d", len(items)%500),
				"labels": map[string]any{"app.kubernetes.io/name": "payments", "app.kubernetes.io/part-of": "shop-" + strings.Repeat("x", 60)}},
			"type": "Opaque", "data": map[string]any{"token": "c2VjcmV0"},
		})
	}
	ev["responseObject"] = map[string]any{"kind": "SecretList", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "98765"}, "items": items}
	return ev
}

// Events of 1 MB and 10 MB under Loki's default 256 KiB max_line_size are
// stored, cut to fit, marked with what was cut and their original size.
func TestBigEventsStored(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(50, 33, end, span)
	big1 := bigSecretList(s.Events[10], 1<<20)
	big1["auditID"] = "big-1mb"
	big10 := bigSecretList(s.Events[20], 10<<20)
	big10["auditID"] = "big-10mb"
	records := append(append([]map[string]any{}, s.Events...), big1, big10)
	chunks, err := WriteChunks(t.TempDir(), "big", records, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, text := scraped(t, HostOptions{Retries: 2, RetryWait: 200 * time.Millisecond}, map[string]string{"url": shared.PushURL(), "tenant_id": "big"}, chunks)
	if run.Exit != 0 || run.OK != 1 || run.Retried != 0 || strings.Contains(run.Stderr, "loki rejected") {
		t.Fatalf("exit=%d ok=%d retried=%d\n%s", run.Exit, run.OK, run.Retried, run.Stderr)
	}
	got := byAuditID(t, mustQuery(t, shared, "big", `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute)))
	if len(got) != len(records) {
		t.Fatalf("%d of %d events stored", len(got), len(records))
	}
	for _, id := range []string{"big-1mb", "big-10mb"} {
		e := got[id]
		if len(e.Line) > 262144 {
			t.Errorf("%s: line of %d bytes", id, len(e.Line))
		}
		var line struct {
			Kaudit struct {
				Cut           string `json:"cut"`
				OriginalBytes int    `json:"original_bytes"`
			} `json:"kaudit"`
			User           map[string]any `json:"user"`
			ObjectRef      map[string]any `json:"objectRef"`
			ResponseObject map[string]any `json:"responseObject"`
			Annotations    map[string]any `json:"annotations"`
		}
		if err := json.Unmarshal([]byte(e.Line), &line); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if line.Kaudit.Cut != "responseObject" || line.Kaudit.OriginalBytes < 900<<10 || e.Metadata["cut"] != "responseObject" {
			t.Errorf("%s: mark %+v, metadata cut=%q", id, line.Kaudit, e.Metadata["cut"])
		}
		if line.User["username"] == nil || line.ObjectRef["resource"] != "secrets" || line.ResponseObject["kind"] != "SecretList" || line.ResponseObject["items"] == nil {
			t.Errorf("%s: envelope or summary lost: %s", id, e.Line[:min(len(e.Line), 600)])
		}
		if e.Labels["detection"] == "" || !strings.Contains(e.Labels["detection"], "secret_list_all_namespaces") {
			t.Errorf("%s: labels %v: the cluster-wide list was not detected", id, e.Labels)
		}
	}
	if v := metric(text, inst("kaudit_lines_cut_total", "")); v != 2 {
		t.Errorf("lines_cut_total %v, want 2", v)
	}
	if v := metric(text, "go_memstats_heap_inuse_bytes"); v > 512<<20 {
		t.Errorf("heap in use %v bytes after 11 MB of events", v)
	}
}

// Three execs by one user sent while Loki is away, retried several times,
// come out exactly as without the outage: same labels, same lines, and no
// repeated-exec alert made up by counting the retries.
func TestOutageKeepsDetections(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(300, 35, end, span)
	records := append([]map[string]any{}, s.Events...)
	for i := range 3 {
		records = append(records, execBy(s.Events[i], "mallory", fmt.Sprintf("exec-%d", i)))
	}
	chunks, err := WriteChunks(t.TempDir(), "outage", records, len(records), chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	steady, err := art.RunHost(HostOptions{Retries: 1}, []map[string]string{{"url": shared.PushURL(), "tenant_id": "steady"}}, chunks)
	if err != nil || steady.OK != 1 {
		t.Fatalf("steady run: %v ok=%d\n%s", err, steady.OK, steady.Stderr)
	}
	target, _ := url.Parse(shared.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var pushes atomic.Int64
	addr := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Down for the first push of three attempts; later attempts get
		// further, so the retries also resume after accepted requests.
		if n := pushes.Add(1); n == 1 || n == 3 || n == 5 {
			io.Copy(io.Discard, r.Body)
			http.Error(w, "loki is away", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	run, text := scraped(t, HostOptions{Retries: 5, RetryWait: 200 * time.Millisecond},
		map[string]string{"url": "http://" + addr + "/loki/api/v1/push", "tenant_id": "outage"}, chunks)
	if run.OK != 1 || run.Retried < 3 {
		t.Fatalf("ok=%d retried=%d, want several retries then success\n%s", run.OK, run.Retried, run.Stderr)
	}
	want := byAuditID(t, mustQuery(t, shared, "steady", `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute)))
	got := byAuditID(t, mustQuery(t, shared, "outage", `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute)))
	if len(got) != len(records) || len(want) != len(records) {
		t.Fatalf("%d entries after the outage, %d without, want %d", len(got), len(want), len(records))
	}
	for id, w := range want {
		g := got[id]
		if fmt.Sprint(g.Labels) != fmt.Sprint(w.Labels) || g.Line != w.Line || fmt.Sprint(g.Metadata) != fmt.Sprint(w.Metadata) {
			t.Errorf("%s differs after the outage:\n%v %v\n%v %v", id, w.Labels, w.Metadata, g.Labels, g.Metadata)
		}
		if strings.Contains(g.Labels["detection"], "pod_exec_repeated") {
			t.Errorf("%s labelled pod_exec_repeated", id)
		}
	}
	if got["exec-2"].Labels["detection"] == "" {
		t.Error("the execs were not detected at all")
	}

	// Fluent Bit restarted before the chunk got through: the record is
	// gone and the chunk is detected afresh, with empty counters, so it
	// comes out as without any outage.
	down := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "loki is away", http.StatusServiceUnavailable)
	}))
	before, err := art.RunHost(HostOptions{Retries: 2, RetryWait: 100 * time.Millisecond}, []map[string]string{{"url": "http://" + down + "/loki/api/v1/push", "tenant_id": "restart"}}, chunks)
	if err != nil || before.OK != 0 {
		t.Fatalf("before the restart: %v ok=%d", err, before.OK)
	}
	after, err := art.RunHost(HostOptions{Retries: 1}, []map[string]string{{"url": shared.PushURL(), "tenant_id": "restart"}}, chunks)
	if err != nil || after.OK != 1 {
		t.Fatalf("after the restart: %v ok=%d\n%s", err, after.OK, after.Stderr)
	}
	restarted := byAuditID(t, mustQuery(t, shared, "restart", `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute)))
	for id, w := range want {
		if g := restarted[id]; fmt.Sprint(g.Labels) != fmt.Sprint(w.Labels) || g.Line != w.Line {
			t.Errorf("%s differs after a restart: %v, want %v", id, g.Labels, w.Labels)
		}
	}
	if v := metric(text, inst("kaudit_detections_reused_total", "")); v < float64(3*len(records)) {
		t.Errorf("detections_reused_total %v, want at least %d", v, 3*len(records))
	}
}

func execBy(base map[string]any, user, id string) map[string]any {
	ev := map[string]any{}
	for k, v := range base {
		ev[k] = v
	}
	delete(ev, "requestObject")
	delete(ev, "responseObject")
	ev["auditID"], ev["verb"], ev["stage"], ev["level"] = id, "create", "ResponseStarted", "Metadata"
	ev["requestURI"] = "/api/v1/namespaces/shop/pods/web/exec?command=sh"
	ev["user"] = map[string]any{"username": user, "groups": []any{"system:authenticated"}}
	ev["objectRef"] = map[string]any{"resource": "pods", "namespace": "shop", "name": "web", "subresource": "exec", "apiVersion": "v1"}
	ev["responseStatus"] = map[string]any{"metadata": map[string]any{}, "code": 101}
	return ev
}

// Mistakes only a human can fix block delivery loudly: one error line with
// the fix, the blocked gauge for the cause, delivery down; the chunk is
// kept for retry.
func TestBlockedDeliveryLoud(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(20, 37, end, span)
	chunks, err := WriteChunks(t.TempDir(), "blocked", s.Events, 20, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		props  map[string]string
		reason string
		fix    string
	}{
		{"401 multi-tenant without tenant", map[string]string{"url": shared.PushURL()}, "unauthorized", "set tenant_id"},
		{"404 url without push path", map[string]string{"url": shared.URL() + "/loki/api/v1", "tenant_id": "blocked"}, "not_found", "ending in /loki/api/v1/push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, text := scraped(t, HostOptions{Retries: 3, RetryWait: 200 * time.Millisecond}, tc.props, chunks)
			if run.OK != 0 || run.Retried != 4 { // the first attempt and its 3 retries
				t.Errorf("ok=%d retried=%d", run.OK, run.Retried)
			}
			var lines []string
			sc := bufio.NewScanner(strings.NewReader(run.Stderr))
			for sc.Scan() {
				if strings.Contains(sc.Text(), "delivery blocked") {
					lines = append(lines, sc.Text())
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], "[error]") || !strings.Contains(lines[0], tc.fix) {
				t.Errorf("want one error line with %q, got %q\n%s", tc.fix, lines, run.Stderr)
			}
			if v := metric(text, inst("kaudit_delivery_blocked", `reason="`+tc.reason+`"`)); v != 1 {
				t.Errorf("delivery_blocked{%s} = %v", tc.reason, v)
			}
			if v := metric(text, inst("kaudit_delivery_up", "")); v != 0 {
				t.Errorf("delivery_up = %v", v)
			}
		})
	}
}

// Entries Loki refuses as invalid are kept in rejected_path with Loki's
// reason, and counted.
func TestRejectedPathKeepsPoison(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(30, 39, end, span)
	old := Generate(1, 40, end.Add(-30*24*time.Hour), time.Minute).Events[0]
	old["auditID"] = "poison-old"
	future := Generate(1, 41, end.Add(3*time.Hour), time.Minute).Events[0]
	future["auditID"] = "poison-future"
	records := append(append([]map[string]any{old}, s.Events...), future)
	dir := t.TempDir()
	chunks, err := WriteChunks(dir, "poison", records, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rejected.jsonl")
	run, text := scraped(t, HostOptions{Retries: 2, RetryWait: 100 * time.Millisecond}, map[string]string{"url": shared.PushURL(), "tenant_id": "poison", "rejected_path": path}, chunks)
	if run.Exit != 0 || run.OK != 1 || run.Retried != 0 {
		t.Fatalf("exit=%d ok=%d retried=%d\n%s", run.Exit, run.OK, run.Retried, run.Stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			Line   string            `json:"line"`
			Tenant string            `json:"tenant"`
			Meta   map[string]string `json:"structured_metadata"`
			Reason string            `json:"reason"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if r.Tenant != "poison" {
			t.Errorf("tenant %q", r.Tenant)
		}
		kept[r.Meta["audit_id"]] = r.Reason
	}
	if len(kept) != 2 || !strings.Contains(kept["poison-old"], "too old") || !strings.Contains(kept["poison-future"], "too new") {
		t.Errorf("rejected_path holds %v", kept)
	}
	got := mustQuery(t, shared, "poison", `{job="kube-audit"}`, end.Add(-29*24*time.Hour), end.Add(time.Minute))
	if len(got) != len(s.Events) {
		t.Errorf("%d valid entries stored, want %d", len(got), len(s.Events))
	}
	if v := metric(text, inst("kaudit_loki_entries_saved_total", "")); v != 2 {
		t.Errorf("entries_saved_total %v, want 2", v)
	}
}

// The plugin's lines obey the instance's log_level, which Fluent Bit's
// core consumes: kaudit reads it through the proxy at init.
func TestLogLevelHonoured(t *testing.T) {
	need(t)
	for level, want := range map[string]bool{"error": false, "warn": false, "info": true, "debug": true} {
		run, err := art.RunHost(HostOptions{}, []map[string]string{{"url": shared.PushURL(), "tenant_id": "lvl", "log_level": level}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(run.Stderr, "kaudit:kaudit.0] kaudit"); got != want || run.Exit != 0 {
			t.Errorf("log_level %s: start line written %v, want %v (exit %d)\n%s", level, got, want, run.Exit, run.Stderr)
		}
	}
}

// Fluent Bit 5.1.1 checks an instance's keys against the config map a Go
// plugin registers: a misspelt key stops it at start with one line naming
// the key. Earlier versions take no map; there the plugin still refuses
// what it can look up by name: likely typos of its keys, the filter's keys,
// native loki keys it does not take.
func TestMisspeltKeyRefusedAtStart(t *testing.T) {
	need(t)
	for _, tc := range []struct {
		abi   int
		props map[string]string
		want  string // "" = starts
	}{
		{5, map[string]string{"lables": "job=x"}, "unknown configuration property 'lables'"},
		{5, map[string]string{"tennant_id": "acme"}, "unknown configuration property 'tennant_id'"},
		{5, map[string]string{"labels": "job=x", "storage.type": "filesystem", "Retry_Limit": "no_limits"}, ""},
		{4, map[string]string{"lables": "job=x"}, "lables: unknown key (did you mean labels?)"}, // no config map: the plugin asks for likely typos
		{4, map[string]string{"colour": "red"}, ""},                                             // what it cannot guess passes before 5.1.1
		{4, map[string]string{"min_severity": "high"}, "min_severity: a key of the kaudit filter, not of the output"},
		{3, map[string]string{"compress": "gzip"}, "compress: a key of Fluent Bit's loki output that kaudit does not take"},
	} {
		props := map[string]string{"url": shared.PushURL(), "tenant_id": "keys"}
		for k, v := range tc.props {
			props[k] = v
		}
		run, err := art.RunHost(HostOptions{ABI: tc.abi}, []map[string]string{props}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == "" {
			if run.Exit != 0 {
				t.Errorf("abi %d %v: exit %d\n%s", tc.abi, tc.props, run.Exit, run.Stderr)
			}
			continue
		}
		if run.Exit == 0 || strings.Count(run.Stderr, tc.want) != 1 {
			t.Errorf("abi %d %v: exit %d, want one line with %q\n%s", tc.abi, tc.props, run.Exit, tc.want, run.Stderr)
		}
	}
}

// A tenant_id_key value Loki cannot take as a tenant (the API server
// records whatever namespace a client put in a request's path, "|" is
// Loki's separator of several tenants, 150 bytes its limit) sends that
// event to tenant_id instead: Loki refuses such a push whole, and with
// Retry_Limit no_limits the chunk would be retried for ever, never stored.
func TestTenantKeyValueLokiRefuses(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(40, 43, end, span)
	bad := map[string]string{}
	for i, v := range []string{"evil|ns", strings.Repeat("n", 151), "a/b", ".."} {
		ev := s.Events[i*7]
		ev["objectRef"] = map[string]any{"resource": "pods", "namespace": v, "apiVersion": "v1"}
		bad[ev["auditID"].(string)] = v
	}
	for _, ev := range s.Events {
		if _, ok := bad[ev["auditID"].(string)]; !ok {
			ev["objectRef"] = map[string]any{"resource": "pods", "namespace": "tkv-ns", "apiVersion": "v1"}
		}
	}
	chunks, err := WriteChunks(t.TempDir(), "tkv", s.Events, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, text := scraped(t, HostOptions{Retries: 2, RetryWait: 100 * time.Millisecond}, map[string]string{
		"url": shared.PushURL(), "tenant_id": "tkv-default", "tenant_id_key": "objectRef.namespace", "labels": "job=tkv",
	}, chunks)
	if run.Exit != 0 || run.OK != 1 || run.Retried != 0 {
		t.Fatalf("exit=%d ok=%d retried=%d\n%s", run.Exit, run.OK, run.Retried, run.Stderr)
	}
	if v := metric(text, inst("kaudit_tenant_fallback_total", "")); v != float64(len(bad)) {
		t.Errorf("tenant_fallback_total %v, want %d", v, len(bad))
	}
	fallback := mustQuery(t, shared, "tkv-default", `{job="tkv"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
	got := map[string]bool{}
	for _, e := range fallback {
		got[e.Metadata["audit_id"]] = true
	}
	for id, v := range bad {
		if !got[id] {
			t.Errorf("event with namespace %.20q not stored under tenant_id", v)
		}
	}
	if len(fallback) != len(bad) {
		t.Errorf("%d entries under tenant_id, want %d", len(fallback), len(bad))
	}
	own := mustQuery(t, shared, "tkv-ns", `{job="tkv"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
	if len(own) != len(s.Events)-len(bad) {
		t.Errorf("%d entries under their namespace's tenant, want %d", len(own), len(s.Events)-len(bad))
	}
}

// Fluent Bit's hot reload stops every instance and starts the new
// configuration's in the same process, loading the plugin again: each
// round's chunks are stored once, the new instance serves metrics on the
// same address, and the stopped instances' series are gone from it.
func TestHotReload(t *testing.T) {
	need(t)
	end, span := window()
	s := Generate(600, 47, end, span)
	chunks, err := WriteChunks(t.TempDir(), "reload", s.Events, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, text := scraped(t, HostOptions{Workers: 2, Reloads: 2}, map[string]string{
		"url": shared.PushURL(), "tenant_id": "reload", "labels": "job=reload",
	}, chunks)
	if run.Exit != 0 || run.OK != len(chunks) || strings.Count(run.Stderr, "started:") != 3 || strings.Count(run.Stderr, "stopping:") != 3 {
		t.Fatalf("exit=%d ok=%d of %d, want three starts and stops\n%s", run.Exit, run.OK, len(chunks), run.Stderr)
	}
	got := mustQuery(t, shared, "reload", `{job="reload"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
	if len(got) != len(s.Events) {
		t.Errorf("%d entries after two reloads, want %d", len(got), len(s.Events))
	}
	byAuditID(t, got)
	if v := metric(text, `kaudit_records_total{instance_name="kaudit.2"}`); v != 200 {
		t.Errorf("the last instance counted %v records, want its 200\n%s", v, text)
	}
	for _, gone := range []string{`instance_name="kaudit.0"`, `instance_name="kaudit.1"`} {
		if strings.Contains(text, gone) {
			t.Errorf("a stopped instance's series remain: %s", gone)
		}
	}
}

// A backlog that reaches Loki after newer entries of its stream, further
// behind them than Loki's out-of-order window (an outage longer than an
// hour), is refused by Loki as "entry too far behind" and no retry changes
// that: kaudit sends those entries again into streams of their hour
// (label backfill), and every event is stored once. In the same chunks,
// events within the window stay in their stream. When a backfill push
// fails, the chunk is retried and the backfill streams Loki already holds
// are not sent again.
func TestBacklogBehindWindowStored(t *testing.T) {
	need(t)
	t.Run("direct", func(t *testing.T) { backlogBehindWindow(t, "backlog", "") })
	t.Run("backfill push fails once", func(t *testing.T) {
		target, _ := url.Parse(shared.URL())
		proxy := httputil.NewSingleHostReverseProxy(target)
		var failed, late atomic.Int64
		addr := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if pushesBackfill(body) && late.Add(1) == 2 {
				failed.Add(1)
				http.Error(w, "loki is away", http.StatusServiceUnavailable)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			proxy.ServeHTTP(w, r)
		}))
		run := backlogBehindWindow(t, "backlog-retry", addr)
		if failed.Load() != 1 || run.Retried != 1 {
			t.Errorf("%d backfill pushes failed, %d chunks retried; want 1 and 1", failed.Load(), run.Retried)
		}
	})
}

// pushesBackfill reports whether a push body carries a backfill stream.
func pushesBackfill(body []byte) bool {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return false
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		return false
	}
	for _, s := range req.Streams {
		if strings.Contains(s.Labels, "backfill=") {
			return true
		}
	}
	return false
}

// backlogBehindWindow pushes through via (host:port), or straight to the
// shared Loki when via is empty.
func backlogBehindWindow(t *testing.T, tenant, via string) *HostRun {
	end, span := window()
	dir := t.TempDir()
	live := Generate(40, 42, end, span)
	first, err := WriteChunks(dir, "live", live.Events, 100, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run, err := art.RunHost(HostOptions{Retries: 1}, []map[string]string{{"url": shared.PushURL(), "tenant_id": tenant}}, first); err != nil || run.OK != 1 {
		t.Fatalf("live run: %v\n%s", err, run.Stderr)
	}
	// Ninety minutes ending two hours before the live events: two or
	// three clock hours, all behind the window; then ten minutes inside it.
	old := Generate(300, 43, end.Add(-2*time.Hour), 90*time.Minute)
	recent := Generate(30, 44, end.Add(-span), 10*time.Minute)
	records := append(append([]map[string]any{}, old.Events...), recent.Events...)
	later, err := WriteChunks(dir, "backlog", records, 200, chunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	push := shared.PushURL()
	if via != "" {
		push = "http://" + via + "/loki/api/v1/push"
	}
	run, text := scraped(t, HostOptions{Retries: 2, RetryWait: 100 * time.Millisecond}, map[string]string{"url": push, "tenant_id": tenant}, later)
	if run.Exit != 0 || run.OK != len(later) {
		t.Fatalf("exit=%d ok=%d retried=%d\n%s", run.Exit, run.OK, run.Retried, run.Stderr)
	}
	from := end.Add(-4 * time.Hour)
	all := byAuditID(t, mustQuery(t, shared, tenant, `{job="kube-audit"}`, from, end.Add(time.Minute)))
	if want := len(live.Events) + len(records); len(all) != want {
		t.Errorf("%d events stored, want %d", len(all), want)
	}
	// Events of a stream the live run never wrote (a detection's label
	// set) start a new stream, which takes any time: only the others are
	// late.
	late := byAuditID(t, mustQuery(t, shared, tenant, `{job="kube-audit", backfill=~".+"}`, from, end.Add(time.Minute)))
	backlog := map[string]time.Time{}
	for _, ev := range old.Events {
		ts, err := time.Parse(time.RFC3339Nano, ev["stageTimestamp"].(string))
		if err != nil {
			t.Fatal(err)
		}
		backlog[ev["auditID"].(string)] = ts
	}
	for id, e := range late {
		ts, ok := backlog[id]
		if !ok {
			t.Errorf("%s (not of the backlog) in backfill stream %v", id, e.Labels)
		} else if h := e.Labels["backfill"]; h != ts.UTC().Format("2006-01-02T15") {
			t.Errorf("event of %s in backfill stream %q", ts.UTC().Format(time.RFC3339), h)
		}
	}
	if len(late) < len(old.Events)*9/10 {
		t.Errorf("%d of the %d backlog entries in backfill streams", len(late), len(old.Events))
	}
	// Accepted once each: a retry sends neither what the original
	// requests stored nor the backfill requests Loki took (Loki's queries
	// hide an exact resend, its counters do not).
	if v := metric(text, inst("kaudit_loki_entries_accepted_total", "")); v != float64(len(records)) {
		t.Errorf("entries_accepted_total %v, want %d", v, len(records))
	}
	if via == "" {
		if v := metric(text, inst("kaudit_loki_entries_backfilled_total", "")); v != float64(len(late)) {
			t.Errorf("entries_backfilled_total %v, want %d", v, len(late))
		}
	}
	if !strings.Contains(run.Stderr, "older than Loki's out-of-order window") || strings.Contains(run.Stderr, "loki rejected") {
		t.Errorf("log:\n%s", run.Stderr)
	}
	return run
}
