package redact

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// names judges whether a map key, an env variable name, a flag or the key
// of a key=value assignment names a credential. The word lists are data
// (credential_names in conf/redact/kubernetes.yaml and redact_file).
type names struct {
	words, lastWords, except, keyExcept, urlWords, whole, plainMaps map[string]bool
	// pairLists: lists of name/value pairs, whose items a JSON patch can
	// set by index (pairIndexPath).
	pairLists map[string]bool
	// quantity: words that make a credential name a quantity when its
	// value is a number (max_tokens: 4096).
	quantity map[string]bool
	// qualifiers: trailing words that say which credential, not what it
	// is (API_KEY_PROD, DB_PASSWORD_B64); suffixes: endings that make a
	// joined word a credential word (DBPASS, ROOTPW) unless it is one of
	// suffixExcept (bypass); keyPrefixes: words that, joined to key,
	// make one (AUTHKEY, MASTERKEY, not monkey).
	qualifiers, suffixExcept, keyPrefixes map[string]bool
	// content: last words that say a name holds the content of what the
	// words before it name (TOKEN_DATA, SECRET_CONFIG): a credential when
	// those words are one, though the word alone describes (data: an
	// except_last_word).
	content map[string]bool
	// not: names that hold no credential whatever their words say
	// (nginx proxy_pass names an upstream).
	not        map[string]bool
	suffixes   []string
	substrings []string
	// shaped: names that hold a credential only when their value is
	// shaped like a generated one (a license key, not `license: MIT`; a
	// PagerDuty routing_key, not an AMQP one).
	shaped map[string]bool
	// query: names that hold a credential only as a parameter of a query
	// string (?key=, &oauth_signature=): as a member of an object they
	// name something else (a toleration's key, a cosign signature).
	query map[string]bool
	// purpose: last words that describe a credential in a record beside
	// it (database: orders next to password:) but say what it is for in a
	// map of credentials (secrets: {DATABASE: x}).
	purpose map[string]bool
	// verdict: words an error message states about a credential after
	// its name and a colon (oauth token: unexpected status 401), which a
	// value glued into the sentence is not read as.
	verdict map[string]bool
	// hostKeyed: prefixes of names that key a credential by its host,
	// spelt with __ for the dots (BUNDLE_GEMS__EXAMPLE__COM), unless the
	// first part is one of hostExcept (BUNDLE_BUILD__NOKOGIRI).
	hostKeyed  []string
	hostExcept map[string]bool
	// references: the openings and closings of the syntaxes that name
	// where a value is instead of giving it ($(VAR), {{ .Values.x }},
	// <path:kv/app#password>, arn:aws:...), a pair each.
	references [][2]string
	// refFirst marks the bytes a reference can start with.
	refFirst [256]bool
	// fold maps letters that pass for ASCII ones (Cyrillic а, Greek ο)
	// to them, so that a name spelt with them is judged as it reads.
	fold map[rune]byte
	// identifiers: words that say a value shaped like a generated one is
	// an identifier, a digest or a version (GIT_SHA, config.hash,
	// checksum/config, ALGOLIA_APP_ID), not a credential: every other
	// name holding such a value is presumed to hold a credential
	// (opaqueValue).
	identifiers map[string]bool
	// seenShaped remembers shaped judgements as seen does credential's;
	// seenIdent identifier judgements.
	seenShaped, seenIdent memo[bool]
	// first marks the bytes a credential word can start with (either
	// case): a name without any of them is judged without splitting.
	first [256]bool
	// seen remembers judgements: the same keys and names come back in
	// every event.
	seen memo[bool]
}

func newNames() *names {
	return &names{
		words: map[string]bool{}, lastWords: map[string]bool{}, except: map[string]bool{},
		keyExcept: map[string]bool{}, urlWords: map[string]bool{}, whole: map[string]bool{}, plainMaps: map[string]bool{}, pairLists: map[string]bool{},
		quantity: map[string]bool{}, qualifiers: map[string]bool{}, suffixExcept: map[string]bool{}, keyPrefixes: map[string]bool{}, not: map[string]bool{},
		content: map[string]bool{}, shaped: map[string]bool{}, query: map[string]bool{}, purpose: map[string]bool{}, verdict: map[string]bool{}, hostExcept: map[string]bool{},
		identifiers: map[string]bool{}, fold: map[rune]byte{},
	}
}

func (n *names) add(s namesSpec) {
	for _, l := range []struct {
		dst map[string]bool
		src []string
	}{{n.words, s.Words}, {n.lastWords, s.LastWords}, {n.except, s.ExceptLastWords}, {n.keyExcept, s.KeyExceptions}, {n.urlWords, s.URLWords}, {n.whole, s.Names}, {n.quantity, s.QuantityWords}, {n.qualifiers, s.Qualifiers}, {n.suffixExcept, s.SuffixExcept}, {n.keyPrefixes, s.KeyPrefixes}, {n.not, s.NotNames}, {n.content, s.ContentWords}, {n.shaped, s.ShapedNames}, {n.query, s.QueryNames}, {n.purpose, s.PurposeWords}, {n.verdict, s.VerdictWords}, {n.hostExcept, s.HostKeyedExcept}, {n.identifiers, s.IdentifierWords}} {
		for _, w := range l.src {
			l.dst[strings.ToLower(w)] = true
		}
	}
	for _, w := range s.Substrings {
		n.substrings = append(n.substrings, strings.ToLower(w))
		n.mark(strings.ToLower(w))
	}
	for _, w := range s.Suffixes {
		// A name holds a joined word only if it holds the suffix: its
		// first byte is enough for the prefilter.
		n.suffixes = append(n.suffixes, strings.ToLower(w))
		n.mark(strings.ToLower(w))
	}
	for w := range n.keyPrefixes {
		n.mark(w)
	}
	for _, w := range s.HostKeyed {
		n.hostKeyed = append(n.hostKeyed, strings.ToLower(w)+"_")
		n.mark(strings.ToLower(w))
	}
	for _, r := range s.References {
		// "${ }": the opening and, after a space, the closing (none: the
		// reference runs to the end of a value without spaces or @).
		open, cl, _ := strings.Cut(strings.TrimSpace(r), " ")
		if open != "" {
			n.references = append(n.references, [2]string{open, cl})
			n.refFirst[open[0]] = true
		}
	}
	n.refFirst['$'], n.refFirst['/'] = true, true // dottedVariable, lowerPath
	for _, c := range s.Confusables {
		// "0430 a": the code point, in hex, and the letter it passes for.
		cp, to, ok := strings.Cut(c, " ")
		r, err := strconv.ParseUint(cp, 16, 32)
		if ok && err == nil && len(to) == 1 && r >= 0x80 {
			n.fold[rune(r)] = to[0]
		}
	}
	for _, w := range s.PlainMaps {
		n.plainMaps[w] = true
	}
	for _, w := range s.PairLists {
		n.pairLists[w] = true
	}
	for w := range n.words {
		n.mark(w)
	}
	for w := range n.lastWords {
		n.mark(w)
	}
	for w := range n.whole {
		n.mark(w)
	}
}

func (n *names) mark(w string) {
	if w == "" {
		return
	}
	c := w[0]
	n.first[c] = true
	if 'a' <= c && c <= 'z' {
		n.first[c-32] = true
	}
}

// maxNameWords bounds the words of one name; longer "names" are text.
const maxNameWords = 16

// credential reports whether name names a credential. It allocates
// nothing: words are sliced from a lower-cased copy on the stack, and map
// lookups of string(bytes) do not copy.
func (n *names) credential(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	return n.seen.judged(name, n.judge)
}

// numeric reports whether a number under name is a credential: the name
// names one and no word of it makes it a quantity (a PIN or a password
// written without quotes, not max_tokens: 4096 or tokens_per_fill: 1).
func (n *names) numeric(name string) bool {
	if !n.credential(name) {
		return false
	}
	var lb [128]byte
	var ws [maxNameWords][2]int
	nw := splitWords(name, &lb, &ws)
	for i := 0; i < nw; i++ {
		if n.quantity[string(lb[ws[i][0]:ws[i][1]])] {
			return false
		}
	}
	return true
}

// labelsValue reports whether name makes its value a credential:
// numeric for a number, value for a string.
func (n *names) labelsValue(name string, v any) bool {
	if s, ok := v.(string); ok {
		return n.value(name, s)
	}
	return n.numeric(name)
}

// judgeName is credential for names that rarely repeat (object names
// beside an env-style value): judged, not remembered.
func (n *names) judgeName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	return n.judge(name)
}

func (n *names) judge(name string) bool {
	hit, high := false, false
	for i := 0; i < len(name); i++ {
		c := name[i]
		hit = hit || n.first[c]
		high = high || c >= utf8.RuneSelf
	}
	if high {
		// pass\u200bword, pаssword (Cyrillic а), ｐａｓｓｗｏｒｄ: judged
		// as they read as well as they are spelt (пароль is a word as
		// spelt).
		if f, ok := n.folded(name); ok && n.judge(f) {
			return true
		}
	}
	if !hit {
		return false
	}
	var lb [128]byte
	var ws [maxNameWords][2]int
	nw := splitWords(name, &lb, &ws)
	lower := lb[:len(name)]
	t := 0
	for t < len(lower) && lower[t] == '-' {
		t++
	}
	if n.whole[string(lower[t:])] {
		return true
	}
	if n.hostKeyedName(string(lower)) {
		return true
	}
	if n.not[string(lower[t:])] {
		return false
	}
	// A Helm value's path (redis.auth.existingSecret, as --set writes it)
	// is what its last member is: a not_name there names a Secret.
	if d := bytes.LastIndexByte(lower, '.'); d > t && n.not[string(lower[d+1:])] {
		return false
	}
	if nw == 0 {
		return false
	}
	word := func(i int) []byte { return lower[ws[i][0]:ws[i][1]] }
	for nw > 1 && n.qualifier(word(nw-1)) {
		nw--
	}
	last := word(nw - 1)
	if string(last) == "url" {
		// TOKEN_URL locates a token service; DATABASE_URL carries the
		// password (a password in any URL is the scanner's).
		for i := 0; i < nw-1; i++ {
			if n.urlWords[string(word(i))] {
				return true
			}
		}
		return false
	}
	if n.content[string(last)] && nw > 1 && strings.IndexByte(name, '/') < 0 {
		// TOKEN_DATA, SECRET_CONFIG: the content of what the rest names.
		// (An annotation's key names a thing of its tool: Vault's
		// agent-inject-secret-config holds a path.)
		if n.judge(name[:ws[nw-1][0]]) {
			return true
		}
	}
	if n.except[string(last)] {
		// A name that ends in one of names, spelt as a word of it
		// (VAULT_SECRET_ID, approleSecretId, auth-config-secret-id:
		// Vault AppRole's secret_id) is that credential, whatever
		// qualifies it before.
		for i := 1; i < nw-1; i++ {
			if n.whole[string(lower[ws[i][0]:ws[nw-1][1]])] {
				return true
			}
		}
		return false
	}
	for i := 0; i < nw; i++ {
		wd := word(i)
		if t := bytes.TrimRight(wd, "0123456789"); len(t) > 0 {
			wd = t // pwd1, token2
		}
		if n.words[string(wd)] || n.joined(wd) {
			return true
		}
		for _, sub := range n.substrings {
			if len(wd) > len(sub) && bytes.Contains(wd, []byte(sub)) {
				return true
			}
		}
	}
	if nw > 1 {
		// connectionString, client_secret spelt as two words: the last
		// two words joined are judged as one (connectionstring, apikey).
		joined := string(word(nw-2)) + string(last)
		if n.words[joined] || (n.lastWords[joined] && joined != "url") {
			return true
		}
	}
	if !n.lastWords[string(last)] {
		return false
	}
	switch string(last) {
	case "key", "keys", "keydata":
		return nw > 1 && !n.keyExcept[string(word(nw-2))]
	case "url":
		for i := 0; i < nw-1; i++ {
			if n.urlWords[string(word(i))] {
				return true
			}
		}
		return false
	}
	return true
}

// hostKeyedName reports whether a lower-cased name is one of hostKeyed's
// prefixes followed by a host spelt with __ for its dots
// (bundle_gems__example__com: Bundler's credentials for that source).
func (n *names) hostKeyedName(lower string) bool {
	for _, p := range n.hostKeyed {
		rest, ok := strings.CutPrefix(lower, p)
		if !ok {
			continue
		}
		first, _, ok := strings.Cut(rest, "__")
		if !ok || first == "" || n.hostExcept[first] || rest[len(rest)-1] == '_' {
			continue
		}
		host := true
		for i := 0; i < len(rest); i++ {
			if c := rest[i]; !('a' <= c && c <= 'z' || isDigit(c) || c == '_' || c == '-') {
				host = false
				break
			}
		}
		if host {
			return true
		}
	}
	return false
}

// asRead is name with its look-alike letters folded (folded), as the
// word splitters read it; ok is false when it is longer than they take.
func (n *names) asRead(name string) (_ string, ok bool) {
	if f, folds := n.folded(name); folds {
		name = f
	}
	return name, len(name) <= 128
}

// folded returns name with the characters that do not show removed
// (zero-width spaces and joiners, soft hyphens, bidirectional controls,
// variation selectors) and the letters that pass for ASCII ones
// replaced by them (fullwidth forms, fold), and whether that changed it.
func (n *names) folded(name string) (string, bool) {
	var b strings.Builder
	changed := false
	for i, r := range name {
		c, drop, folds := n.foldRune(r)
		if folds && !changed {
			b.WriteString(name[:i])
			changed = true
		}
		switch {
		case !changed || drop:
		case folds:
			b.WriteByte(c)
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), changed
}

// foldRune is what folded makes of r: nothing (drop), the ASCII byte c,
// or, when folds is false, r as it is.
func (n *names) foldRune(r rune) (c byte, drop, folds bool) {
	switch {
	case r < utf8.RuneSelf:
		return 0, false, false
	case invisible(r):
		return 0, true, true
	case 0xFF01 <= r && r <= 0xFF5E:
		return byte(r - 0xFEE0), false, true
	}
	c, folds = n.fold[r]
	return c, false, folds
}

// invisible reports whether r is a character that does not show: a
// format character (zero-width space and joiners, soft hyphen,
// bidirectional controls, byte order mark), a variation selector or the
// combining grapheme joiner.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || 0xFE00 <= r && r <= 0xFE0F || r == 0x034F
}

// foldable reports whether folded would change s, without building the
// folded text.
func (n *names) foldable(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if _, _, folds := n.foldRune(r); folds {
			return true
		}
	}
	return false
}

// shapedValue reports whether v, under name, is a credential by its
// shape: the name is one of shaped_names and v looks generated.
func (n *names) shapedValue(name, v string) bool {
	return generated(v) && n.shapedName(name)
}

// setting reports whether the string v, whatever name labels it, is a
// setting about a credential rather than one: a switch (boolWord), or a
// reference to where the credential is (reference).
func (n *names) setting(v string) bool {
	return boolWord(v) || n.reference(v)
}

// reference reports whether v is, whole, one reference to where a value
// is kept: a variable or template expression of one of references' syntaxes
// (a single one: ${A}${B} or text around it is not), a variable spelt as
// a dotted or colon-separated path of identifiers ($dex.github.clientSecret,
// Argo CD's reference to a key of its secret), or an absolute path of two
// or more segments in lower case (/var/secrets/google/key.json), which a
// generated credential is not.
func (n *names) reference(v string) bool {
	if len(v) < 3 || len(v) > 512 || !n.refFirst[v[0]] {
		return false
	}
	for _, r := range n.references {
		open, cl := r[0], r[1]
		if len(v) <= len(open)+len(cl) || !strings.HasPrefix(v, open) {
			continue
		}
		rest := v[len(open):]
		if cl == "" {
			// (An @ would be a URL's userinfo: ref+https://u:x@host.)
			if !strings.ContainsAny(rest, " \t\r\n@") {
				return true
			}
			continue
		}
		if i := strings.Index(rest, cl); i >= 0 && i == len(rest)-len(cl) && referenceInside(rest[:i], open[0] == '$') {
			return true
		}
	}
	return dottedVariable(v) || lowerPath(v)
}

// referenceAt reports whether a reference of a syntax with a closing
// ({{ .password }}, ${DB_PASSWORD}) opens at s[a], closes on its line and
// is, whole, one reference.
func (n *names) referenceAt(s string, a int) bool {
	if a >= len(s) || !n.refFirst[s[a]] {
		return false
	}
	for _, r := range n.references {
		open, cl := r[0], r[1]
		if cl == "" || !strings.HasPrefix(s[a:], open) {
			continue
		}
		rest := s[a+len(open):]
		if e := strings.Index(rest, cl); e >= 0 && e <= 512 && strings.IndexByte(rest[:e], '\n') < 0 && n.reference(s[a:a+len(open)+e+len(cl)]) {
			return true
		}
	}
	return false
}

// referenceInside reports whether in is what a reference can hold and
// no more: names, paths and a template's pipeline, but no quote, = or :
// (a literal or a default given in place: ${DB_PASSWORD:changeme},
// {{ .Values.pw | default "x" }}); after a $, a variable's name only (not
// a shell's ${VAR-default} or command, $(echo x)).
func referenceInside(in string, shell bool) bool {
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.':
		case shell:
			return false
		case c == '/' || c == '#' || c == ' ' || c == '|' || c == '$' || c == '-':
		default:
			return false
		}
	}
	return true
}

// dottedVariable reports whether v is $ and two or more identifiers of
// letters, _ and - joined by . or : ($dex.github.clientSecret,
// $oidc-secret:clientSecret).
func dottedVariable(v string) bool {
	if len(v) < 4 || v[0] != '$' {
		return false
	}
	parts, start := 0, true
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '.' || c == ':':
			if start {
				return false
			}
			parts++
			start = true
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
			start = false
		case c == '-':
			if start {
				return false
			}
		default:
			return false // no digits: $Summer2024.x is a password
		}
	}
	return !start && parts >= 1
}

// lowerPath reports whether v is an absolute path of two or more
// segments of lower-case letters, digits and . _ -, none shaped like a
// generated value.
func lowerPath(v string) bool {
	if len(v) < 4 || v[0] != '/' {
		return false
	}
	segs := 0
	for rest := v[1:]; ; {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "" || generated(seg) {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		segs++
		if !more {
			break
		}
		rest = after
	}
	return segs >= 2
}

// value reports whether name makes the string v a credential: by the
// name alone, by a name of shaped_names and v's shape, or by v's shape
// alone under a name that does not show it harmless (opaqueValue). A string of
// digits is judged as the number it spells (numeric): env values are
// strings, so MAX_TOKENS="4096" and TOKEN_LIMIT="100" are quantities as
// max_tokens: 4096 is, and ADMIN_PIN="4711" is still a credential.
func (n *names) value(name, v string) bool {
	if n.credential(name) {
		return len(v) > 18 || !isDigits(v) || n.numeric(name)
	}
	return n.shapedValue(name, v) || n.opaqueValue(name, v)
}

// opaqueValue reports whether v, under name, is a credential by its
// shape alone: a long run of hex or of random base62 (opaque) is what a
// service generates for a key, and a name without a credential word
// (ALGOLIA_ADMIN, SEGMENT_WRITE, a vendor's own name for its key) does
// not make it harmless; only a name that says it is an identifier, a
// digest or a version does (identifier_words). Failing closed here costs
// the odd build hash under a name no list foresaw, and misses no key
// named after its role. The value member of a name/value pair (value,
// data, default...) is named by its sibling, which pairValues judges.
func (n *names) opaqueValue(name, v string) bool {
	return opaque(v) && n.opaqueName(name)
}

// opaqueName reports whether name leaves a value shaped like a generated
// key a credential (opaqueValue): it is a name, not a pair's value slot,
// and no word of it is one of identifier_words.
func (n *names) opaqueName(name string) bool {
	return name != "" && len(name) <= 128 && !pairValue(name) && !n.seenIdent.judged(name, n.judgeIdentifier)
}

// judgeIdentifier reports whether a word of name, or name as a whole,
// is one of identifier_words.
func (n *names) judgeIdentifier(name string) bool {
	name, ok := n.asRead(name)
	if !ok {
		return false
	}
	var lb [128]byte
	var ws [maxNameWords][2]int
	nw := splitWords(name, &lb, &ws)
	if n.identifiers[string(lb[:len(name)])] {
		return true
	}
	for i := 0; i < nw; i++ {
		if n.identifiers[string(lb[ws[i][0]:ws[i][1]])] {
			return true
		}
	}
	return false
}

// opaque reports whether v is shaped like a generated key with nothing
// around it: 32 to 256 hex digits, letters and digits both present (128
// bits or more, as API keys, signing secrets and webhook tokens are
// drawn), or 20 to 256 letters and digits in random mixed case
// (randomCase). A UUID (dashes), a digest with its algorithm
// (sha256:...), a number written in hex (0x...: an Ethereum address, a
// block hash), a version or a word is not.
func opaque(v string) bool {
	if len(v) < 20 || len(v) > 256 || v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		return false
	}
	// One pass that stops at the first byte no key is made of: the screen
	// asks this of every long string, and most hold a separator early.
	upper, lower, digits, hex := 0, 0, 0, true
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'a' <= c && c <= 'z':
			lower++
			hex = hex && c <= 'f'
		case 'A' <= c && c <= 'Z':
			upper++
			hex = hex && c <= 'F'
		case isDigit(c):
			digits++
		default:
			return false
		}
	}
	letters := upper + lower
	if hex && len(v) >= 32 && digits > 0 && letters > 0 {
		return true
	}
	return digits >= 1 && letters >= 12 && 3*upper > letters && 3*lower > letters
}

// hexToken reports whether v is hex digits only, with a digit and a
// letter among them (a run of one kind is a number or a word).
func hexToken(v string) bool {
	digit, letter := false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case isDigit(c):
			digit = true
		case 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F':
			letter = true
		default:
			return false
		}
	}
	return digit && letter
}

// queryValue reports whether v, as the value of the query parameter
// name, is a credential: by the name, as value judges it, or by one of
// query_names holding a token (16 characters or more of a token's
// alphabet, with a digit, both cases or base64's and percent-encoding's
// symbols), so that ?key=created_at and ?signature=false stay.
func (n *names) queryValue(name, v string) bool {
	if n.value(name, v) {
		return true
	}
	if len(v) < 16 || len(v) > 4096 || !n.query[strings.ToLower(name)] {
		return false
	}
	upper, lower, mixed := false, false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case isDigit(c):
			mixed = true
		case 'a' <= c && c <= 'z':
			lower = true
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '+' || c == '/' || c == '=' || c == '%':
			mixed = true
		case c == '_' || c == '-' || c == '.' || c == '~':
		default:
			return false
		}
	}
	return mixed || upper && lower
}

// labelsSome reports whether name can make a string under it a
// credential: by the name alone, or as one of shaped_names, for a value
// shaped like a generated one.
func (n *names) labelsSome(name string) bool {
	return n.credential(name) || n.shapedName(name)
}

// shapedName reports whether name is one of shaped_names (a word of it,
// or its last two words joined by _: routing_key), its last word not
// one that describes (license_file, license_server).
func (n *names) shapedName(name string) bool {
	if name == "" || len(name) > 128 || len(n.shaped) == 0 {
		return false
	}
	return n.seenShaped.judged(name, n.judgeShaped)
}

func (n *names) judgeShaped(name string) bool {
	name, ok := n.asRead(name)
	if !ok {
		return false
	}
	var lb [128]byte
	var ws [maxNameWords][2]int
	nw := n.mainWords(name, &lb, &ws)
	if nw == 0 {
		return false
	}
	word := func(i int) string { return string(lb[ws[i][0]:ws[i][1]]) }
	last := word(nw - 1)
	if nw > 1 && n.shaped[word(nw-2)+"_"+last] {
		return true
	}
	if n.except[last] {
		return false
	}
	for i := 0; i < nw; i++ {
		if n.shaped[word(i)] {
			return true
		}
	}
	return false
}

// generated reports whether v is shaped like a generated credential
// rather than a word, a name, a version or a licence's identifier: one
// token of 8 to 256 characters with no space, at least 3 digits and 2
// letters, and letters and digits mixed in a run of 6 or more between
// separators (a3f9c2d17e..., PwX7k2-91aQ; not Apache-2.0,
// enterprise-2024, orders.created.v2, v1.2.3, 404), or a long random
// token in mixed case (randomCase).
func generated(v string) bool {
	if len(v) < 8 || len(v) > 256 {
		return false
	}
	letters, digits := 0, 0
	run, runL, runD, mixed := 0, false, false, false
	for i := 0; i <= len(v); i++ {
		if i < len(v) {
			switch c := v[i]; {
			case isDigit(c):
				digits++
				run, runD = run+1, true
				continue
			case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
				letters++
				run, runL = run+1, true
				continue
			case c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '.' || c == ':' || c == '~':
			default:
				return false
			}
		}
		mixed = mixed || run >= 6 && runL && runD
		run, runL, runD = 0, false, false
	}
	return mixed && digits >= 3 && letters >= 2 || randomCase(v)
}

// randomCase reports whether v is a run of 16 or more letters and digits
// (and base64url's - and _) whose letters take either case about as often
// as the other, with a digit among them: a random token of base62 or
// base64url, which can hold fewer than 3 digits (kX9mQ2vLpTzR8wNbYcJd, one
// in three of 16 characters), unlike a name in camelCase (one capital a
// word: ReconcileSucceededWithWarnings, XMLHttpRequest2) or in one case.
func randomCase(v string) bool {
	if len(v) < 16 {
		return false
	}
	upper, lower, digits := 0, 0, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'A' <= c && c <= 'Z':
			upper++
		case 'a' <= c && c <= 'z':
			lower++
		case isDigit(c):
			digits++
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	letters := upper + lower
	return digits >= 1 && letters >= 12 && 3*upper > letters && 3*lower > letters
}

// keyPrefixName reports whether a map under name makes its member key a
// credential: name's last word (qualifiers aside) is one of key_prefixes,
// so that the two read as one credential name spelt across a nesting
// (api: {key: x} is api_key, encryption: {key: x} encryption_key, api:
// {keys: [x]} api_keys; not tolerations or a secretKeyRef).
func (n *names) keyPrefixName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	var lb [128]byte
	var ws [maxNameWords][2]int
	nw := n.mainWords(name, &lb, &ws)
	return nw > 0 && n.keyPrefixes[string(lb[ws[nw-1][0]:ws[nw-1][1]])]
}

// mentions reports whether name names a credential or something about
// one: the name without its last word names one (passwordSecretRef,
// token_file).
func (n *names) mentions(name string) bool {
	if n.credential(name) {
		return true
	}
	if name == "" || len(name) > 128 {
		return false
	}
	var lb [128]byte
	var ws [maxNameWords][2]int
	nw := splitWords(name, &lb, &ws)
	return nw > 1 && n.credential(name[:ws[nw-1][0]])
}

// describesIn is describes for a member of a map that a credential name
// labels: in a record of one credential (a member of the map names a
// credential: password beside database) a purpose word describes it; in
// a map of credentials keyed by what each is for (secrets: {DATABASE: x,
// SMTP: y}) it does not.
func (n *names) describesIn(name string, record bool) bool {
	if !n.describes(name) {
		return false
	}
	return record || !n.purposeName(name)
}

// purposeName reports whether name's last word (qualifiers aside) is one
// of purpose_words.
func (n *names) purposeName(name string) bool {
	if name == "" || len(name) > 128 || len(n.purpose) == 0 {
		return false
	}
	var lb [128]byte
	var ws [maxNameWords][2]int
	nw := n.mainWords(name, &lb, &ws)
	return nw > 0 && n.purpose[string(lb[ws[nw-1][0]:ws[nw-1][1]])]
}

// describes reports whether a member named name, inside a value a
// credential name labels, says something about the credential (its name,
// key, type, where it is, who uses it) rather than holding it: its last
// word is one of except_last_words, or it is one of not_names or
// plain_maps.
func (n *names) describes(name string) bool {
	if name == "" || len(name) > 128 {
		return true
	}
	if n.plainMaps[name] {
		return true
	}
	var lb [128]byte
	var ws [maxNameWords][2]int
	nw := n.mainWords(name, &lb, &ws)
	if nw == 0 {
		return false
	}
	if n.not[string(lb[:len(name)])] {
		return true
	}
	last := lb[ws[nw-1][0]:ws[nw-1][1]]
	if n.content[string(last)] && nw > 1 && n.judge(name[:ws[nw-1][0]]) {
		return false // tokenData holds the token
	}
	return n.except[string(last)]
}

// qualifier reports whether a trailing word says which credential a name
// is (prod, live, b64, a number), not what it is.
func (n *names) qualifier(w []byte) bool {
	if n.qualifiers[string(w)] {
		return true
	}
	for _, c := range w {
		if !isDigit(c) {
			return false
		}
	}
	return len(w) > 0
}

// joined reports whether a word is a credential word run together with
// another: dbpass, rootpw, authkey.
func (n *names) joined(w []byte) bool {
	for _, suf := range n.suffixes {
		if len(w) > len(suf) && bytes.HasSuffix(w, []byte(suf)) && !n.suffixExcept[string(w)] {
			return true
		}
	}
	for _, k := range [...]string{"key", "keys"} {
		if p, ok := bytes.CutSuffix(w, []byte(k)); ok && len(p) > 0 && n.keyPrefixes[string(p)] {
			return true
		}
	}
	return false
}

// mainWords is splitWords without the qualifiers that end a name
// (password_old, token_b64 read as password and token).
func (n *names) mainWords(name string, lb *[128]byte, ws *[maxNameWords][2]int) int {
	nw := splitWords(name, lb, ws)
	for nw > 1 && n.qualifier(lb[ws[nw-1][0]:ws[nw-1][1]]) {
		nw--
	}
	return nw
}

// splitWords writes name lower-cased into lb and the bounds of its words
// into ws, splitting at non-alphanumerics and at lower-to-upper case
// changes: DB_PASSWORD, dbPassword, db.password and db-password all give
// [db password]. It returns the number of words.
func splitWords(name string, lb *[128]byte, ws *[maxNameWords][2]int) int {
	n := 0
	start := -1
	flush := func(end int) {
		if start >= 0 && n < maxNameWords {
			ws[n] = [2]int{start, end}
			n++
		}
		start = -1
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		lc := c
		if 'A' <= c && c <= 'Z' {
			lc = c + 32
		}
		lb[i] = lc
		// Bytes of UTF-8 letters are word bytes: пароль, 密码 are words.
		alnum := 'a' <= lc && lc <= 'z' || '0' <= c && c <= '9' || c >= 0x80
		if !alnum {
			flush(i)
			continue
		}
		if start >= 0 && 'A' <= c && c <= 'Z' {
			if p := name[i-1]; 'a' <= p && p <= 'z' || '0' <= p && p <= '9' {
				flush(i)
			}
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(name))
	return n
}
