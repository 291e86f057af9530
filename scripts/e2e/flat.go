package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
)

// FlatRequestResponse returns the events as an API server with a flat
// `- level: RequestResponse` policy would have written them: every event at
// RequestResponse with its response body, and writes with their request
// body, bodies made up from objectRef where the generator left them out
// (plausible objects with metadata, managedFields and a spec/status; lists
// carry five items). With stages, each request also gets its
// RequestReceived event, as a policy without omitStages writes it. This is
// the baseline the article's "40-60% less than a flat RequestResponse policy"
// is measured against; the inputs are deep copies.
func FlatRequestResponse(events []map[string]any, stages bool) []map[string]any {
	out := make([]map[string]any, 0, len(events)*2)
	for i, src := range events {
		ev := deepCopy(src)
		ev["level"] = "RequestResponse"
		ref, _ := ev["objectRef"].(map[string]any)
		verb, _ := ev["verb"].(string)
		if ref != nil {
			if _, ok := ev["responseObject"]; !ok {
				if verb == "list" {
					ev["responseObject"] = madeUpList(ref, i)
				} else if verb != "delete" {
					ev["responseObject"] = madeUpObject(ref, i)
				} else {
					ev["responseObject"] = map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{}, "status": "Success",
						"details": map[string]any{"name": ref["name"], "kind": ref["resource"]}}
				}
			}
			if _, ok := ev["requestObject"]; !ok && (verb == "create" || verb == "update" || verb == "patch") {
				ev["requestObject"] = madeUpObject(ref, i)
			}
		}
		if stages {
			rr := deepCopy(ev)
			rr["stage"] = "RequestReceived"
			rr["stageTimestamp"] = rr["requestReceivedTimestamp"]
			for _, k := range []string{"responseObject", "responseStatus", "annotations"} {
				delete(rr, k)
			}
			out = append(out, rr)
		}
		out = append(out, ev)
	}
	return out
}

func deepCopy(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func madeUpList(ref map[string]any, i int) map[string]any {
	res, _ := ref["resource"].(string)
	items := make([]any, 5)
	for j := range items {
		r := map[string]any{"resource": res, "namespace": "shop", "name": fmt.Sprintf("%s-%d-%d", strings.TrimSuffix(res, "s"), i, j)}
		items[j] = madeUpObject(r, i*5+j)
	}
	return map[string]any{"kind": kindOf(res) + "List", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": fmt.Sprint(100000 + i)}, "items": items}
}

func kindOf(res string) string {
	k := strings.TrimSuffix(res, "s")
	if k == "" {
		return "Object"
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

// madeUpObject is an object of the resource's kind, about the size the API
// server returns for it.
func madeUpObject(ref map[string]any, i int) map[string]any {
	res, _ := ref["resource"].(string)
	name, _ := ref["name"].(string)
	if name == "" {
		name = fmt.Sprintf("obj-%d", i)
	}
	md := map[string]any{"name": name, "uid": fmt.Sprintf("4b1e%04x-8c2d-4f3a-9e1b-%012x", i&0xffff, i), "resourceVersion": fmt.Sprint(100000 + i),
		"creationTimestamp": "2026-10-01T08:00:00Z", "labels": map[string]any{"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": "shop"},
		"managedFields": []any{map[string]any{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": "2026-10-01T08:00:00Z",
			"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:metadata": map[string]any{"f:labels": map[string]any{".": map[string]any{}, "f:app.kubernetes.io/name": map[string]any{}}},
				"f:spec": map[string]any{"f:holderIdentity": map[string]any{}, "f:renewTime": map[string]any{}}}}}}
	if ns, ok := ref["namespace"].(string); ok && ns != "" {
		md["namespace"] = ns
	}
	o := map[string]any{"kind": kindOf(res), "apiVersion": "v1", "metadata": md}
	switch res {
	case "leases":
		o["apiVersion"] = "coordination.k8s.io/v1"
		o["spec"] = map[string]any{"holderIdentity": name + "_7f3c9a2e-5b1d-4c8e-a6f0-2d9b8e7c1a34", "leaseDurationSeconds": 15,
			"acquireTime": "2026-10-01T08:00:00.000000Z", "renewTime": "2026-11-01T12:00:00.000000Z", "leaseTransitions": 3}
	case "pods":
		o["spec"] = map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.example.com/shop/api:1.4.2",
			"ports": []any{map[string]any{"containerPort": 8080, "protocol": "TCP"}}, "resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}},
			"volumeMounts": []any{map[string]any{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}}}},
			"nodeName": "worker-1", "serviceAccountName": "default", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}
		o["status"] = map[string]any{"phase": "Running", "podIP": "10.244.1.17", "hostIP": "10.0.1.4", "startTime": "2026-10-01T08:00:01Z",
			"conditions":        []any{map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": "2026-10-01T08:00:09Z"}, map[string]any{"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-10-01T08:00:09Z"}},
			"containerStatuses": []any{map[string]any{"name": "app", "ready": true, "restartCount": 0, "image": "registry.example.com/shop/api:1.4.2", "imageID": "registry.example.com/shop/api@sha256:9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0", "containerID": "containerd://3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d"}}}
	case "nodes":
		o["spec"] = map[string]any{"podCIDR": "10.244.1.0/24", "providerID": "azure:///subscriptions/0000/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool/virtualMachines/1"}
		o["status"] = map[string]any{"capacity": map[string]any{"cpu": "4", "memory": "16393952Ki", "pods": "110"}, "allocatable": map[string]any{"cpu": "3860m", "memory": "12899040Ki", "pods": "110"},
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}, map[string]any{"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"}, map[string]any{"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"}},
			"nodeInfo":   map[string]any{"kubeletVersion": "v1.31.2", "containerRuntimeVersion": "containerd://1.7.22", "kernelVersion": "5.15.0-1074-azure", "osImage": "Ubuntu 22.04.5 LTS"}}
	case "configmaps":
		o["data"] = map[string]any{"config.yaml": "log_level: info\nlisten: :8080\nupstreams:\n  - http://orders.shop.svc:8080\n  - http://payments.shop.svc:8080\n"}
	case "services", "endpointslices":
		o["spec"] = map[string]any{"type": "ClusterIP", "clusterIP": "10.0.142.17", "ports": []any{map[string]any{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}}, "selector": map[string]any{"app": "api"}}
	default:
		o["spec"] = map[string]any{"replicas": 3, "selector": map[string]any{"matchLabels": map[string]any{"app": "api"}}}
		o["status"] = map[string]any{"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "observedGeneration": 7}
	}
	return o
}
