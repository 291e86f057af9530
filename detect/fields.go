package detect

import "strings"

// field is one entry of the only table that maps rule field names to event
// data. Rule loading, evaluation, the README and the tests all read this
// table, so a field cannot be documented without existing or vice versa.
type field struct {
	name string
	typ  string // string, number, bool or list (a list matches if any element does)
	// arg names the bracketed argument the field takes ("annotations[key]");
	// empty for plain fields.
	arg  string
	desc string
	// costly fields walk request bodies or parse text; blocks test them
	// after cheap ones.
	costly bool
	// body fields read request or response bodies, which the audit policy
	// logs only at level Request or above.
	body bool
	// recurs marks fields that describe who asked and how the request
	// was answered (user, client addresses, agent, stage, code): values
	// a client repeats request after request, so rules reading only these
	// are judged once per combination (see requesterMemo).
	recurs bool
	get    func(ev map[string]any, arg string) value
	// pair, when set, gives a composite field's parts, which counters hash
	// without building the joined text.
	pair func(ev map[string]any) (string, string)
}

// The walkers of JSON patch bodies for the container fields.
var (
	patchCommands     = walkPatchSpecs(walkCommands)
	patchProfiles     = walkPatchSpecs(walkSecurityProfiles)
	patchImages       = walkPatchSpecs(walkImages)
	patchImageRepos   = walkPatchSpecs(walkImageRepos)
	patchRegistries   = walkPatchSpecs(walkImageRegistries)
	patchCapabilities = walkPatchSpecs(walkCapabilities)
)

// specOrPatch walks the pod spec of the body, or, for a JSON patch body,
// what its operations put in place.
func specOrPatch(ev map[string]any, spec, patch walker) value {
	if s := podSpec(ev); s != nil {
		return walkValue(s, spec)
	}
	if patchOps(ev) != nil {
		return walkValue(ev, patch)
	}
	return value{}
}

var fieldTable = []field{
	{name: "verb", typ: "string", desc: "Request verb: get, list, watch, create, update, patch, delete, deletecollection (the authorization verbs bind, escalate and impersonate do not normally appear).",
		get: func(ev map[string]any, _ string) value { return scalarOf(ev["verb"]) }},
	{name: "stage", recurs: true, typ: "string", desc: "Audit stage: RequestReceived, ResponseStarted, ResponseComplete or Panic.",
		get: func(ev map[string]any, _ string) value { return scalarOf(ev["stage"]) }},
	{name: "level", recurs: true, typ: "string", desc: "Audit level the policy chose: Metadata, Request or RequestResponse (bodies exist only at the last two).",
		get: func(ev map[string]any, _ string) value { return scalarOf(ev["level"]) }},
	{name: "requestURI", typ: "string", desc: "Request path with query string, e.g. /api/v1/secrets?limit=500.",
		get: func(ev map[string]any, _ string) value { return scalarOf(ev["requestURI"]) }},
	{name: "requestPath", typ: "string", desc: "requestURI without its query string, e.g. /api/v1/secrets: what an exception by path tests, so that a query cannot end in an allowed path.",
		get: func(ev map[string]any, _ string) value {
			uri, _ := ev["requestURI"].(string)
			if i := strings.IndexByte(uri, '?'); i >= 0 {
				uri = uri[:i]
			}
			if uri == "" {
				return value{}
			}
			return value{scalar: scalar{kind: kindString, s: uri}}
		}},
	{name: "userAgent", recurs: true, typ: "string", desc: "Client user agent as sent (client-controlled, never proof of identity).",
		get: func(ev map[string]any, _ string) value { return scalarOf(ev["userAgent"]) }},
	{name: "user.username", recurs: true, typ: "string", desc: "Authenticated user, e.g. system:serviceaccount:ns:name, system:node:worker-1, system:anonymous.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "user")["username"]) }},
	{name: "user.groups", recurs: true, typ: "list", desc: "Groups of the authenticated user, e.g. system:authenticated, system:masters.",
		get: func(ev map[string]any, _ string) value { return listOf(obj(ev, "user")["groups"]) }},
	{name: "impersonatedUser.username", recurs: true, typ: "string", desc: "User the request impersonated (absent without impersonation).",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "impersonatedUser")["username"]) }},
	{name: "impersonatedUser.groups", recurs: true, typ: "list", desc: "Groups the request impersonated.",
		get: func(ev map[string]any, _ string) value { return listOf(obj(ev, "impersonatedUser")["groups"]) }},
	{name: "sourceIPs", recurs: true, typ: "list", desc: "Addresses as the API server recorded them: X-Forwarded-For entries (client-supplied), X-Real-Ip, then the connection's address last. Prefer sourceIP.",
		get: func(ev map[string]any, _ string) value { return listOf(ev["sourceIPs"]) }},
	{name: "objectRef.resource", typ: "string", desc: "Resource (plural, lower case), e.g. pods, secrets, clusterrolebindings.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "objectRef")["resource"]) }},
	{name: "objectRef.subresource", typ: "string", desc: "Subresource, e.g. exec, attach, status, token, ephemeralcontainers.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "objectRef")["subresource"]) }},
	{name: "objectRef.namespace", typ: "string", desc: "Namespace; absent for cluster-scoped objects and for requests across all namespaces.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "objectRef")["namespace"]) }},
	{name: "objectRef.name", typ: "string", desc: "Object name; absent for list, watch and create of most kinds.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "objectRef")["name"]) }},
	{name: "objectRef.apiGroup", typ: "string", desc: "API group; absent for the core group.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "objectRef")["apiGroup"]) }},
	{name: "objectRef.apiVersion", typ: "string", desc: "API version of the object, e.g. v1.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "objectRef")["apiVersion"]) }},
	{name: "responseStatus.code", recurs: true, typ: "number", desc: "HTTP status code of the response (supports gt, gte, lt, lte).",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "responseStatus")["code"]) }},
	{name: "responseStatus.reason", typ: "string", desc: "Machine-readable failure reason, e.g. Forbidden, NotFound.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "responseStatus")["reason"]) }},
	{name: "responseStatus.message", typ: "string", desc: "Human-readable failure message, e.g. users \"admin\" is forbidden: User \"bob\" cannot impersonate resource \"users\" ...; use with regex.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "responseStatus")["message"]) }},
	{name: "annotations", arg: "key", typ: "string", desc: "Audit annotation by key, e.g. annotations[authorization.k8s.io/decision] (allow or forbid).",
		get: func(ev map[string]any, key string) value { return scalarOf(obj(ev, "annotations")[key]) }},
	{name: "requestObject.kind", typ: "string", desc: "Kind of the request body, e.g. Pod, DeleteOptions; absent at Metadata level and usually for patches.",
		get: func(ev map[string]any, _ string) value { return scalarOf(obj(ev, "requestObject")["kind"]) }},
	{name: "pod.privileged", typ: "bool", costly: true, body: true, desc: "True if any container, initContainer or ephemeralContainer in the body has securityContext.privileged: true, or the pod or a container is a Windows HostProcess one (securityContext.windowsOptions.hostProcess: true). The body is requestObject (else responseObject); the pod spec is found by its kind (Pod, workload templates, CronJob, PodTemplate, OpenShift's DeploymentConfig, Argo Rollouts' Rollout, EphemeralContainers) or, without kind, by objectRef.resource; JSON patch operations are inspected too. Absent when the event carries no pod-bearing body.",
		get: func(ev map[string]any, _ string) value { return podPrivileged(ev) }},
	{name: "rbac.verbs", typ: "list", costly: true, body: true, desc: "Verbs granted by the rules of a Role or ClusterRole body (kind, or objectRef.resource roles/clusterroles). For a JSON patch body, the verbs its operations add (a whole rules list, one rule, a verbs list or one verb).",
		get: func(ev map[string]any, _ string) value { return rbacVerbs(ev) }},
	{name: "rbac.resources", typ: "list", costly: true, body: true, desc: "Resources (with subresource, e.g. pods/exec, nodes/proxy) named by the rules of a Role or ClusterRole body, like rbac.verbs. A rule file cannot tie a verb to a resource of the same RBAC rule; conditions on both may be met by different rules of one role.",
		get: func(ev map[string]any, _ string) value { return rbacField(ev, "resources") }},
	{name: "sourceIP", recurs: true, typ: "string", desc: "The client address: the last of sourceIPs (the connection the API server accepted), stepping back over addresses in the trusted_proxies list to the first that is not one. Header entries a client writes cannot change it. Use with the cidr, cidr_list and public operators.",
		get: func(ev map[string]any, _ string) value { return sourceProxies(nil).sourceIP(ev) }},
	{name: "peerIP", recurs: true, typ: "string", desc: "The last of sourceIPs: the address the API server's connection came from (a load balancer, when one fronts it).",
		get: func(ev map[string]any, _ string) value { return peerIP(ev) }},
	{name: "forwardedIPs", recurs: true, typ: "list", desc: "The entries of sourceIPs before sourceIP: addresses the client claims through X-Forwarded-For or X-Real-Ip, which nothing vouches for. Absent for a direct connection.",
		get: func(ev map[string]any, _ string) value { return sourceProxies(nil).forwarded(ev) }},
	{name: "query", arg: "param", typ: "list", costly: true, desc: "Decoded values of a query parameter of requestURI, e.g. query[command] of an exec, query[container], query[fieldSelector].",
		get: func(ev map[string]any, p string) value { return queryValue(ev, p) }},
	{name: "exec.command", typ: "list", costly: true, desc: "Command words of an exec: the decoded command query parameters of requestURI (kubectl sends one per word), else the command list of a PodExecOptions request body. Metadata level suffices for the first.",
		get: func(ev map[string]any, _ string) value { return execCommand(ev) }},
	{name: "body", arg: "path", typ: "list", costly: true, body: true, desc: "A value inside the request body (requestObject, else responseObject) by dotted path, e.g. body[spec.type], body[roleRef.name], body[spec.signerName]. A list met on the way yields the rest of the path in each element (body[subjects.name], body[webhooks.clientConfig.service.namespace]; elements without it hold nothing); a mapping at the end yields its keys and values (body[data]); a scalar is a one-element list.",
		get: func(ev map[string]any, p string) value { return bodyPath(ev, p) }},
	{name: "body.paths", typ: "list", costly: true, body: true, desc: "Leaf paths the request body sets, dotted, list positions dropped (webhooks.clientConfig.caBundle, spec.unschedulable); a JSON patch gives the paths of its operations the same way. With every, a rule tells a patch that only touches some fields (a CA bundle rotation, a cordon) from one that rewrites the object.",
		get: func(ev map[string]any, _ string) value { return bodyPaths(ev) }},
	{name: "body.label", arg: "key", typ: "string", costly: true, body: true, desc: "A label the request body sets, by key (dots allowed): metadata.labels of an object or merge patch, or what a JSON patch add or replace puts there (/metadata/labels/<key>, the whole /metadata/labels map, or /metadata); e.g. body.label[pod-security.kubernetes.io/enforce].",
		get: func(ev map[string]any, key string) value { return bodyLabel(ev, key) }},
	{name: "object", typ: "string", desc: "objectRef.namespace/objectRef.name, or the name of a cluster-scoped object; absent without a name. A counter's distinct field that tells one name in two namespaces apart.",
		get: func(ev map[string]any, _ string) value { return objectKey(ev) }, pair: objectParts},
	{name: "user.ownNamespace", typ: "bool", desc: "True when user.username is a service account of objectRef.namespace (system:serviceaccount:<namespace>:<name>): a controller working in its own namespace. False for a service account of another namespace, or for a request without a namespace; absent when the user is no service account.",
		get: func(ev map[string]any, _ string) value { return ownNamespace(ev) }},
	{name: "rbac.foreignServiceAccount", typ: "bool", costly: true, body: true, desc: "True when a RoleBinding body (or a JSON patch value) binds a ServiceAccount of another namespace than its own: a workload identity gaining rights where it does not run. False when its service accounts are all of its namespace; absent for ClusterRoleBindings and bodies without a ServiceAccount subject.",
		get: func(ev map[string]any, _ string) value { return foreignServiceAccount(ev) }},
	{name: "pod.ownNodeMirror", typ: "bool", costly: true, body: true, desc: "True when the body is a mirror pod (annotation kubernetes.io/config.mirror) whose spec.nodeName is the node of the kubelet sending it (user system:node:<name>): the static pods a kubelet legitimately reports, privileged or not. Absent without a pod body.",
		get: func(ev map[string]any, _ string) value { return ownMirrorPod(ev) }},
	{name: "pod.images", typ: "list", costly: true, body: true, desc: "Images of every container, initContainer and ephemeralContainer of a pod-bearing body (found as for pod.privileged; for a JSON patch body, the images its operations put in place: a container list, a container, an image).",
		get: func(ev map[string]any, _ string) value { return specOrPatch(ev, walkImages, patchImages) }},
	{name: "pod.imageRepos", typ: "list", costly: true, body: true, desc: "pod.images without tag or digest (docker.io/library/nginx:1.27@sha256:… gives docker.io/library/nginx), for allow- and deny-lists that ignore versions.",
		get: func(ev map[string]any, _ string) value { return specOrPatch(ev, walkImageRepos, patchImageRepos) }},
	{name: "pod.imageRegistries", typ: "list", costly: true, body: true, desc: "The registry host of each of pod.images, as the container runtime reads the reference: the part before the first / when it has a dot or a colon or is localhost, without port or IPv6 brackets ([2001:db8::1]:5000/app gives 2001:db8::1), else docker.io. With public, an image pulled straight from an internet address, IPv4 or IPv6.",
		get: func(ev map[string]any, _ string) value { return specOrPatch(ev, walkImageRegistries, patchRegistries) }},
	{name: "pod.capabilities", typ: "list", costly: true, body: true, desc: "Linux capabilities added by any container's securityContext.capabilities.add (for a JSON patch body, those its operations add), as runtimes read them: upper case, without CAP_ (cap_sys_admin is SYS_ADMIN).",
		get: func(ev map[string]any, _ string) value { return specOrPatch(ev, walkCapabilities, patchCapabilities) }},
	{name: "pod.hostPaths", typ: "list", costly: true, body: true, desc: "Host paths mounted by the pod's hostPath volumes, cleaned as the kubelet mounts them (// and /. are /); for a JSON patch body, the host paths its operations add.",
		get: func(ev map[string]any, _ string) value {
			if spec := podSpec(ev); spec != nil {
				return walkValue(spec, walkHostPaths)
			}
			return walkValue(ev, walkPatchHostPaths)
		}},
	{name: "pod.runAsUser", typ: "list", costly: true, body: true, desc: "runAsUser of the pod's and of every container's securityContext (0 is root).",
		get: func(ev map[string]any, _ string) value { return walkValue(podSpec(ev), walkRunAsUser) }},
	{name: "pod.runAsNonRoot", typ: "list", costly: true, body: true, desc: "runAsNonRoot of the pod's and of every container's securityContext.",
		get: func(ev map[string]any, _ string) value { return walkValue(podSpec(ev), walkRunAsNonRoot) }},
	{name: "pod.commands", typ: "list", costly: true, body: true, desc: "Every word of the command and args of every container of a pod-bearing body (for a JSON patch body, those its operations put in place), e.g. a shell line of sh -c.",
		get: func(ev map[string]any, _ string) value { return specOrPatch(ev, walkCommands, patchCommands) }},
	{name: "pod.securityProfiles", typ: "list", costly: true, body: true, desc: "Isolation profiles of the pod's and every container's securityContext as key:value: seccompProfile:Unconfined, appArmorProfile:RuntimeDefault, procMount:Unmasked.",
		get: func(ev map[string]any, _ string) value { return specOrPatch(ev, walkSecurityProfiles, patchProfiles) }},
	{name: "pod.hostNetwork", typ: "bool", costly: true, body: true, desc: "spec.hostNetwork of a pod-bearing body, or the value a JSON patch sets.",
		get: func(ev map[string]any, _ string) value { return podFlag(ev, "hostNetwork") }},
	{name: "pod.hostPID", typ: "bool", costly: true, body: true, desc: "spec.hostPID of a pod-bearing body, or the value a JSON patch sets.",
		get: func(ev map[string]any, _ string) value { return podFlag(ev, "hostPID") }},
	{name: "pod.hostIPC", typ: "bool", costly: true, body: true, desc: "spec.hostIPC of a pod-bearing body, or the value a JSON patch sets.",
		get: func(ev map[string]any, _ string) value { return podFlag(ev, "hostIPC") }},
	{name: "pod.serviceAccountName", typ: "string", costly: true, body: true, desc: "spec.serviceAccountName of a pod-bearing body.",
		get: func(ev map[string]any, _ string) value { return podScalar(ev, "serviceAccountName") }},
}

// podFlag is podScalar, falling back to a JSON patch's operations.
func podFlag(ev map[string]any, key string) value {
	if spec := podSpec(ev); spec != nil {
		return scalarOf(spec[key])
	}
	return patchFlag(ev, key)
}

func podScalar(ev map[string]any, key string) value {
	return scalarOf(podSpec(ev)[key])
}

// lookupField resolves a rule key such as "verb" or
// "annotations[authorization.k8s.io/decision]" to its table entry and argument.
func lookupField(key string) (*field, string, bool) {
	name, arg, hasArg := key, "", false
	if i := strings.IndexByte(key, '['); i > 0 && strings.HasSuffix(key, "]") {
		name, arg, hasArg = key[:i], key[i+1:len(key)-1], true
		if len(arg) >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[len(arg)-1] == arg[0] {
			arg = arg[1 : len(arg)-1]
		}
	}
	for i := range fieldTable {
		f := &fieldTable[i]
		if f.name != name {
			continue
		}
		if (f.arg != "") != hasArg || (hasArg && arg == "") {
			return nil, "", false
		}
		return f, arg, true
	}
	return nil, "", false
}

// FieldInfo documents one field usable in rule conditions.
type FieldInfo struct {
	// Name as written in a condition; fields with an argument show it as
	// name[<arg>].
	Name        string
	Type        string
	Description string
}

// Fields lists every condition field, in table order, for documentation.
func Fields() []FieldInfo {
	out := make([]FieldInfo, len(fieldTable))
	for i, f := range fieldTable {
		out[i] = FieldInfo{Name: f.displayName(), Type: f.typ, Description: f.desc}
	}
	return out
}

func (f *field) displayName() string {
	if f.arg != "" {
		return f.name + "[<" + f.arg + ">]"
	}
	return f.name
}

func fieldNames() string {
	names := make([]string, len(fieldTable))
	for i := range fieldTable {
		names[i] = fieldTable[i].displayName()
	}
	return strings.Join(names, ", ")
}
