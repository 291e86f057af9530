package redact

import "strings"

// A Screen proves, from an event's tokens as they are read from the input,
// that Redact would change nothing in it (apart from dropping
// managedFields, which the screen does itself), so the event can leave
// without a tree walk: the content judgements are the sweep's own
// (scanner, credential names, annotation lists), applied to every key and
// string; only the decision is coarser. A string whose treatment depends
// on more than itself and the key it sits under (a structured or encoded
// value, a name of an env pair that names a credential, a command line
// with a keyword, a kind or reference the structural redactor owns) fails
// the screen, and the caller redacts the tree as before. Failing is always
// safe; passing must imply that Redact finds nothing, which the tests
// check on every corpus.
//
// Feed it Open/Close for containers, Key for member names and String for
// string values, in document order; other scalars need no call. A Screen
// is for one event and one goroutine.
type Screen struct {
	r     *Redactor
	rep   Report
	depth int
	// frames[i] describes container i: whether it is a map, the key it
	// sits under, and (for maps) the member key being read.
	frames [screenDepth]frame
	// policyOmits: the audit policy removes managedFields from the
	// bodies' top objects and list items before redaction sees them.
	policyOmits bool
	failed      bool
}

type frame struct {
	isMap bool
	under string // the key this container is the value of
	key   string // maps: the current member's key
}

const screenDepth = 64

// Screen starts the proof for one event. It is nil-safe to ignore: a
// Redactor whose mode needs every string rewritten (strict) or that has
// no knowledge loaded returns a Screen that has already failed.
func (r *Redactor) Screen(ev map[string]any, policyOmitsManaged bool) Screen {
	s := Screen{r: r, policyOmits: policyOmitsManaged}
	if r.strict || r.rules == nil || !r.screenable(ev) {
		s.failed = true
	}
	return s
}

// screenable checks what the tokens alone cannot show: a body under an
// objectRef the structural redactor owns (a secret-bearing kind, an extra
// rule), and a body that is a patch.
func (r *Redactor) screenable(ev map[string]any) bool {
	body := false
	for _, k := range bodyKeys {
		switch ev[k].(type) {
		case nil:
		case map[string]any:
			body = true
		default:
			return false
		}
	}
	if !body {
		return true
	}
	rf, alt := readRefs(ev)
	return secretKindForRef(rf) == nil && secretKindForRef(alt) == nil && r.rules.forRef(rf) == nil
}

// OK reports whether everything fed so far passed.
func (s *Screen) OK() bool { return !s.failed }

// Report is what the screen removed itself (managedFields).
func (s *Screen) Report() Report { return s.rep }

// Open enters an object or array that is the value of the current key (or
// element of the current array).
func (s *Screen) Open(isMap bool) {
	if s.depth >= screenDepth {
		s.failed = true
		return
	}
	under := ""
	if s.depth > 0 {
		under = s.current()
	}
	s.frames[s.depth] = frame{isMap: isMap, under: under}
	s.depth++
}

// Close leaves the innermost container.
func (s *Screen) Close() {
	if s.depth > 0 {
		s.depth--
	}
}

// current is the key a value read now sits under.
func (s *Screen) current() string {
	f := &s.frames[s.depth-1]
	if f.isMap {
		return f.key
	}
	return f.under
}

// Key judges a member name. drop is set for a member the caller must leave
// out of its output (managedFields, as the redactor would remove them);
// the screen has counted it.
func (s *Screen) Key(k string) (drop bool) {
	if s.depth == 0 {
		s.failed = true
		return false
	}
	f := &s.frames[s.depth-1]
	f.key = k
	if s.failed {
		return false
	}
	if k == "managedFields" && s.depth >= 3 && s.frames[s.depth-1].under == "metadata" {
		if s.policyOmitted() {
			return true
		}
		if s.r.dropManaged {
			s.rep.add(KindManagedFields)
			return true
		}
	}
	if !s.r.inertKey(k) {
		s.failed = true
	}
	return false
}

// policyOmitted reports whether the managedFields being read sit where the
// audit policy's omitManagedFields removes them: the metadata of a body's
// top object, or of an item of a body that is a list.
func (s *Screen) policyOmitted() bool {
	if !s.policyOmits {
		return false
	}
	// frames: 0 the event, 1 the body, 2 its metadata; or 1 the body,
	// 2 items, 3 an item, 4 its metadata.
	body := s.frames[1].under
	if body != "requestObject" && body != "responseObject" {
		return false
	}
	switch s.depth {
	case 3:
		return true
	case 5:
		return s.frames[2].under == "items" && !s.frames[2].isMap && s.frames[3].isMap
	}
	return false
}

// String judges a string value under the current key.
func (s *Screen) String(v string) {
	if s.failed || s.depth == 0 {
		s.failed = true
		return
	}
	f := &s.frames[s.depth-1]
	if f.isMap {
		if s.depth == 1 && f.key == "requestURI" {
			if !s.r.inertURI(v) {
				s.failed = true
			}
			return
		}
		if !s.r.inertValue(f.key, v) {
			s.failed = true
		}
		return
	}
	if !s.r.inertElement(f.under, v) {
		s.failed = true
	}
}

// inertKey: a map key the sweep leaves as it is, and whose value it would
// not remove for the key's sake.
func (r *Redactor) inertKey(k string) bool {
	if r.inertKeys.has(k) {
		return true
	}
	nm := r.rules.names
	if nm.credential(k) || len(k) >= minKeyScan && !r.inertValue("", k) {
		return false
	}
	if r.rules.annotationNoSlash || strings.IndexByte(k, '/') >= 0 {
		if r.rules.secretAnnotations[k] || r.rules.objectAnnotations[k] {
			return false
		}
	}
	r.inertKeys.add(k)
	return true
}

// pairKeys name the members whose string names a sibling value (env
// name/value, settings key/value, credential type/value, a Status cause's
// field, a JSON-patch path), and kind, which selects the structural
// redaction of the object it sits in.
var pairKeys = map[string]bool{"name": true, "key": true, "type": true, "field": true, "path": true, "kind": true}

// inertValue: a string under key that the sweep would leave as it is,
// judged on its own: by the cheap checks when they suffice, else by the
// sweep's own judgement of the string.
func (r *Redactor) inertValue(key, v string) bool {
	if v == "" || v == r.marker {
		return true
	}
	if !r.plainText(key, v) && !r.sweepKeeps(key, v) {
		return false
	}
	if pairKeys[key] {
		switch key {
		case "kind":
			return r.plainKind(v)
		case "path":
			if strings.Contains(v, "~") || envValuePath(v) {
				return false
			}
			last := v[strings.LastIndexByte(v, '/')+1:]
			return !r.rules.names.credential(last) && !r.rules.secretAnnotations[last]
		}
		return !r.rules.names.credential(v)
	}
	return true
}

// sweepKeeps runs the sweep's judgement of one string and reports whether
// it leaves it as it is.
func (r *Redactor) sweepKeeps(key, v string) bool {
	w := walker{r: r}
	_, changed := w.sweepString(v, key, sctx{})
	return !changed && w.rep.Empty()
}

// plainText: a string the sweep cannot change: not under an annotation
// of the lists, no structure to parse (JSON, YAML, multi-line text), no
// escapes to undo, no encoded run and no pattern keyword in a position
// the scanner would look at.
func (r *Redactor) plainText(key, v string) bool {
	if key != "" && (r.rules.annotationNoSlash || strings.IndexByte(key, '/') >= 0) {
		if r.rules.secretAnnotations[key] || r.rules.objectAnnotations[key] {
			return false
		}
	}
	if r.hashPrefix != "" && strings.HasPrefix(v, r.hashPrefix) {
		return false
	}
	i := 0
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r') {
		i++
	}
	if i < len(v) && (v[i] == '{' || v[i] == '[') {
		return false
	}
	if strings.IndexByte(v, '\n') >= 0 || looksLikeManifest(v[i:]) || escapedForm(v) {
		return false
	}
	set, longRun := r.rules.scanner.survey(v, true)
	// A UUID is one long run the encoded-value check skips by shape.
	return set == 0 && (!longRun || isUUID(v) && hexDash(v))
}

func hexDash(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// plainKind: a kind the structural redactor has nothing for, itself or as
// the item kind of a list.
func (r *Redactor) plainKind(kind string) bool {
	if secretKindOf(kind) != nil || r.rules.forKind(kind) != nil {
		return false
	}
	if item, ok := strings.CutSuffix(kind, genericListKind); ok && item != "" {
		return secretKindOf(item) == nil && r.rules.forKind(item) == nil
	}
	return true
}

// inertElement: an array element under key. Any array can be a command
// line, where a flag names the element after it; command lines proper can
// also hold credentials split across elements and mysql's -p<password>.
func (r *Redactor) inertElement(key, v string) bool {
	if !r.inertValue(key, v) {
		return false
	}
	if strings.HasPrefix(v, "-") && r.rules.names.credential(v) {
		return false
	}
	if argKeys[key] && (strings.HasPrefix(v, "-p") || r.rules.scanner.hits(v, false) != 0) {
		return false
	}
	return true
}

// inertURI: a requestURI whose path and query parameters are each inert,
// with no parameter naming a credential, no exec command line and nothing
// percent-encoded.
func (r *Redactor) inertURI(v string) bool {
	path, query, _ := strings.Cut(v, "?")
	if !r.inertValue("", path) {
		return false
	}
	if query == "" {
		return true
	}
	if strings.ContainsAny(query, "%+") || !r.plainText("", query) {
		w := walker{r: r}
		_, changed := w.uri(v)
		return !changed && w.rep.Empty()
	}
	for query != "" {
		var p string
		p, query, _ = strings.Cut(query, "&")
		k, val, _ := strings.Cut(p, "=")
		if k == "command" || r.rules.names.credential(k) || !r.inertValue(k, val) {
			return false
		}
	}
	return true
}
