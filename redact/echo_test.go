package redact

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestEchoable(t *testing.T) {
	for s, want := range map[string]bool{
		"6b61756469742d63616e617279":     true,  // hex
		"Tnhdy!307IzNQx":                 true,  // a password with symbols
		"kX9mQ2vLpTzR8wNbYcJd":           true,  // random case, one digit
		"dik1876jfezf1ubm0nyr1k2qc3":     true,  // Rancher's lower-case token
		"orders-app":                     false, // short
		"payments-production":            false, // a name
		"https://kubernetes.default.svc": false,
		"registry.example.com/app:1.2.3": false, // a version, not a mixed run
		"ReconcileSucceededWithWarnings": false,
		"a1b2c3d4e5f6 with a space":      false,
		"2024-05-02T09:14:11.201331Z":    false, // digits without letters
	} {
		if got := echoable(s); got != want {
			t.Errorf("echoable(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestEchoKeepsSharedValues: the values a Secret shares with the rest of
// its event without being credentials (its namespace, the server it points
// to, a user name) stay where the event repeats them; the password goes
// there too.
func TestEchoKeepsSharedValues(t *testing.T) {
	r := defaultRedactor(t, Config{})
	const pw = "Qm7x2Lp9vR4tK8wZ"
	ev := decodeEvent(t, []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","verb":"create",
		"objectRef":{"resource":"secrets","namespace":"payments-prod","name":"cluster-prod","apiVersion":"v1"},
		"requestURI":"/api/v1/namespaces/payments-prod/secrets",
		"annotations":{"example.com/note":"cluster-prod for payments-prod at https://prod.example.com:6443 as deployer-bot, password `+pw+` set by hand"},
		"requestObject":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"cluster-prod","namespace":"payments-prod"},
			"stringData":{"name":"cluster-prod","server":"https://prod.example.com:6443","username":"deployer-bot","password":"`+pw+`"}}}`))
	if rep := r.Redact(ev); rep.Empty() {
		t.Fatal("nothing removed")
	}
	note := ev["annotations"].(map[string]any)["example.com/note"].(string)
	if strings.Contains(note, pw) {
		t.Errorf("the password's copy survived: %q", note)
	}
	for _, kept := range []string{"cluster-prod", "payments-prod", "https://prod.example.com:6443", "deployer-bot"} {
		if !strings.Contains(note, kept) {
			t.Errorf("%q removed from %q", kept, note)
		}
	}
	if ns := ev["objectRef"].(map[string]any)["namespace"]; ns != "payments-prod" {
		t.Errorf("objectRef.namespace = %v", ns)
	}
}

// TestEchoNotStrict: redact_mode strict removes every string it cannot
// vouch for, credential or not; the copies of those in the fields it keeps
// (a pod's name as its hostname) are who did what to which object.
func TestEchoNotStrict(t *testing.T) {
	r := defaultRedactor(t, Config{Mode: Strict})
	const name = "orders-api-7d9f8c6b5-x2x9q"
	ev := decodeEvent(t, []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","verb":"create",
		"objectRef":{"resource":"pods","namespace":"shop","name":"`+name+`","apiVersion":"v1"},
		"requestURI":"/api/v1/namespaces/shop/pods",
		"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"`+name+`","namespace":"shop"},
			"spec":{"hostname":"`+name+`","containers":[{"name":"app","image":"ghcr.io/acme/orders-api:v2.14.3"}]}}}`))
	if rep := r.Redact(ev); rep.Empty() {
		t.Fatal("nothing removed")
	}
	if got := ev["objectRef"].(map[string]any)["name"]; got != name {
		t.Errorf("objectRef.name = %v", got)
	}
	if got := ev["requestObject"].(map[string]any)["metadata"].(map[string]any)["name"]; got != name {
		t.Errorf("metadata.name = %v", got)
	}
}

// TestEchoDeterministic: an event with more removed credentials than are
// looked for again renders the same way every time, whatever order the
// sweep meets them in (a retried chunk must send the same lines).
func TestEchoDeterministic(t *testing.T) {
	r := defaultRedactor(t, Config{})
	var data, note []string
	for i := range 3 * maxEchoes {
		v := fmt.Sprintf("Qm7x2Lp9vR%03dtK8wZ", i)
		data = append(data, fmt.Sprintf(`"api_token_%d":"%s"`, i, v))
		note = append(note, v)
	}
	raw := []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","verb":"create",
		"objectRef":{"resource":"configmaps","namespace":"shop","name":"tokens","apiVersion":"v1"},
		"annotations":{"example.com/note":"` + strings.Join(note, " ") + `"},
		"requestObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"tokens","namespace":"shop"},
			"data":{` + strings.Join(data, ",") + `}}}`)
	var first string
	for i := range 20 {
		ev := decodeEvent(t, raw)
		r.Redact(ev)
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = string(b)
		} else if string(b) != first {
			t.Fatalf("run %d rendered differently:\n%.300s\n%.300s", i, b, first)
		}
	}
}
