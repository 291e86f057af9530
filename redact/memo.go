package redact

import (
	"strings"
	"sync"
	"sync/atomic"
)

// memo remembers a yes/no judgement of short strings (map keys, env
// names), which repeat across every event: lookups are a plain map read
// with no lock and no allocation; a new entry copies the map, which is
// rare after the first events and stops at memoMax entries, so hostile
// input with ever new keys costs the judgement, not memory.
type memo[V any] struct {
	mu sync.Mutex
	p  atomic.Pointer[map[string]V]
}

const (
	memoMax    = 4096
	memoMaxKey = 96
)

func (m *memo[V]) get(k string) (v V, ok bool) {
	if p := m.p.Load(); p != nil {
		v, ok = (*p)[k]
	}
	return v, ok
}

// judged returns judge(k), remembered.
func (m *memo[V]) judged(k string, judge func(string) V) V {
	if v, ok := m.get(k); ok {
		return v
	}
	v := judge(k)
	m.put(k, v)
	return v
}

func (m *memo[V]) put(k string, v V) {
	if len(k) > memoMaxKey {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.p.Load()
	n := 0
	if old != nil {
		n = len(*old)
	}
	if n >= memoMax {
		return
	}
	next := make(map[string]V, n+1)
	if old != nil {
		for key, val := range *old {
			next[key] = val
		}
	}
	// A copy: k may be a substring of a whole chunk's text, which a
	// remembered key would keep alive for as long as the Redactor.
	next[strings.Clone(k)] = v
	m.p.Store(&next)
}

// keySet is a memo of strings known to need nothing.
type keySet struct{ m memo[bool] }

func (k *keySet) has(s string) bool { v, ok := k.m.get(s); return ok && v }
func (k *keySet) add(s string)      { k.m.put(s, true) }
