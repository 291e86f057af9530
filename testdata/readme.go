package testdata

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Update is the -update flag of every test binary that imports this package:
// rewrite what the code generates (README sections, golden files, copies)
// instead of failing on a difference.
var Update = flag.Bool("update", false, "rewrite generated files (README sections, golden files, copies) from current output")

// CheckReadme keeps README.md's generated sections (between `<!-- NAME -->`
// and `<!-- /NAME -->`) identical to what the code renders: it fails t when
// section name differs from want, or rewrites it with -update.
func CheckReadme(t testing.TB, name, want string) {
	t.Helper()
	path := Path(t, "README.md")
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
	if *Update {
		s = s[:i+len(start)] + want + s[j:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: section %s is stale; rerun this package's tests with -update", path, name)
}
