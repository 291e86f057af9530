package loki

import (
	"crypto/sha256"
	"sync"
)

// ChunkKey identifies a Fluent Bit chunk by its tag and bytes: Fluent Bit
// hands a retry the very same bytes.
func ChunkKey(tag string, chunk []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(tag))
	h.Write([]byte{0})
	h.Write(chunk)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// Memo remembers what the first attempt at a chunk decided, for the
// chunks Fluent Bit will hand back for a retry, so that the retry reuses
// it instead of deciding again. Detections are the case in point: stateful
// rules count events, and running them again on a retried chunk would
// count the same events twice and label the resend differently from what
// Loki may already hold.
//
// Memory is bounded twice: at most maxItems chunks and maxWeight in total
// (the caller's unit, e.g. detections kept); the oldest chunks are
// forgotten first, and Forgotten counts them. Safe for concurrent use.
type Memo[T any] struct {
	mu        sync.Mutex
	items     map[[32]byte]memoItem[T]
	order     [][32]byte
	weight    int
	maxItems  int
	maxWeight int
	forgotten int64
}

type memoItem[T any] struct {
	v      T
	weight int
}

// NewMemo returns an empty memo with the given bounds.
func NewMemo[T any](maxItems, maxWeight int) *Memo[T] {
	return &Memo[T]{items: map[[32]byte]memoItem[T]{}, maxItems: maxItems, maxWeight: maxWeight}
}

// Empty reports whether nothing is remembered: a flush then need not
// compute its chunk's key at all.
func (m *Memo[T]) Empty() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items) == 0
}

// Get returns what was remembered for key.
func (m *Memo[T]) Get(key [32]byte) (T, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	return it.v, ok
}

// Put remembers v for key, replacing what was there.
func (m *Memo[T]) Put(key [32]byte, v T, weight int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.items[key]; ok {
		m.weight -= old.weight
	} else {
		m.order = append(m.order, key)
	}
	m.items[key] = memoItem[T]{v: v, weight: weight}
	m.weight += weight
	for len(m.order) > 1 && (len(m.order) > m.maxItems || m.weight > m.maxWeight) {
		m.drop(m.order[0])
		m.forgotten++
	}
}

// Delete forgets key: its chunk was delivered.
func (m *Memo[T]) Delete(key [32]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drop(key)
}

// Forgotten is how many chunks were forgotten to stay within bounds.
func (m *Memo[T]) Forgotten() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.forgotten
}

func (m *Memo[T]) drop(key [32]byte) {
	it, ok := m.items[key]
	if !ok {
		return
	}
	delete(m.items, key)
	m.weight -= it.weight
	for i, k := range m.order {
		if k == key {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
}
