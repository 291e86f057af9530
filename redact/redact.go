// Package redact removes secrets from Kubernetes audit events before they
// leave the node.
//
// It fails closed: on a secret-bearing resource, a body it does not
// understand is replaced whole rather than passed through, and what it
// reports is counts by kind, never key names or values. Events about other
// resources are judged from objectRef and each body's kind alone, so they
// cost a few map lookups and no allocation.
package redact

import (
	"encoding/json"
	"io"
	"strings"
)

// lastAppliedKey holds a full copy of the object as kubectl applied it, so a
// Secret's annotation repeats its data in plain text.
const lastAppliedKey = "kubectl.kubernetes.io/last-applied-configuration"

// maxDepth bounds recursion through nested lists and annotations that
// contain annotations; anything deeper is replaced (fail closed). Real
// events nest far less.
const maxDepth = 8

var bodyKeys = [...]string{"requestObject", "responseObject"}

// Redact removes secrets from ev in place and reports what it removed.
// Values of any type are tolerated (wrong type is treated as absent, or
// replaced when it sits where a secret would). Different events may be
// redacted concurrently; one event must not be shared between goroutines.
func (r *Redactor) Redact(ev map[string]any) Report {
	w := walker{r: r}
	var d *door
	resolved := false
	for _, key := range bodyKeys {
		v, ok := ev[key]
		if !ok || v == nil {
			continue
		}
		if !resolved {
			d, resolved = doorForRef(readRef(ev)), true
		}
		if d == nil {
			if m, ok := v.(map[string]any); ok {
				w.foreign(m)
			}
			continue
		}
		if nv, ok := w.owned(d, v); ok {
			ev[key] = nv
		}
	}
	return w.rep
}

// walker carries one event's report and recursion depth. It lives on the
// stack of Redact: doors are data and every call is static, so nothing
// forces it to the heap.
type walker struct {
	r     *Redactor
	rep   Report
	depth int
}

func (w *walker) isMarker(v any) bool {
	s, ok := v.(string)
	return ok && s == w.r.marker
}

// keep reports whether v needs no removal: null and "" carry nothing (and
// null in a merge patch records a deletion worth seeing), and a marker was
// already put there.
func (w *walker) keep(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && (s == "" || s == w.r.marker)
}

// replace fails closed on v. An existing marker is left alone so that
// redacting twice reports nothing the second time.
func (w *walker) replace(v any) (any, bool) {
	if w.isMarker(v) {
		return nil, false
	}
	w.rep.add(KindFailedClosed)
	return w.r.mark, true
}

func (w *walker) replaceIn(m map[string]any, key string) {
	if nv, ok := w.replace(m[key]); ok {
		m[key] = nv
	}
}

// owned handles a body of an event whose objectRef belongs to door d: what
// d does not understand is replaced.
func (w *walker) owned(d *door, v any) (any, bool) {
	switch b := v.(type) {
	case map[string]any:
		k, hasKind := b["kind"]
		kind, isString := k.(string)
		if hasKind && k != nil && !isString {
			return w.replace(v)
		}
		switch {
		case contains(inertKinds, kind):
			// A Status is legitimately `{"status":"Failure"}`; only what
			// sits exactly where a secret would is touched.
			w.object(d, b, false)
		case d.understands(kind):
			w.object(d, b, true)
		default:
			return w.replace(v)
		}
		return nil, false
	case []any:
		if d.patch && w.patch(b) {
			return nil, false
		}
		return w.replace(v)
	case nil:
		return nil, false
	default:
		return w.replace(v)
	}
}

// foreign handles a body of an event no door claims by objectRef: a body
// whose own kind is a door's is redacted as that door's object; any other is
// left as it is, apart from a last-applied annotation recording a door kind.
func (w *walker) foreign(m map[string]any) {
	kind, _ := m["kind"].(string)
	if kind != "" {
		if d := doorForKind(kind); d != nil {
			w.object(d, m, true)
			return
		}
		if kind == genericListKind {
			w.mixedItems(m)
			return
		}
	}
	w.foreignLastApplied(m)
}

// object redacts m as one of d's objects, including any items[] and
// Table rows[].object it wraps. strict replaces a field's parent that is
// not an object; without it such a field is taken to be absent.
func (w *walker) object(d *door, m map[string]any, strict bool) {
	for i := range d.fields {
		w.field(m, &d.fields[i], strict)
	}
	w.lastApplied(d, m)
	w.items(d, m)
	w.rows(d, m)
}

func (w *walker) field(m map[string]any, f *field, strict bool) {
	cur := m
	last := len(f.path) - 1
	for i, key := range f.path {
		v, ok := cur[key]
		if !ok || v == nil {
			return
		}
		if i < last {
			next, ok := v.(map[string]any)
			if !ok {
				if strict {
					w.replaceIn(cur, key)
				}
				return
			}
			cur = next
			continue
		}
		if !f.each {
			if !w.keep(v) {
				cur[key] = w.r.mark
				w.rep.add(f.kind)
			}
			return
		}
		vals, ok := v.(map[string]any)
		if !ok {
			w.replaceIn(cur, key)
			return
		}
		for k, x := range vals {
			if !w.keep(x) {
				vals[k] = w.r.mark
				w.rep.add(f.kind)
			}
		}
	}
}

func (w *walker) items(d *door, m map[string]any) {
	v, ok := m["items"]
	if !ok || v == nil {
		return
	}
	arr, ok := v.([]any)
	if !ok || w.depth >= maxDepth {
		w.replaceIn(m, "items")
		return
	}
	w.depth++
	for i, x := range arr {
		switch xm := x.(type) {
		case map[string]any:
			w.object(d, xm, true)
		case nil:
		default:
			if nv, ok := w.replace(x); ok {
				arr[i] = nv
			}
		}
	}
	w.depth--
}

// rows handles server-side printing (kubectl get asks for a Table), whose
// rows[].object may be the full Secret when includeObject=Object.
func (w *walker) rows(d *door, m map[string]any) {
	v, ok := m["rows"]
	if !ok || v == nil {
		return
	}
	arr, ok := v.([]any)
	if !ok || w.depth >= maxDepth {
		w.replaceIn(m, "rows")
		return
	}
	w.depth++
	for i, x := range arr {
		switch row := x.(type) {
		case map[string]any:
			switch obj := row["object"].(type) {
			case map[string]any:
				w.object(d, obj, true)
			case nil:
			default:
				w.replaceIn(row, "object")
			}
		case nil:
		default:
			if nv, ok := w.replace(x); ok {
				arr[i] = nv
			}
		}
	}
	w.depth--
}

// mixedItems handles a generic List, whose items each carry their own kind.
func (w *walker) mixedItems(m map[string]any) {
	arr, ok := m["items"].([]any)
	if !ok {
		return
	}
	if w.depth >= maxDepth {
		w.replaceIn(m, "items")
		return
	}
	w.depth++
	for _, x := range arr {
		if xm, ok := x.(map[string]any); ok {
			w.foreign(xm)
		}
	}
	w.depth--
}

// patch removes every member of every op except op, path and from, keeping
// the shape of the patch visible. It reports false, changing nothing, when
// arr is not a JSON patch.
func (w *walker) patch(arr []any) bool {
	for _, x := range arr {
		op, ok := x.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := op["op"].(string); !ok {
			return false
		}
	}
	for _, x := range arr {
		op := x.(map[string]any)
		for k, v := range op {
			switch k {
			case "op":
			case "path", "from":
				if _, ok := v.(string); !ok {
					w.replaceIn(op, k)
				}
			default:
				if !w.keep(v) {
					op[k] = w.r.mark
					w.rep.add(KindPatchValue)
				}
			}
		}
	}
	return true
}

// annotations returns m's metadata.annotations. With strict, a metadata or
// annotations value of the wrong type is replaced, because in a door's
// object it could be hiding anything.
func (w *walker) annotations(m map[string]any, strict bool) map[string]any {
	md, ok := m["metadata"]
	if !ok || md == nil {
		return nil
	}
	mdm, ok := md.(map[string]any)
	if !ok {
		if strict {
			w.replaceIn(m, "metadata")
		}
		return nil
	}
	an, ok := mdm["annotations"]
	if !ok || an == nil {
		return nil
	}
	anm, ok := an.(map[string]any)
	if !ok {
		if strict {
			w.replaceIn(mdm, "annotations")
		}
		return nil
	}
	return anm
}

// lastApplied redacts the annotation of one of d's objects as another of
// d's objects. It is always re-serialised, never kept as received: a
// duplicate key or trailing value the parser dropped could otherwise smuggle
// the original data through.
func (w *walker) lastApplied(d *door, m map[string]any) {
	anm := w.annotations(m, true)
	if anm == nil {
		return
	}
	v, ok := anm[lastAppliedKey]
	if !ok || v == nil || w.isMarker(v) {
		return
	}
	s, ok := v.(string)
	if !ok || w.depth >= maxDepth {
		w.replaceIn(anm, lastAppliedKey)
		return
	}
	obj, ok := parseObject(s)
	if !ok {
		w.replaceIn(anm, lastAppliedKey)
		return
	}
	inner := walker{r: w.r, depth: w.depth + 1}
	inner.object(d, obj, true)
	w.rewrite(anm, s, obj)
}

// foreignLastApplied looks inside the annotation of a body no door claims,
// in case it records a Secret; only an annotation naming a door kind is
// parsed, so ordinary bodies stay allocation-free.
func (w *walker) foreignLastApplied(m map[string]any) {
	anm := w.annotations(m, false)
	if anm == nil {
		return
	}
	s, ok := anm[lastAppliedKey].(string)
	if !ok || !containsAny(s, kindNeedles) {
		return
	}
	if w.depth >= maxDepth {
		w.replaceIn(anm, lastAppliedKey)
		return
	}
	obj, ok := parseObject(s)
	if !ok {
		w.replaceIn(anm, lastAppliedKey)
		return
	}
	inner := walker{r: w.r, depth: w.depth + 1}
	inner.foreign(obj)
	if inner.rep.Empty() {
		return
	}
	w.rewrite(anm, s, obj)
}

// rewrite stores obj as the annotation, compact and in kubectl's own
// encoding (sorted keys, HTML-escaped, trailing newline kept), so that an
// annotation with nothing to remove comes out byte-identical and is not
// reported.
func (w *walker) rewrite(anm map[string]any, orig string, obj map[string]any) {
	b, err := json.Marshal(obj)
	if err != nil {
		w.replaceIn(anm, lastAppliedKey)
		return
	}
	if strings.HasSuffix(orig, "\n") {
		b = append(b, '\n')
	}
	if string(b) == orig {
		return
	}
	anm[lastAppliedKey] = string(b)
	w.rep.add(KindLastApplied)
}

// parseObject decodes s as exactly one JSON object; trailing data makes it
// unparseable rather than ignored.
func parseObject(s string) (map[string]any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func containsAny(s string, needles []string) bool {
	for _, n := range needles {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}
