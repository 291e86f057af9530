package detect

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kaudit/kaudit/conf"
)

func loadDefaultInternal(t testing.TB) *Engine {
	t.Helper()
	srcs, err := FromFS(conf.Rules, "rules/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(srcs...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// corporaDir finds the shared real-world corpora: $KAUDIT_CORPORA, else
// ../shared/corpora beside the repository, where CI puts them. Outside CI a
// checkout without them skips; in CI (KAUDIT_REQUIRE_E2E) it fails.
func corporaDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("KAUDIT_CORPORA")
	if d == "" {
		d = filepath.Join("..", "..", "shared", "corpora")
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		if os.Getenv("KAUDIT_REQUIRE_E2E") != "" {
			t.Fatalf("corpora not found at %s", d)
		}
		t.Skip("corpora not found; set KAUDIT_CORPORA")
	}
	return d
}

// CorporaDir lets the external test package share corporaDir.
var CorporaDir = corporaDir
