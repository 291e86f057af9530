package decode

import (
	"encoding/json"
	"unsafe"

	"github.com/kaudit/kaudit/plugin/internal/poison"
)

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
	// Lists, by capacity: up to 2, 4, 8 and 16 elements.
	freeLists [listClasses][][]any
	madeLists [listClasses][][]any
	// made overflowed: the record's maps are not all known, so none is
	// reused (a record of thousands of maps is not the routine case).
	lost bool
}

const (
	bucketSize = 8 // members a map holds in its first group
	// poolMaps bounds each list: what one large event needs, far more
	// than a routine one.
	poolMaps = 512
	// maxPooledMembers: larger maps are not kept for reuse.
	maxPooledMembers = 64
)

func sizeClass(n int) int {
	if n > bucketSize {
		return 1
	}
	return 0
}

// get returns an empty map for n members, reused when one is free; a nil
// pool (a caller that keeps its trees) makes a new one.
func (p *treePool) get(n int) map[string]any {
	if p == nil {
		return make(map[string]any, n)
	}
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

const listClasses = 4

// list returns a list of n elements, reused when one is free. Lists of
// more than 16 are rare and made afresh, as are all without a pool.
func (p *treePool) list(n int) []any {
	if p == nil {
		return make([]any, n)
	}
	c := 0
	for c < listClasses && n > 2<<c {
		c++
	}
	if c == listClasses {
		return make([]any, n)
	}
	var l []any
	if f := p.freeLists[c]; len(f) > 0 {
		l = f[len(f)-1][:n]
		f[len(f)-1] = nil
		p.freeLists[c] = f[:len(f)-1]
	} else {
		l = make([]any, n, 2<<c)
	}
	if len(p.madeLists[c]) < poolMaps {
		p.madeLists[c] = append(p.madeLists[c], l)
	} else {
		p.lost = true
	}
	return l
}

// forget drops the last record's maps from the pool's view: they stay
// with whoever holds them.
func (p *treePool) forget() {
	for c := range p.made {
		clear(p.made[c])
		p.made[c] = p.made[c][:0]
	}
	for c := range p.madeLists {
		clear(p.madeLists[c])
		p.madeLists[c] = p.madeLists[c][:0]
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
			// A map keeps the room it grew to: one of a large body's
			// (a ConfigMap's thousand keys) is left to the collector.
			if len(m) <= maxPooledMembers && len(p.free[c]) < poolMaps {
				clear(m)
				p.free[c] = append(p.free[c], m)
			}
			p.made[c][i] = nil
		}
		p.made[c] = p.made[c][:0]
	}
	for c := range p.madeLists {
		for i, l := range p.madeLists[c] {
			clear(l[:cap(l)])
			if len(p.freeLists[c]) < poolMaps {
				p.freeLists[c] = append(p.freeLists[c], l)
			}
			p.madeLists[c][i] = nil
		}
		p.madeLists[c] = p.madeLists[c][:0]
	}
}

// boxes puts strings and lists into interfaces without an allocation
// each: the headers live in blocks of a slice and each interface points
// at its own element. A block is never written again once an element is
// handed out, and is freed by the collector with the last interface
// pointing into it, exactly like the header convTstring or convTslice
// would allocate; unless its Decoder reuses text, when the blocks are
// written again once the record they served is recycled (rewind). The
// maps of a tree need no box: a map is a pointer.
type boxes struct {
	strs  boxBlocks[string]
	lists boxBlocks[[]any]
	// rewinds: the Decoder reuses text (ReuseText).
	rewinds bool
}

// boxBlocks is one type's blocks. With rewinds, every block handed out is
// kept in blocks, blocks[:n] are the ones in use since the last rewind,
// and rewind hands them all out again; without, nothing is kept.
type boxBlocks[T any] struct {
	block  []T
	blocks [][]T
	n      int
}

// rewind makes every block handed out since the last rewind available
// again: the caller holds none of the interfaces made from them (the
// record they were made for has been recycled). Test binaries fill the
// elements with poison first (a string "#", a list of it), so an
// interface kept past its record reads that rather than quietly another
// record's value.
func (b *boxes) rewind() {
	if b == nil || !b.rewinds {
		return
	}
	b.strs.rewind("#", false)
	// A list header points at its items: cleared, a block waiting for
	// its next record keeps no large body's items alive.
	b.lists.rewind(poisonList, true)
}

var poisonList = []any{"#"}

func (b *boxBlocks[T]) rewind(poisonV T, clearOld bool) {
	if poison.On || clearOld {
		// The blocks handed out, the current one (b.block) among them.
		for _, blk := range b.blocks[:b.n] {
			if blk = blk[:cap(blk)]; poison.On {
				poison.Fill(blk, poisonV)
			} else {
				clear(blk)
			}
		}
	}
	if len(b.blocks) > maxKeptBoxBlocks { // an outsized record's
		clear(b.blocks[maxKeptBoxBlocks:])
		b.blocks = b.blocks[:maxKeptBoxBlocks]
	}
	b.n, b.block = 0, nil
}

// maxKeptBoxBlocks bounds what rewind keeps: a routine record boxes a
// few dozen strings, a 10 MB ConfigMap a hundred thousand.
const maxKeptBoxBlocks = 64

// put stores v in a block and returns where.
func (b *boxBlocks[T]) put(v T, rewinds bool) unsafe.Pointer {
	if len(b.block) == cap(b.block) {
		b.block = b.fresh(rewinds)
	}
	b.block = append(b.block, v)
	return unsafe.Pointer(&b.block[len(b.block)-1])
}

func (b *boxBlocks[T]) fresh(rewinds bool) []T {
	if !rewinds {
		return make([]T, 0, boxBlock)
	}
	if b.n == len(b.blocks) {
		b.blocks = append(b.blocks, make([]T, 0, boxBlock))
	}
	blk := b.blocks[b.n][:0]
	b.n++
	return blk
}

const boxBlock = 128

// eface is the layout of an empty interface.
type eface struct {
	typ, data unsafe.Pointer
}

func typeOf(x any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&x)).typ }

// The types boxed: the first two are a string header.
var (
	stringType = typeOf("")
	numberType = typeOf(json.Number(""))
	listType   = typeOf([]any(nil))
)

func (b *boxes) box(s string) any { return b.boxAs(stringType, s) }

// number boxes a JSON number's text as the json.Number it is.
func (b *boxes) number(s string) any { return b.boxAs(numberType, s) }

// boxAs boxes s as a value of typ; without blocks (a nil b) it is the
// interface conversion itself.
func (b *boxes) boxAs(typ unsafe.Pointer, s string) any {
	if b == nil {
		if typ == numberType {
			return json.Number(s)
		}
		return s
	}
	e := eface{typ: typ, data: b.strs.put(s, b.rewinds)}
	return *(*any)(unsafe.Pointer(&e))
}

// list boxes l; without blocks (a nil b) it is the interface conversion
// itself.
func (b *boxes) list(l []any) any {
	if b == nil {
		return l
	}
	e := eface{typ: listType, data: b.lists.put(l, b.rewinds)}
	return *(*any)(unsafe.Pointer(&e))
}

// spill holds the strings a Decoder under ReuseText writes rather than
// slices from its text (a JSON line's strings with escapes), in blocks
// handed out again at the next Reset: they live exactly as long as the
// chunk's own text, and a routine event's one quoted annotation costs no
// allocation.
type spill struct {
	blocks [][]byte
	n      int // blocks[:n] are in use
}

const (
	spillBlock = 4 << 10
	// Strings longer than this are made on their own.
	maxSpilled = spillBlock / 4
	// maxKeptSpill bounds what rewind keeps.
	maxKeptSpill = 64
)

// own returns a string with b's bytes.
func (t *spill) own(b []byte) string {
	if len(b) == 0 || len(b) > maxSpilled {
		return string(b)
	}
	if t.n == 0 || len(t.blocks[t.n-1])+len(b) > spillBlock {
		if t.n == len(t.blocks) {
			t.blocks = append(t.blocks, make([]byte, 0, spillBlock))
		}
		t.blocks[t.n] = t.blocks[t.n][:0]
		t.n++
	}
	blk := t.blocks[t.n-1]
	at := len(blk)
	blk = append(blk, b...)
	t.blocks[t.n-1] = blk
	return unsafe.String(&blk[at], len(b))
}

// rewind hands every block out again; test binaries poison them first.
func (t *spill) rewind() {
	if poison.On {
		for _, blk := range t.blocks[:t.n] {
			poison.Fill(blk, '#')
		}
	}
	if len(t.blocks) > maxKeptSpill {
		clear(t.blocks[maxKeptSpill:])
		t.blocks = t.blocks[:maxKeptSpill]
	}
	t.n = 0
}
