//go:build race

package detect_test

// raceEnabled: the race detector makes sync.Pool drop what it is given,
// so an evaluation's pooled slots are made anew and allocation counts
// say nothing.
const raceEnabled = true
