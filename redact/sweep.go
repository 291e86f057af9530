package redact

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kaudit/kaudit/redact/literal"
	"sigs.k8s.io/yaml"
)

// The sweep is what makes redaction hold by construction rather than by
// enumeration: after the secret-bearing kinds have had their fields
// removed, every string of the event (and of the Fluent Bit record around
// it) is visited, and a string it cannot show to be harmless is a
// candidate, wherever it sits:
//
//   - at a place a rule names in the object it sits in (a field, a map
//     whose keys say what holds a credential, a container's env), or
//     under a map key, env-style name/value pair, JSON-patch path or
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
// inlined in a custom resource, a policy or a Table row is a Secret, a
// ConfigMap in a List gets the ConfigMap rule. A body whose own kind says
// nothing (a merge patch, a JSON patch's values) is judged as the kind of
// the event's resource.

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
	// at is where the sweep stands inside an object a rule applies to.
	at pos
	// ref is the rule of the event's resource (objectRef), for what role
	// says is a body of the event: the body itself, the items of a body
	// that is a list, the operations of a body that is a JSON patch.
	ref  *rule
	role role
	// la follows the way from an object whose structure the sweep applies
	// (a body, an object a rule claims) to its last-applied annotation.
	la laStep
	// cred: inside a value a credential name labels ({"secrets":
	// {"smtp": "x"}}, spec.password.value): its strings are credentials
	// unless their own names describe one (name, key, type, path).
	cred bool
	// under: the name this map is the value of, which a member key may
	// complete into a credential name (api: {key: x}: keyed).
	under string
}

// laStep is a step on the way to an object's last-applied annotation.
type laStep uint8

const (
	laNone laStep = iota
	laOwner
	laMetadata
	laAnnotations
	laRecorded // the annotation itself
)

// next is the step below s through key k.
func (s laStep) next(k string) laStep {
	switch {
	case s == laOwner && k == "metadata":
		return laMetadata
	case s == laMetadata && k == "annotations":
		return laAnnotations
	case s == laAnnotations && k == lastAppliedKey:
		return laRecorded
	}
	return laNone
}

// role is what a value is to the event it sits in.
type role uint8

const (
	roleNone  role = iota
	roleBody       // a request or response body, or an item of one that is a list
	roleItems      // the items of a body that is a list
	roleOp         // an operation of a body that is a JSON patch
)

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
	list := false
	var kr *rule
	var sk *secretKind
	var op patchOp
	if kind != "" {
		if sk = secretKindOf(kind); sk != nil {
			w.object(sk, m, true)
		} else {
			kr = w.r.rules.forKind(kind)
		}
		list = strings.HasSuffix(kind, genericListKind)
		if list && kind != genericListKind {
			c.hint = strings.TrimSuffix(kind, genericListKind)
		}
	}
	// An object's own kind says which rule applies to it; a body (or an
	// item of one) whose kind no rule or secret-bearing kind claims gets
	// the rule of the event's resource.
	switch {
	case kr != nil:
		c.at = kr.root()
	case c.role == roleBody && c.ref != nil && !list && sk == nil:
		c.at = c.ref.root()
	case c.role == roleOp:
		op = w.opValue(m, c.ref)
	}
	// A secret-bearing kind's own annotation is structure's (object).
	if kr != nil || c.role == roleBody && sk == nil {
		c.la = laOwner
	}
	if c.at.live != 0 {
		for k, v := range m {
			if !w.keep(v) && c.at.removes(k, v, m) && !w.setting(v) {
				m[k] = w.mask(v)
				w.rep.add(KindRuleValue)
			}
		}
	}
	w.managed(m)
	w.pair(m)
	w.commandLine(m)
	w.jwk(m)
	w.secretPatch(m)
	nm := w.r.rules.names
	// In a value a credential name labels, a map that names a credential
	// itself (password: beside database:) is the record of one; any
	// other is a map of them.
	record := c.cred && w.record(m)
	// In one, a map that names an object and a key of it (Kubernetes'
	// SecretKeySelector: password: {name: api-basic, key: password}) says
	// where the credential is: its key is a name, if it reads as one
	// (dataKeyName).
	selector := c.cred && isSelector(m)
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
		cc.plain = nm.plainMap(k)
		if k != "items" {
			cc.hint = ""
		}
		cc.at = c.at.child(k)
		cc.ref, cc.role = nil, roleNone
		// Only containers pass the credential context on: a string's is
		// settled here, not below.
		cc.cred, cc.under = false, ""
		switch v.(type) {
		case map[string]any, []any:
			cc.cred = nm.credentialUnder(c.cred, c.plain, cc.plain, k, record)
		}
		if _, isMap := v.(map[string]any); isMap && !c.plain {
			cc.under = k
		}
		cc.la = c.la.next(k)
		if c.strict && !c.allowed && w.r.strictAllow[k] {
			cc.allowed = true
		}
		switch {
		case c.role == roleBody && list && k == "items":
			if w.depth >= maxDepth {
				w.replaceIn(m, k)
				continue
			}
			cc.ref, cc.role = c.ref, roleItems
			w.depth++
			if nv, ok := w.sweepValue(v, k, cc); ok {
				m[k] = nv
			}
			w.depth--
			continue
		case op.ok && k == "value":
			cc.at, cc.la = op.at, op.la
			if op.key != "" {
				// A patched annotation is judged as that annotation.
				if nv, ok := w.sweepValue(v, op.key, cc); ok {
					m[k] = nv
				}
				continue
			}
		}
		if s, isStr := v.(string); isStr && keyWord(k) && w.keyed(c) && !w.keep(s) && !nm.setting(s) && !(isSelector(m) && dataKeyName(s)) {
			m[k] = w.mask(s)
			w.rep.add(KindCredentialName)
			continue
		}
		if l, isList := v.([]any); isList && keysWord(k) && w.keyed(c) {
			for i, e := range l {
				if s, isStr := e.(string); isStr && !w.keep(s) && !nm.setting(s) {
					l[i] = w.mask(s)
					w.rep.add(KindCredentialName)
				}
			}
		}
		if (!c.plain || tokenShaped(v)) && w.credentialKey(m, k, v) {
			continue
		}
		if s, isStr := v.(string); isStr && c.cred && !c.plain && !w.keep(s) && !nm.setting(s) && !nm.describesIn(k, record) && !(selector && k == "key" && dataKeyName(s)) {
			m[k] = w.mask(s)
			w.rep.add(KindCredentialName)
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
	// A key was judged by what it said before its secret was removed
	// ({"Bearer <token>": 0}); its value is judged again under the key it
	// now has, as the next pass would, so that redacting twice changes
	// nothing. Once: a key renamed again is left to its own judgement.
	if len(renames) > 0 && !w.resweep {
		w.resweep = true
		w.sweepObject(m, c)
		w.resweep = false
	}
}

// keyed reports whether the map c stands in is under a name that its
// member key completes into a credential name (names.keyPrefixName).
func (w *walker) keyed(c sctx) bool {
	return c.under != "" && w.r.rules.names.keyPrefixName(c.under)
}

// keyWord and keysWord: a member named key or keys in any case, as
// configuration spelt in PascalCase names it (ASP.NET's "Jwt": {"Key": x}).
func keyWord(k string) bool  { return len(k) == 3 && strings.EqualFold(k, "key") }
func keysWord(k string) bool { return len(k) == 4 && strings.EqualFold(k, "keys") }

// isSelector reports whether m names a key of a named object: a name and
// a key, both strings.
func isSelector(m map[string]any) bool {
	_, name := m["name"].(string)
	_, key := m["key"].(string)
	return name && key
}

// fetchedInto reports whether s, under k, names the key of a Secret that
// a value fetched from elsewhere is written to: External Secrets' data
// items and PushSecret matches ({secretKey: password, remoteRef: {key:
// prod/db}}) say which key receives what remoteRef points at, and the
// value, held by the store, is not in the object. A secretKey beside no
// remoteRef (MinIO's, an S3 client's) is still judged by its name.
func fetchedInto(m map[string]any, k, s string) bool {
	if k != "secretKey" || !dataKeyName(s) {
		return false
	}
	_, ok := m["remoteRef"].(map[string]any)
	return ok
}

// dataKeyName reports whether s reads as the name of a key of a Secret's
// or ConfigMap's data: letters of one case, digits and . _ -, not shaped
// like a generated value (password, tls.key, api-token, AWS_SECRET_KEY).
func dataKeyName(s string) bool {
	return len(s) <= 253 && !generated(s) && oneCase(s, func(_ int, c byte) bool {
		return isDigit(c) || c == '.' || c == '_' || c == '-'
	})
}

// record reports whether a member of m names a credential: holds one
// (password) or says where one is (passwordSecretRef, token_file).
func (w *walker) record(m map[string]any) bool {
	for k := range m {
		if w.r.rules.names.mentions(k) {
			return true
		}
	}
	return false
}

// patchOp is what an operation of a JSON patch body says about its value:
// where it lands in an object of the event's resource (at), and the
// annotation it sets, if that annotation holds an object (key).
type patchOp struct {
	ok  bool
	at  pos
	la  laStep
	key string
}

// opValue judges the value of a JSON-patch operation m where the
// operation puts it, in an object of the event's resource (to which ru,
// if any, applies): by the rule, and by managedFields removal.
func (w *walker) opValue(m map[string]any, ru *rule) patchOp {
	o, _ := m["op"].(string)
	path, ok := m["path"].(string)
	v, has := m["value"]
	if !ok || !knownOps[o] || !has || path != "" && path[0] != '/' || strings.Count(path, "/") > maxPointer {
		return patchOp{}
	}
	if path == "" {
		return patchOp{ok: true, at: ru.root(), la: laOwner}
	}
	parent, last := ru.root(), ""
	for rest := path[1:]; ; {
		tok, after, more := strings.Cut(rest, "/")
		tok = unescapePointer(tok)
		if !more {
			last = tok
			break
		}
		if isIndex(tok) {
			tok = itemStep
		}
		parent, rest = parent.child(tok), after
	}
	r := patchOp{ok: true}
	if !w.keep(v) && parent.removes(last, v, nil) {
		m["value"] = w.mask(v)
		w.rep.add(KindRuleValue)
		return r
	}
	if w.r.dropManaged && (path == "/metadata/managedFields" || strings.HasPrefix(path, "/metadata/managedFields/")) {
		m["value"] = w.r.mark
		w.rep.add(KindManagedFields)
		return r
	}
	if md, isMap := v.(map[string]any); isMap && path == "/metadata" && w.r.dropManaged {
		if _, ok := md["managedFields"]; ok {
			delete(md, "managedFields")
			w.rep.add(KindManagedFields)
		}
	}
	step := last
	if isIndex(step) {
		step = itemStep
	}
	r.at = parent.child(step)
	switch {
	case path == "/metadata":
		r.la = laMetadata
	case path == "/metadata/annotations":
		r.la = laAnnotations
	case strings.HasPrefix(path, "/metadata/annotations/") && strings.Count(path, "/") == 3 && w.r.rules.objectAnnotations[last]:
		r.key = last
		if last == lastAppliedKey {
			r.la = laRecorded
		}
	}
	return r
}

// tokenShaped reports whether v is a string shaped like a generated
// credential: a run of at least minTokenRun letters and digits, both
// mixed in, unbroken by the separators names and versions use. Keys of
// plain maps (labels, selectors) are not judged as credential names, so
// that `secret-store: vault` survives; but a label named api-token whose
// value is such a run is a credential in the one place no rule looks.
func tokenShaped(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) < minTokenRun {
		return false
	}
	run, letters, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			switch {
			case '0' <= c && c <= '9':
				run, digits = run+1, digits+1
				continue
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
				run, letters = run+1, letters+1
				continue
			}
		}
		if run >= minTokenRun && letters >= 2 && digits >= 2 {
			return true
		}
		run, letters, digits = 0, 0, 0
	}
	return false
}

// minTokenRun is the shortest run tokenShaped takes for a credential:
// shorter mixed runs are versions, hashes of templates, dates.
const minTokenRun = 16

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
// string, a number (a PIN, a numeric password) or a list of them (a map
// under such a key is walked: its own keys say more). It reports whether
// it handled the member.
func (w *walker) credentialKey(m map[string]any, k string, v any) bool {
	switch x := v.(type) {
	case string:
		if w.keep(x) || !w.r.rules.names.value(k, x) || w.setting(x) || fetchedInto(m, k, x) {
			return false
		}
		m[k] = w.mask(x)
		w.rep.add(KindCredentialName)
		return true
	case []any:
		if len(x) == 0 {
			return false
		}
		if !w.r.rules.names.credential(k) {
			// A name whose value's shape decides judges each string.
			if w.r.rules.names.shapedName(k) {
				for i, e := range x {
					if s, ok := e.(string); ok && !w.keep(s) && generated(s) {
						x[i] = w.mask(s)
						w.rep.add(KindCredentialName)
					}
				}
			}
			return false
		}
		numbers := w.r.rules.names.numeric(k)
		for i, e := range x {
			if s, ok := e.(string); ok && !w.keep(s) || numbers && isNumber(e) {
				x[i] = w.mask(e)
				w.rep.add(KindCredentialName)
			}
		}
		return false // maps inside are still walked
	}
	if isNumber(v) && w.r.rules.names.numeric(k) {
		m[k] = w.mask(v)
		w.rep.add(KindCredentialName)
		return true
	}
	return false
}

// setting reports whether v is a string that is a setting about a
// credential, not one (names.setting): what a rule names is not removed
// when it is one.
func (w *walker) setting(v any) bool {
	s, ok := v.(string)
	return ok && (w.r.rules.names.setting(s) || w.templated(s))
}

// templatePlaceholder stands for a template's actions in the text
// templated judges: a plain word, which the patterns take for a value.
const templatePlaceholder = "kauditplaceholder"

// templated reports whether v, a value a credential name labels, is a
// template whose credentials are all its placeholders: with each action
// ({{ .password }}, of the {{ }} of references) replaced by a plain
// word, the content scanner finds credential slots (a URL's password, a
// DSN's password=, a config line's password:) and each holds only that
// word (External Secrets' postgres://{{ .username }}:{{ .password }}@db/app).
// A template whose literal text holds a credential, or in which the
// scanner finds no slot (a password written around an action,
// x{{ .suffix }}), is judged as any value is.
func (w *walker) templated(v string) bool {
	if len(v) > maxTemplate || !strings.Contains(v, "{{") {
		return false
	}
	var b strings.Builder
	actions := 0
	for rest := v; ; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 || !w.r.rules.names.reference(rest[i:i+j+2]) {
			return false
		}
		b.WriteString(rest[:i])
		b.WriteString(templatePlaceholder)
		actions++
		rest = rest[i+j+2:]
	}
	t := b.String()
	sc := w.r.rules.scanner
	only := true
	_, n := sc.scanSet(t, sc.candidates(t), func(x string) string {
		only = only && x == templatePlaceholder
		return x
	}, w.isMarkerText)
	return actions > 0 && n > 0 && only
}

// maxTemplate bounds the values templated reads: a template under a
// credential name is one connection string or config line, not a file.
const maxTemplate = 4096

// boolWord reports whether a string is a switch (--anonymous-auth=false,
// SESSION_COOKIE_SECURE: "true"): what a credential name labels that way is
// a setting about credentials, never one.
func boolWord(s string) bool {
	var w string
	switch len(s) {
	case 2:
		w = "no|on"
	case 3:
		w = "yes|off"
	case 4:
		w = "true"
	case 5:
		w = "false"
	case 7:
		w = "enabled"
	case 8:
		w = "disabled"
	default:
		return false
	}
	for w != "" {
		var one string
		one, w, _ = strings.Cut(w, "|")
		if s[0]|0x20 == one[0] && strings.EqualFold(s, one) {
			return true
		}
	}
	return false
}

// isNumber reports whether v is a number as a decoded event holds one.
func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, int64, uint64, float64, int, int32, uint32, float32:
		return true
	}
	return false
}

// pair handles the name/value shape of env vars, probe httpHeaders, Tekton
// and Argo CD parameters, Helm --set lists: the value is named by name.
// A JSON-patch operation is the same with its path naming the value.
func (w *walker) pair(m map[string]any) {
	w.cause(m)
	w.pairValues(m)
	v := m["value"]
	_, ok := w.pairable(v)
	if !ok {
		return
	}
	if _, isOp := m["op"].(string); isOp {
		path, _ := m["path"].(string)
		last := path[strings.LastIndexByte(path, '/')+1:]
		if (w.r.rules.names.labelsValue(unescapePointer(last), v) || w.r.rules.secretAnnotations[unescapePointer(last)] || w.r.rules.names.pairIndexPath(path) || secretDataPath(path) || w.credentialPathValue(path, v)) && !w.setting(v) {
			m["value"] = w.mask(v)
			w.rep.add(KindCredentialName)
		}
	}
}

// credentialPathValue reports whether v, a JSON-patch operation's value
// at path, is a string the sweep would remove from the patched object
// (credentialPath); a selector's key that reads as a data key's name
// (credentials/secretRef/key: aws-creds) says where one is.
func (w *walker) credentialPathValue(path string, v any) bool {
	s, isStr := v.(string)
	if !isStr {
		return false
	}
	last, ok := w.r.rules.names.credentialPath(path)
	return ok && !(last == "key" && dataKeyName(s))
}

// jwkPrivate are the members of a JSON Web Key (RFC 7518) that hold its
// private or symmetric key: RSA d, p, q, dp, dq, qi; EC and OKP d; oct k.
var jwkPrivate = [...]string{"d", "p", "q", "dp", "dq", "qi", "k"}

// jwk removes the private members of a JSON Web Key (an object with kty),
// wherever it sits: names of one letter say nothing by themselves.
func (w *walker) jwk(m map[string]any) {
	if _, ok := m["kty"].(string); !ok {
		return
	}
	for _, k := range jwkPrivate {
		if s, ok := m[k].(string); ok && !w.keep(s) {
			m[k] = w.mask(s)
			w.rep.add(KindCredentialName)
		}
	}
}

// pairNameKeys, with pairValue, are the spellings of a name/value pair:
// env vars and parameters (name/value), settings lists (key/value),
// Keycloak credentials (type/value), CloudFormation parameters
// (ParameterKey/ParameterValue), Tekton and Argo parameters
// (name/default), header lists (headerName/headerValue, header/value),
// operators' own settings lists (parameter/val, field/data, id/value,
// property/setting, attr/val, option/arg, label/text, name/content: a
// list of files or form fields), and their capitalised and abbreviated
// forms. pairNameKeys give the screen's slot.
var pairNameKeys = [...]struct {
	key  string
	slot int
}{{"name", 0}, {"key", 1}, {"type", 2}, {"Name", 0}, {"Key", 1}, {"Type", 2}, {"ParameterKey", 1}, {"headerName", 0}, {"variable", 0}, {"param", 0}, {"parameter", 0}, {"header", 0}, {"field", 0}, {"label", 0}, {"option", 0}, {"k", 1}, {"id", 1}, {"property", 1}, {"attr", 1}, {"attribute", 1}}

// pairable says whether a pair's value v is one a name can make a
// credential (ok false: absent, not a string or number, empty, removed
// already, or a switch), and whether it is a number, which names judge
// as names.labels does.
func (w *walker) pairable(v any) (number, ok bool) {
	if x, isStr := v.(string); isStr {
		return false, !w.keep(x) && !boolWord(x)
	}
	return true, isNumber(v)
}

// pairValues removes the value of a name/value pair whose name names a
// credential, in any spelling of pairValue and pairNameKeys, and the
// strings of values: [...] beside such a name.
func (w *walker) pairValues(m map[string]any) {
	if len(m) < 2 {
		return // a pair is a name and a value
	}
	nm := w.r.rules.names
	// The members are fewer than the spellings in most maps: reading
	// them costs less than looking each spelling up.
	for vk, v := range m {
		if !pairValue(vk) {
			continue
		}
		if _, ok := w.pairable(v); !ok {
			continue
		}
		named := false
		for _, nk := range pairNameKeys {
			if name, ok := m[nk.key].(string); ok && nm.labelsValue(name, v) {
				named = true
				break
			}
		}
		// A file given by its path and content (cloud-init's
		// write_files, Cluster API's and Talos' files) is named by the
		// path's last segment: /etc/registry-auth, /root/.netrc.
		if p, ok := m["path"].(string); ok && !named {
			named = nm.labelsValue(pathName(p), v)
		}
		if named && !w.setting(v) {
			m[vk] = w.mask(v)
			w.rep.add(KindCredentialName)
		}
	}
	vs, ok := m["values"].([]any)
	if !ok || len(vs) == 0 {
		return
	}
	for _, nk := range pairNameKeys {
		if name, ok := m[nk.key].(string); ok && nm.credential(name) {
			for i, e := range vs {
				if s, ok := e.(string); ok && !w.keep(s) && !nm.setting(s) {
					vs[i] = w.mask(s)
					w.rep.add(KindCredentialName)
				}
			}
			return
		}
	}
}

// pathName is the last segment of a path, as a JSON pointer spells it
// (a file's path has no escapes to undo): the name of what it reaches.
func pathName(p string) string {
	return unescapePointer(p[strings.LastIndexByte(p, '/')+1:])
}

// pairIndexPath reports whether a JSON-patch path sets the value of an
// item of a name/value list by index (/spec/containers/0/env/3/value,
// /spec/params/2/value): the name is not in the patch, so the value cannot
// be shown to be harmless. The lists are pair_lists.
func (n *names) pairIndexPath(path string) bool {
	i := strings.LastIndexByte(path, '/')
	if i < 0 || !pairValue(path[i+1:]) {
		return false
	}
	rest := path[:i]
	i = strings.LastIndexByte(rest, '/')
	if i < 0 || !isIndex(rest[i+1:]) {
		return false
	}
	rest = rest[:i]
	return n.pairLists[rest[strings.LastIndexByte(rest, '/')+1:]]
}

// credentialPath reports whether a JSON-patch path reaches its value
// through a member that names a credential (/spec/secureJsonData/
// httpHeaderValue1, /spec/credentials/value) with no member after it
// that describes the value instead (a name, a key, a secretRef), nor a
// plain map (labels) between: where, in the object the patch changes,
// the sweep removes every string (sctx.cred). last is the path's last
// segment, the value's own name. Which members are siblings is not in
// the patch, so each is judged as in a map of credentials, not a record
// of one: the judgement that removes more.
func (n *names) credentialPath(path string) (last string, ok bool) {
	if len(path) < 2 || path[0] != '/' {
		return "", false
	}
	cred, plain := false, false
	for rest := path[1:]; ; {
		tok, after, more := strings.Cut(rest, "/")
		tok = unescapePointer(tok)
		if !more {
			return tok, cred && !n.describesIn(tok, false)
		}
		if !isIndex(tok) {
			p := n.plainMap(tok)
			cred, plain = n.credentialUnder(cred, plain, p, tok, false), p
		}
		rest = after
	}
}

// plainMap reports whether a member named k is one of plain_maps, whose
// keys are not judged as credential names.
func (n *names) plainMap(k string) bool {
	return len(k) <= maxPlainKey && len(k) >= 6 && n.plainMaps[k]
}

// credentialUnder reports whether the container under member k is inside
// a value a credential name labels (sctx.cred): k names a credential, or
// its map was inside one and k does not describe it; never under a plain
// map or in one. The sweep of an object and the walk of a JSON-patch path
// share it.
func (n *names) credentialUnder(cred, parentPlain, plain bool, k string, record bool) bool {
	return !parentPlain && !plain && (cred && !n.describesIn(k, record) || n.credential(k))
}

// secretPatch removes the patch of a kustomize patch entry (kustomize's,
// Flux's and Argo CD's patches, patchesJson6902) whose target is a
// Secret: its text is a JSON or strategic merge patch of the Secret, and
// the data keys it sets may have any name (path: /data/extra), which
// nothing in the text tells from a ConfigMap's. A patch that names no
// data (labels, annotations) is kept.
func (w *walker) secretPatch(m map[string]any) {
	p, ok := m["patch"].(string)
	if !ok || w.keep(p) || !patchTouchesData(p) {
		return
	}
	t, _ := m["target"].(map[string]any)
	if k, _ := t["kind"].(string); !strings.EqualFold(strings.TrimSpace(k), "Secret") {
		return
	}
	m["patch"] = w.mask(p)
	w.rep.add(KindSecretData)
}

// patchTouchesData reports whether a patch text names data as a word
// (/data/extra, data:, "data", Data: as spellings are judged), which
// only a Secret's data map is among the patches' targets: metadata is
// no such word, and stringData, which only a Secret has, is judged
// wherever it sits (patch_string_data, secretDataPath). The screen asks
// it of every patch string, whatever its target.
func patchTouchesData(p string) bool {
	for i := 0; i+4 <= len(p); i++ {
		if p[i]|0x20 == 'd' && p[i+1]|0x20 == 'a' && p[i+2]|0x20 == 't' && p[i+3]|0x20 == 'a' &&
			(i == 0 || !isLetter(p[i-1])) && (i+4 == len(p) || !isLetter(p[i+4])) {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// secretDataPath reports whether a JSON-patch path sets a member of
// stringData, which only a Secret has: a patch that carries one (a
// kustomize patch in a string, a patch recorded on another resource) sets
// a secret's value whatever its key.
func secretDataPath(path string) bool {
	return strings.Contains(path, "/stringData/")
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
	c.at = c.at.child(itemStep)
	switch c.role {
	case roleBody:
		c.role = roleOp
	case roleItems:
		c.role = roleBody
	default:
		c.role, c.ref = roleNone, nil
	}
	var argv map[int]bool
	if cmd {
		argv = w.argvSpans(arr)
	}
	for i, e := range arr {
		// A flag naming a credential names the element after it in any
		// array of strings, not only under args and command: custom
		// resources carry command lines under names of their own.
		if s, ok := e.(string); ok && !w.keep(s) {
			if c.cred && !w.r.rules.names.setting(s) {
				arr[i] = w.mask(s)
				w.rep.add(KindCredentialName)
				continue
			}
			if cmd && mysql && len(s) > 2 && strings.HasPrefix(s, "-p") && !w.isMarkerText(s[2:]) {
				arr[i] = "-p" + w.maskString(s[2:])
				w.rep.add(KindCredentialName)
				continue
			}
			if i > 0 {
				// An absolute path names where a credential is, as it
				// does after --flag= (referenceValue): --kubelet-client-key
				// /etc/kubernetes/pki/apiserver-kubelet-client.key.
				if prev, ok := arr[i-1].(string); ok && strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") && w.r.rules.names.value(prev, s) && !strings.HasPrefix(s, "-") && !filePath(s) && !w.r.rules.names.reference(s) {
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
		if sub, ok := e.([]any); ok {
			w.tuple(sub)
		}
		if nv, ok := w.sweepValue(e, key, c); ok {
			arr[i] = nv
		}
	}
}

// commandLine judges a container's command and args as the one command
// line they make: the program is often in command and its flags in args
// (command: [sshpass], args: [-px, ssh, host]; command: [7z], args: [x,
// -px, a.7z]), and a flag that is a password only for its program shows
// in neither array alone. What a pattern finds across the two is removed
// from args; what one array shows by itself is left to its own sweep.
func (w *walker) commandLine(m map[string]any) {
	cmd, ok := m["command"].([]any)
	if !ok || len(cmd) == 0 {
		return
	}
	args, ok := m["args"].([]any)
	if !ok || len(args) == 0 {
		return
	}
	line := make([]any, 0, len(cmd)+len(args))
	line = append(append(line, cmd...), args...)
	spans := w.argvSpans(line)
	for i, e := range args {
		if s, ok := e.(string); ok && spans[len(cmd)+i] && !w.keep(s) {
			args[i] = w.mask(s)
			w.rep.add(KindContent)
		}
	}
}

// filePath reports whether s is an absolute file path: a slash, then
// path characters only (no space, no second colon-separated part).
func filePath(s string) bool {
	if len(s) < 2 || s[0] != '/' || s[1] == '/' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// tuple removes the value of a pair written as a list of two in a list of
// them (settings: [["db_password", "x"], ["region", "eu"]]) whose first
// element names a credential.
func (w *walker) tuple(t []any) {
	if len(t) != 2 {
		return
	}
	name, ok := t[0].(string)
	if !ok {
		return
	}
	if _, ok := w.pairable(t[1]); ok && w.r.rules.names.labelsValue(name, t[1]) && !w.setting(t[1]) {
		t[1] = w.mask(t[1])
		w.rep.add(KindCredentialName)
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
		return w.hide(s), true
	}
	// One pass says what else looks at s: structured and escaped are
	// asked only when a form they look for is there.
	lk := w.r.rules.scanner.look(s, true)
	if lk.flags&flagFold != 0 {
		if nv, done := w.folded(s, key, c); done {
			return nv, true
		}
	}
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
	changed := false
	if lk.any && lk.flags&flagNewline != 0 {
		t, ok := w.nestedText(s)
		if !ok {
			t, ok = w.sectionText(s)
		}
		if ok {
			s, changed = t, true
			lk = w.r.rules.scanner.look(s, true)
			set, longRun = lk.set, lk.longRun
		}
	}
	if set.empty() && !longRun {
		if changed {
			return s, true
		}
		return nil, false // the common case: one pass, nothing to look at
	}
	if !changed && w.r.rules.names.reference(s) {
		// A reference, whole, holds no assignment (an ARN's
		// secretsmanager:... is none), but a token of a known format
		// inside one ({{ glpat-... }}) is still that token.
		set = set.and(w.r.rules.scanner.formats)
		if set.empty() {
			return nil, false
		}
		longRun = false
	}
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
	w.rep.addN(KindContent, n)
	return out, true
}

// folded judges a text that holds characters that do not show or letters
// that pass for ASCII ones (pass\u200bword=x, db.pаssword=x with a
// Cyrillic а) as it reads: when the sweep removes something from the
// text so folded, that text, with it removed, replaces the original.
func (w *walker) folded(s, key string, c sctx) (any, bool) {
	if w.edepth >= maxEncodeDepth || len(s) > maxDecoded {
		return nil, false
	}
	t, ok := w.r.rules.names.folded(s)
	if !ok {
		return nil, false
	}
	probe := walker{r: w.r, sdepth: w.sdepth + 1, edepth: w.edepth + 1}
	nv, changed := probe.sweepString(t, key, c)
	if !changed || probe.rep.Empty() {
		return nil, false
	}
	w.rep.Add(probe.rep)
	return nv, true
}

// nestedText judges a YAML text that is no manifest (a config file in a
// ConfigMap) in which a line opens a block under a credential name
// (secrets:, credentials:, passwords:): what sits in that block is the
// credential's, as in an object. The text is parsed and swept as an
// object would be, and each string the sweep changed is replaced where it
// stands in the text, which otherwise stays as it was (strings shorter
// than minNestedValue are left to the patterns: replacing them would
// cut words of the text).
func (w *walker) nestedText(s string) (string, bool) {
	if w.sdepth >= maxSweepDepth || len(s) > maxDecoded || !w.credentialBlock(s) {
		return "", false
	}
	v, ok := parseYAMLDocs(s)
	if !ok {
		return "", false
	}
	orig, _ := parseYAMLDocs(s) // the sweep writes into v: the text is rewritten from what differs
	if d, multi := v.(multiDoc); multi {
		v, orig = []any(d), []any(orig.(multiDoc))
	}
	probe := walker{r: w.r, sdepth: w.sdepth + 1, edepth: w.edepth}
	if nv, ok := probe.sweepValue(v, "", sctx{}); ok {
		v = nv
	}
	if probe.rep.Empty() {
		return "", false
	}
	var pairs [][2]string
	changedStrings(orig, v, &pairs)
	slices.SortFunc(pairs, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
	out, n := s, 0
	for _, p := range pairs {
		// (A marker in the text parses as a list of its word.)
		if len(p[0]) >= minNestedValue && !strings.Contains(w.r.marker, p[0]) && !w.isMarkerText(p[0]) && strings.Contains(out, p[0]) {
			out = strings.ReplaceAll(out, p[0], p[1])
			n++
		}
	}
	if n == 0 {
		return "", false
	}
	w.rep.addN(KindCredentialName, n)
	return out, true
}

// sectionText judges an INI or TOML text in which a section is named by a
// credential name ([credentials], [secrets], [tool.tokens]): the values of
// its key = value (or key: value) lines are the credential's, unless the
// key describes one (name, path, type, region...), the value is a switch,
// a number or a reference, as in an object a credential name labels.
func (w *walker) sectionText(s string) (string, bool) {
	if len(s) > maxDecoded || strings.IndexByte(s, '[') < 0 {
		return "", false
	}
	nm := w.r.rules.names
	var b strings.Builder
	in, n := false, 0
	for rest := s; rest != ""; {
		line, more, nl := strings.Cut(rest, "\n")
		rest = more
		t := strings.TrimSpace(line)
		switch {
		case len(t) > 2 && t[0] == '[' && t[len(t)-1] == ']':
			// A name in brackets, not a line that only starts and ends
			// with them (a list, or text around a removed value's marker).
			inner := t[1 : len(t)-1]
			in = t[1] != '[' && !strings.ContainsAny(inner, "[]=") && nm.credential(strings.Trim(inner, " \t\"'"))
		case in && t != "" && t[0] != '#' && t[0] != ';':
			if i := strings.IndexAny(line, "=:"); i > 0 {
				k := strings.Trim(strings.TrimSpace(line[:i]), `"'`)
				v := strings.TrimSpace(line[i+1:])
				q := strings.Trim(v, `"'`)
				if k != "" && q != "" && !nm.describes(k) && !boolWord(q) && !w.keep(q) && !isDigits(q) && !variableName(q) && !strings.HasPrefix(q, "/") && !strings.HasPrefix(q, "${") {
					j := i + 1 + strings.Index(line[i+1:], q)
					line = line[:j] + w.maskString(q) + line[j+len(q):]
					n++
				}
			}
		}
		b.WriteString(line)
		if nl {
			b.WriteByte('\n')
		}
	}
	if n == 0 {
		return "", false
	}
	w.rep.addN(KindCredentialName, n)
	return b.String(), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// minNestedValue is the shortest string nestedText replaces in a text.
const minNestedValue = 4

// credentialBlock reports whether a line of s opens a YAML block under a
// credential name (`secrets:` alone on its line, a list item's too) or
// under a name that a member key completes into one (`api:`, when the
// text holds a `key:`), or
// holds what only the parsed text shows: a flow collection with a keyword
// in it (command: [app, --password, x], env: [{name: DB_PASSWORD, value:
// x}]), or an alias as the value of a credential name (password: *pw,
// whose value stands at the anchor).
func (w *walker) credentialBlock(s string) bool {
	keyed := strings.Contains(s, "key:")
	for rest := s; rest != ""; {
		line, more, _ := strings.Cut(rest, "\n")
		rest = more
		t := strings.TrimRight(strings.TrimLeft(line, " \t"), " \t\r")
		t = strings.TrimPrefix(t, "- ")
		k, v, ok := strings.Cut(t, ":")
		if !ok || k == "" || strings.ContainsAny(k, " ") {
			continue
		}
		k = strings.Trim(k, `"'`)
		v = strings.TrimLeft(v, " \t")
		switch {
		case v == "" || v[0] == '*':
			if w.r.rules.names.credential(k) || keyed && w.r.rules.names.keyPrefixName(k) {
				return true // a block under password:, or under api: holding key: (keyed)
			}
		case v[0] == '[' || v[0] == '{':
			if w.r.rules.scanner.mayHold(v) {
				return true
			}
		}
	}
	return false
}

// changedStrings appends, for each string of a that b (a swept copy of
// it) holds changed, the string and what replaced it.
func changedStrings(a, b any, out *[][2]string) {
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			if x != y {
				*out = append(*out, [2]string{x, y})
			}
		}
	case map[string]any:
		y, _ := b.(map[string]any)
		for k, av := range x {
			bv, ok := y[k]
			if !ok {
				continue
			}
			changedStrings(av, bv, out)
		}
	case []any:
		y, _ := b.([]any)
		for i, av := range x {
			if i < len(y) {
				changedStrings(av, y[i], out)
			}
		}
	}
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
	var ok, flow bool
	if isJSON {
		v, ok = parseJSON(s)
		if !ok && !objAnn && c.la != laRecorded {
			// Not JSON, but a YAML flow collection can look like it:
			// [--password, x], {user: app, token: x}. It is written back
			// as JSON, which is YAML's flow style too.
			v, ok = parseYAMLDocs(t)
			flow = ok
		}
	} else {
		v, ok = parseYAMLDocs(t)
	}
	if ok && (flow || isYAML) && strings.Contains(t, w.r.marker) {
		v = w.readMarkers(v)
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
	// What a string holds starts a new object: no position or role of the
	// one around it carries over.
	inner := c
	inner.hint, inner.at, inner.ref, inner.role, inner.la = "", pos{}, nil, roleNone, laNone
	if nv, ok := w.sweepValue(v, key, inner); ok {
		v = nv
	}
	w.sdepth--
	if c.la == laRecorded && isJSON {
		if nv, done := w.recorded(s, v, before); done {
			return nv, true
		}
	}
	if w.rep == before {
		// JSON parsed strictly is all there is; YAML can hold comments
		// the parse drops, so its raw text is scanned as well.
		return nil, isJSON && !flow
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

// structural are the kinds of removal that structure (a secret-bearing
// kind, a rule, managedFields) makes in an object.
var structural = [...]Kind{KindSecretData, KindToken, KindRuleValue, KindLastApplied, KindManagedFields, KindPatchValue}

// recorded finishes the sweep of a last-applied annotation, which records
// an object as kubectl applied it. What structure removed in it is
// reported as one rewrite of the annotation (last_applied), as on the
// object itself; and when the object is of a kind that structure claims,
// the annotation is written back re-serialised even if nothing was
// removed, so a duplicate key the parser dropped cannot carry a value
// through. done is false when neither applies; nv is nil when the
// annotation stays as it is.
func (w *walker) recorded(s string, v any, before Report) (nv any, done bool) {
	m, _ := v.(map[string]any)
	kind, _ := m["kind"].(string)
	claimed := kind != "" && (secretKindOf(kind) != nil || w.r.rules.forKind(kind) != nil)
	n := 0
	for _, k := range structural {
		n += w.rep.n[k] - before.n[k]
	}
	if n == 0 && !claimed {
		return nil, false
	}
	out, err := marshalRecorded(s, v)
	if err != nil {
		return w.failClosed(s), true
	}
	for _, k := range structural {
		w.rep.n[k] = before.n[k]
	}
	switch {
	case n > 0:
	case w.rep == before:
		if out != s {
			n = 1
		}
	default:
		// Only the rest of the sweep removed something: the rewrite
		// counts if the annotation was not in kubectl's own encoding.
		if orig, ok := parseJSON(s); ok {
			if canon, err := marshalRecorded(s, orig); err == nil && canon != s {
				n = 1
			}
		}
	}
	if n > 0 {
		w.rep.add(KindLastApplied)
	}
	if out == s {
		return nil, true
	}
	return out, true
}

// marshalRecorded encodes v as kubectl writes the annotation s: compact,
// sorted keys, HTML-escaped, s's trailing newline kept.
func marshalRecorded(s string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(s, "\n") {
		b = append(b, '\n')
	}
	return string(b), nil
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
	// A long run, or a dotted run (a token shape, headRun).
	run, dotted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '=' {
			if run++; run >= minEncoded || dotted && run >= dottedRun {
				return true
			}
		} else {
			dotted = c == '.' && run == dottedHead
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
	return manifestStart(t) || (strings.Contains(t, "\napiVersion:") && strings.Contains(t, "\nkind:"))
}

// manifestStart reports whether t begins as a YAML manifest or stream does.
func manifestStart(t string) bool {
	return strings.HasPrefix(t, "apiVersion:") || strings.HasPrefix(t, "kind:") || strings.HasPrefix(t, "---")
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

// readMarkers gives back the marker where YAML read it as a list: a value
// that patterns replaced in the text is written there bare, and the default
// marker, "[REDACTED]", is a flow sequence of one word to YAML. Read as a
// list, it would be a new value under the credential's name, removed and
// counted again each time the event passes, and redaction would never be
// done with its own output.
func (w *walker) readMarkers(v any) any {
	m := w.r.marker
	if len(m) < 3 || m[0] != '[' || m[len(m)-1] != ']' {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = w.readMarkers(e)
		}
	case multiDoc:
		for i, e := range x {
			x[i] = w.readMarkers(e)
		}
	case []any:
		if len(x) == 1 && x[0] == m[1:len(m)-1] {
			return m
		}
		for i, e := range x {
			x[i] = w.readMarkers(e)
		}
	}
	return v
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
		// Binary: a protobuf, an archive, a keystore. The text it carries
		// (a Helm 2 release's manifest inside its gzip'd protobuf) is
		// judged by its printable runs.
		if b = printableRuns(b); len(b) == 0 {
			return nil, false
		}
	}
	probe := walker{r: w.r, sdepth: w.sdepth + 1, edepth: w.edepth + 1}
	probe.sweepString(string(b), "", sctx{})
	if probe.rep.Empty() {
		return nil, true
	}
	w.rep.add(KindEncoded)
	return w.mask(s), true
}

// printableRuns returns the runs of printable text in b that are at least
// minTextRun bytes long, one a line: what strings(1) shows of a binary.
func printableRuns(b []byte) []byte {
	var out []byte
	start := -1
	for i := 0; i <= len(b); i++ {
		if i < len(b) && (b[i] >= 0x20 && b[i] < 0x7f || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= minTextRun {
			out = append(append(out, b[start:i]...), '\n')
		}
		start = -1
	}
	return out
}

// minTextRun is the shortest printable run of a binary worth judging:
// shorter ones are mostly bytes of the encoding that happen to print.
const minTextRun = 8

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
// in a URL), JSON-escaped (a JSON string literal inside a string,
// \u0022-escaped text) or HTML-escaped (&quot;, &lt;) by what it
// unescapes to, as encoded does base64:
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

// unescapeText returns s percent-decoded, JSON-unquoted or with its HTML
// character references replaced, when it is so
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
			// Not one literal's inside: a text that holds literals
			// (a YAML value in double quotes holding JSON, other: "{\"k\":
			// ...}"), each judged by what it unquotes to.
			var ok bool
			if t, ok = unquoteLiterals(s); !ok {
				return "", false
			}
		}
	case hasPercentEscape(s):
		var err error
		if t, err = url.PathUnescape(s); err != nil {
			return "", false
		}
	case hasEntity(s):
		t = html.UnescapeString(s)
	default:
		return "", false
	}
	return t, t != s
}

// unquoteLiterals returns s with each double-quoted JSON string literal
// that holds an escape and unquotes to a JSON object
// replaced by what it unquotes to, when one is; an escaped quote in a
// plain value (password="a\"b") is the scanner's, which keeps its key.
func unquoteLiterals(s string) (string, bool) {
	var b strings.Builder
	last, changed := 0, false
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		esc := false
		j := i + 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' {
				esc = true
				j++
			}
		}
		if j >= len(s) {
			break
		}
		var t string
		if esc && json.Unmarshal([]byte(s[i:j+1]), &t) == nil && opensObject(t) {
			b.WriteString(s[last:i])
			b.WriteString(t)
			last, changed = j+1, true
		}
		i = j
	}
	if !changed {
		return "", false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// escapedForm reports, without allocating, whether unescapeText could
// change s.
func escapedForm(s string) bool {
	return quotedForm(s) || strings.Contains(s, `\u`) || strings.Contains(s, `\"`) || hasPercentEscape(s) || hasEntity(s)
}

// hasEntity reports whether s holds one of entityForms (HTML-escaped XML
// or JSON in a config value).
func hasEntity(s string) bool {
	return anyAt(s, '&', func(rest string) bool {
		for _, e := range entityForms {
			if literal.HasPrefixFold(rest, e) {
				return true
			}
		}
		return false
	})
}

// quotedForm is the part of escapedForm that the scanner's pass does not
// find (look.escape has the rest).
func quotedForm(s string) bool { return len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' }

func hasPercentEscape(s string) bool {
	return anyAt(s, '%', func(rest string) bool {
		return len(rest) > 2 && isHex(rest[1]) && isHex(rest[2])
	})
}

// anyAt reports whether at holds for the text from some occurrence of c
// in s on.
func anyAt(s string, c byte, at func(rest string) bool) bool {
	for i := strings.IndexByte(s, c); i >= 0; {
		if at(s[i:]) {
			return true
		}
		j := strings.IndexByte(s[i+1:], c)
		if j < 0 {
			return false
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
		if s, ok := e.(string); ok && !sc.hits(s, false).empty() {
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
				if w.keep(s) || w.r.rules.names.reference(s) || len(sc.spans(s, w.isMarkerText)) > 0 {
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
		if w.keep(q[1 : len(q)-1]) {
			return q
		}
		w.rep.add(KindCredentialName)
		return `"` + w.maskString(q[1:len(q)-1]) + `"`
	})
	if out != msg {
		m["message"] = out
	}
}
