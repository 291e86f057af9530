package loki

import (
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/internal/poison"
	"github.com/kaudit/kaudit/plugin/pipeline"
)

// arena holds the structured metadata of one Batch's entries: the pair
// slices are windows of one block, and the values made up for them
// (resource/subresource, numbers) and the copies of lines handed over in
// a buffer the pipeline reuses substrings of another. Without it each
// entry costs a slice and a string or two of its own; with it, a block
// per hundred or so entries. Within a Batch, blocks are only ever
// appended to, so what was handed out stays unchanged while the Batch
// lives. A flush that is done with its Batch releases it: the blocks go
// back to a pool and the next flush writes its entries into them, so a
// steady stream of flushes allocates no blocks at all.
type arena struct {
	labels push.LabelsAdapter
	text   []byte
	// taken are the pooled blocks handed out so far, the current ones
	// included; release returns them.
	taken      []*[]byte
	takenPairs []*push.LabelsAdapter
	// line is where a line rendered from an event's tree is written
	// before the arena keeps its copy.
	line []byte
}

// Block sizes: 32 KiB of pairs (about a hundred entries' metadata) and
// 64 KiB of text (about fifty routine lines with their made-up values).
const (
	labelBlock = 1024
	textBlock  = 64 << 10
)

// take hands out room for n pairs: the caller appends at most n, so the
// pairs land in the block, never in a slice of their own. A nil arena
// (Build, whose caller may keep the entry) allocates.
func (a *arena) take(n int) push.LabelsAdapter {
	if a == nil {
		return make(push.LabelsAdapter, 0, n)
	}
	if cap(a.labels)-len(a.labels) < n {
		if n > labelBlock {
			a.labels = make(push.LabelsAdapter, 0, n)
		} else {
			p := pairBlocks.Get().(*push.LabelsAdapter)
			a.takenPairs = append(a.takenPairs, p)
			a.labels = (*p)[:0]
		}
	}
	return a.labels[len(a.labels):len(a.labels)]
}

// keep claims the pairs m holds from the block take handed it out of, so
// the next entry's start after them, and caps m so an append to it can
// never write into a neighbour's pairs.
func (a *arena) keep(m push.LabelsAdapter) push.LabelsAdapter {
	m = m[:len(m):len(m)]
	if a == nil || len(m) == 0 {
		return m
	}
	start := len(a.labels)
	if start+len(m) <= cap(a.labels) && &a.labels[:start+1][start] == &m[0] {
		a.labels = a.labels[:start+len(m)]
	}
	return m
}

// room returns the text block with n bytes free, starting a new block
// rather than growing this one: growing would copy, and strings already
// handed out must keep pointing at bytes nobody writes again.
func (a *arena) room(n int) []byte {
	if cap(a.text)-len(a.text) < n {
		if n > textBlock {
			a.text = make([]byte, 0, n)
		} else {
			p := textBlocks.Get().(*[]byte)
			a.taken = append(a.taken, p)
			a.text = (*p)[:0]
		}
	}
	return a.text
}

// seal returns what was appended to b (room's block) since the block's
// length as a string sharing b's bytes: they are never written again.
func (a *arena) seal(b []byte) string {
	start := len(a.text)
	a.text = b
	if len(b) == start {
		return ""
	}
	return unsafe.String(&b[start], len(b)-start)
}

// own returns a copy of s that stays valid as long as the arena's Batch:
// in the text block, shared with its neighbours. The pipeline's line
// buffer and the decoder's text of a chunk are both reused once the
// flush's events are rendered, so every string an entry takes from an
// event, its line and its metadata, is owned this way. A string of more
// than a quarter of a block gets one of its own, so a block is never
// mostly waste.
func (a *arena) own(s string) string {
	if s == "" {
		return ""
	}
	if a == nil || len(s) > textBlock/4 {
		return strings.Clone(s)
	}
	return a.seal(append(a.room(len(s)), s...))
}

// renderLine returns the line of the event v, owned.
func (a *arena) renderLine(v map[string]any) string {
	if a == nil {
		return pipeline.Line(v)
	}
	a.line = pipeline.AppendLine(a.line[:0], v)
	line := a.own(unsafe.String(unsafe.SliceData(a.line), len(a.line)))
	if cap(a.line) > textBlock {
		a.line = nil // one outsized event's buffer is not kept
	}
	return line
}

// join is x + "/" + y (resource/subresource) without a string of its own.
func (a *arena) join(x, y string) string {
	if a == nil {
		return x + "/" + y
	}
	b := a.room(len(x) + 1 + len(y))
	b = append(append(append(b, x...), '/'), y...)
	return a.seal(b)
}

// str is str, owned: numbers are written into the block instead of
// allocated, text is copied there (own).
func (a *arena) str(v any) string {
	if a != nil {
		switch x := v.(type) {
		case int64:
			if x >= 0 && x < int64(len(statusCodes)) {
				return statusCodes[x]
			}
			return a.seal(strconv.AppendInt(a.room(20), x, 10))
		case uint64:
			return a.seal(strconv.AppendUint(a.room(20), x, 10))
		case float64:
			return a.seal(strconv.AppendFloat(a.room(32), x, 'f', -1, 64))
		}
	}
	return a.own(str(v))
}

var (
	textBlocks = sync.Pool{New: func() any { b := make([]byte, 0, textBlock); return &b }}
	pairBlocks = sync.Pool{New: func() any { b := make(push.LabelsAdapter, 0, labelBlock); return &b }}
)

// release hands the arena's blocks back to the pools. Nothing handed out
// of them may be used afterwards. Pair blocks are cleared so a pooled
// block keeps no chunk alive.
func (a *arena) release() {
	for _, p := range a.taken {
		b := (*p)[:cap(*p)]
		if poison.On {
			poison.Fill(b, '#')
		}
		*p = b[:0]
		textBlocks.Put(p)
	}
	for _, p := range a.takenPairs {
		b := (*p)[:cap(*p)]
		if poison.On {
			poison.Fill(b, push.LabelAdapter{Name: "released", Value: "released"})
		} else {
			clear(b)
		}
		*p = b[:0]
		pairBlocks.Put(p)
	}
	*a = arena{}
}
