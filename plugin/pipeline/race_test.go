//go:build race

package pipeline_test

// raceEnabled: the race detector slows the single-goroutine differential
// tests tenfold and finds nothing in them; they take a sample of their
// corpus under it.
const raceEnabled = true
