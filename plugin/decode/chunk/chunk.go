// Package chunk writes Fluent Bit chunks (msgpack event streams) from
// records, for the kaudit command, the tools under scripts/ and tests. It
// uses a general msgpack library, so the decoder's tests do not check the
// decoder against itself; nothing the Fluent Bit plugins load imports it.
package chunk

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/ugorji/go/codec"
)

// Format is the Fluent Bit event layout inside a chunk.
type Format uint8

const (
	FormatV2     Format = iota // [[ts, metadata], body], Fluent Bit >= 2.1
	FormatLegacy               // [ts, body]
)

// TimeKind is how the event timestamp is written.
type TimeKind uint8

const (
	TimeEventTime     TimeKind = iota // ext 0 as fixext8, what Fluent Bit writes
	TimeEventTimeExt8                 // ext 0 as ext8 with length 8
	TimeInt                           // integer seconds
	TimeFloat                         // float64 seconds
)

// Options controls Encode.
type Options struct {
	Format Format
	Time   TimeKind
	// Times[i] is record i's timestamp; missing or zero means time.Now().
	Times []time.Time
	// Metadata is written for every record in FormatV2; nil writes {}.
	Metadata map[string]any
}

// The record maps go through an independent msgpack implementation so that
// round-trip tests do not check the decoder against itself. Canonical keeps
// chunk files byte-for-byte reproducible.
var msgpackHandle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{WriteExt: true, PositiveIntUnsigned: true}
	h.Canonical = true
	return h
}()

// Encode writes records as one Fluent Bit chunk, as an input plugin
// would have buffered them. It exists for tests and the mkchunk command.
// json.Number values are written as msgpack integers or floats, like Fluent
// Bit's JSON parser does, and []byte values as msgpack bin.
func Encode(w io.Writer, records []map[string]any, opts Options) error {
	var out, body []byte
	enc := codec.NewEncoderBytes(&body, msgpackHandle)
	var meta []byte
	if opts.Format == FormatV2 {
		if opts.Metadata == nil {
			meta = []byte{0x80}
		} else {
			enc.ResetBytes(&meta)
			if err := enc.Encode(normalize(opts.Metadata)); err != nil {
				return err
			}
		}
	}
	for i, rec := range records {
		if rec == nil {
			return errors.New("chunk: Encode: nil record")
		}
		ts := time.Now()
		if i < len(opts.Times) && !opts.Times[i].IsZero() {
			ts = opts.Times[i]
		}
		out = append(out, 0x92)
		if opts.Format == FormatV2 {
			out = append(out, 0x92)
		}
		var err error
		if out, err = appendTime(out, ts, opts.Time); err != nil {
			return err
		}
		if opts.Format == FormatV2 {
			out = append(out, meta...)
		}
		body = body[:0]
		enc.ResetBytes(&body)
		if err := enc.Encode(normalize(rec)); err != nil {
			return err
		}
		out = append(out, body...)
	}
	_, err := w.Write(out)
	return err
}

func appendTime(b []byte, t time.Time, kind TimeKind) ([]byte, error) {
	switch kind {
	case TimeEventTime, TimeEventTimeExt8:
		sec := t.Unix()
		if sec < 0 || sec > math.MaxUint32 {
			return nil, errors.New("chunk: Encode: time outside EventTime range")
		}
		if kind == TimeEventTime {
			return appendEventTime(b, t), nil
		}
		b = binary.BigEndian.AppendUint32(append(b, 0xc7, 0x08, 0x00), uint32(sec))
		return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond())), nil
	case TimeInt:
		return appendInt(b, t.Unix()), nil
	case TimeFloat:
		f := float64(t.Unix()) + float64(t.Nanosecond())/1e9
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f)), nil
	}
	return nil, errors.New("chunk: Encode: unknown TimeKind")
}

// normalize copies v, turning json.Number into the integer or float a JSON
// parser would have produced.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = normalize(e)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = normalize(e)
		}
		return a
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return u
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return f
		}
		return string(v)
	}
	return v
}

// appendInt writes i in msgpack's smallest integer form (as decode.AppendInt,
// kept apart so the decoder's tests do not check it against itself).
func appendInt(b []byte, i int64) []byte {
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

// appendEventTime writes t as Fluent Bit's EventTime (ext 0, fixext8).
func appendEventTime(b []byte, t time.Time) []byte {
	b = append(b, 0xd7, 0x00)
	b = binary.BigEndian.AppendUint32(b, uint32(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}
