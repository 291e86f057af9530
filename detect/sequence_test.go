package detect

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func testSequence(t testing.TB, atLeast, maxKeys int) *sequence {
	t.Helper()
	user, _, _ := lookupField("user.username")
	return newSequence([]keyField{{f: user}}, 10*time.Minute, atLeast, maxKeys)
}

func TestSequenceSteps(t *testing.T) {
	s := testSequence(t, 2, 10)
	t0 := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	if s.complete(evFor("a", ""), t0) {
		t.Fatal("completed without a step")
	}
	s.step(evFor("a", ""), t0)
	if s.complete(evFor("a", ""), t0.Add(time.Second)) {
		t.Fatal("completed after one step of two")
	}
	s.step(evFor("a", ""), t0.Add(2*time.Second))
	if s.complete(evFor("b", ""), t0.Add(3*time.Second)) {
		t.Fatal("another key completed a's sequence")
	}
	if !s.complete(evFor("a", ""), t0.Add(3*time.Second)) {
		t.Fatal("two steps then the event: want a completion")
	}
	if s.complete(evFor("a", ""), t0.Add(4*time.Second)) {
		t.Fatal("a completed sequence fired again without new steps")
	}
	if n := s.keysHeld(); n != 0 {
		t.Fatalf("%d keys held after the completion, want 0", n)
	}
}

// TestSequenceTime: steps count by their timestamps, not by when they were
// seen: too old, or after the completing event, they do not count.
func TestSequenceTime(t *testing.T) {
	t0 := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	s := testSequence(t, 2, 10)
	s.step(evFor("a", ""), t0)
	s.step(evFor("a", ""), t0.Add(time.Minute))
	if s.complete(evFor("a", ""), t0.Add(10*time.Minute+time.Second)) {
		t.Fatal("a step older than the window counted")
	}
	if s.complete(evFor("a", ""), t0.Add(30*time.Second)) {
		t.Fatal("a step after the event counted")
	}
	if !s.complete(evFor("a", ""), t0.Add(10*time.Minute)) {
		t.Fatal("steps within the window, in order: want a completion")
	}
	// The latest steps are kept: an old one arriving late does not push
	// out a recent one.
	s.step(evFor("a", ""), t0.Add(time.Hour))
	s.step(evFor("a", ""), t0.Add(time.Hour+time.Second))
	s.step(evFor("a", ""), t0)
	if !s.complete(evFor("a", ""), t0.Add(time.Hour+time.Minute)) {
		t.Fatal("a late old step displaced a recent one")
	}
}

func TestSequenceBounded(t *testing.T) {
	s := testSequence(t, 1, 100)
	t0 := time.Now()
	s.step(evFor("keep", ""), t0)
	for i := range 1000 {
		s.step(evFor("u"+strconv.Itoa(i), ""), t0)
		s.step(evFor("keep", ""), t0)
	}
	if n := s.keysHeld(); n != 100 {
		t.Fatalf("%d keys held, want 100", n)
	}
	if !s.complete(evFor("keep", ""), t0) {
		t.Fatal("the recently used key was evicted")
	}
	if s.complete(evFor("u0", ""), t0) {
		t.Fatal("u0 should have been evicted")
	}
}

// TestSequenceConcurrent (run with -race): one step, many completions at
// once; exactly one fires.
func TestSequenceConcurrent(t *testing.T) {
	s := testSequence(t, 1, 10)
	t0 := time.Now()
	s.step(evFor("a", ""), t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				s.step(evFor("b", ""), t0)
				if s.complete(evFor("a", ""), t0) {
					mu.Lock()
					fired++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if fired != 1 {
		t.Fatalf("%d fired, want 1", fired)
	}
}
