// Package readme keeps README.md's generated sections (between
// `<!-- NAME -->` and `<!-- /NAME -->`) identical to what the code renders:
// tests call Check, and `go test ./... -update` rewrites them.
package readme

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's generated sections")

// Check fails t when the section name of the README at path differs from
// want, or rewrites it with -update.
func Check(t testing.TB, path, name, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start, end := fmt.Sprintf("<!-- %s -->\n", name), fmt.Sprintf("<!-- /%s -->", name)
	s := string(b)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %s markers", path, name)
	}
	if s[i+len(start):j] == want {
		return
	}
	if *update {
		s = s[:i+len(start)] + want + s[j:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: section %s is stale; rerun this package's tests with -update", path, name)
}
