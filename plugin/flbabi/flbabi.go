// Package flbabi holds what both Fluent Bit packagings of kaudit share of
// Fluent Bit's configuration ABI: configmap.h, the layout of one
// struct flb_config_map entry (both include it through cgo CFLAGS -I), and
// the list of keys a packaging hands Fluent Bit in its map.
package flbabi

import "github.com/kaudit/kaudit/plugin/config"

// Key is one entry of a config map: a kaudit key and its help text.
type Key struct{ Name, Help string }

// Keys lists kaudit's keys of one scope (config.Output, config.Filter), in
// the order of config.Keys.
func Keys(scope config.Scope) []Key {
	var ks []Key
	for _, k := range config.Keys {
		if k.Scope&scope != 0 {
			ks = append(ks, Key{k.Name, k.Help})
		}
	}
	return ks
}
