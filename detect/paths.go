package detect

import (
	"sort"
	"strings"
)

// bodyPaths backs body.paths: the leaf paths a request body sets, so a
// rule can tell a patch that only rotates a CA bundle or cordons a node
// from one that rewrites the object. Paths are dotted, list positions
// dropped (webhooks.clientConfig.caBundle); JSON patch operations give
// their path the same way (/webhooks/0/clientConfig/caBundle becomes
// webhooks.clientConfig.caBundle). The list allocates; the field is only
// read for events the cheap tests of a rule already admitted.
func bodyPaths(ev map[string]any) value {
	var out []string
	switch b := body(ev).(type) {
	case map[string]any:
		collectPaths(b, "", &out)
	case []any:
		for _, op := range b {
			m, _ := op.(map[string]any)
			p, _ := m["path"].(string)
			if p == "" {
				continue
			}
			var segs []string
			for _, s := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
				if s == "-" || (s != "" && strings.Trim(s, "0123456789") == "") {
					continue
				}
				segs = append(segs, strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~"))
			}
			out = append(out, strings.Join(segs, "."))
		}
	}
	if len(out) == 0 {
		return value{}
	}
	sort.Strings(out)
	l := make([]any, 0, len(out))
	for i, s := range out {
		if i == 0 || s != out[i-1] {
			l = append(l, s)
		}
	}
	return value{scalar: scalar{kind: kindList}, list: l}
}

func collectPaths(x any, prefix string, out *[]string) {
	switch t := x.(type) {
	case map[string]any:
		if len(t) == 0 && prefix != "" {
			*out = append(*out, prefix)
		}
		for k, v := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			collectPaths(v, p, out)
		}
	case []any:
		if len(t) == 0 && prefix != "" {
			*out = append(*out, prefix)
		}
		for _, v := range t {
			collectPaths(v, prefix, out)
		}
	default:
		if prefix != "" {
			*out = append(*out, prefix)
		}
	}
}

// objectKey backs object: namespace/name, or the name of a cluster-scoped
// object, so counters keyed on it tell one secret name in two namespaces
// apart.
func objectKey(ev map[string]any) value {
	o := obj(ev, "objectRef")
	name, _ := o["name"].(string)
	if name == "" {
		return value{}
	}
	if ns, _ := o["namespace"].(string); ns != "" {
		return value{scalar: scalar{kind: kindString, s: ns + "/" + name}}
	}
	return value{scalar: scalar{kind: kindString, s: name}}
}

// ownMirrorPod backs pod.ownNodeMirror: the body is a mirror pod (the
// kubernetes.io/config.mirror annotation a kubelet sets on the API copy of
// a static pod) bound to the node whose kubelet sends it. Absent without a
// pod body.
func ownMirrorPod(ev map[string]any) value {
	spec := podSpec(ev)
	if spec == nil {
		return value{}
	}
	b, _ := body(ev).(map[string]any)
	ann := obj(obj(b, "metadata"), "annotations")
	_, mirror := ann["kubernetes.io/config.mirror"]
	user, _ := obj(ev, "user")["username"].(string)
	node, isNode := strings.CutPrefix(user, "system:node:")
	nodeName, _ := spec["nodeName"].(string)
	return value{scalar: boolValue(mirror && isNode && node != "" && nodeName == node)}
}

// everyTest holds when the value is present, some element has it and
// every element that has it passes t
// (a scalar is a one-element list).
type everyTest struct{ t test }

type failLeaf struct{ t test }

func (f failLeaf) leaf(v scalar) bool { return !f.t.test(&value{scalar: v}) }

func (e everyTest) test(v *value) bool {
	switch v.kind {
	case kindAbsent:
		return false
	case kindString, kindNumber, kindBool:
		return e.t.test(v)
	}
	// At least one element must hold the value: a JSON patch (a list of
	// operations) or a list whose items lack the path holds none, and
	// "every webhook calls a service in our namespace" must not hold of
	// a body that says nothing about it.
	return elems{anyLeaf{}}.test(v) && !elems{failLeaf(e)}.test(v)
}

func objectParts(ev map[string]any) (string, string) {
	o := obj(ev, "objectRef")
	name, _ := o["name"].(string)
	if name == "" {
		return "", ""
	}
	ns, _ := o["namespace"].(string)
	return ns, name
}

func bodyLabel(ev map[string]any, key string) value {
	switch b := body(ev).(type) {
	case map[string]any:
		return scalarOf(obj(obj(b, "metadata"), "labels")[key])
	case []any:
		esc := strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
		for i := len(b) - 1; i >= 0; i-- { // the last operation on the key wins
			m, _ := b[i].(map[string]any)
			p, _ := m["path"].(string)
			if p == "/metadata/labels/"+esc {
				return scalarOf(m["value"])
			}
			if op, _ := m["op"].(string); op != "add" && op != "replace" {
				continue
			}
			switch p {
			case "/metadata/labels": // the whole label map at once
				if v, ok := asMap(m["value"])[key]; ok {
					return scalarOf(v)
				}
			case "/metadata":
				if v, ok := obj(asMap(m["value"]), "labels")[key]; ok {
					return scalarOf(v)
				}
			}
		}
	}
	return value{}
}

// ownNamespace backs user.ownNamespace: the caller is a service account of
// the namespace the request is about. Absent for callers that are no
// service account, so rules test people and workloads apart.
func ownNamespace(ev map[string]any) value {
	user, _ := obj(ev, "user")["username"].(string)
	rest, ok := strings.CutPrefix(user, "system:serviceaccount:")
	if !ok {
		return value{}
	}
	saNS, _, ok := strings.Cut(rest, ":")
	if !ok || saNS == "" {
		return value{}
	}
	ns, _ := obj(ev, "objectRef")["namespace"].(string)
	return value{scalar: boolValue(ns != "" && ns == saNS)}
}

// foreignServiceAccount backs rbac.foreignServiceAccount: a RoleBinding
// body, or a JSON patch value, names a ServiceAccount subject of another
// namespace than the binding's. Absent for bindings without a namespace
// (ClusterRoleBindings) and for bodies that name no ServiceAccount.
func foreignServiceAccount(ev map[string]any) value {
	ns, _ := obj(ev, "objectRef")["namespace"].(string)
	if ns == "" {
		return value{}
	}
	seen, foreign := false, false
	check := func(x any) {
		m, _ := x.(map[string]any)
		if kind, _ := m["kind"].(string); kind != "ServiceAccount" {
			return
		}
		seen = true
		if sns, _ := m["namespace"].(string); sns != "" && sns != ns {
			foreign = true
		}
	}
	switch b := body(ev).(type) {
	case map[string]any:
		subs, _ := b["subjects"].([]any)
		for _, x := range subs {
			check(x)
		}
	case []any:
		for _, op := range b {
			m, _ := op.(map[string]any)
			switch v := m["value"].(type) {
			case []any:
				for _, x := range v {
					check(x)
				}
			default:
				check(v)
			}
		}
	}
	if !seen {
		return value{}
	}
	return value{scalar: boolValue(foreign)}
}
