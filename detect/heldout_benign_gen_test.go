package detect_test

import (
	"fmt"
	"math/rand"
	"time"
)

var (
	hNodes   = []string{"ip-10-20-1-14.ec2.internal", "ip-10-20-1-87.ec2.internal", "ip-10-20-2-33.ec2.internal", "ip-10-20-2-140.ec2.internal", "ip-10-20-3-9.ec2.internal", "ip-10-20-3-201.ec2.internal"}
	hNodeIPs = []string{"10.20.1.14", "10.20.1.87", "10.20.2.33", "10.20.2.140", "10.20.3.9", "10.20.3.201"}
	hCP      = []string{"cp-1", "cp-2", "cp-3"}
	hCPIPs   = []string{"10.20.0.11", "10.20.0.12", "10.20.0.13"}
	hTeams   = []string{"billing", "shop", "identity", "data", "frontend"}
)

const (
	kcmUA     = "kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/a51b3b7/"
	schedUA   = "kube-scheduler/v1.30.4 (linux/amd64) kubernetes/a51b3b7/scheduler"
	kubeletUA = "kubelet/v1.30.4 (linux/amd64) kubernetes/a51b3b7"
	kubectlUA = "kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350"
)

func (g *hgen) podIP() string { return fmt.Sprintf("100.64.%d.%d", g.r.Intn(24), 2+g.r.Intn(250)) }

// genHeldoutBenign writes an hour of a 6-node cluster with the usual
// add-ons, in one-minute rounds.
func genHeldoutBenign() []byte {
	g := &hgen{r: rand.New(rand.NewSource(20261127)), t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), prefix: "benign"}
	// start-up of every informer-based add-on: list, then watch.
	type addon struct {
		ns, name, ua string
		kinds        []hk
	}
	addons := []addon{
		{"kube-system", "kube-state-metrics", "kube-state-metrics/v2.13.0 (linux/amd64) kubernetes/6f2f0d0", hkinds("pods", "secrets", "configmaps", "nodes", "namespaces", "services", "endpoints", "persistentvolumes", "persistentvolumeclaims", "serviceaccounts", "resourcequotas", "limitranges", "apps/v1/deployments", "apps/v1/daemonsets", "apps/v1/statefulsets", "apps/v1/replicasets", "batch/v1/jobs", "batch/v1/cronjobs", "networking.k8s.io/v1/ingresses", "networking.k8s.io/v1/networkpolicies", "policy/v1/poddisruptionbudgets", "autoscaling/v2/horizontalpodautoscalers", "storage.k8s.io/v1/storageclasses", "certificates.k8s.io/v1/certificatesigningrequests", "admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", "admissionregistration.k8s.io/v1/validatingwebhookconfigurations", "coordination.k8s.io/v1/leases")},
		{"ingress-nginx", "ingress-nginx", "nginx-ingress-controller/v1.11.2 (linux/amd64) ingress-nginx/46e76e5916813cfca2a9b0bfdc34b69a0000f6b9", hkinds("secrets", "configmaps", "services", "endpoints", "discovery.k8s.io/v1/endpointslices", "networking.k8s.io/v1/ingresses", "networking.k8s.io/v1/ingressclasses")},
		{"argocd", "argocd-application-controller", "argocd-application-controller/v2.12.3+6b9cd82 (linux/amd64) kubernetes/6b9cd82", hkinds("pods", "secrets", "configmaps", "services", "serviceaccounts", "namespaces", "apps/v1/deployments", "apps/v1/replicasets", "apps/v1/statefulsets", "apps/v1/daemonsets", "batch/v1/jobs", "batch/v1/cronjobs", "networking.k8s.io/v1/ingresses", "networking.k8s.io/v1/networkpolicies", "rbac.authorization.k8s.io/v1/roles", "rbac.authorization.k8s.io/v1/rolebindings", "rbac.authorization.k8s.io/v1/clusterroles", "rbac.authorization.k8s.io/v1/clusterrolebindings", "apiextensions.k8s.io/v1/customresourcedefinitions", "argoproj.io/v1alpha1/applications")},
		{"velero", "velero", "velero-server/v1.14.1 (linux/amd64) 8afe3cea8b7058f7baaf447b9fb407312c40d2da", hkinds("velero.io/v1/backups", "velero.io/v1/schedules", "velero.io/v1/backupstoragelocations")},
		{"external-secrets", "external-secrets", "external-secrets/v0.10.3 (linux/amd64) kubernetes/0000000", hkinds("secrets", "external-secrets.io/v1beta1/externalsecrets", "external-secrets.io/v1beta1/clustersecretstores", "external-secrets.io/v1beta1/secretstores")},
		{"cert-manager", "cert-manager", "cert-manager-controller/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36", hkinds("secrets", "pods", "services", "networking.k8s.io/v1/ingresses", "cert-manager.io/v1/certificates", "cert-manager.io/v1/certificaterequests", "cert-manager.io/v1/issuers", "cert-manager.io/v1/clusterissuers", "acme.cert-manager.io/v1/orders", "acme.cert-manager.io/v1/challenges")},
		{"cert-manager", "cert-manager-cainjector", "cert-manager-cainjector/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36", hkinds("secrets", "admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", "admissionregistration.k8s.io/v1/validatingwebhookconfigurations", "apiregistration.k8s.io/v1/apiservices", "apiextensions.k8s.io/v1/customresourcedefinitions", "cert-manager.io/v1/certificates")},
		{"istio-system", "istiod", "pilot-discovery/1.23.2", hkinds("pods", "services", "secrets", "configmaps", "namespaces", "nodes", "serviceaccounts", "discovery.k8s.io/v1/endpointslices", "networking.istio.io/v1/virtualservices", "networking.istio.io/v1/destinationrules", "networking.istio.io/v1/gateways", "security.istio.io/v1/peerauthentications", "admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", "admissionregistration.k8s.io/v1/validatingwebhookconfigurations")},
		{"kyverno", "kyverno-admission-controller", "kyverno/v1.12.5 (linux/amd64) kubernetes/fa5c9ad", hkinds("namespaces", "configmaps", "secrets", "kyverno.io/v1/clusterpolicies", "kyverno.io/v1/policies", "admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", "admissionregistration.k8s.io/v1/validatingwebhookconfigurations")},
		{"gatekeeper-system", "gatekeeper-admin", "gatekeeper/v3.17.1 (linux/amd64) 9a0d4c3/2024-09-25T19:10:33Z", hkinds("namespaces", "pods", "secrets", "templates.gatekeeper.sh/v1/constrainttemplates", "config.gatekeeper.sh/v1alpha1/configs", "admissionregistration.k8s.io/v1/validatingwebhookconfigurations", "apiextensions.k8s.io/v1/customresourcedefinitions")},
		{"flux-system", "kustomize-controller", "kustomize-controller/v1.3.0", hkinds("secrets", "configmaps", "kustomize.toolkit.fluxcd.io/v1/kustomizations", "source.toolkit.fluxcd.io/v1/gitrepositories")},
		{"flux-system", "helm-controller", "helm-controller/v1.0.1", hkinds("secrets", "helm.toolkit.fluxcd.io/v2/helmreleases")},
		{"kube-system", "sealed-secrets-controller", "controller/v0.0.0 (linux/amd64) kubernetes/$Format", hkinds("secrets", "bitnami.com/v1alpha1/sealedsecrets")},
		{"monitoring", "prometheus-operator", "PrometheusOperator/0.76.1", hkinds("namespaces", "secrets", "configmaps", "monitoring.coreos.com/v1/prometheuses", "monitoring.coreos.com/v1/alertmanagers", "monitoring.coreos.com/v1/servicemonitors", "monitoring.coreos.com/v1/podmonitors", "monitoring.coreos.com/v1/prometheusrules", "apps/v1/statefulsets")},
		{"monitoring", "prometheus-k8s", "Prometheus/2.54.1", hkinds("pods", "services", "endpoints", "discovery.k8s.io/v1/endpointslices", "nodes")},
		{"monitoring", "alloy", "alloy/v1.4.2 (linux/amd64) kubernetes/$Format", hkinds("pods", "nodes", "services", "endpoints", "discovery.k8s.io/v1/endpointslices", "namespaces")},
		{"logging", "vector", "vector/0.41.1 (x86_64-unknown-linux-gnu e7f4a8a 2024-09-13)", hkinds("pods", "namespaces", "nodes")},
		{"external-dns", "external-dns", "external-dns/v0.15.0", hkinds("services", "pods", "nodes", "discovery.k8s.io/v1/endpointslices", "networking.k8s.io/v1/ingresses")},
		{"kube-system", "aws-load-balancer-controller", "aws-load-balancer-controller/v2.8.3 (linux/amd64) kubernetes/$Format", hkinds("services", "pods", "nodes", "endpoints", "discovery.k8s.io/v1/endpointslices", "networking.k8s.io/v1/ingresses", "networking.k8s.io/v1/ingressclasses", "elbv2.k8s.aws/v1beta1/targetgroupbindings", "secrets")},
		{"kube-system", "cluster-autoscaler", "cluster-autoscaler/v1.30.2 (linux/amd64) kubernetes/$Format", hkinds("pods", "nodes", "services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes", "namespaces", "apps/v1/replicasets", "apps/v1/statefulsets", "apps/v1/daemonsets", "batch/v1/jobs", "policy/v1/poddisruptionbudgets", "storage.k8s.io/v1/storageclasses", "storage.k8s.io/v1/csinodes", "storage.k8s.io/v1/csidrivers")},
		{"karpenter", "karpenter", "karpenter/v1.0.6", hkinds("pods", "nodes", "persistentvolumes", "persistentvolumeclaims", "namespaces", "karpenter.sh/v1/nodepools", "karpenter.sh/v1/nodeclaims", "karpenter.k8s.aws/v1/ec2nodeclasses", "policy/v1/poddisruptionbudgets", "storage.k8s.io/v1/storageclasses")},
		{"vault", "vault-agent-injector", "Go-http-client/2.0", hkinds("admissionregistration.k8s.io/v1/mutatingwebhookconfigurations")},
		{"linkerd", "linkerd-destination", "controller/v0.0.0 (linux/amd64) kubernetes/$Format", hkinds("pods", "services", "endpoints", "discovery.k8s.io/v1/endpointslices", "namespaces", "policy.linkerd.io/v1beta3/servers")},
		{"kube-system", "coredns", "coredns/v1.11.3 (linux/amd64) kubernetes/CoreDNS", hkinds("services", "namespaces", "discovery.k8s.io/v1/endpointslices")},
		{"kube-system", "metrics-server", "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format", hkinds("nodes", "pods")},
		{"kube-system", "cilium-operator", "cilium-operator-generic/v1.16.2 (linux/amd64) kubernetes/$Format", hkinds("pods", "nodes", "services", "namespaces", "discovery.k8s.io/v1/endpointslices", "cilium.io/v2/ciliumnodes", "cilium.io/v2/ciliumidentities", "cilium.io/v2/ciliumendpoints", "apiextensions.k8s.io/v1/customresourcedefinitions")},
		{"calico-system", "calico-kube-controllers", "Go-http-client/2.0", hkinds("pods", "nodes", "namespaces", "serviceaccounts", "networking.k8s.io/v1/networkpolicies")},
	}
	addonIP := map[string]string{}
	for _, a := range addons {
		addonIP[a.name] = g.podIP()
	}
	start := func() {
		for _, a := range addons {
			u, gr := hsa(a.ns, a.name)
			g.informer(u, gr, addonIP[a.name], a.ua, a.kinds, true)
		}
		// Velero's backup walks every kind (lists only).
		u, gr := hsa("velero", "velero")
		for _, k := range hkinds("pods", "secrets", "configmaps", "services", "serviceaccounts", "persistentvolumeclaims", "persistentvolumes", "namespaces", "apps/v1/deployments", "apps/v1/statefulsets", "apps/v1/daemonsets", "apps/v1/replicasets", "batch/v1/jobs", "batch/v1/cronjobs", "networking.k8s.io/v1/ingresses", "networking.k8s.io/v1/networkpolicies", "rbac.authorization.k8s.io/v1/roles", "rbac.authorization.k8s.io/v1/rolebindings", "rbac.authorization.k8s.io/v1/clusterroles", "rbac.authorization.k8s.io/v1/clusterrolebindings", "apiextensions.k8s.io/v1/customresourcedefinitions", "storage.k8s.io/v1/storageclasses", "policy/v1/poddisruptionbudgets") {
			g.emit(hreq{user: u, groups: gr, verb: "list", group: k.group, version: k.version, res: k.res, ips: []string{addonIP["velero"]}, ua: "velero-server/v1.14.1 (linux/amd64) 8afe3cea8b7058f7baaf447b9fb407312c40d2da", query: "limit=500"})
		}
		// Vector/Fluent Bit DaemonSet: one watcher per node.
		for i, n := range hNodes {
			u, gr := hsa("logging", "fluent-bit")
			g.emit(hreq{user: u, groups: gr, verb: "list", res: "pods", query: "fieldSelector=spec.nodeName%3D" + n + "&limit=500", ips: []string{hNodeIPs[i]}, ua: "fluent-bit/3.1.9"})
			g.emit(hreq{user: u, groups: gr, verb: "watch", res: "pods", query: "fieldSelector=spec.nodeName%3D" + n + "&watch=true", ips: []string{hNodeIPs[i]}, ua: "fluent-bit/3.1.9"})
			u, gr = hsa("kube-system", "kube-proxy")
			g.informer(u, gr, hNodeIPs[i], "kube-proxy/v1.30.4 (linux/amd64) kubernetes/a51b3b7", hkinds("services", "nodes", "discovery.k8s.io/v1/endpointslices"), true)
			u, gr = hsa("kube-system", "cilium")
			g.informer(u, gr, hNodeIPs[i], "cilium-agent/v1.16.2 (linux/amd64) kubernetes/$Format", hkinds("pods", "namespaces", "services", "nodes", "discovery.k8s.io/v1/endpointslices", "networking.k8s.io/v1/networkpolicies", "cilium.io/v2/ciliumnetworkpolicies", "cilium.io/v2/ciliumidentities", "cilium.io/v2/ciliumendpoints"), true)
		}
	}
	start()

	ksys := func(name string) (string, []string) { return hsa("kube-system", name) }
	cp := func() string { return g.pick(hCPIPs) }
	for minute := 0; minute < 60; minute++ {
		// kube-controller-manager and scheduler leader election.
		g.leader("system:kube-controller-manager", nil, hCPIPs[0], kcmUA+"leader-election", "kube-system", "kube-controller-manager")
		g.leader("system:kube-scheduler", nil, hCPIPs[1], schedUA+"leader-election", "kube-system", "kube-scheduler")
		// Kubelets: lease every 10s, node status, pod status, mirror pods.
		for i, n := range hNodes {
			u := "system:node:" + n
			gr := []string{"system:nodes", "system:authenticated"}
			ip := hNodeIPs[i]
			for k := 0; k < 2; k++ {
				g.emit(hreq{user: u, groups: gr, verb: "update", group: "coordination.k8s.io", res: "leases", ns: "kube-node-lease", name: n, ips: []string{ip}, ua: kubeletUA})
			}
			if minute%5 == i%5 {
				g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", name: n, sub: "status", ips: []string{ip}, ua: kubeletUA, query: "", level: "Request",
					body: map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-03-02T09:00:00Z"}}}}})
				g.emit(hreq{user: u, groups: gr, verb: "get", res: "nodes", name: n, ips: []string{ip}, ua: kubeletUA, query: "resourceVersion=0&timeout=10s"})
			}
			if g.r.Intn(3) == 0 {
				ns := g.pick(hTeams)
				g.emit(hreq{user: u, groups: gr, verb: "patch", res: "pods", sub: "status", ns: ns, name: fmt.Sprintf("api-%x-%s", g.r.Intn(1<<20), "q7x2z"), ips: []string{ip}, ua: kubeletUA, level: "Request",
					body: map[string]any{"metadata": map[string]any{"uid": "5f1c"}, "status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}}})
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "serviceaccounts", sub: "token", ns: ns, name: "default", ips: []string{ip}, ua: kubeletUA, level: "Metadata"})
				g.emit(hreq{user: u, groups: gr, verb: "get", res: "secrets", ns: ns, name: "registry-pull", ips: []string{ip}, ua: kubeletUA})
				g.emit(hreq{user: u, groups: gr, verb: "watch", res: "configmaps", ns: ns, query: "fieldSelector=metadata.name%3Dkube-root-ca.crt&resourceVersion=72141&timeout=9m20s&timeoutSeconds=560&watch=true", ips: []string{ip}, ua: kubeletUA})
			}
			if minute == 0 || minute == 37 {
				// Mirror pods of the static pods only exist on control plane nodes; workers run none, so re-create for cp nodes below.
				g.emit(hreq{user: u, groups: gr, verb: "create", group: "certificates.k8s.io", res: "certificatesigningrequests", ips: []string{ip}, ua: kubeletUA, level: "Request",
					body: map[string]any{"kind": "CertificateSigningRequest", "apiVersion": "certificates.k8s.io/v1", "metadata": map[string]any{"generateName": "csr-"},
						"spec": map[string]any{"signerName": "kubernetes.io/kubelet-serving", "usages": strs("digital signature", "server auth"), "request": "LS0tLS1CRUdJTi"}}})
			}
		}
		// Control-plane kubelets report mirror pods of their static pods.
		if minute == 0 || minute == 45 {
			for i, c := range hCP {
				u := "system:node:" + c
				for _, sp := range []struct{ name, image string }{{"kube-apiserver", "registry.k8s.io/kube-apiserver:v1.30.4"}, {"etcd", "registry.k8s.io/etcd:3.5.15-0"}, {"kube-controller-manager", "registry.k8s.io/kube-controller-manager:v1.30.4"}, {"kube-scheduler", "registry.k8s.io/kube-scheduler:v1.30.4"}} {
					body := podBody("kube-system", sp.name+"-"+c, "", podSpec([]any{ctr(sp.name, sp.image, nil)}, map[string]any{"nodeName": c, "hostNetwork": true, "priorityClassName": "system-node-critical",
						"volumes": []any{map[string]any{"name": "k8s-certs", "hostPath": map[string]any{"path": "/etc/kubernetes/pki", "type": "DirectoryOrCreate"}}, map[string]any{"name": "ca-certs", "hostPath": map[string]any{"path": "/etc/ssl/certs"}}}}),
						map[string]any{"component": sp.name, "tier": "control-plane"}, map[string]any{"kubernetes.io/config.mirror": "8c1a6b2e", "kubernetes.io/config.source": "file", "kubernetes.io/config.hash": "8c1a6b2e"})
					if sp.name == "etcd" {
						body["spec"].(map[string]any)["volumes"] = []any{map[string]any{"name": "etcd-data", "hostPath": map[string]any{"path": "/var/lib/etcd"}}}
					}
					code := 201
					if minute == 45 {
						code = 409
					}
					g.emit(hreq{user: u, groups: []string{"system:nodes", "system:authenticated"}, verb: "create", res: "pods", ns: "kube-system", ips: []string{hCPIPs[i]}, ua: kubeletUA, body: body, code: code, level: "Request"})
				}
			}
		}
		// Controller-manager controllers with their own service accounts.
		{
			u, gr := ksys("replicaset-controller")
			ns := g.pick(hTeams)
			pod := podBody(ns, "", "api", podSpec([]any{ctr("api", "123456789012.dkr.ecr.us-east-1.amazonaws.com/"+ns+"/api:v2.3."+fmt.Sprint(minute), map[string]any{"runAsNonRoot": true, "allowPrivilegeEscalation": false})}, nil), map[string]any{"app": "api"}, nil)
			pod["metadata"].(map[string]any)["generateName"] = "api-6d5f7c9b8-"
			g.emit(hreq{user: u, groups: gr, verb: "create", res: "pods", ns: ns, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:replicaset-controller", body: pod, level: "Request"})
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "apps", res: "replicasets", sub: "status", ns: ns, name: "api-6d5f7c9b8", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:replicaset-controller"})
			u, gr = ksys("deployment-controller")
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "apps", res: "deployments", sub: "status", ns: ns, name: "api", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:deployment-controller"})
			u, gr = ksys("endpointslice-controller")
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "discovery.k8s.io", res: "endpointslices", ns: ns, name: "api-x8kq2", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:endpointslice-controller"})
			u, gr = ksys("endpoint-controller")
			g.emit(hreq{user: u, groups: gr, verb: "update", res: "endpoints", ns: ns, name: "api", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:endpoint-controller"})
			u, gr = ksys("generic-garbage-collector")
			g.emit(hreq{user: u, groups: gr, verb: "delete", group: "apps", res: "replicasets", ns: ns, name: fmt.Sprintf("api-%x", g.r.Intn(1<<28)), ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:generic-garbage-collector"})
			u, gr = ksys("horizontal-pod-autoscaler")
			g.emit(hreq{user: u, groups: gr, verb: "get", group: "metrics.k8s.io", version: "v1beta1", res: "pods", ns: ns, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:horizontal-pod-autoscaler", query: "labelSelector=app%3Dapi"})
			if minute%10 == 3 {
				g.emit(hreq{user: u, groups: gr, verb: "update", group: "apps", res: "deployments", sub: "scale", ns: ns, name: "api", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:horizontal-pod-autoscaler", level: "Request",
					body: map[string]any{"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": map[string]any{"name": "api", "namespace": ns}, "spec": map[string]any{"replicas": 4}}})
			}
			if minute%15 == 0 {
				u, gr = ksys("cronjob-controller")
				g.emit(hreq{user: u, groups: gr, verb: "create", group: "batch", res: "jobs", ns: "data", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:cronjob-controller", level: "Request",
					body: workloadBody("Job", "data", fmt.Sprintf("nightly-export-%d", 29000000+minute), podSpec([]any{ctr("export", "123456789012.dkr.ecr.us-east-1.amazonaws.com/data/export:1.4.0", nil)}, map[string]any{"restartPolicy": "OnFailure"}))})
				u, gr = ksys("job-controller")
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "pods", ns: "data", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:job-controller", level: "Request",
					body: podBody("data", "", "exporter", podSpec([]any{ctr("export", "123456789012.dkr.ecr.us-east-1.amazonaws.com/data/export:1.4.0", nil)}, map[string]any{"restartPolicy": "OnFailure"}), nil, nil)})
				u, gr = ksys("ttl-after-finished-controller")
				g.emit(hreq{user: u, groups: gr, verb: "delete", group: "batch", res: "jobs", ns: "data", name: fmt.Sprintf("nightly-export-%d", 28999000+minute), ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:ttl-after-finished-controller"})
			}
			if minute%7 == 0 {
				// node-lifecycle and ttl controllers annotate and taint nodes.
				u, gr = ksys("node-controller")
				n := g.pick(hNodes)
				g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", name: n, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:node-controller", level: "Request",
					body: map[string]any{"metadata": map[string]any{"labels": map[string]any{"topology.kubernetes.io/zone": "us-east-1a"}}}})
				u, gr = ksys("ttl-controller")
				g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", name: n, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:ttl-controller", level: "Request",
					body: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"node.alpha.kubernetes.io/ttl": "0"}}}})
				u, gr = ksys("daemon-set-controller")
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "pods", ns: "kube-system", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:daemon-set-controller", level: "Request",
					body: podBody("kube-system", "", "kube-proxy", podSpec([]any{ctr("kube-proxy", "registry.k8s.io/kube-proxy:v1.30.4", map[string]any{"privileged": true})},
						map[string]any{"hostNetwork": true, "nodeName": n, "priorityClassName": "system-node-critical", "volumes": []any{map[string]any{"name": "lib-modules", "hostPath": map[string]any{"path": "/lib/modules"}}, map[string]any{"name": "xtables-lock", "hostPath": map[string]any{"path": "/run/xtables.lock", "type": "FileOrCreate"}}}}),
						map[string]any{"k8s-app": "kube-proxy"}, nil)})
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "pods", ns: "kube-system", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:daemon-set-controller", level: "Request",
					body: podBody("kube-system", "", "cilium", podSpec([]any{ctr("cilium-agent", "quay.io/cilium/cilium:v1.16.2@sha256:4386a8580d8d86934908eea022b0523f812e6a542f5c75d72de2f0e2bbdde4ae", map[string]any{"privileged": true, "capabilities": map[string]any{"add": strs("NET_ADMIN", "SYS_MODULE", "SYS_ADMIN", "NET_RAW", "BPF")}})},
						map[string]any{"hostNetwork": true, "hostPID": false, "nodeName": n, "volumes": []any{map[string]any{"name": "bpf-maps", "hostPath": map[string]any{"path": "/sys/fs/bpf", "type": "DirectoryOrCreate"}}, map[string]any{"name": "cni-path", "hostPath": map[string]any{"path": "/opt/cni/bin"}}, map[string]any{"name": "etc-cni-netd", "hostPath": map[string]any{"path": "/etc/cni/net.d"}}}}),
						map[string]any{"k8s-app": "cilium"}, nil)})
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "pods", ns: "logging", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:daemon-set-controller", level: "Request",
					body: podBody("logging", "", "fluent-bit", podSpec([]any{ctr("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.1.9", nil)},
						map[string]any{"nodeName": n, "volumes": []any{map[string]any{"name": "varlog", "hostPath": map[string]any{"path": "/var/log"}}, map[string]any{"name": "containers", "hostPath": map[string]any{"path": "/var/lib/docker/containers"}}}}),
						map[string]any{"app": "fluent-bit"}, nil)})
			}
			if minute%20 == 5 {
				u, gr = ksys("namespace-controller")
				ns := fmt.Sprintf("pr-%d", 4100+minute)
				g.emit(hreq{user: u, groups: gr, verb: "deletecollection", res: "secrets", ns: ns, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:namespace-controller"})
				g.emit(hreq{user: u, groups: gr, verb: "deletecollection", res: "pods", ns: ns, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:namespace-controller"})
				g.emit(hreq{user: u, groups: gr, verb: "deletecollection", group: "events.k8s.io", res: "events", ns: ns, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:namespace-controller"})
				g.emit(hreq{user: u, groups: gr, verb: "deletecollection", group: "networking.k8s.io", res: "networkpolicies", ns: ns, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:namespace-controller"})
				g.emit(hreq{user: u, groups: gr, verb: "delete", res: "namespaces", name: ns, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:namespace-controller"})
				u, gr = ksys("service-account-controller")
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "serviceaccounts", ns: fmt.Sprintf("pr-%d", 4200+minute), ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:service-account-controller", level: "Request",
					body: map[string]any{"kind": "ServiceAccount", "apiVersion": "v1", "metadata": map[string]any{"name": "default"}}})
				u, gr = ksys("root-ca-cert-publisher")
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "configmaps", ns: fmt.Sprintf("pr-%d", 4200+minute), ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:root-ca-cert-publisher", level: "Request",
					body: map[string]any{"kind": "ConfigMap", "apiVersion": "v1", "metadata": map[string]any{"name": "kube-root-ca.crt"}, "data": map[string]any{"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n-----END CERTIFICATE-----\n"}}})
				u, gr = ksys("token-cleaner")
				g.emit(hreq{user: u, groups: gr, verb: "delete", res: "secrets", ns: "kube-system", name: "bootstrap-token-8f2k1q", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:token-cleaner"})
				u, gr = ksys("bootstrap-signer")
				g.emit(hreq{user: u, groups: gr, verb: "update", res: "configmaps", ns: "kube-public", name: "cluster-info", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:bootstrap-signer"})
				u, gr = ksys("certificate-controller")
				csr := fmt.Sprintf("csr-%x", g.r.Intn(1<<24))
				g.emit(hreq{user: u, groups: gr, verb: "update", group: "certificates.k8s.io", res: "certificatesigningrequests", sub: "approval", name: csr, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:certificate-controller"})
				g.emit(hreq{user: u, groups: gr, verb: "update", group: "certificates.k8s.io", res: "certificatesigningrequests", sub: "status", name: csr, ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:certificate-controller"})
				u, gr = ksys("clusterrole-aggregation-controller")
				g.emit(hreq{user: u, groups: gr, verb: "update", group: "rbac.authorization.k8s.io", res: "clusterroles", name: g.pick([]string{"admin", "edit", "view"}), ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:clusterrole-aggregation-controller", level: "Request",
					body: role("ClusterRole", "edit", "", prule(strs("", "apps"), strs("pods", "deployments", "services", "configmaps", "secrets"), strs("create", "delete", "deletecollection", "patch", "update")), prule(strs(""), strs("pods/exec", "pods/attach", "pods/portforward"), strs("create", "get")))})
				u, gr = ksys("pvc-protection-controller")
				g.emit(hreq{user: u, groups: gr, verb: "patch", res: "persistentvolumeclaims", ns: "data", name: "warehouse-0", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:pvc-protection-controller"})
				u, gr = ksys("persistent-volume-binder")
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "persistentvolumes", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:persistent-volume-binder", level: "Request",
					body: map[string]any{"kind": "PersistentVolume", "apiVersion": "v1", "metadata": map[string]any{"name": "pvc-" + csr}, "spec": map[string]any{"csi": map[string]any{"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0a1b"}, "capacity": map[string]any{"storage": "20Gi"}}}})
			}
		}
		// Kyverno generate rules, secret operators' token logins, node-exporter copies, GKE's autoscaler.
		if minute%15 == 7 {
			ns := fmt.Sprintf("team-%d", minute)
			u, gr := hsa("kyverno", "kyverno-background-controller")
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "rbac.authorization.k8s.io", res: "rolebindings", ns: ns, ips: []string{g.podIP()}, ua: "kyverno/v1.12.5 (linux/amd64) kubernetes/fa5c9ad", level: "Request",
				body: binding("RoleBinding", "namespace-viewers", ns, "view", subj("Group", "oidc:engineers", ""))})
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "networking.k8s.io", res: "networkpolicies", ns: ns, ips: []string{g.podIP()}, ua: "kyverno/v1.12.5 (linux/amd64) kubernetes/fa5c9ad"})
			u, gr = hsa("external-secrets", "external-secrets")
			g.emit(hreq{user: u, groups: gr, verb: "create", res: "serviceaccounts", sub: "token", ns: g.pick(hTeams), name: "vault-auth", ips: []string{addonIP["external-secrets"]}, ua: "external-secrets/v0.10.3 (linux/amd64) kubernetes/0000000"})
			u, gr = ksys("daemon-set-controller")
			g.emit(hreq{user: u, groups: gr, verb: "create", res: "pods", ns: "monitoring", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:daemon-set-controller", level: "Request",
				body: podBody("monitoring", "", "node-exporter", podSpec([]any{ctr("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2", map[string]any{"readOnlyRootFilesystem": true})},
					map[string]any{"hostNetwork": true, "hostPID": true, "nodeName": g.pick(hNodes), "volumes": []any{map[string]any{"name": "proc", "hostPath": map[string]any{"path": "/proc"}}, map[string]any{"name": "sys", "hostPath": map[string]any{"path": "/sys"}}, map[string]any{"name": "root", "hostPath": map[string]any{"path": "/"}}}}),
					map[string]any{"app.kubernetes.io/name": "node-exporter"}, nil)})
			g.emit(hreq{user: "system:cluster-autoscaler", groups: []string{"system:authenticated"}, verb: "update", res: "configmaps", ns: "kube-system", name: "cluster-autoscaler-status", ips: []string{"172.16.0.2"}, ua: "cluster-autoscaler/v1.30.0 (linux/amd64) kubernetes/gke"})
			u, gr = hsa("datadog", "datadog-cluster-agent")
			g.informer(u, gr, g.podIP(), "datadog-cluster-agent/7.57.2", hkinds("pods", "nodes", "services", "endpoints", "namespaces", "configmaps", "persistentvolumes", "persistentvolumeclaims", "apps/v1/deployments", "apps/v1/replicasets", "apps/v1/daemonsets", "apps/v1/statefulsets", "batch/v1/jobs", "batch/v1/cronjobs", "autoscaling/v2/horizontalpodautoscalers", "networking.k8s.io/v1/ingresses", "storage.k8s.io/v1/storageclasses", "coordination.k8s.io/v1/leases"), true)
		}
		// Helm from an admin's laptop (release records read by label) and add-on pods re-created in kube-system.
		if minute%20 == 11 {
			who := "maria@acme.io"
			gr := []string{"oidc:platform-admins", "oidc:engineers", "system:authenticated"}
			g.emit(hreq{user: who, groups: gr, verb: "list", res: "secrets", query: "labelSelector=owner%3Dhelm", ips: []string{"10.8.0.14"}, ua: "Helm/3.15.4"})
			g.emit(hreq{user: who, groups: gr, verb: "list", res: "secrets", ns: "kube-system", query: "labelSelector=name%3Daws-ebs-csi-driver%2Cowner%3Dhelm", ips: []string{"10.8.0.14"}, ua: "Helm/3.15.4"})
			g.emit(hreq{user: who, groups: gr, verb: "create", res: "secrets", ns: "kube-system", ips: []string{"10.8.0.14"}, ua: "Helm/3.15.4"})
			u, gr2 := ksys("replicaset-controller")
			g.emit(hreq{user: u, groups: gr2, verb: "create", res: "pods", ns: "kube-system", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:replicaset-controller", level: "Request",
				body: podBody("kube-system", "", "ebs-csi-controller-sa", podSpec([]any{ctr("ebs-plugin", "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.35.0", nil), ctr("csi-provisioner", "public.ecr.aws/eks-distro/kubernetes-csi/external-provisioner:v5.1.0-eks-1-31-5", nil)}, nil), map[string]any{"app": "ebs-csi-controller"}, nil)})
		}
		// Pods in kube-system at Metadata level (a policy that keeps pod bodies out of the log).
		if minute%10 == 6 {
			u, gr := ksys("replicaset-controller")
			g.emit(hreq{user: u, groups: gr, verb: "create", res: "pods", ns: "kube-system", ips: []string{cp()}, ua: kcmUA + "system:serviceaccount:kube-system:replicaset-controller", level: "Metadata"})
			g.emit(hreq{user: "system:node:" + hCP[2], groups: []string{"system:nodes", "system:authenticated"}, verb: "create", res: "pods", ns: "kube-system", ips: []string{hCPIPs[2]}, ua: kubeletUA, level: "Metadata"})
		}
		// Scheduler binds pods.
		for k := 0; k < 2; k++ {
			ns := g.pick(hTeams)
			g.emit(hreq{user: "system:kube-scheduler", groups: []string{"system:authenticated"}, verb: "create", res: "pods", sub: "binding", ns: ns, name: fmt.Sprintf("api-6d5f7c9b8-%x", g.r.Intn(1<<20)), ips: []string{hCPIPs[1]}, ua: schedUA, level: "Request",
				body: map[string]any{"kind": "Binding", "apiVersion": "v1", "metadata": map[string]any{"name": "api"}, "target": map[string]any{"kind": "Node", "name": g.pick(hNodes)}}})
		}
		// Node agents patch nodes: CNI, node-problem-detector, autoscalers.
		if minute%6 == 0 {
			i := g.r.Intn(len(hNodes))
			u, gr := ksys("cilium")
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", name: hNodes[i], ips: []string{hNodeIPs[i]}, ua: "cilium-agent/v1.16.2 (linux/amd64) kubernetes/$Format", level: "Request",
				body: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"network.cilium.io/ipv4-cilium-host": "100.64.3.1", "network.cilium.io/ipv4-health-ip": "100.64.3.77"}}}})
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", sub: "status", name: hNodes[i], ips: []string{hNodeIPs[i]}, ua: "cilium-agent/v1.16.2 (linux/amd64) kubernetes/$Format", level: "Request",
				body: map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "NetworkUnavailable", "status": "False", "reason": "CiliumIsUp"}}}}})
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "cilium.io", version: "v2", res: "ciliumnodes", name: hNodes[i], ips: []string{hNodeIPs[i]}, ua: "cilium-agent/v1.16.2 (linux/amd64) kubernetes/$Format"})
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "cilium.io", version: "v2", res: "ciliumendpoints", ns: g.pick(hTeams), ips: []string{hNodeIPs[i]}, ua: "cilium-agent/v1.16.2 (linux/amd64) kubernetes/$Format"})
			u, gr = ksys("node-problem-detector")
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", sub: "status", name: hNodes[i], ips: []string{hNodeIPs[i]}, ua: "node-problem-detector/v0.8.19 (linux/amd64) kubernetes/$Format", level: "Request",
				body: map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "KernelDeadlock", "status": "False"}}}}})
			u, gr = hsa("calico-system", "calico-node")
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", name: hNodes[i], ips: []string{hNodeIPs[i]}, ua: "Go-http-client/2.0", level: "Request",
				body: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"projectcalico.org/IPv4Address": hNodeIPs[i] + "/24", "projectcalico.org/IPv4VXLANTunnelAddr": "100.64.9.1"}}}})
			u, gr = ksys("flannel")
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", sub: "status", name: hNodes[i], ips: []string{hNodeIPs[i]}, ua: "flanneld/v0.25.6", level: "Request",
				body: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"flannel.alpha.coreos.com/backend-data": "{\"VNIs\":[1]}", "flannel.alpha.coreos.com/public-ip": hNodeIPs[i]}}}})
		}
		if minute == 22 {
			// cluster-autoscaler scales a node down: taint, evict, delete.
			u, gr := ksys("cluster-autoscaler")
			n := hNodes[5]
			g.emit(hreq{user: u, groups: gr, verb: "update", res: "nodes", name: n, ips: []string{addonIP["cluster-autoscaler"]}, ua: "cluster-autoscaler/v1.30.2 (linux/amd64) kubernetes/$Format", level: "Request",
				body: map[string]any{"kind": "Node", "apiVersion": "v1", "metadata": map[string]any{"name": n}, "spec": map[string]any{"providerID": "aws:///us-east-1c/i-0f12", "taints": []any{map[string]any{"key": "ToBeDeletedByClusterAutoscaler", "value": "1741000000", "effect": "NoSchedule"}}}}})
			for k := 0; k < 4; k++ {
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "pods", sub: "eviction", ns: g.pick(hTeams), name: fmt.Sprintf("api-6d5f7c9b8-%x", g.r.Intn(1<<20)), ips: []string{addonIP["cluster-autoscaler"]}, ua: "cluster-autoscaler/v1.30.2 (linux/amd64) kubernetes/$Format"})
			}
			g.emit(hreq{user: u, groups: gr, verb: "update", res: "configmaps", ns: "kube-system", name: "cluster-autoscaler-status", ips: []string{addonIP["cluster-autoscaler"]}, ua: "cluster-autoscaler/v1.30.2 (linux/amd64) kubernetes/$Format"})
			g.emit(hreq{user: u, groups: gr, verb: "delete", res: "nodes", name: n, ips: []string{addonIP["cluster-autoscaler"]}, ua: "cluster-autoscaler/v1.30.2 (linux/amd64) kubernetes/$Format"})
			// Karpenter disrupts another.
			u, gr = hsa("karpenter", "karpenter")
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", name: hNodes[4], ips: []string{addonIP["karpenter"]}, ua: "karpenter/v1.0.6", level: "Request",
				body: map[string]any{"spec": map[string]any{"taints": []any{map[string]any{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}}}}})
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "karpenter.sh", res: "nodeclaims", ips: []string{addonIP["karpenter"]}, ua: "karpenter/v1.0.6"})
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "nodes", name: "ip-10-20-4-17.ec2.internal", ips: []string{addonIP["karpenter"]}, ua: "karpenter/v1.0.6", level: "Request",
				body: map[string]any{"metadata": map[string]any{"labels": map[string]any{"karpenter.sh/registered": "true"}, "finalizers": strs("karpenter.sh/termination")}}})
		}
		// Webhook owners rotate their CA bundles.
		if minute%12 == 1 {
			u, gr := hsa("cert-manager", "cert-manager-cainjector")
			cUA := "cert-manager-cainjector/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36"
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "admissionregistration.k8s.io", res: "validatingwebhookconfigurations", name: "cert-manager-webhook", ips: []string{addonIP["cert-manager-cainjector"]}, ua: cUA, level: "Request", body: webhookBody("ValidatingWebhookConfiguration", "cert-manager-webhook", "cert-manager", "cert-manager-webhook", "webhook.cert-manager.io")})
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "cert-manager-webhook", ips: []string{addonIP["cert-manager-cainjector"]}, ua: cUA, level: "Request", body: webhookBody("MutatingWebhookConfiguration", "cert-manager-webhook", "cert-manager", "cert-manager-webhook", "webhook.cert-manager.io")})
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "apiextensions.k8s.io", res: "customresourcedefinitions", name: "certificates.cert-manager.io", ips: []string{addonIP["cert-manager-cainjector"]}, ua: cUA})
			u, gr = hsa("istio-system", "istiod")
			g.emit(hreq{user: u, groups: gr, verb: "patch", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "istio-sidecar-injector", ips: []string{addonIP["istiod"]}, ua: "pilot-discovery/1.23.2", level: "Request",
				body: jsonPatch(map[string]any{"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": caPEM}, map[string]any{"op": "replace", "path": "/webhooks/1/clientConfig/caBundle", "value": caPEM})})
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "admissionregistration.k8s.io", res: "validatingwebhookconfigurations", name: "istio-validator-istio-system", ips: []string{addonIP["istiod"]}, ua: "pilot-discovery/1.23.2", level: "Request", body: webhookBody("ValidatingWebhookConfiguration", "istio-validator-istio-system", "istio-system", "istiod", "rev.validation.istio.io")})
			u, gr = hsa("kyverno", "kyverno-admission-controller")
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "admissionregistration.k8s.io", res: "validatingwebhookconfigurations", name: "kyverno-resource-validating-webhook-cfg", ips: []string{addonIP["kyverno-admission-controller"]}, ua: "kyverno/v1.12.5 (linux/amd64) kubernetes/fa5c9ad", level: "Request", body: webhookBody("ValidatingWebhookConfiguration", "kyverno-resource-validating-webhook-cfg", "kyverno", "kyverno-svc", "validate.kyverno.svc-fail", "validate.kyverno.svc-ignore")})
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "kyverno-resource-mutating-webhook-cfg", ips: []string{addonIP["kyverno-admission-controller"]}, ua: "kyverno/v1.12.5 (linux/amd64) kubernetes/fa5c9ad", level: "Request", body: webhookBody("MutatingWebhookConfiguration", "kyverno-resource-mutating-webhook-cfg", "kyverno", "kyverno-svc", "mutate.kyverno.svc-fail")})
			g.emit(hreq{user: u, groups: gr, verb: "update", res: "secrets", ns: "kyverno", name: "kyverno-svc.kyverno.svc.kyverno-tls-ca", ips: []string{addonIP["kyverno-admission-controller"]}, ua: "kyverno/v1.12.5 (linux/amd64) kubernetes/fa5c9ad"})
			u, gr = hsa("gatekeeper-system", "gatekeeper-admin")
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "admissionregistration.k8s.io", res: "validatingwebhookconfigurations", name: "gatekeeper-validating-webhook-configuration", ips: []string{addonIP["gatekeeper-admin"]}, ua: "gatekeeper/v3.17.1 (linux/amd64) 9a0d4c3/2024-09-25T19:10:33Z", level: "Request", body: webhookBody("ValidatingWebhookConfiguration", "gatekeeper-validating-webhook-configuration", "gatekeeper-system", "gatekeeper-webhook-service", "validation.gatekeeper.sh", "check-ignore-label.gatekeeper.sh")})
			u, gr = hsa("vault", "vault-agent-injector")
			g.emit(hreq{user: u, groups: gr, verb: "patch", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "vault-agent-injector-cfg", ips: []string{addonIP["vault-agent-injector"]}, ua: "Go-http-client/2.0", level: "Request",
				body: jsonPatch(map[string]any{"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": caPEM})})
			u, gr = hsa("linkerd", "linkerd-proxy-injector")
			g.emit(hreq{user: u, groups: gr, verb: "get", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "linkerd-proxy-injector-webhook-config", ips: []string{g.podIP()}, ua: "controller/v0.0.0 (linux/amd64) kubernetes/$Format"})
		}
		// GitOps: Argo CD and Flux apply manifests, CI via Helm.
		if minute%4 == 2 {
			team := g.pick(hTeams)
			u, gr := hsa("argocd", "argocd-application-controller")
			aUA := "argocd-application-controller/v2.12.3+6b9cd82 (linux/amd64) kubernetes/6b9cd82"
			g.emit(hreq{user: u, groups: gr, verb: "patch", group: "apps", res: "deployments", ns: team, name: "api", ips: []string{addonIP["argocd-application-controller"]}, ua: aUA, level: "Request", query: "fieldManager=argocd-controller",
				body: map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "api", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + team + "/api:v2.3." + fmt.Sprint(minute)}}}}}}})
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "configmaps", ns: team, name: "api-config", ips: []string{addonIP["argocd-application-controller"]}, ua: aUA, level: "Request", body: map[string]any{"data": map[string]any{"LOG_LEVEL": "info", "FEATURE_X": "true"}}})
			g.emit(hreq{user: u, groups: gr, verb: "patch", group: "argoproj.io", version: "v1alpha1", res: "applications", ns: "argocd", name: team, ips: []string{addonIP["argocd-application-controller"]}, ua: aUA})
			u, gr = hsa("flux-system", "kustomize-controller")
			fUA := "kustomize-controller/v1.3.0"
			g.emit(hreq{user: u, groups: gr, verb: "patch", group: "apps", res: "deployments", ns: "frontend", name: "web", ips: []string{addonIP["kustomize-controller"]}, ua: fUA, level: "Request", query: "fieldManager=kustomize-controller&force=true",
				body: workloadBody("Deployment", "frontend", "web", podSpec([]any{ctr("web", "ghcr.io/acme/web:1.9."+fmt.Sprint(minute), nil)}, nil))})
			g.emit(hreq{user: u, groups: gr, verb: "patch", group: "networking.k8s.io", res: "networkpolicies", ns: "frontend", name: "default-deny", ips: []string{addonIP["kustomize-controller"]}, ua: fUA, query: "fieldManager=kustomize-controller&force=true"})
			if minute%20 == 2 {
				g.emit(hreq{user: u, groups: gr, verb: "patch", group: "rbac.authorization.k8s.io", res: "rolebindings", ns: "frontend", name: "frontend-devs", ips: []string{addonIP["kustomize-controller"]}, ua: fUA, query: "fieldManager=kustomize-controller&force=true", level: "Request",
					body: map[string]any{"kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": map[string]any{"name": "frontend-devs", "namespace": "frontend"}, "roleRef": map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}, "subjects": []any{subj("Group", "frontend-devs", "")}}})
				g.emit(hreq{user: u, groups: gr, verb: "patch", group: "rbac.authorization.k8s.io", res: "clusterrolebindings", name: "external-dns-viewer", ips: []string{addonIP["kustomize-controller"]}, ua: fUA, query: "fieldManager=kustomize-controller&force=true", level: "Request",
					body: binding("ClusterRoleBinding", "external-dns-viewer", "", "external-dns", subj("ServiceAccount", "external-dns", "external-dns"))})
				u, gr = hsa("flux-system", "helm-controller")
				g.emit(hreq{user: u, groups: gr, verb: "create", res: "secrets", ns: "monitoring", ips: []string{addonIP["helm-controller"]}, ua: "helm-controller/v1.0.1", level: "Metadata"})
				g.emit(hreq{user: u, groups: gr, verb: "list", res: "secrets", ns: "monitoring", query: "labelSelector=name%3Dkube-prometheus-stack%2Cowner%3Dhelm", ips: []string{addonIP["helm-controller"]}, ua: "helm-controller/v1.0.1"})
			}
		}
		// cert-manager issues, external-secrets and sealed-secrets write Secrets.
		if minute%3 == 0 {
			team := g.pick(hTeams)
			u, gr := hsa("cert-manager", "cert-manager")
			g.emit(hreq{user: u, groups: gr, verb: "update", res: "secrets", ns: team, name: team + "-tls", ips: []string{addonIP["cert-manager"]}, ua: "cert-manager-controller/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36"})
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "cert-manager.io", res: "certificaterequests", ns: team, ips: []string{addonIP["cert-manager"]}, ua: "cert-manager-controller/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36"})
			// Looking up a certificate's secret before it is issued.
			g.emit(hreq{user: u, groups: gr, verb: "get", res: "secrets", ns: team, name: fmt.Sprintf("%s-preview-%d-tls", team, minute), code: 404, ips: []string{addonIP["cert-manager"]}, ua: "cert-manager-controller/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36"})
			u, gr = hsa("cert-manager", "cert-manager-webhook")
			g.emit(hreq{user: u, groups: gr, verb: "get", res: "secrets", ns: "cert-manager", name: "cert-manager-webhook-ca", ips: []string{g.podIP()}, ua: "cert-manager-webhook/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36"})
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "authorization.k8s.io", res: "subjectaccessreviews", ips: []string{g.podIP()}, ua: "cert-manager-webhook/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36"})
			u, gr = hsa("external-secrets", "external-secrets")
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "secrets", ns: team, name: "db-credentials", ips: []string{addonIP["external-secrets"]}, ua: "external-secrets/v0.10.3 (linux/amd64) kubernetes/0000000", query: "fieldManager=external-secrets&force=true"})
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "external-secrets.io", version: "v1beta1", res: "externalsecrets", sub: "status", ns: team, name: "db-credentials", ips: []string{addonIP["external-secrets"]}, ua: "external-secrets/v0.10.3 (linux/amd64) kubernetes/0000000"})
			u, gr = ksys("sealed-secrets-controller")
			g.emit(hreq{user: u, groups: gr, verb: "list", res: "secrets", ns: "kube-system", query: "labelSelector=sealedsecrets.bitnami.com%2Fsealed-secrets-key", ips: []string{addonIP["sealed-secrets-controller"]}, ua: "controller/v0.0.0 (linux/amd64) kubernetes/$Format"})
			g.emit(hreq{user: u, groups: gr, verb: "update", res: "secrets", ns: team, name: "smtp", ips: []string{addonIP["sealed-secrets-controller"]}, ua: "controller/v0.0.0 (linux/amd64) kubernetes/$Format"})
			u, gr = hsa("monitoring", "prometheus-operator")
			g.emit(hreq{user: u, groups: gr, verb: "update", res: "secrets", ns: "monitoring", name: "prometheus-k8s", ips: []string{addonIP["prometheus-operator"]}, ua: "PrometheusOperator/0.76.1"})
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "apps", res: "statefulsets", ns: "monitoring", name: "prometheus-k8s", ips: []string{addonIP["prometheus-operator"]}, ua: "PrometheusOperator/0.76.1"})
		}
		// Prometheus scrapes kubelets through the API server proxy; metrics-server delegates auth.
		{
			u, gr := hsa("monitoring", "prometheus-k8s")
			i := g.r.Intn(len(hNodes))
			g.emit(hreq{user: u, groups: gr, verb: "get", res: "nodes", sub: "proxy", name: hNodes[i], uri: "/api/v1/nodes/" + hNodes[i] + "/proxy/metrics/cadvisor", ips: []string{addonIP["prometheus-k8s"]}, ua: "Prometheus/2.54.1"})
			u, gr = ksys("metrics-server")
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "authorization.k8s.io", res: "subjectaccessreviews", ips: []string{addonIP["metrics-server"]}, ua: "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format"})
			g.emit(hreq{user: u, groups: gr, verb: "get", res: "configmaps", ns: "kube-system", name: "extension-apiserver-authentication", ips: []string{addonIP["metrics-server"]}, ua: "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format"})
			g.emit(hreq{user: "system:kube-aggregator", groups: []string{"system:authenticated"}, verb: "get", uri: "/apis/metrics.k8s.io/v1beta1", ips: []string{cp()}, ua: "kube-apiserver/v1.30.4 (linux/amd64) kubernetes/a51b3b7"})
			u, gr = hsa("linkerd", "linkerd-identity")
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "authentication.k8s.io", res: "tokenreviews", ips: []string{g.podIP()}, ua: "controller/v0.0.0 (linux/amd64) kubernetes/$Format"})
			u, gr = hsa("istio-system", "istiod")
			g.emit(hreq{user: u, groups: gr, verb: "create", group: "authentication.k8s.io", res: "tokenreviews", ips: []string{addonIP["istiod"]}, ua: "pilot-discovery/1.23.2"})
			if minute%10 == 0 {
				g.emit(hreq{user: u, groups: gr, verb: "update", res: "configmaps", ns: g.pick(hTeams), name: "istio-ca-root-cert", ips: []string{addonIP["istiod"]}, ua: "pilot-discovery/1.23.2"})
			}
			u, gr = hsa("monitoring", "alloy")
			ns := g.pick(hTeams)
			g.emit(hreq{user: u, groups: gr, verb: "get", res: "pods", sub: "log", ns: ns, name: "api-6d5f7c9b8-x2l9q", query: "container=api&follow=true&sinceTime=2026-03-02T09%3A00%3A00Z&timestamps=true", ips: []string{addonIP["alloy"]}, ua: "alloy/v1.4.2 (linux/amd64) kubernetes/$Format"})
			u, gr = ksys("aws-load-balancer-controller")
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "services", sub: "status", ns: "ingress-nginx", name: "ingress-nginx-controller", ips: []string{addonIP["aws-load-balancer-controller"]}, ua: "aws-load-balancer-controller/v2.8.3 (linux/amd64) kubernetes/$Format"})
			u, gr = hsa("ingress-nginx", "ingress-nginx")
			g.emit(hreq{user: u, groups: gr, verb: "update", group: "networking.k8s.io", res: "ingresses", sub: "status", ns: ns, name: "api", ips: []string{addonIP["ingress-nginx"]}, ua: "nginx-ingress-controller/v1.11.2 (linux/amd64) ingress-nginx/46e76e5916813cfca2a9b0bfdc34b69a0000f6b9"})
			g.leader(u, gr, addonIP["ingress-nginx"], "nginx-ingress-controller/v1.11.2 (linux/amd64) ingress-nginx/46e76e5916813cfca2a9b0bfdc34b69a0000f6b9", "ingress-nginx", "ingress-nginx-leader")
			u, gr = hsa("external-dns", "external-dns")
			g.emit(hreq{user: u, groups: gr, verb: "list", res: "services", query: "limit=500", ips: []string{addonIP["external-dns"]}, ua: "external-dns/v0.15.0"})
		}
		// EKS and AKS/GKE managed identities.
		if minute%5 == 4 {
			g.emit(hreq{user: "eks:node-manager", groups: []string{"system:authenticated"}, verb: "get", res: "configmaps", ns: "kube-system", name: "aws-auth", ips: []string{"172.16.44.10"}, ua: "eks-node-manager/v0.0.0 (linux/amd64) kubernetes/$Format"})
			g.emit(hreq{user: "eks:certificate-controller", groups: []string{"system:authenticated"}, verb: "update", group: "certificates.k8s.io", res: "certificatesigningrequests", sub: "approval", name: fmt.Sprintf("csr-%x", g.r.Intn(1<<20)), ips: []string{"172.16.44.10"}, ua: "eks-certificates-controller/v0.0.0 (linux/amd64) kubernetes/$Format"})
			g.emit(hreq{user: "eks:cloud-controller-manager", groups: []string{"system:authenticated"}, verb: "patch", res: "nodes", sub: "status", name: g.pick(hNodes), ips: []string{"172.16.44.10"}, ua: "aws-cloud-controller-manager/v1.30.1 (linux/amd64) kubernetes/$Format", level: "Request",
				body: map[string]any{"status": map[string]any{"addresses": []any{map[string]any{"type": "InternalIP", "address": "10.20.1.14"}}}}})
			g.emit(hreq{user: "eks:addon-manager", groups: []string{"system:authenticated"}, verb: "patch", group: "apps", res: "daemonsets", ns: "kube-system", name: "aws-node", query: "fieldManager=eks&force=true", ips: []string{"172.16.44.10"}, ua: "eks-addon-manager/v0.0.0", level: "Request",
				body: workloadBody("DaemonSet", "kube-system", "aws-node", podSpec([]any{ctr("aws-node", "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.18.3-eksbuild.3", map[string]any{"capabilities": map[string]any{"add": strs("NET_ADMIN", "NET_RAW")}})}, map[string]any{"hostNetwork": true, "serviceAccountName": "aws-node", "volumes": []any{map[string]any{"name": "cni-bin-dir", "hostPath": map[string]any{"path": "/opt/cni/bin"}}}}))})
			g.emit(hreq{user: "eks:pod-identity-mutating-webhook", groups: []string{"system:authenticated"}, verb: "get", res: "serviceaccounts", ns: g.pick(hTeams), name: "api", ips: []string{"172.16.44.10"}, ua: "amazon-eks-pod-identity-webhook/v0.0.0"})
			g.emit(hreq{user: "eks:k8s-metrics", groups: []string{"system:authenticated"}, verb: "get", uri: "/metrics", ips: []string{"172.16.44.10"}, ua: "Go-http-client/1.1"})
			u, gr := ksys("aws-node")
			g.emit(hreq{user: u, groups: gr, verb: "get", res: "nodes", name: g.pick(hNodes), ips: []string{g.pick(hNodeIPs)}, ua: "aws-node/v1.18.3 (linux/amd64) kubernetes/$Format"})
			g.emit(hreq{user: u, groups: gr, verb: "patch", res: "pods", ns: g.pick(hTeams), name: "api-6d5f7c9b8-7hbq2", ips: []string{g.pick(hNodeIPs)}, ua: "aws-node/v1.18.3 (linux/amd64) kubernetes/$Format", level: "Request",
				body: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"vpc.amazonaws.com/pod-ips": "10.20.1.177"}}}})
			// AKS: aksService and masterclient hold system:masters.
			g.emit(hreq{user: "aksService", groups: []string{"system:masters", "system:authenticated"}, verb: "get", res: "configmaps", ns: "kube-system", name: "coredns", ips: []string{"172.31.1.4"}, ua: "aks-operator/v0.0.0"})
			g.emit(hreq{user: "masterclient", groups: []string{"system:masters", "system:authenticated"}, verb: "patch", group: "apps", res: "deployments", ns: "kube-system", name: "konnectivity-agent", ips: []string{"172.31.1.4"}, ua: "overlaymgr/v0.0.0", level: "Metadata"})
			g.emit(hreq{user: "system:serviceaccount:kube-system:cloud-node-manager", groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}, verb: "patch", res: "nodes", sub: "status", name: g.pick(hNodes), ips: []string{g.pick(hNodeIPs)}, ua: "cloud-node-manager/v1.30.3 (linux/amd64) kubernetes/$Format"})
			// GKE.
			g.emit(hreq{user: "system:gke-common-webhooks", groups: []string{"system:authenticated"}, verb: "create", group: "authorization.k8s.io", res: "subjectaccessreviews", ips: []string{"172.16.0.2"}, ua: "gke-common-webhooks/v0.0.0"})
			g.emit(hreq{user: "system:addon-manager", groups: []string{"system:authenticated"}, verb: "patch", group: "apps", res: "deployments", ns: "kube-system", name: "kube-dns", ips: []string{"172.16.0.2"}, ua: "kubectl/v1.30.3 (linux/amd64) kubernetes/gke"})
			g.emit(hreq{user: "system:gcp-controller-manager", groups: []string{"system:authenticated"}, verb: "patch", res: "nodes", name: g.pick(hNodes), ips: []string{"172.16.0.2"}, ua: "gcp-controller-manager/v0.0.0", level: "Request",
				body: map[string]any{"metadata": map[string]any{"labels": map[string]any{"cloud.google.com/gke-nodepool": "default-pool"}}}})
			g.emit(hreq{user: "system:clustermetrics", groups: []string{"system:authenticated"}, verb: "list", res: "pods", query: "limit=500", ips: []string{"172.16.0.2"}, ua: "clustermetrics/v0.0.0"})
			g.emit(hreq{user: "system:l7-lb-controller", groups: []string{"system:authenticated"}, verb: "update", group: "networking.k8s.io", res: "ingresses", sub: "status", ns: "frontend", name: "web", ips: []string{"172.16.0.2"}, ua: "glbc/v1.31.0"})
		}
		// People: admins and developers with kubectl, through the cloud LB that preserves the client address.
		for k := 0; k < 3; k++ {
			who := g.pick([]string{"maria@acme.io", "tom@acme.io", "li@acme.io", "sam@acme.io", "priya@acme.io"})
			team := hTeams[len(who)%len(hTeams)]
			gr := []string{"oidc:engineers", "oidc:team-" + team, "system:authenticated"}
			ip := g.pick([]string{"10.8.0.14", "10.8.0.77", "10.8.1.3", "81.2.69.160"})
			ops := g.r.Intn(12)
			switch {
			case ops < 4:
				g.emit(hreq{user: who, groups: gr, verb: "list", res: "pods", ns: team, query: "limit=500", ips: []string{ip}, ua: kubectlUA})
				g.emit(hreq{user: who, groups: gr, verb: "get", res: "pods", ns: team, name: "api-6d5f7c9b8-x2l9q", ips: []string{ip}, ua: kubectlUA})
				g.emit(hreq{user: who, groups: gr, verb: "list", res: "events", ns: team, query: "fieldSelector=involvedObject.name%3Dapi-6d5f7c9b8-x2l9q&limit=500", ips: []string{ip}, ua: kubectlUA})
			case ops < 6:
				g.emit(hreq{user: who, groups: gr, verb: "get", res: "pods", sub: "log", ns: team, name: "api-6d5f7c9b8-x2l9q", query: "container=api&tailLines=200", ips: []string{ip}, ua: kubectlUA})
			case ops < 7:
				g.emit(hreq{user: who, groups: gr, verb: "list", group: "apps", res: "deployments", query: "limit=500", ips: []string{ip}, ua: kubectlUA})
				g.emit(hreq{user: who, groups: gr, verb: "list", res: "pods", query: "limit=500", ips: []string{ip}, ua: kubectlUA})
			case ops < 8:
				g.emit(hreq{user: who, groups: gr, verb: "patch", group: "apps", res: "deployments", ns: team, name: "api", ips: []string{ip}, ua: kubectlUA + " kubectl rollout", level: "Request",
					body: map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"annotations": map[string]any{"kubectl.kubernetes.io/restartedAt": "2026-03-02T09:30:00Z"}}}}}})
			case ops < 9:
				g.emit(hreq{user: who, groups: gr, verb: "patch", group: "apps", res: "deployments", sub: "scale", ns: team, name: "api", ips: []string{ip}, ua: kubectlUA, level: "Request", body: map[string]any{"spec": map[string]any{"replicas": 3}}})
			case ops < 10:
				g.emit(hreq{user: who, groups: gr, verb: "get", res: "secrets", ns: team, name: "db-credentials", ips: []string{ip}, ua: kubectlUA})
				g.emit(hreq{user: who, groups: gr, verb: "list", res: "configmaps", ns: team, query: "limit=500", ips: []string{ip}, ua: kubectlUA})
			case ops < 11:
				// kubectl auth can-i and discovery.
				g.emit(hreq{user: who, groups: gr, verb: "get", uri: "/api", ips: []string{ip}, ua: kubectlUA})
				g.emit(hreq{user: who, groups: gr, verb: "get", uri: "/apis", ips: []string{ip}, ua: kubectlUA})
				g.emit(hreq{user: who, groups: gr, verb: "create", group: "authorization.k8s.io", res: "selfsubjectaccessreviews", ips: []string{ip}, ua: kubectlUA})
			default:
				// A refused read outside the team namespace.
				g.emit(hreq{user: who, groups: gr, verb: "list", res: "pods", ns: "kube-system", query: "limit=500", ips: []string{ip}, ua: kubectlUA, code: 403, msg: "pods is forbidden"})
			}
		}
		if minute%9 == 4 {
			who := g.pick([]string{"maria@acme.io", "tom@acme.io"})
			gr := []string{"oidc:platform-admins", "oidc:engineers", "system:authenticated"}
			ip := "10.8.0.14"
			team := g.pick(hTeams)
			switch (minute / 9) % 6 {
			case 0:
				g.emit(hreq{user: who, groups: gr, verb: "create", res: "pods", sub: "exec", ns: team, name: "api-6d5f7c9b8-x2l9q", query: "command=sh&command=-c&command=env+%7C+grep+DB_&container=api&stderr=true&stdout=true", ips: []string{ip}, ua: kubectlUA})
			case 1:
				n := g.pick(hNodes)
				g.emit(hreq{user: who, groups: gr, verb: "patch", res: "nodes", name: n, ips: []string{ip}, ua: kubectlUA + " kubectl cordon", level: "Request", body: map[string]any{"spec": map[string]any{"unschedulable": true}}})
				for k := 0; k < 3; k++ {
					g.emit(hreq{user: who, groups: gr, verb: "create", res: "pods", sub: "eviction", ns: g.pick(hTeams), name: fmt.Sprintf("api-6d5f7c9b8-%x", g.r.Intn(1<<20)), ips: []string{ip}, ua: kubectlUA + " kubectl drain"})
				}
			case 2:
				g.emit(hreq{user: who, groups: gr, verb: "create", res: "namespaces", ips: []string{ip}, ua: kubectlUA, level: "Request",
					body: map[string]any{"kind": "Namespace", "apiVersion": "v1", "metadata": map[string]any{"name": "team-" + team + "-staging", "labels": map[string]any{"pod-security.kubernetes.io/enforce": "restricted"}}}})
				g.emit(hreq{user: who, groups: gr, verb: "create", group: "rbac.authorization.k8s.io", res: "rolebindings", ns: "team-" + team + "-staging", ips: []string{ip}, ua: kubectlUA, level: "Request",
					body: binding("RoleBinding", team+"-devs", "team-"+team+"-staging", "edit", subj("Group", "oidc:team-"+team, ""))})
			case 3:
				g.emit(hreq{user: who, groups: gr, verb: "patch", group: "apps", res: "deployments", ns: team, name: "worker", query: "fieldManager=kubectl-client-side-apply&fieldValidation=Strict", ips: []string{ip}, ua: kubectlUA, level: "Request",
					body: map[string]any{"spec": map[string]any{"replicas": 2, "template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "worker", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + team + "/worker:v1.8.2"}}}}}}})
			case 4:
				g.emit(hreq{user: who, groups: gr, verb: "get", res: "pods", sub: "log", ns: "ingress-nginx", name: "ingress-nginx-controller-5c8d66c76d-t9fbs", query: "container=controller&follow=true", ips: []string{ip}, ua: kubectlUA})
				g.emit(hreq{user: who, groups: gr, verb: "list", res: "pods", ns: "kube-system", query: "limit=500", ips: []string{ip}, ua: kubectlUA})
			case 5:
				g.emit(hreq{user: who, groups: gr, verb: "create", res: "pods", sub: "portforward", ns: team, name: "postgres-0", ips: []string{ip}, ua: kubectlUA})
			}
		}
		// CI deployer: Helm upgrade writes its release secret.
		if minute%10 == 8 {
			u, gr := hsa("ci", "gitlab-deployer")
			team := g.pick(hTeams)
			ip := "10.20.9.44"
			hUA := "Helm/3.15.4"
			g.emit(hreq{user: u, groups: gr, verb: "list", res: "secrets", ns: team, query: "labelSelector=name%3Dapi%2Cowner%3Dhelm%2Cstatus%3Ddeployed", ips: []string{ip}, ua: hUA})
			g.emit(hreq{user: u, groups: gr, verb: "create", res: "secrets", ns: team, ips: []string{ip}, ua: hUA, level: "Metadata"})
			g.emit(hreq{user: u, groups: gr, verb: "patch", group: "apps", res: "deployments", ns: team, name: "api", ips: []string{ip}, ua: hUA, level: "Request",
				body: imagePatchH("api", "123456789012.dkr.ecr.us-east-1.amazonaws.com/"+team+"/api:v2.4."+fmt.Sprint(minute))})
			g.emit(hreq{user: u, groups: gr, verb: "update", res: "secrets", ns: team, name: "sh.helm.release.v1.api.v" + fmt.Sprint(40+minute), ips: []string{ip}, ua: hUA})
			g.emit(hreq{user: "jenkins", groups: []string{"ci-deployers", "system:authenticated"}, verb: "patch", group: "apps", res: "deployments", ns: "data", name: "etl", ips: []string{"10.20.9.45"}, ua: hUA, level: "Request",
				body: imagePatchH("etl", "123456789012.dkr.ecr.us-east-1.amazonaws.com/data/etl:2026.03."+fmt.Sprint(minute))})
		}
		// Anonymous health, version and OIDC discovery (load balancer health checks and public clients).
		for _, p := range []string{"/healthz", "/livez", "/readyz"} {
			g.emit(hreq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "get", uri: p, ips: []string{g.pick([]string{"10.20.0.4", "10.20.0.5"})}, ua: "ELB-HealthChecker/2.0"})
		}
		if minute%2 == 0 {
			g.emit(hreq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "get", uri: "/version", ips: []string{g.pick([]string{"52.94.76.10", "10.20.0.4"})}, ua: "Go-http-client/1.1"})
			g.emit(hreq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "get", uri: "/.well-known/openid-configuration", ips: []string{"52.94.76.10"}, ua: "aws-sdk-go-v2/1.30.3"})
			g.emit(hreq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "get", uri: "/openid/v1/jwks", ips: []string{"52.94.76.10"}, ua: "aws-sdk-go-v2/1.30.3"})
			g.emit(hreq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "get", uri: "/livez?verbose", ips: []string{"10.20.0.11"}, ua: "kube-probe/1.30"})
		}
		// Re-list after watch timeouts every ten minutes.
		if minute%10 == 9 {
			for _, a := range addons[:8] {
				u, gr := hsa(a.ns, a.name)
				g.informer(u, gr, addonIP[a.name], a.ua, a.kinds[:1], false)
			}
		}
	}
	// The machinery the cluster trusts, doing its own work: Velero expiring
	// a backup, Argo CD's interface and ApplicationSet controller writing
	// projects and applications (add-ons into kube-system included), Flux
	// applying its own source and a person asking it to reconcile,
	// cert-manager answering an ACME challenge, a virtual kubelet's
	// heartbeat and status, and the scheduler binding a pod.
	velero, veleroG := hsa("velero", "velero")
	g.emit(hreq{user: velero, groups: veleroG, verb: "create", group: "velero.io", res: "deletebackuprequests", ns: "velero", name: "daily-20260130090000-x7k2p", ips: []string{"10.20.3.41"}, ua: "velero-server/v1.14.1 (linux/amd64) 8afe3cea8b7058f7baaf447b9fb407312c40d2da"})
	g.emit(hreq{user: velero, groups: veleroG, verb: "delete", group: "velero.io", res: "backups", ns: "velero", name: "daily-20260130090000", ips: []string{"10.20.3.41"}, ua: "velero-server/v1.14.1 (linux/amd64) 8afe3cea8b7058f7baaf447b9fb407312c40d2da"})
	argoServer, argoServerG := hsa("argocd", "argocd-server")
	g.emit(hreq{user: argoServer, groups: argoServerG, verb: "update", group: "argoproj.io", version: "v1alpha1", res: "appprojects", ns: "argocd", name: "payments", ips: []string{"10.20.3.12"}, ua: "argocd-server/v2.12.3+6b9cd82", level: "Request",
		body: map[string]any{"kind": "AppProject", "apiVersion": "argoproj.io/v1alpha1", "metadata": map[string]any{"name": "payments", "namespace": "argocd"}, "spec": map[string]any{"sourceRepos": []any{"https://github.com/acme/payments"}, "destinations": []any{map[string]any{"namespace": "payments", "server": "https://kubernetes.default.svc"}}}}})
	appset, appsetG := hsa("argocd", "argocd-applicationset-controller")
	g.emit(hreq{user: appset, groups: appsetG, verb: "create", group: "argoproj.io", version: "v1alpha1", res: "applications", ns: "argocd", name: "addons-metrics-server", ips: []string{"10.20.3.13"}, ua: "argocd-applicationset-controller/v2.12.3+6b9cd82", level: "Request",
		body: map[string]any{"kind": "Application", "apiVersion": "argoproj.io/v1alpha1", "metadata": map[string]any{"name": "addons-metrics-server", "namespace": "argocd"}, "spec": map[string]any{"project": "platform", "source": map[string]any{"repoURL": "https://github.com/acme/platform", "path": "addons/metrics-server"}, "destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "kube-system"}}}})
	kc, kcG := hsa("flux-system", "kustomize-controller")
	g.emit(hreq{user: kc, groups: kcG, verb: "patch", group: "source.toolkit.fluxcd.io", res: "gitrepositories", ns: "flux-system", name: "flux-system", ips: []string{"10.20.3.21"}, ua: "kustomize-controller/v1.3.0", query: "fieldManager=kustomize-controller", level: "Request",
		body: map[string]any{"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": map[string]any{"name": "flux-system", "namespace": "flux-system"}, "spec": map[string]any{"url": "ssh://git@github.com/acme/fleet", "ref": map[string]any{"branch": "main"}, "secretRef": map[string]any{"name": "flux-system"}}}})
	g.emit(hreq{user: "maria@acme.io", groups: []string{"oidc:platform", "system:authenticated"}, verb: "patch", group: "kustomize.toolkit.fluxcd.io", res: "kustomizations", ns: "flux-system", name: "apps", ips: []string{"10.8.0.23"}, ua: "flux/v2.3.0", level: "Request",
		body: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"reconcile.fluxcd.io/requestedAt": "2026-03-02T10:01:00Z"}}}})
	cm, cmG := hsa("cert-manager", "cert-manager")
	g.emit(hreq{user: cm, groups: cmG, verb: "create", res: "services", ns: "shop", name: "cm-acme-http-solver-r8x2w", ips: []string{"10.20.3.31"}, ua: "cert-manager-challenges/v1.15.3 (linux/amd64) cert-manager/ba1bb5a4b24b7a8d3ef64c3d3ae8a39b4b6d0b36", level: "Request",
		body: map[string]any{"kind": "Service", "apiVersion": "v1", "metadata": map[string]any{"generateName": "cm-acme-http-solver-", "namespace": "shop"}, "spec": map[string]any{"type": "NodePort", "ports": []any{map[string]any{"name": "http", "port": 8089, "targetPort": 8089}}, "selector": map[string]any{"acme.cert-manager.io/http01-solver": "true"}}}})
	aci, aciG := hsa("kube-system", "aci-connector-linux")
	for i := 0; i < 3; i++ {
		g.emit(hreq{user: aci, groups: aciG, verb: "update", group: "coordination.k8s.io", res: "leases", ns: "kube-node-lease", name: "virtual-node-aci-linux", ips: []string{"10.20.3.51"}, ua: "virtual-kubelet/v1.6.0"})
	}
	g.emit(hreq{user: aci, groups: aciG, verb: "patch", res: "nodes", sub: "status", name: "virtual-node-aci-linux", ips: []string{"10.20.3.51"}, ua: "virtual-kubelet/v1.6.0", level: "Request",
		body: map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}}})
	g.emit(hreq{user: "system:kube-scheduler", groups: []string{"system:authenticated"}, verb: "create", res: "pods", sub: "binding", ns: "shop", name: "api-7c9-x8k2d", ips: []string{"10.20.0.11"}, ua: "kube-scheduler/v1.30.4 (linux/amd64) kubernetes/ccdb4c8/scheduler"})
	return g.bytes()
}

func imagePatchH(container, image string) map[string]any {
	return map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": container, "image": image}}}}}}
}
