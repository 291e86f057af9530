// Package loki delivers entries to Loki's push API and tells the caller the
// truth about the outcome: a chunk is acknowledged only once Loki accepted
// every entry it could accept, and retried when Loki could not be reached or
// asked to back off. It speaks snappy-compressed protobuf with Loki's own
// wire types (github.com/grafana/loki/pkg/push).
package loki

import (
	"github.com/grafana/loki/pkg/push"
)

// Batch gathers the entries of one Fluent Bit chunk, grouped by tenant and
// stream. It is not safe for concurrent use: each flush builds its own.
type Batch struct {
	tenants []*tenantBatch
	index   map[string]int
	entries int
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
		t.streams = append(t.streams, &push.Stream{Labels: labels})
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
}

// split cuts the batch into requests of at most maxBytes (estimated,
// uncompressed). An entry larger than maxBytes travels alone: Loki decides
// whether it is acceptable, and says why not.
func (b *Batch) split(maxBytes int) []request {
	var out []request
	for _, t := range b.tenants {
		cur := request{tenant: t.tenant}
		size := 0
		flush := func() {
			if cur.entries > 0 {
				out = append(out, cur)
			}
			cur = request{tenant: t.tenant}
			size = 0
		}
		for _, s := range t.streams {
			start := 0
			ssize := len(s.Labels) + streamOverhead
			for i := range s.Entries {
				es := entrySize(&s.Entries[i])
				if size+ssize+es > maxBytes && (cur.entries > 0 || i > start) {
					if i > start {
						cur.streams = append(cur.streams, push.Stream{Labels: s.Labels, Entries: s.Entries[start:i]})
						cur.entries += i - start
					}
					flush()
					start = i
					ssize = len(s.Labels) + streamOverhead
				}
				ssize += es
			}
			if start < len(s.Entries) {
				cur.streams = append(cur.streams, push.Stream{Labels: s.Labels, Entries: s.Entries[start:]})
				cur.entries += len(s.Entries) - start
				size += ssize
			}
		}
		flush()
	}
	return out
}

func entrySize(e *push.Entry) int {
	n := len(e.Line) + entryOverhead
	for _, l := range e.StructuredMetadata {
		n += len(l.Name) + len(l.Value) + 8
	}
	return n
}
