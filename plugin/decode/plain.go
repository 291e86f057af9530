package decode

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// plainJSON marks the bytes a JSON string carries as they are: printable
// ASCII other than the quote and the backslash.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// PlainPrefix is the length of s's longest prefix of bytes a JSON string
// carries as they are (printable ASCII but the quote and the backslash),
// read eight bytes at a time: the JSON scanner reads strings with it, and
// the line writer decides with it that a string needs no escape. Both see
// mostly short strings and runs, so the byte that ends a run is found in
// its word, the last bytes of a string are read as the string's last
// word, and a string shorter than a word as two halves: not byte by byte.
func PlainPrefix(s string) int {
	if n := len(s); n < 8 {
		// Four to seven bytes: two words of four that overlap, in one
		// test; the byte that ends a run is then found byte by byte.
		if n >= 4 && notPlain(uint64(load4(s, 0))|uint64(load4(s, n-4))<<32) == 0 {
			return n
		}
		i := 0
		for i < n && plainJSON[s[i]] {
			i++
		}
		return i
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if m := notPlain(load8(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if i == len(s) {
		return i
	}
	// The word ending the string: the bytes it shares with the last one
	// read are plain, so the lowest byte it flags is new.
	at := len(s) - 8
	if m := notPlain(load8(s, at)); m != 0 {
		return at + bits.TrailingZeros64(m)/8
	}
	return len(s)
}

func load4(s string, i int) uint32 {
	return binary.LittleEndian.Uint32(unsafe.Slice(unsafe.StringData(s[i:]), 4))
}

func load8(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

// notPlain sets the high bit of the bytes of x below 0x20, at or above
// 0x80, or equal to the quote or the backslash (each a zero byte once
// xored). A byte above a flagged one may be flagged wrongly (the
// subtraction borrows), the lowest flagged byte never is.
func notPlain(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, bs := x^(ones*'"'), x^(ones*'\\')
	return ((x-ones*0x20)&^x | (q-ones)&^q | (bs-ones)&^bs | x) & highs
}
