package detect

import (
	"testing"

	"github.com/kaudit/kaudit/conf"
	"github.com/kaudit/kaudit/testdata"
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

// corporaDir is testdata/corpora, the real-world corpora.
func corporaDir(t testing.TB) string {
	t.Helper()
	return testdata.CorporaDir(t)
}

// CorporaDir lets the external test package share corporaDir.
var CorporaDir = corporaDir
