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
	keys     []keyField
	distinct *keyField // nil: count events
	window   time.Duration
	moreThan int
	maxKeys  int

	seed maphash.Seed
	mu   sync.Mutex
	lru  *list.List // of *counter, most recent first
	byID map[uint64]*list.Element
}

type keyField struct {
	f   *field
	arg string
}

type counter struct {
	key   uint64
	start int64 // window start, Unix nanoseconds
	n     int
	seen  []uint64 // distinct values, at most moreThan+1
}

// DefaultMaxKeys bounds the keys a stateful rule tracks when its file does
// not say (threshold.max_keys).
const DefaultMaxKeys = 10000

func newThreshold(keys []keyField, distinct *keyField, window time.Duration, moreThan, maxKeys int) *threshold {
	return &threshold{
		keys: keys, distinct: distinct, window: window, moreThan: moreThan, maxKeys: maxKeys,
		seed: maphash.MakeSeed(), lru: list.New(), byID: map[uint64]*list.Element{},
	}
}

// observe counts ev (whose condition held) and reports whether the count
// now exceeds the threshold. Safe for concurrent use.
func (t *threshold) observe(ev map[string]any, now time.Time) bool {
	var h maphash.Hash
	h.SetSeed(t.seed)
	for _, k := range t.keys {
		k.write(&h, ev)
		h.WriteByte(0)
	}
	key := h.Sum64()
	var dv uint64
	if t.distinct != nil {
		h.Reset()
		t.distinct.write(&h, ev)
		dv = h.Sum64()
	}
	ts := now.UnixNano()

	t.mu.Lock()
	defer t.mu.Unlock()
	var c *counter
	if el, ok := t.byID[key]; ok {
		t.lru.MoveToFront(el)
		c = el.Value.(*counter)
	} else {
		if t.lru.Len() >= t.maxKeys {
			old := t.lru.Back()
			t.lru.Remove(old)
			delete(t.byID, old.Value.(*counter).key)
		}
		c = &counter{key: key, start: ts}
		t.byID[key] = t.lru.PushFront(c)
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
func (t *threshold) keysHeld() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

func (t *threshold) describe() string {
	what := "events"
	if t.distinct != nil {
		what = "distinct " + t.distinct.f.displayName()
	}
	return fmt.Sprintf("more than %d %s in %s per %s", t.moreThan, what, t.window, keyNames(t.keys))
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
