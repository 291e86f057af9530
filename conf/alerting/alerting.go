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
	"time"

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

// perRule says when one rule's requests make an alert: every critical or
// high one at once, medium ones when one identity causes more than a
// handful. Low and info detections are for dashboards and hunting, not
// paging. Each labelled event is one request (the engine labels one stage
// per request), so the counts are requests.
var perRule = map[detect.Severity]struct {
	window string
	by     string
	more   int
}{
	detect.Critical: {"5m", "user, source_ip, verb, resource, namespace, name", 0},
	detect.High:     {"5m", "user, source_ip, verb, resource, namespace, name", 0},
	detect.Medium:   {"15m", "user, source_ip", 5},
}

// metadataOf maps the rule fields a threshold may key on to the structured
// metadata the plugin writes; a key without one cannot be counted in Loki.
var metadataOf = map[string][]string{
	"user.username":       {"user"},
	"sourceIP":            {"source_ip"},
	"verb":                {"verb"},
	"objectRef.namespace": {"namespace"},
	"objectRef.name":      {"name"},
	"objectRef.resource":  {"resource"},
	"object":              {"namespace", "name"},
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

// LokiRules renders a Loki ruler rule file from the rules: one alert per
// rule of medium severity or above (grouped by rule, whatever other rules
// the same request matched, and naming the user and the object), and, for
// each stateful rule, its count across the whole cluster: every API
// server's plugin marks the events the rule's condition held for (the
// structured metadata counted), and the ruler adds them up, so a burst
// spread over three API servers is seen although each node's own counter
// holds a third. static is the plugin's static label selector (the
// `labels` key, default job="kube-audit"). Only label selectors and
// structured metadata are used: no rule parses log lines.
func LokiRules(rules []detect.Rule, static string) ([]byte, error) {
	fams := map[string]string{}
	for _, f := range Families(rules) {
		for _, id := range f.IDs {
			fams[id] = f.Name
		}
	}
	per := group{Name: "kaudit-rules", Interval: "1m"}
	cluster := group{Name: "kaudit-cluster-counts", Interval: "1m"}
	var skipped []string
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		if p, ok := perRule[r.Severity]; ok {
			where := "{{ $labels.resource }} {{ $labels.namespace }}/{{ $labels.name }}"
			if r.Severity == detect.Medium {
				where = "the cluster"
			}
			per.Rules = append(per.Rules, alertRule{
				Alert: "Kaudit" + camel(r.ID),
				Expr: fmt.Sprintf("sum by (%s) (count_over_time(%s[%s])) > %d",
					p.by, selector(static, fmt.Sprintf("detection=~%q", DetectionMatcher([]string{r.ID}))), p.window, p.more),
				Labels: map[string]string{"severity": r.Severity.String(), "rule": r.ID, "family": fams[r.ID], "source": "kaudit"},
				Annotations: map[string]string{
					"summary": fmt.Sprintf("%s: {{ $labels.user }}", r.Title),
					"description": fmt.Sprintf("%s (%s, rule %s): {{ $value }} request(s) in %s by {{ $labels.user }} from {{ $labels.source_ip }} on %s.",
						r.Title, r.Severity, r.ID, p.window, where),
				},
			})
		}
		if r.Count == nil {
			continue
		}
		var keys []string
		ok := true
		for _, k := range r.Count.Key {
			md, found := metadataOf[k]
			ok = ok && found
			keys = append(keys, md...)
		}
		var distinct []string
		if r.Count.Distinct != "" {
			md, found := metadataOf[r.Count.Distinct]
			ok = ok && found
			distinct = md
		}
		if !ok {
			skipped = append(skipped, r.ID)
			continue
		}
		by := strings.Join(keys, ", ")
		win := promDuration(r.Count.Window)
		base := fmt.Sprintf("count_over_time(%s | counted=~%q [%s])", selector(static), DetectionMatcher([]string{r.ID}), win)
		expr := fmt.Sprintf("sum by (%s) (%s) > %d", by, base, r.Count.MoreThan)
		what := "requests"
		if distinct != nil {
			expr = fmt.Sprintf("count by (%s) (sum by (%s) (%s)) > %d", by, strings.Join(append(append([]string(nil), keys...), distinct...), ", "), base, r.Count.MoreThan)
			what = "distinct " + r.Count.Distinct
		}
		labels := make([]string, len(keys))
		for i, k := range keys {
			labels[i] = k + " {{ $labels." + k + " }}"
		}
		cluster.Rules = append(cluster.Rules, alertRule{
			Alert:  "KauditClusterWide" + camel(r.ID),
			Expr:   expr,
			Labels: map[string]string{"severity": r.Severity.String(), "rule": r.ID, "family": fams[r.ID], "source": "kaudit", "scope": "cluster"},
			Annotations: map[string]string{
				"summary": fmt.Sprintf("%s (all API servers): %s", r.Title, strings.Join(labels, ", ")),
				"description": fmt.Sprintf("{{ $value }} %s in %s for %s across every API server's audit log, more than %d: %s.",
					what, win, strings.Join(labels, ", "), r.Count.MoreThan, r.Title),
			},
		})
	}
	js, err := json.Marshal(ruleFile{Groups: []group{per, cluster}})
	if err != nil {
		return nil, err
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		return nil, err
	}
	head := "# Generated from conf/rules by `go test ./conf/alerting -update`; do not edit.\n" +
		"# Loki ruler rules (label selectors and structured metadata only). Install under\n" +
		"# the ruler's rules directory as <tenant>/kaudit.yaml, or load with lokitool.\n"
	if len(skipped) > 0 {
		head += "# Stateful rules keyed on fields with no structured metadata, counted per\n# node only: " + strings.Join(skipped, ", ") + "\n"
	}
	return append([]byte(head), y...), nil
}

// promDuration writes a window as LogQL accepts it (5m, 90s, 1h).
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", (d+time.Second-1)/time.Second)
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
	// Provisionable as a file: the data source and the cluster are
	// dashboard variables, not import-time inputs.
	ds := map[string]any{"type": "loki", "uid": "${datasource}"}
	static += `, cluster=~"$cluster"`
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
		"type": "timeseries", "title": "Requests by user (medium and above)",
		"targets":     []any{target(fmt.Sprintf("topk(10, sum by (user) (count_over_time(%s[$__auto])))", selector(static, `severity=~"critical|high|medium"`)), "{{user}}")},
		"fieldConfig": map[string]any{"defaults": map[string]any{"custom": map[string]any{"drawStyle": "bars", "stacking": map[string]any{"mode": "normal"}}}},
	}, 12, 0, 12, 8)
	y := 8
	sev := map[string]detect.Severity{}
	for _, r := range rules {
		sev[r.ID] = r.Severity
	}
	for i, f := range Families(rules) {
		// One query per rule: the detection label joins every rule a
		// request matched, so grouping by it would count combinations.
		var targets []any
		for _, id := range f.IDs {
			t := target(fmt.Sprintf("sum(count_over_time(%s[$__auto]))", selector(static, fmt.Sprintf("detection=~%q", DetectionMatcher([]string{id})))), id)
			t["refId"] = fmt.Sprintf("R%d", len(targets))
			targets = append(targets, t)
		}
		add(map[string]any{
			"type": "timeseries", "title": "Requests by rule: " + f.Name,
			"description": "conf/rules/" + f.Name + ".yaml; one series per rule, each request counted once per rule it matched.",
			"targets":     targets,
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
	templating := map[string]any{"list": []any{
		map[string]any{"name": "datasource", "label": "Loki", "type": "datasource", "query": "loki", "current": map[string]any{}, "hide": 0},
		map[string]any{"name": "cluster", "label": "Cluster", "type": "query", "datasource": ds,
			"query":      map[string]any{"type": 1, "label": "cluster", "stream": "{" + strings.SplitN(static, ",", 2)[0] + "}", "refId": "cluster"},
			"definition": "label_values(cluster)", "includeAll": true, "allValue": ".*", "multi": true,
			"current": map[string]any{"text": "All", "value": "$__all"}, "refresh": 2, "hide": 0},
	}}
	dash := map[string]any{
		"templating": templating,
		"title":      "kaudit detections",
		"uid":        "kaudit-detections",
		"tags":       []string{"kaudit", "kubernetes", "audit"},
		"timezone":   "utc", "schemaVersion": 39, "version": 1, "editable": true,
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
