// Package e2e is kaudit's end-to-end harness: a realistic audit-event
// generator, a real Loki process, the C Fluent Bit host driving the built
// .so, and Loki queries. `make run`, the end-to-end tests and the throughput
// run share it, so the demo and the tests exercise the same path.
package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand"
	"time"
)

// Canary is the prefix of every secret value the generator plants; nothing
// starting with it (or its base64 forms) may ever reach Loki.
const Canary = "kaudit-canary-"

// Sample is a generated audit log.
type Sample struct {
	Events  []map[string]any
	Attacks map[string]int    // rule id -> events planted that must match it
	Planted map[string]string // auditID -> the rule its event must match
	Secrets int               // events that carry canary secret values
}

// Generate returns n events shaped like a busy cluster's audit log: mostly
// controllers and kubelets reading and renewing leases at Metadata level,
// some workload writes with bodies, secret reads carrying canary values, and
// about one event in fifty from the usual pipeline's ten suspicious patterns.
// Deterministic for a seed, timestamps spread over the last span before end.
func Generate(n int, seed int64, end time.Time, span time.Duration) *Sample {
	r := rand.New(rand.NewSource(seed))
	s := &Sample{Attacks: map[string]int{}, Planted: map[string]string{}}
	for i := 0; i < n; i++ {
		ts := end.Add(-span + time.Duration(int64(span)*int64(i)/int64(max(n, 1))))
		g := gen{r: r, i: i, ts: ts}
		var ev map[string]any
		switch p := r.Intn(1000); {
		case p < 20:
			var rule string
			ev, rule = g.attack(r.Intn(10))
			s.Attacks[rule]++
			s.Planted[ev["auditID"].(string)] = rule
		case p < 60:
			ev = g.secretRead()
			s.Secrets++
		case p < 110:
			ev = g.podWrite()
		case p < 400:
			ev = g.leaseUpdate()
		case p < 700:
			ev = g.kubeletGet()
		default:
			ev = g.controllerList()
		}
		s.Events = append(s.Events, ev)
	}
	return s
}

type gen struct {
	r  *rand.Rand
	i  int
	ts time.Time
}

func (g gen) base(level, verb, user string, groups []string, obj map[string]any, code int) map[string]any {
	ns, _ := obj["namespace"].(string)
	res, _ := obj["resource"].(string)
	uri := "/api/v1/" + res
	if ns != "" {
		uri = "/api/v1/namespaces/" + ns + "/" + res
	}
	if name, ok := obj["name"].(string); ok {
		uri += "/" + name
	}
	if sub, ok := obj["subresource"].(string); ok {
		uri += "/" + sub
	}
	gs := make([]any, len(groups))
	for i, x := range groups {
		gs[i] = x
	}
	received := g.ts.Add(-time.Duration(1+g.r.Intn(900)) * time.Millisecond)
	return map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": level,
		"auditID": fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", g.r.Uint32(), g.i&0xffff, g.r.Intn(4096), g.r.Intn(4096), g.r.Int63()&0xffffffffffff),
		"stage":   "ResponseComplete", "requestURI": uri, "verb": verb,
		"user":                     map[string]any{"username": user, "groups": gs},
		"sourceIPs":                []any{clientIP(user)},
		"userAgent":                "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46",
		"objectRef":                obj,
		"responseStatus":           map[string]any{"metadata": map[string]any{}, "code": code},
		"requestReceivedTimestamp": received.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"stageTimestamp":           g.ts.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"annotations": map[string]any{
			"authorization.k8s.io/decision": "allow",
			"authorization.k8s.io/reason":   "RBAC: allowed by ClusterRoleBinding \"system:controller\"",
		},
	}
}

// clientIP is where user's requests come from: one address per identity,
// as a kubelet calls from its node and a controller from its pod, so
// that what a client repeats (its address, its agent) repeats here too.
func clientIP(user string) string {
	h := fnv.New32a()
	h.Write([]byte(user))
	n := h.Sum32()
	return fmt.Sprintf("10.0.%d.%d", n%4, 2+(n>>2)%250)
}

var nodes = []string{"cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3", "worker-4"}

func (g gen) leaseUpdate() map[string]any {
	// Each component renews its own lease: another identity writing it is
	// a takeover (control_plane_lease_takeover).
	lease := []string{"kube-controller-manager", "kube-scheduler"}[g.r.Intn(2)]
	ev := g.base("Metadata", "update", "system:"+lease, []string{"system:authenticated"}, map[string]any{
		"resource": "leases", "namespace": "kube-system", "name": lease,
		"apiGroup": "coordination.k8s.io", "apiVersion": "v1",
	}, 200)
	ev["requestURI"] = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/" + lease + "?timeout=5s"
	return ev
}

func (g gen) kubeletGet() map[string]any {
	node := nodes[g.r.Intn(len(nodes))]
	res := []string{"pods", "configmaps", "services", "nodes"}[g.r.Intn(4)]
	obj := map[string]any{"resource": res, "namespace": "default", "name": fmt.Sprintf("app-%d", g.r.Intn(40)), "apiVersion": "v1"}
	if res == "nodes" {
		delete(obj, "namespace")
		obj["name"] = node
	}
	ev := g.base("Metadata", "get", "system:node:"+node, []string{"system:nodes", "system:authenticated"}, obj, 200)
	ev["userAgent"] = "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46"
	return ev
}

func (g gen) controllerList() map[string]any {
	res := []string{"pods", "endpointslices", "replicasets", "deployments"}[g.r.Intn(4)]
	return g.base("Metadata", "list", "system:serviceaccount:kube-system:generic-garbage-collector",
		[]string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
		map[string]any{"resource": res, "apiVersion": "v1"}, 200)
}

func (g gen) podSpec(privileged bool) map[string]any {
	c := map[string]any{
		"name": "app", "image": "registry.example.com/shop/api:1.4." + fmt.Sprint(g.r.Intn(9)),
		"ports":     []any{map[string]any{"containerPort": 8080, "protocol": "TCP"}},
		"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}},
		"env":       []any{map[string]any{"name": "LOG_LEVEL", "value": "info"}},
	}
	if privileged {
		c["securityContext"] = map[string]any{"privileged": true}
	}
	return map[string]any{"containers": []any{c}, "serviceAccountName": "default", "restartPolicy": "Always"}
}

func (g gen) podWrite() map[string]any {
	name := fmt.Sprintf("api-%x", g.r.Uint32())
	ev := g.base("RequestResponse", "create", "system:serviceaccount:kube-system:replicaset-controller",
		[]string{"system:serviceaccounts", "system:authenticated"},
		map[string]any{"resource": "pods", "namespace": "shop", "name": name, "apiVersion": "v1"}, 201)
	body := map[string]any{"kind": "Pod", "apiVersion": "v1",
		"metadata": map[string]any{"name": name, "namespace": "shop", "labels": map[string]any{"app": "api"}},
		"spec":     g.podSpec(false)}
	ev["requestObject"] = body
	ev["responseObject"] = body
	return ev
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// secretData returns a Secret's data with canary values, base64 as the API
// server stores them.
func (g gen) secretData() map[string]any {
	return map[string]any{
		"password": b64(fmt.Sprintf("%spw-%d", Canary, g.i)),
		"api-key":  b64(fmt.Sprintf("%skey-%d", Canary, g.i)),
	}
}

func (g gen) secret(name string) map[string]any {
	return map[string]any{"kind": "Secret", "apiVersion": "v1", "type": "Opaque",
		"metadata": map[string]any{"name": name, "namespace": "shop"}, "data": g.secretData()}
}

// secretRead is an application reading its own few Secrets, as apps do;
// one identity reading more than ten distinct Secrets a minute is the
// secret_read_burst pattern, not routine traffic.
func (g gen) secretRead() map[string]any {
	name := fmt.Sprintf("db-%d", g.r.Intn(4))
	ev := g.base("RequestResponse", "get", "system:serviceaccount:shop:api", []string{"system:serviceaccounts", "system:authenticated"},
		map[string]any{"resource": "secrets", "namespace": "shop", "name": name, "apiVersion": "v1"}, 200)
	ev["responseObject"] = g.secret(name)
	return ev
}

// attack returns one event of the usual pipeline's ten patterns and the rule id that
// must label it.
func (g gen) attack(k int) (map[string]any, string) {
	admin := []string{"system:authenticated", "oidc:platform"}
	user := fmt.Sprintf("mallory-%d@example.com", g.r.Intn(3))
	switch k {
	case 0:
		ev := g.base("RequestResponse", "list", user, admin, map[string]any{"resource": "secrets", "apiVersion": "v1"}, 200)
		ev["responseObject"] = map[string]any{"kind": "SecretList", "apiVersion": "v1", "items": []any{g.secret("a"), g.secret("b")}}
		return ev, "secret_list_all_namespaces"
	case 1:
		ev := g.base("RequestResponse", "create", user, admin, map[string]any{"resource": "clusterrolebindings", "name": "backdoor", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"}, 201)
		ev["requestObject"] = map[string]any{"kind": "ClusterRoleBinding", "roleRef": map[string]any{"kind": "ClusterRole", "name": "cluster-admin"},
			"subjects": []any{map[string]any{"kind": "User", "name": user}}}
		return ev, "clusterrolebinding_create"
	case 2:
		verb := []string{"create", "get"}[g.r.Intn(2)]
		ev := g.base("Metadata", verb, user, admin, map[string]any{"resource": "pods", "subresource": "exec", "namespace": "shop", "name": "api-0", "apiVersion": "v1"}, 101)
		ev["requestURI"] = "/api/v1/namespaces/shop/pods/api-0/exec?command=sh&container=app&stdin=true&stdout=true&tty=true"
		ev["stage"] = "ResponseStarted" // the stage that carries a session's outcome
		return ev, "pod_exec"
	case 3:
		ev := g.base("RequestResponse", "create", user, admin, map[string]any{"resource": "serviceaccounts", "subresource": "token", "namespace": "shop", "name": "api", "apiVersion": "v1"}, 201)
		ev["responseObject"] = map[string]any{"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
			"status": map[string]any{"token": Canary + fmt.Sprintf("jwt-%d", g.i), "expirationTimestamp": "2030-01-01T00:00:00Z"}}
		return ev, "serviceaccount_token_create"
	case 4:
		return g.base("Request", "patch", user, admin, map[string]any{"resource": "mutatingwebhookconfigurations", "name": "injector", "apiGroup": "admissionregistration.k8s.io", "apiVersion": "v1"}, 200), "admission_webhook_change"
	case 5:
		ev := g.base("Request", "create", user, admin, map[string]any{"resource": "pods", "namespace": "shop", "name": "debug", "apiVersion": "v1"}, 201)
		ev["requestObject"] = map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": map[string]any{"name": "debug"}, "spec": g.podSpec(true)}
		return ev, "privileged_pod_create"
	case 6:
		return g.base("Request", "delete", user, admin, map[string]any{"resource": "namespaces", "name": "shop", "apiVersion": "v1"}, 200), "namespace_delete"
	case 7:
		return g.base("Metadata", "get", "system:anonymous", []string{"system:unauthenticated"}, map[string]any{"resource": "configmaps", "namespace": "kube-system", "name": "cluster-info", "apiVersion": "v1"}, 200), "anonymous_request"
	case 8:
		return g.base("Metadata", "bind", user, admin, map[string]any{"resource": "clusterroles", "name": "cluster-admin", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"}, 200), "rbac_bind_escalate"
	default:
		return g.base("Request", "patch", user, admin, map[string]any{"resource": "nodes", "subresource": "status", "name": "worker-1", "apiVersion": "v1"}, 200), "node_patch_unexpected"
	}
}

// Lines are events as tail without a parser reads them from the log
// backend's file: each event's JSON, one line, under log.
func Lines(events []map[string]any) ([]map[string]any, error) {
	out := make([]map[string]any, len(events))
	for i, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		out[i] = map[string]any{"log": string(b)}
	}
	return out, nil
}

// Shapes wraps events the ways real pipelines carry them, cycling through
// raw events, webhook EventList batches of five, AKS diagnostic records and
// JSON strings under `log`, so every decoder path is exercised.
func Shapes(events []map[string]any) []map[string]any {
	var out []map[string]any
	for i := 0; i < len(events); i += 5 {
		out = append(out, Shape((i/5)%4, events[i:min(i+5, len(events))])...)
	}
	return out
}

// Shape wraps events in record shape k (0 raw, 1 one EventList holding
// them all, 2 AKS diagnostic records, 3 JSON strings under `log`).
func Shape(k int, events []map[string]any) []map[string]any {
	var out []map[string]any
	switch k {
	case 0:
		out = append(out, events...)
	case 1:
		items := make([]any, 0, len(events))
		for _, e := range events {
			items = append(items, e)
		}
		out = append(out, map[string]any{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": map[string]any{}, "items": items})
	case 2:
		for _, e := range events {
			b, _ := json.Marshal(e)
			out = append(out, map[string]any{"category": "kube-audit", "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
				"resourceId": "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1",
				"time":       e["stageTimestamp"], "properties": map[string]any{"log": string(b), "stream": "stdout", "pod": "kube-apiserver-7d9f"}})
		}
	default:
		for _, e := range events {
			b, _ := json.Marshal(e)
			out = append(out, map[string]any{"log": string(b) + "\n", "stream": "stdout"})
		}
	}
	return out
}
