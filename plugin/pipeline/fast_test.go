package pipeline_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/loki"
	. "github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/redact"
	"github.com/kaudit/kaudit/redact/leakcheck"
	"github.com/kaudit/kaudit/redact/policy"
	"github.com/kaudit/kaudit/scripts/e2e"
	"github.com/kaudit/kaudit/testdata"
)

// fastCorpus is every realistic event the repository holds: benign traffic
// of every kind, the public corpora, planted attacks, the canary corpus
// (every one secret-bearing) and the generator's routine mix.
func fastCorpus(t *testing.T) []map[string]any {
	t.Helper()
	evs := testdata.Events(t, "benign/*.jsonl", "heldout/*.jsonl", "corpora/*.jsonl")
	canaries, err := e2e.CanaryCorpus(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, canaries...)
	return append(evs, withManagedFields(e2e.Generate(2000, 5, time.Now(), time.Hour).Events)...)
}

// withManagedFields gives every other body of evs the managedFields the
// API server records on an object, which a redactor or a policy may remove
// from an event that has nothing else to redact.
func withManagedFields(evs []map[string]any) []map[string]any {
	n := 0
	for _, ev := range evs {
		for _, k := range []string{"requestObject", "responseObject"} {
			body, _ := ev[k].(map[string]any)
			md, _ := body["metadata"].(map[string]any)
			if md == nil {
				continue
			}
			if n++; n%2 == 0 {
				continue
			}
			// A copy: the generator shares one body between request and
			// response.
			nb, nmd := maps.Clone(body), maps.Clone(md)
			nmd["managedFields"] = []any{map[string]any{
				"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
				"time": "2026-11-28T07:00:00Z", "fieldsType": "FieldsV1",
				"fieldsV1": map[string]any{"f:metadata": map[string]any{"f:labels": map[string]any{".": map[string]any{}, "f:app": map[string]any{}}}},
			}}
			nb["metadata"] = nmd
			ev[k] = nb
		}
	}
	return evs
}

type shipped struct {
	line     string
	redacted string
	fast     bool
}

func ship(t *testing.T, p *Pipeline, data []byte) []shipped {
	t.Helper()
	c, _ := config.Parse(config.MapGetter{})
	b := loki.NewEntries(c)
	var out []shipped
	p.Chunk(data, func(ev *Event) {
		_, _, e := b.Build(ev)
		out = append(out, shipped{e.Line, ev.Redacted.String(), ev.Line != ""})
	})
	return out
}

// TestFastLineIsTheFullPath holds the screen to its promise on every
// corpus, in both record forms that take it (parsed records and raw lines),
// with and without an audit policy and with managedFields kept or dropped:
// an event that leaves with a line written from its input carries exactly
// what the full path (policy, Redact, the tree's line) ships for it, and the
// same report. The canary corpus, where every event holds a secret, must
// never be passed by the screen with anything left to remove.
func TestFastLineIsTheFullPath(t *testing.T) {
	evs := fastCorpus(t)
	if raceEnabled {
		var sample []map[string]any
		for i := 0; i < len(evs); i += 8 {
			sample = append(sample, evs[i])
		}
		evs = sample
	}
	lines, err := e2e.Lines(evs)
	if err != nil {
		t.Fatal(err)
	}
	// Lines as other writers lay them out: spaced, and with a key spelt
	// with an escape, which a line kept as it came must not carry past
	// what the full path removes.
	spaced := make([]map[string]any, len(evs))
	for i, ev := range evs {
		b, err := json.MarshalIndent(ev, " ", " ")
		if err != nil {
			t.Fatal(err)
		}
		s := " " + strings.ReplaceAll(string(b), "\n", "\t") + "\r"
		if i%2 == 0 {
			s = strings.ReplaceAll(s, `"managedFields"`, `"m\u0061nagedFields"`)
		}
		spaced[i] = map[string]any{"log": s}
	}
	// The kubernetes filter's Merge_Log and the parser's Preserve_Key keep
	// the event's JSON under log beside it; a record can also carry another
	// event there, which the full path redacts as an event.
	mergeLog := e2e.CloudShape("merge_log", evs)
	preserveKey := e2e.CloudShape("preserve_key", evs)
	otherUnderLog := e2e.CloudShape("preserve_key", evs)
	for i, r := range otherUnderLog {
		r["log"] = lines[(i+1)%len(lines)]["log"]
	}
	for _, pc := range []struct {
		name, policy string
		keepManaged  bool
	}{
		{"no-policy", "", false},
		{"keep-managed", "", true},
		{"tiered", "../../conf/policy/tiered.yaml", false},
		{"managed-cluster", "../../conf/policy/managed-cluster.yaml", true},
	} {
		red, err := redact.New(withShippedRules(redact.Config{KeepManagedFields: pc.keepManaged}))
		if err != nil {
			t.Fatal(err)
		}
		var pol *policy.Policy
		if pc.policy != "" {
			if pol, err = policy.LoadFile(pc.policy); err != nil {
				t.Fatal(err)
			}
		}
		mk := func(lines bool) *Pipeline {
			// A detector of its own: stateful rules must see each event
			// once per path. Both packagings' pipelines reuse their trees
			// (ship renders each event before it returns); the reference
			// decodes every record afresh.
			det, err := LoadRules(nil)
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(Settings{Redactor: red, Detector: det, Policy: pol, PolicyKeep: detect.High, Lines: lines, Reuse: true})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		for _, form := range []struct {
			name    string
			records []map[string]any
			// screened: the form the screen is for; a record that keeps
			// an event's JSON beside it always takes the full path.
			screened bool
		}{{"parsed", evs, true}, {"rawline", lines, true}, {"rawline_spaced", spaced, true}, {"merge_log", mergeLog, false}, {"preserve_key", preserveKey, false}, {"other_event_under_log", otherUnderLog, false},
			// Batches and envelopes: their events are built in the
			// decoder's reused maps too.
			{"mixed_shapes", e2e.Shapes(evs), false}, {"cloudwatch", e2e.CloudShape("cloudwatch", evs), false}, {"cloudwatch_gzip", e2e.CloudShape("cloudwatch_gzip", evs), false}} {
			data := chunk(t, form.records, fbchunk.Options{})
			ref := mk(false)
			ref.FullPathOnly()
			ref.NoReuse()
			full, fast, filter := ship(t, ref, data), ship(t, mk(true), data), ship(t, mk(false), data)
			if len(full) != len(fast) || len(full) != len(filter) {
				t.Fatalf("%s/%s: %d events on the full path, %d with lines, %d as the filter runs", pc.name, form.name, len(full), len(fast), len(filter))
			}
			// As the filter runs it, an event the screen passes keeps its
			// tree unredacted: its line must be the full path's too.
			for i := range filter {
				if filter[i].redacted != full[i].redacted || filter[i].line != full[i].line {
					t.Errorf("%s/%s: event %d as the filter runs: %q (%s), full path %.400q (%s)", pc.name, form.name, i, filter[i].line, filter[i].redacted, full[i].line, full[i].redacted)
				}
			}
			n := 0
			for i := range fast {
				if !fast[i].fast {
					continue
				}
				n++
				if fast[i].redacted != full[i].redacted {
					t.Errorf("%s/%s: event %d: screen reports %q, full path %q", pc.name, form.name, i, fast[i].redacted, full[i].redacted)
				}
				if !sameJSON(t, fast[i].line, full[i].line) {
					t.Errorf("%s/%s: event %d: line from input differs from the full path's:\n%.400s\n%.400s", pc.name, form.name, i, fast[i].line, full[i].line)
				}
			}
			if form.screened && n == 0 {
				t.Errorf("%s/%s: no event took the line from its input", pc.name, form.name)
			}
			t.Logf("%s/%s: %d of %d events shipped from their input", pc.name, form.name, n, len(fast))
		}
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	da := json.NewDecoder(bytes.NewReader([]byte(a)))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader([]byte(b)))
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// plantForms render a secret the way the redaction property test does,
// each with a canary marker.
var plantForms = []func(v map[string]string) string{
	func(v map[string]string) string { return v["{{JWT}}"] },
	func(v map[string]string) string { return "Authorization: Bearer " + v["{{JWT}}"] },
	func(v map[string]string) string { return v["{{GHP}}"] },
	func(v map[string]string) string { return v["{{AKIA}}"] },
	func(v map[string]string) string { return v["{{SLACK_HOOK}}"] },
	func(v map[string]string) string { return v["{{PEM}}"] },
	func(v map[string]string) string { return "postgres://app:" + v["{{CANARY}}"] + "@db:5432/app" },
	func(v map[string]string) string { return "db_password=" + v["{{CANARY}}"] },
	func(v map[string]string) string { return "--api-token " + v["{{CANARY}}"] },
	func(v map[string]string) string { return v["{{B64_PROPS}}"] },
	func(v map[string]string) string { return v["{{GZ_B64_PROPS}}"] },
}

// TestFastLinePlantedSecrets plants a secret at a random string position
// of the routine events the screen passes, in both record
// forms, and requires that no form of it reaches a Loki line or its
// metadata: the screen must notice what it is there to prove absent.
func TestFastLinePlantedSecrets(t *testing.T) {
	base := e2e.Generate(400, 3, time.Now(), time.Hour).Events
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 7))
	var planted []map[string]any
	for i := 0; i < 600; i++ {
		ev := copyAll(base[rng.IntN(len(base)):][:1])[0]
		var slots []func(string)
		stringSlots(ev, &slots)
		vals := leakcheck.Values(fmt.Sprintf("fast%d", i))
		secret := plantForms[rng.IntN(len(plantForms))](vals)
		slots[rng.IntN(len(slots))](secret)
		planted = append(planted, ev)
	}
	find := leakcheck.New(leakcheck.Markers...)
	p := newPipeline(t, false)
	c, _ := config.Parse(config.MapGetter{})
	b := loki.NewEntries(c)
	for _, form := range []string{"parsed", "rawline"} {
		records := planted
		if form == "rawline" {
			records = make([]map[string]any, len(planted))
			for i, ev := range planted {
				line, _ := json.Marshal(ev)
				records[i] = map[string]any{"log": string(line)}
			}
		}
		p.Chunk(chunk(t, records, fbchunk.Options{}), func(ev *Event) {
			_, labels, e := b.Build(ev)
			out := labels + "\n" + e.Line
			for _, m := range e.StructuredMetadata {
				out += "\n" + m.Value
			}
			if f := find.Find(out); f != "" {
				where := "metadata or labels"
				if find.Find(e.Line) != "" {
					where = "line"
				}
				t.Errorf("seed %d, %s: %s left in the %s of %v (from its input: %v)", seed, form, f, where, ev.Event["auditID"], ev.Line != "")
				if testing.Verbose() {
					t.Logf("%.2000s", out)
				}
			}
		})
	}
}

// FuzzFastLine holds the screen to the full path on arbitrary events: an
// event whose line is written from its input must carry what the full
// path ships for it, with the same report, whatever its strings and
// shape. Seeds are events of every corpus, secret-bearing ones included.
func FuzzFastLine(f *testing.F) {
	for _, dir := range []string{"benign", "heldout"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", dir, "*.jsonl"))
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			for i, line := range bytes.Split(raw, []byte("\n")) {
				if i%25 == 0 && len(line) > 0 {
					f.Add(string(line))
				}
			}
		}
	}
	canaries, err := e2e.CanaryCorpus(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	for i, ev := range canaries {
		if i%10 == 0 {
			b, _ := json.Marshal(ev)
			f.Add(string(b))
		}
	}
	red, err := redact.New(withShippedRules(redact.Config{}))
	if err != nil {
		f.Fatal(err)
	}
	// Each path with a detector of its own: stateful rules see each event
	// once per path.
	dets := [2]*detect.Engine{}
	for i := range dets {
		if dets[i], err = LoadRules(nil); err != nil {
			f.Fatal(err)
		}
	}
	full, err := New(Settings{Redactor: red, Detector: dets[0]})
	if err != nil {
		f.Fatal(err)
	}
	full.FullPathOnly()
	// As the output runs it: trees, text and boxes reused (ship keeps
	// copies only).
	fast, err := New(Settings{Redactor: red, Detector: dets[1], Lines: true, Reuse: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) != nil {
			return
		}
		var b bytes.Buffer
		if fbchunk.Encode(&b, []map[string]any{ev, {"log": line}}, fbchunk.Options{}) != nil {
			return
		}
		a, c := ship(t, full, b.Bytes()), ship(t, fast, b.Bytes())
		if len(a) != len(c) {
			t.Fatalf("%d events on the full path, %d with lines", len(a), len(c))
		}
		for i := range c {
			if !c[i].fast {
				continue
			}
			if c[i].redacted != a[i].redacted || !sameJSON(t, c[i].line, a[i].line) {
				t.Fatalf("record %d: from input %q (%s), full path %q (%s)", i, c[i].line, c[i].redacted, a[i].line, a[i].redacted)
			}
		}
	})
}

// TestLineAsItCameIsOnlyTheEvent: a line kept as it came is the event's
// JSON and nothing else. Text beside the object (another value, a stray
// member, a comment) is no part of what the screen read, so such a line
// never leaves as it came, whatever the text holds.
func TestLineAsItCameIsOnlyTheEvent(t *testing.T) {
	ev := e2e.Generate(1, 3, time.Now(), time.Hour).Events[0]
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	const canary = "hunter2-kaudit-canary"
	event := string(b)
	var records []map[string]any
	for _, line := range []string{
		event + ` "password=` + canary + `"`,
		event + `{"password":"` + canary + `"}`,
		event + ` // ` + canary,
		`"` + canary + `" ` + event,
		event[:len(event)-1] + `,"x":"` + canary + `"}}`,
		event + "\x00" + canary,
	} {
		records = append(records, map[string]any{"log": line})
	}
	records = append(records, map[string]any{"log": " \t" + event + "\r\n"})
	p := newPipeline(t, false)
	p.ReuseTrees()
	out := ship(t, p, chunk(t, records, fbchunk.Options{}))
	for i, s := range out {
		if strings.Contains(s.line, canary) {
			t.Errorf("record %d left as %q", i, s.line)
		}
	}
	if last := out[len(out)-1]; !last.fast || last.line != event {
		t.Errorf("a spaced line of the event left as %q (from its input: %v), want the event's JSON as it came", last.line, last.fast)
	}
}

// TestScreenRuleRoots: a member a redaction rule removes by its path
// (External Secrets' fake provider and Fake generator) fails the screen
// only in an event holding an object the rule applies to: a body of the
// rule's resource, or an object of its kind wherever it sits, its kind
// named before or after the member, a list of them included. Elsewhere a
// member of that name (a container's env value, a ConfigMap's data) is
// the screen's to pass. Every event leaves with the full path's line.
func TestScreenRuleRoots(t *testing.T) {
	const canary = "harbor-lantern-kaudit-canary"
	event := func(resource, group string, body map[string]any) map[string]any {
		ev := e2e.Generate(1, 3, time.Now(), time.Hour).Events[0]
		ev["level"], ev["verb"] = "RequestResponse", "create"
		ev["objectRef"] = map[string]any{"resource": resource, "apiGroup": group, "namespace": "team-a", "name": "x", "apiVersion": "v1"}
		ev["requestObject"] = body
		delete(ev, "responseObject")
		return ev
	}
	// The Fake generator's values: spec.data, a map.
	fake := func() map[string]any { return map[string]any{"data": map[string]any{"greeting": canary}} }
	cases := []struct {
		name   string
		ev     map[string]any
		screen bool // the screen passes it
	}{
		{"env values of a pod", event("pods", "", map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": map[string]any{"name": "web", "namespace": "team-a"},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx:1.27",
				"env": []any{map[string]any{"name": "LOG_FORMAT", "value": "json"}, map[string]any{"name": "PORT", "value": "8080"}}}}}}), true},
		{"the data of a ConfigMap", event("configmaps", "", map[string]any{"kind": "ConfigMap", "apiVersion": "v1", "metadata": map[string]any{"name": "web"},
			"data": map[string]any{"greeting": "hello"}}), true},
		{"a fake provider's values in a SecretStore", event("secretstores", "external-secrets.io", map[string]any{"metadata": map[string]any{"name": "s"},
			"spec": map[string]any{"provider": map[string]any{"fake": map[string]any{"data": []any{map[string]any{"key": "/team-a/app/settings", "value": canary}}}}}}), false},
		{"a Fake generator by its resource", event("fakes", "generators.external-secrets.io", map[string]any{"metadata": map[string]any{"name": "f"}, "spec": fake()}), false},
		{"a Fake inside another object, kind last", event("widgets", "example.com", map[string]any{"kind": "Widget", "spec": map[string]any{
			"template": map[string]any{"spec": fake(), "zkind": "Fake"}}}), false},
		{"a Fake inside another object, kind first", event("widgets", "example.com", map[string]any{"kind": "Widget", "spec": map[string]any{
			"template": map[string]any{"kind": "Fake", "spec": fake()}}}), false},
		{"items of a list of Fakes", event("widgets", "example.com", map[string]any{"kind": "Widget", "spec": map[string]any{
			"generators": map[string]any{"items": []any{map[string]any{"spec": fake()}}, "kind": "FakeList"}}}), false},
	}
	var records []map[string]any
	for _, c := range cases {
		line, err := json.Marshal(c.ev)
		if err != nil {
			t.Fatal(err)
		}
		// Marshal sorts keys; zkind is spelt kind once it is written
		// after spec: JSON from a client need not name an object's kind
		// first.
		records = append(records, map[string]any{"log": strings.ReplaceAll(string(line), `"zkind"`, `"kind"`)})
	}
	data := chunk(t, records, fbchunk.Options{})
	fast := ship(t, newPipeline(t, false), data)
	ref := newPipeline(t, false)
	ref.FullPathOnly()
	full := ship(t, ref, data)
	for i, c := range cases {
		if fast[i].fast != c.screen {
			t.Errorf("%s: line from its input %v, want %v", c.name, fast[i].fast, c.screen)
		}
		if !c.screen && strings.Contains(fast[i].line, canary) {
			t.Errorf("%s: the generator's value left in %q", c.name, fast[i].line)
		}
		if !sameJSON(t, fast[i].line, full[i].line) {
			t.Errorf("%s: line %q, the full path's %q", c.name, fast[i].line, full[i].line)
		}
	}
}
