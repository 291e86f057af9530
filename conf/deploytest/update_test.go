package deploytest

import (
	"fmt"
	"github.com/kaudit/kaudit/testdata"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = testdata.Update // -update copies conf/fluent-bit's files into the ConfigMap and the Helm values

// syncEmbedded rewrites, under -update, every block scalar `NAME: |` of
// file whose NAME is a file of conf/fluent-bit with that file's content.
func syncEmbedded(t *testing.T, file string) {
	t.Helper()
	if !*update {
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out, err := embedFiles(string(b), fbDir)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

var blockStart = regexp.MustCompile(`^(\s*)([A-Za-z0-9._-]+): \|$`)

func embedFiles(text, dir string) (string, error) {
	lines := strings.Split(text, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		out = append(out, lines[i])
		m := blockStart.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		content, err := os.ReadFile(filepath.Join(dir, m[2]))
		if err != nil {
			continue // a block that is not a conf/fluent-bit file
		}
		indent := m[1] + "  "
		j := i + 1
		for j < len(lines) && (strings.TrimSpace(lines[j]) == "" || strings.HasPrefix(lines[j], indent)) {
			j++
		}
		for j > i+1 && strings.TrimSpace(lines[j-1]) == "" {
			j--
		}
		if !strings.HasSuffix(string(content), "\n") || strings.HasSuffix(string(content), "\n\n") {
			return "", fmt.Errorf("%s must end in exactly one newline to embed as a block scalar", m[2])
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(content), "\n"), "\n") {
			if l == "" {
				out = append(out, "")
			} else {
				out = append(out, indent+l)
			}
		}
		i = j - 1
	}
	return strings.Join(out, "\n"), nil
}

// -update reproduces the shipped files exactly: the embedding is the one
// the checks expect.
func TestEmbedFilesIsIdempotent(t *testing.T) {
	for _, f := range []string{filepath.Join(k8sDir, "configmap.yaml"), filepath.Join(k8sDir, "helm", "values.yaml")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := embedFiles(string(b), fbDir)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(b) {
			t.Errorf("%s: not what -update writes; run go test ./conf/deploytest -update", f)
		}
	}
}
