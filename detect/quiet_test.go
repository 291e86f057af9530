package detect_test

import (
	"encoding/json"
	"testing"
)

// freshCluster is the traffic of freshly installed kubeadm, k3s, EKS, GKE
// and AKS control planes that used to trip rules: add-on DaemonSets with
// host networking, privileged containers and host paths, created by
// controllers and managed-service identities in kube-system, plus their
// routine reads, token requests and lease updates. None may be labelled.
var freshCluster = []struct {
	name string
	ev   string
}{
	{"kubeadm kube-proxy pod", `{"verb":"create","stage":"ResponseComplete","user":{"username":"system:serviceaccount:kube-system:daemon-set-controller"},"sourceIPs":["10.0.0.10"],"objectRef":{"resource":"pods","namespace":"kube-system"},"responseStatus":{"code":201},"requestObject":{"kind":"Pod","spec":{"hostNetwork":true,"containers":[{"name":"kube-proxy","image":"registry.k8s.io/kube-proxy:v1.31.2","securityContext":{"privileged":true}}],"volumes":[{"hostPath":{"path":"/run/xtables.lock"}},{"hostPath":{"path":"/lib/modules"}}]}}}`},
	{"kubeadm etcd mirror pod", `{"verb":"create","stage":"ResponseComplete","user":{"username":"system:node:cp-1"},"sourceIPs":["10.0.0.10"],"objectRef":{"resource":"pods","namespace":"kube-system","name":"etcd-cp-1"},"responseStatus":{"code":201},"requestObject":{"kind":"Pod","metadata":{"name":"etcd-cp-1","annotations":{"kubernetes.io/config.mirror":"9d1e7c4b","kubernetes.io/config.source":"file"}},"spec":{"nodeName":"cp-1","hostNetwork":true,"containers":[{"name":"etcd","image":"registry.k8s.io/etcd:3.5.15-0"}],"volumes":[{"hostPath":{"path":"/var/lib/etcd"}},{"hostPath":{"path":"/etc/kubernetes/pki/etcd"}}]}}}`},
	{"kubeadm controller token", `{"verb":"create","stage":"ResponseComplete","user":{"username":"system:kube-controller-manager"},"sourceIPs":["10.0.0.10"],"objectRef":{"resource":"serviceaccounts","subresource":"token","namespace":"kube-system","name":"replicaset-controller"},"responseStatus":{"code":201}}`},
	{"kubeadm controller lists secrets", `{"verb":"list","stage":"ResponseComplete","user":{"username":"system:kube-controller-manager"},"sourceIPs":["10.0.0.10"],"objectRef":{"resource":"secrets"},"responseStatus":{"code":200}}`},
	{"kubeadm csr approval", `{"verb":"update","stage":"ResponseComplete","user":{"username":"system:kube-controller-manager"},"sourceIPs":["10.0.0.10"],"objectRef":{"resource":"certificatesigningrequests","subresource":"approval","name":"csr-x"},"responseStatus":{"code":200}}`},
	{"kubelet bootstrap csr", `{"verb":"create","stage":"ResponseComplete","user":{"username":"system:bootstrap:abcdef"},"sourceIPs":["10.0.0.11"],"objectRef":{"resource":"certificatesigningrequests"},"responseStatus":{"code":201},"requestObject":{"spec":{"signerName":"kubernetes.io/kube-apiserver-client-kubelet","usages":["client auth"]}}}`},
	{"kubelet registers its node", `{"verb":"create","stage":"ResponseComplete","user":{"username":"system:node:worker-1"},"sourceIPs":["10.0.0.11"],"objectRef":{"resource":"nodes","name":"worker-1"},"responseStatus":{"code":201}}`},
	{"coredns watches", `{"verb":"watch","stage":"ResponseComplete","user":{"username":"system:serviceaccount:kube-system:coredns"},"sourceIPs":["10.244.0.3"],"objectRef":{"resource":"endpointslices","apiGroup":"discovery.k8s.io"},"responseStatus":{"code":200}}`},
	{"k3s supervisor", `{"verb":"get","stage":"ResponseComplete","user":{"username":"system:k3s-supervisor"},"sourceIPs":["127.0.0.1"],"objectRef":{"resource":"secrets","namespace":"kube-system","name":"k3s-serving"},"responseStatus":{"code":200}}`},
	{"k3s svclb pod", `{"verb":"create","stage":"ResponseComplete","user":{"username":"system:serviceaccount:kube-system:daemon-set-controller"},"sourceIPs":["127.0.0.1"],"objectRef":{"resource":"pods","namespace":"kube-system"},"responseStatus":{"code":201},"requestObject":{"kind":"Pod","spec":{"containers":[{"name":"lb-tcp-80","image":"rancher/klipper-lb:v0.4.9","securityContext":{"capabilities":{"add":["NET_ADMIN"]}}}]}}}`},
	{"EKS addon manager installs aws-node", `{"verb":"create","stage":"ResponseComplete","user":{"username":"eks:addon-manager"},"sourceIPs":["35.163.244.48"],"objectRef":{"resource":"daemonsets","namespace":"kube-system","apiGroup":"apps"},"responseStatus":{"code":201},"requestObject":{"kind":"DaemonSet","spec":{"template":{"spec":{"hostNetwork":true,"initContainers":[{"name":"init","image":"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.18.3","securityContext":{"privileged":true}}],"containers":[{"name":"aws-node","image":"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.3","securityContext":{"capabilities":{"add":["NET_ADMIN","NET_RAW"]}}}],"volumes":[{"hostPath":{"path":"/opt/cni/bin"}},{"hostPath":{"path":"/var/run/aws-node"}}]}}}}}`},
	{"EKS node manager evicts", `{"verb":"create","stage":"ResponseComplete","user":{"username":"eks:node-manager"},"sourceIPs":["34.210.208.192"],"objectRef":{"resource":"pods","subresource":"eviction","namespace":"kube-system","name":"metrics-server-1"},"responseStatus":{"code":201}}`},
	{"EKS aws-auth by EKS", `{"verb":"update","stage":"ResponseComplete","user":{"username":"eks:node-manager"},"sourceIPs":["10.0.0.5"],"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"aws-auth"},"responseStatus":{"code":200}}`},
	{"GKE addon manager", `{"verb":"patch","stage":"ResponseComplete","user":{"username":"system:addon-manager"},"sourceIPs":["10.128.0.2"],"objectRef":{"resource":"clusterroles","name":"system:gke-metrics"},"responseStatus":{"code":200}}`},
	{"GKE metadata server pod", `{"verb":"create","stage":"ResponseComplete","user":{"username":"system:serviceaccount:kube-system:daemon-set-controller"},"sourceIPs":["10.128.0.2"],"objectRef":{"resource":"pods","namespace":"kube-system"},"responseStatus":{"code":201},"requestObject":{"kind":"Pod","spec":{"hostNetwork":true,"containers":[{"name":"gke-metadata-server","image":"gke.gcr.io/gke-metadata-server:v1","securityContext":{"privileged":true}}],"volumes":[{"hostPath":{"path":"/var/lib/kubelet"}}]}}}`},
	{"AKS service", `{"verb":"get","stage":"ResponseComplete","user":{"username":"aksService"},"sourceIPs":["10.224.0.4"],"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"coredns"},"responseStatus":{"code":200}}`},
	{"AKS coredns-custom edit by addon", `{"verb":"update","stage":"ResponseComplete","user":{"username":"system:serviceaccount:kube-system:addon-manager"},"sourceIPs":["10.224.0.4"],"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"coredns-custom"},"responseStatus":{"code":200}}`},
	{"health probe", `{"verb":"get","stage":"ResponseComplete","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["10.0.0.1"],"requestURI":"/readyz","responseStatus":{"code":200}}`},
	{"apiserver loopback", `{"verb":"list","stage":"ResponseComplete","user":{"username":"system:apiserver","groups":["system:masters"]},"sourceIPs":["::1"],"objectRef":{"resource":"secrets"},"responseStatus":{"code":200}}`},
}

func TestFreshClusterQuiet(t *testing.T) {
	e := defaultEngine(t)
	for _, tc := range freshCluster {
		var ev map[string]any
		if err := json.Unmarshal([]byte(tc.ev), &ev); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ids := e.Detect(ev, nil).IDs(); ids != "" {
			t.Errorf("%s: labelled %s", tc.name, ids)
		}
	}
}
