// Package loki delivers entries to Loki's push API and tells the caller the
// truth about the outcome: a chunk is acknowledged only once Loki accepted
// every entry it could accept, and retried when Loki could not be reached or
// asked to back off. It speaks snappy-compressed protobuf with Loki's own
// wire types (github.com/grafana/loki/pkg/push).
package loki

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"

	"github.com/grafana/loki/pkg/push"
)

// Batch gathers the entries of one Fluent Bit chunk, grouped by tenant and
// stream. It is not safe for concurrent use: each flush builds its own.
type Batch struct {
	tenants []*tenantBatch
	index   map[string]int
	entries int
	// done holds the identities of the requests Loki accepted before a
	// failure, so that delivering this Batch again (kaudit push), or a
	// rebuilt Batch of the same chunk (the plugin, through Skip), sends
	// only what Loki does not hold. By content, not position: stateful
	// rules can label a retried chunk's events differently, which changes
	// how it splits into requests, and skipping by position would then skip
	// a request Loki never had.
	done map[[32]byte]bool
	// complete is set once Loki answered every request.
	complete bool
	// arena holds the structured metadata Entries.AddTo makes: it lives
	// as long as the entries that point into it, which is this Batch.
	arena arena
}

// Release hands the memory of the Batch's entries back for the next
// flush to reuse. Call it once the Batch is done with (delivered, or
// given up on); neither the Batch nor any entry, line or metadata value
// taken from it may be used afterwards.
func (b *Batch) Release() {
	b.arena.release()
	for _, t := range b.tenants {
		for _, s := range t.streams {
			putEntries(s.Entries)
			s.Entries = nil
		}
	}
	b.tenants, b.index = nil, nil
	b.entries = 0
}

// A stream's entry list grows by doubling to a chunk's worth of entries
// (most of a chunk shares one label set): lists go back to a pool at
// Release for the next flush's streams, cleared so that a pooled list
// keeps no line or arena block alive.
var entryLists sync.Pool // of *[]push.Entry

// maxPooledEntries bounds the lists kept: Fluent Bit's chunks hold a few
// thousand records at most.
const maxPooledEntries = 1 << 14

func getEntries() []push.Entry {
	if p, ok := entryLists.Get().(*[]push.Entry); ok {
		return (*p)[:0]
	}
	return nil
}

func putEntries(es []push.Entry) {
	if cap(es) == 0 || cap(es) > maxPooledEntries {
		return
	}
	clear(es)
	es = es[:0]
	entryLists.Put(&es)
}

// Accepted lists the requests Loki accepted before the last failure.
func (b *Batch) Accepted() [][32]byte {
	ids := make([][32]byte, 0, len(b.done))
	for id := range b.done {
		ids = append(ids, id)
	}
	return ids
}

// Skip marks requests Loki accepted during an earlier attempt at the same
// chunk; the next Deliver does not send them again.
func (b *Batch) Skip(ids [][32]byte) {
	for _, id := range ids {
		b.remember(id)
	}
}

func (b *Batch) remember(id [32]byte) {
	if b.done == nil {
		b.done = map[[32]byte]bool{}
	}
	b.done[id] = true
}

type tenantBatch struct {
	tenant  string
	streams []*push.Stream
	index   map[string]int
}

// Per-entry and per-stream protobuf overhead, used to keep requests under
// the configured size without marshalling twice. Generous on purpose.
const (
	entryOverhead  = 32
	streamOverhead = 16
)

// Add appends e to the stream with the given rendered label set.
func (b *Batch) Add(tenant, labels string, e push.Entry) {
	if b.index == nil {
		b.index = map[string]int{}
	}
	ti, ok := b.index[tenant]
	if !ok {
		ti = len(b.tenants)
		b.index[tenant] = ti
		b.tenants = append(b.tenants, &tenantBatch{tenant: tenant, index: map[string]int{}})
	}
	t := b.tenants[ti]
	si, ok := t.index[labels]
	if !ok {
		si = len(t.streams)
		t.index[labels] = si
		t.streams = append(t.streams, &push.Stream{Labels: labels, Entries: getEntries()})
	}
	t.streams[si].Entries = append(t.streams[si].Entries, e)
	b.entries++
}

// Len is the number of entries in the batch.
func (b *Batch) Len() int { return b.entries }

// request is one push request: a tenant and the streams it carries.
type request struct {
	tenant  string
	streams []push.Stream
	entries int
	// late marks a request of entries Loki found older than its
	// out-of-order window, resent into a stream of their hour: if Loki
	// refuses them there too, they are refused, not resent again.
	late bool
}

// split cuts the batch into requests of one stream and at most maxBytes
// (estimated, uncompressed). One stream per request because Loki's ingester
// reports only the last stream's outcome: a request whose first stream is
// refused (entry too far behind, stream rate limit) and whose second is fine
// answers 204 (scripts/loki/BEHAVIOUR.md). Streams per chunk are few (static
// labels times detection combinations), so this costs little. An entry larger
// than maxBytes travels alone: Loki decides whether it is acceptable.
//
// A stream's entries are put in time order first (stably, so a retried
// chunk splits the same way). Loki's ingester judges a request's entries in
// order against the newest time it holds for the stream, which each entry it
// takes can raise; in time order, the entries it refuses as older than its
// out-of-order window are exactly a prefix of the request, which is what
// lets a refusal be told apart from what was stored (behindWindow).
func (b *Batch) split(maxBytes int) []request {
	var out []request
	for _, t := range b.tenants {
		for _, s := range t.streams {
			if !slices.IsSortedFunc(s.Entries, byTime) {
				slices.SortStableFunc(s.Entries, byTime)
			}
			start, size := 0, len(s.Labels)+streamOverhead
			for i := range s.Entries {
				es := entrySize(&s.Entries[i])
				if size+es > maxBytes && i > start {
					out = append(out, request{tenant: t.tenant, streams: []push.Stream{{Labels: s.Labels, Entries: s.Entries[start:i]}}, entries: i - start})
					start, size = i, len(s.Labels)+streamOverhead
				}
				size += es
			}
			if start < len(s.Entries) {
				out = append(out, request{tenant: t.tenant, streams: []push.Stream{{Labels: s.Labels, Entries: s.Entries[start:]}}, entries: len(s.Entries) - start})
			}
		}
	}
	return out
}

func byTime(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) }

func entrySize(e *push.Entry) int {
	n := len(e.Line) + entryOverhead
	for _, l := range e.StructuredMetadata {
		n += len(l.Name) + len(l.Value) + 8
	}
	return n
}

// id identifies a request by everything Loki stores of it: tenant, stream
// labels, and each entry's timestamp, line and structured metadata.
func (r *request) id() [32]byte {
	h := sha256.New()
	var n [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	str(r.tenant)
	for _, s := range r.streams {
		str(s.Labels)
		for i := range s.Entries {
			e := &s.Entries[i]
			binary.BigEndian.PutUint64(n[:], uint64(e.Timestamp.UnixNano()))
			h.Write(n[:])
			str(e.Line)
			for _, l := range e.StructuredMetadata {
				str(l.Name)
				str(l.Value)
			}
		}
	}
	var id [32]byte
	h.Sum(id[:0])
	return id
}
