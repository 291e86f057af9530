// Package alerting renders the Loki ruler rules and the Grafana dashboard
// shipped in conf/alerting from the loaded detection rules, so the alerts
// and panels name exactly the rule ids and severities the plugin emits as
// the Loki labels `detection` and `severity`. Everything is a label
// selector: no rule or panel parses log lines, which is the point of
// labelling at the edge.
package alerting

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kaudit/kaudit/detect"
)

// Family is one rule file (conf/rules/<family>.yaml): the unit of the
// per-family alerts and dashboard panels.
type Family struct {
	Name     string
	Severity detect.Severity // highest severity of its rules
	IDs      []string        // sorted
}

// Families groups the enabled rules by the file that defined them.
func Families(rules []detect.Rule) []Family {
	by := map[string]*Family{}
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		name := strings.TrimSuffix(path.Base(r.Source), path.Ext(r.Source))
		f := by[name]
		if f == nil {
			f = &Family{Name: name}
			by[name] = f
		}
		f.IDs = append(f.IDs, r.ID)
		if r.Severity > f.Severity {
			f.Severity = r.Severity
		}
	}
	out := make([]Family, 0, len(by))
	for _, f := range by {
		sort.Strings(f.IDs)
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DetectionMatcher is the label regex that holds when the comma-joined
// `detection` label contains one of ids (Loki anchors label regexes).
func DetectionMatcher(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = regexp.QuoteMeta(id)
	}
	return "(.*,)?(" + strings.Join(q, "|") + ")(,.*)?"
}

// selector adds matchers to the static stream selector, e.g.
// `job="kube-audit"` + `severity="critical"`.
func selector(static string, matchers ...string) string {
	return "{" + strings.Join(append([]string{static}, matchers...), ", ") + "}"
}

// severityAlerts says how many events of a severity within the window make
// an alert: every critical or high event, a handful of medium ones. Low and
// info detections are for dashboards and hunting, not paging.
var severityAlerts = []struct {
	sev    detect.Severity
	window string
	more   int
	For    string
}{
	{detect.Critical, "5m", 0, "0m"},
	{detect.High, "5m", 0, "0m"},
	{detect.Medium, "15m", 5, "0m"},
}

type ruleFile struct {
	Groups []group `json:"groups"`
}

type group struct {
	Name     string      `json:"name"`
	Interval string      `json:"interval"`
	Rules    []alertRule `json:"rules"`
}

type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// LokiRules renders a Loki ruler rule file: one group alerting per
// severity, one per rule family. static is the plugin's static label
// selector (the `labels` key, default job="kube-audit").
func LokiRules(rules []detect.Rule, static string) ([]byte, error) {
	sev := group{Name: "kaudit-severity", Interval: "1m"}
	for _, s := range severityAlerts {
		name := strings.ToUpper(s.sev.String()[:1]) + s.sev.String()[1:]
		sev.Rules = append(sev.Rules, alertRule{
			Alert: "KauditDetection" + name,
			Expr: fmt.Sprintf("sum by (detection) (count_over_time(%s[%s])) > %d",
				selector(static, fmt.Sprintf("severity=%q", s.sev.String())), s.window, s.more),
			Labels: map[string]string{"severity": s.sev.String(), "source": "kaudit"},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("kaudit: %s detections in the Kubernetes audit log", s.sev),
				"description": fmt.Sprintf("More than %d events with severity %s in %s; detection {{ $labels.detection }}.", s.more, s.sev, s.window),
			},
		})
	}
	fam := group{Name: "kaudit-families", Interval: "1m"}
	for _, f := range Families(rules) {
		fam.Rules = append(fam.Rules, alertRule{
			Alert: "KauditFamily" + camel(f.Name),
			Expr: fmt.Sprintf("sum by (detection, severity) (count_over_time(%s[5m])) > 0",
				selector(static, fmt.Sprintf("detection=~%q", DetectionMatcher(f.IDs)), `severity=~"critical|high"`)),
			Labels: map[string]string{"severity": f.Severity.String(), "family": f.Name, "source": "kaudit"},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("kaudit: %s rule family fired", f.Name),
				"description": fmt.Sprintf("High or critical detections of conf/rules/%s.yaml (%s): {{ $labels.detection }}.", f.Name, strings.Join(f.IDs, ", ")),
			},
		})
	}
	js, err := json.Marshal(ruleFile{Groups: []group{sev, fam}})
	if err != nil {
		return nil, err
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		return nil, err
	}
	return append([]byte("# Generated from conf/rules by `go test ./conf/alerting -update`; do not edit.\n"+
		"# Loki ruler rules (label selectors only). Install under the ruler's\n"+
		"# rules directory as <tenant>/kaudit.yaml, or load with lokitool/cortextool.\n"), y...), nil
}

func camel(s string) string {
	var b strings.Builder
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' }) {
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

// Dashboard renders a Grafana dashboard (schema 39) over the kaudit labels:
// detections by severity and by family, the top rules, recent high and
// critical events, and the rule catalogue.
func Dashboard(rules []detect.Rule, static string) ([]byte, error) {
	ds := map[string]any{"type": "loki", "uid": "${DS_LOKI}"}
	target := func(expr, legend string) map[string]any {
		return map[string]any{"datasource": ds, "expr": expr, "legendFormat": legend, "refId": "A", "queryType": "range"}
	}
	var panels []map[string]any
	id := 0
	add := func(p map[string]any, x, y, w, h int) {
		id++
		p["id"] = id
		p["datasource"] = ds
		p["gridPos"] = map[string]int{"x": x, "y": y, "w": w, "h": h}
		panels = append(panels, p)
	}
	add(map[string]any{
		"type": "timeseries", "title": "Detections by severity",
		"targets":     []any{target(fmt.Sprintf("sum by (severity) (count_over_time(%s[$__auto]))", selector(static, `severity=~".+"`)), "{{severity}}")},
		"fieldConfig": map[string]any{"defaults": map[string]any{"custom": map[string]any{"drawStyle": "bars", "stacking": map[string]any{"mode": "normal"}}}},
	}, 0, 0, 12, 8)
	add(map[string]any{
		"type": "bargauge", "title": "Top detections",
		"targets": []any{target(fmt.Sprintf("topk(15, sum by (detection) (count_over_time(%s[$__range])))", selector(static, `detection=~".+"`)), "{{detection}}")},
		"options": map[string]any{"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}}, "orientation": "horizontal"},
	}, 12, 0, 12, 8)
	y := 8
	for i, f := range Families(rules) {
		add(map[string]any{
			"type": "timeseries", "title": "Family: " + f.Name,
			"description": "conf/rules/" + f.Name + ".yaml: " + strings.Join(f.IDs, ", "),
			"targets": []any{target(fmt.Sprintf("sum by (detection) (count_over_time(%s[$__auto]))",
				selector(static, fmt.Sprintf("detection=~%q", DetectionMatcher(f.IDs)))), "{{detection}}")},
		}, (i%3)*8, y+(i/3)*7, 8, 7)
	}
	y += (len(Families(rules))+2)/3*7 + 1
	add(map[string]any{
		"type": "logs", "title": "High and critical events",
		"targets": []any{target(selector(static, `severity=~"critical|high"`), "")},
		"options": map[string]any{"showTime": true, "wrapLogMessage": true, "sortOrder": "Descending"},
	}, 0, y, 24, 10)
	var cat strings.Builder
	cat.WriteString("| rule | severity | ATT&CK | needs |\n|---|---|---|---|\n")
	for _, r := range rules {
		if r.Enabled {
			fmt.Fprintf(&cat, "| `%s` | %s | %s | %s |\n", r.ID, r.Severity, strings.Join(r.MITRE, ", "), r.Level)
		}
	}
	add(map[string]any{
		"type": "text", "title": "Rule catalogue",
		"options": map[string]any{"mode": "markdown", "content": cat.String()},
	}, 0, y+10, 24, 12)
	dash := map[string]any{
		"__inputs": []any{map[string]any{"name": "DS_LOKI", "label": "Loki", "type": "datasource", "pluginId": "loki", "pluginName": "Loki"}},
		"title":    "kaudit detections",
		"uid":      "kaudit-detections",
		"tags":     []string{"kaudit", "kubernetes", "audit"},
		"timezone": "utc", "schemaVersion": 39, "version": 1, "editable": true,
		"time":        map[string]string{"from": "now-24h", "to": "now"},
		"refresh":     "1m",
		"panels":      panels,
		"description": "Generated from conf/rules by `go test ./conf/alerting -update`; do not edit.",
	}
	out, err := json.MarshalIndent(dash, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
