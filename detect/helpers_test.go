package detect_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	jsoniter "github.com/json-iterator/go"

	"github.com/kaudit/kaudit/conf"
	"github.com/kaudit/kaudit/detect"
)

// jsonNum decodes like the plugin's decoder: numbers stay json.Number.
var jsonNum = jsoniter.Config{UseNumber: true}.Froze()

func decodeEvent(data []byte) (map[string]any, error) {
	var ev map[string]any
	if err := jsonNum.Unmarshal(data, &ev); err != nil {
		return nil, err
	}
	return ev, nil
}

func defaultSources(t testing.TB) []detect.Source {
	t.Helper()
	srcs, err := detect.FromFS(conf.Rules, "rules/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

func defaultEngine(t testing.TB) *detect.Engine {
	t.Helper()
	e, err := detect.New(defaultSources(t)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const fixtureDir = "../testdata/detect"

// fixture is one audit event under testdata/detect/<rule>/.
type fixture struct {
	rule, name string // name without .json
	ev         map[string]any
	raw        []byte
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures under %s (err %v)", fixtureDir, err)
	}
	sort.Strings(paths)
	var out []fixture
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := decodeEvent(raw)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, fixture{
			rule: filepath.Base(filepath.Dir(p)),
			name: strings.TrimSuffix(filepath.Base(p), ".json"),
			ev:   ev,
			raw:  raw,
		})
	}
	return out
}

// corpusLine is one line of a .jsonl corpus file.
type corpusLine struct {
	file string
	line int
	raw  []byte
}

func readCorpora(t testing.TB) []corpusLine {
	t.Helper()
	dir := detect.CorporaDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(paths) == 0 {
		t.Fatal("no .jsonl corpora in " + dir)
	}
	var out []corpusLine
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		n := 0
		for sc.Scan() {
			n++
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			out = append(out, corpusLine{file: filepath.Base(p), line: n, raw: append([]byte(nil), sc.Bytes()...)})
		}
	}
	return out
}

// checkResult asserts the invariants every Result must hold.
func checkResult(t testing.TB, res detect.Result) {
	t.Helper()
	var max detect.Severity
	ids := make([]string, 0, len(res.Matches))
	for i, m := range res.Matches {
		if i > 0 && res.Matches[i-1].ID >= m.ID {
			t.Fatalf("matches not sorted by id: %q before %q", res.Matches[i-1].ID, m.ID)
		}
		if m.Severity == detect.None {
			t.Fatalf("match %s without severity", m.ID)
		}
		if m.Severity > max {
			max = m.Severity
		}
		ids = append(ids, m.ID)
	}
	if res.Severity != max {
		t.Fatalf("severity %v, want highest match %v", res.Severity, max)
	}
	if got, want := res.IDs(), strings.Join(ids, ","); got != want {
		t.Fatalf("IDs() = %q, want %q", got, want)
	}
}
