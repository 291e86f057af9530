package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// A Fluent Bit configuration reduced to what both formats share: the
// service properties and the plugin instances in order. Keys are lower case
// (Fluent Bit compares them case-insensitively); values are as written.
type fbConfig struct {
	Path    string
	Service props
	Plugins []plugin // inputs, filters and outputs, in file order per kind
	Parsers []plugin // [PARSER] sections or YAML parsers
}

type props map[string]string

type plugin struct {
	Kind  string // input, filter, output, parser
	Where string // file:line, for messages
	Props props
}

func (p plugin) name() string { return strings.ToLower(p.Props["name"]) }

func (c *fbConfig) kind(kind string) []plugin {
	var out []plugin
	for _, p := range c.Plugins {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// parseClassic reads a classic-mode file as Fluent Bit's own reader does:
// `[SECTION]` at column 0, `key value` entries indented the same way within
// a section, `#` comments, `@INCLUDE` (relative to the including file, globs
// allowed) and `@SET`. Anything else is an error naming file and line.
func parseClassic(path string) (*fbConfig, error) {
	c := &fbConfig{Path: path, Service: props{}}
	if err := c.readClassic(path, 0); err != nil {
		return nil, err
	}
	return c, nil
}

var sectionRE = regexp.MustCompile(`^\[([A-Za-z_]+)\]$`)

func (c *fbConfig) readClassic(path string, depth int) error {
	if depth > 8 {
		return fmt.Errorf("%s: @INCLUDE nested too deep", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cur props
	indent := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		where := fmt.Sprintf("%s:%d", path, n)
		raw := strings.TrimRight(sc.Text(), " \t\r")
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "@INCLUDE "):
			pat := strings.TrimSpace(strings.TrimPrefix(line, "@INCLUDE "))
			if !filepath.IsAbs(pat) {
				pat = filepath.Join(filepath.Dir(path), pat)
			}
			files, _ := filepath.Glob(pat)
			if len(files) == 0 {
				return fmt.Errorf("%s: @INCLUDE %s matches no file", where, pat)
			}
			sort.Strings(files)
			for _, f := range files {
				if err := c.readClassic(f, depth+1); err != nil {
					return err
				}
			}
			cur = nil
			continue
		case strings.HasPrefix(line, "@SET "):
			if !strings.Contains(line, "=") {
				return fmt.Errorf("%s: @SET without '='", where)
			}
			continue
		case strings.HasPrefix(line, "@"):
			return fmt.Errorf("%s: unknown directive %q", where, line)
		}
		if m := sectionRE.FindStringSubmatch(raw); m != nil {
			indent = ""
			switch kind := strings.ToLower(m[1]); kind {
			case "service":
				cur = c.Service
			case "input", "filter", "output", "parser", "multiline_parser":
				cur = props{}
				p := plugin{Kind: kind, Where: where, Props: cur}
				if kind == "parser" || kind == "multiline_parser" {
					c.Parsers = append(c.Parsers, p)
				} else {
					c.Plugins = append(c.Plugins, p)
				}
			default:
				return fmt.Errorf("%s: unknown section [%s]", where, m[1])
			}
			continue
		}
		if cur == nil {
			return fmt.Errorf("%s: entry outside a section", where)
		}
		lead := raw[:len(raw)-len(strings.TrimLeft(raw, " \t"))]
		if lead == "" {
			return fmt.Errorf("%s: entry not indented", where)
		}
		if indent == "" {
			indent = lead
		} else if lead != indent {
			return fmt.Errorf("%s: indentation differs from the section's first entry", where)
		}
		key, val, ok := strings.Cut(line, " ")
		val = strings.TrimSpace(val)
		if !ok || val == "" {
			return fmt.Errorf("%s: key %q without a value", where, key)
		}
		key = strings.ToLower(key)
		if _, dup := cur[key]; dup && !multiKeys[key] {
			return fmt.Errorf("%s: key %q set twice", where, key)
		}
		if multiKeys[key] {
			if prev, dup := cur[key]; dup {
				val = prev + "\n" + val
			}
		}
		cur[key] = val
	}
	return sc.Err()
}

// multiKeys may appear several times in one section.
var multiKeys = map[string]bool{"parsers_file": true, "rename": true, "add": true, "remove": true, "set": true}

// yamlFile is Fluent Bit's YAML configuration, strictly: an unknown
// top-level section fails to decode.
type yamlFile struct {
	Env      map[string]any   `json:"env,omitempty"`
	Includes []string         `json:"includes,omitempty"`
	Service  map[string]any   `json:"service,omitempty"`
	Plugins  []string         `json:"plugins,omitempty"`
	Parsers  []map[string]any `json:"parsers,omitempty"`
	Pipeline struct {
		Inputs  []map[string]any `json:"inputs,omitempty"`
		Filters []map[string]any `json:"filters,omitempty"`
		Outputs []map[string]any `json:"outputs,omitempty"`
	} `json:"pipeline"`
}

func parseYAML(path string) (*fbConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var y yamlFile
	if err := strictYAML(b, &y); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(y.Includes) > 0 {
		return nil, fmt.Errorf("%s: includes are not used by kaudit's configurations", path)
	}
	c := &fbConfig{Path: path}
	if c.Service, err = yamlProps(y.Service); err != nil {
		return nil, fmt.Errorf("%s: service: %w", path, err)
	}
	add := func(kind string, list []map[string]any, dst *[]plugin) error {
		for i, m := range list {
			p, err := yamlProps(m)
			if err != nil {
				return fmt.Errorf("%s: %ss[%d]: %w", path, kind, i, err)
			}
			if p["name"] == "" {
				return fmt.Errorf("%s: %ss[%d]: no name", path, kind, i)
			}
			*dst = append(*dst, plugin{Kind: kind, Where: fmt.Sprintf("%s: %ss[%d]", path, kind, i), Props: p})
		}
		return nil
	}
	for _, k := range []struct {
		kind string
		list []map[string]any
		dst  *[]plugin
	}{{"input", y.Pipeline.Inputs, &c.Plugins}, {"filter", y.Pipeline.Filters, &c.Plugins}, {"output", y.Pipeline.Outputs, &c.Plugins}, {"parser", y.Parsers, &c.Parsers}} {
		if err := add(k.kind, k.list, k.dst); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// yamlProps flattens one YAML mapping to Fluent Bit properties: scalars
// only (kaudit's configurations use no nested processors).
func yamlProps(m map[string]any) (props, error) {
	p := props{}
	for k, v := range m {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case int64:
			s = strconv.FormatInt(v, 10)
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
			return nil, fmt.Errorf("key %q without a value", k)
		default:
			return nil, fmt.Errorf("key %q: %T is not a scalar", k, v)
		}
		p[strings.ToLower(k)] = s
	}
	return p, nil
}

func parseConfig(path string) (*fbConfig, error) {
	if strings.HasSuffix(path, ".yaml") {
		return parseYAML(path)
	}
	return parseClassic(path)
}

// boolValue reads a Fluent Bit boolean (on/off, true/false, yes/no).
func boolValue(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// normalized is a property value compared across formats: booleans in one
// spelling, everything else as written.
func normalized(v string) string {
	if b, ok := boolValue(v); ok {
		return strconv.FormatBool(b)
	}
	return v
}

// tagMatch is Fluent Bit's Match: '*' matches any run of characters.
func tagMatch(pattern, tag string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(tag)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand substitutes ${VAR} as Fluent Bit does, from env; an undefined
// variable is reported.
func expand(v string, env map[string]string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(v, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		val, ok := env[name]
		if !ok {
			missing = append(missing, name)
		}
		return val
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined environment variable(s) %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// strictYAML decodes YAML as the API server decodes with strict field
// validation: field names are case-sensitive, and unknown or duplicate
// fields fail. (sigs.k8s.io/yaml's UnmarshalStrict goes through
// encoding/json, which matches field names case-insensitively, so it would
// take "readonly" for "readOnly".)
func strictYAML(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}
