// Package decode turns the msgpack chunks Fluent Bit hands to an output
// plugin into Kubernetes audit events.
//
// Chunks come from outside the process and are treated as untrusted: a
// malformed record costs that record only, and a corrupt chunk ends with an
// error rather than a panic or an allocation sized by a forged length.
package decode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unsafe"

	"github.com/kaudit/kaudit/plugin/internal/poison"
)

// Record is one Fluent Bit log event.
type Record struct {
	Time time.Time
	// Metadata is the v2 event metadata; nil for legacy events and for
	// empty metadata.
	Metadata map[string]any
	Body     map[string]any
	// V2 is set when the record came as [[ts, metadata], body], so a
	// packaging that writes records back (the filter) keeps the format.
	V2 bool
	// Raw is the record's msgpack as it came, and RawBody the body map's
	// part of it: what lets an event that nothing changes be passed on or
	// rendered from its input bytes instead of from Body.
	Raw, RawBody string
	// Exact is set when Body and Metadata hold everything Raw does: no
	// key was dropped (duplicate, or of a type JSON cannot carry) and no
	// extension value became nil. Redaction sees only Body and Metadata,
	// so Raw may stand for a record only when this holds: otherwise a
	// secret could sit in the part nothing looked at.
	Exact bool
}

// ErrMalformedRecord matches (errors.Is) a *RecordError: one record was
// skipped and decoding goes on.
var ErrMalformedRecord = errors.New("decode: malformed record")

// ErrCorruptChunk matches a *CorruptError: the rest of the chunk cannot be
// delimited and decoding has stopped.
var ErrCorruptChunk = errors.New("decode: corrupt chunk")

// RecordError reports a record that is well-formed msgpack but not a Fluent
// Bit event. It never quotes record content, which may hold secrets.
type RecordError struct {
	Index  int // position of the record in the chunk, counting from 0
	Offset int // byte offset of the record
	Err    error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("decode: malformed record %d at byte %d: %v", e.Index, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

func (e *RecordError) Is(target error) bool { return target == ErrMalformedRecord }

// CorruptError reports where a chunk stopped making sense.
type CorruptError struct {
	Offset    int // byte offset where the undecodable value starts
	Size      int // chunk size
	Records   int // records decoded successfully before this point
	Malformed int // records skipped before this point
	Err       error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("decode: chunk corrupt at byte %d of %d after %d records (%d malformed): %v",
		e.Offset, e.Size, e.Records, e.Malformed, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

func (e *CorruptError) Is(target error) bool { return target == ErrCorruptChunk }

// Decoder iterates over the records of one chunk. It is not safe for
// concurrent use. What it returns does not alias the chunk (strings are
// substrings of the Decoder's copy of it) and stays the caller's, unless
// the caller hands a record's maps back with Recycle, or has the Decoder
// reuse its copy of the text (ReuseText).
//
// Typical use:
//
//	for {
//		rec, err := d.Next()
//		if err == io.EOF {
//			break
//		}
//		if errors.Is(err, decode.ErrMalformedRecord) {
//			continue // count it
//		}
//		if err != nil {
//			break // corrupt tail; err says how far decoding got
//		}
//		...
//	}
type Decoder struct {
	buf []byte
	// s is the Decoder's own copy of buf, made at the first Next: every
	// string of every record is a substring of it, so nothing points into
	// Fluent Bit's buffer, at the price of one allocation a chunk.
	s         string
	off       int
	records   int
	malformed int
	groups    int
	err       error
	pool      *treePool
	boxes     *boxes
	// tape holds the tokens of the JSON text tapeOf, scanned for the
	// record Next returned last (see TapeFor).
	tape   *Tape
	tapeOf string
	// text, with reuseText, is the buffer s is copied into, kept for the
	// next chunk (ReuseText).
	text      []byte
	reuseText bool
	// spill holds, with reuseText, the strings written rather than
	// sliced from text.
	spill *spill
}

// NewDecoder returns a Decoder reading chunk. The chunk is not retained past
// the Next call that reads its last byte and is never written to; decoded
// values do not alias it.
func NewDecoder(chunk []byte) *Decoder {
	d := &Decoder{}
	d.Reset(chunk)
	return d
}

// Reset starts decoding a new chunk, keeping the maps handed back and the
// string blocks of earlier chunks so a long-lived Decoder allocates less.
func (d *Decoder) Reset(chunk []byte) {
	pool, bx, tape, text, reuse, sp := d.pool, d.boxes, d.tape, d.text, d.reuseText, d.spill
	if pool == nil {
		pool, bx, tape, sp = &treePool{}, &boxes{}, &Tape{}, &spill{}
	}
	sp.rewind()
	pool.forget()
	if reuse && poison.On {
		poison.Fill(text[:cap(text)], '#')
	}
	if cap(text) > maxKeptText {
		text = nil // an outsized chunk's buffer is not kept for the routine ones
	}
	bx.rewind()
	*d = Decoder{buf: chunk, pool: pool, boxes: bx, tape: tape, text: text, reuseText: reuse, spill: sp}
}

// ReuseText makes d copy each chunk into the buffer of the chunk before
// it rather than into a new string: the strings of a chunk's records are
// then valid only until the next Reset, which overwrites them; and the
// interfaces holding a record's strings are made again for the next
// record once it is recycled. For a caller that keeps no string of a
// chunk past it (the pipeline whose packaging promised as much,
// Pipeline.ReuseTrees); it spares the collector a chunk-sized allocation
// per chunk, most of what a flush allocates. Off by default: decoded
// strings stay valid.
func (d *Decoder) ReuseText(on bool) {
	d.reuseText = on
	if !on {
		d.text = nil
	}
	if d.boxes == nil {
		d.boxes = &boxes{}
	}
	if d.boxes.rewinds != on {
		*d.boxes = boxes{rewinds: on}
	}
	if d.spill == nil {
		d.spill = &spill{}
	}
}

// maxKeptText is the largest text buffer a Decoder keeps for the next
// chunk: Fluent Bit's chunks are about 2 MB.
const maxKeptText = 4 << 20

// Recycle hands the maps of the record Next returned last back to d, to
// build the next records in. The caller must hold nothing of that
// record's Body or Metadata any more (no map of it, no list, no value
// taken from a map it reads again), and must call Recycle before the
// next call to Next; strings taken from the record stay valid (under
// ReuseText, until the next Reset).
func (d *Decoder) Recycle() {
	d.pool.recycle()
	d.boxes.rewind()
}

// Records is the number of records returned so far.
func (d *Decoder) Records() int { return d.records }

// Malformed is the number of records skipped as malformed so far.
func (d *Decoder) Malformed() int { return d.malformed }

// Groups is the number of Fluent Bit group start/end markers skipped so far.
func (d *Decoder) Groups() int { return d.groups }

// Next returns the next record. At the end of the chunk it returns io.EOF. A
// malformed but delimited record yields a *RecordError and the next call
// continues after it. A truncated or corrupt stream yields a *CorruptError;
// that error and io.EOF are sticky.
//
// Fluent Bit group markers (timestamps -1 and -2, used by OpenTelemetry
// inputs) are not events and are skipped.
func (d *Decoder) Next() (Record, error) {
	d.pool.forget()
	d.tapeOf = ""
	for {
		if d.err != nil {
			return Record{}, d.err
		}
		if d.off >= len(d.buf) {
			d.buf, d.s = nil, ""
			d.err = io.EOF
			return Record{}, d.err
		}
		start := d.off
		// A record that is not an array means we are no longer at a record
		// boundary: whatever follows cannot be trusted to be delimited.
		if c := d.buf[start]; !(c >= 0x90 && c <= 0x9f) && c != 0xdc && c != 0xdd {
			return Record{}, d.corrupt(start, fmt.Errorf("record is not an array (type byte 0x%02x)", c))
		}
		if d.s == "" {
			d.s = d.own(d.buf)
		}
		// A record that decodes ends where decoding stopped; one that does
		// not is delimited by skip, which only a corrupt chunk defeats.
		rec, marker, n, err := d.record(d.s[start:])
		if err != nil {
			end, serr := skip(d.s, start)
			if serr != nil {
				return Record{}, d.corrupt(start, serr)
			}
			d.off = end
			d.malformed++
			return Record{}, &RecordError{Index: d.records + d.malformed + d.groups - 1, Offset: start, Err: err}
		}
		d.off = start + n
		if marker {
			d.groups++
			continue
		}
		d.records++
		return rec, nil
	}
}

// own is d's copy of the chunk: a string of its own, or with ReuseText
// the reused buffer (grown by a quarter when a chunk outgrows it, so a
// run of growing chunks does not reallocate each time).
func (d *Decoder) own(b []byte) string {
	if !d.reuseText {
		return string(b)
	}
	if cap(d.text) < len(b) {
		d.text = make([]byte, len(b), len(b)+len(b)/4)
	}
	t := d.text[:len(b)]
	copy(t, b)
	return unsafe.String(unsafe.SliceData(t), len(t))
}

func (d *Decoder) corrupt(off int, err error) error {
	d.err = &CorruptError{Offset: off, Size: len(d.buf), Records: d.records, Malformed: d.malformed, Err: err}
	d.buf, d.s = nil, ""
	return d.err
}

// record decodes the record at the start of s: [ts, body] or [[ts,
// metadata], body]; n is its length.
func (d *Decoder) record(s string) (rec Record, marker bool, n int, err error) {
	r := reader{s: s, pool: d.pool, boxes: d.boxes}
	if an, _ := r.arrayLen(); an != 2 {
		return rec, false, 0, fmt.Errorf("record array has %d elements, want 2", an)
	}
	if hn, ok := r.arrayLen(); ok {
		if hn != 2 {
			return rec, false, 0, fmt.Errorf("v2 header array has %d elements, want 2", hn)
		}
		rec.V2 = true
		if rec.Time, marker, err = r.timestamp(); err != nil {
			return rec, false, 0, err
		}
		mn, ok := r.mapLen()
		if !ok {
			return rec, false, 0, fmt.Errorf("metadata is %s, want map", typeName(s, r.p))
		}
		if mn > 0 {
			if rec.Metadata, err = r.readMap(mn, 1); err != nil {
				return rec, false, 0, fmt.Errorf("metadata: %w", err)
			}
		}
	} else if rec.Time, marker, err = r.timestamp(); err != nil {
		return rec, false, 0, err
	}
	bodyStart := r.p
	bn, ok := r.mapLen()
	if !ok {
		return rec, false, 0, fmt.Errorf("body is %s, want map", typeName(s, r.p))
	}
	if rec.Body, err = r.readMap(bn, 1); err != nil {
		return rec, false, 0, fmt.Errorf("body: %w", err)
	}
	rec.Raw, rec.RawBody = s[:r.p], s[bodyStart:r.p]
	rec.Exact = !r.lossy
	return rec, marker, r.p, nil
}

// timestamp reads an event timestamp. Seconds of -1 and -2 mark Fluent Bit
// group start and end; Fluent Bit reads EventTime seconds as int32, so the
// EventTime forms of those markers are 0xffffffff and 0xfffffffe.
func (r *reader) timestamp() (time.Time, bool, error) {
	if r.p >= len(r.s) {
		return time.Time{}, false, errTruncated
	}
	c := r.s[r.p]
	var sec, nsec int64
	switch {
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		v, err := r.value(0)
		if err != nil {
			return time.Time{}, false, err
		}
		i, ok := v.(int64)
		if !ok {
			return time.Time{}, false, errors.New("integer timestamp out of range")
		}
		sec = i
	case c == 0xca || c == 0xcb:
		v, err := r.value(0)
		if err != nil {
			return time.Time{}, false, err
		}
		f := v.(float64)
		// Beyond ±2^53 seconds a float has no sub-second part and time.Unix
		// would overflow; also rejects NaN and infinities.
		if !(f > -(1<<53) && f < 1<<53) {
			return time.Time{}, false, errors.New("float timestamp out of range")
		}
		fs := math.Floor(f)
		sec = int64(fs)
		nsec = int64(math.Round((f - fs) * 1e9))
		if nsec >= 1e9 {
			sec++
			nsec -= 1e9
		}
	case c == 0xd7 || (c >= 0xc7 && c <= 0xc9):
		r.p++
		typ, data, err := r.ext(c)
		if err != nil {
			return time.Time{}, false, err
		}
		if typ != 0 || len(data) != 8 {
			return time.Time{}, false, fmt.Errorf("timestamp is ext type %d with %d bytes, want EventTime (type 0, 8 bytes)", typ, len(data))
		}
		switch be32(data, 0) {
		case 0xffffffff, 0xfffffffe:
			return time.Time{}, true, nil
		}
		return eventTime(data), false, nil
	default:
		return time.Time{}, false, fmt.Errorf("timestamp is %s", typeName(r.s, r.p))
	}
	if sec == -1 || sec == -2 {
		return time.Time{}, true, nil
	}
	return time.Unix(sec, nsec).UTC(), false, nil
}

// typeName names the msgpack type at p for error messages.
func typeName(s string, p int) string {
	if p >= len(s) {
		return "missing"
	}
	c := s[p]
	switch {
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		return "integer"
	case c <= 0x8f || c == 0xde || c == 0xdf:
		return "map"
	case c <= 0x9f || c == 0xdc || c == 0xdd:
		return "array"
	case c <= 0xbf || (c >= 0xd9 && c <= 0xdb):
		return "string"
	case c == 0xc0:
		return "nil"
	case c == 0xc2 || c == 0xc3:
		return "bool"
	case c >= 0xc4 && c <= 0xc6:
		return "bin"
	case c == 0xca || c == 0xcb:
		return "float"
	case (c >= 0xc7 && c <= 0xc9) || (c >= 0xd4 && c <= 0xd8):
		return "ext"
	}
	return fmt.Sprintf("type byte 0x%02x", c)
}
