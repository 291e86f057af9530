package main

import "testing"

func TestConfigMapVersion(t *testing.T) {
	for out, want := range map[string]bool{
		"Fluent Bit v5.1.1\nGit commit: abc\n": true,
		"Fluent Bit v5.1.0\n":                  false,
		"Fluent Bit v5.1.7\n":                  true,
		"Fluent Bit v5.2.0\n":                  false, // layouts not read yet
		"Fluent Bit v6.0.0\n":                  false,
		"Fluent Bit v4.2.8\n":                  false,
		"Fluent Bit v3.2.10\n":                 false,
		"valgrind-3.22.0\n":                    false,
		"":                                     false,
	} {
		if got := configMapVersion(out); got != want {
			t.Errorf("%q: %v, want %v", out, got, want)
		}
	}
}
