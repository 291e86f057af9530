package decode

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// AppendValue writes v as msgpack, the inverse of the Decoder for the value
// model: the filter re-encodes records with it. The model is closed, so a
// type switch replaces reflection, as the JSON line encoder in
// plugin/pipeline does. json.Number (from events that
// arrived as JSON strings) becomes the integer or float Fluent Bit's own JSON
// parser would have produced. Values outside the model become nil rather
// than failing the record.
func AppendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0)
	case string:
		return AppendString(b, x)
	case map[string]any:
		return AppendMapEntries(AppendMapHeader(b, len(x)), x)
	case []any:
		b = AppendArrayHeader(b, len(x))
		for _, e := range x {
			b = AppendValue(b, e)
		}
		return b
	case bool:
		if x {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case int64:
		return AppendInt(b, x)
	case int:
		return AppendInt(b, int64(x))
	case uint64:
		if x <= math.MaxInt64 {
			return AppendInt(b, int64(x))
		}
		return binary.BigEndian.AppendUint64(append(b, 0xcf), x)
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(x))
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return AppendInt(b, i)
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return AppendValue(b, u)
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return AppendValue(b, f)
		}
		return AppendString(b, string(x))
	}
	return append(b, 0xc0)
}

// AppendInt writes i in the smallest msgpack integer form, unsigned when
// non-negative, as msgpack-c (and so Fluent Bit) does.
func AppendInt(b []byte, i int64) []byte {
	switch {
	case i >= 0 && i <= 0x7f:
		return append(b, byte(i))
	case i < 0 && i >= -32:
		return append(b, byte(i))
	case i >= 0 && i <= math.MaxUint8:
		return append(b, 0xcc, byte(i))
	case i >= 0 && i <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(i))
	case i >= 0 && i <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(i))
	case i >= 0:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
}

// AppendString writes s as a msgpack str.
func AppendString(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n <= 31:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

// AppendMapHeader starts a msgpack map of n pairs.
func AppendMapHeader(b []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}

// AppendArrayHeader starts a msgpack array of n values.
func AppendArrayHeader(b []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

// AppendEventTime writes Fluent Bit's EventTime: ext type 0 as fixext8,
// seconds and nanoseconds as big-endian uint32s.
func AppendEventTime(b []byte, t time.Time) []byte {
	b = append(b, 0xd7, 0x00)
	b = binary.BigEndian.AppendUint32(b, uint32(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

var keyBufs = sync.Pool{New: func() any { s := make([]string, 0, 32); return &s }}

// EachSorted calls fn for m's members in key order: what a record or a
// line written from a tree holds is then a function of the tree, the same
// from run to run. The keys are sorted in a pooled slice.
func EachSorted(m map[string]any, fn func(k string, v any)) {
	kp := keyBufs.Get().(*[]string)
	keys := (*kp)[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fn(k, m[k])
	}
	clear(keys)
	*kp = keys[:0]
	keyBufs.Put(kp)
}

// AppendMapEntries writes m's keys and values, keys in order (the header
// is the caller's), so that what a filter writes, and the line an output
// renders from it in the record's order, are the same from run to run.
func AppendMapEntries(b []byte, m map[string]any) []byte {
	EachSorted(m, func(k string, v any) {
		b = AppendString(b, k)
		b = AppendValue(b, v)
	})
	return b
}
