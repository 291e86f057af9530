package detect

import (
	"hash/maphash"
	"sync"
)

// startedSet remembers which long-running requests had their
// ResponseStarted judged, so that their ResponseComplete is judged only
// when the log never showed a ResponseStarted for them: an audit policy
// that omits the stage, an export that keeps only the final one, or a
// single hand-written event. Without it, such a log would hide every
// successful exec, port-forward and watch. The API server writes
// ResponseStarted before ResponseComplete in one log, so a request's first
// judged stage always comes first.
//
// It holds auditID hashes (never their text) in two generations of at most
// startedGen entries each: when the current one fills, it becomes the
// previous one and the old previous one is cleared and reused, so memory
// is bounded (about 2 x startedGen x 16 bytes) and steady-state use does not
// allocate. A request that outlives both generations (more than startedGen
// other long-running requests started meanwhile) is judged again when it
// ends.
type startedSet struct {
	seed      maphash.Seed
	mu        sync.Mutex
	cur, prev map[uint64]struct{}
}

const startedGen = 1 << 16

func newStartedSet() *startedSet {
	return &startedSet{seed: maphash.MakeSeed(),
		cur: make(map[uint64]struct{}, startedGen), prev: make(map[uint64]struct{}, startedGen)}
}

func (s *startedSet) add(id string) {
	h := maphash.String(s.seed, id)
	s.mu.Lock()
	if len(s.cur) >= startedGen {
		clear(s.prev)
		s.cur, s.prev = s.prev, s.cur
	}
	s.cur[h] = struct{}{}
	s.mu.Unlock()
}

func (s *startedSet) has(id string) bool {
	h := maphash.String(s.seed, id)
	s.mu.Lock()
	_, ok := s.cur[h]
	if !ok {
		_, ok = s.prev[h]
	}
	s.mu.Unlock()
	return ok
}

// judge is judged with memory: the ResponseStarted of a long-running
// request is judged and remembered, and its ResponseComplete (when it
// succeeded) is judged only if no ResponseStarted of the same auditID was.
func (e *Engine) judge(ev map[string]any) bool {
	if e.lrComplete || e.started == nil {
		return judged(ev, e.lrComplete)
	}
	stage, _ := ev["stage"].(string)
	switch stage {
	case stageStarted:
		if !longRunning(ev) {
			return false
		}
		if id, _ := ev["auditID"].(string); id != "" {
			e.started.add(id)
		}
		return true
	case stageComplete:
		if !longRunning(ev) {
			return true
		}
		if code, ok := scalarOf(obj(ev, "responseStatus")["code"]).num(); ok && code >= 400 {
			return true
		}
		id, _ := ev["auditID"].(string)
		return id == "" || !e.started.has(id)
	}
	return judged(ev, false)
}
