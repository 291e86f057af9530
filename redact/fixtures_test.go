package redact

import (
	"bytes"
	"encoding/json"
	"github.com/kaudit/kaudit/testdata"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var update = testdata.Update // -update rewrites testdata/redact/*.want.json

// fixtureCases maps each testdata/redact/<name>.in.json to the report it
// must produce; "" means the event must come out deep-equal to what went in.
var fixtureCases = []struct {
	name   string
	report string
}{
	// Secrets by objectRef, every verb and both audit API versions.
	{"secret-create-v1", "last_applied=2,secret_data=6"},
	{"secret-get-v1beta1", "secret_data=2"},
	{"secret-update-v1", "secret_data=2"},
	{"secret-patch-merge", "last_applied=2,secret_data=2"},
	{"secret-patch-json", "patch_value=1,secret_data=3"},
	{"secret-delete-returns-object", "secret_data=1"},
	{"secret-delete-status", ""},
	{"secret-get-not-found", ""},
	{"secret-metadata-level", ""},
	{"secret-null-bodies", ""},
	{"secret-get-by-uri", "secret_data=1"},
	// Lists and other containers.
	{"secret-list-v1", "last_applied=1,secret_data=6"},
	{"secret-list-generic-kind", "failed_closed=1,secret_data=1"},
	{"secret-table", "failed_closed=1,secret_data=2"},
	{"secret-partial-metadata-list", "last_applied=1"},
	{"list-mixed-items", "secret_data=1"},
	// Secrets by body kind alone.
	{"secret-kind-under-configmaps", "secret_data=2"},
	{"secret-apply-other-group", "secret_data=1"},
	// Tokens.
	{"token-request", "token=1"},
	{"token-request-by-uri", "token=1"},
	{"token-request-kind-only", "token=1"},
	{"token-review", "token=2"},
	{"token-review-v1beta1", "token=1"},
	// last-applied-configuration.
	{"last-applied-unparseable", "failed_closed=2,secret_data=2"},
	{"last-applied-duplicate-key", "last_applied=1,secret_data=1"},
	{"last-applied-foreign-secret", "last_applied=1"},
	// Fail closed.
	{"failclosed-aks-too-big", "failed_closed=2"},
	{"failclosed-string-body", "failed_closed=1"},
	{"failclosed-numeric-data", "failed_closed=4"},
	{"failclosed-unknown-kind", "failed_closed=1"},
	{"failclosed-array-not-patch", "failed_closed=1"},
	{"failclosed-token-string", "failed_closed=2"},
	{"failclosed-token-status-shape", "failed_closed=1"},
	// Not secret-bearing: untouched.
	{"pod-get", ""},
	{"pod-patch-json", ""},
	{"pod-string-body", ""},
	{"configmap-update-last-applied", ""},
	{"serviceaccount-get", ""},
}

func TestFixtures(t *testing.T) {
	r := NewDefault()
	for _, tc := range fixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			ev, canary := loadFixture(t, tc.name)
			orig := copyEvent(ev)

			rep := r.Redact(ev)

			if got := rep.String(); got != tc.report {
				t.Errorf("report = %q, want %q", got, tc.report)
			}
			if rep.Empty() != (tc.report == "") {
				t.Errorf("Empty() = %v for report %q", rep.Empty(), tc.report)
			}
			assertNoLeak(t, ev, canary)

			want := filepath.Join(fixtureDir, tc.name+".want.json")
			if tc.report == "" {
				if !reflect.DeepEqual(ev, orig) {
					t.Errorf("event changed although nothing was reported")
				}
				if _, err := os.Stat(want); err == nil {
					t.Errorf("%s exists for an unchanged case; remove it", want)
				}
			} else {
				compareGolden(t, want, ev)
			}

			// Redacting again must find nothing: markers are not re-counted
			// and rewritten annotations are already canonical.
			again := copyEvent(ev)
			if rep2 := r.Redact(again); !rep2.Empty() {
				t.Errorf("second Redact reported %q", rep2)
			}
			if !reflect.DeepEqual(again, ev) {
				t.Errorf("second Redact changed the event")
			}
		})
	}
}

func compareGolden(t *testing.T, path string, ev map[string]any) {
	t.Helper()
	got, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./redact -run TestFixtures -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update and review the diff)", path)
	}
}

// TestFixturesListed keeps a new fixture file from going untested.
func TestFixturesListed(t *testing.T) {
	listed := map[string]bool{}
	for _, tc := range fixtureCases {
		if listed[tc.name] {
			t.Errorf("fixture %s listed twice", tc.name)
		}
		listed[tc.name] = true
	}
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var unlisted []string
	for _, f := range files {
		base := filepath.Base(f)
		name := strings.TrimSuffix(strings.TrimSuffix(base, ".in.json"), ".want.json")
		if !listed[name] {
			unlisted = append(unlisted, base)
		}
	}
	sort.Strings(unlisted)
	if len(unlisted) > 0 {
		t.Errorf("files not in fixtureCases: %v", unlisted)
	}
}

// TestCustomMarker checks the marker is configurable and that keys survive.
func TestCustomMarker(t *testing.T) {
	r := mustNew(t, Config{Marker: "<gone>"})
	ev, canary := loadFixture(t, "secret-create-v1")
	r.Redact(ev)
	assertNoLeak(t, ev, canary)
	data := ev["requestObject"].(map[string]any)["data"].(map[string]any)
	want := map[string]any{"password": "<gone>", "username": "<gone>"}
	if !reflect.DeepEqual(data, want) {
		t.Errorf("requestObject.data = %v, want %v", data, want)
	}
}
