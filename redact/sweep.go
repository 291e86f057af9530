package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// The sweep is what makes redaction hold by construction rather than by
// enumeration: after the secret-bearing kinds have had their fields
// removed, every string of the event (and of the Fluent Bit record around
// it) is visited, and a string it cannot show to be harmless is a
// candidate, wherever it sits:
//
//   - under a map key, env-style name/value pair, JSON-patch path or
//     command-line flag that names a credential, it is removed;
//   - if it is a whole object (JSON or YAML: annotations that record an
//     object, string bodies, webhook patches), it is parsed and redacted as
//     that object, and removed when it cannot be parsed where an object
//     is expected;
//   - if it is base64 or hex (gzip inside or not), its decoded content is
//     judged the same way, and the value removed whole if anything in it is;
//   - otherwise the content scanner removes what the patterns find.
//
// Nested objects are judged by their own kind wherever they sit: a Secret
// inlined in a custom resource, a policy or a Table row is a Secret.

// sctx is what the sweep knows about where it is.
type sctx struct {
	// plain: the keys of this map are not names of anything (labels,
	// selectors); values are still scanned.
	plain bool
	// strict: inside a body under redact_mode strict, where only the
	// allow-listed fields keep their strings.
	strict bool
	// allowed: inside an allow-listed subtree (strict mode).
	allowed bool
	// hint is the kind a typed list implies for its items.
	hint string
}

// maxSweepDepth bounds the sweep's recursion (maps, arrays, parsed
// strings); anything deeper is replaced. Real objects nest far less.
const maxSweepDepth = 64

func (w *walker) sweepValue(v any, key string, c sctx) (any, bool) {
	switch x := v.(type) {
	case string:
		return w.sweepString(x, key, c)
	case map[string]any:
		if w.sdepth >= maxSweepDepth {
			return w.replace(v)
		}
		w.sdepth++
		w.sweepObject(x, c)
		w.sdepth--
	case []any:
		if w.sdepth >= maxSweepDepth {
			return w.replace(v)
		}
		w.sdepth++
		w.sweepArray(x, key, c)
		w.sdepth--
	}
	return nil, false
}

// sweepObject visits one JSON object.
func (w *walker) sweepObject(m map[string]any, c sctx) {
	kind, _ := m["kind"].(string)
	if kind == "" {
		kind = c.hint
	}
	c.hint = ""
	if kind != "" {
		if d := secretKindOf(kind); d != nil {
			w.object(d, m, true)
		} else if rk := w.r.rules.forKind(kind); rk != nil {
			w.ruleObject(rk, m)
		}
		if strings.HasSuffix(kind, genericListKind) && kind != genericListKind {
			c.hint = strings.TrimSuffix(kind, genericListKind)
		}
	}
	w.managed(m)
	w.pair(m)
	nm := w.r.rules.names
	var renames [][2]string
	for k, v := range m {
		if len(k) >= minKeyScan && !w.r.cleanKeys.has(k) {
			// A key is judged as any string is; one that must go is
			// renamed after the walk (the marker, if it was removed whole).
			nv, ok := w.sweepString(k, "", sctx{})
			if !ok {
				w.r.cleanKeys.add(k)
			} else {
				nk, isStr := nv.(string)
				if !isStr {
					nk = w.r.marker
				}
				renames = append(renames, [2]string{k, nk})
			}
		}
		if v == nil {
			continue
		}
		cc := c
		cc.plain = len(k) <= maxPlainKey && len(k) >= 6 && nm.plainMaps[k]
		if k != "items" {
			cc.hint = ""
		}
		if c.strict && !c.allowed && w.r.strictAllow[k] {
			cc.allowed = true
		}
		if !c.plain && w.credentialKey(m, k, v) {
			continue
		}
		if nv, ok := w.sweepValue(v, k, cc); ok {
			m[k] = nv
		}
	}
	for _, kk := range renames {
		k, nk := kk[0], kk[1]
		// Two keys masked alike must not lose a value.
		for i, base := 2, nk; ; i++ {
			if _, taken := m[nk]; !taken {
				break
			}
			nk = base + " (" + strconv.Itoa(i) + ")"
		}
		m[nk] = m[k]
		delete(m, k)
	}
}

// maxPlainKey is the longest name in plain_maps worth a lookup.
const maxPlainKey = 16

// annotationKey reports whether key could be one of the annotation lists'
// keys (all have a prefix/ unless a file added one without).
func (w *walker) annotationKey(key string) bool {
	return w.r.rules.annotationNoSlash || strings.IndexByte(key, '/') >= 0
}

// minKeyScan is the shortest map key the scanner looks at: every
// credential format it knows is longer, and keys are mostly short names.
const minKeyScan = 20

// credentialKey removes m[k] when k names a credential and the value is a
// string or a list of strings (a map under such a key is walked: its own
// keys say more). It reports whether it handled the member.
func (w *walker) credentialKey(m map[string]any, k string, v any) bool {
	switch x := v.(type) {
	case string:
		if w.keep(x) || !w.r.rules.names.credential(k) {
			return false
		}
		m[k] = w.mask(x)
		w.rep.add(KindCredentialName)
		return true
	case []any:
		if len(x) == 0 || !w.r.rules.names.credential(k) {
			return false
		}
		for i, e := range x {
			if s, ok := e.(string); ok && !w.keep(s) {
				x[i] = w.mask(s)
				w.rep.add(KindCredentialName)
			}
		}
		return false // maps inside are still walked
	}
	return false
}

// pair handles the name/value shape of env vars, probe httpHeaders, Tekton
// and Argo CD parameters, Helm --set lists: the value is named by name.
// A JSON-patch operation is the same with its path naming the value.
func (w *walker) pair(m map[string]any) {
	w.cause(m)
	v, ok := m["value"].(string)
	if !ok || w.keep(v) {
		return
	}
	nm := w.r.rules.names
	// name/value (env, parameters), key/value (settings lists) and
	// type/value (Keycloak credentials) pairs.
	for _, k := range [...]string{"name", "key", "type"} {
		if name, ok := m[k].(string); ok && nm.credential(name) {
			m["value"] = w.mask(v)
			w.rep.add(KindCredentialName)
			return
		}
	}
	if _, isOp := m["op"].(string); isOp {
		path, _ := m["path"].(string)
		last := path[strings.LastIndexByte(path, '/')+1:]
		if nm.credential(unescapePointer(last)) || w.r.rules.secretAnnotations[unescapePointer(last)] || envValuePath(path) {
			m["value"] = w.mask(v)
			w.rep.add(KindCredentialName)
		}
	}
}

// envValuePath reports whether a JSON-patch path sets an env var's value
// by index (/spec/containers/0/env/3/value): its name is not in the patch,
// so it cannot be shown to be harmless.
func envValuePath(path string) bool {
	rest, ok := strings.CutSuffix(path, "/value")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(rest, '/')
	return i >= 0 && isIndex(rest[i+1:]) && strings.HasSuffix(rest[:i], "/env")
}

// argKeys name string arrays that are command lines.
var argKeys = map[string]bool{"args": true, "command": true, "argv": true, "cmd": true, "arguments": true, "extraArgs": true}

// sweepArray visits a JSON array; a command line's flags name the element
// that follows them (`--password`, `secret`), and mysql-style clients take
// `-p<password>` in one element.
func (w *walker) sweepArray(arr []any, key string, c sctx) {
	cmd := argKeys[key]
	mysql := false
	if cmd {
		for _, e := range arr {
			if s, ok := e.(string); ok && (strings.Contains(s, "mysql") || strings.Contains(s, "mariadb")) {
				mysql = true
				break
			}
		}
	}
	c.plain = false
	var argv map[int]bool
	if cmd {
		argv = w.argvSpans(arr)
	}
	for i, e := range arr {
		// A flag naming a credential names the element after it in any
		// array of strings, not only under args and command: custom
		// resources carry command lines under names of their own.
		if s, ok := e.(string); ok && !w.keep(s) {
			if cmd && mysql && len(s) > 2 && strings.HasPrefix(s, "-p") && !w.isMarkerText(s[2:]) {
				arr[i] = "-p" + w.maskString(s[2:])
				w.rep.add(KindCredentialName)
				continue
			}
			if i > 0 {
				if prev, ok := arr[i-1].(string); ok && strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") && w.r.rules.names.credential(prev) && !strings.HasPrefix(s, "-") {
					arr[i] = w.mask(s)
					w.rep.add(KindCredentialName)
					continue
				}
			}
			if argv[i] {
				arr[i] = w.mask(s)
				w.rep.add(KindContent)
				continue
			}
		}
		if nv, ok := w.sweepValue(e, key, c); ok {
			arr[i] = nv
		}
	}
}

// sweepString judges one string value found under key.
func (w *walker) sweepString(s, key string, c sctx) (any, bool) {
	if w.keep(s) {
		return nil, false
	}
	if w.annotationKey(key) && w.r.rules.secretAnnotations[key] {
		w.rep.add(KindCredentialName)
		return w.mask(s), true
	}
	if c.strict && !c.allowed && !w.r.strictAllow[key] {
		w.rep.add(KindStrict)
		return w.mask(s), true
	}
	// One pass says what else looks at s: structured and escaped are
	// asked only when a form they look for is there.
	lk := w.r.rules.scanner.look(s, true)
	if lk.flags&flagNewline != 0 || objectStart(s[0]) || w.annotationKey(key) {
		if nv, done := w.structured(s, key, c); done {
			return nv, nv != nil
		}
	}
	if lk.escape() || quotedForm(s) {
		if nv, done := w.escaped(s); done {
			return nv, true
		}
	}
	set, longRun := lk.set, lk.longRun
	if set == 0 && !longRun {
		return nil, false // the common case: one pass, nothing to look at
	}
	changed := false
	if longRun {
		if nv, done := w.encoded(s); done && nv != nil {
			return nv, true
		}
		if lk.encodable {
			if t, ok := w.encodedRuns(s); ok {
				s, changed = t, true
			}
		}
	}
	if changed {
		set = w.r.rules.scanner.candidates(s)
	}
	out, n := w.r.rules.scanner.scanSet(s, set, w.maskString, w.isMarkerText)
	if n == 0 && changed {
		return s, true
	}
	if n == 0 {
		return nil, false
	}
	for i := 0; i < n; i++ {
		w.rep.add(KindContent)
	}
	return out, true
}

// objectStart reports whether a string beginning with c may be one that
// structured parses without a line break in it: JSON, a manifest, a YAML
// list, or leading space before one.
func objectStart(c byte) bool {
	switch c {
	case '{', '[', 'a', 'k', '-', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// structured parses a string that holds a whole object (JSON, or a YAML
// manifest) and redacts it as one. done is false when s is not such a
// string; nv is nil when nothing changed.
func (w *walker) structured(s, key string, c sctx) (nv any, done bool) {
	objAnn := w.annotationKey(key) && w.r.rules.objectAnnotations[key]
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	t := s[i:]
	if !objAnn && (t == "" || t[0] != '{' && t[0] != '[' && t[0] != 'a' && t[0] != 'k' && t[0] != '-' && strings.IndexByte(t, '\n') < 0) {
		return nil, false // neither JSON nor a manifest
	}
	// A marker can begin a text once a secret at its start is removed;
	// "[REDACTED] ..." is no JSON array.
	isJSON := t != "" && (t[0] == '{' || t[0] == '[') && !strings.HasPrefix(t, w.r.marker)
	isYAML := !isJSON && looksLikeManifest(t)
	if !isJSON && !isYAML {
		if objAnn {
			return w.failClosed(s), true
		}
		return nil, false
	}
	if w.sdepth >= maxSweepDepth {
		return w.failClosed(s), true
	}
	if !c.strict && !w.mayHold(s) && (isJSON || !objAnn) {
		// Nothing in it could be removed; an object annotation must still
		// be one (json.Valid allocates nothing).
		if objAnn && !json.Valid([]byte(s)) {
			return w.failClosed(s), true
		}
		return nil, true
	}
	var v any
	var ok bool
	if isJSON {
		v, ok = parseJSON(s)
	} else {
		v, ok = parseYAMLDocs(t)
	}
	docs, multi := v.(multiDoc)
	if multi {
		v = []any(docs) // swept as a list, written back as a stream
	}
	if !ok {
		if objAnn || w.mentionsSecretKind(s) {
			return w.failClosed(s), true
		}
		return nil, false // not an object after all: scanned as text
	}
	before := w.rep
	w.sdepth++
	inner := c
	inner.hint = ""
	if nv, ok := w.sweepValue(v, key, inner); ok {
		v = nv
	}
	w.sdepth--
	if w.rep == before {
		// JSON parsed strictly is all there is; YAML can hold comments
		// the parse drops, so its raw text is scanned as well.
		return nil, isJSON
	}
	var b []byte
	var err error
	if isJSON {
		b, err = json.Marshal(v)
		if err == nil && strings.HasSuffix(s, "\n") {
			b = append(b, '\n')
		}
	} else {
		if multi {
			v = multiDoc(v.([]any))
		}
		b, err = marshalYAMLDocs(v)
	}
	if err != nil {
		return w.failClosed(s), true
	}
	return string(b), true
}

// mayHold reports whether the raw text of an object could hold anything
// the sweep removes once parsed: a keyword or credential word, a
// secret-bearing or rule kind, a \u escape that could spell one, or a
// run long enough to be an encoded payload.
func (w *walker) mayHold(s string) bool {
	if w.r.rules.scanner.mayHold(s) || strings.Contains(s, `\u`) || containsAny(s, kindNeedles) {
		return true
	}
	for _, ru := range w.r.rules.rules {
		if !ru.prefilter {
			if containsAny(s, ru.kinds) {
				return true
			}
			continue
		}
		for _, m := range ru.scan {
			if m.MatchString(s) {
				return true
			}
		}
	}
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '=' {
			if run++; run >= minEncoded {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func (w *walker) failClosed(s string) any {
	w.rep.add(KindFailedClosed)
	return w.r.mark
}

// mentionsSecretKind reports whether unparseable text names a
// secret-bearing kind: such text is removed rather than scanned.
func (w *walker) mentionsSecretKind(s string) bool {
	for _, k := range kindNeedles {
		if strings.Contains(s, "kind: "+k) || strings.Contains(s, `"kind":"`+k) || strings.Contains(s, `"kind": "`+k) {
			return true
		}
	}
	return false
}

// looksLikeManifest reports whether text is a YAML object of the API (a
// server-side apply body sent as YAML, a manifest in a Helm release).
func looksLikeManifest(t string) bool {
	return (strings.HasPrefix(t, "apiVersion:") || strings.HasPrefix(t, "kind:") || strings.HasPrefix(t, "---")) ||
		(strings.Contains(t, "\napiVersion:") && strings.Contains(t, "\nkind:"))
}

func parseJSON(s string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data, valid or not
	}
	switch v.(type) {
	case map[string]any, []any:
		return v, true
	}
	return nil, false
}

// parseYAMLDocs parses one or more YAML documents; several come back as a
// []any of documents.
func parseYAMLDocs(t string) (any, bool) {
	var docs []any
	for _, d := range splitYAMLDocs(t) {
		js, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			return nil, false
		}
		v, ok := parseJSON(string(js))
		if !ok {
			if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
				continue
			}
			return nil, false
		}
		docs = append(docs, v)
	}
	switch len(docs) {
	case 0:
		return nil, false
	case 1:
		return docs[0], true
	}
	return multiDoc(docs), true
}

// multiDoc marks a YAML stream so that it is written back as one.
type multiDoc []any

func splitYAMLDocs(t string) []string {
	var out []string
	for _, part := range strings.Split("\n"+t, "\n---") {
		if i := strings.IndexByte(part, '\n'); i >= 0 {
			part = part[i+1:] // the rest of the separator line
		} else {
			part = ""
		}
		if strings.TrimSpace(part) != "" {
			out = append(out, part)
		}
	}
	return out
}

func marshalYAMLDocs(v any) ([]byte, error) {
	docs, ok := v.(multiDoc)
	if !ok {
		return yaml.Marshal(v)
	}
	var b bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		y, err := yaml.Marshal(d)
		if err != nil {
			return nil, err
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// encoded judges a value that is entirely base64 or hex by what it decodes
// to: removed whole if its content holds anything the sweep would remove,
// or if it is gzip that cannot be opened. done is false when s is no such
// value or decodes to binary.
func (w *walker) encoded(s string) (any, bool) {
	if w.edepth >= maxEncodeDepth || len(s) > 4*maxDecoded/3+8 || isUUID(s) {
		return nil, false
	}
	b64, hx := encodedKind(s)
	if !b64 && !hx {
		return nil, false
	}
	if !textualPrefix(s, hx) {
		return nil, false
	}
	b, ok := decodeAny(s, hx)
	if !ok || len(b) < 8 {
		return nil, false
	}
	if isGzip(b) {
		if b, ok = gunzip(b); !ok {
			w.rep.add(KindEncoded)
			return w.r.mark, true
		}
	}
	if !printable(b) {
		return nil, false
	}
	probe := walker{r: w.r, sdepth: w.sdepth + 1, edepth: w.edepth + 1}
	probe.sweepString(string(b), "", sctx{})
	if probe.rep.Empty() {
		return nil, true
	}
	w.rep.add(KindEncoded)
	return w.mask(s), true
}

// encodedRuns judges base64 or hex runs inside a longer text (a blob in a
// message, a config line, a flag) as encoded does a whole value, and
// replaces each run whose content holds something.
func (w *walker) encodedRuns(s string) (string, bool) {
	if len(s) <= minEncoded {
		return s, false
	}
	var b strings.Builder
	last, found := 0, false
	start := -1
	for i := 0; i <= len(s); i++ {
		in := i < len(s) && isB64Char(s[i])
		if in && start < 0 {
			start = i
		}
		if in || start < 0 {
			continue
		}
		run := s[start:i]
		start = -1
		if len(run) < minEncoded || len(run) == len(s) {
			continue
		}
		if nv, done := w.encoded(run); done && nv != nil {
			b.WriteString(s[last : i-len(run)])
			b.WriteString(w.maskString(run))
			last, found = i, true
		}
	}
	if !found {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

func isB64Char(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

func isUUID(s string) bool {
	return len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-'
}

// escaped judges a text that is percent-encoded (a form body, state held
// in a URL) or JSON-escaped (a JSON string literal inside a string,
// \u0022-escaped text) by what it unescapes to, as encoded does base64:
// removed whole if its content holds anything the sweep would remove.
func (w *walker) escaped(s string) (any, bool) {
	if w.edepth >= maxEncodeDepth || len(s) > maxDecoded {
		return nil, false
	}
	if !escapedForm(s) || !w.r.rules.scanner.mayHold(s) && !strings.Contains(s, `\u`) {
		return nil, false
	}
	t, ok := unescapeText(s)
	if !ok {
		return nil, false
	}
	probe := walker{r: w.r, sdepth: w.sdepth + 1, edepth: w.edepth + 1}
	probe.sweepString(t, "", sctx{})
	if probe.rep.Empty() {
		return nil, false
	}
	w.rep.add(KindEncoded)
	return w.mask(s), true
}

// unescapeText returns s percent-decoded or JSON-unquoted, when it is so
// encoded and decoding changes it.
func unescapeText(s string) (string, bool) {
	var t string
	switch {
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		if json.Unmarshal([]byte(s), &t) != nil {
			return "", false
		}
	case strings.Contains(s, `\u`) || strings.Contains(s, `\"`):
		if json.Unmarshal([]byte(`"`+s+`"`), &t) != nil {
			return "", false
		}
	case hasPercentEscape(s):
		var err error
		if t, err = url.PathUnescape(s); err != nil {
			return "", false
		}
	default:
		return "", false
	}
	return t, t != s
}

// escapedForm reports, without allocating, whether unescapeText could
// change s.
func escapedForm(s string) bool {
	return quotedForm(s) || strings.Contains(s, `\u`) || strings.Contains(s, `\"`) || hasPercentEscape(s)
}

// quotedForm is the part of escapedForm that the scanner's pass does not
// find (look.escape has the rest).
func quotedForm(s string) bool { return len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' }

func hasPercentEscape(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0 && i+2 < len(s); {
		if isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// argvSpans scans a command line split into arguments as the one text it
// is (`docker login -p x`, `htpasswd -b file user x`, `sqlplus u/x@db` as
// separate elements) and returns the elements that a credential found
// across element boundaries falls in, when the element alone shows
// nothing.
func (w *walker) argvSpans(arr []any) map[int]bool {
	if len(arr) < 2 {
		return nil
	}
	// Only a command line with a keyword in some argument can hold what a
	// pattern finds across arguments: the rest costs no allocation.
	sc := w.r.rules.scanner
	hit := false
	for _, e := range arr {
		if s, ok := e.(string); ok && sc.hits(s, false) != 0 {
			hit = true
			break
		}
	}
	if !hit {
		return nil
	}
	var b strings.Builder
	bounds := make([][2]int, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		bounds[i] = [2]int{b.Len(), b.Len() + len(s)}
		b.WriteString(s)
	}
	spans := sc.spans(b.String(), w.isMarkerText)
	if len(spans) == 0 {
		return nil
	}
	var out map[int]bool
	for _, sp := range spans {
		for i, bd := range bounds {
			if sp[0] < bd[1] && bd[0] < sp[1] && bd[1] > bd[0] {
				s := arr[i].(string)
				if w.keep(s) || len(sc.spans(s, w.isMarkerText)) > 0 {
					continue
				}
				if out == nil {
					out = map[int]bool{}
				}
				out[i] = true
			}
		}
	}
	return out
}

// quoted matches a double-quoted string, escapes included.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)+"`)

// cause judges a Status cause (details.causes[]: field, message): when its
// field names a credential (data[DB_PASSWORD], spec.password), the values
// its message quotes ("Invalid value: \"x\"") are the credential's.
func (w *walker) cause(m map[string]any) {
	f, ok := m["field"].(string)
	if !ok {
		return
	}
	msg, ok := m["message"].(string)
	if !ok || w.keep(msg) || !strings.Contains(msg, `"`) || !w.r.rules.names.credential(f) {
		return
	}
	out := quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if w.keep(q[1:len(q)-1]) {
			return q
		}
		w.rep.add(KindCredentialName)
		return `"` + w.maskString(q[1:len(q)-1]) + `"`
	})
	if out != msg {
		m["message"] = out
	}
}
