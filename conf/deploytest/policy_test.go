package deploytest

import (
	"os"
	"testing"

	"k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

const policyFile = "../../conf/audit-policy.yaml"

// The shipped policy decodes strictly into audit.k8s.io/v1 and loads with
// the API server's own reader (decoding plus validation).
func TestAuditPolicyLoads(t *testing.T) {
	b, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	var p auditv1.Policy
	if err := strictYAML(b, &p); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	if p.APIVersion != "audit.k8s.io/v1" || p.Kind != "Policy" || len(p.Rules) == 0 {
		t.Fatalf("not an audit.k8s.io/v1 Policy with rules: %s %s, %d rules", p.APIVersion, p.Kind, len(p.Rules))
	}
	if _, err := policy.LoadPolicyFromBytes(b); err != nil {
		t.Fatalf("kube-apiserver would refuse it: %v", err)
	}
	if err := strictYAML(append(b, "\nomitManagedField: true\n"...), &p); err == nil {
		t.Fatal("a misspelt field decoded without error: the decode is not strict")
	}
}

// What the policy logs, evaluated by the API server's own rule evaluator:
// each detection rule gets the audit level it needs, noise is dropped.
func TestAuditPolicyLevels(t *testing.T) {
	pol, err := policy.LoadPolicyFromFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	ev := policy.NewPolicyRuleEvaluator(pol)
	admin := &user.DefaultInfo{Name: "alice", Groups: []string{"system:authenticated"}}
	res := func(verb, group, resource, sub, ns string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: admin, Verb: verb, APIGroup: group, APIVersion: "v1", Resource: resource, Subresource: sub, Namespace: ns, ResourceRequest: true}
	}
	cases := []struct {
		name  string
		attrs authorizer.AttributesRecord
		want  audit.Level
	}{
		// detections (conf/rules/default.yaml) and the level they need
		{"secret_list_all_namespaces", res("list", "", "secrets", "", ""), audit.LevelRequestResponse},
		{"secret get (redaction has bodies to redact)", res("get", "", "secrets", "", "prod"), audit.LevelRequestResponse},
		{"clusterrolebinding_create", res("create", "rbac.authorization.k8s.io", "clusterrolebindings", "", ""), audit.LevelRequestResponse},
		{"rbac_bind_escalate (role body)", res("update", "rbac.authorization.k8s.io", "clusterroles", "", ""), audit.LevelRequestResponse},
		{"serviceaccount_token_create", res("create", "", "serviceaccounts", "token", "prod"), audit.LevelRequestResponse},
		{"pod_exec (SPDY)", res("create", "", "pods", "exec", "prod"), audit.LevelRequest},
		{"pod_exec (WebSocket)", res("get", "", "pods", "exec", "prod"), audit.LevelMetadata},
		{"privileged_pod_create pod", res("create", "", "pods", "", "prod"), audit.LevelRequest},
		{"privileged_pod_create deployment", res("patch", "apps", "deployments", "", "prod"), audit.LevelRequest},
		{"privileged_pod_create replicaset", res("create", "apps", "replicasets", "", "prod"), audit.LevelRequest},
		{"privileged_pod_create job", res("create", "batch", "jobs", "", "prod"), audit.LevelRequest},
		{"privileged_pod_create cronjob", res("update", "batch", "cronjobs", "", "prod"), audit.LevelRequest},
		{"privileged_pod_create ephemeral container", res("patch", "", "pods", "ephemeralcontainers", "prod"), audit.LevelRequest},
		{"privileged_pod_create podtemplate", res("create", "", "podtemplates", "", "prod"), audit.LevelRequest},
		{"privileged_pod_create deploymentconfig", res("create", "apps.openshift.io", "deploymentconfigs", "", "prod"), audit.LevelRequest},
		{"privileged_pod_create rollout", res("patch", "argoproj.io", "rollouts", "", "prod"), audit.LevelRequest},
		{"service_external_name_internal", res("create", "", "services", "", "prod"), audit.LevelRequest},
		{"service status (no body needed)", res("patch", "", "services", "status", "prod"), audit.LevelMetadata},
		{"csr_client_cert_create", res("create", "certificates.k8s.io", "certificatesigningrequests", "", ""), audit.LevelRequest},
		{"csr_approve", res("update", "certificates.k8s.io", "certificatesigningrequests", "approval", ""), audit.LevelRequest},
		{"csr list", res("list", "certificates.k8s.io", "certificatesigningrequests", "", ""), audit.LevelMetadata},
		{"admission_webhook_change", res("create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", ""), audit.LevelRequest},
		{"namespace_delete", res("delete", "", "namespaces", "", ""), audit.LevelRequest},
		{"node_patch_unexpected", res("patch", "", "nodes", "", ""), audit.LevelMetadata},
		{"anonymous_request", authorizer.AttributesRecord{User: &user.DefaultInfo{Name: "system:anonymous"}, Verb: "get", Path: "/api", ResourceRequest: false}, audit.LevelMetadata},
		// noise
		{"healthz", authorizer.AttributesRecord{User: admin, Verb: "get", Path: "/healthz/etcd"}, audit.LevelNone},
		{"metrics", authorizer.AttributesRecord{User: admin, Verb: "get", Path: "/metrics"}, audit.LevelNone},
		{"watch", res("watch", "", "pods", "", "prod"), audit.LevelNone},
		{"events list", res("list", "", "events", "", "prod"), audit.LevelNone},
		{"scheduler lease", authorizer.AttributesRecord{User: &user.DefaultInfo{Name: "system:kube-scheduler"}, Verb: "get", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system", ResourceRequest: true}, audit.LevelNone},
		// everything else
		{"configmap get", res("get", "", "configmaps", "", "prod"), audit.LevelMetadata},
	}
	for _, c := range cases {
		got := ev.EvaluatePolicyRule(c.attrs)
		if got.Level != c.want {
			t.Errorf("%s: level %s, want %s", c.name, got.Level, c.want)
		}
		if c.want != audit.LevelNone {
			if len(got.OmitStages) != 1 || got.OmitStages[0] != audit.StageRequestReceived {
				t.Errorf("%s: omitStages %v, want [RequestReceived] (one event per request)", c.name, got.OmitStages)
			}
			if !got.OmitManagedFields {
				t.Errorf("%s: managed fields kept", c.name)
			}
		}
	}
}
