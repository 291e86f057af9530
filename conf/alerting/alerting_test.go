package alerting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/conf/alerting"
	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/scripts/e2e"
	"github.com/kaudit/kaudit/testdata"
)

var update = testdata.Update // -update rewrites conf/alerting from the rule files

const static = `job="kube-audit"` // the default of the labels key

func defaultRules(t *testing.T) []detect.Rule {
	t.Helper()
	e, err := pipeline.LoadRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	return e.Rules()
}

// TestGeneratedFilesCurrent keeps conf/alerting identical to what the rule
// files render, so alerts and panels can never drift from the rules.
func TestGeneratedFilesCurrent(t *testing.T) {
	rules := defaultRules(t)
	lr, err := alerting.LokiRules(rules, static)
	if err != nil {
		t.Fatal(err)
	}
	dash, err := alerting.Dashboard(rules, static)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"loki-rules.yaml": lr, "grafana-dashboard.json": dash} {
		p := filepath.Join("..", "..", "conf", "alerting", name)
		got, err := os.ReadFile(p)
		if bytes.Equal(got, want) {
			continue
		}
		if !*update {
			t.Errorf("%s is stale (%v); run go test ./conf/alerting -update", p, err)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var d map[string]any
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
}

// TestFamiliesCoverEveryRule: each enabled rule is in exactly one family
// alert, and the label regex matches the id wherever it sits in the
// comma-joined detection label but never a longer id that contains it.
func TestFamiliesCoverEveryRule(t *testing.T) {
	rules := defaultRules(t)
	seen := map[string]string{}
	for _, f := range alerting.Families(rules) {
		re := regexp.MustCompile("^(?:" + alerting.DetectionMatcher(f.IDs) + ")$")
		for _, id := range f.IDs {
			if prev, ok := seen[id]; ok {
				t.Errorf("%s in families %s and %s", id, prev, f.Name)
			}
			seen[id] = f.Name
			for _, label := range []string{id, "a_rule," + id, id + ",z_rule", "a_rule," + id + ",z_rule"} {
				if !re.MatchString(label) {
					t.Errorf("family %s: %q does not match detection=%q", f.Name, re, label)
				}
			}
			for _, label := range []string{id + "_x", "x_" + id, "a_rule,x" + id} {
				if re.MatchString(label) && !contains(f.IDs, label) {
					t.Errorf("family %s: %q matches detection=%q", f.Name, re, label)
				}
			}
		}
	}
	for _, r := range rules {
		if _, ok := seen[r.ID]; !ok && r.Enabled {
			t.Errorf("%s: in no family alert", r.ID)
		}
	}
}

func contains(ids []string, s string) bool {
	for _, p := range strings.Split(s, ",") {
		for _, id := range ids {
			if p == id {
				return true
			}
		}
	}
	return false
}

// TestRulesLoadIntoRealLoki installs the generated rule file in a real
// Loki's ruler, checks every rule group parses and evaluates without error,
// then pushes one critical detection (aws_auth_change, of the secrets
// family) and waits for the severity and the family alerts to fire.
func TestRulesLoadIntoRealLoki(t *testing.T) {
	if _, err := e2e.LokiBinary(); err != nil {
		if os.Getenv("KAUDIT_REQUIRE_E2E") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	lr, err := alerting.LokiRules(defaultRules(t), static)
	if err != nil {
		t.Fatal(err)
	}
	// Evaluate every 10 s instead of every minute, so the test is quick.
	lr = bytes.ReplaceAll(lr, []byte("interval: 1m"), []byte("interval: 10s"))
	l, err := e2e.StartLoki(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	const tenant = "kaudit-alerts"
	dir := filepath.Join(l.DataDir, "rules", tenant)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kaudit.yaml"), lr, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	push := fmt.Sprintf(`{"streams":[{"stream":{"job":"kube-audit","severity":"critical","detection":"aws_auth_change,secret_write"},"values":[[%q,"{\"verb\":\"update\"}"]]}]}`,
		strconv.FormatInt(now.UnixNano(), 10))
	if _, err := call(l.PushURL(), tenant, push); err != nil {
		t.Fatal(err)
	}

	type rule struct {
		Name, Health, LastError, State string
		LastEvaluation                 time.Time
	}
	var groups []struct {
		Name  string
		Rules []rule
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		body, err := call(l.URL()+"/prometheus/api/v1/rules", tenant, "")
		if err == nil {
			var resp struct {
				Data struct {
					Groups []struct {
						Name  string
						Rules []rule
					}
				}
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatalf("rules API: %v: %s", err, body)
			}
			groups = resp.Data.Groups
		}
		done := len(groups) == 2
		firing, familyFiring := false, false
		for _, g := range groups {
			for _, r := range g.Rules {
				if r.Health == "err" {
					t.Fatalf("group %s rule %s: %s", g.Name, r.Name, r.LastError)
				}
				done = done && !r.LastEvaluation.IsZero() && r.LastEvaluation.Year() > 2000
				firing = firing || (r.Name == "KauditDetectionCritical" && r.State == "firing")
				familyFiring = familyFiring || (r.Name == "KauditFamilySecrets" && r.State == "firing")
			}
		}
		if done && firing && familyFiring {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s: groups %+v (want 2, all evaluated, KauditDetectionCritical and KauditFamilySecrets firing)\n%s", groups, l.LogTail())
		}
		time.Sleep(2 * time.Second)
	}
	n := 0
	for _, g := range groups {
		n += len(g.Rules)
	}
	t.Logf("Loki loaded %d groups, %d rules, all evaluated without error; the critical and the secrets-family alerts fired", len(groups), n)
}

func call(url, tenant, body string) ([]byte, error) {
	method := http.MethodGet
	var rd io.Reader
	if body != "" {
		method, rd = http.MethodPost, strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Scope-OrgID", tenant)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	return b, err
}
