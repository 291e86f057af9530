package detect

import (
	"container/list"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// A stateful rule fires only when its condition has held more than a
// number of times (or for more than a number of distinct values of one
// field) within a fixed window, counted per key (a tuple of fields such as
// user.username and objectRef.namespace).
//
// Memory is bounded: each rule keeps at most maxKeys keys, evicting the
// least recently seen; a key costs one entry of a few dozen bytes plus, for
// distinct counting, up to moreThan+1 eight-byte hashes. Keys and distinct
// values are stored as 64-bit hashes, never as text, so no event content
// (user names, secret names) is retained and a lookup does not allocate.
// Windows are fixed: the first event of a key opens one, and an event after
// its end opens the next.
type threshold struct {
	distinct *keyField // nil: count events
	window   time.Duration
	moreThan int
	byKey    keyed[counter]
}

// keyed is a stateful rule's memory: one entry per key (a 64-bit hash of
// the rule's key fields, under a seed of its own), at most maxKeys of
// them, the least recently seen evicted first. Thresholds and sequences
// keep their counts and steps in it.
type keyed[T any] struct {
	keys    []keyField
	maxKeys int
	seed    maphash.Seed
	mu      sync.Mutex
	lru     *list.List // of *keyedEntry[T], most recent first
	byID    map[uint64]*list.Element
}

type keyedEntry[T any] struct {
	key uint64
	v   T
}

func (k *keyed[T]) init(keys []keyField, maxKeys int) {
	k.keys, k.maxKeys = keys, maxKeys
	k.seed, k.lru, k.byID = maphash.MakeSeed(), list.New(), map[uint64]*list.Element{}
}

// hash is ev's key, written with h (which it seeds, and which the caller
// may Reset and use again under the same seed).
func (k *keyed[T]) hash(h *maphash.Hash, ev map[string]any) uint64 {
	h.SetSeed(k.seed)
	for _, f := range k.keys {
		f.write(h, ev)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// touch returns key's entry, a zero one (made is set) when the key was
// not held, and marks it the most recently seen. The caller holds mu.
func (k *keyed[T]) touch(key uint64) (v *T, made bool) {
	if el, ok := k.byID[key]; ok {
		k.lru.MoveToFront(el)
		return &el.Value.(*keyedEntry[T]).v, false
	}
	if k.lru.Len() >= k.maxKeys {
		old := k.lru.Back()
		k.lru.Remove(old)
		delete(k.byID, old.Value.(*keyedEntry[T]).key)
	}
	e := &keyedEntry[T]{key: key}
	k.byID[key] = k.lru.PushFront(e)
	return &e.v, true
}

// find returns key's entry, or nil, without marking it seen. The caller
// holds mu.
func (k *keyed[T]) find(key uint64) *T {
	if el, ok := k.byID[key]; ok {
		return &el.Value.(*keyedEntry[T]).v
	}
	return nil
}

// forget drops key's entry. The caller holds mu.
func (k *keyed[T]) forget(key uint64) {
	if el, ok := k.byID[key]; ok {
		k.lru.Remove(el)
		delete(k.byID, key)
	}
}

// held is the number of keys held, for tests and benchmarks.
func (k *keyed[T]) held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lru.Len()
}

type keyField struct {
	f   *field
	arg string
}

type counter struct {
	start int64 // window start, Unix nanoseconds
	n     int
	seen  []uint64 // distinct values, at most moreThan+1
}

// DefaultMaxKeys bounds the keys a stateful rule tracks when its file does
// not say (threshold.max_keys).
const DefaultMaxKeys = 10000

func newThreshold(keys []keyField, distinct *keyField, window time.Duration, moreThan, maxKeys int) *threshold {
	t := &threshold{distinct: distinct, window: window, moreThan: moreThan}
	t.byKey.init(keys, maxKeys)
	return t
}

// observe counts ev (whose condition held) and reports whether the count
// now exceeds the threshold. Safe for concurrent use.
func (t *threshold) observe(ev map[string]any, now time.Time) bool {
	var h maphash.Hash
	key := t.byKey.hash(&h, ev)
	var dv uint64
	if t.distinct != nil {
		h.Reset()
		t.distinct.write(&h, ev)
		dv = h.Sum64()
	}
	ts := now.UnixNano()

	t.byKey.mu.Lock()
	defer t.byKey.mu.Unlock()
	c, made := t.byKey.touch(key)
	if made {
		c.start = ts
	}
	if ts-c.start >= int64(t.window) || ts < c.start-int64(t.window) {
		c.start, c.n, c.seen = ts, 0, c.seen[:0]
	}
	if t.distinct == nil {
		c.n++
		return c.n > t.moreThan
	}
	for _, s := range c.seen {
		if s == dv {
			return len(c.seen) > t.moreThan
		}
	}
	if len(c.seen) <= t.moreThan {
		c.seen = append(c.seen, dv)
	}
	return len(c.seen) > t.moreThan
}

// keysHeld is the number of keys tracked, for tests and benchmarks.
func (t *threshold) keysHeld() int { return t.byKey.held() }

func (t *threshold) describe() string {
	what := "events"
	if t.distinct != nil {
		what = "distinct " + t.distinct.f.displayName()
	}
	return fmt.Sprintf("more than %d %s in %s per %s", t.moreThan, what, t.window, keyNames(t.byKey.keys))
}

// eventTime is when the API server received the request, so replayed or
// retried chunks count in the window they belong to; without a usable
// timestamp the wall clock stands in.
func eventTime(ev map[string]any) time.Time {
	for _, k := range [...]string{"requestReceivedTimestamp", "stageTimestamp"} {
		if s, ok := ev[k].(string); ok && len(s) >= 20 {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t
			}
		}
	}
	return time.Now()
}

// write hashes the field's value; composite fields hash their parts, so
// counting them does not build the joined text.
func (k keyField) write(h *maphash.Hash, ev map[string]any) {
	if k.f.pair != nil {
		a, b := k.f.pair(ev)
		h.WriteString(a)
		h.WriteByte('/')
		h.WriteString(b)
		return
	}
	h.WriteString(k.f.get(ev, k.arg).str())
}
