package redact

import (
	"hash/maphash"
	"sync/atomic"
)

// verdicts remembers the strings the screen found harmless under the key
// they sat under: such strings come back event after event (a
// controller's user agent, an object's name, the last-applied
// configuration of an object updated every minute), and judging one costs
// a pass over its bytes, and for some a parse or a regular expression.
// Only harmless verdicts are kept, as a keyed 64-bit hash in a fixed
// table: lookups are one atomic load, a collision needs the process's
// random seed, and memory stays bounded whatever the input.
type verdicts struct {
	seed  maphash.Seed
	slots [verdictSlots]atomic.Uint64
}

const verdictSlots = 1 << 14

func newVerdicts() *verdicts { return &verdicts{seed: maphash.MakeSeed()} }

func (c *verdicts) hash(key, v string) uint64 {
	hk := maphash.String(c.seed, key)
	hv := maphash.String(c.seed, v)
	return (hk*0x9e3779b97f4a7c15 ^ hv) | 1 // 0 marks an empty slot
}

func (c *verdicts) harmless(h uint64) bool {
	return c.slots[h%verdictSlots].Load() == h
}

func (c *verdicts) remember(h uint64) {
	c.slots[h%verdictSlots].Store(h)
}
