// Package poison is what test binaries write into memory the plugin hands
// back for reuse (a flush's arena blocks, a chunk's text, a record's boxed
// strings): a value kept past its lifetime then reads as poison in the
// tests, instead of quietly as whatever the memory holds next.
package poison

import "testing"

// On is set in test binaries, benchmarks among them; never in a plugin.
var On = testing.Testing()

// Fill sets every element of b to x by doubling copies, so poisoning
// costs about a memmove.
func Fill[T any](b []T, x T) {
	if len(b) == 0 {
		return
	}
	b[0] = x
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}
