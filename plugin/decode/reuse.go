package decode

import "unsafe"

// Building a record's tree is mostly allocation: a routine audit event
// is half a dozen maps and a dozen strings, each boxed in an interface, and the
// maps cost more to make than to fill. A caller that is done with a
// record's values, and kept none of them, hands its maps back with
// Recycle; the next records are built in them. Nothing is reused that
// the caller did not give back, so a caller that keeps a tree (a test
// collecting events, a packaging that holds records) is never affected.

// treePool is a Decoder's free maps and the maps of the record it
// returned last. Maps of up to bucketSize members and larger ones are
// kept apart: a map reused for a larger record than it last held grows,
// and growing is the cost this avoids.
type treePool struct {
	free [2][]map[string]any
	made [2][]map[string]any
	// made overflowed: the record's maps are not all known, so none is
	// reused (a record of thousands of maps is not the routine case).
	lost bool
}

const (
	bucketSize = 8 // members a map holds in its first group
	// poolMaps bounds each list: what one large event needs, far more
	// than a routine one.
	poolMaps = 512
)

func sizeClass(n int) int {
	if n > bucketSize {
		return 1
	}
	return 0
}

// get returns an empty map for n members, reused when one is free.
func (p *treePool) get(n int) map[string]any {
	c := sizeClass(n)
	var m map[string]any
	if f := p.free[c]; len(f) > 0 {
		m = f[len(f)-1]
		f[len(f)-1] = nil
		p.free[c] = f[:len(f)-1]
	} else {
		m = make(map[string]any, n)
	}
	if len(p.made[c]) < poolMaps {
		p.made[c] = append(p.made[c], m)
	} else {
		p.lost = true
	}
	return m
}

// forget drops the last record's maps from the pool's view: they stay
// with whoever holds them.
func (p *treePool) forget() {
	for c := range p.made {
		clear(p.made[c])
		p.made[c] = p.made[c][:0]
	}
	p.lost = false
}

// recycle empties the last record's maps and keeps them for the next.
func (p *treePool) recycle() {
	if p.lost {
		p.forget()
		return
	}
	for c := range p.made {
		for i, m := range p.made[c] {
			clear(m)
			if len(p.free[c]) < poolMaps {
				p.free[c] = append(p.free[c], m)
			}
			p.made[c][i] = nil
		}
		p.made[c] = p.made[c][:0]
	}
}

// boxes puts strings into interfaces without an allocation each: the
// string headers live in blocks of a slice and each interface points at
// its own element. A block is never written again once an element is
// handed out, and is freed by the collector with the last interface
// pointing into it, exactly like the header convTstring would allocate.
type boxes struct {
	block []string
}

const boxBlock = 128

// eface is the layout of an empty interface.
type eface struct {
	typ, data unsafe.Pointer
}

var stringType = func() unsafe.Pointer {
	var x any = ""
	return (*eface)(unsafe.Pointer(&x)).typ
}()

func (b *boxes) box(s string) any {
	if len(b.block) == cap(b.block) {
		b.block = make([]string, 0, boxBlock)
	}
	b.block = append(b.block, s)
	e := eface{typ: stringType, data: unsafe.Pointer(&b.block[len(b.block)-1])}
	return *(*any)(unsafe.Pointer(&e))
}

func unsafeStringData(s string) *byte { return unsafe.StringData(s) }
