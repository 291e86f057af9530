package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kaudit/kaudit/plugin/config"
)

// section is one kaudit plugin instance of a Fluent Bit configuration: an
// [OUTPUT] or [FILTER], or a YAML output, filter or processor, with the
// file and line of each key so that a problem can be pointed at.
type section struct {
	kind  config.Scope
	what  string // "[OUTPUT]", "[FILTER]", "processor" …, for messages
	file  string
	line  int
	props config.MapGetter
	lines map[string]int
}

func (s section) at(key string) string {
	n := s.lines[key]
	if n == 0 {
		n = s.line
	}
	return fmt.Sprintf("%s:%d", s.file, n)
}

// envRef is the only form Fluent Bit expands in configuration values:
// ${NAME}; `$name` is left as written (record accessors use it).
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func expandEnv(s string, vars map[string]string) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		k := m[2 : len(m)-1]
		if v, ok := vars[k]; ok {
			return v
		}
		return os.Getenv(k)
	})
}

// readSections returns every kaudit instance of a Fluent Bit configuration,
// classic or YAML, following @INCLUDE and `includes:`.
func readSections(path string) ([]section, error) {
	r := &confReader{vars: map[string]string{}, seen: map[string]bool{}}
	if err := r.read(path); err != nil {
		return nil, err
	}
	var out []section
	for _, s := range r.sections {
		if strings.EqualFold(s.props["name"], "kaudit") {
			out = append(out, s)
		}
	}
	return out, nil
}

type confReader struct {
	vars     map[string]string
	seen     map[string]bool
	sections []section
}

func (r *confReader) read(path string) error {
	abs, _ := filepath.Abs(path)
	if r.seen[abs] {
		return fmt.Errorf("%s: included twice (an @INCLUDE loop?)", path)
	}
	r.seen[abs] = true
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		err = r.yaml(path, b)
	default:
		err = r.classic(path, b)
	}
	return err
}

func (r *confReader) include(from, pattern string) error {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(from), pattern)
	}
	names, err := filepath.Glob(pattern)
	if err != nil || len(names) == 0 {
		return fmt.Errorf("%s: include %q matches no file", from, pattern)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := r.read(n); err != nil {
			return err
		}
	}
	return nil
}

func (r *confReader) classic(path string, b []byte) error {
	var cur *section
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case hasPrefixFold(line, "@SET "):
			if k, v, ok := strings.Cut(strings.TrimSpace(line[5:]), "="); ok {
				r.vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			continue
		case hasPrefixFold(line, "@INCLUDE "):
			if err := r.include(path, strings.TrimSpace(line[9:])); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n, err)
			}
			cur = nil
			continue
		case strings.HasPrefix(line, "@"):
			continue
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") {
				return fmt.Errorf("%s:%d: %q is not a [SECTION]", path, n, line)
			}
			cur = nil
			name := strings.ToUpper(strings.TrimSpace(line[1 : len(line)-1]))
			var kind config.Scope
			switch name {
			case "OUTPUT":
				kind = config.Output
			case "FILTER":
				kind = config.Filter
			default:
				continue
			}
			r.sections = append(r.sections, section{kind: kind, what: "[" + name + "]", file: path, line: n, props: config.MapGetter{}, lines: map[string]int{}})
			cur = &r.sections[len(r.sections)-1]
			continue
		}
		if cur == nil {
			continue
		}
		k, v, _ := strings.Cut(strings.Join(strings.Fields(line), " "), " ")
		k = strings.ToLower(k)
		if _, dup := cur.props[k]; !dup { // Fluent Bit's lookup returns the first
			cur.props[k] = expandEnv(v, r.vars)
			cur.lines[k] = n
		}
	}
	return sc.Err()
}

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }

func (r *confReader) yaml(path string, b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if env := mapGet(root, "env"); env != nil && env.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(env.Content); i += 2 {
			r.vars[env.Content[i].Value] = env.Content[i+1].Value
		}
	}
	if inc := mapGet(root, "includes"); inc != nil {
		for _, n := range inc.Content {
			if err := r.include(path, n.Value); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n.Line, err)
			}
		}
	}
	pipe := mapGet(root, "pipeline")
	if pipe == nil {
		return nil
	}
	for _, list := range []struct {
		key  string
		kind config.Scope
		what string
	}{{"inputs", 0, "input"}, {"filters", config.Filter, "filter"}, {"outputs", config.Output, "output"}} {
		seq := mapGet(pipe, list.key)
		if seq == nil {
			continue
		}
		for _, item := range seq.Content {
			if list.kind != 0 {
				r.sections = append(r.sections, r.yamlSection(path, item, list.kind, list.what))
			}
			// Processors of any input or output: a filter plugin's keys.
			if procs := mapGet(item, "processors"); procs != nil && procs.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(procs.Content); i += 2 {
					for _, p := range procs.Content[i+1].Content {
						r.sections = append(r.sections, r.yamlSection(path, p, config.Filter, list.what+" processor ("+procs.Content[i].Value+")"))
					}
				}
			}
		}
	}
	return nil
}

func (r *confReader) yamlSection(path string, n *yaml.Node, kind config.Scope, what string) section {
	s := section{kind: kind, what: what, file: path, line: n.Line, props: config.MapGetter{}, lines: map[string]int{}}
	if n.Kind != yaml.MappingNode {
		return s
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := strings.ToLower(n.Content[i].Value), n.Content[i+1]
		if k == "processors" {
			continue
		}
		if _, dup := s.props[k]; dup {
			continue
		}
		s.props[k] = expandEnv(yamlScalar(v), r.vars)
		s.lines[k] = n.Content[i].Line
	}
	return s
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if strings.EqualFold(n.Content[i].Value, key) {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlScalar renders a value as Fluent Bit reads it: scalars as written,
// a list as its items joined with commas.
func yamlScalar(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!float" {
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return strconv.FormatFloat(f, 'f', -1, 64)
			}
		}
		return n.Value
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = yamlScalar(c)
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// Keys Fluent Bit's core takes for every output or filter instance; they
// never reach the plugin (scripts/flbhost/ABI.md lists them per version).
var (
	coreCommon = []string{"name", "match", "match_regex", "alias", "log_level", "log_suppress_interval"}
	coreOutput = []string{"host", "port", "ipv6", "retry_limit", "workers", "routes", "tls"}
	// Prefixes of core (or core-adjacent) output keys.
	coreOutputPrefixes = []string{"tls.", "net.", "storage.", "oauth2", "_debug."}
	// A processor unit takes a condition (5.x).
	coreProcessor = []string{"condition"}
)

// unknownKeys names every key of s that neither Fluent Bit's core nor
// this kaudit plugin takes, one message each, pointing at file and line.
func unknownKeys(s section) (msgs, keys []string) {
	known := map[string]bool{}
	for _, k := range coreCommon {
		known[k] = true
	}
	if s.kind == config.Output {
		for _, k := range coreOutput {
			known[k] = true
		}
	} else {
		for _, k := range coreProcessor {
			known[k] = true
		}
	}
	other := map[string]config.Scope{}
	for _, k := range config.Keys {
		if k.Scope&s.kind != 0 {
			known[k.Name] = true
		} else {
			other[k.Name] = k.Scope
		}
	}
	all := make([]string, 0, len(s.props))
	for k := range s.props {
		all = append(all, k)
	}
	sort.Slice(all, func(i, j int) bool {
		return s.lines[all[i]] < s.lines[all[j]] || (s.lines[all[i]] == s.lines[all[j]] && all[i] < all[j])
	})
	for _, k := range all {
		if known[k] || (s.kind == config.Output && hasAnyPrefix(k, coreOutputPrefixes)) {
			continue
		}
		msg := fmt.Sprintf("%s: %s kaudit: unknown key %q", s.at(k), s.what, k)
		switch {
		case other[k] != 0:
			msg = fmt.Sprintf("%s: %s kaudit: %q is a key of the kaudit %s, not of the %s", s.at(k), s.what, k, other[k], s.kind)
		case config.Foreign[k] != "":
			msg = fmt.Sprintf("%s: %s kaudit: %q is a key of Fluent Bit's loki output that kaudit does not take (%s)", s.at(k), s.what, k, config.Foreign[k])
		default:
			if near := nearest(k, known); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
		}
		msgs, keys = append(msgs, msg), append(keys, k)
	}
	return msgs, keys
}

func hasAnyPrefix(s string, ps []string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// nearest is the known key closest to k, if it is a plausible typo.
func nearest(k string, known map[string]bool) string {
	best, bestD := "", 3
	for cand := range known {
		if d := distance(k, cand); d < bestD || (d == bestD && best != "" && cand < best) {
			best, bestD = cand, d
		}
	}
	if bestD > 2 {
		return ""
	}
	return best
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
