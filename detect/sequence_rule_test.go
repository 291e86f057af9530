package detect_test

import (
	"strings"
	"testing"

	"github.com/kaudit/kaudit/detect"
)

// A sequence whose earlier step is about other resources than its
// condition: the step must be a candidate for its own events, which the
// condition's verb/resource index would not admit.
const probeThenRead = `
rules:
  - id: probe_then_read
    title: Refused RBAC writes, then a secret read
    severity: high
    condition:
      verb: get
      objectRef.resource: secrets
      responseStatus.code: 200
    exceptions:
      - user.username: trusted
    sequence:
      after:
        verb: create
        objectRef.resource: rolebindings
        responseStatus.code: 403
      at_least: 2
      key: [user.username]
      window: 5m
`

func seqEvent(user, verb, resource string, code int, at string) map[string]any {
	return map[string]any{
		"stage":                    "ResponseComplete",
		"verb":                     verb,
		"user":                     map[string]any{"username": user},
		"objectRef":                map[string]any{"resource": resource, "namespace": "default", "name": "x"},
		"responseStatus":           map[string]any{"code": float64(code)},
		"requestReceivedTimestamp": "2025-06-02T09:" + at + ".000000Z",
		"sourceIPs":                []any{"10.0.0.9"},
	}
}

func TestSequenceRule(t *testing.T) {
	e, err := detect.New(src("seq.yaml", probeThenRead))
	if err != nil {
		t.Fatal(err)
	}
	evs := []struct {
		ev   map[string]any
		want string
	}{
		{seqEvent("mallory", "get", "secrets", 200, "00:00"), ""},         // no refusal yet
		{seqEvent("mallory", "create", "rolebindings", 403, "00:10"), ""}, // step 1
		{seqEvent("mallory", "get", "secrets", 200, "00:20"), ""},         // one step of two
		{seqEvent("mallory", "create", "rolebindings", 403, "00:30"), ""}, // step 2
		{seqEvent("bob", "get", "secrets", 200, "00:40"), ""},             // another identity
		{seqEvent("mallory", "get", "secrets", 403, "00:45"), ""},         // refused: not the condition
		{seqEvent("mallory", "get", "secrets", 200, "00:50"), "probe_then_read"},
		{seqEvent("mallory", "get", "secrets", 200, "00:55"), ""},         // fired once
		{seqEvent("trusted", "create", "rolebindings", 403, "01:00"), ""}, // excepted: no step
		{seqEvent("trusted", "create", "rolebindings", 403, "01:01"), ""},
		{seqEvent("trusted", "get", "secrets", 200, "01:02"), ""},
		{seqEvent("mallory", "create", "rolebindings", 403, "02:00"), ""},
		{seqEvent("mallory", "create", "rolebindings", 403, "02:01"), ""},
		{seqEvent("mallory", "get", "secrets", 200, "07:02"), ""}, // past the window
	}
	for i, x := range evs {
		res := e.Detect(x.ev, nil)
		if got := res.IDs(); got != x.want {
			t.Errorf("event %d: %q, want %q", i, got, x.want)
		}
		if res.CountedIDs() != "" {
			t.Errorf("event %d: counted %q: a sequence has no cluster-wide count", i, res.CountedIDs())
		}
	}
}

// TestSequenceRuleDeterministic: the labels are a function of the events:
// two engines fed the same events label them alike, whenever they run.
func TestSequenceRuleDeterministic(t *testing.T) {
	run := func() string {
		e, err := detect.New(src("seq.yaml", probeThenRead))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, at := range []string{"00:00", "00:01", "00:02", "04:59", "05:30", "05:31", "05:32"} {
			verb, res, code := "create", "rolebindings", 403
			if at == "00:02" || at == "05:32" {
				verb, res, code = "get", "secrets", 200
			}
			b.WriteString(e.Detect(seqEvent("m", verb, res, code, at), nil).IDs() + ";")
		}
		return b.String()
	}
	first := run()
	if first != ";;probe_then_read;;;;probe_then_read;" {
		t.Fatalf("labels %q", first)
	}
	if again := run(); again != first {
		t.Fatalf("second run %q, first %q", again, first)
	}
}

func TestSequenceRuleInfo(t *testing.T) {
	e, err := detect.New(src("seq.yaml", probeThenRead))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := ruleByID(e, "probe_then_read")
	if !ok || len(e.Rules()) != 1 {
		t.Fatalf("rules %v: want probe_then_read alone (its step is no rule of its own)", e.Rules())
	}
	if want := "at least 2 of sequence.after, then the condition, within 5m0s per user.username"; r.Threshold != want {
		t.Errorf("Threshold %q, want %q", r.Threshold, want)
	}
	if r.Count != nil {
		t.Errorf("Count %+v: a sequence is no count the Loki ruler can repeat", r.Count)
	}
	// Bodies read by the earlier step count toward the level.
	e, err = detect.New(src("seq.yaml", strings.Replace(probeThenRead, "responseStatus.code: 403", "responseStatus.code: 403\n        pod.privileged: true", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := ruleByID(e, "probe_then_read"); r.Level != "Request" {
		t.Errorf("level %q, want Request", r.Level)
	}
}

// TestSequenceRuleSwitchedOff: a disabled sequence rule records nothing
// and fires nothing, and switching it off leaves its step out too.
func TestSequenceRuleSwitchedOff(t *testing.T) {
	e, err := detect.New(src("seq.yaml", probeThenRead), src("off.yaml", "rules:\n  - id: probe_then_read\n    enabled: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{"00:00", "00:01"} {
		e.Detect(seqEvent("m", "create", "rolebindings", 403, at), nil)
	}
	if got := e.Detect(seqEvent("m", "get", "secrets", 200, "00:02"), nil).IDs(); got != "" {
		t.Fatalf("disabled rule fired: %q", got)
	}
}
