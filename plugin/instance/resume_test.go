package instance

import "testing"

func TestProgress(t *testing.T) {
	var p progress
	chunk := []byte("chunk-a")
	if sent, key := p.start("t", chunk); sent != 0 || key != nil {
		t.Fatalf("nothing pending: sent=%d key=%v (a healthy flush must not hash)", sent, key)
	}
	p.failed("t", chunk, nil, 2)
	sent, key := p.start("t", chunk)
	if sent != 2 || key == nil {
		t.Fatalf("retry of the same chunk: sent=%d", sent)
	}
	if s, _ := p.start("other-tag", chunk); s != 0 {
		t.Errorf("the tag is part of the chunk's identity")
	}
	if s, _ := p.start("t", []byte("chunk-b")); s != 0 {
		t.Errorf("another chunk resumed at %d", s)
	}
	p.done(key)
	if len(p.pending) != 0 || len(p.order) != 0 {
		t.Errorf("done chunk still remembered")
	}
}

func TestProgressIsBounded(t *testing.T) {
	var p progress
	for i := 0; i < maxPending+10; i++ {
		p.failed("t", []byte{byte(i), byte(i >> 8)}, nil, 1)
	}
	if len(p.pending) != maxPending || len(p.order) != maxPending {
		t.Fatalf("pending=%d order=%d, want %d", len(p.pending), len(p.order), maxPending)
	}
	if s, _ := p.start("t", []byte{0, 0}); s != 0 {
		t.Errorf("the oldest chunk should have been forgotten")
	}
}
