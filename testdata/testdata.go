// Package testdata locates the repository's test data for tests and tools:
// the fixtures and real-world corpora under testdata/, and README.md, whose
// generated sections tests keep current. Nothing outside the repository is
// read.
package testdata

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// Root returns the repository root (the directory holding go.mod): the
// parent of this file's directory when the source is on disk, else the first
// directory holding go.mod and testdata/ above the working directory.
func Root() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("kaudit repository root not found above the working directory")
		}
		dir = parent
	}
}

func isRoot(dir string) bool {
	for _, f := range []string{"go.mod", "testdata", "plugin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// Path returns the repository path of elem, joined under the root; it fails
// t when the root is not found.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

// Dir returns testdata/ (or a directory under it).
func Dir(t testing.TB, elem ...string) string {
	t.Helper()
	return Path(t, append([]string{"testdata"}, elem...)...)
}

// CorporaDir returns testdata/corpora, the real-world corpora.
func CorporaDir(t testing.TB) string {
	t.Helper()
	return Dir(t, "corpora")
}

// Corpora returns the paths of the real-world corpora (*.jsonl), sorted; it
// fails t when there are none.
func Corpora(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(CorporaDir(t), "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no corpora in %s", CorporaDir(t))
	}
	sort.Strings(files)
	return files
}

// Corpus returns the path of the corpus named name (e.g.
// "audit2rbac-demo.jsonl"); it fails t when it is absent.
func Corpus(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(CorporaDir(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Events reads the JSON-lines files under testdata/ that match the glob
// patterns (relative to testdata/, e.g. "corpora/*.jsonl") as audit events,
// numbers kept as json.Number; an event wrapped as {"event": {...}} (the
// Panther rule tests) is unwrapped.
func Events(t testing.TB, patterns ...string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, pat := range patterns {
		files, err := filepath.Glob(filepath.Join(Dir(t), pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(bytes.NewReader(raw))
			sc.Buffer(nil, 16<<20)
			for n := 1; sc.Scan(); n++ {
				if len(bytes.TrimSpace(sc.Bytes())) == 0 {
					continue
				}
				d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
				d.UseNumber()
				var ev map[string]any
				if err := d.Decode(&ev); err != nil {
					t.Fatalf("%s:%d: %v", f, n, err)
				}
				if inner, ok := ev["event"].(map[string]any); ok {
					ev = inner
				}
				evs = append(evs, ev)
			}
		}
	}
	return evs
}
