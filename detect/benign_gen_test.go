package detect_test

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"time"
)

// The benign corpus is a simulated half hour of a production cluster that
// runs the usual add-ons, written by three API servers: the first logs
// every stage, the other two omit RequestReceived (the common policy).
// Identities, user agents, paths and bodies follow what those components
// really send. genBenign is deterministic; TestBenignCorpus keeps
// testdata/benign/cluster.jsonl equal to its output (-update rewrites it).

type benignReq struct {
	user    string
	groups  []string
	verb    string
	group   string // API group, "" for core
	version string
	res     string
	sub     string
	ns      string
	name    string
	query   string
	uri     string // overrides the built path
	code    int
	ip      []string
	ua      string
	level   string
	body    any
	ann     map[string]string
}

type benignGen struct {
	r   *rand.Rand
	t   time.Time
	n   int
	out []map[string]any
}

func sa(ns, name string) (string, []string) {
	return "system:serviceaccount:" + ns + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}

func (g *benignGen) podIP() string { return fmt.Sprintf("10.244.%d.%d", g.r.Intn(6), 2+g.r.Intn(250)) }

func (r *benignReq) path() string {
	if r.uri != "" {
		return r.uri
	}
	var b strings.Builder
	if r.group == "" {
		b.WriteString("/api/v1")
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
	switch r.verb {
	case "list":
		if q == "" {
			q = "limit=500&resourceVersion=0"
		}
	case "watch":
		if q == "" {
			q = "allowWatchBookmarks=true&resourceVersion=" + fmt.Sprint(4000000+len(r.res)*7919) + "&timeout=7m31s&timeoutSeconds=451&watch=true"
		}
	}
	if q != "" {
		b.WriteString("?" + q)
	}
	return b.String()
}

func longRunningReq(r *benignReq) bool {
	switch r.sub {
	case "exec", "attach", "portforward", "proxy", "log":
		return true
	}
	return r.verb == "watch"
}

// emit writes the stages of one request.
func (g *benignGen) emit(r benignReq) {
	g.n++
	g.t = g.t.Add(time.Duration(300+g.r.Intn(500)) * time.Millisecond)
	if r.code == 0 {
		switch r.verb {
		case "create":
			r.code = 201
		default:
			r.code = 200
		}
		if r.sub == "exec" || r.sub == "attach" || r.sub == "portforward" {
			r.code = 101
		}
	}
	if r.level == "" {
		r.level = "Metadata"
		if r.body != nil {
			r.level = "Request"
		}
	}
	if r.version == "" {
		r.version = "v1"
	}
	server := g.n % 3
	id := fmt.Sprintf("b3n16n-0000-4000-8000-%012d", g.n)
	user := map[string]any{"username": r.user, "groups": toAny(r.groups)}
	if r.code == 401 { // no credential was accepted: the API server records no user
		user = map[string]any{}
	}
	base := func(stage string, at time.Time) map[string]any {
		ev := map[string]any{
			"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": r.level, "auditID": id,
			"stage": stage, "requestURI": r.path(), "verb": r.verb,
			"user":                     user,
			"sourceIPs":                toAny(r.ip),
			"userAgent":                r.ua,
			"requestReceivedTimestamp": g.t.Format("2006-01-02T15:04:05.000000Z"),
			"stageTimestamp":           at.Format("2006-01-02T15:04:05.000000Z"),
		}
		if r.res != "" {
			or := map[string]any{"resource": r.res, "apiVersion": r.version}
			if r.group != "" {
				or["apiGroup"] = r.group
			}
			for k, v := range map[string]string{"subresource": r.sub, "namespace": r.ns, "name": r.name} {
				if v != "" {
					or[k] = v
				}
			}
			ev["objectRef"] = or
		}
		if r.body != nil && stage != "ResponseStarted" {
			ev["requestObject"] = r.body
		}
		return ev
	}
	final := func(ev map[string]any) {
		ev["responseStatus"] = map[string]any{"metadata": map[string]any{}, "code": r.code}
		ann := map[string]any{}
		if r.code != 401 {
			dec := "allow"
			if r.code == 403 {
				dec = "forbid"
			}
			ann["authorization.k8s.io/decision"] = dec
			ann["authorization.k8s.io/reason"] = ""
		}
		for k, v := range r.ann {
			ann[k] = v
		}
		if len(ann) > 0 {
			ev["annotations"] = ann
		}
	}
	if server == 0 {
		g.out = append(g.out, base("RequestReceived", g.t))
	}
	end := g.t.Add(time.Duration(2+g.r.Intn(40)) * time.Millisecond)
	if longRunningReq(&r) && r.code < 400 {
		ev := base("ResponseStarted", end)
		final(ev)
		g.out = append(g.out, ev)
		end = end.Add(time.Duration(1+g.r.Intn(300)) * time.Second)
	}
	ev := base("ResponseComplete", end)
	final(ev)
	g.out = append(g.out, ev)
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// apiRes is a resource as controllers list and watch it.
type apiRes struct{ group, res string }

var (
	coreKinds = []apiRes{{"", "pods"}, {"", "services"}, {"", "endpoints"}, {"", "configmaps"}, {"", "secrets"},
		{"", "nodes"}, {"", "namespaces"}, {"", "persistentvolumes"}, {"", "persistentvolumeclaims"},
		{"", "serviceaccounts"}, {"", "resourcequotas"}, {"", "limitranges"}, {"", "replicationcontrollers"},
		{"apps", "deployments"}, {"apps", "daemonsets"}, {"apps", "statefulsets"}, {"apps", "replicasets"},
		{"batch", "jobs"}, {"batch", "cronjobs"}, {"networking.k8s.io", "ingresses"}, {"networking.k8s.io", "networkpolicies"},
		{"policy", "poddisruptionbudgets"}, {"autoscaling", "horizontalpodautoscalers"}, {"storage.k8s.io", "storageclasses"},
		{"storage.k8s.io", "volumeattachments"}, {"certificates.k8s.io", "certificatesigningrequests"},
		{"admissionregistration.k8s.io", "mutatingwebhookconfigurations"}, {"admissionregistration.k8s.io", "validatingwebhookconfigurations"},
		{"coordination.k8s.io", "leases"}, {"discovery.k8s.io", "endpointslices"}, {"rbac.authorization.k8s.io", "roles"},
		{"rbac.authorization.k8s.io", "rolebindings"}, {"rbac.authorization.k8s.io", "clusterroles"}, {"rbac.authorization.k8s.io", "clusterrolebindings"}}
	appNamespaces = []string{"payments", "checkout", "catalog", "web", "search", "orders"}
	nodes         = []string{"ip-10-0-1-21.eu-west-1.compute.internal", "ip-10-0-1-22.eu-west-1.compute.internal", "ip-10-0-2-31.eu-west-1.compute.internal", "ip-10-0-2-32.eu-west-1.compute.internal", "ip-10-0-3-41.eu-west-1.compute.internal"}
	nodeIPs       = []string{"10.0.1.21", "10.0.1.22", "10.0.2.31", "10.0.2.32", "10.0.3.41"}
)

func groupVersion(group string) string {
	switch group {
	case "autoscaling":
		return "v2"
	}
	return "v1"
}

// informer lists then watches each kind cluster-wide, as client-go does at
// start and after every watch timeout.
func (g *benignGen) informer(user string, groups []string, ip, ua string, kinds []apiRes, watchOnly bool) {
	for _, k := range kinds {
		if !watchOnly {
			g.emit(benignReq{user: user, groups: groups, verb: "list", group: k.group, version: groupVersion(k.group), res: k.res, ip: []string{ip}, ua: ua})
		}
		g.emit(benignReq{user: user, groups: groups, verb: "watch", group: k.group, version: groupVersion(k.group), res: k.res, ip: []string{ip}, ua: ua})
	}
}

func (g *benignGen) lease(user string, groups []string, ip, ua, ns, name string) {
	g.emit(benignReq{user: user, groups: groups, verb: "get", group: "coordination.k8s.io", res: "leases", ns: ns, name: name, ip: []string{ip}, ua: ua})
	g.emit(benignReq{user: user, groups: groups, verb: "update", group: "coordination.k8s.io", res: "leases", ns: ns, name: name, ip: []string{ip}, ua: ua})
}

func (g *benignGen) pick(s []string) string { return s[g.r.Intn(len(s))] }

func caBundlePatch(kind, name string, hooks ...string) map[string]any {
	var ws []any
	for _, h := range hooks {
		ws = append(ws, map[string]any{"name": h, "clientConfig": map[string]any{"caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM="}})
	}
	return map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": map[string]any{"name": name}, "webhooks": ws}
}

func imagePatch(container, image string) map[string]any {
	return map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": container, "image": image}}}}}}
}

func mirrorPod(node, name, image string) map[string]any {
	return map[string]any{"kind": "Pod", "apiVersion": "v1",
		"metadata": map[string]any{"name": name + "-" + node, "namespace": "kube-system",
			"annotations": map[string]any{"kubernetes.io/config.mirror": "4b1c0e8f0f6b", "kubernetes.io/config.source": "file"}},
		"spec": map[string]any{"nodeName": node, "hostNetwork": true, "priorityClassName": "system-node-critical",
			"containers": []any{map[string]any{"name": name, "image": image, "securityContext": map[string]any{"privileged": true}}},
			"volumes":    []any{map[string]any{"name": "etc", "hostPath": map[string]any{"path": "/etc/kubernetes"}}}}}
}

// genBenign returns the corpus as JSON lines.
func genBenign() []byte {
	g := &benignGen{r: rand.New(rand.NewSource(13)), t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	ksm, ksmG := sa("monitoring", "kube-state-metrics")
	ingress, ingressG := sa("ingress-nginx", "ingress-nginx")
	argo, argoG := sa("argocd", "argocd-application-controller")
	argoSrv, argoSrvG := sa("argocd", "argocd-server")
	argoRepo, argoRepoG := sa("argocd", "argocd-repo-server")
	kustomize, kustomizeG := sa("flux-system", "kustomize-controller")
	helmc, helmcG := sa("flux-system", "helm-controller")
	source, sourceG := sa("flux-system", "source-controller")
	velero, veleroG := sa("velero", "velero")
	eso, esoG := sa("external-secrets", "external-secrets")
	cm, cmG := sa("cert-manager", "cert-manager")
	cainj, cainjG := sa("cert-manager", "cert-manager-cainjector")
	istiod, istiodG := sa("istio-system", "istiod")
	kyverno, kyvernoG := sa("kyverno", "kyverno-admission-controller")
	gk, gkG := sa("gatekeeper-system", "gatekeeper-admin")
	npd, npdG := sa("node-problem-detector", "node-problem-detector")
	karp, karpG := sa("karpenter", "karpenter")
	calico, calicoG := sa("calico-system", "calico-node")
	flannel, flannelG := sa("kube-flannel", "flannel")
	prom, promG := sa("monitoring", "prometheus-k8s")
	humanG := []string{"platform-team", "system:authenticated"}
	devG := []string{"developers", "system:authenticated"}
	kubectl := "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"

	ksmKinds := coreKinds[:29]
	argoKinds := append(append([]apiRes{}, coreKinds...), apiRes{"argoproj.io", "applications"}, apiRes{"cert-manager.io", "certificates"}, apiRes{"monitoring.coreos.com", "servicemonitors"})

	// Start-up of the add-ons: informers list and watch.
	g.informer(ksm, ksmG, "10.244.1.15", "kube-state-metrics/v2.13.0 (linux/amd64) kube-state-metrics/1.0", ksmKinds, false)
	g.informer(ingress, ingressG, "10.244.2.7", "nginx-ingress-controller/v1.11.2 (linux/amd64) ingress-nginx/46e76e5916813cfca2a9b0bfdc34b69a0000f6b9",
		[]apiRes{{"", "secrets"}, {"", "configmaps"}, {"", "services"}, {"discovery.k8s.io", "endpointslices"}, {"networking.k8s.io", "ingresses"}, {"networking.k8s.io", "ingressclasses"}}, false)
	g.informer(argo, argoG, "10.244.3.9", "argocd-application-controller/v2.12.4 (linux/amd64)", argoKinds, false)
	g.informer(eso, esoG, "10.244.4.4", "external-secrets/v0.10.4 (linux/amd64)", []apiRes{{"", "secrets"}, {"external-secrets.io", "externalsecrets"}, {"external-secrets.io", "clustersecretstores"}}, false)
	g.informer(cm, cmG, "10.244.0.12", "cert-manager-controller/v1.15.3 (linux/amd64) cert-manager/4a5d4d7", []apiRes{{"", "secrets"}, {"cert-manager.io", "certificates"}, {"cert-manager.io", "certificaterequests"}, {"networking.k8s.io", "ingresses"}}, false)
	g.informer(cainj, cainjG, "10.244.0.13", "cainjector/v1.15.3 (linux/amd64) cert-manager/4a5d4d7", []apiRes{{"", "secrets"}, {"admissionregistration.k8s.io", "mutatingwebhookconfigurations"}, {"admissionregistration.k8s.io", "validatingwebhookconfigurations"}, {"apiextensions.k8s.io", "customresourcedefinitions"}, {"apiregistration.k8s.io", "apiservices"}}, false)
	g.informer(istiod, istiodG, "10.244.5.20", "pilot-discovery/1.23.2", []apiRes{{"", "secrets"}, {"", "services"}, {"", "namespaces"}, {"", "pods"}, {"discovery.k8s.io", "endpointslices"}, {"admissionregistration.k8s.io", "mutatingwebhookconfigurations"}}, false)
	g.informer(kyverno, kyvernoG, "10.244.1.40", "kyverno/v1.12.5 (linux/amd64)", []apiRes{{"", "namespaces"}, {"", "configmaps"}, {"kyverno.io", "clusterpolicies"}, {"admissionregistration.k8s.io", "validatingwebhookconfigurations"}, {"admissionregistration.k8s.io", "mutatingwebhookconfigurations"}}, false)
	g.informer(velero, veleroG, "10.244.2.30", "velero-server/v1.14.1 (linux/amd64) 8afe3cea8b7058f7baaf447b9fb407312c40d2da", []apiRes{{"velero.io", "backups"}, {"velero.io", "schedules"}}, false)
	g.informer(prom, promG, "10.244.1.16", "Prometheus/2.54.1", []apiRes{{"", "pods"}, {"", "services"}, {"", "endpoints"}}, false)

	for step := 0; step < 2600; step++ {
		switch x := g.r.Intn(100); {
		case x < 22: // kubelets: leases, status, own pods, mirror pods
			i := g.r.Intn(len(nodes))
			node, nip := nodes[i], nodeIPs[i]
			u, gr := "system:node:"+node, []string{"system:nodes", "system:authenticated"}
			ua := "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46"
			switch g.r.Intn(6) {
			case 0:
				g.emit(benignReq{user: u, groups: gr, verb: "update", group: "coordination.k8s.io", res: "leases", ns: "kube-node-lease", name: node, ip: []string{nip}, ua: ua})
			case 1:
				g.emit(benignReq{user: u, groups: gr, verb: "patch", res: "nodes", sub: "status", name: node, ip: []string{nip}, ua: ua})
			case 2:
				g.emit(benignReq{user: u, groups: gr, verb: "patch", res: "pods", sub: "status", ns: g.pick(appNamespaces), name: "api-6d8f7-" + fmt.Sprint(g.r.Intn(90000)), ip: []string{nip}, ua: ua})
			case 3:
				g.emit(benignReq{user: u, groups: gr, verb: "create", res: "serviceaccounts", sub: "token", ns: g.pick(appNamespaces), name: "default", ip: []string{nip}, ua: ua})
			case 4:
				g.emit(benignReq{user: u, groups: gr, verb: "get", res: "configmaps", ns: g.pick(appNamespaces), name: "kube-root-ca.crt", ip: []string{nip}, ua: ua})
			case 5:
				comp := g.pick([]string{"kube-proxy", "etcd", "kube-apiserver"})
				g.emit(benignReq{user: u, groups: gr, verb: "create", res: "pods", ns: "kube-system", ip: []string{nip}, ua: ua,
					body: mirrorPod(node, comp, "registry.k8s.io/"+comp+":v1.31.2")})
			}
		case x < 30: // controllers keep their leases and caches current
			switch g.r.Intn(10) {
			case 0:
				g.lease(ingress, ingressG, "10.244.2.7", "nginx-ingress-controller/v1.11.2", "ingress-nginx", "ingress-nginx-leader")
			case 1:
				g.lease(cm, cmG, "10.244.0.12", "cert-manager-controller/v1.15.3", "kube-system", "cert-manager-controller")
			case 2:
				g.lease(kyverno, kyvernoG, "10.244.1.40", "kyverno/v1.12.5", "kyverno", "kyverno")
			case 3:
				g.lease(karp, karpG, "10.244.3.3", "karpenter/v1.0.6", "karpenter", "karpenter-leader-election")
			case 4:
				g.informer(ksm, ksmG, "10.244.1.15", "kube-state-metrics/v2.13.0 (linux/amd64) kube-state-metrics/1.0", ksmKinds[g.r.Intn(len(ksmKinds)):][:1], true)
			case 5:
				g.informer(argo, argoG, "10.244.3.9", "argocd-application-controller/v2.12.4 (linux/amd64)", argoKinds[g.r.Intn(len(argoKinds)):][:1], true)
			case 6:
				g.informer(ingress, ingressG, "10.244.2.7", "nginx-ingress-controller/v1.11.2", []apiRes{{"", "secrets"}}, true)
			case 7:
				g.informer(eso, esoG, "10.244.4.4", "external-secrets/v0.10.4 (linux/amd64)", []apiRes{{"", "secrets"}}, true)
			case 8:
				u, gr := "system:kube-controller-manager", []string{"system:authenticated"}
				g.lease(u, gr, "10.0.0.10", "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election", "kube-system", "kube-controller-manager")
			case 9:
				u, gr := "system:kube-scheduler", []string{"system:authenticated"}
				g.lease(u, gr, "10.0.0.10", "kube-scheduler/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election", "kube-system", "kube-scheduler")
			}
		case x < 34: // webhook owners re-inject their CA bundles
			switch g.r.Intn(5) {
			case 0:
				g.emit(benignReq{user: cainj, groups: cainjG, verb: "patch", group: "admissionregistration.k8s.io", res: "validatingwebhookconfigurations", name: "cert-manager-webhook",
					query: "fieldManager=cert-manager-cainjector&force=true", ip: []string{"10.244.0.13"}, ua: "cainjector/v1.15.3", body: caBundlePatch("ValidatingWebhookConfiguration", "cert-manager-webhook", "webhook.cert-manager.io")})
			case 1:
				g.emit(benignReq{user: cainj, groups: cainjG, verb: "patch", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "cert-manager-webhook",
					query: "fieldManager=cert-manager-cainjector&force=true", ip: []string{"10.244.0.13"}, ua: "cainjector/v1.15.3", body: caBundlePatch("MutatingWebhookConfiguration", "cert-manager-webhook", "webhook.cert-manager.io")})
			case 2:
				g.emit(benignReq{user: istiod, groups: istiodG, verb: "patch", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "istio-sidecar-injector",
					ip: []string{"10.244.5.20"}, ua: "pilot-discovery/1.23.2", body: caBundlePatch("MutatingWebhookConfiguration", "istio-sidecar-injector", "rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io")})
			case 3:
				g.emit(benignReq{user: gk, groups: gkG, verb: "patch", group: "admissionregistration.k8s.io", res: "validatingwebhookconfigurations", name: "gatekeeper-validating-webhook-configuration",
					ip: []string{"10.244.4.50"}, ua: "gatekeeper/v3.17.1 (linux/amd64) 1d4c5b6/2024-09-10T17:29:15Z", body: caBundlePatch("ValidatingWebhookConfiguration", "gatekeeper-validating-webhook-configuration", "validation.gatekeeper.sh", "check-ignore-label.gatekeeper.sh")})
			case 4: // Kyverno rewrites the rules of its own webhooks, not only the CA
				hook := caBundlePatch("ValidatingWebhookConfiguration", "kyverno-resource-validating-webhook-cfg", "validate.kyverno.svc-fail")
				hook["webhooks"].([]any)[0].(map[string]any)["rules"] = []any{map[string]any{"apiGroups": []any{""}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"pods"}}}
				// A full-object update carries the whole clientConfig: the
				// API server refuses a webhook with neither service nor url.
				hook["webhooks"].([]any)[0].(map[string]any)["clientConfig"].(map[string]any)["service"] = map[string]any{"namespace": "kyverno", "name": "kyverno-svc", "path": "/validate/fail", "port": 443}
				g.emit(benignReq{user: kyverno, groups: kyvernoG, verb: "update", group: "admissionregistration.k8s.io", res: "validatingwebhookconfigurations", name: "kyverno-resource-validating-webhook-cfg",
					ip: []string{"10.244.1.40"}, ua: "kyverno/v1.12.5", body: hook})
			}
		case x < 40: // nodes patched by their controllers, CNIs and operators
			i := g.r.Intn(len(nodes))
			node := nodes[i]
			switch g.r.Intn(7) {
			case 0:
				g.emit(benignReq{user: npd, groups: npdG, verb: "patch", res: "nodes", sub: "status", name: node, ip: []string{g.podIP()}, ua: "node-problem-detector/v0.8.19"})
			case 1:
				g.emit(benignReq{user: calico, groups: calicoG, verb: "patch", res: "nodes", sub: "status", name: node, ip: []string{nodeIPs[i]}, ua: "calico-node/v3.28.2 (linux/amd64)"})
			case 2:
				g.emit(benignReq{user: flannel, groups: flannelG, verb: "patch", res: "nodes", sub: "status", name: node, ip: []string{nodeIPs[i]}, ua: "flanneld/v0.25.6"})
			case 3:
				g.emit(benignReq{user: karp, groups: karpG, verb: "patch", res: "nodes", name: node, ip: []string{"10.244.3.3"}, ua: "karpenter/v1.0.6"})
			case 4:
				u, gr := sa("kube-system", "node-controller")
				g.emit(benignReq{user: u, groups: gr, verb: "patch", res: "nodes", name: node, ip: []string{"10.0.0.10"}, ua: "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/system:serviceaccount:kube-system:node-controller"})
			case 5:
				g.emit(benignReq{user: "system:cloud-controller-manager", groups: []string{"system:authenticated"}, verb: "patch", res: "nodes", sub: "status", name: node, ip: []string{"10.0.0.10"}, ua: "aws-cloud-controller-manager/v1.31.1"})
			case 6:
				u, gr := sa("kube-system", "cluster-autoscaler")
				g.emit(benignReq{user: u, groups: gr, verb: "patch", res: "nodes", name: node, ip: []string{g.podIP()}, ua: "cluster-autoscaler/v1.31.0"})
			}
		case x < 47: // GitOps: Argo CD and Flux sync and roll out images
			ns := g.pick(appNamespaces)
			img := fmt.Sprintf("registry.example.com/%s/api:1.%d.%d", ns, g.r.Intn(9), g.r.Intn(40))
			switch g.r.Intn(7) {
			case 0:
				g.emit(benignReq{user: argo, groups: argoG, verb: "patch", group: "apps", res: "deployments", ns: ns, name: "api", ip: []string{"10.244.3.9"}, ua: "argocd-application-controller/v2.12.4 (linux/amd64)", body: imagePatch("api", img)})
			case 1:
				g.emit(benignReq{user: kustomize, groups: kustomizeG, verb: "patch", group: "apps", res: "deployments", ns: ns, name: "api", query: "fieldManager=kustomize-controller&force=true", ip: []string{"10.244.2.8"}, ua: "kustomize-controller/v1.4.0", body: imagePatch("api", img)})
			case 2:
				g.emit(benignReq{user: helmc, groups: helmcG, verb: "create", res: "secrets", ns: ns, ip: []string{"10.244.2.9"}, ua: "helm-controller/v1.1.0",
					body: map[string]any{"kind": "Secret", "apiVersion": "v1", "metadata": map[string]any{"name": fmt.Sprintf("sh.helm.release.v1.%s.v%d", ns, 2+g.r.Intn(50)), "labels": map[string]any{"owner": "helm"}}, "type": "helm.sh/release.v1"}})
			case 3:
				g.emit(benignReq{user: source, groups: sourceG, verb: "patch", group: "source.toolkit.fluxcd.io", res: "gitrepositories", sub: "status", ns: "flux-system", name: "platform", ip: []string{"10.244.2.10"}, ua: "source-controller/v1.4.1"})
			case 4:
				g.emit(benignReq{user: argoSrv, groups: argoSrvG, verb: "get", res: "secrets", ns: "argocd", name: "argocd-secret", ip: []string{"10.244.3.10"}, ua: "argocd-server/v2.12.4 (linux/amd64)"})
			case 5:
				g.emit(benignReq{user: argoRepo, groups: argoRepoG, verb: "get", res: "configmaps", ns: "argocd", name: "argocd-cm", ip: []string{"10.244.3.11"}, ua: "argocd-repo-server/v2.12.4 (linux/amd64)"})
			case 6:
				g.emit(benignReq{user: argo, groups: argoG, verb: "patch", group: "argoproj.io", res: "applications", ns: "argocd", name: ns, ip: []string{"10.244.3.9"}, ua: "argocd-application-controller/v2.12.4 (linux/amd64)"})
			}
		case x < 52: // secrets operators write the secrets they own
			ns := g.pick(appNamespaces)
			switch g.r.Intn(3) {
			case 0:
				g.emit(benignReq{user: eso, groups: esoG, verb: "update", res: "secrets", ns: ns, name: "db-credentials", ip: []string{"10.244.4.4"}, ua: "external-secrets/v0.10.4 (linux/amd64)"})
			case 1:
				g.emit(benignReq{user: cm, groups: cmG, verb: "update", res: "secrets", ns: ns, name: ns + "-tls", ip: []string{"10.244.0.12"}, ua: "cert-manager-controller/v1.15.3"})
			case 2:
				g.emit(benignReq{user: cm, groups: cmG, verb: "patch", group: "cert-manager.io", res: "certificates", sub: "status", ns: ns, name: ns + "-tls", ip: []string{"10.244.0.12"}, ua: "cert-manager-controller/v1.15.3"})
			}
		case x < 60: // metrics scrapers and discovery
			switch g.r.Intn(4) {
			case 0:
				g.emit(benignReq{user: prom, groups: promG, verb: "get", res: "nodes", sub: "proxy", name: g.pick(nodes), uri: "/api/v1/nodes/" + g.pick(nodes) + "/proxy/metrics/cadvisor", ip: []string{"10.244.1.16"}, ua: "Prometheus/2.54.1"})
			case 1:
				g.emit(benignReq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "get", uri: g.pick([]string{"/version", "/.well-known/openid-configuration", "/openid/v1/jwks", "/healthz", "/livez", "/readyz"}), ip: []string{g.pick([]string{"10.0.0.5", "10.0.0.6", "10.244.2.7"})}, ua: g.pick([]string{"Go-http-client/1.1", "kube-probe/1.31", "ELB-HealthChecker/2.0"})})
			case 2:
				g.emit(benignReq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "get", uri: g.pick([]string{"/", "/api", "/apis", "/metrics", "/.env", "/api/v1/pods"}), code: g.pick2(401, 403), ip: []string{g.pick([]string{"45.83.64.1", "198.235.24.130", "167.94.138.47"})}, ua: g.pick([]string{"Mozilla/5.0 zgrab/0.x", "Mozilla/5.0 (compatible; CensysInspect/1.1)", "curl/8.5.0"})})
			case 3:
				u, gr := sa("kube-system", "metrics-server")
				g.emit(benignReq{user: u, groups: gr, verb: "get", res: "nodes", sub: "proxy", name: g.pick(nodes), uri: "/api/v1/nodes/" + g.pick(nodes) + "/proxy/stats/summary", ip: []string{g.podIP()}, ua: "metrics-server/v0.7.2"})
			}
		case x < 72: // people: platform admins and developers on their own namespaces
			admin := g.pick([]string{"alice@example.com", "bob@example.com"})
			dev := g.pick([]string{"carol@example.com", "dan@example.com", "erin@example.com"})
			ns := g.pick(appNamespaces)
			pod := fmt.Sprintf("api-6d8f7-%05d", g.r.Intn(90000))
			ip := g.pick([]string{"10.8.0.14", "10.8.0.22", "10.8.1.3"})
			switch g.r.Intn(12) {
			case 0, 1:
				g.emit(benignReq{user: dev, groups: devG, verb: "list", res: "pods", ns: ns, query: "limit=500", ip: []string{ip}, ua: kubectl})
			case 2:
				g.emit(benignReq{user: dev, groups: devG, verb: "get", res: "pods", ns: ns, name: pod, ip: []string{ip}, ua: kubectl})
			case 3:
				g.emit(benignReq{user: dev, groups: devG, verb: "get", res: "pods", sub: "log", ns: ns, name: pod, query: "container=api&follow=true", ip: []string{ip}, ua: kubectl})
			case 4:
				g.emit(benignReq{user: dev, groups: devG, verb: "list", res: "events", ns: ns, query: "fieldSelector=involvedObject.name%3D" + pod, ip: []string{ip}, ua: kubectl})
			case 5:
				g.emit(benignReq{user: admin, groups: humanG, verb: "list", res: "nodes", query: "limit=500", ip: []string{ip}, ua: kubectl})
			case 6:
				g.emit(benignReq{user: admin, groups: humanG, verb: "patch", group: "apps", res: "deployments", ns: ns, name: "api", ip: []string{ip}, ua: kubectl,
					body: map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"annotations": map[string]any{"kubectl.kubernetes.io/restartedAt": g.t.Format(time.RFC3339)}}}}}})
			case 7:
				if g.r.Intn(6) == 0 { // now and then someone tries a secret they may not read
					g.emit(benignReq{user: dev, groups: devG, verb: "get", res: "secrets", ns: ns, name: "app-config", code: 403, ip: []string{ip}, ua: kubectl})
				} else {
					g.emit(benignReq{user: dev, groups: devG, verb: "get", res: "services", ns: ns, name: "api", ip: []string{ip}, ua: kubectl})
				}
			case 8:
				g.emit(benignReq{user: dev, groups: devG, verb: "list", group: "apps", res: "deployments", ns: ns, query: "limit=500", ip: []string{ip}, ua: kubectl})
			case 9:
				g.emit(benignReq{user: admin, groups: humanG, verb: "create", group: "authorization.k8s.io", res: "selfsubjectaccessreviews", ip: []string{ip}, ua: kubectl})
			case 10:
				g.emit(benignReq{user: dev, groups: devG, verb: "get", group: "apps", res: "deployments", ns: ns, name: "api", ip: []string{ip}, ua: kubectl})
			case 11:
				g.emit(benignReq{user: admin, groups: humanG, verb: "get", res: "namespaces", name: ns, ip: []string{ip}, ua: kubectl})
			}
		case x < 74: // an admin debugs in a namespace the team owns, a few times an hour
			if g.r.Intn(5) != 0 {
				g.emit(benignReq{user: "alice@example.com", groups: humanG, verb: "get", res: "pods", sub: "log", ns: g.pick(appNamespaces), name: "api-6d8f7-x2x7q", query: "container=api&tailLines=200", ip: []string{"10.8.0.14"}, ua: kubectl})
				break
			}
			ns := g.pick(appNamespaces)
			g.emit(benignReq{user: "alice@example.com", groups: humanG, verb: "create", res: "pods", sub: "exec", ns: ns, name: "api-6d8f7-x2x7q",
				query: "command=sh&command=-c&command=ps+aux&container=api&stdout=true&stderr=true", ip: []string{"10.8.0.14"}, ua: kubectl})
		case x < 75: // cordon and drain for maintenance
			node := g.pick(nodes)
			g.emit(benignReq{user: "bob@example.com", groups: humanG, verb: "patch", res: "nodes", name: node, ip: []string{"10.8.0.22"}, ua: kubectl,
				body: map[string]any{"spec": map[string]any{"unschedulable": true}}})
			g.emit(benignReq{user: "bob@example.com", groups: humanG, verb: "create", res: "pods", sub: "eviction", ns: g.pick(appNamespaces), name: "api-6d8f7-q1w2e", ip: []string{"10.8.0.22"}, ua: kubectl})
		case x < 80: // managed-cluster identities (EKS, GKE, AKS)
			switch g.r.Intn(8) {
			case 0:
				g.emit(benignReq{user: "eks:node-manager", groups: []string{"system:authenticated"}, verb: "get", res: "nodes", name: g.pick(nodes), ip: []string{"10.0.0.200"}, ua: "eks-node-manager/v0.1"})
			case 1:
				g.emit(benignReq{user: "eks:certificate-controller", groups: []string{"system:authenticated"}, verb: "list", group: "certificates.k8s.io", res: "certificatesigningrequests", ip: []string{"10.0.0.200"}, ua: "eks-certificates-controller/v0.0.0"})
			case 2:
				u, gr := sa("kube-system", "aws-node")
				g.emit(benignReq{user: u, groups: gr, verb: "get", res: "nodes", name: g.pick(nodes), ip: []string{g.pick(nodeIPs)}, ua: "aws-node/v1.18.5"})
			case 3:
				g.emit(benignReq{user: "system:kube-controller-manager", groups: []string{"system:authenticated"}, verb: "update", group: "apps", res: "deployments", sub: "status", ns: g.pick(appNamespaces), name: "api", ip: []string{"10.0.0.10"}, ua: "kube-controller-manager/v1.31.2"})
			case 4:
				g.emit(benignReq{user: "system:gke-common-webhooks", groups: []string{"system:authenticated"}, verb: "get", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "pod-ready.config.common-webhooks.networking.gke.io", ip: []string{"172.16.0.2"}, ua: "gke-common-webhooks/v0.0.0"})
			case 5:
				g.emit(benignReq{user: "system:gcp-controller-manager", groups: []string{"system:authenticated"}, verb: "patch", res: "nodes", sub: "status", name: g.pick(nodes), ip: []string{"172.16.0.2"}, ua: "gcp-controller-manager/v0.0.0"})
			case 6:
				g.emit(benignReq{user: "aksService", groups: []string{"system:masters", "system:authenticated"}, verb: "list", res: "pods", ns: "kube-system", ip: []string{"172.31.0.4"}, ua: "aks-operator/v1.0"})
			case 7:
				u, gr := sa("gmp-system", "collector")
				g.emit(benignReq{user: u, groups: gr, verb: "list", res: "pods", query: "limit=500&resourceVersion=0", ip: []string{g.podIP()}, ua: "gmp-collector/v0.13.1"})
			}
		case x < 84: // the replicaset controller and scheduler do their work
			ns := g.pick(appNamespaces)
			u, gr := sa("kube-system", "replicaset-controller")
			g.emit(benignReq{user: u, groups: gr, verb: "create", res: "pods", ns: ns, ip: []string{"10.0.0.10"}, ua: "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/system:serviceaccount:kube-system:replicaset-controller",
				body: map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": map[string]any{"generateName": "api-6d8f7-", "namespace": ns}, "spec": map[string]any{"containers": []any{map[string]any{"name": "api", "image": "registry.example.com/" + ns + "/api:1.4.2"}}}}})
			g.emit(benignReq{user: "system:kube-scheduler", groups: []string{"system:authenticated"}, verb: "create", res: "pods", sub: "binding", ns: ns, name: "api-6d8f7-" + fmt.Sprint(g.r.Intn(90000)), ip: []string{"10.0.0.10"}, ua: "kube-scheduler/v1.31.2"})
		case x < 86: // Velero's hourly backup walks every kind, secrets included
			if g.r.Intn(8) == 0 {
				for _, k := range coreKinds {
					g.emit(benignReq{user: velero, groups: veleroG, verb: "list", group: k.group, version: groupVersion(k.group), res: k.res, query: "limit=500", ip: []string{"10.244.2.30"}, ua: "velero-server/v1.14.1 (linux/amd64) 8afe3cea8b7058f7baaf447b9fb407312c40d2da"})
				}
			}
		case x < 88: // Helm install by CI through the platform's deployer account
			u, gr := sa("ci", "deployer")
			ns := g.pick(appNamespaces)
			g.emit(benignReq{user: u, groups: gr, verb: "list", res: "secrets", ns: ns, query: "labelSelector=name%3Dapi%2Cowner%3Dhelm", ip: []string{"10.244.5.77"}, ua: "Helm/3.16.2"})
			g.emit(benignReq{user: u, groups: gr, verb: "create", res: "secrets", ns: ns, ip: []string{"10.244.5.77"}, ua: "Helm/3.16.2",
				body: map[string]any{"kind": "Secret", "apiVersion": "v1", "metadata": map[string]any{"name": "sh.helm.release.v1.api.v" + fmt.Sprint(2+g.r.Intn(80)), "labels": map[string]any{"owner": "helm"}}, "type": "helm.sh/release.v1"}})
			g.emit(benignReq{user: u, groups: gr, verb: "patch", group: "apps", res: "deployments", ns: ns, name: "api", ip: []string{"10.244.5.77"}, ua: "Helm/3.16.2", body: imagePatch("api", "registry.example.com/"+ns+"/api:1.4."+fmt.Sprint(g.r.Intn(40)))})
		default: // everything else a busy cluster does: reads by workloads and controllers
			ns := g.pick(appNamespaces)
			u, gr := sa(ns, "api")
			switch g.r.Intn(4) {
			case 0:
				g.emit(benignReq{user: u, groups: gr, verb: "get", res: "configmaps", ns: ns, name: "api-config", ip: []string{g.podIP()}, ua: "api/1.4.2 (linux/amd64) kubernetes/v0.31.1"})
			case 1:
				g.emit(benignReq{user: u, groups: gr, verb: "get", res: "secrets", ns: ns, name: "db-credentials", ip: []string{g.podIP()}, ua: "api/1.4.2 (linux/amd64) kubernetes/v0.31.1"})
			case 2:
				u, gr := sa("kube-system", "endpointslice-controller")
				g.emit(benignReq{user: u, groups: gr, verb: "update", group: "discovery.k8s.io", res: "endpointslices", ns: ns, name: "api-x7b2k", ip: []string{"10.0.0.10"}, ua: "kube-controller-manager/v1.31.2"})
			case 3:
				g.emit(benignReq{user: "system:apiserver", groups: []string{"system:authenticated", "system:masters"}, verb: "get", res: "namespaces", name: ns, ip: []string{"::1"}, ua: "kube-apiserver/v1.31.2 (linux/amd64) kubernetes/5864a46"})
			}
		}
	}
	var b strings.Builder
	for _, ev := range g.out {
		line, err := json.Marshal(ev)
		if err != nil {
			panic(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func (g *benignGen) pick2(a, b int) int {
	if g.r.Intn(2) == 0 {
		return a
	}
	return b
}
