package alerting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/conf/alerting"
	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/output/instance"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/scripts/e2e"
	"github.com/kaudit/kaudit/testdata"
	"sigs.k8s.io/yaml"
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
// pushes one critical detection (aws_auth_change, in a request that also
// matched secret_write) and, through three plugin instances standing for
// three API servers, six exec sessions by one user (two each, so no node's
// counter crosses pod_exec_repeated's "more than three"), runs the
// cluster-wide count through Loki's query API, and waits for the rule's
// own alert and the cluster-wide alert to fire.
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
	for server := 0; server < 3; server++ {
		in, err := instance.NewWith(config.MapGetter{"url": l.PushURL(), "tenant_id": tenant}, "test", instance.Options{Quiet: true, NoServe: true})
		if err != nil {
			t.Fatal(err)
		}
		var evs []map[string]any
		for i := 0; i < 2; i++ {
			ns := fmt.Sprintf("team-%d", server*2+i) // across namespaces: the key follows the user
			evs = append(evs, map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
				"auditID": fmt.Sprintf("exec-%d-%d", server, i), "stage": "ResponseStarted", "verb": "create",
				"requestURI": "/api/v1/namespaces/" + ns + "/pods/api-0/exec?command=sh&stdin=true&tty=true",
				"user":       map[string]any{"username": "mallory@example.com"}, "sourceIPs": []any{"10.20.0.66"},
				"objectRef":                map[string]any{"resource": "pods", "subresource": "exec", "namespace": ns, "name": "api-0"},
				"responseStatus":           map[string]any{"code": 101},
				"requestReceivedTimestamp": now.Add(time.Duration(server*2+i) * time.Second).UTC().Format(time.RFC3339Nano)})
		}
		var buf bytes.Buffer
		if err := chunk.Encode(&buf, evs, chunk.Options{}); err != nil {
			t.Fatal(err)
		}
		if code := in.Flush(buf.Bytes(), "kube.audit"); code != instance.OK {
			t.Fatalf("API server %d: flush returned %v", server, code)
		}
		in.Close()
	}
	clusterExpr := ""
	var rf struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(lr, &rf); err != nil {
		t.Fatal(err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "KauditClusterWidePodExecRepeated" {
				clusterExpr = r.Expr
			}
		}
	}
	if clusterExpr == "" {
		t.Fatal("no cluster-wide rule for pod_exec_repeated")
	}
	q := l.URL() + "/loki/api/v1/query?" + url.Values{"query": {clusterExpr}, "time": {strconv.FormatInt(now.Add(10*time.Second).UnixNano(), 10)}}.Encode()
	var sum string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		body, err := call(q, tenant, "")
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			Data struct {
				Result []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if len(resp.Data.Result) == 1 && resp.Data.Result[0].Metric["user"] == "mallory@example.com" {
			sum, _ = resp.Data.Result[0].Value[1].(string)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster-wide count %s: %s", clusterExpr, body)
		}
	}
	if sum != "6" {
		t.Errorf("cluster-wide exec count %s, want 6", sum)
	}
	perNode := l.URL() + "/loki/api/v1/query?" + url.Values{"query": {`count_over_time({job="kube-audit", detection=~".*pod_exec_repeated.*"}[5m])`},
		"time": {strconv.FormatInt(now.Add(10*time.Second).UnixNano(), 10)}}.Encode()
	if body, err := call(perNode, tenant, ""); err != nil || strings.Contains(string(body), `"value"`) {
		t.Errorf("a single node's counter fired pod_exec_repeated (%v): %s", err, body)
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
		firing, clusterFiring := false, false
		for _, g := range groups {
			for _, r := range g.Rules {
				if r.Health == "err" {
					t.Fatalf("group %s rule %s: %s", g.Name, r.Name, r.LastError)
				}
				done = done && !r.LastEvaluation.IsZero() && r.LastEvaluation.Year() > 2000
				firing = firing || (r.Name == "KauditAwsAuthChange" && r.State == "firing")
				clusterFiring = clusterFiring || (r.Name == "KauditClusterWidePodExecRepeated" && r.State == "firing")
			}
		}
		if done && firing && clusterFiring {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s: groups %+v (want 2, all evaluated, KauditAwsAuthChange and KauditClusterWidePodExecRepeated firing)\n%s", groups, l.LogTail())
		}
		time.Sleep(2 * time.Second)
	}
	n := 0
	for _, g := range groups {
		n += len(g.Rules)
	}
	t.Logf("Loki loaded %d groups, %d rules, all evaluated without error; the aws_auth_change alert and the cluster-wide exec count fired", len(groups), n)
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

// Alerts follow rules, not combinations, and say who did what to which
// object; the dashboard is provisionable (no import-time inputs, a data
// source and a cluster variable) and never groups by the joined label.
func TestAlertsPerRuleAndProvisionableDashboard(t *testing.T) {
	rules := defaultRules(t)
	lr, err := alerting.LokiRules(rules, static)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(lr, &rf); err != nil {
		t.Fatal(err)
	}
	perRule := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if strings.Contains(r.Expr, "by (detection") || strings.Contains(r.Expr, "| json") || strings.Contains(r.Expr, "|=") {
				t.Errorf("%s: %s", r.Alert, r.Expr)
			}
			if r.Labels["rule"] == "" || !strings.Contains(r.Annotations["summary"]+r.Annotations["description"], "{{ $labels.") {
				t.Errorf("%s: no rule label or no named user/object: %v", r.Alert, r.Annotations)
			}
			if g.Name == "kaudit-rules" {
				perRule[r.Labels["rule"]] = true
				if !strings.Contains(r.Annotations["description"], "{{ $labels.user }}") {
					t.Errorf("%s: description does not name the user", r.Alert)
				}
			}
		}
	}
	for _, r := range rules {
		if r.Enabled && r.Severity >= detect.Medium && !perRule[r.ID] {
			t.Errorf("%s (%s): no alert of its own", r.ID, r.Severity)
		}
	}
	dash, err := alerting.Dashboard(rules, static)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Inputs     []any `json:"__inputs"`
		Templating struct {
			List []struct{ Name, Type string }
		}
		Panels []struct {
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if len(d.Inputs) > 0 || vars["datasource"] != "datasource" || vars["cluster"] != "query" {
		t.Errorf("dashboard inputs %v, variables %v: want no inputs, a datasource and a cluster variable", d.Inputs, vars)
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, `cluster=~"$cluster"`) || strings.Contains(tg.Expr, "by (detection") {
				t.Errorf("panel query %s", tg.Expr)
			}
		}
	}
}
