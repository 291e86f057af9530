package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Source is one rule file. Name appears in every error about its content,
// so use something the user can find (a path).
type Source struct {
	Name string
	Data []byte
}

// FromFS reads the files matching pattern (fs.Glob syntax), in lexical
// order, so callers can pass the embedded defaults (conf.Rules) or a user
// directory (os.DirFS) without detect depending on either. A pattern that
// matches nothing is an error: it is almost always a misconfiguration.
func FromFS(fsys fs.FS, pattern string) ([]Source, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, fmt.Errorf("rule files %q: %w", pattern, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("rule files %q: no file matches", pattern)
	}
	srcs := make([]Source, 0, len(names))
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("rule file %s: %w", name, err)
		}
		srcs = append(srcs, Source{Name: name, Data: data})
	}
	return srcs, nil
}

// fileSpec is the top level of a rule file.
type fileSpec struct {
	Lists map[string]json.RawMessage `json:"lists"`
	Rules []json.RawMessage          `json:"rules"`
}

// listSpec is the long form of a list entry; the short form is a plain
// sequence, which defines (or replaces) the list.
type listSpec struct {
	Items  []any `json:"items"`
	Append bool  `json:"append"`
}

// ruleSpec is one entry under rules. Condition and exceptions stay generic
// until compile time, when the field table and lists are known.
type ruleSpec struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    string   `json:"severity"`
	MITRE       []string `json:"mitre"`
	Enabled     *bool    `json:"enabled"`
	Condition   any      `json:"condition"`
	Exceptions  any      `json:"exceptions"`
	// AddExceptions appends exception blocks to a rule an earlier source
	// defines, so a site file scopes a rule without copying it.
	AddExceptions []any          `json:"add_exceptions"`
	Threshold     *thresholdSpec `json:"threshold"`
	Sequence      *sequenceSpec  `json:"sequence"`
	// DryRun: the rule also judges dry-run requests (?dryRun=All), which
	// the API server validates and answers but does not persist.
	DryRun bool `json:"dry_run"`
}

// thresholdSpec makes a rule stateful: it fires when its condition held
// more than more_than times (or for more than more_than distinct values of
// the distinct field) within window, per key.
type thresholdSpec struct {
	Key      []string `json:"key"`
	Distinct string   `json:"distinct"`
	Window   string   `json:"window"`
	MoreThan *int     `json:"more_than"`
	MaxKeys  int      `json:"max_keys"`
}

// sequenceSpec makes a rule a sequence: it fires on an event its
// condition holds for once after (a condition) has held at least at_least
// times for the same key within window before it.
type sequenceSpec struct {
	After   any      `json:"after"`
	AtLeast *int     `json:"at_least"`
	Key     []string `json:"key"`
	Window  string   `json:"window"`
	MaxKeys int      `json:"max_keys"`
}

// maxMaxKeys caps threshold.max_keys so one rule file cannot make a rule
// hold unbounded memory.
const maxMaxKeys = 1 << 20

const (
	fileKeys = "lists, rules"
	listKeys = "items, append"
	ruleKeys = "id, title, description, severity, mitre, enabled, condition, exceptions, add_exceptions, threshold, sequence, dry_run"
	// The keys of a rule's nested mappings, by the rule key holding them.
	thresholdKeys = "key, distinct, window, more_than, max_keys"
	sequenceKeys  = "after, at_least, key, window, max_keys"
)

var (
	namePattern  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	mitrePattern = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
)

// ruleState is a rule after merging sources, before compiling.
type ruleState struct {
	spec    ruleSpec
	source  string
	enabled bool
	// added are exception blocks later sources appended (add_exceptions),
	// each with the source that added it.
	added []addedException
}

type addedException struct {
	source string
	block  any
}

type loader struct {
	lists   map[string][]string
	rules   map[string]*ruleState
	errs    []error
	current string // source being loaded, for errors
}

func (l *loader) errorf(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", l.current, fmt.Sprintf(format, args...)))
}

// New builds an engine from rule sources applied in order. A later source
// can replace a rule by id (whole replacement), switch it off or on with an
// entry holding only id and enabled, replace a list, or append to one with
// {append: true, items: [...]}. Lists are resolved after all sources, so an
// appended item applies to rules from earlier files too. Every problem in
// every source is reported, joined, each naming the source, the rule id and
// the key.
func New(sources ...Source) (*Engine, error) {
	l := &loader{lists: map[string][]string{}, rules: map[string]*ruleState{}}
	for _, src := range sources {
		l.current = src.Name
		l.load(src.Data)
	}
	// Compile even after load errors, so one run reports every problem.
	return l.build()
}

func (l *loader) load(data []byte) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		l.errorf("%v", err)
		return
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return // empty file
	}
	var top any
	_ = strictDecode(js, &top)
	if m, ok := top.(map[string]any); ok {
		if k := unknownKey(m, fileKeys); k != "" {
			l.errorf("unknown key %q (allowed: %s)", k, fileKeys)
			return
		}
	}
	var f fileSpec
	if err := strictDecode(js, &f); err != nil {
		l.errorf("%s", decodeErr(err, fileKeys))
		return
	}
	names := make([]string, 0, len(f.Lists))
	for name := range f.Lists {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		l.loadList(name, f.Lists[name])
	}
	seen := map[string]bool{}
	for i, raw := range f.Rules {
		l.loadRule(i, raw, seen)
	}
}

func (l *loader) loadList(name string, raw json.RawMessage) {
	where := "lists." + name
	if !namePattern.MatchString(name) {
		l.errorf("%s: list name must match %s", where, namePattern)
		return
	}
	var node any
	_ = strictDecode(raw, &node) // raw came from a successful decode
	var spec listSpec
	switch n := node.(type) {
	case []any:
		spec.Items = n
	case map[string]any:
		if k := unknownKey(n, listKeys); k != "" {
			l.errorf("%s: unknown key %q (allowed: %s)", where, k, listKeys)
			return
		}
		if err := strictDecode(raw, &spec); err != nil {
			l.errorf("%s: %s", where, decodeErr(err, listKeys))
			return
		}
	default:
		l.errorf("%s: want a sequence of strings or {items: [...], append: true}, got %s", where, describe(node))
		return
	}
	items := make([]string, 0, len(spec.Items))
	for i, it := range spec.Items {
		s, ok := scalarText(it)
		if !ok || s == "" {
			l.errorf("%s.items[%d]: want a non-empty string, got %s", where, i, describe(it))
			return
		}
		items = append(items, s)
	}
	if spec.Append {
		prev, ok := l.lists[name]
		if !ok {
			l.errorf("%s: append to a list no earlier source defines", where)
			return
		}
		l.lists[name] = append(prev[:len(prev):len(prev)], items...)
		return
	}
	l.lists[name] = items
}

func (l *loader) loadRule(i int, raw json.RawMessage, seen map[string]bool) {
	where := fmt.Sprintf("rules[%d]", i)
	var node any
	_ = strictDecode(raw, &node) // raw came from a successful decode
	m, isMap := node.(map[string]any)
	if !isMap {
		l.errorf("%s: want a mapping, got %s", where, describe(node))
		return
	}
	if id, ok := m["id"].(string); ok && id != "" {
		where = fmt.Sprintf("rule %q", id)
	}
	// encoding/json matches keys case-insensitively; rule files are exact.
	if k := unknownKey(m, ruleKeys); k != "" {
		l.errorf("%s: unknown key %q (allowed: %s)", where, k, ruleKeys)
		return
	}
	for _, n := range [...]struct{ key, allowed string }{{"threshold", thresholdKeys}, {"sequence", sequenceKeys}} {
		if sub, ok := m[n.key].(map[string]any); ok {
			if k := unknownKey(sub, n.allowed); k != "" {
				l.errorf("%s: %s: unknown key %q (allowed: %s)", where, n.key, k, n.allowed)
				return
			}
		}
	}
	var spec ruleSpec
	if err := strictDecode(raw, &spec); err != nil {
		l.errorf("%s: %s", where, decodeErr(err, ruleKeys))
		return
	}
	if !namePattern.MatchString(spec.ID) {
		l.errorf("%s: id: must match %s (ids are joined with commas into a Loki label)", where, namePattern)
		return
	}
	if seen[spec.ID] {
		l.errorf("%s: id: defined twice in this source", where)
		return
	}
	seen[spec.ID] = true

	if spec.Condition == nil {
		if spec.Title != "" || spec.Severity != "" || spec.Description != "" || spec.MITRE != nil || spec.Exceptions != nil || spec.Threshold != nil || spec.Sequence != nil {
			l.errorf("%s: condition: required (an entry replaces the whole rule; to switch a rule off or on give only id and enabled; to scope it, add_exceptions)", where)
			return
		}
		if spec.Enabled == nil && spec.AddExceptions == nil {
			l.errorf("%s: nothing to do: give title, severity and condition to define the rule, enabled to switch it, or add_exceptions to scope it", where)
			return
		}
		prev, ok := l.rules[spec.ID]
		if !ok {
			l.errorf("%s: no earlier source defines this rule", where)
			return
		}
		if spec.Enabled != nil {
			prev.enabled = *spec.Enabled
		}
		for _, b := range spec.AddExceptions {
			prev.added = append(prev.added, addedException{source: l.current, block: b})
		}
		return
	}
	if spec.AddExceptions != nil {
		l.errorf("%s: add_exceptions: only for a rule an earlier source defines; a definition lists its own exceptions", where)
		return
	}

	ok := true
	if spec.Title == "" {
		l.errorf("%s: title: required", where)
		ok = false
	}
	if spec.Severity == "" {
		l.errorf("%s: severity: required (allowed: info, low, medium, high, critical)", where)
		ok = false
	} else if sev, err := ParseSeverity(spec.Severity); err != nil || sev == None {
		l.errorf("%s: severity: unknown value %q (allowed: info, low, medium, high, critical)", where, spec.Severity)
		ok = false
	}
	for j, m := range spec.MITRE {
		if !mitrePattern.MatchString(m) {
			l.errorf("%s: mitre[%d]: %q is not an ATT&CK technique id like T1609 or T1552.007", where, j, m)
			ok = false
		}
	}
	if !ok {
		return
	}
	enabled := spec.Enabled == nil || *spec.Enabled
	l.rules[spec.ID] = &ruleState{spec: spec, source: l.current, enabled: enabled}
}

// build compiles the merged rules. Disabled rules are compiled too, so a
// broken shipped rule fails at startup even where it is switched off.
func (l *loader) build() (*Engine, error) {
	ids := make([]string, 0, len(l.rules))
	for id := range l.rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	e := &Engine{started: newStartedSet()}
	for i, s := range l.lists["trusted_proxies"] {
		pre, err := parseCIDR(s)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("lists.trusted_proxies[%d]: %q is neither an address nor a CIDR prefix", i, s))
			continue
		}
		e.proxies = append(e.proxies, pre)
	}
	switch lr := l.lists["long_running_stage"]; {
	case len(lr) == 0 || len(lr) == 1 && lr[0] == stageStarted:
	case len(lr) == 1 && lr[0] == stageComplete:
		e.lrComplete = true
	default:
		l.errs = append(l.errs, fmt.Errorf("lists.long_running_stage: %q: want one of ResponseStarted, ResponseComplete", lr))
	}
	net := netFields(e.proxies)
	for _, id := range ids {
		st := l.rules[id]
		c := &compiler{lists: l.lists, net: net}
		cond := c.block(st.spec.Condition, "condition")
		level := "Metadata"
		if c.body {
			level = "Request"
		}
		var excs []matcher
		if st.spec.Exceptions != nil {
			excs = append(excs, c.blocks(st.spec.Exceptions, "exceptions")...)
		}
		for i, a := range st.added {
			if m := c.block(a.block, fmt.Sprintf("add_exceptions[%d] (from %s)", i, a.source)); m != nil {
				excs = append(excs, m)
			}
		}
		var exc matcher
		switch len(excs) {
		case 0:
		case 1:
			exc = excs[0]
		default:
			exc = anyOf(excs)
		}
		var th *threshold
		if st.spec.Threshold != nil {
			th = c.threshold(st.spec.Threshold)
		}
		var seq *sequence
		var after matcher
		if st.spec.Sequence != nil {
			if st.spec.Threshold != nil {
				c.errorf("sequence", "a rule is a threshold or a sequence, not both")
			}
			// The earlier step's fields count toward the level the rule
			// needs, its exceptions' do not (as for the condition's).
			body := c.body
			c.body = false
			seq, after = c.sequence(st.spec.Sequence)
			if c.body {
				level = "Request"
			}
			c.body = c.body || body
		}
		for _, err := range c.errs {
			l.errs = append(l.errs, fmt.Errorf("%s: rule %q: %w", st.source, id, err))
		}
		if len(c.errs) > 0 {
			continue
		}
		sev, _ := ParseSeverity(st.spec.Severity)
		r := &rule{
			info: Rule{
				ID:          id,
				Title:       st.spec.Title,
				Description: strings.TrimSpace(st.spec.Description),
				Severity:    sev,
				MITRE:       st.spec.MITRE,
				Enabled:     st.enabled,
				Source:      st.source,
				Level:       level,
			},
			cond:   cond,
			exc:    exc,
			state:  th,
			seq:    seq,
			dryRun: st.spec.DryRun,
		}
		if th != nil {
			r.info.Threshold = th.describe()
			r.info.Count = &Count{Key: append([]string(nil), st.spec.Threshold.Key...), Distinct: st.spec.Threshold.Distinct,
				Window: th.window, MoreThan: th.moreThan}
		}
		r.match = Match{ID: id, Title: r.info.Title, Severity: sev, MITRE: r.info.MITRE}
		e.rules = append(e.rules, r)
		if seq != nil {
			r.info.Threshold = seq.describe()
			// The earlier step is a rule of its own for the index, the
			// code gate and the memo; it records and never labels.
			e.steps = append(e.steps, &rule{info: Rule{ID: id, Enabled: st.enabled}, cond: after, exc: exc, step: seq, dryRun: st.spec.DryRun})
		}
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	e.buildIndex()
	return e, nil
}

// unknownKey returns the first key of m (in sorted order) not in the
// comma-separated allowed list, or "".
func unknownKey(m map[string]any, allowed string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(strings.Split(allowed, ", "), k) {
			return k
		}
	}
	return ""
}

func strictDecode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	d.UseNumber()
	return d.Decode(v)
}

// decodeErr rewords encoding/json errors in terms of the YAML the user wrote.
func decodeErr(err error, allowed string) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got := map[string]string{"array": "a list", "object": "a mapping", "number": "a number", "string": "a string", "bool": "a bool"}[te.Value]
		if got == "" {
			got = te.Value
		}
		if te.Field == "" {
			return fmt.Sprintf("want %s, got %s", yamlType(te.Type.String()), got)
		}
		return fmt.Sprintf("%s: want %s, got %s", te.Field, yamlType(te.Type.String()), got)
	}
	if k, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Sprintf("unknown key %s (allowed: %s)", k, allowed)
	}
	return err.Error()
}

func yamlType(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool", goType == "*bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "detect."):
		return "a mapping"
	}
	return goType
}
