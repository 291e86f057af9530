package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Source is one rules file: its name (for error messages) and its content.
// The plugin passes the embedded conf/redact/default.yaml first and the
// user's redact_file after it.
type Source struct {
	Name string
	Data []byte
}

// fileSpec is the rules file format; see redact/README.md.
type fileSpec struct {
	// Marker, when set, replaces Config.Marker: the file is the more
	// specific setting.
	Marker *string    `json:"marker"`
	Rules  []ruleSpec `json:"rules"`
	// Kinds are the secret-bearing kinds; only the embedded
	// conf/redact/kubernetes.yaml declares them.
	Kinds []kindSpec `json:"kinds"`
	// PodSpecs say where container env lives; only the embedded
	// conf/redact/kubernetes.yaml declares them.
	PodSpecs          *podSpecsSpec `json:"pod_specs"`
	ObjectAnnotations []string      `json:"object_annotations"`
	SecretAnnotations []string      `json:"secret_annotations"`
	CredentialNames   *namesSpec    `json:"credential_names"`
	Patterns          []patternSpec `json:"patterns"`
	StrictAllow       []string      `json:"strict_allow"`
}

type ruleSpec struct {
	ID          string      `json:"id"`
	Description string      `json:"description"`
	Enabled     *bool       `json:"enabled"`
	Resources   []string    `json:"resources"`
	Kinds       []string    `json:"kinds"`
	Fields      []fieldSpec `json:"fields"`
	Env         *envSpec    `json:"env"`
}

type fieldSpec struct {
	Path       string `json:"path"`
	Keys       string `json:"keys"`
	ExceptKeys string `json:"except_keys"`
	JWT        bool   `json:"jwt"`
}

type envSpec struct {
	Names       string `json:"names"`
	ExceptNames string `json:"except_names"`
	JWT         bool   `json:"jwt"`
}

// rule is a compiled rule: knowledge about a resource or kind that is not
// secret-bearing as a whole but often carries credentials. The sweep
// applies it to every object of the rule's kinds, and to the bodies of an
// event on one of its resources, as it visits them (pos). Unlike a
// secret-bearing kind it never fails closed: a shape it does not recognise
// is left to the rest of the sweep.
type rule struct {
	id        string
	resources []ref // group and resource; subresource ignored
	kinds     []string
	// targets are the places, from the object's root, where the rule
	// removes something; at most maxTargets.
	targets []target
	// prefilter says the sweep can decide from the raw text of an object
	// held in a string that nothing in it is this rule's to remove.
	prefilter bool
	scan      []*matcher
	// bit stands for the rule in the screen's sets of rules (the 64th
	// and later share one: a superset is safe).
	bit uint64
}

// target is one place a rule removes values from: a field (the value at
// path, or the members of the map there) or the env variables of a
// container list.
type target struct {
	path  []string // itemStep stands for any element of an array
	field *ruleField
	env   *envRule
}

// itemStep is the path step into an array element; a rule's path writes
// it as [] after the step that holds the array (data[].value).
const itemStep = ""

// fieldPath splits a rule's dotted path into its steps; [] after a step
// adds the step into each item of the list it holds: a list of records
// keeps each credential in an item (External Secrets' fake provider:
// data[].value), which a path of keys alone cannot reach.
func fieldPath(s string) ([]string, error) {
	var path []string
	for _, p := range strings.Split(s, ".") {
		p, items := strings.CutSuffix(p, "[]")
		switch {
		case p == itemStep:
			return nil, fmt.Errorf("%q has an empty segment", s)
		case strings.ContainsAny(p, "[]"):
			return nil, fmt.Errorf("%q: a bracket stands only as [] after a step that holds a list", s)
		}
		path = append(path, p)
		if items {
			path = append(path, itemStep)
		}
	}
	return path, nil
}

// maxTargets bounds a rule's targets: positions carry them as a bit set.
const maxTargets = 64

type ruleField struct {
	keys   *matcher // nil: the value at path itself
	except *matcher
	jwt    bool // with keys: also any value that is a JWT; without: only JWTs
}

type envRule struct {
	names  *matcher
	except *matcher
	jwt    bool
}

var (
	resourceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	kindRE     = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	idRE       = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// ruleSet is the compiled result of every source.
type ruleSet struct {
	marker *string
	rules  []*rule

	names             *names
	scanner           *scanner
	objectAnnotations map[string]bool
	secretAnnotations map[string]bool
	strictAllow       map[string]bool
	// annotationNoSlash: some annotation key has no prefix/, so the
	// lookup cannot be skipped for keys without one.
	annotationNoSlash bool
	// kinds are the kinds the rules claim (forKind), each with the bits
	// of the rules claiming it, for the screen.
	kinds map[string]uint64
}

// loadRules merges the sources in order (a later rule with the same id
// replaces the earlier one; `enabled: false` removes it) and compiles the
// result. Every problem is reported, each naming the file, the rule and the
// key.
func loadRules(sources []Source) (*ruleSet, error) {
	var errs []error
	order := []string{}
	byID := map[string]ruleSpec{}
	where := map[string]string{}
	rs := &ruleSet{names: newNames(), objectAnnotations: map[string]bool{}, secretAnnotations: map[string]bool{}, strictAllow: map[string]bool{}}
	var patOrder []string
	var pods podSpecsSpec
	patByID := map[string]patternSpec{}
	for si, src := range append(append([]Source(nil), builtinSources...), sources...) {
		f, err := parseRulesFile(src.Data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src.Name, err))
			continue
		}
		if len(f.Kinds) > 0 && si >= len(builtinSources) {
			errs = append(errs, fmt.Errorf("%s: kinds: secret-bearing kinds are built in; use rules to redact more kinds", src.Name))
		}
		if f.PodSpecs != nil {
			if si >= len(builtinSources) {
				errs = append(errs, fmt.Errorf("%s: pod_specs: built in", src.Name))
			} else {
				pods = *f.PodSpecs
			}
		}
		for _, a := range append(append([]string(nil), f.ObjectAnnotations...), f.SecretAnnotations...) {
			if !strings.Contains(a, "/") {
				rs.annotationNoSlash = true
			}
		}
		for _, a := range f.ObjectAnnotations {
			rs.objectAnnotations[a] = true
		}
		for _, a := range f.StrictAllow {
			rs.strictAllow[a] = true
		}
		for _, a := range f.SecretAnnotations {
			rs.secretAnnotations[a] = true
		}
		if f.CredentialNames != nil {
			rs.names.add(*f.CredentialNames)
		}
		for _, e := range compilePatterns(f.Patterns, &patOrder, patByID) {
			errs = append(errs, fmt.Errorf("%s: %w", src.Name, e))
		}
		if f.Marker != nil {
			m := *f.Marker
			if err := (Config{Marker: m}).Validate(); err != nil || m == "" {
				if err == nil {
					err = errors.New("marker: empty")
				}
				errs = append(errs, fmt.Errorf("%s: %w", src.Name, err))
			}
			rs.marker = &m
		}
		seen := map[string]bool{}
		for i, r := range f.Rules {
			at := fmt.Sprintf("%s: rules[%d]", src.Name, i)
			if !idRE.MatchString(r.ID) {
				errs = append(errs, fmt.Errorf("%s: id: %q must be lower_snake_case", at, r.ID))
				continue
			}
			if seen[r.ID] {
				errs = append(errs, fmt.Errorf("%s (%s): id: duplicate in this file", at, r.ID))
				continue
			}
			seen[r.ID] = true
			if _, ok := byID[r.ID]; !ok {
				order = append(order, r.ID)
			}
			byID[r.ID] = r
			where[r.ID] = fmt.Sprintf("%s (%s)", at, r.ID)
		}
	}
	for _, id := range order {
		spec := byID[id]
		if spec.Enabled != nil && !*spec.Enabled {
			continue
		}
		r, err := compileRule(spec, pods)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where[id], err))
			continue
		}
		rs.rules = append(rs.rules, r)
	}
	rs.kinds = map[string]uint64{}
	for i, r := range rs.rules {
		r.bit = 1 << min(i, 63)
		for _, k := range r.kinds {
			rs.kinds[k] |= r.bit
		}
	}
	var pats []*pattern
	for _, id := range patOrder {
		spec := patByID[id]
		if spec.Enabled != nil && !*spec.Enabled {
			continue
		}
		p, err := buildPattern(spec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pats = append(pats, p)
	}
	if len(pats) > maxPatterns {
		errs = append(errs, fmt.Errorf("patterns: %d in force (allowed: at most %d)", len(pats), maxPatterns))
	}
	rs.scanner = newScanner(pats, rs.names)
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	return rs, nil
}

// parseRulesFile decodes YAML strictly: unknown and duplicate keys are errors.
func parseRulesFile(data []byte) (fileSpec, error) {
	var f fileSpec
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return f, err
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return f, nil
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%s (allowed keys: marker, rules[].{id, description, enabled, resources, kinds, fields[].{path, keys, except_keys, jwt}, env.{names, except_names, jwt}}, object_annotations, secret_annotations, credential_names.{words, last_words, except_last_words, key_exceptions, url_words, names, substrings, plain_maps, quantity_words, qualifiers, suffixes, suffix_exceptions, key_prefixes, not_names, content_last_words, shaped_names, query_names, purpose_words, verdict_words, host_keyed, host_keyed_except, confusables, identifier_words}, patterns[].{id, description, enabled, keywords, regex, secret, name, separator, anywhere, lines, runs, shaped}, strict_allow)", err)
	}
	return f, nil
}

func compileRule(s ruleSpec, pods podSpecsSpec) (*rule, error) {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	r := &rule{id: s.ID}
	if len(s.Resources) == 0 && len(s.Kinds) == 0 {
		bad("resources", "a rule needs resources, kinds or both")
	}
	for i, res := range s.Resources {
		key := fmt.Sprintf("resources[%d]", i)
		if !resourceRE.MatchString(res) {
			bad(key, "%q is not a resource (plural, lower case, optionally .group: deployments.apps)", res)
			continue
		}
		name, group, _ := strings.Cut(res, ".")
		if secretKindForRef(ref{resource: name, group: group}) != nil {
			bad(key, "%q is a built-in secret-bearing kind and cannot be changed by rules", res)
			continue
		}
		r.resources = append(r.resources, ref{resource: name, group: group})
	}
	for i, k := range s.Kinds {
		key := fmt.Sprintf("kinds[%d]", i)
		switch {
		case !kindRE.MatchString(k):
			bad(key, "%q is not a kind (CamelCase: ConfigMap)", k)
		case secretKindOf(k) != nil || contains(containerKinds, k) || strings.HasSuffix(k, "List"):
			bad(key, "%q is a built-in secret-bearing kind or a list kind and cannot be changed by rules", k)
		default:
			r.kinds = append(r.kinds, k)
		}
	}
	if len(s.Fields) == 0 && s.Env == nil {
		bad("fields", "a rule needs fields, env or both")
	}
	for i, f := range s.Fields {
		key := fmt.Sprintf("fields[%d]", i)
		rf := &ruleField{jwt: f.JWT}
		var path []string
		var err error
		if f.Path == "" {
			bad(key+".path", "empty")
		} else if path, err = fieldPath(f.Path); err != nil {
			bad(key+".path", "%v", err)
		}
		if f.Keys != "" {
			if rf.keys, err = compileMatcher(f.Keys); err != nil {
				bad(key+".keys", "%v", err)
			}
		}
		if f.ExceptKeys != "" {
			if f.Keys == "" && !f.JWT {
				bad(key+".except_keys", "needs keys or jwt")
			}
			if rf.except, err = compileMatcher(f.ExceptKeys); err != nil {
				bad(key+".except_keys", "%v", err)
			}
		}
		r.targets = append(r.targets, target{path: path, field: rf})
	}
	if e := s.Env; e != nil {
		er := &envRule{jwt: e.JWT}
		var err error
		if e.Names == "" && !e.JWT {
			bad("env.names", "empty (set names, jwt or both)")
		}
		if e.Names != "" {
			if er.names, err = compileMatcher(e.Names); err != nil {
				bad("env.names", "%v", err)
			}
		}
		if e.ExceptNames != "" {
			if er.except, err = compileMatcher(e.ExceptNames); err != nil {
				bad("env.except_names", "%v", err)
			}
		}
		for _, p := range pods.Paths {
			for _, ck := range pods.Containers {
				path := append(strings.Split(p, "."), ck, itemStep, "env", itemStep)
				r.targets = append(r.targets, target{path: path, env: er})
			}
		}
	}
	if len(r.targets) > maxTargets {
		bad("fields", "%d places in all, env counting %d (allowed: at most %d)", len(r.targets), len(pods.Paths)*len(pods.Containers), maxTargets)
	}
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	r.prefilter = true
	for _, t := range r.targets {
		var m *matcher
		switch {
		case t.field != nil && t.field.keys == nil && !t.field.jwt:
			r.prefilter = false // the value at a path: any text can be it
		case t.field != nil:
			m = t.field.keys
		default:
			m = t.env.names
		}
		if m == nil || r.scans(m) {
			continue
		}
		r.scan = append(r.scan, m)
		if !m.fast() {
			r.prefilter = false
		}
	}
	return r, nil
}

// podSpecsSpec says where a pod spec sits in the objects that carry one
// and which of its lists hold containers (conf/redact/kubernetes.yaml).
type podSpecsSpec struct {
	Paths      []string `json:"paths"`
	Containers []string `json:"containers"`
}

// joinErrs reports every problem on one line, as Fluent Bit's log shows a
// start-up error: "a; b; c".
func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

func (rs *ruleSet) forRef(rf ref) *rule {
	if rs == nil || rf.resource == "" {
		return nil
	}
	for _, r := range rs.rules {
		for _, x := range r.resources {
			if x.resource == rf.resource && x.group == rf.group {
				return r
			}
		}
	}
	return nil
}

func (rs *ruleSet) forKind(kind string) *rule {
	if rs == nil || kind == "" {
		return nil
	}
	for _, r := range rs.rules {
		if contains(r.kinds, kind) {
			return r
		}
	}
	return nil
}

// kindRules returns the bits of the rules an object of this kind is the
// root of: those claiming the kind, or a list of it (List, to any depth),
// whose items the sweep takes for that kind.
func (rs *ruleSet) kindRules(kind string) uint64 {
	var bits uint64
	for len(rs.kinds) > 0 {
		bits |= rs.kinds[kind]
		k, list := strings.CutSuffix(kind, genericListKind)
		if !list || k == "" {
			break
		}
		kind = k
	}
	return bits
}

// bits returns r's bit, none for no rule.
func (r *rule) bits() uint64 {
	if r == nil {
		return 0
	}
	return r.bit
}

func (r *rule) scans(m *matcher) bool {
	for _, x := range r.scan {
		if x.re.String() == m.re.String() {
			return true
		}
	}
	return false
}

// matchKey reports whether a map value under key is removed by f. The
// exception is checked last: it is usually an anchored pattern, on the
// regexp engine's slow path, and most keys match nothing anyway.
func (f *ruleField) matchKey(key string, v any) bool {
	hit := f.keys != nil && f.keys.MatchString(key)
	if !hit && f.jwt {
		s, _ := v.(string)
		hit = isJWT(s)
	}
	return hit && (f.except == nil || !f.except.MatchString(key))
}

// isJWT reports whether s is a JSON Web Token (three base64url segments, the
// header a JSON object), optionally after "Bearer ". It allocates nothing.
func isJWT(s string) bool {
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimLeft(s[7:], " ")
	}
	if !strings.HasPrefix(s, "eyJ") {
		return false
	}
	dots := 0
	seg := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if seg == 0 && dots < 2 {
				return false
			}
			dots++
			seg = 0
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '=':
			seg++
		default:
			return false
		}
	}
	return dots == 2
}

// pos is where the sweep stands inside an object a rule applies to: depth
// steps below its root, with live the targets whose path the steps so far
// have followed. The zero pos is outside any.
type pos struct {
	ru    *rule
	depth int
	live  uint64
}

// root is the position of an object the rule applies to.
func (r *rule) root() pos {
	if r == nil {
		return pos{}
	}
	return pos{ru: r, live: 1<<uint(len(r.targets)) - 1}
}

// child is the position one step (a key, or itemStep) further down.
func (p pos) child(step string) pos {
	if p.live == 0 {
		return pos{}
	}
	var live uint64
	for l := p.live; l != 0; l &= l - 1 {
		i := bits.TrailingZeros64(l)
		if t := &p.ru.targets[i]; len(t.path) > p.depth && t.path[p.depth] == step {
			live |= 1 << uint(i)
		}
	}
	if live == 0 {
		return pos{}
	}
	return pos{ru: p.ru, depth: p.depth + 1, live: live}
}

// removes reports whether the member k (value v) of an object at p is the
// rule's to remove. siblings are the object's members: an env variable's
// name is among them, and a variable without one (a JSON patch that sets
// one value by index) is removed, since what it is cannot be seen.
func (p pos) removes(k string, v any, siblings map[string]any) bool {
	for l := p.live; l != 0; l &= l - 1 {
		t := &p.ru.targets[bits.TrailingZeros64(l)]
		switch len(t.path) - p.depth {
		case 0: // the object is the target
			if t.env != nil {
				if k == "value" && t.env.removes(siblings, v) {
					return true
				}
			} else if (t.field.keys != nil || t.field.jwt) && t.field.matchKey(k, v) {
				return true
			}
		case 1: // the member is the target
			if t.field != nil && t.path[p.depth] == k && t.field.removesValue(v) {
				return true
			}
		}
	}
	return false
}

// removesValue reports whether the value at a field's path goes. A map
// under a field with keys or jwt is not removed whole: its members are
// judged one by one.
func (f *ruleField) removesValue(v any) bool {
	if _, isMap := v.(map[string]any); isMap && (f.keys != nil || f.jwt) {
		return false
	}
	if f.keys != nil {
		return false // keys name members of an object; this is none
	}
	if f.jwt {
		s, _ := v.(string)
		return isJWT(s)
	}
	return true
}

func (e *envRule) removes(siblings map[string]any, v any) bool {
	name, hasName := siblings["name"].(string)
	if !hasName {
		return true
	}
	s, _ := v.(string)
	if !(e.names != nil && e.names.MatchString(name)) && !(e.jwt && isJWT(s)) {
		return false
	}
	return e.except == nil || !e.except.MatchString(name)
}
