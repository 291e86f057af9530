package poison

import "testing"

func TestFill(t *testing.T) {
	for n := range 70 {
		b := make([]byte, n)
		Fill(b, '#')
		for i, c := range b {
			if c != '#' {
				t.Fatalf("len %d: byte %d is %q", n, i, c)
			}
		}
	}
	if !On {
		t.Error("a test binary does not poison")
	}
}
