package detect

import (
	"fmt"
	"hash/maphash"
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
	window  time.Duration
	atLeast int
	byKey   keyed[steps]
}

// steps are the timestamps (Unix nanoseconds) of one key's earlier steps:
// the latest atLeast of them, in no order.
type steps struct {
	ts []int64
}

// maxAtLeast bounds sequence.at_least: each key holds that many
// timestamps.
const maxAtLeast = 100

func newSequence(keys []keyField, window time.Duration, atLeast, maxKeys int) *sequence {
	s := &sequence{window: window, atLeast: atLeast}
	s.byKey.init(keys, maxKeys)
	return s
}

// step records ev, for which the earlier step held. Safe for concurrent
// use.
func (s *sequence) step(ev map[string]any, now time.Time) {
	var h maphash.Hash
	key, ts := s.byKey.hash(&h, ev), now.UnixNano()
	s.byKey.mu.Lock()
	defer s.byKey.mu.Unlock()
	st, made := s.byKey.touch(key)
	if made {
		st.ts = make([]int64, 0, s.atLeast)
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
	s.byKey.mu.Lock()
	defer s.byKey.mu.Unlock()
	if len(s.byKey.byID) == 0 {
		return false // nobody was refused: the usual case costs no hash
	}
	var h maphash.Hash
	key, ts := s.byKey.hash(&h, ev), now.UnixNano()
	st := s.byKey.find(key)
	if st == nil {
		return false
	}
	n := 0
	for _, t := range st.ts {
		if t <= ts && ts-t <= int64(s.window) {
			n++
		}
	}
	if n < s.atLeast {
		return false
	}
	s.byKey.forget(key)
	return true
}

// keysHeld is the number of keys tracked, for tests and benchmarks.
func (s *sequence) keysHeld() int { return s.byKey.held() }

func (s *sequence) describe() string {
	return fmt.Sprintf("at least %d of sequence.after, then the condition, within %s per %s", s.atLeast, s.window, keyNames(s.byKey.keys))
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
