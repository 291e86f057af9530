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

// setOp is one add or replace operation of a JSON patch, the operations
// that put a value in place, with its path cut into its last segments.
type setOp struct {
	path, last, rest, parent string
	val                      any
}

// anySet reports whether fn holds for some add or replace operation of ops.
func anySet(ops []any, fn func(o setOp) bool) bool {
	for _, x := range ops {
		op, _ := x.(map[string]any)
		switch str(op, "op") {
		case "add", "replace":
		default:
			continue
		}
		o := setOp{val: op["value"]}
		o.path, _ = op["path"].(string)
		o.last, o.rest = cutLast(o.path)
		o.parent, _ = cutLast(o.rest)
		if fn(o) {
			return true
		}
	}
	return false
}

// walkPatchHostPaths is a walker over the event itself (its patch
// operations): every host path an add or replace operation introduces.
func walkPatchHostPaths(ev map[string]any, l leaf) bool {
	return anySet(patchOps(ev), func(o setOp) bool {
		switch {
		case o.last == "path" && o.parent == "hostPath":
			if hostPathLeaf(o.val, l) {
				return true
			}
		case o.last == "hostPath":
			if hostPathLeaf(obj(asMap(o.val), "hostPath")["path"], l) {
				return true
			}
			if hostPathLeaf(asMap(o.val)["path"], l) {
				return true
			}
		case o.last == "volumes":
			vols, _ := o.val.([]any)
			for _, x := range vols {
				if hostPathLeaf(obj(asMap(x), "hostPath")["path"], l) {
					return true
				}
			}
		case o.parent == "volumes":
			if hostPathLeaf(obj(asMap(o.val), "hostPath")["path"], l) {
				return true
			}
		default:
			if m := asMap(o.val); m != nil && nestedSpecWalk(m, walkHostPaths, l, 0) {
				return true
			}
		}
		return false
	})
}

// walkPatchSpecs is a walker over the event itself (its patch
// operations): it puts to w, as a pod spec, what each add or replace
// operation puts in place: a container list, a container, a container's
// image, securityContext, capabilities or added capability, or a spec
// further up (a template replaced whole). A sidecar, an image swap or an
// added capability by JSON patch is then judged as in a whole spec.
func walkPatchSpecs(w walker) walker {
	return func(ev map[string]any, l leaf) bool {
		return anySet(patchOps(ev), func(o setOp) bool {
			_, prest := cutLast(o.rest)
			gp, gprest := cutLast(prest)
			ggp, _ := cutLast(gprest) // the container list of /spec/containers/0/args/1
			one := func(c map[string]any) bool {
				return w(map[string]any{"containers": []any{c}}, l)
			}
			switch {
			case isContainerList(o.last):
				if cs, ok := o.val.([]any); ok {
					return w(map[string]any{"containers": cs}, l)
				}
			case isContainerList(o.parent):
				if c := asMap(o.val); c != nil {
					return one(c)
				}
			case o.last == "image" && isContainerList(gp):
				return one(map[string]any{"image": o.val})
			case (o.last == "command" || o.last == "args") && isContainerList(gp):
				return one(map[string]any{o.last: o.val})
			case (o.parent == "command" || o.parent == "args") && isContainerList(ggp):
				return one(map[string]any{o.parent: []any{o.val}})
			case o.last == "securityContext" && isContainerList(gp):
				return one(map[string]any{"securityContext": o.val})
			case o.last == "capabilities" && o.parent == "securityContext":
				return one(map[string]any{"securityContext": map[string]any{"capabilities": o.val}})
			case o.last == "add" && o.parent == "capabilities":
				return one(map[string]any{"securityContext": map[string]any{"capabilities": map[string]any{"add": o.val}}})
			case o.parent == "add" && gp == "capabilities":
				return one(map[string]any{"securityContext": map[string]any{"capabilities": map[string]any{"add": []any{o.val}}}})
			default:
				if m := asMap(o.val); m != nil {
					return nestedSpecWalk(m, w, l, 0)
				}
			}
			return false
		})
	}
}

// patchFlag reports a pod spec boolean (hostPID, hostNetwork, hostIPC) an
// add or replace operation sets, absent when none does.
func patchFlag(ev map[string]any, key string) value {
	var v value
	anySet(patchOps(ev), func(o setOp) bool {
		if o.last == key {
			v = scalarOf(o.val)
			return true
		}
		if m := asMap(o.val); m != nil {
			v = nestedSpecScalar(m, key, 0)
		}
		return v.kind != kindAbsent
	})
	return v
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
