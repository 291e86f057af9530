package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
	Kinds             []kindSpec    `json:"kinds"`
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

// rule is a compiled extra rule. Unlike a secret-bearing kind it never fails closed: the
// resources it names are not secret-bearing as a whole, so a shape it does
// not recognise is left alone.
type rule struct {
	id        string
	resources []ref // group and resource; subresource ignored
	kinds     []string
	fields    []ruleField
	env       *envRule
	// prefilter says scan can decide from the raw text of a last-applied
	// annotation that nothing in it is this rule's to remove.
	prefilter bool
	scan      []*matcher
	jwt       bool
	// otherKinds are the kinds of secret-bearing kinds and of every other rule: an
	// annotation naming one of them is parsed.
	otherKinds []string
}

type ruleField struct {
	path   []string
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
	marker  *string
	rules   []*rule
	needles []string // kinds whose last-applied annotation is worth parsing

	names             *names
	scanner           *scanner
	objectAnnotations map[string]bool
	secretAnnotations map[string]bool
	strictAllow       map[string]bool
	// annotationNoSlash: some annotation key has no prefix/, so the
	// lookup cannot be skipped for keys without one.
	annotationNoSlash bool
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
		r, err := compileRule(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where[id], err))
			continue
		}
		rs.rules = append(rs.rules, r)
		rs.needles = append(rs.needles, r.kinds...)
	}
	for _, r := range rs.rules {
		r.otherKinds = append([]string(nil), kindNeedles...)
		for _, o := range rs.rules {
			if o != r {
				r.otherKinds = append(r.otherKinds, o.kinds...)
			}
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
		return f, fmt.Errorf("%s (allowed keys: marker, rules[].{id, description, enabled, resources, kinds, fields[].{path, keys, except_keys, jwt}, env.{names, except_names, jwt}}, object_annotations, secret_annotations, credential_names.{words, last_words, except_last_words, key_exceptions, url_words, names, plain_maps}, patterns[].{id, description, enabled, keywords, regex, secret, name, separator}, strict_allow)", err)
	}
	return f, nil
}

func compileRule(s ruleSpec) (*rule, error) {
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
		rf := ruleField{jwt: f.JWT}
		if f.Path == "" {
			bad(key+".path", "empty")
		} else {
			rf.path = strings.Split(f.Path, ".")
			for _, p := range rf.path {
				if p == "" {
					bad(key+".path", "%q has an empty segment", f.Path)
					break
				}
			}
		}
		var err error
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
		r.fields = append(r.fields, rf)
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
		r.env = er
	}
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	r.prefilter = true
	for _, f := range r.fields {
		r.jwt = r.jwt || f.jwt
		if f.keys == nil && !f.jwt || f.keys != nil && !f.keys.fast() {
			r.prefilter = false
		}
		if f.keys != nil && !r.scans(f.keys) {
			r.scan = append(r.scan, f.keys)
		}
	}
	if e := r.env; e != nil {
		r.jwt = r.jwt || e.jwt
		if e.names != nil {
			r.scan = append(r.scan, e.names)
			if !e.names.fast() {
				r.prefilter = false
			}
		}
	}
	return r, nil
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

func (r *rule) scans(m *matcher) bool {
	for _, x := range r.scan {
		if x.re.String() == m.re.String() {
			return true
		}
	}
	return false
}

// mayHold reports whether a last-applied annotation's raw text can hold
// anything this rule removes. It is conservative: any \u escape (which
// could spell a key or kind), any secret-bearing kind or other rule's kind, any literal of
// the rule's patterns, any JWT prefix, or a pattern that is not a literal
// set, means the annotation is parsed.
func (r *rule) mayHold(s string) bool {
	if !r.prefilter || strings.Contains(s, `\u`) || containsAny(s, r.otherKinds) || (r.jwt && strings.Contains(s, "eyJ")) {
		return true
	}
	for _, m := range r.scan {
		if m.MatchString(s) {
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
