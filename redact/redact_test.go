package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kaudit/kaudit/redact/leakcheck"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		marker  string
		wantErr []string // substrings; nil means valid
	}{
		{"empty means default", "", nil},
		{"default", DefaultMarker, nil},
		{"custom", "***", nil},
		{"unicode", "⟨redacted⟩", nil},
		{"too long", strings.Repeat("x", maxMarkerLen+1), []string{"marker:", "65 bytes"}},
		{"control character", "red\nacted", []string{"marker:", "control character"}},
		{"invalid utf-8", "\xff", []string{"marker:", "UTF-8"}},
		{"every problem reported", strings.Repeat("\x01", 70) + "\xff", []string{"UTF-8", "bytes long", "control character"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(Config{Marker: tc.marker})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				want := tc.marker
				if want == "" {
					want = DefaultMarker
				}
				if r.Marker() != want {
					t.Errorf("Marker() = %q, want %q", r.Marker(), want)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want error")
			}
			if r != nil {
				t.Error("New returned a Redactor with an error")
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestKinds(t *testing.T) {
	ks := Kinds()
	if len(ks) != int(kindCount) {
		t.Fatalf("Kinds() has %d kinds, want %d", len(ks), kindCount)
	}
	seen := map[string]bool{}
	var names []string
	for _, k := range ks {
		n := k.String()
		if n == "" || n == "unknown" || seen[n] {
			t.Errorf("kind %d has bad or duplicate name %q", k, n)
		}
		seen[n] = true
		names = append(names, n)
	}
	// Report.String relies on declaration order being sorted order.
	if !sort.StringsAreSorted(names) {
		t.Errorf("kinds not declared in sorted order: %v", names)
	}
	if got := kindCount.String(); got != "unknown" {
		t.Errorf("out-of-range kind String() = %q", got)
	}
}

func TestReport(t *testing.T) {
	var r Report
	if !r.Empty() || r.String() != "" || r.Total() != 0 {
		t.Fatalf("zero Report: Empty=%v String=%q Total=%d", r.Empty(), r.String(), r.Total())
	}
	for i := 0; i < 3; i++ {
		r.add(KindSecretData)
	}
	r.add(KindFailedClosed)
	r.add(KindToken)
	if got, want := r.String(), "failed_closed=1,secret_data=3,token=1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if r.Empty() || r.Total() != 5 || r.Count(KindSecretData) != 3 || r.Count(KindLastApplied) != 0 || r.Count(kindCount) != 0 {
		t.Errorf("Empty=%v Total=%d Count(secret_data)=%d", r.Empty(), r.Total(), r.Count(KindSecretData))
	}
	var sum Report
	sum.Add(r)
	sum.Add(r)
	if got, want := sum.String(), "failed_closed=2,secret_data=6,token=2"; got != want {
		t.Errorf("Add: %q, want %q", got, want)
	}
	// The largest possible report must fit the String buffer without
	// changing format.
	var big Report
	for k := range big.n {
		big.n[k] = int(^uint(0) >> 1)
	}
	if s := big.String(); strings.Count(s, ",") != int(kindCount)-1 {
		t.Errorf("big report %q", s)
	}
}

func TestRefFromURI(t *testing.T) {
	tests := []struct {
		uri  string
		want ref
	}{
		{"/api/v1/namespaces/default/secrets/db?x=1", ref{resource: "secrets"}},
		{"/api/v1/namespaces/default/secrets", ref{resource: "secrets"}},
		{"/api/v1/secrets?watch=true", ref{resource: "secrets"}},
		{"/api/v1/namespaces/default/serviceaccounts/default/token", ref{resource: "serviceaccounts", subresource: "token"}},
		{"/apis/authentication.k8s.io/v1/tokenreviews", ref{group: "authentication.k8s.io", resource: "tokenreviews"}},
		{"/apis/apps/v1/namespaces/ns/deployments/web/scale", ref{group: "apps", resource: "deployments", subresource: "scale"}},
		{"/api/v1/namespaces/kube-system", ref{resource: "namespaces"}},
		{"/healthz", ref{}},
		{"/api/v1", ref{}},
		{"/apis/apps/v1", ref{}},
		{"", ref{}},
		{"/api/v1/namespaces/a/b/c/d/e/f/g/h/i", ref{resource: "b", subresource: "d"}},
	}
	for _, tc := range tests {
		if got := refFromURI(tc.uri); got != tc.want {
			t.Errorf("refFromURI(%q) = %+v, want %+v", tc.uri, got, tc.want)
		}
	}
}

func TestSecretKindTable(t *testing.T) {
	kinds := map[string]string{}
	for i := range secretKinds {
		d := &secretKinds[i]
		if d.name == "" || d.resource == "" || len(d.fields) == 0 || len(d.kinds) == 0 {
			t.Errorf("secret-bearing kind %d incomplete: %+v", i, d)
		}
		for _, k := range append(append([]string{}, d.kinds...), d.listKinds...) {
			if other, dup := kinds[k]; dup {
				t.Errorf("kind %s claimed by secret-bearing kinds %s and %s", k, other, d.name)
			}
			if contains(inertKinds, k) || contains(containerKinds, k) {
				t.Errorf("secret-bearing kind %s claims generic kind %s", d.name, k)
			}
			kinds[k] = d.name
		}
		for _, f := range d.fields {
			if len(f.path) == 0 || f.kind >= kindCount || f.kind == KindFailedClosed {
				t.Errorf("secret-bearing kind %s has bad field %+v", d.name, f)
			}
		}
		if !d.matchRef(ref{resource: d.resource, subresource: d.subresource}) {
			t.Errorf("secret-bearing kind %s does not match its own core objectRef", d.name)
		}
		if secretKindForRef(ref{resource: d.resource, subresource: d.subresource}) != d {
			t.Errorf("secret-bearing kind %s shadowed by an earlier secret-bearing kind", d.name)
		}
	}
	// The seed's Lua script matched resource "secrets" in any group; so does
	// the kind (same or better).
	if secretKindForRef(ref{resource: "secrets", group: "example.com"}) == nil {
		t.Error("secrets in a non-core group did not match the Secret kind by objectRef")
	}
	if secretKindForRef(ref{resource: "serviceaccounts"}) != nil {
		t.Error("serviceaccounts without the token subresource matched a secret-bearing kind")
	}
}

// TestWrongTypes feeds values of every wrong type into every place the
// redactor reads; none may panic and secret-bearing ones must fail closed.
func TestWrongTypes(t *testing.T) {
	odd := []any{nil, "s", "", int64(-1), uint64(1), 1.5, true, []any{}, []any{"x", nil}, map[string]any{}, map[string]string{"a": "b"}, []byte("x")}
	r := NewDefault()
	places := []func(v any) map[string]any{
		func(v any) map[string]any {
			return map[string]any{"objectRef": v, "requestObject": map[string]any{"kind": "Secret"}}
		},
		func(v any) map[string]any {
			return map[string]any{"objectRef": map[string]any{"resource": v}, "requestURI": v, "responseObject": v}
		},
		func(v any) map[string]any { return map[string]any{"objectRef": secretsRef(), "requestObject": v} },
		func(v any) map[string]any {
			return map[string]any{"objectRef": secretsRef(), "requestObject": map[string]any{"kind": v, "data": v}}
		},
		func(v any) map[string]any {
			return map[string]any{"objectRef": secretsRef(), "responseObject": map[string]any{"kind": "SecretList", "items": v, "rows": v}}
		},
		func(v any) map[string]any {
			return map[string]any{"objectRef": secretsRef(), "responseObject": map[string]any{"items": []any{v}, "rows": []any{v, map[string]any{"object": v}}}}
		},
		func(v any) map[string]any {
			return map[string]any{"responseObject": map[string]any{"kind": "Secret", "metadata": v}}
		},
		func(v any) map[string]any {
			return map[string]any{"responseObject": map[string]any{"kind": "Secret", "metadata": map[string]any{"annotations": v}}}
		},
		func(v any) map[string]any {
			return map[string]any{"responseObject": map[string]any{"kind": "Pod", "metadata": map[string]any{"annotations": map[string]any{lastAppliedKey: v}}}}
		},
		func(v any) map[string]any {
			return map[string]any{"objectRef": map[string]any{"resource": "serviceaccounts", "subresource": "token"}, "responseObject": map[string]any{"status": v, "spec": v}}
		},
		func(v any) map[string]any {
			return map[string]any{"objectRef": secretsRef(), "requestObject": []any{map[string]any{"op": "add", "path": v, "from": v, "value": v}}}
		},
		func(v any) map[string]any {
			return map[string]any{"responseObject": map[string]any{"kind": "List", "items": []any{v}}}
		},
	}
	for i, place := range places {
		for _, v := range odd {
			t.Run(fmt.Sprintf("place%d/%T", i, v), func(t *testing.T) {
				ev := place(v)
				r.Redact(ev)
				rep := r.Redact(ev)
				if !rep.Empty() {
					t.Errorf("second Redact reported %q", rep)
				}
			})
		}
	}
	if rep := r.Redact(nil); !rep.Empty() {
		t.Errorf("Redact(nil) = %q", rep)
	}
}

func secretsRef() map[string]any { return map[string]any{"resource": "secrets", "apiVersion": "v1"} }

// TestFailClosedShapes pins the replacement itself, not only the report.
func TestFailClosedShapes(t *testing.T) {
	tests := []struct {
		name string
		body any
		want any
	}{
		{"string", "skipped-too-big-size-object", DefaultMarker},
		{"number", int64(7), DefaultMarker},
		{"bool", true, DefaultMarker},
		{"byte slice outside the value model", []byte("x"), DefaultMarker},
		{"typed map outside the value model", map[string]string{"data": "x"}, DefaultMarker},
		{"array of strings", []any{"a"}, DefaultMarker},
		{"patch op without op", []any{map[string]any{"path": "/data/x", "value": "v"}}, DefaultMarker},
		{"unknown kind", map[string]any{"kind": "Mystery", "data": map[string]any{}}, DefaultMarker},
		{"non-string kind", map[string]any{"kind": int64(1)}, DefaultMarker},
		{"empty patch kept", []any{}, []any{}},
		{"null kept", nil, nil},
		{"marker kept", DefaultMarker, DefaultMarker},
	}
	r := NewDefault()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := map[string]any{"objectRef": secretsRef(), "requestObject": tc.body}
			r.Redact(ev)
			if got := ev["requestObject"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("requestObject = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestKeysKeptNullsKept(t *testing.T) {
	ev := map[string]any{
		"objectRef": secretsRef(),
		"requestObject": map[string]any{
			"data":       map[string]any{"a": "YQ==", "gone": nil, "empty": "", "nested": map[string]any{"x": "y"}},
			"stringData": map[string]any{"b": "plain"},
		},
	}
	rep := NewDefault().Redact(ev)
	want := map[string]any{
		"data":       map[string]any{"a": DefaultMarker, "gone": nil, "empty": "", "nested": DefaultMarker},
		"stringData": map[string]any{"b": DefaultMarker},
	}
	if got := ev["requestObject"]; !reflect.DeepEqual(got, want) {
		t.Errorf("requestObject = %v, want %v", got, want)
	}
	if rep.String() != "secret_data=3" {
		t.Errorf("report %q", rep)
	}
}

func TestLastAppliedDepthBounded(t *testing.T) {
	// Each level is a Secret whose annotation is the next level.
	la := `{"kind":"Secret","data":{"k":"CANARY-deep"}}`
	for i := 0; i < maxDepth+2; i++ {
		inner := map[string]any{"kind": "Secret", "metadata": map[string]any{"annotations": map[string]any{lastAppliedKey: la}}}
		b := mustMarshal(t, inner)
		la = string(b)
	}
	ev := map[string]any{"objectRef": secretsRef(), "requestObject": map[string]any{
		"kind": "Secret", "metadata": map[string]any{"annotations": map[string]any{lastAppliedKey: la}}}}
	NewDefault().Redact(ev)
	assertNoLeak(t, ev, "CANARY-deep")
}

// TestConcurrent shares one Redactor across goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	r := NewDefault()
	names := []string{"secret-create-v1", "secret-list-v1", "token-request", "pod-get", "last-applied-foreign-secret"}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				name := names[(g+i)%len(names)]
				ev, canary := loadFixture(t, name)
				r.Redact(ev)
				assertNoLeak(t, ev, canary)
			}
		}()
	}
	wg.Wait()
}

// TestNonSecretAllocFree makes the benchmark's claim a test: events no secret-bearing kind
// claims cost no allocation.
func TestNonSecretAllocFree(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := NewDefault()
	for _, name := range []string{"pod-get", "serviceaccount-get", "pod-patch-json", "pod-string-body", "secret-metadata-level", "secret-get-not-found", "secret-delete-status"} {
		ev, _ := loadFixture(t, name)
		if n := testing.AllocsPerRun(100, func() { r.Redact(ev) }); n != 0 {
			t.Errorf("%s: %v allocs per Redact, want 0", name, n)
		}
	}
	// With the shipped rules: routine events of the resources they claim
	// (pods) and of others (service accounts) still cost nothing.
	full := defaultRedactor(t, Config{})
	for _, name := range []string{"pod-get", "serviceaccount-get", "pod-string-body", "secret-get-not-found"} {
		ev, _ := loadFixture(t, name)
		if n := testing.AllocsPerRun(100, func() { full.Redact(ev) }); n != 0 {
			t.Errorf("%s with default rules: %v allocs per Redact, want 0", name, n)
		}
	}
	// Redacting a Secret without last-applied writes only pre-boxed markers.
	ev, _ := loadFixture(t, "secret-get-v1beta1")
	if n := testing.AllocsPerRun(100, func() { r.Redact(ev) }); n != 0 {
		t.Errorf("secret get: %v allocs per Redact, want 0", n)
	}
}

// TestForeignEdges covers bodies no secret-bearing kind claims by objectRef.
func TestForeignEdges(t *testing.T) {
	pod := func(la any) map[string]any {
		return map[string]any{"responseObject": map[string]any{"kind": "Pod",
			"metadata": map[string]any{"annotations": map[string]any{lastAppliedKey: la}}}}
	}
	nestedList := map[string]any{"kind": "Secret", "data": map[string]any{"k": "CANARY-nested"}}
	for i := 0; i <= maxDepth; i++ {
		nestedList = map[string]any{"kind": "List", "items": []any{nestedList}}
	}
	tests := []struct {
		name   string
		ev     map[string]any
		report string
	}{
		{"annotation naming Secret but unparseable", pod(`{"kind":"Secret","data":{"k":"CANARY-x"`), "failed_closed=1"},
		{"annotation naming Secret of another kind", pod(`{"kind":"ConfigMap","data":{"SecretName":"x"}}`), ""},
		// An object annotation that does not parse is removed whatever it
		// names: its text cannot be shown to be harmless.
		{"annotation not naming a secret-bearing kind", pod(`{not json`), "failed_closed=1"},
		{"annotation of wrong type", pod(int64(1)), ""},
		{"generic List with items of wrong type", map[string]any{"requestObject": map[string]any{"kind": "List", "items": "x"}}, ""},
		{"generic List nested past the depth bound", map[string]any{"requestObject": nestedList}, "failed_closed=1"},
	}
	r := NewDefault()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Redact(tc.ev).String(); got != tc.report {
				t.Errorf("report %q, want %q", got, tc.report)
			}
			assertNoLeak(t, tc.ev, "CANARY-")
		})
	}
}

// TestNumbersNamedAsCredentials: a number is a credential where a string
// would be (a PIN, a numeric password), in every type a decoded event
// holds numbers in; numbers under other names or under names of
// quantities (max_tokens), and booleans, stay.
func TestNumbersNamedAsCredentials(t *testing.T) {
	for _, n := range []any{json.Number("482913771"), int64(482913771), uint64(482913771), float64(482913771), 7391.5} {
		t.Run(fmt.Sprintf("%T", n), func(t *testing.T) {
			ev := map[string]any{
				"objectRef": map[string]any{"resource": "databaseclaims", "apiGroup": "db.example.com"},
				"requestObject": map[string]any{"kind": "DatabaseClaim", "spec": map[string]any{
					"password":         n,
					"tokens":           []any{n, "kept-as-word"},
					"parameters":       []any{map[string]any{"name": "DB_PASSWORD", "value": n}},
					"replicas":         n,
					"passwordLength":   n,
					"passwordRequired": true,
					"max_tokens":       n,
					"tokensPerFill":    n,
				}},
			}
			rep := NewDefault().Redact(ev)
			spec := ev["requestObject"].(map[string]any)["spec"].(map[string]any)
			want := map[string]any{
				"password":         DefaultMarker,
				"tokens":           []any{DefaultMarker, DefaultMarker},
				"parameters":       []any{map[string]any{"name": "DB_PASSWORD", "value": DefaultMarker}},
				"replicas":         n,
				"passwordLength":   n,
				"passwordRequired": true,
				"max_tokens":       n,
				"tokensPerFill":    n,
			}
			if !reflect.DeepEqual(spec, want) {
				t.Errorf("spec = %v, want %v", spec, want)
			}
			if rep.String() != "credential_name=4" {
				t.Errorf("report %q", rep)
			}
		})
	}
}

// A query decodes '+' to a space, which splits a base64 run a client
// pasted into a URL unescaped: the value is judged with its '+' kept as
// well. Ordinary values with '+' (a label selector) stay.
func TestQueryPlusKeepsBase64Whole(t *testing.T) {
	r := defaultRedactor(t, Config{})
	find := leakcheck.New(leakcheck.Markers...)
	planted := 0
	for i := 0; planted < 400 && i < 20000; i++ {
		secret := secretForms[i%len(secretForms)](leakcheck.Values(fmt.Sprintf("q%d", i)))
		if !strings.Contains(secret, "+") {
			continue
		}
		planted++
		for _, uri := range []string{
			"/api/v1/secrets?watch=true " + secret + " ",
			"/api/v1/namespaces/a/configmaps?x=" + secret,
			"/api/v1/namespaces/a/configmaps?" + secret,
		} {
			ev := map[string]any{"kind": "Event", "requestURI": uri}
			r.Redact(ev)
			if f := find.Find(string(mustMarshal(t, ev))); f != "" {
				t.Fatalf("%s survived in %q", f, ev["requestURI"])
			}
		}
	}
	if planted < 400 {
		t.Fatalf("only %d secrets with a '+'", planted)
	}
	for _, uri := range []string{
		"/api/v1/pods?labelSelector=app+in+(web,api)&limit=500",
		"/api/v1/namespaces/a/pods/b/exec?command=sh&command=-c&command=echo+hello+world",
	} {
		ev := map[string]any{"kind": "Event", "requestURI": uri}
		r.Redact(ev)
		if ev["requestURI"] != uri {
			t.Errorf("%q became %q", uri, ev["requestURI"])
		}
	}
}

// An Authorization header that names the Basic, Bearer or Token scheme is
// followed by a credential whatever its length: a short user and password
// in base64 (dXNlcjpwYXNz is user:pass) goes from the envelope and from
// bodies alike. A scheme's name in prose, not after the header, stays.
func TestAuthorizationHeaderShortCredential(t *testing.T) {
	r := defaultRedactor(t, Config{})
	for _, h := range []string{
		"Authorization: Basic dXNlcjpwYXNz",
		"authorization: bearer s3cr3tX9",
		"Proxy-Authorization: Token abc123xyz",
	} {
		cred := h[strings.LastIndexByte(h, ' ')+1:]
		ev := map[string]any{
			"kind":           "Event",
			"userAgent":      "Go-http-client/1.1 " + h,
			"requestURI":     "/api/v1/namespaces/a/pods/b/exec?command=curl&command=-H&command=" + url.QueryEscape(h) + "&command=http%3A%2F%2Fapi%2F",
			"responseStatus": map[string]any{"code": 401, "message": "upstream rejected '" + h + "'"},
			"requestObject":  map[string]any{"kind": "Event", "message": "probe sent " + h + " and got 401"},
		}
		if rep := r.Redact(ev); rep.Empty() {
			t.Errorf("%q: nothing reported", h)
		}
		if b := mustMarshal(t, ev); bytes.Contains(b, []byte(cred)) {
			t.Errorf("%q survived: %s", cred, b)
		}
	}
	for _, msg := range []string{
		"Authorization: RBAC: denied",
		"basic auth failed for user alice",
	} {
		ev := map[string]any{"kind": "Event", "responseStatus": map[string]any{"code": 403, "message": msg}}
		r.Redact(ev)
		if got := ev["responseStatus"].(map[string]any)["message"]; got != msg {
			t.Errorf("%q became %q", msg, got)
		}
	}
}

// Patterns write the marker bare into a text that also parses as YAML, and
// YAML reads "[REDACTED]" as a list of one word: passing the output again
// must find nothing new, or a value would be counted (and rewritten) each
// time an event is redacted.
func TestMarkerInYAMLTextIsDone(t *testing.T) {
	r := defaultRedactor(t, Config{})
	for _, text := range []string{
		`{"pAss":Y }`,
		`{"a":1,"password":Y, "user": app}`,
		"user: app\npassword: [REDACTED]\n",
		`{user: app, token: [REDACTED]}`,
	} {
		ev := map[string]any{"objectRef": map[string]any{"resource": "configmaps"},
			"requestObject": map[string]any{"data": map[string]any{"app.conf": text}}}
		r.Redact(ev)
		once := fmt.Sprint(ev)
		if rep := r.Redact(ev); !rep.Empty() || fmt.Sprint(ev) != once {
			t.Errorf("%q: second pass reported %q\n once: %s\ntwice: %s", text, rep, once, fmt.Sprint(ev))
		}
	}
}

// An event kept beside the one it was parsed into is judged as an event
// (its Secret's data goes whole) whether it was written as JSON or in
// YAML's flow style, which the sweep reads as the same object and writes
// back as JSON.
func TestEventStringInFlowStyle(t *testing.T) {
	r := defaultRedactor(t, Config{})
	for _, inner := range []string{
		`{"auditID":"a1","verb":"patch","objectRef":{"resource":"secrets"},"requestObject":{"data":{"app":"aHVudGVyMg=="}}}`,
		`{auditID: a1, verb: patch, objectRef: {resource: secrets}, requestObject: {data: {app: aHVudGVyMg==}}}`,
	} {
		ev := map[string]any{"auditID": "a0", "verb": "get", "log": inner}
		r.Redact(ev)
		if out := fmt.Sprint(ev); strings.Contains(out, "aHVudGVyMg") {
			t.Errorf("%s\nleft the Secret's data: %s", inner, out)
		}
		once := fmt.Sprint(ev)
		if rep := r.Redact(ev); !rep.Empty() || fmt.Sprint(ev) != once {
			t.Errorf("%s\nsecond pass reported %q: %s", inner, rep, fmt.Sprint(ev))
		}
	}
}
