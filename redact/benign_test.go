package redact

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/redact/leakcheck"
	"github.com/kaudit/kaudit/testdata"
)

// benignFiles are events without secrets: testdata/benign (controllers,
// kubelets, GitOps syncs, Helm, cert-manager, admins, written for this
// test) and the public corpora in testdata/corpora (real captures).
func benignEvents(t testing.TB) map[string][]map[string]any {
	t.Helper()
	files := []string{"benign/events.jsonl"}
	more, _ := filepath.Glob(filepath.Join(testdata.Dir(t), "corpora", "*.jsonl"))
	for _, f := range more {
		files = append(files, "corpora/"+filepath.Base(f))
	}
	out := map[string][]map[string]any{}
	for _, f := range files {
		out[f] = testdata.Events(t, f)
	}
	return out
}

// keptStrings counts the string values of orig and how many of them are in
// out unchanged at the same place; changed lists the places that differ.
func keptStrings(orig, out any, path string, total, kept *int, changed map[string]int) {
	switch o := orig.(type) {
	case string:
		*total++
		if s, ok := out.(string); ok && s == o {
			*kept++
		} else {
			changed[path]++
		}
	case map[string]any:
		om, _ := out.(map[string]any)
		for k, v := range o {
			keptStrings(v, om[k], path+"."+k, total, kept, changed)
		}
	case []any:
		oa, _ := out.([]any)
		for i, v := range o {
			var ov any
			if i < len(oa) {
				ov = oa[i]
			}
			keptStrings(v, ov, path+"[]", total, kept, changed)
		}
	}
}

// TestForensicsKept is the over-redaction proof: of the string values of
// realistic events without secrets, at least 97 % reach the output
// unchanged (with managedFields kept, which the default removes for a
// different reason), and the fields investigations filter on survive
// every one. It reports the share next to the canary corpus's leak count.
func TestForensicsKept(t *testing.T) {
	r := defaultRedactor(t, Config{KeepManagedFields: true})
	total, kept := 0, 0
	changed := map[string]int{}
	for name, evs := range benignEvents(t) {
		ft, fk := 0, 0
		for _, ev := range evs {
			orig := copyEvent(ev)
			r.Redact(ev)
			keptStrings(orig, ev, "$", &ft, &fk, changed)
			for _, p := range forensicPaths {
				if a, b := lookupPath(orig, p), lookupPath(ev, p); fmt.Sprint(a) != fmt.Sprint(b) {
					t.Errorf("%s %v: %s changed", name, orig["auditID"], p)
				}
			}
			for _, img := range images(orig) {
				if !strings.Contains(string(mustMarshal(t, ev)), img) {
					t.Errorf("%s %v: image %s lost", name, orig["auditID"], img)
				}
			}
		}
		t.Logf("%-40s %5d strings, %5d kept (%.1f %%)", name, ft, fk, 100*float64(fk)/float64(max(ft, 1)))
		total += ft
		kept += fk
	}
	share := 100 * float64(kept) / float64(total)
	leaks := canaryLeaks(t)
	t.Logf("benign: %d string values, %d unchanged (%.2f %%); canary corpus: %d leaks", total, kept, share, leaks)
	var paths []string
	for p, n := range changed {
		paths = append(paths, fmt.Sprintf("%4d %s", n, p))
	}
	sort.Strings(paths)
	t.Logf("changed places:\n%s", strings.Join(paths, "\n"))
	if share < 97 {
		t.Errorf("%.2f %% of benign string values kept, want at least 97 %%", share)
	}
	if leaks != 0 {
		t.Errorf("%d canary leaks", leaks)
	}
}

// forensicPaths must come out of a benign event exactly as they went in.
var forensicPaths = []string{
	"verb", "auditID", "user.username", "user.groups", "impersonatedUser.username", "sourceIPs", "userAgent",
	"objectRef.resource", "objectRef.namespace", "objectRef.name", "objectRef.apiGroup", "objectRef.subresource",
	"responseStatus.code", "requestObject.metadata.name", "requestObject.metadata.namespace", "requestObject.metadata.labels",
	"requestObject.metadata.uid", "requestObject.metadata.resourceVersion", "responseObject.metadata.name", "responseObject.metadata.labels",
	"requestObject.rules", "requestObject.subjects", "requestObject.roleRef", "requestObject.spec.template.spec.securityContext",
}

func lookupPath(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// images collects every container image an event names.
func images(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "image" {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// canaryLeaks counts canary corpus events from which any form of a canary
// survives the shipped defaults.
func canaryLeaks(t testing.TB) int {
	b, err := os.ReadFile(canaryCorpus)
	if err != nil {
		t.Fatal(err)
	}
	r := defaultRedactor(t, Config{})
	find := leakcheck.New(leakcheck.Markers...)
	leaks := 0
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		ev := decodeEvent(t, substituteCorpus(t, line, fmt.Sprintf("case-%d", i)))
		r.Redact(ev)
		if find.Find(string(mustMarshal(t, ev))) != "" {
			leaks++
		}
	}
	return leaks
}

// TestSettingsKept: what a credential name labels as a setting survives
// whole. Control-plane flags that switch token features (--anonymous-auth=
// false), env vars that size or describe a token (TOKEN_EXPIRY=3600,
// PASSWORD_HASHER=argon2id), the API server's own annotations about legacy
// tokens and annotations that name a Secret: each event of
// testdata/redact/settings-kept.jsonl must come out unchanged.
func TestSettingsKept(t *testing.T) {
	r := defaultRedactor(t, Config{KeepManagedFields: true})
	evs := testdata.Events(t, "redact/settings-kept.jsonl")
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	for _, ev := range evs {
		orig := copyEvent(ev)
		if rep := r.Redact(ev); !rep.Empty() {
			t.Errorf("%v: removed %s", orig["objectRef"], rep)
		}
		total, kept := 0, 0
		changed := map[string]int{}
		keptStrings(orig, ev, "$", &total, &kept, changed)
		if kept != total {
			t.Errorf("%v: changed %v", orig["objectRef"], changed)
		}
	}
}
