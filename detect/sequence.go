package detect

import (
	"container/list"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// A sequence rule fires on an event its condition holds for when, before
// it, the rule's earlier step (sequence.after) held at least atLeast times
// for the same key within window: refusals, then the request that
// succeeds. A threshold counts one condition and labels the events of that
// same condition, so it cannot tie a success to the refusals before it.
//
// Detections stay a function of the events: the window is measured in
// event timestamps, and an earlier step counts only if its timestamp is
// not after the completing event's. A sequence fires once: the steps it
// consumed are forgotten, so the requests that follow need new refusals to
// fire again (the first success is the one to look at; its siblings are in
// the same identity's log lines).
//
// Memory is bounded like a threshold's: at most maxKeys keys, least
// recently seen evicted, each holding the atLeast latest step timestamps
// (eight bytes each) under a 64-bit hash of the key; no event text.
type sequence struct {
	keys    []keyField
	window  time.Duration
	atLeast int
	maxKeys int

	seed maphash.Seed
	mu   sync.Mutex
	lru  *list.List // of *steps, most recent first
	byID map[uint64]*list.Element
}

// steps are the timestamps (Unix nanoseconds) of one key's earlier steps:
// the latest atLeast of them, in no order.
type steps struct {
	key uint64
	ts  []int64
}

// maxAtLeast bounds sequence.at_least: each key holds that many
// timestamps.
const maxAtLeast = 100

func newSequence(keys []keyField, window time.Duration, atLeast, maxKeys int) *sequence {
	return &sequence{
		keys: keys, window: window, atLeast: atLeast, maxKeys: maxKeys,
		seed: maphash.MakeSeed(), lru: list.New(), byID: map[uint64]*list.Element{},
	}
}

func (s *sequence) hash(ev map[string]any) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	for _, k := range s.keys {
		k.write(&h, ev)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// step records ev, for which the earlier step held. Safe for concurrent
// use.
func (s *sequence) step(ev map[string]any, now time.Time) {
	key, ts := s.hash(ev), now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	var st *steps
	if el, ok := s.byID[key]; ok {
		s.lru.MoveToFront(el)
		st = el.Value.(*steps)
	} else {
		if s.lru.Len() >= s.maxKeys {
			old := s.lru.Back()
			s.lru.Remove(old)
			delete(s.byID, old.Value.(*steps).key)
		}
		st = &steps{key: key, ts: make([]int64, 0, s.atLeast)}
		s.byID[key] = s.lru.PushFront(st)
	}
	if len(st.ts) < s.atLeast {
		st.ts = append(st.ts, ts)
		return
	}
	// Keep the latest: events of several API servers may come out of
	// order, and the oldest is the first to leave any window.
	oldest := 0
	for i, t := range st.ts {
		if t < st.ts[oldest] {
			oldest = i
		}
	}
	if ts > st.ts[oldest] {
		st.ts[oldest] = ts
	}
}

// complete reports whether ev, for which the rule's condition held, ends a
// sequence: at least atLeast earlier steps of its key, none after it and
// none more than window before it. A sequence that completes is
// forgotten. Safe for concurrent use.
func (s *sequence) complete(ev map[string]any, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) == 0 {
		return false // nobody was refused: the usual case costs no hash
	}
	key, ts := s.hash(ev), now.UnixNano()
	el, ok := s.byID[key]
	if !ok {
		return false
	}
	n := 0
	for _, t := range el.Value.(*steps).ts {
		if t <= ts && ts-t <= int64(s.window) {
			n++
		}
	}
	if n < s.atLeast {
		return false
	}
	s.lru.Remove(el)
	delete(s.byID, key)
	return true
}

// keysHeld is the number of keys tracked, for tests and benchmarks.
func (s *sequence) keysHeld() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

func (s *sequence) describe() string {
	return fmt.Sprintf("at least %d of sequence.after, then the condition, within %s per %s", s.atLeast, s.window, keyNames(s.keys))
}

func keyNames(keys []keyField) string {
	names := ""
	for i, k := range keys {
		if i > 0 {
			names += ", "
		}
		names += k.f.name
		if k.arg != "" {
			names += "[" + k.arg + "]"
		}
	}
	return names
}
