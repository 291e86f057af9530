package decode

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxDepth bounds recursion while building values so that a forged chunk of
// nested one-element arrays cannot exhaust the goroutine stack.
const maxDepth = 512

var (
	errTruncated = errors.New("truncated value")
	errReserved  = errors.New("reserved type byte 0xc1")
	errDepth     = fmt.Errorf("nesting deeper than %d", maxDepth)
)

// skip returns the offset just past the msgpack value that starts at p. It is
// iterative and keeps only a count of values still owed, so arbitrarily deep
// nesting costs no stack; every declared length is checked against the bytes
// that remain, so a forged length fails fast instead of being trusted.
func skip[T ~string | ~[]byte](b T, p int) (int, error) {
	var pending int64 = 1
	for pending > 0 {
		if p >= len(b) {
			return p, errTruncated
		}
		c := b[p]
		p++
		pending--
		n := 0 // payload bytes to jump over
		var count int64
		switch {
		case c <= 0x7f || c >= 0xe0: // fixint
		case c <= 0x8f:
			count = 2 * int64(c&0x0f)
		case c <= 0x9f:
			count = int64(c & 0x0f)
		case c <= 0xbf:
			n = int(c & 0x1f)
		default:
			switch c {
			case 0xc0, 0xc2, 0xc3:
			case 0xc1:
				return p - 1, errReserved
			case 0xc4, 0xd9: // bin8, str8
				if p+1 > len(b) {
					return p, errTruncated
				}
				n = int(b[p])
				p++
			case 0xc5, 0xda: // bin16, str16
				if p+2 > len(b) {
					return p, errTruncated
				}
				n = int(be16(b, p))
				p += 2
			case 0xc6, 0xdb: // bin32, str32
				if p+4 > len(b) {
					return p, errTruncated
				}
				n = int(be32(b, p))
				p += 4
			case 0xc7: // ext8: len, type, data
				if p+2 > len(b) {
					return p, errTruncated
				}
				n = int(b[p]) + 1
				p++
			case 0xc8:
				if p+3 > len(b) {
					return p, errTruncated
				}
				n = int(be16(b, p)) + 1
				p += 2
			case 0xc9:
				if p+5 > len(b) {
					return p, errTruncated
				}
				n = int(be32(b, p)) + 1
				p += 4
			case 0xca, 0xce, 0xd2:
				n = 4
			case 0xcb, 0xcf, 0xd3:
				n = 8
			case 0xcc, 0xd0:
				n = 1
			case 0xcd, 0xd1:
				n = 2
			case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1,2,4,8,16 plus type byte
				n = 1 + 1<<(c-0xd4)
			case 0xdc:
				if p+2 > len(b) {
					return p, errTruncated
				}
				count = int64(be16(b, p))
				p += 2
			case 0xdd:
				if p+4 > len(b) {
					return p, errTruncated
				}
				count = int64(be32(b, p))
				p += 4
			case 0xde:
				if p+2 > len(b) {
					return p, errTruncated
				}
				count = 2 * int64(be16(b, p))
				p += 2
			case 0xdf:
				if p+4 > len(b) {
					return p, errTruncated
				}
				count = 2 * int64(be32(b, p))
				p += 4
			}
		}
		if n < 0 || n > len(b)-p {
			return p, errTruncated
		}
		p += n
		pending += count
		// Every owed value needs at least one byte.
		if pending > int64(len(b)-p) {
			return p, errTruncated
		}
	}
	return p, nil
}

func be16[T ~string | ~[]byte](b T, p int) uint16 {
	return uint16(b[p])<<8 | uint16(b[p+1])
}

func be32[T ~string | ~[]byte](b T, p int) uint32 {
	return uint32(b[p])<<24 | uint32(b[p+1])<<16 | uint32(b[p+2])<<8 | uint32(b[p+3])
}

func be64(s string, p int) uint64 {
	return uint64(be32(s, p))<<32 | uint64(be32(s, p+4))
}

// reader builds values from msgpack in a string: the Decoder's private
// copy of the chunk, so every string in the result is a substring of that
// copy (one allocation per chunk instead of one per string, and nothing
// points into Fluent Bit's buffer). Every declared length is checked
// against what remains of the string, never trusted.
type reader struct {
	s string
	p int
	// pool and boxes, when set, are the Decoder's (see reuse.go).
	pool  *treePool
	boxes *boxes
	// lossy is set once the values built leave out part of s (Record.Exact).
	lossy bool
}

// arrayLen consumes an array header; ok is false (and nothing is consumed)
// when the next value is not an array.
func (r *reader) arrayLen() (int, bool) {
	if r.p >= len(r.s) {
		return 0, false
	}
	c := r.s[r.p]
	switch {
	case c >= 0x90 && c <= 0x9f:
		r.p++
		return int(c & 0x0f), true
	case c == 0xdc && r.p+3 <= len(r.s):
		r.p += 3
		return int(be16(r.s, r.p-2)), true
	case c == 0xdd && r.p+5 <= len(r.s):
		r.p += 5
		return int(be32(r.s, r.p-4)), true
	}
	return 0, false
}

// mapLen is arrayLen for maps.
func (r *reader) mapLen() (int, bool) {
	if r.p >= len(r.s) {
		return 0, false
	}
	c := r.s[r.p]
	switch {
	case c >= 0x80 && c <= 0x8f:
		r.p++
		return int(c & 0x0f), true
	case c == 0xde && r.p+3 <= len(r.s):
		r.p += 3
		return int(be16(r.s, r.p-2)), true
	case c == 0xdf && r.p+5 <= len(r.s):
		r.p += 5
		return int(be32(r.s, r.p-4)), true
	}
	return 0, false
}

// readMap reads n key/value pairs; the map header has been consumed.
func (r *reader) readMap(n, depth int) (map[string]any, error) {
	if depth >= maxDepth {
		return nil, errDepth
	}
	if n > (len(r.s)-r.p)/2 {
		return nil, errTruncated
	}
	m := r.pool.get(n)
	for i := 0; i < n; i++ {
		k, ok, err := r.key()
		if err != nil {
			return nil, err
		}
		if !ok {
			if r.p, err = skip(r.s, r.p); err != nil {
				return nil, err
			}
			r.lossy = true
			continue
		}
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	if len(m) != n { // a duplicate key: the earlier value is gone
		r.lossy = true
	}
	return m, nil
}

func (r *reader) readArray(n, depth int) (any, error) {
	if depth >= maxDepth {
		return nil, errDepth
	}
	if n > len(r.s)-r.p {
		return nil, errTruncated
	}
	a := r.pool.list(n)
	for i := range a {
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a[i] = v
	}
	return r.boxes.list(a), nil
}

// key reads a map key. Strings (str or bin) are used as they are, integers
// become their decimal form, and any other key is consumed and reported with
// ok == false so its value can be skipped: JSON consumers cannot represent it.
func (r *reader) key() (string, bool, error) {
	if r.p >= len(r.s) {
		return "", false, errTruncated
	}
	c := r.s[r.p]
	if c >= 0xa0 && c <= 0xbf {
		n := int(c & 0x1f)
		r.p++
		if n > len(r.s)-r.p {
			return "", false, errTruncated
		}
		r.p += n
		return r.s[r.p-n : r.p], true, nil
	}
	scalar := c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3) ||
		(c >= 0xc4 && c <= 0xc6) || (c >= 0xd9 && c <= 0xdb)
	if !scalar {
		var err error
		r.p, err = skip(r.s, r.p)
		return "", false, err
	}
	v, err := r.value(0)
	if err != nil {
		return "", false, err
	}
	switch k := v.(type) {
	case string:
		return k, true, nil
	case int64:
		return strconv.FormatInt(k, 10), true, nil
	case uint64:
		return strconv.FormatUint(k, 10), true, nil
	}
	return "", false, nil
}

func (r *reader) str(n int) (string, error) {
	if n < 0 || n > len(r.s)-r.p {
		return "", errTruncated
	}
	r.p += n
	return r.s[r.p-n : r.p], nil
}

// strValue returns a string boxed in an interface, in the Decoder's
// blocks when it has them.
func (r *reader) strValue(n int) (any, error) {
	s, err := r.str(n)
	if err != nil {
		return nil, err
	}
	return r.boxes.box(s), nil
}

func (r *reader) need(n int) error {
	if n > len(r.s)-r.p {
		return errTruncated
	}
	return nil
}

// value builds the next value in the kaudit value model.
func (r *reader) value(depth int) (any, error) {
	if r.p >= len(r.s) {
		return nil, errTruncated
	}
	c := r.s[r.p]
	r.p++
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c <= 0x8f:
		return r.readMap(int(c&0x0f), depth)
	case c <= 0x9f:
		return r.readArray(int(c&0x0f), depth)
	case c <= 0xbf:
		return r.strValue(int(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc1:
		return nil, errReserved
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xd9: // bin8, str8: bin becomes string
		if err := r.need(1); err != nil {
			return nil, err
		}
		r.p++
		return r.strValue(int(r.s[r.p-1]))
	case 0xc5, 0xda:
		if err := r.need(2); err != nil {
			return nil, err
		}
		r.p += 2
		return r.strValue(int(be16(r.s, r.p-2)))
	case 0xc6, 0xdb:
		if err := r.need(4); err != nil {
			return nil, err
		}
		r.p += 4
		return r.strValue(int(be32(r.s, r.p-4)))
	case 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		typ, data, err := r.ext(c)
		if err != nil {
			return nil, err
		}
		if typ == 0 && len(data) == 8 {
			// An EventTime nested in a record; keep it readable as text.
			return eventTime(data).Format(time.RFC3339Nano), nil
		}
		r.lossy = true
		return nil, nil
	case 0xca:
		if err := r.need(4); err != nil {
			return nil, err
		}
		r.p += 4
		return float64(math.Float32frombits(be32(r.s, r.p-4))), nil
	case 0xcb:
		if err := r.need(8); err != nil {
			return nil, err
		}
		r.p += 8
		return math.Float64frombits(be64(r.s, r.p-8)), nil
	case 0xcc:
		if err := r.need(1); err != nil {
			return nil, err
		}
		r.p++
		return int64(r.s[r.p-1]), nil
	case 0xcd:
		if err := r.need(2); err != nil {
			return nil, err
		}
		r.p += 2
		return int64(be16(r.s, r.p-2)), nil
	case 0xce:
		if err := r.need(4); err != nil {
			return nil, err
		}
		r.p += 4
		return int64(be32(r.s, r.p-4)), nil
	case 0xcf:
		if err := r.need(8); err != nil {
			return nil, err
		}
		r.p += 8
		u := be64(r.s, r.p-8)
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, nil
	case 0xd0:
		if err := r.need(1); err != nil {
			return nil, err
		}
		r.p++
		return int64(int8(r.s[r.p-1])), nil
	case 0xd1:
		if err := r.need(2); err != nil {
			return nil, err
		}
		r.p += 2
		return int64(int16(be16(r.s, r.p-2))), nil
	case 0xd2:
		if err := r.need(4); err != nil {
			return nil, err
		}
		r.p += 4
		return int64(int32(be32(r.s, r.p-4))), nil
	case 0xd3:
		if err := r.need(8); err != nil {
			return nil, err
		}
		r.p += 8
		return int64(be64(r.s, r.p-8)), nil
	case 0xdc:
		if err := r.need(2); err != nil {
			return nil, err
		}
		r.p += 2
		return r.readArray(int(be16(r.s, r.p-2)), depth)
	case 0xdd:
		if err := r.need(4); err != nil {
			return nil, err
		}
		r.p += 4
		return r.readArray(int(be32(r.s, r.p-4)), depth)
	case 0xde:
		if err := r.need(2); err != nil {
			return nil, err
		}
		r.p += 2
		return r.readMap(int(be16(r.s, r.p-2)), depth)
	case 0xdf:
		if err := r.need(4); err != nil {
			return nil, err
		}
		r.p += 4
		return r.readMap(int(be32(r.s, r.p-4)), depth)
	}
	return nil, errReserved // unreachable: every byte is covered above
}

// ext reads an extension value whose type byte c has been consumed.
func (r *reader) ext(c byte) (int8, string, error) {
	var n int
	switch c {
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		n = 1 << (c - 0xd4)
	case 0xc7:
		if err := r.need(1); err != nil {
			return 0, "", err
		}
		n = int(r.s[r.p])
		r.p++
	case 0xc8:
		if err := r.need(2); err != nil {
			return 0, "", err
		}
		n = int(be16(r.s, r.p))
		r.p += 2
	case 0xc9:
		if err := r.need(4); err != nil {
			return 0, "", err
		}
		n = int(be32(r.s, r.p))
		r.p += 4
	default:
		return 0, "", errTruncated
	}
	if err := r.need(1); err != nil {
		return 0, "", err
	}
	typ := int8(r.s[r.p])
	r.p++
	data, err := r.str(n)
	return typ, data, err
}

// eventTime decodes Fluent Bit's EventTime payload (uint32 seconds, uint32
// nanoseconds, both big-endian).
func eventTime(data string) time.Time {
	return time.Unix(int64(be32(data, 0)), int64(be32(data, 4))).UTC()
}
