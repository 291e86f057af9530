package loki

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// routineEvents are the e2e generator's mix as the pipeline emits them.
func routineEvents(t testing.TB, c *config.Config, n int) []pipeline.Event {
	t.Helper()
	p, err := pipeline.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	s := e2e.Generate(n, 11, time.Now(), time.Hour)
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, s.Events, chunk.Options{Format: chunk.FormatV2}); err != nil {
		t.Fatal(err)
	}
	var evs []pipeline.Event
	p.Chunk(buf.Bytes(), func(ev *pipeline.Event) { evs = append(evs, *ev) })
	if len(evs) != n {
		t.Fatalf("%d events of %d", len(evs), n)
	}
	return evs
}

// deliveryBodies renders evs into a Batch with add, encodes every request
// a flush sends and releases the Batch: the routine path from event to
// bytes on the wire.
func deliveryBodies(c *config.Config, evs []pipeline.Event, add func(*Batch, *pipeline.Event)) [][]byte {
	var b Batch
	for i := range evs {
		add(&b, &evs[i])
	}
	var bodies [][]byte
	for _, r := range b.split(c.MaxRequestBytes) {
		bodies = append(bodies, encodeBody(r.streams))
	}
	b.Release()
	return bodies
}

// maxAllocsPerEvent pins the routine path's allocations: what a batch's
// blocks, slice growth and the requests themselves come to, spread over
// their events, and the few strings an event of its own needs (a line
// longer than an arena block, a detection's label set).
const maxAllocsPerEvent = 2

func TestDeliveryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c, err := config.Parse(config.MapGetter{})
	if err != nil {
		t.Fatal(err)
	}
	evs := routineEvents(t, c, 1000)
	en := NewEntries(c)
	run := func() { deliveryBodies(c, evs, en.AddTo) }
	run() // the encoders' and blocks' pools
	if per := testing.AllocsPerRun(5, run) / float64(len(evs)); per > maxAllocsPerEvent {
		t.Errorf("%.2f allocations per event from event to request bodies, want at most %d", per, maxAllocsPerEvent)
	} else {
		t.Logf("%.2f allocations per event", per)
	}
}

// outputPipeline is c's pipeline set up as the output sets it up: it
// ships lines and reuses its trees and text.
func outputPipeline(t *testing.T, c *config.Config) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	p.ShipLines()
	p.ReuseTrees()
	return p
}

// TestRoutinePathAllocs pins the whole routine path of a flush, from a
// chunk of routine events to the request bodies: decoding, detection,
// policy, redaction, the line, the entries and their encoding, for both
// ways a tail input hands kaudit its events (parsed records and raw
// lines), with the pipeline set up as the output sets it up.
func TestRoutinePathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c, err := config.Parse(config.MapGetter{})
	if err != nil {
		t.Fatal(err)
	}
	p := outputPipeline(t, c)
	en := NewEntries(c)
	s := e2e.Generate(1000, 5, time.Now(), time.Hour)
	lines := make([]map[string]any, len(s.Events))
	for i, ev := range s.Events {
		lines[i] = map[string]any{"log": pipeline.Line(ev)}
	}
	for _, form := range []struct {
		name    string
		records []map[string]any
	}{{"parsed", s.Events}, {"raw lines", lines}} {
		var buf bytes.Buffer
		if err := chunk.Encode(&buf, form.records, chunk.Options{Format: chunk.FormatV2}); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		run := func() {
			var b Batch
			rep := p.Chunk(data, func(ev *pipeline.Event) { en.AddTo(&b, ev) })
			if rep.Events != len(form.records) {
				t.Fatalf("%s: %d events of %d", form.name, rep.Events, len(form.records))
			}
			for _, r := range b.split(c.MaxRequestBytes) {
				encodeBody(r.streams)
			}
			b.Release()
		}
		run() // the pools
		if per := testing.AllocsPerRun(5, run) / float64(len(form.records)); per > maxAllocsPerEvent {
			t.Errorf("%s: %.2f allocations per event from chunk to request bodies, want at most %d", form.name, per, maxAllocsPerEvent)
		} else {
			t.Logf("%s: %.2f allocations per event", form.name, per)
		}
	}
}

// AddTo renders exactly what Build does, and a retried chunk the same
// bytes again: its arena changes where entries live, not what they say.
func TestAddToIsBuild(t *testing.T) {
	for _, props := range []config.MapGetter{
		{},
		{"structured_metadata": "req=$requestObject.kind,code=$responseStatus.code,ro=$objectRef.resource,static=x", "labels": "job=audit"},
		{"max_line_bytes": "4K", "max_request_bytes": "8K"},
		{"structured_metadata_mode": "off"},
	} {
		c, err := config.Parse(props)
		if err != nil {
			t.Fatal(err)
		}
		evs := routineEvents(t, c, 600)
		if c.MaxLineBytes < 8<<10 { // some of every kind cut to fit
			for i := range evs {
				if i%50 == 0 {
					evs[i].Event["annotations"] = map[string]any{"big": strings.Repeat("x", 6<<10)}
				}
			}
		}
		en := NewEntries(c)
		built := deliveryBodies(c, evs, func(b *Batch, ev *pipeline.Event) { b.Add(en.Build(ev)) })
		for attempt := 0; attempt < 2; attempt++ {
			added := deliveryBodies(c, evs, en.AddTo)
			if len(added) != len(built) {
				t.Fatalf("%v: %d requests, Build makes %d", props, len(added), len(built))
			}
			if c.MaxLineBytes < 8<<10 && en.Cut.Load() == 0 {
				t.Fatal("no line was cut")
			}
			for i := range built {
				if !bytes.Equal(added[i], built[i]) {
					t.Fatalf("%v attempt %d: request %d differs from Build's", props, attempt, i)
				}
			}
		}
	}
}

// A line the pipeline wrote from its input lives in a buffer it reuses for
// the next event: what AddTo and Build keep must be copies.
func TestLinesAreCopied(t *testing.T) {
	c, err := config.Parse(config.MapGetter{})
	if err != nil {
		t.Fatal(err)
	}
	en := NewEntries(c)
	evs := routineEvents(t, c, 200)
	buf := make([]byte, 0, 4096)
	var b Batch
	var built []string
	for i := range evs {
		ev := evs[i]
		buf = append(buf[:0], pipeline.Line(ev.Event)...)
		ev.Line = unsafe.String(&buf[0], len(buf))
		en.AddTo(&b, &ev)
		_, _, e := en.Build(&ev)
		built = append(built, e.Line)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	// Entries are grouped by stream: compare as sets of lines.
	want := map[string]int{}
	for i := range evs {
		want[pipeline.Line(evs[i].Event)]++
	}
	for i, l := range built {
		if want[l] == 0 {
			t.Fatalf("Build's line %d changed with the buffer it came from: %.200s", i, l)
		}
	}
	n := 0
	for _, r := range b.split(c.MaxRequestBytes) {
		for _, s := range r.streams {
			for _, e := range s.Entries {
				if want[e.Line] == 0 {
					t.Fatalf("AddTo's line changed with the buffer it came from: %.200s", e.Line)
				}
				want[e.Line]--
				n++
			}
		}
	}
	if n != len(evs) {
		t.Fatalf("%d entries of %d", n, len(evs))
	}
}

// A released Batch's blocks serve the next one: the poison test binaries
// write into them on release shows in an entry kept past it, which is
// what makes every test that flushes a check that nothing is.
func TestReleaseReusesBlocks(t *testing.T) {
	c, err := config.Parse(config.MapGetter{})
	if err != nil {
		t.Fatal(err)
	}
	en := NewEntries(c)
	evs := routineEvents(t, c, 50)
	var b Batch
	for i := range evs {
		ev := evs[i]
		ev.Line = pipeline.Line(ev.Event)
		en.AddTo(&b, &ev)
	}
	var kept push.Entry
	var list []push.Entry
	for _, r := range b.split(c.MaxRequestBytes) {
		kept, list = r.streams[0].Entries[0], r.streams[0].Entries
	}
	if !strings.HasPrefix(kept.Line, "{") || len(kept.StructuredMetadata) == 0 {
		t.Fatalf("entry before release: %.100s %v", kept.Line, kept.StructuredMetadata)
	}
	b.Release()
	if strings.Trim(kept.Line, "#") != "" {
		t.Fatalf("released line still reads %.100s", kept.Line)
	}
	if kept.StructuredMetadata[0].Value != "released" {
		t.Fatalf("released metadata still reads %v", kept.StructuredMetadata[0])
	}
	// The stream's list of entries goes back to its pool empty: it keeps
	// no arena block or line alive for the next flush.
	for i, e := range list {
		if e.Line != "" || e.StructuredMetadata != nil {
			t.Fatalf("released list still holds entry %d: %.100s", i, e.Line)
		}
	}
}

// A flush's entries outlive the chunk they came from: with ReuseTrees the
// decoder's text of a chunk is overwritten once its events are emitted
// (test binaries fill it with '#' right then), so every string an entry
// took from an event must be its own. Each entry's metadata must still
// name its event.
func TestEntriesOutliveTheirChunk(t *testing.T) {
	c, err := config.Parse(config.MapGetter{"structured_metadata": "ua=$userAgent,uid=$user.uid", "tenant_id_key": "annotations.tenant"})
	if err != nil {
		t.Fatal(err)
	}
	p := outputPipeline(t, c)
	s := e2e.Generate(400, 13, time.Now(), time.Hour)
	byID := map[string]map[string]any{}
	for i, ev := range s.Events {
		if i%3 == 0 {
			ev["annotations"].(map[string]any)["tenant"] = "team-" + ev["auditID"].(string)[:4]
		}
		byID[ev["auditID"].(string)] = ev
	}
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, s.Events, chunk.Options{Format: chunk.FormatV2}); err != nil {
		t.Fatal(err)
	}
	en := NewEntries(c)
	var b Batch
	p.Chunk(buf.Bytes(), func(ev *pipeline.Event) { en.AddTo(&b, ev) })
	// Another chunk through the same pipeline reuses the text again.
	p.Chunk(buf.Bytes()[:len(buf.Bytes())/2], func(*pipeline.Event) {})
	n := 0
	for _, r := range b.split(c.MaxRequestBytes) {
		for _, st := range r.streams {
			for _, e := range st.Entries {
				n++
				md := map[string]string{}
				for _, kv := range e.StructuredMetadata {
					md[kv.Name] = kv.Value
				}
				ev := byID[md["audit_id"]]
				if ev == nil {
					t.Fatalf("audit_id %q names no event (line %.80s)", md["audit_id"], e.Line)
				}
				user := ev["user"].(map[string]any)
				if md["user"] != user["username"] || md["verb"] != ev["verb"] || md["ua"] != str(ev["userAgent"]) || md["uid"] != str(user["uid"]) {
					t.Fatalf("metadata %v does not match event %v", md, ev["auditID"])
				}
				if !strings.Contains(e.Line, md["audit_id"]) {
					t.Fatalf("line %.80s is not event %s", e.Line, md["audit_id"])
				}
				want := c.TenantID
				if ten, ok := ev["annotations"].(map[string]any)["tenant"].(string); ok {
					want = ten
				}
				if r.tenant != want {
					t.Fatalf("tenant %q, want %q", r.tenant, want)
				}
			}
		}
	}
	if n != len(s.Events) {
		t.Fatalf("%d entries of %d", n, len(s.Events))
	}
}
