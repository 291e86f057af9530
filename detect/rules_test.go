package detect_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/detect"
)

// The ids and severities are a contract with dashboards and alerts built on
// the Loki labels; changing one must be deliberate.
var wantDefaultRules = map[string]detect.Severity{
	"secret_list_all_namespaces":  detect.Critical,
	"clusterrolebinding_create":   detect.Critical,
	"pod_exec":                    detect.High,
	"serviceaccount_token_create": detect.High,
	"admission_webhook_change":    detect.Critical,
	"privileged_pod_create":       detect.Critical,
	"namespace_delete":            detect.High,
	"anonymous_request":           detect.Critical,
	"rbac_bind_escalate":          detect.Critical,
	"node_patch_unexpected":       detect.High,
}

func TestDefaultRuleSet(t *testing.T) {
	e := defaultEngine(t)
	got := map[string]detect.Severity{}
	for _, r := range e.Rules() {
		if !r.Enabled {
			t.Errorf("%s: shipped disabled", r.ID)
		}
		if r.Title == "" || r.Description == "" {
			t.Errorf("%s: needs a title and a description", r.ID)
		}
		got[r.ID] = r.Severity
	}
	for id, sev := range wantDefaultRules {
		if got[id] != sev {
			t.Errorf("%s: severity %v, want %v", id, got[id], sev)
		}
	}
	if len(got) != len(wantDefaultRules) {
		t.Errorf("default rules %v, want exactly %d", got, len(wantDefaultRules))
	}
}

// TestDefaultRuleFixtures runs every testdata/detect/<rule>/ event: a
// positive must match exactly its rule (fixtures are written so no other
// rule applies), a negative is a near miss that must not match its rule.
func TestDefaultRuleFixtures(t *testing.T) {
	e := defaultEngine(t)
	counts := map[string][2]int{}
	for _, f := range loadFixtures(t) {
		t.Run(f.rule+"/"+f.name, func(t *testing.T) {
			res := e.Detect(f.ev, nil)
			c := counts[f.rule]
			switch {
			case strings.HasPrefix(f.name, "positive"):
				c[0]++
				if res.IDs() != f.rule {
					t.Errorf("matched %q, want exactly %q", res.IDs(), f.rule)
				}
				if want := wantDefaultRules[f.rule]; res.Severity != want {
					t.Errorf("severity %v, want %v", res.Severity, want)
				}
				if len(res.Matches) == 1 && res.Matches[0].Title == "" {
					t.Errorf("match has no title")
				}
			case strings.HasPrefix(f.name, "negative"):
				c[1]++
				for _, m := range res.Matches {
					if m.ID == f.rule {
						t.Errorf("near miss matched %s", f.rule)
					}
				}
			default:
				t.Fatalf("fixture name must start with positive or negative")
			}
			counts[f.rule] = c
		})
	}
	for id := range wantDefaultRules {
		if c := counts[id]; c[0] == 0 || c[1] == 0 {
			t.Errorf("%s: has %d positive and %d negative fixtures; want at least one of each", id, c[0], c[1])
		}
	}
	dirs, _ := os.ReadDir(fixtureDir)
	for _, d := range dirs {
		if _, ok := wantDefaultRules[d.Name()]; !ok {
			t.Errorf("%s: fixture directory for no default rule", filepath.Join(fixtureDir, d.Name()))
		}
	}
}

// TestFixturesAgainstEveryRule checks the other direction: no fixture of one
// rule trips a different rule by accident, which would make labels noisy.
func TestFixturesAgainstEveryRule(t *testing.T) {
	e := defaultEngine(t)
	for _, f := range loadFixtures(t) {
		for _, m := range e.Detect(f.ev, nil).Matches {
			if m.ID != f.rule {
				t.Errorf("%s/%s: also matched %s", f.rule, f.name, m.ID)
			}
		}
	}
}
