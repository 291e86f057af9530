package detect

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

func testThreshold(t testing.TB, distinct bool, moreThan, maxKeys int) *threshold {
	t.Helper()
	user, _, _ := lookupField("user.username")
	name, _, _ := lookupField("objectRef.name")
	var d *keyField
	if distinct {
		d = &keyField{f: name}
	}
	return newThreshold([]keyField{{f: user}}, d, time.Minute, moreThan, maxKeys)
}

func evFor(user, name string) map[string]any {
	return map[string]any{"user": map[string]any{"username": user}, "objectRef": map[string]any{"name": name}}
}

func TestThresholdWindow(t *testing.T) {
	th := testThreshold(t, false, 2, 10)
	t0 := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	for i, want := range []bool{false, false, true, true} {
		if got := th.observe(evFor("a", "x"), t0.Add(time.Duration(i)*time.Second)); got != want {
			t.Fatalf("event %d: %v, want %v", i, got, want)
		}
	}
	if th.observe(evFor("b", "x"), t0) {
		t.Fatal("another key shares the count")
	}
	// A window later the count starts again.
	if th.observe(evFor("a", "x"), t0.Add(time.Minute+time.Second)) {
		t.Fatal("the window did not reset")
	}
}

func TestThresholdDistinct(t *testing.T) {
	th := testThreshold(t, true, 2, 10)
	t0 := time.Now()
	for i, name := range []string{"s1", "s1", "s2", "s2", "s1"} {
		if th.observe(evFor("a", name), t0) {
			t.Fatalf("event %d: fired with two distinct values", i)
		}
	}
	if !th.observe(evFor("a", "s3"), t0) || !th.observe(evFor("a", "s1"), t0) {
		t.Fatal("third distinct value must fire, and repeats after it too")
	}
}

// TestThresholdBounded: the keys held never exceed max_keys; the least
// recently seen key is the one evicted.
func TestThresholdBounded(t *testing.T) {
	th := testThreshold(t, false, 1, 100)
	t0 := time.Now()
	th.observe(evFor("keep", ""), t0)
	for i := range 1000 {
		th.observe(evFor("u"+strconv.Itoa(i), ""), t0)
		th.observe(evFor("keep", ""), t0) // stays most recent
	}
	if n := th.keysHeld(); n != 100 {
		t.Fatalf("%d keys held, want 100", n)
	}
	if !th.observe(evFor("keep", ""), t0) {
		t.Fatal("the recently used key was evicted")
	}
	if th.observe(evFor("u0", ""), t0) {
		t.Fatal("u0 should have been evicted and start again")
	}
}

// TestThresholdConcurrent counts from many goroutines (run with -race):
// exactly the events past more_than fire.
func TestThresholdConcurrent(t *testing.T) {
	th := testThreshold(t, false, 100, 10)
	t0 := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if th.observe(evFor("a", ""), t0) {
					mu.Lock()
					fired++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if fired != 400-100 {
		t.Fatalf("%d fired, want 300", fired)
	}
}

func TestEventTime(t *testing.T) {
	ev := map[string]any{"requestReceivedTimestamp": "2025-06-02T09:14:09.118204Z"}
	if got := eventTime(ev); !got.Equal(time.Date(2025, 6, 2, 9, 14, 9, 118204000, time.UTC)) {
		t.Fatalf("got %v", got)
	}
	if got := eventTime(map[string]any{"requestReceivedTimestamp": "yesterday"}); time.Since(got) > time.Minute {
		t.Fatalf("bad timestamp must fall back to now, got %v", got)
	}
}

// BenchmarkThresholdMillionKeys feeds one million distinct keys to a rule
// at the largest allowed max_keys and reports the heap it holds.
func BenchmarkThresholdMillionKeys(b *testing.B) {
	for _, maxKeys := range []int{DefaultMaxKeys, maxMaxKeys} {
		b.Run("max_keys="+strconv.Itoa(maxKeys), func(b *testing.B) {
			evs := make([]map[string]any, 1<<10)
			for i := range evs {
				evs[i] = evFor("", "")
			}
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				th := testThreshold(b, true, 10, maxKeys)
				t0 := time.Now()
				for i := range 1_000_000 {
					ev := evs[i%len(evs)]
					ev["user"].(map[string]any)["username"] = strconv.Itoa(i)
					th.observe(ev, t0)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(th.keysHeld()), "B/key")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
				runtime.KeepAlive(th)
			}
		})
	}
}
