package loki

import (
	"math/bits"
	"sync"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/s2"
)

// The request body of a push: the streams as a push.PushRequest in protobuf,
// snappy block format. Written here rather than with push.PushRequest's
// generated Marshal, which allocates a fresh buffer per request, sizes
// every stream twice and converts each entry's timestamp to a
// types.Timestamp twice (to size it, to write it): this writes the same
// bytes (a test compares them with Marshal's) in one sizing pass and one
// writing pass, into a buffer reused across flushes (BenchmarkEncode:
// about a quarter of Marshal's time).
//
// Compression is klauspost/compress/s2's snappy-compatible encoder: the
// same block format golang/snappy writes and Loki decodes. On these lines
// the two cost the same (BenchmarkEncode); s2 is already a dependency
// through the Prometheus client. The compressed body is copied out of the
// pooled buffer at its exact size, since net/http may still read a request
// body after Do returns: that copy is the compressed size, the buffers
// reused are the large ones (the protobuf and snappy's worst case).

type encoder struct {
	pb, z []byte
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// maxPooled bounds the buffers kept for reuse: a one-off huge request (an
// entry larger than max_request_bytes travels alone) is not held forever.
const maxPooled = 8 << 20

// encodeBody returns the snappy-compressed protobuf push request of streams.
func encodeBody(streams []push.Stream) []byte {
	e := encoders.Get().(*encoder)
	n := requestSize(streams)
	if cap(e.pb) < n {
		e.pb = make([]byte, n)
	}
	pb := e.pb[:n]
	marshalRequest(pb, streams)
	if m := s2.MaxEncodedLen(n); cap(e.z) < m {
		e.z = make([]byte, m)
	}
	z := s2.EncodeSnappy(e.z[:cap(e.z)], pb)
	body := append([]byte(nil), z...)
	if cap(e.pb) <= maxPooled {
		encoders.Put(e)
	}
	return body
}

func sov(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// field returns the size of a length-delimited field of n bytes.
func field(n int) int { return 1 + sov(uint64(n)) + n }

func stringField(s string) int {
	if len(s) == 0 {
		return 0
	}
	return field(len(s))
}

// timestamp is push.Entry's google.protobuf.Timestamp (as gogo's
// StdTime writes it): seconds and nanos since the epoch, zero fields
// omitted.
func timestamp(t time.Time) (secs int64, nanos int32) {
	return t.Unix(), int32(t.Nanosecond())
}

func timestampSize(t time.Time) int {
	s, ns := timestamp(t)
	n := 0
	if s != 0 {
		n += 1 + sov(uint64(s))
	}
	if ns != 0 {
		n += 1 + sov(uint64(ns))
	}
	return n
}

func labelSize(l *push.LabelAdapter) int { return stringField(l.Name) + stringField(l.Value) }

func pbEntrySize(e *push.Entry) int {
	n := field(timestampSize(e.Timestamp)) + stringField(e.Line)
	for i := range e.StructuredMetadata {
		n += field(labelSize(&e.StructuredMetadata[i]))
	}
	for i := range e.Parsed {
		n += field(labelSize(&e.Parsed[i]))
	}
	return n
}

func streamSize(s *push.Stream) int {
	n := stringField(s.Labels)
	for i := range s.Entries {
		n += field(pbEntrySize(&s.Entries[i]))
	}
	if s.Hash != 0 {
		n += 1 + sov(s.Hash)
	}
	return n
}

func requestSize(streams []push.Stream) int {
	n := 0
	for i := range streams {
		n += field(streamSize(&streams[i]))
	}
	return n
}

// The marshal functions write backwards from the end of b[:i], as gogo's
// generated MarshalToSizedBuffer does, so every nested length is known
// when its prefix is written; each returns the new start.

func putVarint(b []byte, i int, v uint64) int {
	i -= sov(v)
	j := i
	for v >= 0x80 {
		b[j] = byte(v) | 0x80
		v >>= 7
		j++
	}
	b[j] = byte(v)
	return i
}

func putString(b []byte, i int, tag byte, s string) int {
	if len(s) == 0 {
		return i
	}
	i -= len(s)
	copy(b[i:], s)
	i = putVarint(b, i, uint64(len(s)))
	i--
	b[i] = tag
	return i
}

// putMessage writes the tag and length prefix of a message that ends at
// end and starts at i.
func putMessage(b []byte, i, end int, tag byte) int {
	i = putVarint(b, i, uint64(end-i))
	i--
	b[i] = tag
	return i
}

func putLabel(b []byte, i int, tag byte, l *push.LabelAdapter) int {
	end := i
	i = putString(b, i, 0x12, l.Value)
	i = putString(b, i, 0x0a, l.Name)
	return putMessage(b, i, end, tag)
}

func putEntry(b []byte, i int, e *push.Entry) int {
	for k := len(e.Parsed) - 1; k >= 0; k-- {
		i = putLabel(b, i, 0x22, &e.Parsed[k])
	}
	for k := len(e.StructuredMetadata) - 1; k >= 0; k-- {
		i = putLabel(b, i, 0x1a, &e.StructuredMetadata[k])
	}
	i = putString(b, i, 0x12, e.Line)
	end := i
	s, ns := timestamp(e.Timestamp)
	if ns != 0 {
		i = putVarint(b, i, uint64(ns))
		i--
		b[i] = 0x10
	}
	if s != 0 {
		i = putVarint(b, i, uint64(s))
		i--
		b[i] = 0x08
	}
	return putMessage(b, i, end, 0x0a)
}

func putStream(b []byte, i int, s *push.Stream) int {
	if s.Hash != 0 {
		i = putVarint(b, i, s.Hash)
		i--
		b[i] = 0x18
	}
	for k := len(s.Entries) - 1; k >= 0; k-- {
		end := i
		i = putEntry(b, i, &s.Entries[k])
		i = putMessage(b, i, end, 0x12)
	}
	return putString(b, i, 0x0a, s.Labels)
}

// marshalRequest writes the push.PushRequest{Streams: streams} into b,
// which is exactly requestSize(streams) long.
func marshalRequest(b []byte, streams []push.Stream) {
	i := len(b)
	for k := len(streams) - 1; k >= 0; k-- {
		end := i
		i = putStream(b, i, &streams[k])
		i = putMessage(b, i, end, 0x0a)
	}
}
