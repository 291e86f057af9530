package redact

import (
	"slices"
	"strings"
	"unsafe"
)

// A Screen proves, from an event's tokens as they are read from the input,
// that Redact would change nothing in it (apart from dropping
// managedFields, which the screen does itself), so the event can leave
// without a tree walk. The judgements are the sweep's own (scanner,
// credential names, rules, annotation lists) on every key and string; what
// depends on siblings (a name beside a value, a patch path, a command
// line) is settled when their container closes; a string the cheap checks
// cannot clear is put to the sweep itself. What the tokens cannot show (a
// body under a secret-bearing objectRef, a patch body, a record member
// that holds an event) fails the screen, and the caller redacts the tree
// as before. Failing is always safe; passing must imply that Redact finds
// nothing, which the tests check on every corpus against the full path.
//
// Feed it Open/Close for containers, Key for member names, String for
// string values and Number for numbers, in document order; booleans and
// nulls need no call. A Screen is for one event and one goroutine.
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
	dropped     int
	// A member some rule of rules: could remove (ruleKey) matters only in
	// an event holding an object that rule applies to: a body of the
	// resource it names, or an object whose kind it claims, wherever that
	// sits. ruleKeyMet holds the rules (their bits) that could remove a
	// member read so far, ruleRoot those with such an object; the screen
	// fails when a rule is in both, in whichever order the tokens show
	// them (a custom resource's body may name its kind last).
	ruleKeyMet, ruleRoot uint64
	// seen remembers what this Screen cleared, for the next events.
	seen seen
}

// seen is a Screen's own memory of the map keys it found harmless: the
// vocabulary of audit events (field names), which the Redactor's shared
// memory holds behind a hash lookup. It is exact (whole keys are
// compared), belongs to one goroutine, and forgets everything when its
// Redactor changes or its copies fill a block, so it holds no input and
// stays a fixed size. (Short values, remembered the same way, cost more
// than they saved: names and addresses rarely come back.)
type seen struct {
	r    *Redactor
	keys [seenKeys]string
	// ruled holds the rules that could remove a key's member (ruleKey).
	ruled [seenKeys]uint64
	block []byte
}

const (
	seenKeys  = 512
	seenBlock = 8 << 10
)

// spot is a cheap index: length and three bytes tell most keys apart,
// and a clash only costs a lookup.
func spot(s string) uint {
	n := uint(len(s))
	if n == 0 {
		return 0
	}
	return n*0x9e37 ^ uint(s[0])<<3 ^ uint(s[n-1])<<7 ^ uint(s[n/2])*0x2d
}

func (c *seen) use(r *Redactor) {
	if c.r != r {
		c.forget()
		c.r = r
	}
}

func (c *seen) forget() {
	c.keys = [seenKeys]string{}
	c.ruled = [seenKeys]uint64{}
	c.block = nil
}

// keep returns a copy of s in the block; ok is false when the block was
// full and everything was forgotten.
func (c *seen) keep(s string) (string, bool) {
	if len(s) > cap(c.block)-len(c.block) {
		full := c.block != nil
		c.forget()
		c.block = make([]byte, 0, seenBlock)
		if full {
			return "", false
		}
	}
	start := len(c.block)
	c.block = append(c.block, s...)
	return unsafe.String(unsafe.SliceData(c.block[start:]), len(s)), true
}

// key reports whether k was cleared, and whether a rule looks at it.
func (c *seen) key(k string) (hit bool, ruled uint64) {
	i := spot(k) % seenKeys
	return c.keys[i] == k, c.ruled[i]
}

func (c *seen) addKey(k string, ruled uint64) {
	if len(k) > 64 {
		return
	}
	if kk, ok := c.keep(k); ok {
		i := spot(k) % seenKeys
		c.keys[i], c.ruled[i] = kk, ruled
	}
}

type frame struct {
	isMap bool
	under string // the key this container is the value of
	key   string // maps: the current member's key
	// What the members read so far say about their siblings, settled at
	// Close: a name/key/type naming a credential beside a value (env,
	// settings, credential pairs), a JSON-patch path naming one beside op
	// and value, a Status cause's field naming one beside a message that
	// quotes. credKey: the current member's key names a credential;
	// shapedKey: it is one of shaped_names, whose value's shape decides;
	// genValue: a value of the pair is shaped like a generated
	// credential, which a name of shaped_names beside it makes one;
	// opaqueVal: one is shaped like a generated key (opaque), which any
	// name but an identifier's makes one (opaqueName).
	credKey, shapedKey, genValue, opaqueVal, hasValue, hasOp, quotedMsg bool
	// The strings judged at Close, and only then if their sibling is
	// there: names are mostly object names, too many to remember.
	pairNames [3]string // name, key, type (pairNameKeys' slots)
	// pairMore: a second name of one slot came (headerName beside
	// name): the names are not all kept, so a value beside them fails.
	pairMore       bool
	path, causeFld string
	// Arrays: cred when under a credential key; prevFlag when the last
	// element was a flag naming a credential; argv holds a command line's
	// elements, judged as a whole when one of them needs it.
	// shaped when under a name of shaped_names, whose generated strings
	// go.
	// anyFlag: the last element was a flag, whose name judges a value
	// shaped like a generated key after it (opaqueName).
	cred, shaped, prevFlag, isArgv, argvSuspect bool
	anyFlag                                     string
	// credCtx: inside a value a credential name labels, whose strings
	// the sweep removes unless their names describe the credential.
	credCtx bool
	argv    []any
	// Maps: the strings of a command and an args member read so far,
	// judged together at Close (commandLine) when either array was
	// suspect.
	cmdLine, argsLine []any
	lineSuspect       bool
	// Arrays in arrays: a pair written as a list of two (tuple) is
	// settled at Close by its first element; elems counts the strings,
	// numbers and containers read (booleans and nulls are not fed, so
	// the count can only make the screen fail where the sweep finds a
	// third element).
	inList     bool
	elems      int
	first      string
	secondNum  bool
	secondText bool
	// secondOpaque: the second element is shaped like a generated key.
	secondOpaque bool
}

const screenDepth = 64

// Reset starts the proof for one event. A Redactor whose mode rewrites
// every string (strict) fails every screen. The frames are not cleared:
// Open writes each before use, so a pooled Screen costs nothing to reuse.
func (s *Screen) Reset(r *Redactor, ev map[string]any, policyOmitsManaged bool) {
	s.r, s.rep, s.depth, s.policyOmits, s.failed, s.dropped = r, Report{}, 0, policyOmitsManaged, false, 0
	s.ruleKeyMet = 0
	s.seen.use(r)
	ok, root := false, uint64(0)
	if !r.strict && r.rules != nil {
		ok, root = r.screenable(ev)
	}
	s.failed, s.ruleRoot = !ok, root
}

// screenable checks what the tokens alone cannot show: a body under an
// objectRef of a secret-bearing kind, and a body that is a patch (ok is
// false for those); root holds the rules of rules: that apply to the
// bodies by their resource. The rules' env names are judged wherever they
// sit (ruleName), and their members anywhere in an event holding an object
// of a resource or kind they name, which is more than they claim: a
// superset is safe.
func (r *Redactor) screenable(ev map[string]any) (ok bool, root uint64) {
	body := false
	for _, k := range bodyKeys {
		switch ev[k].(type) {
		case nil:
		case map[string]any:
			body = true
		default:
			return false, 0
		}
	}
	if !body {
		return true, 0
	}
	rf, alt := readRefs(ev)
	if secretKindForRef(rf) != nil || secretKindForRef(alt) != nil {
		return false, 0
	}
	return true, r.rules.forRef(rf).bits() | r.rules.forRef(alt).bits()
}

// OK reports whether everything fed so far passed.
func (s *Screen) OK() bool { return !s.failed }

// Report is what the screen removed itself (managedFields).
func (s *Screen) Report() Report { return s.rep }

// Dropped is the number of members the caller was told to leave out,
// reported or omitted by the policy.
func (s *Screen) Dropped() int { return s.dropped }

// Open enters an object or array that is the value of the current key (or
// element of the current array).
func (s *Screen) Open(isMap bool) {
	if s.depth >= screenDepth {
		s.failed = true
		return
	}
	// Written in place: a frame is large, and a copy would cost as much as
	// clearing it.
	nf := &s.frames[s.depth]
	*nf = frame{isMap: isMap}
	if s.depth > 0 {
		p := &s.frames[s.depth-1]
		nf.under = s.current()
		nf.cred = !isMap && p.isMap && p.credKey
		nf.shaped = !isMap && p.isMap && p.shapedKey
		if p.isMap {
			if p.key == "values" && !isMap {
				p.hasValue = true // values: [...] beside a name (pairValues)
			}
			nf.credCtx = p.credKey || p.credCtx && (!s.r.rules.names.describes(p.key) || s.r.rules.names.purposeName(p.key))
		} else {
			nf.credCtx = p.credCtx
			nf.inList = !isMap
			p.elems++
		}
		p.prevFlag = false
	}
	nf.isArgv = !isMap && argKeys[nf.under]
	s.depth++
}

// Close leaves the innermost container, settling what its members said
// about each other.
func (s *Screen) Close() {
	if s.depth == 0 {
		return
	}
	s.depth--
	f := &s.frames[s.depth]
	if s.failed {
		return
	}
	if f.isMap {
		if s.r.siblingsName(f) || f.lineSuspect && f.cmdLine != nil && f.argsLine != nil && s.r.commandLineRemoves(f.cmdLine, f.argsLine) {
			s.failed = true
		}
		return
	}
	if f.inList && f.elems == 2 && f.first != "" && (f.secondText && s.r.rules.names.labelsSome(f.first) || f.secondNum && s.r.rules.names.numeric(f.first) || f.secondOpaque && s.r.rules.names.opaqueName(f.first)) {
		s.failed = true // a pair as a list of two (tuple)
		return
	}
	if f.argvSuspect {
		// The sweep's own judgement of the command line as a whole (on
		// its own copy: the sweep writes into what it judges).
		w := walker{r: s.r}
		w.sweepArray(f.argv, f.under, sctx{})
		if !w.rep.Empty() {
			s.failed = true
		}
	}
	if f.isArgv && s.depth > 0 {
		if p := &s.frames[s.depth-1]; p.isMap {
			switch f.under {
			case "command":
				p.cmdLine = f.argv
			case "args":
				p.argsLine = f.argv
			}
			p.lineSuspect = p.lineSuspect || f.argvSuspect
		}
	}
}

// commandLineRemoves reports whether the sweep's judgement of a command
// and its args as one command line (commandLine) removes anything, on
// copies: the sweep writes into what it judges.
func (r *Redactor) commandLineRemoves(cmd, args []any) bool {
	w := walker{r: r}
	w.commandLine(map[string]any{"command": slices.Clone(cmd), "args": slices.Clone(args)})
	return !w.rep.Empty()
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
	f.credKey, f.shapedKey = false, false
	if k == "managedFields" && s.depth >= 3 && f.under == "metadata" && s.frames[s.depth-2].isMap {
		if s.policyOmitted() {
			s.dropped++
			return true
		}
		if s.r.dropManaged {
			s.rep.add(KindManagedFields)
			s.dropped++
			return true
		}
	}
	if k == "kty" {
		s.failed = true // a JSON Web Key: its private members are one letter (jwk)
		return false
	}
	if (keyWord(k) || keysWord(k)) && s.depth >= 2 && s.r.rules.names.keyPrefixName(f.under) {
		f.credKey = true // api: {key: x}, api: {keys: [x]} (sweep: keyed)
		return false
	}
	if hit, ruled := s.seen.key(k); hit {
		if ruled != 0 {
			s.ruleMember(ruled)
		}
		return false // the common case: no hash
	}
	if s.r.inertKeys.has(k) {
		ruled := s.r.ruleKey(k)
		s.seen.addKey(k, ruled)
		s.ruleMember(ruled)
		return false
	}
	if inert, ruled := s.r.inertKey(k); inert {
		s.ruleMember(ruled)
	} else {
		s.failed = true
	}
	f.credKey = s.r.rules.names.credential(k)
	f.shapedKey = s.r.rules.names.shapedName(k)
	return false
}

// ruleMember notes a member the rules in ruled could remove: it fails
// the screen in an event holding an object one of them applies to.
func (s *Screen) ruleMember(ruled uint64) {
	s.ruleKeyMet |= ruled
	if s.ruleKeyMet&s.ruleRoot != 0 {
		s.failed = true
	}
}

// ruleKind notes a kind string: one a rule claims (or the list of one,
// whose items take the rule) makes its object that rule's root.
func (s *Screen) ruleKind(v string) {
	s.ruleRoot |= s.r.rules.kindRules(v)
	if s.ruleKeyMet&s.ruleRoot != 0 {
		s.failed = true
	}
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
	r := s.r
	f := &s.frames[s.depth-1]
	keep := v == "" || v == r.marker
	if f.isMap {
		key := f.key
		if s.depth == 1 {
			if key == "requestURI" {
				if !r.inertURI(v) {
					s.failed = true
				}
				return
			}
			// A member of the record beside the event that holds an
			// event (Merge_Log's and Preserve_Key's copy under log, or
			// another one) is dropped or redacted as an event by Redact.
			if opensObject(v) {
				s.failed = true
				return
			}
		}
		// What a credential name labels as a switch is kept, by name as
		// by pair (boolWord).
		isValue := pairValue(key)
		named := keep || (f.credKey || f.credCtx || isValue) && boolWord(v)
		// (In a value a credential name labels, whether a purpose word
		// describes depends on the siblings: the sweep decides.)
		if f.credKey && !named || f.credCtx && !named && (!r.rules.names.describes(key) || r.rules.names.purposeName(key)) || f.shapedKey && generated(v) || r.rules.names.opaqueValue(key, v) || !r.inertValue(key, v) {
			s.failed = true
			return
		}
		if slot, ok := pairSlot(key); ok {
			if f.pairNames[slot] != "" && f.pairNames[slot] != v {
				f.pairMore = true
			}
			f.pairNames[slot] = v
		}
		if isValue {
			f.hasValue = f.hasValue || !named
			f.genValue = f.genValue || !named && generated(v)
			f.opaqueVal = f.opaqueVal || !named && opaque(v)
		}
		switch key {
		case "kind":
			s.ruleKind(v)
		case "op":
			f.hasOp = true
		case "path":
			f.path = v
		case "field":
			f.causeFld = v
		case "message":
			f.quotedMsg = !keep && strings.IndexByte(v, '"') >= 0
		case "patch":
			// Whether its target is a Secret is a sibling's to say
			// (secretPatch): any patch that may set data goes to Redact.
			if !keep && patchTouchesData(v) {
				s.failed = true
			}
		}
		return
	}
	if f.cred && !keep || f.shaped && generated(v) || f.credCtx && !keep && !boolWord(v) || !r.inertValue(f.under, v) {
		s.failed = true
		return
	}
	if f.inList {
		f.elems++
		switch f.elems {
		case 1:
			f.first = v
		case 2:
			f.secondText = !keep && !boolWord(v)
			f.secondOpaque = opaque(v)
		}
	}
	flag := strings.HasPrefix(v, "-")
	if f.prevFlag && !flag && !keep || f.anyFlag != "" && !flag && r.rules.names.opaqueValue(f.anyFlag, v) {
		s.failed = true
		return
	}
	f.prevFlag = flag && !strings.Contains(v, "=") && r.rules.names.labelsSome(v)
	f.anyFlag = ""
	if flag && !strings.Contains(v, "=") {
		f.anyFlag = v
	}
	if f.isArgv {
		f.argv = append(f.argv, v)
		if strings.HasPrefix(v, "-p") || f.prevFlag || !r.rules.scanner.hits(v, false).empty() {
			f.argvSuspect = true
		}
	}
}

// Number judges a number under the current key: one a credential name
// labels (a PIN, a numeric password) is a credential as a string would
// be, and a number is a value a name beside it can label.
func (s *Screen) Number() {
	if s.failed || s.depth == 0 {
		s.failed = true
		return
	}
	f := &s.frames[s.depth-1]
	if f.isMap {
		if f.credKey {
			s.failed = true
		}
		if pairValue(f.key) {
			f.hasValue = true
		}
		return
	}
	if f.cred || f.prevFlag {
		s.failed = true
	}
	if f.inList {
		if f.elems++; f.elems == 2 {
			f.secondNum = true
		}
	}
}

// pairSlot is the slot of pairNameKeys a member name fills (a switch: it
// runs on every member of the hot path; TestPairKeysSwitch holds it to
// pairNameKeys).
func pairSlot(key string) (int, bool) {
	switch key {
	case "name", "Name", "headerName", "variable", "param", "parameter", "header", "field", "label", "option":
		return 0, true
	case "key", "Key", "ParameterKey", "k", "id", "property", "attr", "attribute":
		return 1, true
	case "type", "Type":
		return 2, true
	}
	return 0, false
}

// pairValue reports whether a member name is the value of a name/value
// pair (see pairNameKeys). One switch serves the sweep, the screen and the
// JSON-patch paths (pairIndexPath): it runs on every member of the hot path.
func pairValue(key string) bool {
	switch key {
	case "value", "Value", "default", "defaultValue", "ParameterValue", "headerValue", "val", "v", "data", "text", "content", "setting", "arg":
		return true
	}
	return false
}

// siblingsName reports whether members of one object name a credential
// for another: a name, key or type naming one beside a value (env,
// settings, credential pairs; a rule's env names), a JSON-patch path
// naming one beside op and value, a Status cause's field naming one beside
// a message that quotes.
func (r *Redactor) siblingsName(f *frame) bool {
	nm := r.rules.names
	if f.hasValue {
		if f.pairMore {
			return true
		}
		for i, n := range f.pairNames {
			if n != "" && (nm.judgeName(n) || i == 0 && r.ruleName(n) || f.genValue && nm.shapedName(n) || f.opaqueVal && nm.opaqueName(n)) {
				return true
			}
		}
		if f.path != "" {
			// A JSON-patch operation's path, or a file's beside its
			// content (pairValues).
			last := pathName(f.path)
			if nm.judgeName(last) || f.genValue && nm.shapedName(last) || f.opaqueVal && nm.opaqueName(last) {
				return true
			}
			if f.hasOp {
				if r.rules.secretAnnotations[last] || nm.pairIndexPath(f.path) || secretDataPath(f.path) {
					return true
				}
				if _, ok := nm.credentialPath(f.path); ok { // the sweep's value check is narrower
					return true
				}
			}
		}
	}
	return f.quotedMsg && f.causeFld != "" && nm.judgeName(f.causeFld)
}

// inertKey: a map key the sweep leaves as it is (what a key naming a
// credential does to its value is judged with the value); ruled holds the
// rules of rules: that look at the member (ruleKey), which the screen
// weighs against the objects the event holds. Keys that are also no
// credential name are remembered.
func (r *Redactor) inertKey(k string) (inert bool, ruled uint64) {
	if len(k) >= minKeyScan && !r.inertValue("", k) {
		return false, 0
	}
	if !r.rules.names.labelsSome(k) {
		r.inertKeys.add(k)
	}
	return true, r.ruleKey(k)
}

// inertValue: a string under key that the sweep would leave as it is,
// judged on its own: by the cheap checks when they suffice, else by the
// sweep's own judgement of the string. Harmless verdicts are remembered
// for every string the scanner would look at (one shorter than any
// keyword and any encoded run is judged faster than hashed): most strings
// of routine events (kinds, verbs, names, users, user agents, messages,
// annotations) come back event after event.
func (r *Redactor) inertValue(key, v string) bool {
	if v == "" || v == r.marker {
		return true
	}
	if uniqueShape(v) && key != "kind" && !r.listedAnnotation(key) && !r.hashedForm(v) {
		return true // what plainText would say, without the scan or the memo
	}
	var h uint64
	if sc := r.rules.scanner; len(v) >= sc.minKeyword || len(v) >= minEncoded {
		h = r.verdicts.hash(key, v)
		if r.verdicts.harmless(h) {
			return true
		}
	}
	if !r.plainText(key, v) && !r.sweepKeeps(key, v) || isJWT(v) {
		return false
	}
	if key == "kind" && !r.plainKind(v) {
		return false
	}
	if h != 0 {
		r.verdicts.remember(h)
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
	if r.listedAnnotation(key) {
		return false
	}
	if r.hashedForm(v) || quotedForm(v) {
		return false
	}
	i := 0
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r') {
		i++
	}
	if t := v[i:]; t != "" && (t[0] == '{' || t[0] == '[' || manifestStart(t)) {
		return false // JSON or a manifest (one across lines fails on its line break below)
	}
	sc := r.rules.scanner
	if len(v) < sc.minKeyword && len(v) < minEncoded {
		// Too short for a keyword or a run: only an escape could hide
		// one.
		return !strings.ContainsAny(v, "\\%\n")
	}
	// One pass: keywords where the scanner would look, escapes, line
	// breaks (YAML, multi-line text) and encoded runs; a UUID is one long
	// run the encoded-value check skips by shape.
	lk := sc.look(v, true)
	return lk.set.empty() && lk.flags == 0 && (!lk.longRun || isUUID(v) && hexDash(v))
}

// listedAnnotation: key is an annotation whose value the sweep parses
// (an object) or removes (a secret).
func (r *Redactor) listedAnnotation(key string) bool {
	if key != "" && (r.rules.annotationNoSlash || strings.IndexByte(key, '/') >= 0) {
		return r.rules.secretAnnotations[key] || r.rules.objectAnnotations[key]
	}
	return false
}

// hashedForm: v starts like a value hash mode wrote (its marker and
// separator): plainText leaves such a string to the sweep.
func (r *Redactor) hashedForm(v string) bool {
	return r.hashPrefix != "" && strings.HasPrefix(v, r.hashPrefix)
}

// uniqueShape: a UUID or an RFC 3339 time. Every event carries a few
// (its auditID, its timestamps, the uids of its objects), seen once and
// never again: judged by shape they are neither scanned nor remembered,
// where they would push out the strings that recur. Their bytes (hex
// digits, digits and separators) hold no keyword and no encoded run
// (TestUniqueShapesArePlain).
func uniqueShape(s string) bool {
	if isUUID(s) {
		return hexDash(s)
	}
	return rfc3339(s)
}

// rfc3339 matches 2006-01-02T15:04:05[.fraction](Z|±07:00).
func rfc3339(s string) bool {
	if len(s) < 20 || len(s) > 35 || s[4] != '-' || s[10] != 'T' {
		return false
	}
	for i := 0; i < 19; i++ {
		c := s[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		default:
			if !isDigit(c) {
				return false
			}
		}
	}
	i := 19
	if s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == 20 {
			return false
		}
	}
	switch t := s[i:]; {
	case t == "Z":
		return true
	case len(t) == 6 && (t[0] == '+' || t[0] == '-') && t[3] == ':':
		return isDigit(t[1]) && isDigit(t[2]) && isDigit(t[4]) && isDigit(t[5])
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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
	if secretKindOf(kind) != nil {
		return false
	}
	if item, ok := strings.CutSuffix(kind, genericListKind); ok && item != "" {
		return secretKindOf(item) == nil
	}
	return true
}

// ruleKey returns the rules of rules: that could remove the value under a
// member named k, in an object they apply to: a key pattern matches k, or
// k is the last step of a path they remove. Remembered, as ruleName is:
// keys that name a credential (name, key) are met in every event and
// judged anew by the screen each time.
func (r *Redactor) ruleKey(k string) uint64 {
	return r.keyRules.judged(k, r.judgeRuleKey)
}

func (r *Redactor) judgeRuleKey(k string) uint64 {
	var ruled uint64
	for _, ru := range r.rules.rules {
		for _, t := range ru.targets {
			f := t.field
			if f == nil {
				continue
			}
			if f.keys != nil {
				if f.keys.MatchString(k) && (f.except == nil || !f.except.MatchString(k)) {
					ruled |= ru.bit
				}
				continue
			}
			for i := len(t.path) - 1; i >= 0; i-- {
				if t.path[i] != itemStep {
					if t.path[i] == k {
						ruled |= ru.bit
					}
					break
				}
			}
		}
	}
	return ruled
}

// ruleName reports whether an env-style name could be one whose value a
// rule removes. Names come back event after event (a workload's env), and
// the rules' patterns ignore case, which Go's regexp pays for per byte:
// the answer is remembered.
func (r *Redactor) ruleName(v string) bool {
	return r.ruleNames.judged(v, r.judgeRuleName)
}

func (r *Redactor) judgeRuleName(v string) bool {
	for _, ru := range r.rules.rules {
		for _, t := range ru.targets {
			if e := t.env; e != nil && e.names != nil && e.names.MatchString(v) && (e.except == nil || !e.except.MatchString(v)) {
				return true
			}
		}
	}
	return false
}

// inertURI: a requestURI whose path and query parameters are each inert,
// with no parameter naming a credential, no exec command line and nothing
// percent-encoded; any other is judged by the sweep's own uri step.
func (r *Redactor) inertURI(v string) bool {
	path, query, _ := strings.Cut(v, "?")
	cheap := r.inertValue("", path)
	if i := strings.Index(path, proxySegment); cheap && i >= 0 {
		cheap = !r.proxyCredential(path[i+len(proxySegment):])
	}
	if cheap && query != "" {
		cheap = !strings.ContainsAny(query, "%+") && r.plainText("", query)
		for q := query; cheap && q != ""; {
			var p string
			p, q, _ = strings.Cut(q, "&")
			k, val, _ := strings.Cut(p, "=")
			cheap = k != "command" && !r.rules.names.labelsSome(k) && r.inertValue(k, val)
		}
	}
	if cheap {
		return true
	}
	w := walker{r: r}
	_, changed := w.uri(v)
	return !changed && w.rep.Empty()
}

// opensObject reports whether v starts with '{' after blanks: what
// strings.TrimLeft and HasPrefix say, without the cutset TrimLeft builds
// on every call.
func opensObject(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}
