// Package redact removes secrets from Kubernetes audit events before they
// leave the node.
//
// One engine applies one body of knowledge (conf/redact/): the
// secret-bearing kinds fail closed, so on their resource a body it does not
// understand is replaced whole rather than passed through; then a sweep
// judges every string of the event by where it stands (a rule's field, a
// credential name), what it is (an object, an encoding) and what it holds
// (a credential format). What it reports is counts by kind, never key names
// or values.
package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
// ev is an audit event, possibly with the other keys of the Fluent Bit
// record it was the top level of (Merge_Log, Preserve_Key): every string in
// it is in scope. Values of any type are tolerated (wrong type is treated
// as absent, or replaced when it sits where a secret would). Different
// events may be redacted concurrently; one event must not be shared
// between goroutines.
func (r *Redactor) Redact(ev map[string]any) Report {
	w := walker{r: r}
	w.event(ev, 0)
	if len(w.echoes) > 0 {
		w.repeated(ev)
	}
	return w.rep
}

// RedactValue removes secrets from a value that is not an audit event but
// leaves the node with one: the Fluent Bit metadata of a record, a record
// passed on with `unrecognized pass`. It is swept like any part of an
// event. The replacement, if any, is returned with ok true.
func (r *Redactor) RedactValue(v any) (nv any, ok bool, rep Report) {
	w := walker{r: r}
	nv, ok = w.sweepValue(v, "", sctx{})
	return nv, ok, w.rep
}

// maxEvents bounds events nested in events (a record copy under log that
// is not the same event).
const maxEvents = 2

// event redacts one audit event: first the bodies of a secret-bearing
// resource by what objectRef says they are (fail closed), then the sweep
// over every member, which applies the resource's rule to its bodies.
func (w *walker) event(ev map[string]any, nest int) {
	if ev == nil {
		return
	}
	var d *secretKind
	var ru *rule
	resolved := false
	for _, key := range bodyKeys {
		v, ok := ev[key]
		if !ok || v == nil {
			continue
		}
		if !resolved {
			rf, alt := readRefs(ev)
			if d = secretKindForRef(rf); d == nil {
				d = secretKindForRef(alt)
			}
			if d == nil {
				ru = w.r.rules.forRef(rf)
			}
			resolved = true
		}
		if d == nil {
			continue
		}
		if nv, ok := w.owned(d, v); ok {
			ev[key] = nv
		}
	}
	id, _ := ev["auditID"].(string)
	for k, v := range ev {
		if v == nil {
			continue
		}
		switch k {
		case "requestObject", "responseObject":
			c := sctx{strict: w.r.strict, role: roleBody}
			if d == nil {
				c.ref = ru
			}
			if nv, ok := w.sweepValue(v, k, c); ok {
				ev[k] = nv
			}
			continue
		case "requestURI":
			if s, ok := v.(string); ok {
				if nv, ok := w.uri(s); ok {
					ev[k] = nv
				}
				continue
			}
		case "annotations":
			if m, ok := v.(map[string]any); ok {
				w.eventAnnotations(m, d)
			}
		}
		if s, ok := v.(string); ok && nest < maxEvents {
			// A copy of an event kept beside it (Merge_Log with Keep_Log,
			// Preserve_Key): the same event is dropped, another one is
			// redacted as an event.
			if inner, ok := eventString(s); ok {
				if iid, _ := inner["auditID"].(string); iid != "" && iid == id {
					delete(ev, k)
					w.rep.add(KindRecordCopy)
					continue
				}
				before := w.rep
				w.event(inner, nest+1)
				if w.rep != before {
					if b, err := json.Marshal(inner); err == nil {
						ev[k] = string(b)
					} else {
						ev[k] = w.failClosed(s)
					}
				}
				continue
			}
		}
		if nv, ok := w.sweepValue(v, k, sctx{}); ok {
			ev[k] = nv
		}
	}
}

// eventString parses s when it is the JSON of an audit event, or the same
// object in YAML's flow style: the sweep reads such text as an object and
// writes it back as JSON, and the event it then holds must be judged as an
// event whichever way it was written.
func eventString(s string) (map[string]any, bool) {
	if !opensObject(s) || !strings.Contains(s, "auditID") {
		return nil, false
	}
	v, ok := parseJSON(s)
	if !ok {
		v, ok = parseYAMLDocs(s)
	}
	m, _ := v.(map[string]any)
	if !ok || m == nil {
		return nil, false
	}
	_, hasID := m["auditID"]
	_, hasVerb := m["verb"]
	return m, hasID && hasVerb
}

// webhookPatchPrefix names the event annotations in which mutating
// admission webhooks record the JSON patch they applied, values included.
const webhookPatchPrefix = "patch.webhook.admission.k8s.io/"

// eventAnnotations interprets a webhook's recorded patch against the
// object the event is about (exactly, as a patch request body would be);
// the sweep then handles everything else in the annotation.
func (w *walker) eventAnnotations(m map[string]any, d *secretKind) {
	for k, v := range m {
		s, ok := v.(string)
		// An empty value, or one removed already, records nothing.
		if !ok || w.keep(s) || !strings.HasPrefix(k, webhookPatchPrefix) || d == nil {
			continue
		}
		rec, ok := parseObject(s)
		if !ok {
			m[k] = w.failClosed(s)
			continue
		}
		ops, ok := rec["patch"].([]any)
		if !ok {
			continue
		}
		before := w.rep
		if !w.jsonPatch(ops, d) {
			rec["patch"] = w.failClosed("")
		}
		if w.rep != before {
			if b, err := json.Marshal(rec); err == nil {
				m[k] = string(b)
			} else {
				m[k] = w.failClosed(s)
			}
		}
	}
}

// walker carries one event's report and recursion depth. It lives on the
// stack of Redact: secret-bearing kinds are data and every call is static, so nothing
// forces it to the heap.
type walker struct {
	r     *Redactor
	rep   Report
	depth int
	// sdepth and edepth bound the sweep's recursion and its decoding of
	// encoded values inside encoded values.
	sdepth, edepth int
	// resweep is set while a map whose keys were renamed is swept again
	// (sweepObject).
	resweep bool
	// echoes are the credentials removed so far that are worth looking
	// for elsewhere in the event (echoable).
	echoes []string
}

// maskString is mask for a part of a string.
func (w *walker) maskString(s string) string {
	if w.r.hashKey == nil {
		w.note(s)
		return w.r.marker
	}
	return w.mask(s).(string)
}

// isMarkerText reports whether a part of a string is a marker already, or
// the start of one (a pattern's value class may stop inside it).
func (w *walker) isMarkerText(s string) bool {
	return w.isMarker(s) || len(s) >= 3 && strings.HasPrefix(w.r.marker, s)
}

func (w *walker) isMarker(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if s == w.r.marker {
		return true
	}
	p := w.r.hashPrefix
	if p == "" || len(s) != len(p)+hashHex || !strings.HasPrefix(s, p) {
		return false
	}
	for i := len(p); i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// keep reports whether v needs no removal: null and "" carry nothing (and
// null in a merge patch records a deletion worth seeing), and a marker was
// already put there.
func (w *walker) keep(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && (s == "" || w.isMarker(v))
}

// mask is what a removed value becomes: the marker, followed by a short
// keyed hash of a string value when a hash key is configured.
func (w *walker) mask(v any) any {
	if s, ok := v.(string); ok {
		w.note(s)
	}
	return w.hide(v)
}

// hide is mask for a value removed for what it is not shown to be rather
// than for what it is (redact_mode strict): a copy of it elsewhere is no
// credential for that, and is left to its own judgement.
func (w *walker) hide(v any) any {
	s, ok := v.(string)
	if w.r.hashKey == nil || !ok {
		return w.r.mark
	}
	mac := hmac.New(sha256.New, w.r.hashKey)
	mac.Write([]byte(s))
	var sum [sha256.Size]byte
	var hx [sha256.Size * 2]byte
	hex.Encode(hx[:], mac.Sum(sum[:0]))
	return w.r.hashPrefix + string(hx[:hashHex])
}

// remove masks m[key] as a secret of kind k unless there is nothing to remove.
func (w *walker) remove(m map[string]any, key string, k Kind) {
	if v := m[key]; !w.keep(v) {
		m[key] = w.mask(v)
		w.rep.add(k)
	}
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

// managed removes metadata.managedFields: they list the key names of every
// field a manager set and are noise in a log store.
func (w *walker) managed(m map[string]any) {
	if !w.r.dropManaged {
		return
	}
	md, ok := m["metadata"].(map[string]any)
	if !ok {
		return
	}
	if _, ok := md["managedFields"]; ok {
		delete(md, "managedFields")
		w.rep.add(KindManagedFields)
	}
}

// owned handles a body of an event whose objectRef belongs to secret-bearing kind d: what
// d does not understand is replaced.
func (w *walker) owned(d *secretKind, v any) (any, bool) {
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
		if d.patch && w.jsonPatch(b, d) {
			return nil, false
		}
		return w.replace(v)
	case nil:
		return nil, false
	default:
		return w.replace(v)
	}
}

// object redacts m as one of d's objects, including any items[] and
// Table rows[].object it wraps. strict replaces a field's parent that is
// not an object; without it such a field is taken to be absent.
func (w *walker) object(d *secretKind, m map[string]any, strict bool) {
	w.managed(m)
	for i := range d.fields {
		w.field(m, &d.fields[i], strict)
	}
	if d.spellings {
		w.spellings(d, m)
	}
	w.lastApplied(d, m)
	w.items(d, m)
	w.rows(d, m)
}

// spellings removes members whose name is a field's but for case or
// surrounding space: the API server would refuse them, a log keeps them.
func (w *walker) spellings(d *secretKind, m map[string]any) {
	for k := range m {
		if len(k) > 32 {
			continue
		}
		norm := strings.TrimSpace(k)
		for i := range d.fields {
			f := d.fields[i].path[0]
			if k != f && strings.EqualFold(norm, f) {
				w.replaceIn(m, k)
			}
		}
	}
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
			w.remove(cur, key, f.kind)
			return
		}
		vals, ok := v.(map[string]any)
		if !ok {
			w.replaceIn(cur, key)
			return
		}
		for k := range vals {
			w.remove(vals, k, f.kind)
		}
	}
}

func (w *walker) items(d *secretKind, m map[string]any) {
	w.elements(m, "items", func(x map[string]any) { w.object(d, x, true) })
}

// rows handles server-side printing (kubectl get asks for a Table), whose
// rows[].object may be the full Secret when includeObject=Object.
func (w *walker) rows(d *secretKind, m map[string]any) {
	w.elements(m, "rows", func(row map[string]any) {
		switch obj := row["object"].(type) {
		case map[string]any:
			w.object(d, obj, true)
		case nil:
		default:
			w.replaceIn(row, "object")
		}
	})
}

// elements hands each object of the list m[key] to each, failing closed on
// every other shape: a list that is not one (or nests too deep) is replaced
// whole, an element that is not an object is replaced, null is kept.
func (w *walker) elements(m map[string]any, key string, each func(map[string]any)) {
	v, ok := m[key]
	if !ok || v == nil {
		return
	}
	arr, ok := v.([]any)
	if !ok || w.depth >= maxDepth {
		w.replaceIn(m, key)
		return
	}
	w.depth++
	for i, x := range arr {
		switch xm := x.(type) {
		case map[string]any:
			each(xm)
		case nil:
		default:
			if nv, ok := w.replace(x); ok {
				arr[i] = nv
			}
		}
	}
	w.depth--
}

// jsonPatch redacts a JSON patch (RFC 6902) of an object of d with exact
// semantics: each op's value is redacted as whatever sits at its path, by
// wrapping it in that path and redacting the result as d's object. It
// reports false, changing nothing, when arr is not a JSON patch. An op it
// cannot interpret (unknown op, path not a JSON pointer, members beyond
// op/path/from/value) has every value removed (fail closed).
func (w *walker) jsonPatch(arr []any, d *secretKind) bool {
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
		path, pathOK := op["path"].(string)
		exact := pathOK && knownOps[op["op"].(string)] && (path == "" || path[0] == '/') && w.depth < maxDepth
		for k, v := range op {
			switch k {
			case "op":
			case "path", "from":
				if _, ok := v.(string); !ok {
					w.replaceIn(op, k)
				}
			case "value":
				if exact {
					if nv, ok := w.pointerValue(path, v, d); ok {
						op[k] = nv
					}
					continue
				}
				fallthrough
			default:
				if !w.keep(v) {
					op[k] = w.mask(v)
					w.rep.add(KindPatchValue)
				}
			}
		}
	}
	return true
}

var knownOps = map[string]bool{"add": true, "replace": true, "test": true, "remove": true, "move": true, "copy": true}

// pointerValue redacts v as the value at JSON pointer path of d's object.
// It builds the object the pointer describes around v (array indices as
// one-element arrays), walks it, and reads v back; if the walk replaced or
// removed anything on the way to v, v is gone too.
func (w *walker) pointerValue(path string, v any, d *secretKind) (any, bool) {
	if w.keep(v) {
		return nil, false // nothing to remove, or removed already
	}
	var toks [maxPointer]string
	n := 0
	for rest := path; rest != ""; {
		if n == maxPointer {
			w.rep.add(KindPatchValue)
			return w.mask(v), true
		}
		rest = rest[1:]
		tok, after, found := strings.Cut(rest, "/")
		toks[n] = unescapePointer(tok)
		n++
		if !found {
			break
		}
		rest = "/" + after
	}
	root := v
	for i := n - 1; i >= 0; i-- {
		if isIndex(toks[i]) {
			root = []any{root}
		} else {
			root = map[string]any{toks[i]: root}
		}
	}
	w.depth++
	if nv, ok := w.owned(d, root); ok {
		root = nv
	}
	w.depth--
	cur := root
	for _, tok := range toks[:n] {
		switch c := cur.(type) {
		case map[string]any:
			var ok bool
			if cur, ok = c[tok]; !ok {
				return w.r.mark, true
			}
		case []any:
			if len(c) != 1 {
				return w.r.mark, true
			}
			cur = c[0]
		default:
			return w.r.mark, true
		}
	}
	return cur, true
}

// maxPointer bounds the tokens of a JSON-patch path; real paths have a
// handful.
const maxPointer = 16

func isIndex(tok string) bool {
	if tok == "-" {
		return true
	}
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return true
}

func unescapePointer(tok string) string {
	if !strings.Contains(tok, "~") {
		return tok
	}
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
}

// annotations returns m's metadata.annotations. With strict, a metadata or
// annotations value of the wrong type is replaced, because in a kind's
// object it could be hiding anything.
func (w *walker) annotations(m map[string]any, strict bool) map[string]any {
	if md := w.child(m, "metadata", strict); md != nil {
		return w.child(md, "annotations", strict)
	}
	return nil
}

// child returns m[key] when it is an object; with strict, a value of any
// other type (null aside) is replaced.
func (w *walker) child(m map[string]any, key string, strict bool) map[string]any {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	c, ok := v.(map[string]any)
	if !ok && strict {
		w.replaceIn(m, key)
	}
	return c
}

// lastApplied redacts the annotation of one of d's objects as another of
// d's objects. It is always re-serialised, never kept as received: a
// duplicate key or trailing value the parser dropped could otherwise smuggle
// the original data through.
func (w *walker) lastApplied(d *secretKind, m map[string]any) {
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
