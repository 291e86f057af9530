package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKeysGenCurrent fails when plugin/config Keys changed without
// `go generate ./plugin/filter`: the filter would hand Fluent Bit a stale map
// and Fluent Bit would refuse a key that is valid, or pass a removed one.
func TestKeysGenCurrent(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "keys_gen.h"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != generate() {
		t.Fatal("plugin/filter/keys_gen.h is stale: run go generate ./plugin/filter")
	}
}

func TestCString(t *testing.T) {
	for in, want := range map[string]string{
		"min_severity": `"min_severity"`,
		`a "b" \ c??=`: `"a \042b\042 \134 c\077\077="`,
		"é\n":          `"\303\251\012"`,
	} {
		if got := cString(in); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}
