package decode

import (
	"math/rand/v2"
	"testing"
)

// PlainPrefix, eight bytes at a time, stops where the byte table does.
func TestPlainPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte{'a', 'Z', ' ', '~', '"', '\\', 0x1f, 0x00, '\n', 0x7f, 0x80, 0xe2, 0xff, '!', '#', '[', ']', 0x5b, 0x5d}
	for range 50000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(6) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		s := string(b)
		want := 0
		for want < len(s) && plainJSON[s[want]] {
			want++
		}
		if got := PlainPrefix(s); got != want {
			t.Fatalf("PlainPrefix(%q) = %d, want %d", s, got, want)
		}
	}
	for n := 1; n <= 24; n++ { // every byte, at every place of every length
		for c := 0; c < 256; c++ {
			for at := 0; at < n; at++ {
				b := []byte("abcdefghijklmnopqrstuvwx"[:n])
				b[at] = byte(c)
				want := n
				if !plainJSON[c] {
					want = at
				}
				if got := PlainPrefix(string(b)); got != want {
					t.Fatalf("byte %#x at %d of %d: PlainPrefix = %d, want %d", c, at, n, got, want)
				}
			}
		}
	}
}
