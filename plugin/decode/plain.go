package decode

import (
	"encoding/binary"
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
// read eight bytes at a time while none of the eight is another: the
// JSON scanner reads strings with it, and the line writer decides with
// it that a string needs no escape. Both see mostly such runs.
func PlainPrefix(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
		q, bs := x^(ones*'"'), x^(ones*'\\')
		// A byte below 0x20, a quote, a backslash (each a zero byte
		// once xored), or one with the high bit set (not ASCII).
		if ((x-ones*0x20)&^x|(q-ones)&^q|(bs-ones)&^bs|x)&highs != 0 {
			break
		}
	}
	for i < len(s) && plainJSON[s[i]] {
		i++
	}
	return i
}
