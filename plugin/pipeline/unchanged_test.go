package pipeline_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/decode"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	. "github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/redact/leakcheck"
	"github.com/kaudit/kaudit/scripts/e2e"
)

// unchangedRun runs data through p and checks every event that claims
// Unchanged against its input: Record.Raw decoded afresh must be the event
// and metadata that leave, and must hold no canary. It returns how many
// events were emitted and how many claimed Unchanged.
func unchangedRun(t *testing.T, name string, p *Pipeline, data []byte) (events, unchanged int) {
	t.Helper()
	p.Chunk(data, func(ev *Event) {
		events++
		if !ev.Unchanged {
			return
		}
		unchanged++
		if ContainsCanary(ev.Record.Raw) {
			t.Errorf("%s: event %v claims Unchanged with a canary in its input", name, ev.Event["auditID"])
		}
		rec, err := decode.NewDecoder([]byte(ev.Record.Raw)).Next()
		if err != nil {
			t.Fatalf("%s: Raw does not decode: %v", name, err)
		}
		if !reflect.DeepEqual(rec.Body, ev.Event) || !reflect.DeepEqual(rec.Metadata, ev.Record.Metadata) {
			t.Errorf("%s: event %v claims Unchanged but differs from its input", name, ev.Event["auditID"])
		}
	})
	return events, unchanged
}

// TestUnchangedOnlyWhenAsItCame: the signal a packaging trusts to pass
// input bytes on is never set on an event that was redacted, cut by the
// policy, stripped of a mark, taken out of a carrier, or decoded with
// something left out; and it is set on the routine events that are none
// of these, or it would save nothing.
func TestUnchangedOnlyWhenAsItCame(t *testing.T) {
	now := time.Now()
	s := e2e.Generate(400, 7, now, time.Hour)
	v2 := fbchunk.Options{Format: fbchunk.FormatV2, Time: fbchunk.TimeEventTime}

	t.Run("routine", func(t *testing.T) {
		n, u := unchangedRun(t, "raw", filterPipeline(t, false), chunk(t, copyAll(s.Events), v2))
		if u == 0 || u < n/2 {
			t.Errorf("%d of %d routine events unchanged, want most", u, n)
		}
		_, u = unchangedRun(t, "legacy", filterPipeline(t, false), chunk(t, copyAll(s.Events), fbchunk.Options{Time: fbchunk.TimeInt}))
		if u == 0 {
			t.Error("no legacy-format event unchanged")
		}
	})

	t.Run("carriers", func(t *testing.T) {
		p := filterPipeline(t, false)
		for k := 1; k < 4; k++ {
			if _, u := unchangedRun(t, "shape", p, chunk(t, e2e.Shape(k, copyAll(s.Events)), v2)); u != 0 {
				t.Errorf("shape %d: %d events unchanged, want none: the record is not the event", k, u)
			}
		}
		unchangedRun(t, "mixed", p, chunk(t, e2e.Shapes(copyAll(s.Events)), v2))
	})

	t.Run("canaries", func(t *testing.T) {
		events, err := e2e.CanaryCorpus(now)
		if err != nil {
			t.Fatal(err)
		}
		p := filterPipeline(t, false)
		for k, shape := range e2e.ShapeNames {
			var records []map[string]any
			if k < 4 {
				records = e2e.Shape(k, copyAll(events))
			} else {
				records = e2e.CloudShape(shape, copyAll(events))
			}
			if _, u := unchangedRun(t, shape, p, chunk(t, records, v2)); u != 0 {
				t.Errorf("%s: %d canary events unchanged", shape, u)
			}
		}
	})

	t.Run("policy", func(t *testing.T) {
		for _, file := range []string{"../../conf/policy/tiered.yaml", "../../conf/policy/managed-cluster.yaml"} {
			unchangedRun(t, file, withPolicy(t, file, detect.High), chunk(t, copyAll(s.Events), v2))
		}
		// Every event cut to Metadata: none that had a body is unchanged.
		p := filterPipeline(t, false)
		p.SetPolicy(loadPolicy(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"), detect.None)
		bodies := 0
		p.Chunk(chunk(t, copyAll(s.Events), v2), func(ev *Event) {
			rec, _ := decode.NewDecoder([]byte(ev.Record.Raw)).Next()
			_, req := rec.Body["requestObject"]
			_, resp := rec.Body["responseObject"]
			lvl, _ := rec.Body["level"].(string)
			if req || resp || (lvl != "" && lvl != "Metadata") {
				bodies++
				if ev.Unchanged {
					t.Errorf("event %v cut to Metadata claims Unchanged", ev.Event["auditID"])
				}
			}
		})
		if bodies == 0 {
			t.Fatal("the sample has no event above Metadata")
		}
	})

	t.Run("marked", func(t *testing.T) {
		records := copyAll(s.Events)
		for _, r := range records {
			r[MarkKey] = map[string]any{"severity": "low"}
		}
		if _, u := unchangedRun(t, "marked", filterPipeline(t, false), chunk(t, records, v2)); u != 0 {
			t.Errorf("%d marked events unchanged: the mark is removed", u)
		}
	})

	t.Run("metadata", func(t *testing.T) {
		o := v2
		o.Metadata = map[string]any{"env": map[string]any{"DB_URL": "postgres://app:" + e2e.Canary + "meta@db:5432/app"}}
		if _, u := unchangedRun(t, "metadata", filterPipeline(t, false), chunk(t, copyAll(s.Events), o)); u != 0 {
			t.Errorf("%d events unchanged with a secret in their metadata", u)
		}
	})

	t.Run("lossy decoding", func(t *testing.T) {
		// The event once more with a duplicate key whose first value is a
		// secret: decoding keeps the last, redaction never sees the first.
		var data []byte
		for _, ev := range copyAll(s.Events[:20]) {
			b := append([]byte{0x92, 0x92}, decode.AppendEventTime(nil, now)...)
			b = append(b, 0x80)
			b = decode.AppendMapHeader(b, len(ev)+1)
			b = decode.AppendString(b, "verb")
			b = decode.AppendString(b, "db_password="+e2e.Canary+"dup")
			for k, v := range ev {
				b = decode.AppendString(b, k)
				b = decode.AppendValue(b, v)
			}
			data = append(data, b...)
		}
		n, u := unchangedRun(t, "duplicate", filterPipeline(t, false), data)
		if n != 20 || u != 0 {
			t.Errorf("%d events, %d unchanged; want 20, none", n, u)
		}
	})

	t.Run("unrecognized pass", func(t *testing.T) {
		clean := []map[string]any{{"log": "level=info msg=connected", "stream": "stdout"}}
		if n, u := unchangedRun(t, "clean", filterPipeline(t, true), chunk(t, clean, v2)); n != 1 || u != 1 {
			t.Errorf("clean passed record: %d events, %d unchanged; want 1, 1", n, u)
		}
		dirty := []map[string]any{{"log": "dsn=postgres://app:" + e2e.Canary + "pass@pg:5432/app", "stream": "stdout"}}
		if n, u := unchangedRun(t, "dirty", filterPipeline(t, true), chunk(t, dirty, v2)); n != 1 || u != 0 {
			t.Errorf("passed record with a secret: %d events, %d unchanged; want 1, 0", n, u)
		}
	})
}

// TestUnchangedNeverCarriesASecret is the property the filter's pass-through
// rests on: a secret planted at a random string of a random routine event
// (as the whole value or inside the text there) never leaves in the input
// bytes of an event that claims Unchanged.
func TestUnchangedNeverCarriesASecret(t *testing.T) {
	s := e2e.Generate(200, 13, time.Now(), time.Hour)
	forms := []func(v map[string]string) string{
		func(v map[string]string) string { return v["{{JWT}}"] },
		func(v map[string]string) string { return "Authorization: Bearer " + v["{{JWT}}"] },
		func(v map[string]string) string { return v["{{GHP}}"] },
		func(v map[string]string) string { return v["{{AKIA}}"] },
		func(v map[string]string) string { return v["{{SLACK}}"] },
		func(v map[string]string) string { return v["{{PEM}}"] },
		func(v map[string]string) string { return "postgres://app:" + v["{{CANARY}}"] + "@db:5432/app" },
		func(v map[string]string) string { return "db_password=" + v["{{CANARY}}"] },
		func(v map[string]string) string { return v["{{GZ_B64_PROPS}}"] },
	}
	rng := rand.New(rand.NewPCG(13, 42))
	p := filterPipeline(t, false)
	var records []map[string]any
	for i := 0; i < 300; i++ {
		k := rng.IntN(len(s.Events))
		ev := copyAll(s.Events[k : k+1])
		var slots []func(string)
		stringSlots(ev[0], &slots)
		secret := forms[rng.IntN(len(forms))](leakcheck.Values(fmt.Sprintf("u%d", i)))
		if rng.IntN(2) == 0 {
			secret = "note " + secret + " end"
		}
		slots[rng.IntN(len(slots))](secret)
		records = append(records, ev[0])
	}
	n, u := unchangedRun(t, "planted", p, chunk(t, records, fbchunk.Options{Format: fbchunk.FormatV2}))
	if u != 0 {
		t.Errorf("%d of %d events with a planted secret claim Unchanged", u, n)
	}
}

// stringSlots lists setters for every string value of v.
func stringSlots(v any, slots *[]func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if _, ok := e.(string); ok {
				*slots = append(*slots, func(s string) { x[k] = s })
				continue
			}
			stringSlots(e, slots)
		}
	case []any:
		for i, e := range x {
			if _, ok := e.(string); ok {
				*slots = append(*slots, func(s string) { x[i] = s })
				continue
			}
			stringSlots(e, slots)
		}
	}
}
