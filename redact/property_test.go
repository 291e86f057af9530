package redact

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/redact/leakcheck"
)

// secretForms render a secret value in the formats the scanner must find
// wherever it sits, whatever key holds it; each carries a canary marker.
var secretForms = []func(v map[string]string) string{
	func(v map[string]string) string { return v["{{JWT}}"] },
	func(v map[string]string) string { return "Authorization: Bearer " + v["{{JWT}}"] },
	func(v map[string]string) string { return v["{{JWE}}"] },
	func(v map[string]string) string { return v["{{GHP}}"] },
	func(v map[string]string) string { return v["{{GHPAT}}"] },
	func(v map[string]string) string { return v["{{GLPAT}}"] },
	func(v map[string]string) string { return v["{{AKIA}}"] },
	func(v map[string]string) string { return v["{{SLACK}}"] },
	func(v map[string]string) string { return v["{{SLACK_HOOK}}"] },
	func(v map[string]string) string { return v["{{STRIPE}}"] },
	func(v map[string]string) string { return v["{{GOOGLE}}"] },
	func(v map[string]string) string { return v["{{OPENAI}}"] },
	func(v map[string]string) string { return v["{{PEM}}"] },
	func(v map[string]string) string { return "postgres://app:" + v["{{CANARY}}"] + "@db:5432/app" },
	func(v map[string]string) string { return "db_password=" + v["{{CANARY}}"] },
	func(v map[string]string) string { return "client_secret: " + v["{{CANARY}}"] },
	func(v map[string]string) string { return "--api-token " + v["{{CANARY}}"] },
	func(v map[string]string) string { return v["{{B64_PROPS}}"] },
	func(v map[string]string) string { return v["{{GZ_B64_PROPS}}"] },
	func(v map[string]string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(`{"auths":{"ghcr.io":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("ci:"+v["{{CANARY}}"])) + `"}}}`))
		zw.Close()
		return base64.StdEncoding.EncodeToString(b.Bytes())
	},
}

// TestPlantedSecretProperty is the property: a secret in any of the formats
// above, planted at a random string position of a random real event (as
// the whole value, or inside the text already there), never reaches the
// output in any encoding.
func TestPlantedSecretProperty(t *testing.T) {
	var events []map[string]any
	for _, evs := range benignEvents(t) {
		events = append(events, evs...)
	}
	r := defaultRedactor(t, Config{})
	find := leakcheck.New(leakcheck.Markers...)
	seed := rand.Uint64()
	if s := os.Getenv("KAUDIT_PROPERTY_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, 42))
	n := 1000
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n; i++ {
		ev := copyEvent(events[rng.IntN(len(events))])
		var slots []slot
		collectSlots(ev, &slots)
		if len(slots) == 0 {
			continue
		}
		vals := leakcheck.Values(fmt.Sprintf("p%d", i))
		form := rng.IntN(len(secretForms))
		secret := secretForms[form](vals)
		slot := rng.IntN(len(slots))
		embed := rng.IntN(2) == 1
		slots[slot](placeIn(secret, embed))
		r.Redact(ev)
		if f := find.Find(string(mustMarshal(t, ev))); f != "" {
			t.Fatalf("seed %d, iteration %d: form %d (embedded %v) planted at slot %d survived (%s) at %s",
				seed, i, form, embed, slot, f, leakPath(ev, f, "$"))
		}
	}
}

// placeIn returns the secret as the whole value or inside surrounding text.
func placeIn(secret string, embed bool) func(string) string {
	return func(old string) string {
		if !embed {
			return secret
		}
		if i := strings.IndexByte(old, ' '); i >= 0 {
			return old[:i] + " " + secret + " " + old[i:]
		}
		return old + " " + secret + " "
	}
}

// slot replaces one string value by what place makes of it.
type slot func(place func(old string) string)

// collectSlots lists every string value of v.
func collectSlots(v any, slots *[]slot) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				*slots = append(*slots, func(place func(string) string) { x[k] = place(s) })
				continue
			}
			collectSlots(e, slots)
		}
	case []any:
		for i, e := range x {
			if s, ok := e.(string); ok {
				*slots = append(*slots, func(place func(string) string) { x[i] = place(s) })
				continue
			}
			collectSlots(e, slots)
		}
	}
}

// opensObject is the TrimLeft and HasPrefix it stands for.
func TestOpensObject(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{' ', '\t', '\r', '\n', '{', '[', 'a', '"', 0xc2, 0xa0, '\v', '\f'}
	for range 20000 {
		b := make([]byte, rng.IntN(6))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		s := string(b)
		if got, want := opensObject(s), strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "{"); got != want {
			t.Fatalf("opensObject(%q) = %t, want %t", s, got, want)
		}
	}
}
