package loki

import "sync"

// Resume is an output's delivery state across Fluent Bit retries: it
// remembers, for chunks Fluent Bit will hand back for a retry,
// which of their push requests Loki already accepted (by content: see
// Batch), so the retry sends only the others. Loki drops an exact resend reliably only while it is the
// stream's newest entry (scripts/loki/BEHAVIOUR.md, "Duplicates"); with
// concurrent flushes it often is not, and resending would store twice.
//
// A chunk is known by a SHA-256 of its tag and bytes: Fluent Bit retries
// the very same bytes, and the same bytes split into the same requests. The
// hash is computed only after a failure, or on a flush while some chunk is
// pending, so a healthy pipeline pays nothing. If a retried chunk splits
// differently (stateful rules labelled an event otherwise), the changed
// requests are sent again: a possible duplicate, never a loss. At most MaxPending chunks are
// remembered (oldest forgotten first: a forgotten chunk is resent whole,
// which can only duplicate, never lose).
type Resume struct {
	mu      sync.Mutex
	pending map[[32]byte][][32]byte
	order   [][32]byte
}

// MaxPending bounds the chunks remembered for retry.
const MaxPending = 4096

// MaxRecordedDetections bounds the detections remembered for retried
// chunks (an event without detection costs nothing); beyond it the oldest
// chunk is forgotten, and its retry runs the rules again.
const MaxRecordedDetections = 1 << 20

// Start returns the requests of this chunk Loki already accepted, and the
// chunk's key when one had to be computed.
func (p *Resume) Start(tag string, chunk []byte) (accepted [][32]byte, key *[32]byte) {
	p.mu.Lock()
	empty := len(p.pending) == 0
	p.mu.Unlock()
	if empty {
		return nil, nil
	}
	k := ChunkKey(tag, chunk)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pending[k], &k
}

// Failed records the chunk's requests Loki accepted and returns the
// chunk's key.
func (p *Resume) Failed(tag string, chunk []byte, key *[32]byte, accepted [][32]byte) [32]byte {
	if key == nil {
		k := ChunkKey(tag, chunk)
		key = &k
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == nil {
		p.pending = map[[32]byte][][32]byte{}
	}
	if _, ok := p.pending[*key]; !ok {
		p.order = append(p.order, *key)
		if len(p.order) > MaxPending {
			delete(p.pending, p.order[0])
			p.order = p.order[1:]
		}
	}
	p.pending[*key] = accepted
	return *key
}

// Done forgets a delivered chunk.
func (p *Resume) Done(key *[32]byte) {
	if key == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pending[*key]; !ok {
		return
	}
	delete(p.pending, *key)
	for i, k := range p.order {
		if k == *key {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
}
