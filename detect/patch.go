package detect

// JSON patch (RFC 6902) bodies carry no whole pod spec: a patch that adds a
// hostPath volume or turns on hostPID to a running Deployment is as much a
// node escape as a new pod with them. These helpers read such operations
// for pod.hostPaths and the host-namespace flags, reasoning from the
// path's tail as patchPrivileged does.

// patchOps returns the operations of a JSON patch body on a pod-bearing
// resource, or nil.
func patchOps(ev map[string]any) []any {
	ops, _ := body(ev).([]any)
	if ops == nil || podKindForResource(str(obj(ev, "objectRef"), "resource")) == "" {
		return nil
	}
	return ops
}

// walkPatchHostPaths is a walker over the event itself (its patch
// operations): every host path an add or replace operation introduces.
func walkPatchHostPaths(ev map[string]any, l leaf) bool {
	for _, o := range patchOps(ev) {
		op, _ := o.(map[string]any)
		switch str(op, "op") {
		case "add", "replace":
		default:
			continue
		}
		path, _ := op["path"].(string)
		val := op["value"]
		last, rest := cutLast(path)
		parent, _ := cutLast(rest)
		switch {
		case last == "path" && parent == "hostPath":
			if v := scalarOf(val); v.kind == kindString && l.leaf(v) {
				return true
			}
		case last == "hostPath":
			if v := scalarOf(obj(asMap(val), "hostPath")["path"]); v.kind == kindString && l.leaf(v) {
				return true
			}
			if v := scalarOf(asMap(val)["path"]); v.kind == kindString && l.leaf(v) {
				return true
			}
		case last == "volumes":
			vols, _ := val.([]any)
			for _, x := range vols {
				if v := scalarOf(obj(asMap(x), "hostPath")["path"]); v.kind == kindString && l.leaf(v) {
					return true
				}
			}
		case parent == "volumes":
			if v := scalarOf(obj(asMap(val), "hostPath")["path"]); v.kind == kindString && l.leaf(v) {
				return true
			}
		default:
			if m := asMap(val); m != nil && nestedSpecWalk(m, walkHostPaths, l, 0) {
				return true
			}
		}
	}
	return false
}

// patchFlag reports a pod spec boolean (hostPID, hostNetwork, hostIPC) an
// add or replace operation sets, absent when none does.
func patchFlag(ev map[string]any, key string) value {
	for _, o := range patchOps(ev) {
		op, _ := o.(map[string]any)
		switch str(op, "op") {
		case "add", "replace":
		default:
			continue
		}
		path, _ := op["path"].(string)
		last, _ := cutLast(path)
		if last == key {
			return scalarOf(op["value"])
		}
		if m := asMap(op["value"]); m != nil {
			if v := nestedSpecScalar(m, key, 0); v.kind != kindAbsent {
				return v
			}
		}
	}
	return value{}
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// nestedSpecWalk applies w to m and to the pod specs below it (spec,
// template, jobTemplate), depth-bounded like nestedSpecPrivileged.
func nestedSpecWalk(m map[string]any, w walker, l leaf, depth int) bool {
	if w(m, l) {
		return true
	}
	if depth >= 5 {
		return false
	}
	for _, k := range [...]string{"spec", "template", "jobTemplate"} {
		if c := obj(m, k); c != nil && nestedSpecWalk(c, w, l, depth+1) {
			return true
		}
	}
	return false
}

func nestedSpecScalar(m map[string]any, key string, depth int) value {
	if v := scalarOf(m[key]); v.kind != kindAbsent {
		return v
	}
	if depth >= 5 {
		return value{}
	}
	for _, k := range [...]string{"spec", "template", "jobTemplate"} {
		if c := obj(m, k); c != nil {
			if v := nestedSpecScalar(c, key, depth+1); v.kind != kindAbsent {
				return v
			}
		}
	}
	return value{}
}
