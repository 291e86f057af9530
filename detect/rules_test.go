package detect_test

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/detect"
)

// The ids and severities are a contract with dashboards and alerts built on
// the Loki labels; changing one must be deliberate.
var wantDefaultRules = map[string]detect.Severity{
	"secret_list_all_namespaces":  detect.Critical,
	"clusterrolebinding_create":   detect.Critical,
	"pod_exec":                    detect.High,
	"serviceaccount_token_create": detect.High,
	"admission_webhook_change":    detect.Critical,
	"privileged_pod_create":       detect.Critical,
	"namespace_delete":            detect.High,
	"anonymous_request":           detect.Critical,
	"rbac_bind_escalate":          detect.Critical,
	"node_patch_unexpected":       detect.High,
}

// minDefaultRules is the size the default set must keep: the union of the
// public rule sets (Falco, Elastic, Panther, Sigma) has about 60 distinct
// detections.
const minDefaultRules = 60

func TestDefaultRuleSet(t *testing.T) {
	e := defaultEngine(t)
	got := map[string]detect.Severity{}
	for _, r := range e.Rules() {
		if !r.Enabled {
			t.Errorf("%s: shipped disabled", r.ID)
		}
		if r.Title == "" || r.Description == "" {
			t.Errorf("%s: needs a title and a description", r.ID)
		}
		if len(r.MITRE) == 0 && r.ID != "node_patch_unexpected" {
			t.Errorf("%s: needs ATT&CK technique ids", r.ID)
		}
		got[r.ID] = r.Severity
	}
	for id, sev := range wantDefaultRules {
		if got[id] != sev {
			t.Errorf("%s: severity %v, want %v", id, got[id], sev)
		}
	}
	if len(got) < minDefaultRules {
		t.Errorf("%d default rules, want at least %d", len(got), minDefaultRules)
	}
}

// alsoMatches lists the fixtures that legitimately trip more than their own
// rule (a ClusterRoleBinding to cluster-admin is both a new binding and a
// privileged one). Everything else must match exactly its rule.
var alsoMatches = map[string][]string{
	"clusterrole_credential_grant/positive_k3s_chart_installer_other_role":               {"rbac_role_by_serviceaccount"},
	"clusterrolebinding_create/positive_k3s_chart_installer_foreign_subject":             {"rbac_binding_by_serviceaccount"},
	"clusterrolebinding_create/positive_k3s_chart_installer_kubectl":                     {"rbac_binding_by_serviceaccount"},
	"audit_config_change/positive_shipper_policy_patched":                                {"security_tooling_config_change"},
	"audit_config_change/positive_webhook_kubeconfig_secret_patched":                     {"secret_write"},
	"pod_ephemeral_registry_image/positive_ephemeral_container":                          {"ephemeral_container_add"},
	"pod_ephemeral_registry_image/positive_tunnel_cronjob_patch":                         {"cronjob_create_modify"},
	"csr_kubelet_serving_by_non_node/negative_denied":                                    {"forbidden_create"},
	"rolebinding_foreign_serviceaccount/positive_json_patch_adds_foreign_sa":             {"binding_subject_added", "rbac_binding_by_serviceaccount"},
	"binding_subject_added/positive_merge_patch_subjects":                                {"rbac_binding_by_serviceaccount", "rolebinding_foreign_serviceaccount"},
	"pod_exec/negative_person_namespace_rolebinding":                                     {"pod_exec_namespace_role"},
	"pod_portforward/negative_person_namespace_rolebinding":                              {"pod_exec_namespace_role"},
	"pod_exec_namespace_role/negative_clusterrolebinding":                                {"pod_exec"},
	"pod_exec_namespace_role/negative_kube_system":                                       {"pod_exec"},
	"pod_exec_namespace_role/negative_service_account":                                   {"pod_exec"},
	"privileged_pod_create/positive_admin_kubectl_kube_proxy":                            {"pod_host_network", "pod_hostpath_mount", "workload_containers_patched"},
	"privileged_pod_create/positive_kubeadm_agent_kube_proxy_other_image":                {"pod_host_network", "pod_hostpath_mount", "workload_containers_patched"},
	"privileged_pod_create/positive_kubeadm_agent_kube_proxy_shell":                      {"pod_host_network", "pod_hostpath_mount", "workload_containers_patched"},
	"role_nodes_proxy/positive_wildcard_subresource":                                     {"rbac_role_by_serviceaccount"},
	"role_wildcard/positive_crossplane_look_alike_account":                               {"rbac_role_by_serviceaccount"},
	"privileged_pod_create/positive_helm_ebs_csi_node_lookalike_sidecar":                 {"daemonset_create", "pod_run_as_root", "pod_sensitive_hostpath_mount", "workload_in_system_namespace"},
	"ephemeral_container_add/negative_person_namespace_rolebinding":                      {"pod_exec_namespace_role"},
	"pod_exec_namespace_role/positive_privileged_debug_container":                        {"privileged_pod_create"},
	"legacy_token_secret_kube_system/negative_other_namespace":                           {"legacy_token_secret_create", "secret_write"},
	"legacy_token_secret_create/negative_opaque_secret":                                  {"secret_write"},
	"legacy_token_secret_create/positive_token_for_argocd_server":                        {"secret_write"},
	"clusterrole_credential_grant/positive_token_minter":                                 {"role_write_verbs"},
	"binding_to_everyone/positive_json_patch_renames_subject":                            {"binding_subject_added"},
	"binding_to_everyone/positive_json_patch_adds_unauthenticated":                       {"binding_subject_added"},
	"clusterrolebinding_privileged_role/positive_account_of_lookalike_managed_namespace": {"binding_subject_added", "rbac_binding_by_serviceaccount"},
	"role_aggregated_into_builtin/positive_edit_gains_escalate":                          {"rbac_bind_escalate"},
	"role_aggregated_into_builtin/positive_view_gains_secrets":                           {"clusterrole_credential_grant"},
	"role_pod_exec/positive_wildcard_subresource":                                        {"rbac_role_by_serviceaccount", "role_write_verbs"},
	"system_role_change/positive_view_widened":                                           {"clusterrole_credential_grant"},
	"role_aggregated_into_builtin/negative_cert_manager_aggregated_edit":                 {"role_write_verbs"},
	"clusterrolebinding_privileged_role/negative_subject_added_to_other":                 {"binding_subject_added"},
	"clusterrolebinding_privileged_role/positive_json_patch_kubeadm_cluster_admins":      {"binding_subject_added"},
	"clusterrolebinding_privileged_role/positive_subject_added_to_builtin":               {"binding_subject_added"},
	"pod_controller_service_account/positive":                                            {"pod_untrusted_image_system_namespace"},
	"pod_in_system_namespace/positive":                                                   {"pod_untrusted_image_system_namespace"},
	"pod_in_system_namespace/positive_server_side_apply_ssa_pod_in_kube_system":          {"pod_untrusted_image_system_namespace"},
	"pod_disallowed_image/positive_json_patch_miner_jsonpatch_image":                     {"workload_containers_patched"},
	"privileged_pod_create/positive_cronjob":                                             {"cronjob_create_modify"},
	"privileged_pod_create/positive_daemonset_init_container":                            {"daemonset_create"},
	"impersonation/negative_admin_target":                                                {"impersonation_privileged"},
	"impersonation_privileged/negative_ordinary":                                         {"impersonation"},
	"anonymous_write/negative_refused":                                                   {"anonymous_request_denied"},
	"threat_source_ip/negative":                                                          {"forwarded_for_forged"},
	"anonymous_write/positive":                                                           {"anonymous_request"},
	"clusterrolebinding_create/negative_rolebinding":                                     {"rolebinding_privileged_role"},
	"clusterrolebinding_create/positive":                                                 {"clusterrolebinding_privileged_role"},
	"exec_service_account_token_read/negative_forbidden":                                 {"forbidden_create", "pod_exec"},
	"exec_service_account_token_read/negative_system_in_kube_system":                     {"pod_exec"},
	"exec_service_account_token_read/positive_cat_token":                                 {"pod_exec"},
	"exec_service_account_token_read/positive_kube_system_account":                       {"pod_exec"},
	"pod_in_system_namespace/positive_kubelet_pod_from_internet":                         {"node_credential_public_ip", "system_principal_public_ip"},
	"exec_suspicious_command/negative_curl_in_container_name":                            {"pod_exec"},
	"exec_suspicious_command/negative_shell":                                             {"pod_exec"},
	"exec_suspicious_command/positive_curl_imds":                                         {"pod_exec"},
	"exec_suspicious_command/positive_wget_body":                                         {"pod_exec"},
	"kubectl_cp_from_pod/negative_archive_to_file":                                       {"pod_exec"},
	"kubectl_cp_from_pod/negative_copy_into_pod":                                         {"pod_exec"},
	"kubectl_cp_from_pod/positive_tar_cf":                                                {"pod_exec"},
	"namespace_delete/negative_create":                                                   {"namespace_create"},
	"pod_exec/negative_portforward":                                                      {"pod_portforward"},
	"pod_miner_command/positive_cronjob_busybox_pool":                                    {"cronjob_create_modify"},
	"pod_miner_command/negative_refused":                                                 {"forbidden_create"},
	"service_external_ips/negative_refused_by_admission":                                 {"forbidden_create"},
	"privileged_pod_create/positive_helm_daemonset_other_image":                          {"workload_containers_patched"},
	"daemonset_create/negative_update":                                                   {"workload_containers_patched"},
	"pod_portforward/negative_proxy":                                                     {"pod_service_proxy"},
	"pod_host_pid/negative_forbidden":                                                    {"forbidden_create"},
	"privileged_pod_create/positive_ephemeral_container":                                 {"ephemeral_container_add"},
	"rbac_bind_escalate/positive_clusterrole_grants_escalate":                            {"role_write_verbs"},
	"secret_list_all_namespaces/negative_forbidden":                                      {"secret_access_denied"},
	"secret_list_all_namespaces/negative_namespaced":                                     {"secret_list_by_person"},
	"secret_list_all_namespaces/negative_person_dashboard_watch":                         {"secret_list_by_person"},
	"secret_list_namespace/negative_person_dashboard_watch":                              {"secret_list_by_person"},
	"secret_list_namespace/positive_person_response_holds_values":                        {"secret_list_by_person"},
	"secret_list_by_person/negative_kube_system":                                         {"secret_list_kube_system"},
	"secret_list_by_person/negative_list_all_namespaces":                                 {"secret_list_all_namespaces"},
	"secret_list_by_person/negative_forbidden":                                           {"secret_access_denied"},
	"secret_list_namespace/negative_forbidden":                                           {"secret_access_denied"},
	"offensive_user_agent/negative_refused_anonymous_scanner":                            {"anonymous_request_denied"},
	"threat_source_ip/positive":                                                          {"forwarded_for_forged"},
	"node_credential_public_ip/positive_refused_too":                                     {"forbidden_from_public_ip"},
	"node_credential_public_ip/negative_forged_public_header":                            {"forwarded_for_forged"},
	"system_masters_unknown/positive_forged_cert":                                        {"user_not_allowed"},
	"legacy_token_secret_kube_system/positive":                                           {"secret_write"},
	"privileged_pod_create/positive_k3s_chart_installer_runs_shell":                      {"daemonset_create", "workload_in_system_namespace"},
	"impersonation_privileged/positive_other_account_impersonates_masters":               {"serviceaccount_pod_list_unusual_client"},
	"secret_create_kube_system_untyped/positive_person_metadata_level":                   {"secret_write"},
	"secret_create_kube_system_untyped/negative_helm_release_record":                     {"secret_write"},
	"secret_create_kube_system_untyped/negative_other_namespace":                         {"secret_write"},
	"secret_create_kube_system_untyped/negative_request_level_opaque":                    {"secret_write"},
	"secret_create_kube_system_untyped/negative_helm_release_record_unnamed":             {"secret_write"},
	"secret_create_kube_system_untyped/positive_helm_agent_other_name":                   {"secret_write"},
	"security_tooling_disabled/positive_falco_daemonset_deleted":                         {"workload_delete"},
	"security_tooling_disabled/positive_shipped_audit_log_shipper_deleted":               {"workload_delete"},
	"security_tooling_disabled/positive_fluentd_deleted":                                 {"workload_delete"},
	"service_exposes_control_plane/positive_dashboard_loadbalancer":                      {"service_exposed_by_patch"}, // a patch made it a load balancer
	"service_exposes_control_plane/positive_kubernetes_service_made_loadbalancer":        {"service_exposed_by_patch"},
	"clusterrolebinding_create/positive_by_secret_reader_addon":                          {"rbac_binding_by_serviceaccount"},
	"privileged_pod_create/positive_kubelet_not_mirror":                                  {"pod_in_system_namespace"},
	"privileged_pod_create/positive_kubelet_mirror_of_other_node":                        {"pod_in_system_namespace"},
	"privileged_pod_create/positive_kubelet_mirror_from_internet":                        {"node_credential_public_ip", "pod_in_system_namespace", "system_principal_public_ip"},
	"pod_sensitive_hostpath_mount/positive_local_path_token_mounts_root":                 {"pod_in_system_namespace"},
	"pod_sensitive_hostpath_mount/positive_scanner_token_mounts_root":                    {"job_create", "pod_host_pid"},
	"pod_host_pid/negative_trivy_node_collector_job":                                     {"job_create"},
	"pod_host_pid/positive_scanner_token_runs_shell":                                     {"job_create", "pod_sensitive_hostpath_mount"},
	"pod_miner_command/positive_alpine_downloads_miner":                                  {"pod_reverse_shell_command"},
	"pod_reverse_shell_command/negative_smoke_test_curl":                                 {"job_create"},
	"pod_sensitive_hostpath_mount/negative_rook_osd_prepare_job":                         {"job_create"},
	"privileged_pod_create/negative_rook_osd_prepare_job":                                {"job_create"},
	"privileged_pod_create/positive_rook_token_job_runs_other_image":                     {"job_create", "pod_sensitive_hostpath_mount"},
	"privileged_pod_create/positive_job_pod_other_image_in_storage_namespace":            {"pod_sensitive_hostpath_mount"},
	"pod_sensitive_hostpath_mount/positive_rook_token_job_runs_other_image":              {"job_create", "privileged_pod_create"},
	"pod_sensitive_hostpath_mount/positive_job_pod_other_image_in_storage_namespace":     {"privileged_pod_create"},
	"pod_reverse_shell_command/negative_node_reboot_nsenter":                             {"job_create"},
	"serviceaccount_rules_review/positive_pod_token_can_i_list":                          {"selfsubject_review"},
	"serviceaccount_rules_review/negative_person_can_i_list":                             {"selfsubject_review"},
	"serviceaccount_rules_review/negative_serviceaccount_single_check":                   {"selfsubject_review"},
	"selfsubject_review/positive_serviceaccount_can_i_list":                              {"serviceaccount_rules_review"},
	"pod_host_pid/positive_helm_daemonset_sysdig_and_other_image":                        {"daemonset_create"},
	"impersonation_privileged/negative_teleport_admin_role_maps_to_masters":              {"impersonation"},
	"impersonation_privileged/negative_pinniped_proxy_admin_group":                       {"impersonation"},
	"pod_cloud_credential_command/positive_gcp_token_job":                                {"job_create"},
	"workload_in_system_namespace/positive_helm_daemonset_other_image":                   {"daemonset_create"},
	"helm_release_tampered/positive_release_manifest_patched":                            {"secret_write"},
	"helm_release_tampered/positive_release_record_deleted_by_token":                     {"secret_delete"},
	"helm_release_tampered/negative_flux_helm_controller":                                {"secret_write"},
	"helm_release_tampered/negative_helm_upgrade":                                        {"secret_write"},
	"privileged_pod_create/positive_upgrade_image_job_by_person":                         {"job_create"},
	"privileged_pod_create/positive_openshift_installer_like_pod_by_person":              {"pod_sensitive_hostpath_mount"},
	"privileged_pod_create/positive_openshift_operator_token_mounts_root":                {"pod_sensitive_hostpath_mount"},
	"clusterrole_credential_grant/positive_certificate_approval":                         {"role_write_verbs"},
	"system_masters_unknown/negative_break_glass":                                        {"system_credential_unusual_client"}, // break-glass use of super-admin.conf is reported
}

// fixtureEngine is the default set plus testdata/detect/site-lists.yaml,
// a user file that fills the lists shipped empty (threat_source_ips).
func fixtureEngine(t testing.TB) *detect.Engine {
	t.Helper()
	site, err := os.ReadFile(filepath.Join(fixtureDir, "site-lists.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := detect.New(append(defaultSources(t), detect.Source{Name: "site-lists.yaml", Data: site})...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// statelessEngine is fixtureEngine with the stateful rules switched off (by
// a user file, as a site would): single-event fixtures are judged alone,
// and sequences under testdata/detect/<rule>/*.jsonl test the counters.
func statelessEngine(t testing.TB) *detect.Engine {
	t.Helper()
	var b strings.Builder
	b.WriteString("rules:\n")
	for _, r := range fixtureEngine(t).Rules() {
		if r.Threshold != "" {
			b.WriteString("  - id: " + r.ID + "\n    enabled: false\n")
		}
	}
	site, err := os.ReadFile(filepath.Join(fixtureDir, "site-lists.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := detect.New(append(defaultSources(t),
		detect.Source{Name: "site-lists.yaml", Data: site},
		detect.Source{Name: "no-state.yaml", Data: []byte(b.String())})...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestDefaultRuleFixtures runs every testdata/detect/<rule>/ event: a
// positive must match its rule and nothing else but what alsoMatches
// declares, a negative is a near miss that must not match its rule.
func TestDefaultRuleFixtures(t *testing.T) {
	e := statelessEngine(t)
	sev := map[string]detect.Severity{}
	for _, r := range fixtureEngine(t).Rules() {
		sev[r.ID] = r.Severity
	}
	counts := map[string][2]int{}
	for _, f := range loadFixtures(t) {
		t.Run(f.rule+"/"+f.name, func(t *testing.T) {
			res := e.Detect(f.ev, nil)
			c := counts[f.rule]
			switch {
			case strings.HasPrefix(f.name, "positive"):
				c[0]++
				want := append([]string{f.rule}, alsoMatches[f.rule+"/"+f.name]...)
				sort.Strings(want)
				if got := res.IDs(); got != strings.Join(want, ",") {
					t.Errorf("matched %q, want %q", got, strings.Join(want, ","))
				}
				if res.Severity < sev[f.rule] {
					t.Errorf("severity %v, want at least %v", res.Severity, sev[f.rule])
				}
				for _, m := range res.Matches {
					if m.Title == "" {
						t.Errorf("match %s has no title", m.ID)
					}
				}
			case strings.HasPrefix(f.name, "negative"):
				c[1]++
				for _, m := range res.Matches {
					if m.ID == f.rule {
						t.Errorf("near miss matched %s", f.rule)
					}
				}
			default:
				t.Fatalf("fixture name must start with positive or negative")
			}
			counts[f.rule] = c
		})
	}
	for _, sq := range loadSequences(t) {
		c := counts[sq.rule]
		if strings.HasPrefix(sq.name, "positive") {
			c[0]++
		} else {
			c[1]++
		}
		counts[sq.rule] = c
	}
	for id := range sev {
		if c := counts[id]; c[0] == 0 || c[1] == 0 {
			t.Errorf("%s: has %d positive and %d negative fixtures; want at least one of each", id, c[0], c[1])
		}
	}
	dirs, _ := os.ReadDir(fixtureDir)
	for _, d := range dirs {
		if _, ok := sev[d.Name()]; !ok && d.IsDir() {
			t.Errorf("%s: fixture directory for no default rule", filepath.Join(fixtureDir, d.Name()))
		}
	}
}

// TestFixturesAgainstEveryRule checks the other direction: no negative
// fixture trips a different rule by accident (beyond alsoMatches), which
// would make labels noisy.
func TestFixturesAgainstEveryRule(t *testing.T) {
	e := statelessEngine(t)
	for _, f := range loadFixtures(t) {
		if !strings.HasPrefix(f.name, "negative") {
			continue // positives are checked exactly above
		}
		also := alsoMatches[f.rule+"/"+f.name]
		for _, m := range e.Detect(f.ev, nil).Matches {
			if m.ID != f.rule && !slices.Contains(also, m.ID) {
				t.Errorf("%s/%s: also matched %s", f.rule, f.name, m.ID)
			}
		}
	}
}

// sequence is a testdata/detect/<rule>/*.jsonl file: events fed in order to
// a fresh engine.
type sequence struct {
	rule, name string
	evs        []map[string]any
}

func loadSequences(t testing.TB) []sequence {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(fixtureDir, "*", "*.jsonl"))
	sort.Strings(paths)
	var out []sequence
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sq := sequence{rule: filepath.Base(filepath.Dir(p)), name: strings.TrimSuffix(filepath.Base(p), ".jsonl")}
		for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			ev, err := decodeEvent([]byte(line))
			if err != nil {
				t.Fatalf("%s:%d: %v", p, i+1, err)
			}
			sq.evs = append(sq.evs, ev)
		}
		out = append(out, sq)
	}
	return out
}

// TestStatefulFixtures feeds each sequence to a fresh engine: in a positive
// the rule fires on the last event and not before; in a negative (a near
// miss: one event short, or spread past the window) it never fires.
func TestStatefulFixtures(t *testing.T) {
	seqs := loadSequences(t)
	if len(seqs) == 0 {
		t.Fatal("no sequences")
	}
	for _, sq := range seqs {
		t.Run(sq.rule+"/"+sq.name, func(t *testing.T) {
			e := fixtureEngine(t)
			for i, ev := range sq.evs {
				fired := false
				for _, m := range e.Detect(ev, nil).Matches {
					fired = fired || m.ID == sq.rule
				}
				last := i == len(sq.evs)-1
				if want := last && strings.HasPrefix(sq.name, "positive"); fired != want {
					t.Fatalf("event %d of %d: fired=%v, want %v", i+1, len(sq.evs), fired, want)
				}
			}
		})
	}
}
