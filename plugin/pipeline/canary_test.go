package pipeline_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/loki"
	. "github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// TestCanaryEveryShape runs the whole canary corpus through the pipeline in
// every record shape (raw, EventList, AKS, JSON under log, Merge_Log with
// Keep_Log, Preserve_Key, EKS CloudWatch plain and gzip'd, GKE) and
// requires that no form of a canary (plain, base64 at any alignment, hex,
// base64 of gzip) is in anything that leaves: the Loki line, labels and
// structured metadata, the record the filter would emit, the record's
// metadata. Every event must come out.
func TestCanaryEveryShape(t *testing.T) {
	events, err := e2e.CanaryCorpus(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(config.MapGetter{"labels": "job=kube-audit", "structured_metadata": "req=$requestObject,resp=$responseObject,uri=$requestURI"})
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, false)
	b := loki.NewEntries(c)
	for k, shape := range e2e.ShapeNames {
		var records []map[string]any
		if k < 4 {
			records = e2e.Shape(k, copyAll(events))
		} else {
			records = e2e.CloudShape(shape, copyAll(events))
		}
		data := chunk(t, records, fbchunk.Options{Format: fbchunk.FormatV2, Time: fbchunk.TimeEventTime})
		n := 0
		rep := p.Chunk(data, func(ev *Event) {
			n++
			id := fmt.Sprint(ev.Event["auditID"])
			_, labels, e := b.Build(ev)
			if ContainsCanary(e.Line) {
				t.Errorf("%s: canary in the line of %s", shape, id)
			}
			if ContainsCanary(labels) {
				t.Errorf("%s: canary in the labels of %s", shape, id)
			}
			for _, m := range e.StructuredMetadata {
				if ContainsCanary(m.Name + "=" + m.Value) {
					t.Errorf("%s: canary in structured metadata %s of %s", shape, m.Name, id)
				}
			}
			out, _ := json.Marshal([]any{ev.Event, ev.Record.Metadata})
			if ContainsCanary(string(out)) {
				t.Errorf("%s: canary in the record the filter emits for %s", shape, id)
			}
			if shape != "gke" && ev.Redacted.Empty() && ev.PriorRedacted == "" {
				t.Errorf("%s: %s: nothing reported removed", shape, id)
			}
		})
		if n != len(events) {
			t.Errorf("%s: %d events out of %d (%+v)", shape, n, len(events), rep)
		}
	}
}

// ContainsCanary is e2e.ContainsCanary: the same check as the real-Loki test.
func ContainsCanary(s string) bool { return e2e.ContainsCanary(s) }

func copyAll(events []map[string]any) []map[string]any {
	out := make([]map[string]any, len(events))
	for i, e := range events {
		b, _ := json.Marshal(e)
		var m map[string]any
		d := json.NewDecoder(bytesReader(b))
		d.UseNumber()
		d.Decode(&m)
		out[i] = m
	}
	return out
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// TestUnrecognizedPassRedacted: a record passed on with `unrecognized pass`
// and the metadata of any record leave the node too, so they are swept.
func TestUnrecognizedPassRedacted(t *testing.T) {
	p := newPipeline(t, true)
	secret := e2e.Canary + "unrecognized"
	records := []map[string]any{
		{"log": "level=info msg=\"connected\" dsn=postgres://app:" + secret + "@pg:5432/app", "stream": "stdout",
			"env": map[string]any{"API_TOKEN": secret}},
	}
	data := chunk(t, records, fbchunk.Options{Format: fbchunk.FormatV2, Time: fbchunk.TimeEventTime})
	n := 0
	p.Chunk(data, func(ev *Event) {
		n++
		out, _ := json.Marshal(ev.Event)
		if ContainsCanary(string(out)) {
			t.Errorf("canary in a passed record: %s", out)
		}
		if !ev.Unrecognized || ev.Redacted.Empty() {
			t.Errorf("unrecognized=%v redacted=%q", ev.Unrecognized, ev.Redacted)
		}
	})
	if n != 1 {
		t.Fatalf("%d records passed", n)
	}
}
