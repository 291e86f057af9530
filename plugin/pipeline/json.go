package pipeline

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/kaudit/kaudit/plugin/decode"
)

// appendJSON writes v as compact JSON, byte for byte what encoding/json
// writes with HTML escaping off: map keys sorted, the same string escapes
// and number forms. The audit event value model is closed (decode produces
// only these types), so a type switch replaces reflection; this is the
// single most expensive step of the hot path otherwise. Values outside the
// model, and NaN or infinite floats (which JSON cannot carry), become null
// rather than failing the event.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case map[string]any:
		return appendObject(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return appendFloat(b, x)
	case json.Number:
		if !decode.ValidNumber(string(x)) {
			// The JSON-string decoder is lenient ("00" passes); a line must
			// stay valid JSON for LogQL's `| json`, so keep the text quoted.
			return appendString(b, string(x))
		}
		return append(b, x...)
	}
	return append(b, "null"...)
}

func appendObject(b []byte, m map[string]any) []byte {
	b = append(b, '{')
	first := true
	decode.EachSorted(m, func(k string, v any) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = appendJSON(b, v)
	})
	return append(b, '}')
}

// appendFloat follows encoding/json: shortest representation, exponent form
// only outside [1e-6, 1e21), and a two-digit exponent trimmed to one.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hex = "0123456789abcdef"

// appendString escapes as encoding/json does without HTML escaping:
// quotes, backslashes and control characters, invalid UTF-8 as U+FFFD, and
// U+2028/U+2029, which break JavaScript parsers.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	// Most strings need no escape at all: find the first byte that may,
	// and copy everything before it at once.
	i := decode.PlainPrefix(s)
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
