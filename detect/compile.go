package detect

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kaudit/kaudit/redact/literal"
)

// compiler turns the decoded YAML of one condition into matchers, collecting
// every problem (not just the first) with the path of the offending key.
type compiler struct {
	lists map[string][]string
	// net holds the fields bound to the engine's trusted_proxies.
	net  map[string]*field
	errs []error
	// body records that a test reads request or response bodies, which
	// exist only at audit level Request or above.
	body bool
}

func (c *compiler) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

const opNames = "in, glob, prefix, regex, list, absent, not, every, gt, gte, lt, lte, cidr, cidr_list, public"

// block compiles a mapping whose keys must all hold: field names, or the
// combinators any (list of blocks), all (list of blocks) and not (block).
func (c *compiler) block(node any, path string) matcher {
	m, ok := node.(map[string]any)
	if !ok {
		c.errorf(path, "want a mapping of field names to tests, got %s", describe(node))
		return nil
	}
	if len(m) == 0 {
		c.errorf(path, "empty condition (it would match every event)")
		return nil
	}
	type part struct {
		order int
		key   string
		m     matcher
	}
	var parts []part
	for key, sub := range m {
		p := path + "." + key
		switch key {
		case "any", "all":
			subs := c.blocks(sub, p)
			if subs == nil {
				continue
			}
			if key == "any" {
				parts = append(parts, part{4, key, anyOf(subs)})
			} else {
				parts = append(parts, part{4, key, allOf(subs)})
			}
		case "not":
			if inner := c.block(sub, p); inner != nil {
				parts = append(parts, part{5, key, notOf{inner}})
			}
		default:
			f, arg, ok := c.lookup(key)
			if !ok {
				c.errorf(p, "unknown field %q (known: %s; combinators: any, all, not)", key, fieldNames())
				continue
			}
			if t := c.test(sub, p, f); t != nil {
				// Selective tests first: a negated or absence test holds
				// for most events, so it rarely ends the evaluation early.
				order := 0
				if _, ok := t.(notTest); ok {
					order = 1
				} else if _, ok := t.(absentTest); ok {
					order = 1
				}
				if f.costly {
					order += 2
				}
				spec := fmt.Sprintf("%s\x00%#v", key, sub)
				parts = append(parts, part{order, key, &fieldMatch{f: f, arg: arg, t: t, slot: -1, spec: spec, res: -1}})
			}
		}
	}
	if len(parts) != len(m) {
		return nil // errors recorded
	}
	// Cheap field tests first (selective before negated), body-walking
	// fields next, combinators last;
	// names break ties so evaluation order does not depend on map order.
	sort.Slice(parts, func(i, j int) bool {
		if parts[i].order != parts[j].order {
			return parts[i].order < parts[j].order
		}
		return parts[i].key < parts[j].key
	})
	if len(parts) == 1 {
		return parts[0].m
	}
	out := make(allOf, len(parts))
	for i, p := range parts {
		out[i] = p.m
	}
	return out
}

// blocks compiles a list of blocks (a single mapping counts as a list of one).
func (c *compiler) blocks(node any, path string) []matcher {
	list, ok := node.([]any)
	if !ok {
		if _, isMap := node.(map[string]any); isMap {
			list = []any{node}
		} else {
			c.errorf(path, "want a list of condition mappings, got %s", describe(node))
			return nil
		}
	}
	if len(list) == 0 {
		c.errorf(path, "empty list")
		return nil
	}
	out := make([]matcher, 0, len(list))
	for i, sub := range list {
		if m := c.block(sub, fmt.Sprintf("%s[%d]", path, i)); m != nil {
			out = append(out, m)
		}
	}
	if len(out) != len(list) {
		return nil
	}
	return out
}

// test compiles the test for one field: a scalar or list means "in"; a
// mapping holds operators that must all hold.
func (c *compiler) test(node any, path string, f *field) test {
	if f.body || strings.HasPrefix(f.name, "requestObject") {
		c.body = true
	}
	switch n := node.(type) {
	case map[string]any:
		if len(n) == 0 {
			c.errorf(path, "empty operator mapping (operators: %s)", opNames)
			return nil
		}
		ops := make([]string, 0, len(n))
		for op := range n {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		var tests andTest
		for _, op := range ops {
			if t := c.op(op, n[op], path+"."+op, f); t != nil {
				tests = append(tests, t)
			}
		}
		if len(tests) != len(ops) {
			return nil
		}
		if len(tests) == 1 {
			return tests[0]
		}
		return tests
	case nil:
		c.errorf(path, "null test; use {absent: true} to require a missing field")
		return nil
	default:
		return c.op("in", node, path, f)
	}
}

func (c *compiler) op(op string, arg any, path string, f *field) test {
	switch op {
	case "in":
		vals := c.scalars(arg, path)
		if vals == nil {
			return nil
		}
		if f.typ == "bool" {
			for _, v := range vals {
				if v != "true" && v != "false" {
					c.errorf(path, "%s is a bool field; %q is neither true nor false", f.name, v)
					return nil
				}
			}
		}
		return elems{newEqLeaf(vals)}
	case "glob":
		vals := c.scalars(arg, path)
		if vals == nil {
			return nil
		}
		return elems{newGlobLeaf(vals)}
	case "prefix":
		vals := c.scalars(arg, path)
		if vals == nil {
			return nil
		}
		return elems{prefixLeaf(vals)}
	case "regex":
		vals := c.scalars(arg, path)
		if vals == nil {
			return nil
		}
		r := make(regexLeaf, 0, len(vals))
		for _, v := range vals {
			re, err := regexp.Compile(v)
			if err != nil {
				c.errorf(path, "bad regex %q: %v", v, err)
				continue
			}
			r = append(r, regexTest{re, literal.Required(re)})
		}
		if len(r) != len(vals) {
			return nil
		}
		return elems{r}
	case "list":
		names := c.scalars(arg, path)
		if names == nil {
			return nil
		}
		var patterns []string
		for _, name := range names {
			items, ok := c.lists[name]
			if !ok {
				c.errorf(path, "unknown list %q", name)
				return nil
			}
			patterns = append(patterns, items...)
		}
		return elems{newGlobLeaf(patterns)}
	case "cidr", "cidr_list":
		vals := c.scalars(arg, path)
		if vals == nil {
			return nil
		}
		if op == "cidr_list" {
			var items []string
			for _, name := range vals {
				l, ok := c.lists[name]
				if !ok {
					c.errorf(path, "unknown list %q", name)
					return nil
				}
				items = append(items, l...)
			}
			vals = items
		}
		p := make(cidrLeaf, 0, len(vals))
		for _, v := range vals {
			pre, err := parseCIDR(v)
			if err != nil {
				c.errorf(path, "%q is neither an address nor a CIDR prefix", v)
				continue
			}
			p = append(p, pre)
		}
		if len(p) != len(vals) {
			return nil
		}
		return elems{p}
	case "public":
		b, ok := arg.(bool)
		if !ok {
			c.errorf(path, "want true or false, got %s", describe(arg))
			return nil
		}
		return elems{publicLeaf(b)}
	case "absent":
		b, ok := arg.(bool)
		if !ok {
			c.errorf(path, "want true or false, got %s", describe(arg))
			return nil
		}
		return absentTest(b)
	case "not":
		if t := c.test(arg, path, f); t != nil {
			return notTest{t}
		}
		return nil
	case "every":
		if t := c.test(arg, path, f); t != nil {
			return everyTest{t}
		}
		return nil
	case "gt", "gte", "lt", "lte":
		num, ok := arg.(json.Number)
		n, err := num.Float64()
		if !ok || err != nil {
			c.errorf(path, "want a number, got %s", describe(arg))
			return nil
		}
		ops := map[string]cmpOp{"gt": opGT, "gte": opGTE, "lt": opLT, "lte": opLTE}
		return elems{cmpLeaf{op: ops[op], n: n}}
	}
	c.errorf(path, "unknown operator %q (allowed: %s)", op, opNames)
	return nil
}

// scalars accepts one scalar or a non-empty list of them, as text.
func (c *compiler) scalars(node any, path string) []string {
	list, ok := node.([]any)
	if !ok {
		list = []any{node}
	}
	if len(list) == 0 {
		c.errorf(path, "empty list")
		return nil
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := scalarText(x)
		if !ok {
			c.errorf(path, "want a string, number or bool, got %s", describe(x))
			return nil
		}
		out = append(out, s)
	}
	return out
}

func scalarText(x any) (string, bool) {
	switch t := x.(type) {
	case string:
		return t, true
	case json.Number:
		return string(t), true
	case bool:
		if t {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

func describe(x any) string {
	switch t := x.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("string %q", t)
	case json.Number:
		return "number " + string(t)
	case bool:
		return fmt.Sprintf("bool %v", t)
	}
	return fmt.Sprintf("%T", x)
}

// threshold compiles a rule's threshold block.
func (c *compiler) threshold(spec *thresholdSpec) *threshold {
	keys, ok := c.keyFields(spec.Key, "threshold")
	var distinct *keyField
	if spec.Distinct != "" {
		kf, good := c.keyField(spec.Distinct, "threshold.distinct")
		ok = ok && good
		distinct = &kf
	}
	window, good := c.window(spec.Window, "threshold")
	ok = ok && good
	if spec.MoreThan == nil || *spec.MoreThan < 1 {
		c.errorf("threshold.more_than", "required: a count of at least 1")
		ok = false
	}
	maxKeys, good := c.maxKeys(spec.MaxKeys, "threshold")
	if !ok || !good {
		return nil
	}
	return newThreshold(keys, distinct, window, *spec.MoreThan, maxKeys)
}

// sequence compiles a rule's sequence: its state and the condition of its
// earlier step.
func (c *compiler) sequence(spec *sequenceSpec) (*sequence, matcher) {
	ok := true
	var after matcher
	if spec.After == nil {
		c.errorf("sequence.after", "required: the condition of the earlier events (e.g. the refused attempts)")
		ok = false
	} else if after = c.block(spec.After, "sequence.after"); after == nil {
		ok = false
	}
	keys, good := c.keyFields(spec.Key, "sequence")
	ok = ok && good
	window, good := c.window(spec.Window, "sequence")
	ok = ok && good
	atLeast := 1
	if spec.AtLeast != nil {
		atLeast = *spec.AtLeast
		if atLeast < 1 || atLeast > maxAtLeast {
			c.errorf("sequence.at_least", "want 1 to %d, got %d", maxAtLeast, atLeast)
			ok = false
		}
	}
	maxKeys, good := c.maxKeys(spec.MaxKeys, "sequence")
	if !ok || !good {
		return nil, nil
	}
	return newSequence(keys, window, atLeast, maxKeys), after
}

// keyFields resolves the fields a stateful rule keeps its state per.
func (c *compiler) keyFields(names []string, what string) ([]keyField, bool) {
	ok := true
	if len(names) == 0 {
		c.errorf(what+".key", "required: the fields to count per (e.g. [user.username])")
		ok = false
	}
	keys := make([]keyField, 0, len(names))
	for i, k := range names {
		kf, good := c.keyField(k, fmt.Sprintf("%s.key[%d]", what, i))
		ok = ok && good
		keys = append(keys, kf)
	}
	return keys, ok
}

func (c *compiler) keyField(name, path string) (keyField, bool) {
	f, arg, ok := c.lookup(name)
	if !ok {
		c.errorf(path, "unknown field %q (known: %s)", name, fieldNames())
		return keyField{}, false
	}
	if f.typ != "string" && f.typ != "number" {
		c.errorf(path, "%s is a %s field; keys and distinct need a string or number field", name, f.typ)
		return keyField{}, false
	}
	return keyField{f: f, arg: arg}, true
}

func (c *compiler) window(s, what string) (time.Duration, bool) {
	window, err := time.ParseDuration(s)
	if err != nil || window <= 0 {
		c.errorf(what+".window", "want a positive duration such as 60s or 5m, got %q", s)
		return 0, false
	}
	return window, true
}

func (c *compiler) maxKeys(n int, what string) (int, bool) {
	switch {
	case n == 0:
		return DefaultMaxKeys, true
	case n < 0 || n > maxMaxKeys:
		c.errorf(what+".max_keys", "want 1 to %d, got %d", maxMaxKeys, n)
		return 0, false
	}
	return n, true
}

// lookup resolves a field name, binding engine-dependent fields.
func (c *compiler) lookup(key string) (*field, string, bool) {
	f, arg, ok := lookupField(key)
	if ok {
		if bound := c.net[f.name]; bound != nil {
			f = bound
		}
	}
	return f, arg, ok
}
