// Command demo is `make run`: it starts a real Loki on 127.0.0.1, feeds a
// realistic generated audit log (raw events, webhook EventList batches, AKS
// records and JSON strings under `log`) through the real out_kaudit.so in
// the Fluent Bit host, reads everything back from Loki and prints what was
// stored, what was redacted and what was detected.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/scripts/e2e"
)

func main() {
	so := flag.String("so", "build/out_kaudit.so", "the built plugin")
	host := flag.String("host", "build/flbhost", "the C Fluent Bit host")
	n := flag.Int("n", 20000, "audit events to generate")
	keep := flag.Bool("keep", false, "leave Loki running after the summary (stop it with kill)")
	flag.Parse()
	if err := run(*so, *host, *n, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(so, host string, n int, keep bool) error {
	dir, err := os.MkdirTemp("", "kaudit-demo-")
	if err != nil {
		return err
	}
	fmt.Printf("starting Loki %s on 127.0.0.1 (data in %s)\n", e2e.LokiVersion, dir)
	loki, err := e2e.StartLoki(dir)
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
		defer loki.Stop()
	}

	end := time.Now().Truncate(time.Second)
	sample := e2e.Generate(n, 1, end, 30*time.Minute)
	records := e2e.Shapes(sample.Events)
	chunks, err := e2e.WriteChunks(dir, "sample", records, 512, chunk.Options{Format: chunk.FormatV2, Time: chunk.TimeEventTime})
	if err != nil {
		return err
	}
	fmt.Printf("generated %d audit events in %d Fluent Bit records (%d chunks)\n", len(sample.Events), len(records), len(chunks))

	art := e2e.Artifacts{Plugin: so, Host: host}
	start := time.Now()
	hr, err := art.RunHost(e2e.HostOptions{Workers: 2}, []map[string]string{{
		"url": loki.PushURL(), "tenant_id": "demo", "labels": "job=kube-audit,cluster=demo",
	}}, chunks)
	if err != nil {
		return err
	}
	took := time.Since(start)
	if hr.Exit != 0 {
		return fmt.Errorf("fluent bit host failed (exit %d):\n%s", hr.Exit, hr.Stderr)
	}
	fmt.Printf("flushed through out_kaudit.so: %d chunks OK in %s (%.0f events/s, end to end)\n\n", hr.OK, took.Round(time.Millisecond), float64(len(sample.Events))/took.Seconds())

	entries, err := loki.Query("demo", `{job="kube-audit"}`, end.Add(-31*time.Minute), end.Add(time.Minute))
	if err != nil {
		return err
	}
	return summarize(loki, sample, entries)
}

func summarize(loki *e2e.Loki, sample *e2e.Sample, entries []e2e.Entry) error {
	redacted, leaks := 0, 0
	detections := map[string]int{}
	severities := map[string]int{}
	for _, e := range entries {
		if e.Metadata["redacted"] != "" {
			redacted++
		}
		if leaked(e) {
			leaks++
		}
		if ids := e.Labels["detection"]; ids != "" {
			for _, id := range strings.Split(ids, ",") {
				detections[id]++
			}
			severities[e.Labels["severity"]]++
		}
	}
	fmt.Printf("Loki %s holds %d of %d events (tenant demo, {job=\"kube-audit\"})\n", loki.URL(), len(entries), len(sample.Events))
	fmt.Printf("secrets removed: %d events redacted; %d of %d canary-carrying events leaked a canary (plain or base64)\n\n", redacted, leaks, sample.Secrets+sample.Attacks["secret_list_all_namespaces"]+sample.Attacks["serviceaccount_token_create"])

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "detection\tplanted\tlabelled in Loki")
	ids := make([]string, 0, len(detections))
	for id := range detections {
		ids = append(ids, id)
	}
	for id := range sample.Attacks {
		if detections[id] == 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", id, sample.Attacks[id], detections[id])
	}
	tw.Flush()
	fmt.Println("(a rule planted 0 times fires on what the sample does anyway: repeated execs or secret reads\n by one identity in a window, a binding that is also to a privileged role)")
	fmt.Printf("\nby severity: critical=%d high=%d (alert on {job=\"kube-audit\", severity=\"critical\"})\n", severities["critical"], severities["high"])
	if leaks > 0 || len(entries) != len(sample.Events) {
		return fmt.Errorf("FAILED: %d leaks, %d of %d events stored", leaks, len(entries), len(sample.Events))
	}
	return nil
}

// leaked reports whether any canary, plain or base64, survived anywhere in
// an entry.
func leaked(e e2e.Entry) bool {
	var sb strings.Builder
	sb.WriteString(e.Line)
	for k, v := range e.Metadata {
		sb.WriteString(k + v)
	}
	for k, v := range e.Labels {
		sb.WriteString(k + v)
	}
	return e2e.ContainsCanary(sb.String())
}
