package redact

import (
	"strings"
	"testing"
	"unsafe"
)

// A remembered key is a copy: the key the caller had may be a window on a
// whole chunk's text, which the memo would otherwise keep alive for as
// long as its Redactor lives, up to memoMax chunks of it.
func TestMemoKeepsCopies(t *testing.T) {
	chunk := strings.Repeat("x", 1<<20) + "SOME_ENV_NAME" + strings.Repeat("y", 1<<20)
	k := chunk[1<<20 : 1<<20+len("SOME_ENV_NAME")]
	var m memo[bool]
	m.put(k, true)
	if v, ok := m.get("SOME_ENV_NAME"); !ok || !v {
		t.Fatal("the key was not remembered")
	}
	start, end := uintptr(unsafe.Pointer(unsafe.StringData(chunk))), uintptr(unsafe.Pointer(unsafe.StringData(chunk)))+uintptr(len(chunk))
	for key := range *m.p.Load() {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(key))); p >= start && p < end {
			t.Fatalf("the memo keeps %q inside the caller's text", key)
		}
	}
}
