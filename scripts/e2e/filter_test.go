package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
)

// filterInput is a generated log in every record shape, written as chunks
// of both event formats with known record times and metadata, and what
// each event must look like after the filter.
type filterInput struct {
	s      *Sample
	chunks []string
	v2     map[string]bool // chunk path -> written in the v2 format
	// recTime and recV2 are keyed by auditID: the Fluent Bit time and format
	// of the record that carried the event.
	recTime map[string]time.Time
	recV2   map[string]bool
}

var filterMeta = map[string]any{"source": "e2e", "n": int64(7)}

func writeFilterInput(t *testing.T, dir string, n int) *filterInput {
	t.Helper()
	end, span := window()
	in := &filterInput{s: Generate(n, 7, end, span), v2: map[string]bool{}, recTime: map[string]time.Time{}, recV2: map[string]bool{}}
	records := Shapes(in.s.Events)
	base := time.Unix(1_700_000_000, 123456789).UTC()
	for i, format := range []chunk.Format{chunk.FormatV2, chunk.FormatLegacy} {
		part := records[i*len(records)/2 : (i+1)*len(records)/2]
		times := make([]time.Time, len(part))
		for j, rec := range part {
			times[j] = base.Add(time.Duration(i*len(records)/2+j) * time.Millisecond)
			evs, _, err := decode.Events(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				id := ev["auditID"].(string)
				in.recTime[id], in.recV2[id] = times[j], format == chunk.FormatV2
			}
		}
		for k := 0; k < len(part); k += 40 {
			opts := chunk.Options{Format: format, Time: chunk.TimeEventTime, Times: times[k:min(k+40, len(part))], Metadata: filterMeta}
			c, err := WriteChunks(dir, fmt.Sprintf("in%d-%04d", i, k), part[k:min(k+40, len(part))], 40, opts)
			if err != nil {
				t.Fatal(err)
			}
			in.v2[c[0]] = format == chunk.FormatV2
			in.chunks = append(in.chunks, c...)
		}
	}
	return in
}

func readChunk(t *testing.T, path string) []decode.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []decode.Record
	d := decode.NewDecoder(b)
	for {
		rec, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: filter output does not decode: %v", path, err)
		}
		out = append(out, rec)
	}
}

// The filter through the C-loader path: every event out as its own record,
// in its record's format, with its record's time and metadata, redacted,
// and marked with what kaudit found.
func TestFilter(t *testing.T) {
	need(t)
	dir, out := t.TempDir(), t.TempDir()
	in := writeFilterInput(t, dir, 1200)
	run, err := art.RunFilter("", []map[string]string{{"match": "kube-*"}}, in.chunks, out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || len(run.Out) != len(in.chunks) {
		t.Fatalf("host: exit=%d, %d chunks out of %d\n%s", run.Exit, len(run.Out), len(in.chunks), run.Stderr)
	}
	if !strings.Contains(run.Load, "symbol=filter_kaudit_plugin name=kaudit size=88 layout=3.2") {
		t.Errorf("load line: %q", run.Load)
	}
	seen := map[string]bool{}
	var marked, redacted int
	for _, c := range in.chunks {
		for _, rec := range readChunk(t, run.Out[c]) {
			body, _ := json.Marshal(rec.Body)
			if ContainsCanary(string(body)) {
				t.Fatalf("a canary secret left the filter")
			}
			id, _ := rec.Body["auditID"].(string)
			if id == "" || !decode.IsEvent(rec.Body) {
				t.Fatalf("output record is not an audit event (envelope kept?): keys %v", keys(rec.Body))
			}
			if seen[id] {
				t.Errorf("%s: emitted twice", id)
			}
			seen[id] = true
			if rec.V2 != in.v2[c] || rec.V2 != in.recV2[id] {
				t.Errorf("%s: v2=%t, input chunk v2=%t", id, rec.V2, in.v2[c])
			}
			if !rec.Time.Equal(in.recTime[id]) {
				t.Errorf("%s: record time %v, want %v", id, rec.Time, in.recTime[id])
			}
			if rec.V2 && !reflect.DeepEqual(rec.Metadata, filterMeta) {
				t.Errorf("%s: metadata %v, want %v", id, rec.Metadata, filterMeta)
			}
			mark, hasMark := rec.Body["kaudit"].(map[string]any)
			if rule := in.s.Planted[id]; rule != "" {
				if d, _ := mark["detection"].(string); !strings.Contains(d, rule) {
					t.Errorf("%s: planted %s, kaudit mark %v", id, rule, mark)
				}
				if sev, _ := mark["severity"].(string); sev == "" || !strings.Contains(mark["detections"].(string), rule+":") {
					t.Errorf("%s: kaudit mark %v lacks severity/detections", id, mark)
				}
			}
			if hasMark {
				marked++
				if r, _ := mark["redacted"].(string); r != "" {
					redacted++
				}
			}
			if !hasMark && rec.Body["kaudit"] != nil {
				t.Errorf("%s: kaudit field is %T", id, rec.Body["kaudit"])
			}
			if rec.Body["objectRef"].(map[string]any)["resource"] == "leases" && hasMark && in.s.Planted[id] == "" {
				t.Errorf("%s: a routine lease update carries a mark: %v", id, mark)
			}
		}
	}
	if len(seen) != len(in.s.Events) {
		t.Errorf("%d events out, want %d (EventLists split into one record per event)", len(seen), len(in.s.Events))
	}
	if redacted < in.s.Secrets {
		t.Errorf("%d records say something was redacted, want at least the %d secret reads", redacted, in.s.Secrets)
	}
	t.Logf("%d events, %d marked, %d redacted", len(seen), marked, redacted)
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// min_severity drops events below it; unrecognized pass keeps a foreign
// record as it came; two instances run in order like two [FILTER]s.
func TestFilterOptions(t *testing.T) {
	need(t)
	dir, out := t.TempDir(), t.TempDir()
	in := writeFilterInput(t, dir, 600)
	foreign := map[string]any{"msg": "not an audit event", "level": "info"}
	extra, err := WriteChunks(dir, "foreign", []map[string]any{foreign}, 1, chunk.Options{Format: chunk.FormatV2})
	if err != nil {
		t.Fatal(err)
	}
	chunks := append(in.chunks, extra...)
	run, err := art.RunFilter("", []map[string]string{
		{"match": "*", "unrecognized": "pass"},
		{"match": "*", "min_severity": "critical", "unrecognized": "pass"},
	}, chunks, out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 {
		t.Fatalf("host: exit=%d\n%s", run.Exit, run.Stderr)
	}
	var events, foreigners int
	for _, c := range chunks {
		for _, rec := range readChunk(t, run.Out[c]) {
			if rec.Body["msg"] != nil {
				foreigners++
				if !reflect.DeepEqual(rec.Body, foreign) {
					t.Errorf("unrecognized record changed: %v", rec.Body)
				}
				continue
			}
			events++
			sev, _ := rec.Body["kaudit"].(map[string]any)["severity"].(string)
			if sev != "critical" {
				t.Errorf("%v: severity %q passed min_severity critical", rec.Body["auditID"], sev)
			}
		}
	}
	if foreigners != 1 || events == 0 || events >= len(in.s.Planted) {
		t.Errorf("%d foreign records (want 1), %d events of %d planted (want some, not all)", foreigners, events, len(in.s.Planted))
	}

	// Without pass, the foreign record is dropped: an empty MODIFIED answer.
	run, err = art.RunFilter("", []map[string]string{{"match": "*"}}, extra, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.RC) != 1 || run.RC[0] != "MODIFIED" || len(readChunk(t, run.Out[extra[0]])) != 0 {
		t.Errorf("unrecognized drop: rc=%v, want one MODIFIED with no records\n%s", run.RC, run.Stderr)
	}
}

// A bad value stops Fluent Bit at start, with one line naming the key.
func TestFilterBadConfig(t *testing.T) {
	need(t)
	dir := t.TempDir()
	for _, tc := range []struct{ key, value string }{
		{"min_severity", "severe"},
		{"unrecognized", "keep"},
		{"rules_file", filepath.Join(dir, "missing.yaml")},
		{"redact_marker", `"x"`},
	} {
		t.Run(tc.key, func(t *testing.T) {
			run, err := art.RunFilter("", []map[string]string{{"match": "*", tc.key: tc.value}}, nil, dir)
			if err != nil {
				t.Fatal(err)
			}
			if run.Exit != 1 || len(run.Inits) != 1 || run.Inits[0] == 0 {
				t.Fatalf("exit=%d inits=%v, want a refused start\n%s", run.Exit, run.Inits, run.Stderr)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(run.Stderr), "\n") {
				if strings.Contains(l, "[filter:kaudit") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], tc.key+": ") || !strings.Contains(lines[0], "[error]") {
				t.Errorf("want one error line naming %s, got %q", tc.key, lines)
			}
		})
	}
}

// Every supported struct layout builds, loads in a host expecting it, and
// is refused by a host expecting the other one; unknown versions do not
// build.
func TestFilterLayouts(t *testing.T) {
	need(t)
	dir, out := t.TempDir(), t.TempDir()
	in := writeFilterInput(t, dir, 50)
	v30 := filepath.Join(dir, "v3.0")
	if err := Make(v30, "FLB_VERSION=3.0", filepath.Join(v30, "flb-filter_kaudit.so")); err != nil {
		t.Fatal(err)
	}
	if err := Make(filepath.Join(dir, "bad"), "FLB_VERSION=3", filepath.Join(dir, "bad", "flb-filter_kaudit.so")); err == nil || !strings.Contains(err.Error(), "FLB_VERSION=3 is not supported") {
		t.Errorf("FLB_VERSION=3: %v, want a refusal", err)
	}
	for _, tc := range []struct {
		so, abi, layout string
		ok              bool
	}{
		{filepath.Join(v30, "flb-filter_kaudit.so"), "3.0", "3.0", true},
		{filepath.Join(v30, "flb-filter_kaudit.so"), "3.1", "3.0", true},
		{filepath.Join(v30, "flb-filter_kaudit.so"), "5", "", false},
		{art.Filter, "3.2", "3.2", true},
		{art.Filter, "4", "3.2", true},
		{art.Filter, "5", "3.2", true},
		{art.Filter, "3.1", "", false},
	} {
		run, err := art.FilterAs(tc.so, tc.abi, []map[string]string{{"match": "*"}}, in.chunks[:1], out)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.ok {
			if run.Exit == 0 || !strings.Contains(run.Stderr, "built for another Fluent Bit") {
				t.Errorf("%s in a %s host: exit %d, want a refusal\n%s", tc.so, tc.abi, run.Exit, run.Stderr)
			}
			continue
		}
		if run.Exit != 0 || !strings.Contains(run.Load, "layout="+tc.layout) || len(readChunk(t, run.Out[in.chunks[0]])) == 0 {
			t.Errorf("%s in a %s host: exit %d, load %q\n%s", tc.so, tc.abi, run.Exit, run.Load, run.Stderr)
		}
	}
}

// One core, two packagings: the filter's output flushed through the output
// plugin stores the same Loki entries as the output alone on the same input,
// both with the two plugins (two Go runtimes) in one process, as Fluent Bit
// runs them, and with the filter's chunks written out and replayed.
func TestFilterThenOutput(t *testing.T) {
	need(t)
	dir, out := t.TempDir(), t.TempDir()
	in := writeFilterInput(t, dir, 1000)
	frun, err := art.RunFilter("", []map[string]string{{"match": "*"}}, in.chunks, out)
	if err != nil || frun.Exit != 0 {
		t.Fatalf("filter: %v\n%+v", err, frun)
	}
	var filtered []string
	for _, c := range in.chunks {
		filtered = append(filtered, frun.Out[c])
	}
	for _, tc := range []struct {
		tenant  string
		chunks  []string
		filters []map[string]string
	}{
		{"alone", in.chunks, nil},
		{"files", filtered, nil},
		{"together", in.chunks, []map[string]string{{"match": "kube-*"}}},
	} {
		run, err := art.RunHost(HostOptions{Workers: 2, Filters: tc.filters}, []map[string]string{{"url": shared.PushURL(), "tenant_id": "pack-" + tc.tenant}}, tc.chunks)
		if err != nil {
			t.Fatal(err)
		}
		if run.Exit != 0 || run.OK != len(tc.chunks) {
			t.Fatalf("%s: exit=%d ok=%d\n%s", tc.tenant, run.Exit, run.OK, run.Stderr)
		}
		if tc.filters != nil && !strings.Contains(run.Stderr, "[filter:kaudit:kaudit.0] stopping: records=") {
			t.Errorf("%s: the filter did not run in the output's process\n%s", tc.tenant, run.Stderr)
		}
	}
	end, span := window()
	query := func(tenant string) []Entry {
		es, err := shared.Query("pack-"+tenant, `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	alone := query("alone")
	if len(alone) != len(in.s.Events) {
		t.Fatalf("alone: %d entries, want %d", len(alone), len(in.s.Events))
	}
	a := byAuditID(t, alone)
	for _, tenant := range []string{"files", "together"} {
		got := query(tenant)
		if len(got) != len(alone) {
			t.Fatalf("%s: %d entries, want %d", tenant, len(got), len(alone))
		}
		var diffs int
		for id, ef := range byAuditID(t, got) {
			ea, ok := a[id]
			if !ok || !ea.Time.Equal(ef.Time) || ea.Line != ef.Line || !reflect.DeepEqual(ea.Labels, ef.Labels) || !reflect.DeepEqual(ea.Metadata, ef.Metadata) {
				if diffs++; diffs <= 3 {
					t.Errorf("%s: %s differs:\nalone    %v %v %v\n%s\nfiltered %v %v %v\n%s", tenant, id, ea.Time, ea.Labels, ea.Metadata, ea.Line, ef.Time, ef.Labels, ef.Metadata, ef.Line)
				}
			}
		}
		if diffs > 0 {
			t.Errorf("%s: %d of %d entries differ", tenant, diffs, len(a))
		}
	}
}

// A chunk of routine events kaudit leaves as they came is answered NOTOUCH
// through the C loader path, and Fluent Bit keeps it byte for byte; one
// secret read in the chunk makes it MODIFIED, with the secret gone.
func TestFilterNotTouched(t *testing.T) {
	need(t)
	dir, out := t.TempDir(), t.TempDir()
	s := Generate(400, 9, time.Now(), time.Hour)
	var leases, secrets []map[string]any
	for _, ev := range s.Events {
		ref, _ := ev["objectRef"].(map[string]any)
		switch {
		case s.Planted[ev["auditID"].(string)] != "":
		case ref["resource"] == "leases":
			leases = append(leases, ev)
		case ref["resource"] == "secrets" && ev["responseObject"] != nil:
			secrets = append(secrets, ev)
		}
	}
	if len(leases) < 10 || len(secrets) == 0 {
		t.Fatalf("%d lease updates, %d secret reads: the sample no longer tests this", len(leases), len(secrets))
	}
	opts := chunk.Options{Format: chunk.FormatV2, Time: chunk.TimeEventTime, Metadata: filterMeta}
	clean, err := WriteChunks(dir, "clean", leases, len(leases), opts)
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := WriteChunks(dir, "mixed", append(append([]map[string]any(nil), leases...), secrets[0]), len(leases)+1, opts)
	if err != nil {
		t.Fatal(err)
	}
	run, err := art.RunFilter("", []map[string]string{{"match": "*"}}, append(clean, mixed...), out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Exit != 0 || len(run.RC) != 2 {
		t.Fatalf("host: exit=%d rc=%v\n%s", run.Exit, run.RC, run.Stderr)
	}
	if run.RC[0] != "NOTOUCH" {
		t.Errorf("routine chunk: rc=%s, want NOTOUCH", run.RC[0])
	}
	want, _ := os.ReadFile(clean[0])
	if got, _ := os.ReadFile(run.Out[clean[0]]); string(got) != string(want) {
		t.Errorf("routine chunk: %d bytes out, not the %d bytes in", len(got), len(want))
	}
	if run.RC[1] != "MODIFIED" {
		t.Errorf("chunk with a secret read: rc=%s, want MODIFIED", run.RC[1])
	}
	if b, _ := os.ReadFile(run.Out[mixed[0]]); ContainsCanary(string(b)) {
		t.Error("a canary secret left the filter")
	}
	recs := readChunk(t, run.Out[mixed[0]])
	if len(recs) != len(leases)+1 {
		t.Errorf("chunk with a secret read: %d records out, want %d", len(recs), len(leases)+1)
	}
	for _, rec := range recs {
		if _, ok := rec.Body["kaudit"]; !ok && rec.Body["auditID"] == secrets[0]["auditID"] {
			t.Error("the secret read is not marked redacted")
		}
	}
}

// The filter's twin of TestMisspeltKeyRefusedAtStart: on Fluent Bit 5.0.3 to
// 5.1.x the filter registers a config map of its keys (the C constructor in
// plugin/filter/shim.c asks the host's --version), so the host refuses a
// misspelt key at start with one line, before cb_init; Fluent Bit's core
// filter keys and active pass. Elsewhere no map is registered and
// plugin/config's typo checks are all there is.
func TestFilterMisspeltKeyRefusedAtStart(t *testing.T) {
	need(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		abi   string
		props map[string]string
		cmap  bool
		want  string // "" = starts
	}{
		{"5", map[string]string{"min_severty": "high"}, true, "unknown configuration property 'min_severty'"},
		{"5", map[string]string{"colour": "red"}, true, "unknown configuration property 'colour'"},
		{"5", map[string]string{"labels": "job=x"}, true, "unknown configuration property 'labels'"}, // an output key
		{"5", map[string]string{"Min_Severity": "high", "alias": "a", "log_level": "info", "log_suppress_interval": "0",
			"active": "true", "redact_mode": "strict", "unrecognized": "pass"}, true, ""},
		{"4", map[string]string{"min_severty": "high"}, false, "min_severty: unknown key (did you mean min_severity?)"},
		{"4", map[string]string{"colour": "red"}, false, ""}, // what it cannot guess passes without a map
		{"3.2", map[string]string{"min_severity": "high"}, false, ""},
	} {
		props := map[string]string{"match": "*"}
		for k, v := range tc.props {
			props[k] = v
		}
		run, err := art.RunFilter(tc.abi, []map[string]string{props}, nil, dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("config_map=%d", map[bool]int{false: 0, true: 1}[tc.cmap]); !strings.Contains(run.Load, want) {
			t.Errorf("abi %s: load %q, want %s", tc.abi, run.Load, want)
		}
		if tc.want == "" {
			if run.Exit != 0 || len(run.Inits) != 1 || run.Inits[0] != 0 {
				t.Errorf("abi %s %v: exit %d inits %v\n%s", tc.abi, tc.props, run.Exit, run.Inits, run.Stderr)
			}
			continue
		}
		if run.Exit == 0 || strings.Count(run.Stderr, tc.want) != 1 {
			t.Errorf("abi %s %v: exit %d, want one line with %q\n%s", tc.abi, tc.props, run.Exit, tc.want, run.Stderr)
		}
		if tc.cmap && len(run.Inits) != 0 {
			t.Errorf("abi %s %v: cb_init ran (%v); the map check comes first", tc.abi, tc.props, run.Inits)
		}
	}
}

// The filter's own lines obey its log_level as flb_plg_* lines do: Fluent
// Bit keeps the level in the instance, where the filter reads it.
func TestFilterLogLevelHonoured(t *testing.T) {
	need(t)
	dir := t.TempDir()
	for level, want := range map[string]bool{"error": false, "warn": false, "info": true, "debug": true} {
		run, err := art.RunFilter("5", []map[string]string{{"match": "*", "log_level": level}}, nil, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(run.Stderr, "filter started"); got != want || run.Exit != 0 {
			t.Errorf("log_level %s: start line written %v, want %v (exit %d)\n%s", level, got, want, run.Exit, run.Stderr)
		}
	}
}
