package detect

import (
	"encoding/json"
	"strconv"
)

// kind says what a field produced for one event. Accessors never fail: a
// missing field, a wrong type or an empty string is simply kindAbsent, so
// partial (EKS-shaped) and hostile events cannot make a rule error or panic.
type kind uint8

const (
	kindAbsent kind = iota
	kindString
	kindNumber
	kindBool
	kindList   // list holds scalar elements
	kindNested // list holds maps; the elements are each map's key entry (a list or a scalar)
	kindWalk   // walk visits the elements inside m (pod specs, mappings)
	kindQuery  // s is a raw query string; the elements are the decoded values of parameter key
)

// walker visits the elements of a kindWalk value and reports whether l holds
// for any of them. Walkers are top-level functions, so building a value
// that carries one does not allocate.
type walker func(m map[string]any, l leaf) bool

// value is what a field accessor returns. It is passed by value and never
// boxed, so evaluating a rule that does not match allocates nothing. Numbers
// keep their text (json.Number) or their float, converted only on demand.
type value struct {
	scalar
	list []any
	key  string
	m    map[string]any
	walk walker
}

// scalar is the part of a value a leaf test reads: small enough to be
// passed in registers, which a whole value is not.
type scalar struct {
	kind kind
	hasN bool
	s    string
	n    float64
}

var (
	valueTrue  = scalar{kind: kindBool, s: "true"}
	valueFalse = scalar{kind: kindBool, s: "false"}
)

func boolValue(b bool) scalar {
	if b {
		return valueTrue
	}
	return valueFalse
}

// scalarOf is scalarIn as a field's value.
func scalarOf(x any) value { return value{scalar: scalarIn(x)} }

// scalarIn normalises one decoded JSON/msgpack value. Maps, slices and
// anything unexpected are absent: a scalar test cannot hold on them.
func scalarIn(x any) scalar {
	switch t := x.(type) {
	case string:
		if t == "" {
			return scalar{}
		}
		return scalar{kind: kindString, s: t}
	case json.Number:
		if t == "" {
			return scalar{}
		}
		return scalar{kind: kindNumber, s: string(t)}
	case bool:
		return boolValue(t)
	case int64:
		return scalar{kind: kindNumber, hasN: true, n: float64(t)}
	case uint64:
		return scalar{kind: kindNumber, hasN: true, n: float64(t)}
	case float64:
		return scalar{kind: kindNumber, hasN: true, n: t}
	case int:
		return scalar{kind: kindNumber, hasN: true, n: float64(t)}
	case int32:
		return scalar{kind: kindNumber, hasN: true, n: float64(t)}
	case uint32:
		return scalar{kind: kindNumber, hasN: true, n: float64(t)}
	case float32:
		return scalar{kind: kindNumber, hasN: true, n: float64(t)}
	}
	return scalar{}
}

// listOf treats a lone scalar as a one-element list, because partial events
// sometimes carry a single string where the schema has an array.
func listOf(x any) value {
	if l, ok := x.([]any); ok {
		if len(l) == 0 {
			return value{}
		}
		return value{scalar: scalar{kind: kindList}, list: l}
	}
	return scalarOf(x)
}

// str is the text form used by glob, prefix and regex. Only numbers decoded
// as native ints/floats need formatting (and so allocate); json.Number and
// strings are returned as they are.
func (v scalar) str() string {
	if v.kind == kindNumber && v.s == "" && v.hasN {
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	}
	return v.s
}

// num returns the numeric form for gt/gte/lt/lte and numeric equality.
func (v scalar) num() (float64, bool) {
	if v.hasN {
		return v.n, true
	}
	if n, ok := smallInt(v.s); ok && (v.kind == kindNumber || v.kind == kindString) {
		return n, true
	}
	if (v.kind == kindNumber || v.kind == kindString) && looksNumeric(v.s) {
		f, err := strconv.ParseFloat(v.s, 64)
		return f, err == nil
	}
	return 0, false
}

// smallInt parses plain decimal digits (status codes, uids) without
// strconv, which several rules would otherwise repeat on every event.
func smallInt(s string) (float64, bool) {
	if s == "" || len(s) > 15 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return float64(n), true
}

// looksNumeric filters out text that cannot parse, because a failed
// ParseFloat allocates its error and the hot path must not.
func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			return false
		}
	}
	return true
}

// obj returns m[k] if it is an object; nil (safe to index) otherwise.
func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
