package redact

import "testing"

// TestPairKeysSwitch holds the screen's switches to the sweep's tables of
// name/value spellings: a spelling added to one only would let the screen
// pass a pair the sweep removes.
func TestPairKeysSwitch(t *testing.T) {
	names := map[string]bool{}
	for _, nk := range pairNameKeys {
		names[nk.key] = true
		if slot, ok := pairSlot(nk.key); !ok || slot != nk.slot {
			t.Errorf("pairSlot(%q) = %d, %v; want %d", nk.key, slot, ok, nk.slot)
		}
	}
	values := map[string]bool{}
	for _, vk := range pairValueKeys {
		values[vk] = true
		if !pairValue(vk) {
			t.Errorf("pairValue(%q) = false", vk)
		}
	}
	for _, k := range []string{"name", "Name", "headerName", "variable", "param", "key", "Key", "ParameterKey", "k", "type", "Type", "value", "Value", "default", "defaultValue", "ParameterValue", "headerValue", "val", "v", "names", "values", "id"} {
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
