package deploytest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// Each shipped pipeline's [OUTPUT] kaudit section, as written, loaded by the
// real .so in the Fluent Bit host and fed the records that pipeline's input
// produces, delivers every event to a real Loki with its detections and
// without a secret. Only url (the test's Loki), tenant_id (the test Loki
// is multi-tenant), the metrics_listen port and rejected_path (under a
// directory of the test, still to be created) differ from the shipped files. The .yaml twins say the
// same (TestClassicAndYAMLAreTwins), so the .conf files stand for both.
func TestShippedPipelinesIntoRealLoki(t *testing.T) {
	if _, err := e2e.LokiBinary(); err != nil {
		if os.Getenv("KAUDIT_REQUIRE_E2E") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	art, err := e2e.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	loki, err := e2e.StartLoki(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer loki.Stop()

	end, span := time.Now().Truncate(time.Second), 20*time.Minute
	for i, name := range pipelines {
		t.Run(name, func(t *testing.T) {
			cfg := loadConfig(t, filepath.Join(fbDir, name+".conf"))
			var out plugin
			for _, o := range cfg.kind("output") {
				if o.name() == "kaudit" {
					out = o
				}
			}
			env := map[string]string{}
			for k, v := range testEnv {
				env[k] = v
			}
			env["LOKI_URL"] = loki.PushURL()
			props := map[string]string{"tenant_id": name}
			workers := 1
			for k, v := range out.Props {
				if k == "workers" {
					fmt.Sscan(v, &workers)
				}
				if coreOutputKeys[k] {
					continue
				}
				if props[k], err = expand(v, env); err != nil {
					t.Fatal(err)
				}
			}

			if _, ok := props["metrics_listen"]; ok {
				// As shipped, but on a port no other test run holds.
				props["metrics_listen"] = freeLoopback(t)
			}
			if p, ok := props["rejected_path"]; ok {
				// As shipped, but beneath the test's directory, not the
				// machine's: the plugin makes the missing directories.
				props["rejected_path"] = filepath.Join(t.TempDir(), p)
			}
			s := e2e.Generate(600, int64(100+i), end, span)
			records := inputRecords(t, cfg, s.Events)
			chunks, err := e2e.WriteChunks(t.TempDir(), name, records, 64, chunk.Options{Format: chunk.FormatV2, Time: chunk.TimeEventTime})
			if err != nil {
				t.Fatal(err)
			}
			run, err := art.RunHost(e2e.HostOptions{Workers: workers, Tag: "kube-audit"}, []map[string]string{props}, chunks)
			if err != nil {
				t.Fatal(err)
			}
			if run.Exit != 0 || run.Failed != 0 || run.OK != len(chunks) {
				t.Fatalf("host: exit %d, %d of %d chunks OK, %d failed\n%s", run.Exit, run.OK, len(chunks), run.Failed, run.Stderr)
			}

			var got []e2e.Entry
			deadline := time.Now().Add(30 * time.Second)
			for {
				got, err = loki.Query(name, `{job="kube-audit"}`, end.Add(-span-time.Minute), end.Add(time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) >= len(s.Events) || time.Now().After(deadline) {
					break
				}
				time.Sleep(500 * time.Millisecond)
			}
			if len(got) != len(s.Events) {
				t.Fatalf("%d entries in Loki, %d events shipped", len(got), len(s.Events))
			}
			detected := 0
			for _, e := range got {
				if e2e.ContainsCanary(e.Line) {
					t.Fatalf("a secret reached Loki in %s", e.Metadata["audit_id"])
				}
				if rule, ok := s.Planted[e.Metadata["audit_id"]]; ok {
					if !strings.Contains(","+e.Labels["detection"]+",", ","+rule+",") {
						t.Errorf("event %s: detection %q, want %s", e.Metadata["audit_id"], e.Labels["detection"], rule)
					}
					detected++
				}
				for k, v := range labelsOf(out.Props["labels"]) {
					if e.Labels[k] != v {
						t.Errorf("label %s=%q, the configuration sets %q", k, e.Labels[k], v)
					}
				}
			}
			if detected == 0 || detected != len(s.Planted) {
				t.Errorf("%d of %d planted attacks found with their detection", detected, len(s.Planted))
			}
			t.Logf("%s: %d events in %d records, %d detections, into Loki", name, len(s.Events), len(records), detected)
		})
	}
}

func labelsOf(v string) map[string]string {
	m := map[string]string{}
	for _, p := range strings.Split(v, ",") {
		if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
			m[k] = val
		}
	}
	return m
}

// inputRecords turns events into the records cfg's input hands on: tail
// with the kube-audit parser gives the event itself, without a parser the
// line under log; the http input gives
// one record per webhook EventList batch; the kafka input gives Event Hub
// messages of AKS diagnostic records under payload, then the configured
// modify filter renames keys.
func inputRecords(t *testing.T, cfg *fbConfig, events []map[string]any) []map[string]any {
	t.Helper()
	var in plugin
	for _, p := range cfg.kind("input") {
		if p.Props["tag"] == "kube-audit" {
			in = p
		}
	}
	var recs []map[string]any
	switch in.name() {
	case "tail":
		if in.Props["parser"] != "" {
			return events
		}
		lines, err := e2e.Lines(events)
		if err != nil {
			t.Fatal(err)
		}
		return lines
	case "http":
		for i := 0; i < len(events); i += 50 {
			items := []any{}
			for _, e := range events[i:min(i+50, len(events))] {
				items = append(items, e)
			}
			recs = append(recs, map[string]any{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": map[string]any{}, "items": items})
		}
		return recs
	case "kafka":
		for i := 0; i < len(events); i += 20 {
			var batch []any
			for _, e := range events[i:min(i+20, len(events))] {
				b, _ := json.Marshal(e)
				batch = append(batch, map[string]any{"category": "kube-audit", "time": e["stageTimestamp"], "properties": map[string]any{"log": string(b), "stream": "stdout"}})
			}
			recs = append(recs, map[string]any{"topic": in.Props["topics"], "partition": 0, "offset": i, "error": nil, "key": nil, "payload": map[string]any{"records": batch}})
		}
		for _, f := range cfg.kind("filter") {
			if f.name() != "modify" {
				t.Fatalf("filter %s is not emulated", f.name())
			}
			for _, r := range strings.Split(f.Props["rename"], "\n") {
				from, to, _ := strings.Cut(r, " ")
				for _, rec := range recs {
					rec[strings.TrimSpace(to)] = rec[from]
					delete(rec, from)
				}
			}
		}
		return recs
	}
	t.Fatalf("input %s is not emulated", in.name())
	return nil
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
