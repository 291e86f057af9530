package detect_test

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"time"
)

// The held-out corpora are written independently of the shipped
// allow-lists, from how the components of a real cluster call the API
// server: genHeldoutBenign is an hour of a cluster with the usual add-ons
// (two API servers, one logging every stage, one omitting
// RequestReceived), genHeldoutAttacks one request (or burst) per
// technique the rules claim, each labelled with the rules expected to
// fire. Both are deterministic; TestHeldout keeps the files under
// testdata/heldout equal to them.

type hreq struct {
	user    string
	groups  []string
	extra   map[string]any
	verb    string
	group   string
	version string
	res     string
	sub     string
	ns      string
	name    string
	query   string
	uri     string
	code    int
	ips     []string
	ua      string
	level   string
	body    any
	resp    any
	imp     map[string]any
	ann     map[string]string
	msg     string
	expect  []string // attacks only: rules any of which must label the request
}

type hgen struct {
	r      *rand.Rand
	t      time.Time
	n      int
	prefix string
	out    [][]byte
}

func hsa(ns, name string) (string, []string) {
	return "system:serviceaccount:" + ns + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}

func (r *hreq) path() string {
	if r.uri != "" {
		return r.uri
	}
	var b strings.Builder
	if r.group == "" {
		b.WriteString("/api/" + r.version)
	} else {
		b.WriteString("/apis/" + r.group + "/" + r.version)
	}
	if r.ns != "" {
		b.WriteString("/namespaces/" + r.ns)
	}
	b.WriteString("/" + r.res)
	if r.name != "" {
		b.WriteString("/" + r.name)
	}
	if r.sub != "" {
		b.WriteString("/" + r.sub)
	}
	q := r.query
	if q == "" {
		switch r.verb {
		case "list":
			q = "limit=500&resourceVersion=0"
		case "watch":
			q = "allowWatchBookmarks=true&resourceVersion=81723&timeout=8m12s&timeoutSeconds=492&watch=true"
		}
	}
	if q != "" {
		b.WriteString("?" + q)
	}
	return b.String()
}

func (r *hreq) longRunning() bool {
	switch r.sub {
	case "exec", "attach", "portforward", "proxy", "log":
		return r.sub != "log" || strings.Contains(r.query, "follow=true")
	}
	return r.verb == "watch"
}

func (g *hgen) emit(r hreq) {
	g.n++
	g.t = g.t.Add(time.Duration(150+g.r.Intn(400)) * time.Millisecond)
	if r.code == 0 {
		r.code = 200
		if r.verb == "create" {
			r.code = 201
		}
		if r.sub == "exec" || r.sub == "attach" || r.sub == "portforward" {
			r.code = 101
		}
	}
	if r.version == "" {
		r.version = "v1"
	}
	if r.level == "" {
		r.level = "Metadata"
		if r.body != nil {
			r.level = "RequestResponse"
		}
	}
	id := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", g.r.Uint32(), g.r.Intn(65536), g.r.Intn(4096), g.r.Intn(4096), g.n)
	user := map[string]any{"username": r.user}
	if len(r.groups) > 0 {
		user["groups"] = r.groups
	}
	if r.extra != nil {
		user["extra"] = r.extra
	}
	if r.code == 401 {
		user = map[string]any{}
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
	received := g.t
	base := func(stage string, at time.Time) map[string]any {
		ev := map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": r.level, "auditID": id,
			"stage": stage, "requestURI": r.path(), "verb": r.verb, "user": user, "sourceIPs": r.ips,
			"userAgent": r.ua, "requestReceivedTimestamp": ts(received), "stageTimestamp": ts(at)}
		if r.imp != nil {
			ev["impersonatedUser"] = r.imp
		}
		if r.res != "" {
			or := map[string]any{"resource": r.res, "apiVersion": r.version}
			if r.group != "" {
				or["apiGroup"] = r.group
			}
			if r.sub != "" {
				or["subresource"] = r.sub
			}
			if r.ns != "" {
				or["namespace"] = r.ns
			}
			if r.name != "" {
				or["name"] = r.name
			}
			ev["objectRef"] = or
		}
		if r.body != nil && r.level != "Metadata" {
			ev["requestObject"] = r.body
		}
		return ev
	}
	final := func(ev map[string]any) {
		st := map[string]any{"metadata": map[string]any{}, "code": r.code}
		if r.code >= 400 {
			st["status"] = "Failure"
			reason := map[int]string{401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "AlreadyExists", 422: "Invalid", 429: "TooManyRequests"}[r.code]
			st["reason"] = reason
			if r.msg != "" {
				st["message"] = r.msg
			}
		}
		ev["responseStatus"] = st
		if r.code != 401 {
			ann := map[string]any{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
			if r.code == 403 {
				ann["authorization.k8s.io/decision"] = "forbid"
			} else if strings.HasPrefix(r.user, "system:serviceaccount:") || strings.HasPrefix(r.user, "system:node:") || strings.HasPrefix(r.user, "system:kube-") {
				ann["authorization.k8s.io/reason"] = "RBAC: allowed by ClusterRoleBinding"
			}
			for k, v := range r.ann {
				ann[k] = v
			}
			ev["annotations"] = ann
		}
		if r.resp != nil && r.level == "RequestResponse" {
			ev["responseObject"] = r.resp
		}
	}
	server := g.n % 2
	var evs []map[string]any
	if server == 0 {
		evs = append(evs, base("RequestReceived", received))
	}
	end := received.Add(time.Duration(1+g.r.Intn(60)) * time.Millisecond)
	if r.longRunning() && r.code < 400 {
		ev := base("ResponseStarted", end)
		final(ev)
		evs = append(evs, ev)
		end = end.Add(time.Duration(5+g.r.Intn(400)) * time.Second)
	}
	ev := base("ResponseComplete", end)
	final(ev)
	evs = append(evs, ev)
	for _, e := range evs {
		var line []byte
		if g.prefix == "attack" {
			exp := r.expect
			if exp == nil {
				exp = []string{}
			}
			line, _ = json.Marshal(map[string]any{"expect": exp, "event": e})
		} else {
			line, _ = json.Marshal(e)
		}
		g.out = append(g.out, line)
	}
}

func (g *hgen) pick(s []string) string { return s[g.r.Intn(len(s))] }

func (g *hgen) bytes() []byte {
	var b []byte
	for _, l := range g.out {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}

type hk struct{ group, version, res string }

func hkinds(spec ...string) []hk {
	var out []hk
	for _, s := range spec {
		p := strings.Split(s, "/")
		switch len(p) {
		case 1:
			out = append(out, hk{"", "v1", p[0]})
		default:
			out = append(out, hk{p[0], p[1], p[2]})
		}
	}
	return out
}

// informer lists then watches each kind cluster-wide, as client-go's
// reflectors do at start and after each watch timeout.
func (g *hgen) informer(user string, groups []string, ip, ua string, kinds []hk, list bool) {
	for _, k := range kinds {
		if list {
			g.emit(hreq{user: user, groups: groups, verb: "list", group: k.group, version: k.version, res: k.res, ips: []string{ip}, ua: ua})
		}
		g.emit(hreq{user: user, groups: groups, verb: "watch", group: k.group, version: k.version, res: k.res, ips: []string{ip}, ua: ua})
	}
}

func (g *hgen) leader(user string, groups []string, ip, ua, ns, name string) {
	g.emit(hreq{user: user, groups: groups, verb: "get", group: "coordination.k8s.io", res: "leases", ns: ns, name: name, ips: []string{ip}, ua: ua})
	g.emit(hreq{user: user, groups: groups, verb: "update", group: "coordination.k8s.io", res: "leases", ns: ns, name: name, ips: []string{ip}, ua: ua})
}

const caPEM = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURCVENDQWUyZ0F3SUJBZ0lJWEhQbTNzUT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="

func webhookBody(kind, name, svcNS, svc string, hooks ...string) map[string]any {
	var ws []any
	for _, h := range hooks {
		ws = append(ws, map[string]any{"name": h, "admissionReviewVersions": []any{"v1"}, "sideEffects": "None", "failurePolicy": "Fail",
			"clientConfig": map[string]any{"caBundle": caPEM, "service": map[string]any{"namespace": svcNS, "name": svc, "path": "/validate", "port": 443}},
			"rules":        []any{map[string]any{"apiGroups": []any{""}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"pods"}}}})
	}
	return map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
		"metadata": map[string]any{"name": name, "resourceVersion": "912345"}, "webhooks": ws}
}

func podSpec(containers []any, extra map[string]any) map[string]any {
	s := map[string]any{"containers": containers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func ctr(name, image string, sc map[string]any) map[string]any {
	c := map[string]any{"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
		"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}}}
	if sc != nil {
		c["securityContext"] = sc
	}
	return c
}

func podBody(ns, name, sa string, spec map[string]any, labels map[string]any, ann map[string]any) map[string]any {
	md := map[string]any{"name": name, "namespace": ns}
	if labels != nil {
		md["labels"] = labels
	}
	if ann != nil {
		md["annotations"] = ann
	}
	if sa != "" {
		spec["serviceAccountName"] = sa
	}
	return map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": md, "spec": spec}
}

func workloadBody(kind, ns, name string, spec map[string]any) map[string]any {
	api := "apps/v1"
	if kind == "CronJob" || kind == "Job" {
		api = "batch/v1"
	}
	tmpl := map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}}, "spec": spec}
	s := map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": name}}, "template": tmpl}
	switch kind {
	case "CronJob":
		s = map[string]any{"schedule": "*/5 * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl}}}
	case "Job":
		s = map[string]any{"template": tmpl, "backoffLimit": 2}
	case "Deployment", "StatefulSet":
		s["replicas"] = 2
	}
	return map[string]any{"kind": kind, "apiVersion": api, "metadata": map[string]any{"name": name, "namespace": ns}, "spec": s}
}

func binding(kind, name, ns, role string, subjects ...map[string]any) map[string]any {
	md := map[string]any{"name": name}
	if ns != "" {
		md["namespace"] = ns
	}
	var subs []any
	for _, s := range subjects {
		subs = append(subs, s)
	}
	return map[string]any{"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": md,
		"roleRef": map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}, "subjects": subs}
}

func subj(kind, name, ns string) map[string]any {
	s := map[string]any{"kind": kind, "name": name}
	if kind == "ServiceAccount" {
		s["namespace"] = ns
	} else {
		s["apiGroup"] = "rbac.authorization.k8s.io"
	}
	return s
}

func role(kind, name, ns string, rules ...map[string]any) map[string]any {
	md := map[string]any{"name": name}
	if ns != "" {
		md["namespace"] = ns
	}
	var rs []any
	for _, r := range rules {
		rs = append(rs, r)
	}
	return map[string]any{"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": md, "rules": rs}
}

func prule(groups, res, verbs []any) map[string]any {
	return map[string]any{"apiGroups": groups, "resources": res, "verbs": verbs}
}

func strs(s ...string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func jsonPatch(ops ...map[string]any) []any {
	out := make([]any, len(ops))
	for i, o := range ops {
		out[i] = o
	}
	return out
}
