package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestPairKeysSwitch holds the screen's switch of name spellings to the
// sweep's table (a spelling added to one only would let the screen pass a
// pair the sweep removes), and the one switch of value spellings, which
// both read, to the spellings it is documented to take.
func TestPairKeysSwitch(t *testing.T) {
	names := map[string]bool{}
	for _, nk := range pairNameKeys {
		names[nk.key] = true
		if slot, ok := pairSlot(nk.key); !ok || slot != nk.slot {
			t.Errorf("pairSlot(%q) = %d, %v; want %d", nk.key, slot, ok, nk.slot)
		}
	}
	values := map[string]bool{}
	for _, vk := range [...]string{"value", "Value", "default", "defaultValue", "ParameterValue", "headerValue", "val", "v", "data", "text", "content", "setting", "arg"} {
		values[vk] = true
		if !pairValue(vk) {
			t.Errorf("pairValue(%q) = false", vk)
		}
	}
	for _, k := range []string{"name", "Name", "headerName", "variable", "param", "key", "Key", "ParameterKey", "k", "type", "Type", "value", "Value", "default", "defaultValue", "ParameterValue", "headerValue", "val", "v", "parameter", "header", "field", "data", "names", "values", "id", "label", "option", "property", "attr", "attribute", "text", "content", "setting", "arg", "ids", "title", "body"} {
		if _, ok := pairSlot(k); ok != names[k] {
			t.Errorf("pairSlot(%q) is %v, the table says %v", k, ok, names[k])
		}
		if pairValue(k) != values[k] {
			t.Errorf("pairValue(%q) is %v, the table says %v", k, pairValue(k), values[k])
		}
	}
}

// TestBoolWord: the switches a credential name may label, in any case,
// and nothing else.
func TestBoolWord(t *testing.T) {
	for _, s := range []string{"true", "TRUE", "False", "yes", "No", "on", "OFF", "Enabled", "disabled"} {
		if !boolWord(s) {
			t.Errorf("boolWord(%q) = false", s)
		}
	}
	for _, s := range []string{"tru", "nope", "onn", "x", "", "enable", "disable", "truex", "abc", "hunter2"} {
		if boolWord(s) {
			t.Errorf("boolWord(%q) = true", s)
		}
	}
}

// A UUID or an RFC 3339 time is judged by its shape alone because the
// judgement it would otherwise get keeps it: samples of both, and UUIDs
// spelling each word the scanner looks for that hex can spell (the
// automaton folds case: a keyword like EAAA), are kept by plainText or by
// the sweep itself under any key but the listed annotations.
func TestUniqueShapesArePlain(t *testing.T) {
	r := defaultRedactor(t, Config{})
	rng := rand.New(rand.NewPCG(3, 4))
	hex := "0123456789abcdefABCDEF"
	uuid := func(word string, at int) string {
		b := []byte("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
		for i := range b {
			if b[i] == 'x' {
				b[i] = hex[rng.IntN(len(hex))]
			}
		}
		copy(b[at:], word)
		return string(b)
	}
	var samples []string
	for _, w := range scannerWords(r.rules.scanner) {
		if w = strings.ToLower(w); strings.Trim(w, "0123456789abcdef") != "" || len(w) > 12 {
			continue
		}
		at := []int{24, 36 - len(w)} // the run no dash breaks: its last 12
		if len(w) <= 8 {
			at = append(at, 0)
		}
		for _, i := range at {
			samples = append(samples, uuid(w, i), uuid(strings.ToUpper(w), i))
		}
	}
	if len(samples) == 0 {
		t.Log("no scanner word is spelt in hex")
	}
	for range 5000 {
		samples = append(samples, uuid("", 0))
		ts := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("", (rng.IntN(49)-24)*1800))
		for _, layout := range []string{time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05.000000Z07:00"} {
			samples = append(samples, ts.Format(layout), ts.UTC().Format(layout))
		}
	}
	for _, v := range samples {
		if !uniqueShape(v) {
			t.Fatalf("%q: not a unique shape", v)
		}
		for _, key := range []string{"", "auditID", "uid", "stageTimestamp", "lastTransitionTime"} {
			if !r.plainText(key, v) && !r.sweepKeeps(key, v) || isJWT(v) {
				t.Fatalf("%q under %q: the sweep changes a unique shape", v, key)
			}
		}
	}
	for _, v := range []string{"2026-11-28T05:06:11", "2026-11-28T05:06:11.Z", "2026-11-28 05:06:11Z", "2026-11-28T05:06:11+0100",
		"2026-11-28T05:06:11.123Zx", "2026-1a-28T05:06:11Z", "0123456789abcdef0123456789abcdef0123", "0123456g-89ab-cdef-0123-456789abcdef", "{123e4567-e89b-12d3-a456-426614174000}"} {
		if uniqueShape(v) {
			t.Errorf("%q: taken for a unique shape", v)
		}
	}
}
