package redact

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kaudit/kaudit/conf"
	"github.com/kaudit/kaudit/redact/literal"
)

// kindSpec declares a secret-bearing kind (conf/redact/kubernetes.yaml).
type kindSpec struct {
	Kind      string   `json:"kind"`
	ListKinds []string `json:"list_kinds"`
	// Resources are plural, plural.group, plural.* (any group) or
	// plural/subresource (core group).
	Resources []string `json:"resources"`
	Each      []string `json:"each"`
	Values    []string `json:"values"`
	Spellings bool     `json:"spellings"`
	Patch     bool     `json:"patch"`
}

type namesSpec struct {
	Words           []string `json:"words"`
	LastWords       []string `json:"last_words"`
	ExceptLastWords []string `json:"except_last_words"`
	KeyExceptions   []string `json:"key_exceptions"`
	URLWords        []string `json:"url_words"`
	Names           []string `json:"names"`
	Substrings      []string `json:"substrings"`
	PlainMaps       []string `json:"plain_maps"`
	PairLists       []string `json:"pair_lists"`
	QuantityWords   []string `json:"quantity_words"`
	Qualifiers      []string `json:"qualifiers"`
	Suffixes        []string `json:"suffixes"`
	SuffixExcept    []string `json:"suffix_exceptions"`
	KeyPrefixes     []string `json:"key_prefixes"`
	NotNames        []string `json:"not_names"`
	ContentWords    []string `json:"content_last_words"`
	ShapedNames     []string `json:"shaped_names"`
	QueryNames      []string `json:"query_names"`
	PurposeWords    []string `json:"purpose_words"`
	VerdictWords    []string `json:"verdict_words"`
	HostKeyed       []string `json:"host_keyed"`
	HostKeyedExcept []string `json:"host_keyed_except"`
	Confusables     []string `json:"confusables"`
	IdentifierWords []string `json:"identifier_words"`
	References      []string `json:"references"`
}

type patternSpec struct {
	ID          string   `json:"id"`
	Description string   `json:"description"`
	Enabled     *bool    `json:"enabled"`
	Keywords    []string `json:"keywords"`
	Regex       string   `json:"regex"`
	Secret      []int    `json:"secret"`
	Name        groups   `json:"name"`
	Separator   int      `json:"separator"`
	Anywhere    bool     `json:"anywhere"`
	Lines       bool     `json:"lines"`
	Runs        bool     `json:"runs"`
	Shaped      bool     `json:"shaped"`
}

// groups is one regexp group or a list of them: name: 1, or name: [1, 3]
// for a regexp whose alternatives hold the name in different groups.
type groups []int

func (g *groups) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*g = groups{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*g = many
	return nil
}

// builtinSources are always loaded before the caller's sources.
var builtinSources = []Source{
	{Name: "embedded:conf/redact/kubernetes.yaml", Data: conf.RedactKubernetes},
	{Name: "embedded:conf/redact/patterns.yaml", Data: conf.RedactPatterns},
}

// secret-bearing kinds are the secret-bearing kinds of conf/redact/kubernetes.yaml, built
// once: they cannot be changed by a redact_file, so every Redactor shares
// them.
var secretKinds = func() []secretKind {
	f, err := parseRulesFile(conf.RedactKubernetes)
	if err != nil {
		panic("redact: embedded kubernetes.yaml: " + err.Error())
	}
	ds, err := compileKinds(f.Kinds)
	if err != nil {
		panic("redact: embedded kubernetes.yaml: " + err.Error())
	}
	return ds
}()

func compileKinds(specs []kindSpec) ([]secretKind, error) {
	var ds []secretKind
	var errs []error
	for i, s := range specs {
		at := fmt.Sprintf("kinds[%d] (%s)", i, s.Kind)
		if !kindRE.MatchString(s.Kind) || len(s.Resources) == 0 || len(s.Each)+len(s.Values) == 0 {
			errs = append(errs, fmt.Errorf("%s: needs kind, resources and each or values", at))
			continue
		}
		d := secretKind{name: strings.ToLower(s.Kind), kinds: []string{s.Kind}, listKinds: s.ListKinds, patch: s.Patch, spellings: s.Spellings}
		// Values of each-maps report as secret_data, single values as token.
		for _, p := range s.Each {
			d.fields = append(d.fields, field{path: strings.Split(p, "."), each: true, kind: KindSecretData})
		}
		for _, p := range s.Values {
			d.fields = append(d.fields, field{path: strings.Split(p, "."), kind: KindToken})
		}
		for _, res := range s.Resources {
			dd := d
			name, sub, hasSub := strings.Cut(res, "/")
			plural, group, hasGroup := strings.Cut(name, ".")
			dd.resource = plural
			switch {
			case hasGroup && group == "*":
				dd.groups = nil
			case hasGroup:
				dd.groups = []string{group}
			default:
				dd.groups = coreGroup
			}
			if hasSub {
				dd.subresource = sub
			}
			ds = append(ds, dd)
		}
	}
	return ds, joinErrs(errs)
}

func compilePatterns(specs []patternSpec, order *[]string, byID map[string]patternSpec) []error {
	var errs []error
	for _, s := range specs {
		if !idRE.MatchString(s.ID) {
			errs = append(errs, fmt.Errorf("patterns: id %q must be lower_snake_case", s.ID))
			continue
		}
		if _, ok := byID[s.ID]; !ok {
			*order = append(*order, s.ID)
		}
		byID[s.ID] = s
	}
	return errs
}

func buildPattern(s patternSpec) (*pattern, error) {
	at := fmt.Sprintf("patterns (%s)", s.ID)
	re, err := regexp.Compile(s.Regex)
	if err != nil {
		return nil, fmt.Errorf("%s: regex: %w", at, err)
	}
	if len(s.Keywords) == 0 && !s.Runs {
		return nil, fmt.Errorf("%s: keywords: at least one is needed (they are the prefilter)", at)
	}
	if len(s.Keywords) > 0 && s.Runs {
		return nil, fmt.Errorf("%s: runs: a pattern of token shapes has no keywords", at)
	}
	p := &pattern{id: s.ID, re: re, groups: s.Secret, sep: s.Separator, anywhere: s.Anywhere, lines: s.Lines, runs: s.Runs, shaped: s.Shaped}
	if len(s.Name) > 0 && s.Name[0] > 0 {
		p.names = s.Name
	}
	for _, k := range s.Keywords {
		if k == "" || !utf8.ValidString(k) {
			return nil, fmt.Errorf("%s: keywords: %q must be non-empty UTF-8", at, k)
		}
		if literal.IsASCII(k) {
			k = strings.ToLower(k) // the scanner folds ASCII case
		}
		p.keywords = append(p.keywords, k)
	}
	for _, g := range append(append(append([]int{}, s.Secret...), s.Name...), s.Separator) {
		if g < 0 || g > re.NumSubexp() {
			return nil, fmt.Errorf("%s: group %d: the regex has %d", at, g, re.NumSubexp())
		}
	}
	return p, nil
}
