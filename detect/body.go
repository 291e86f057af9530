package detect

import "strings"

// body returns the object the request wrote: requestObject, or
// responseObject when the policy logged only the response. Either may be a
// JSON patch array, a string or anything else.
func body(ev map[string]any) any {
	if b, ok := ev["requestObject"]; ok && b != nil {
		return b
	}
	return ev["responseObject"]
}

// podKindForResource names the kind whose pod spec a kind-less body (a merge
// or strategic-merge patch) of that resource carries.
func podKindForResource(resource string) string {
	switch resource {
	case "pods":
		return "Pod"
	case "deployments":
		return "Deployment"
	case "daemonsets":
		return "DaemonSet"
	case "statefulsets":
		return "StatefulSet"
	case "replicasets":
		return "ReplicaSet"
	case "replicationcontrollers":
		return "ReplicationController"
	case "jobs":
		return "Job"
	case "cronjobs":
		return "CronJob"
	case "podtemplates":
		return "PodTemplate"
	case "deploymentconfigs":
		return "DeploymentConfig"
	case "rollouts":
		return "Rollout"
	}
	return ""
}

// podSpecOf finds the pod spec inside an object of the given kind. ok is
// false when the kind carries no pod spec; spec may still be nil when the
// body (typically a patch) does not touch it.
func podSpecOf(b map[string]any, kind string) (spec map[string]any, ok bool) {
	switch kind {
	case "Pod":
		return obj(b, "spec"), true
	case "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController", "Job",
		// OpenShift's DeploymentConfig and Argo Rollouts' Rollout carry a
		// Deployment's template: a pod spec written through them runs as
		// surely as one written through a Deployment.
		"DeploymentConfig", "Rollout":
		return obj(obj(obj(b, "spec"), "template"), "spec"), true
	case "CronJob":
		return obj(obj(obj(obj(obj(b, "spec"), "jobTemplate"), "spec"), "template"), "spec"), true
	case "PodTemplate":
		return obj(obj(b, "template"), "spec"), true
	case "EphemeralContainers":
		// Body of pods/ephemeralcontainers before Kubernetes 1.22: the list
		// sits at the top level.
		return b, true
	}
	return nil, false
}

var containerLists = [...]string{"containers", "initContainers", "ephemeralContainers"}

func containerPrivileged(c any) bool {
	m, _ := c.(map[string]any)
	return securityContextPrivileged(obj(m, "securityContext"))
}

// securityContextPrivileged: privileged: true, or a Windows HostProcess
// container (windowsOptions.hostProcess: true), which runs as a process on
// the node with its full access: Pod Security counts both as privileged.
// A pod's securityContext can set only the second.
func securityContextPrivileged(sc map[string]any) bool {
	if p, _ := sc["privileged"].(bool); p {
		return true
	}
	hp, _ := obj(sc, "windowsOptions")["hostProcess"].(bool)
	return hp
}

func containersPrivileged(l any) bool {
	cs, _ := l.([]any)
	for _, c := range cs {
		if containerPrivileged(c) {
			return true
		}
	}
	return false
}

func specPrivileged(spec map[string]any) bool {
	return anySecurityContext(spec, securityContextPrivileged)
}

// podPrivileged backs the pod.privileged field.
func podPrivileged(ev map[string]any) value {
	resource := str(obj(ev, "objectRef"), "resource")
	switch b := body(ev).(type) {
	case map[string]any:
		kind := str(b, "kind")
		if kind == "" {
			kind = podKindForResource(resource)
		}
		spec, ok := podSpecOf(b, kind)
		if !ok {
			return value{}
		}
		return value{scalar: boolValue(specPrivileged(spec))}
	case []any:
		if podKindForResource(resource) == "" {
			return value{}
		}
		return value{scalar: boolValue(patchPrivileged(b, resource))}
	}
	return value{}
}

// patchPrivileged inspects RFC 6902 JSON patch operations. Paths differ per
// kind, so it reasons from the path's tail: what the value replaces (a
// privileged flag, a securityContext, a container, a container list, or a
// larger object that may hold a pod spec).
func patchPrivileged(ops []any, resource string) bool {
	return anySet(ops, func(o setOp) bool {
		switch {
		case o.last == "privileged" && o.parent == "securityContext":
			if p, _ := o.val.(bool); p {
				return true
			}
		case o.last == "hostProcess" && o.parent == "windowsOptions":
			if p, _ := o.val.(bool); p {
				return true
			}
		case o.last == "windowsOptions":
			if hp, _ := asMap(o.val)["hostProcess"].(bool); hp {
				return true
			}
		case o.last == "securityContext":
			if securityContextPrivileged(asMap(o.val)) {
				return true
			}
		case isContainerList(o.last):
			if containersPrivileged(o.val) {
				return true
			}
		case isContainerList(o.parent):
			if containerPrivileged(o.val) {
				return true
			}
		case o.path == "":
			if m, ok := o.val.(map[string]any); ok {
				kind := str(m, "kind")
				if kind == "" {
					kind = podKindForResource(resource)
				}
				if spec, ok := podSpecOf(m, kind); ok && specPrivileged(spec) {
					return true
				}
			}
		default:
			if m, ok := o.val.(map[string]any); ok && nestedSpecPrivileged(m, 0) {
				return true
			}
		}
		return false
	})
}

// nestedSpecPrivileged looks for a pod spec in a patch value that replaces a
// subtree such as /spec or /spec/template, following only the keys that lead
// to pod specs. Depth is bounded so hostile input cannot recurse deeply.
func nestedSpecPrivileged(m map[string]any, depth int) bool {
	if specPrivileged(m) {
		return true
	}
	if depth >= 5 {
		return false
	}
	for _, k := range [...]string{"spec", "template", "jobTemplate"} {
		if c := obj(m, k); c != nil && nestedSpecPrivileged(c, depth+1) {
			return true
		}
	}
	return false
}

func isContainerList(s string) bool {
	for _, k := range containerLists {
		if s == k {
			return true
		}
	}
	return false
}

// cutLast splits a JSON pointer into its last segment and the rest.
func cutLast(p string) (last, rest string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return p, ""
	}
	return p[i+1:], p[:i]
}

// rbacVerbs backs the rbac.verbs field: the verbs of every rule of a Role or
// ClusterRole body, without copying them; for a JSON patch, the verbs its operations add.
func rbacVerbs(ev map[string]any) value { return rbacField(ev, "verbs") }

// rbacField yields one key (verbs, resources) of every rule of a Role or
// ClusterRole body.
func rbacField(ev map[string]any, key string) value {
	if _, ok := body(ev).([]any); ok {
		switch str(obj(ev, "objectRef"), "resource") {
		case "roles", "clusterroles":
			return walkValue(ev, rbacPatchWalker(key))
		}
		return value{}
	}
	b, _ := body(ev).(map[string]any)
	if b == nil {
		return value{}
	}
	switch str(b, "kind") {
	case "Role", "ClusterRole":
	case "":
		switch str(obj(ev, "objectRef"), "resource") {
		case "roles", "clusterroles":
		default:
			return value{}
		}
	default:
		return value{}
	}
	rules, _ := b["rules"].([]any)
	if len(rules) == 0 {
		return value{}
	}
	return value{scalar: scalar{kind: kindNested}, list: rules, key: key}
}

// rbacPatchWalker returns the walker of one key (verbs, resources) over the
// rules a JSON patch adds to a role: a whole rules list, one rule
// (/rules/-, /rules/2), or that key's list or one element of it
// (/rules/0/verbs, /rules/0/verbs/-).
func rbacPatchWalker(key string) walker {
	if key == "verbs" {
		return walkPatchRuleVerbs
	}
	return walkPatchRuleResources
}

func walkPatchRuleVerbs(ev map[string]any, l leaf) bool { return walkPatchRules(ev, "verbs", l) }
func walkPatchRuleResources(ev map[string]any, l leaf) bool {
	return walkPatchRules(ev, "resources", l)
}

func walkPatchRules(ev map[string]any, key string, l leaf) bool {
	ops, _ := body(ev).([]any)
	each := func(list any) bool {
		xs, _ := list.([]any)
		for _, x := range xs {
			if v := scalarIn(x); v.kind != kindAbsent && l.leaf(v) {
				return true
			}
		}
		return false
	}
	return anySet(ops, func(o setOp) bool {
		switch {
		case o.path == "/rules":
			rules, _ := o.val.([]any)
			for _, r := range rules {
				m, _ := r.(map[string]any)
				if each(m[key]) {
					return true
				}
			}
		case o.rest == "/rules":
			m, _ := o.val.(map[string]any)
			if each(m[key]) {
				return true
			}
		case o.last == key:
			if each(o.val) {
				return true
			}
		case o.parent == key:
			if v := scalarIn(o.val); v.kind != kindAbsent && l.leaf(v) {
				return true
			}
		}
		return false
	})
}
