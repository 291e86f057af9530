package loki

import "testing"

func TestProgress(t *testing.T) {
	var p Resume
	chunk := []byte("chunk-a")
	if acc, key := p.Start("t", chunk); acc != nil || key != nil {
		t.Fatalf("nothing pending: accepted=%v key=%v (a healthy flush must not hash)", acc, key)
	}
	req := [][32]byte{{1}, {2}}
	p.Failed("t", chunk, nil, req)
	acc, key := p.Start("t", chunk)
	if len(acc) != 2 || acc[1] != req[1] || key == nil {
		t.Fatalf("retry of the same chunk: accepted=%v", acc)
	}
	if a, _ := p.Start("other-tag", chunk); a != nil {
		t.Errorf("the tag is part of the chunk's identity")
	}
	if a, _ := p.Start("t", []byte("chunk-b")); a != nil {
		t.Errorf("another chunk resumed after %v", a)
	}
	p.Done(key)
	if len(p.pending) != 0 || len(p.order) != 0 {
		t.Errorf("done chunk still remembered")
	}
}

func TestProgressIsBounded(t *testing.T) {
	var p Resume
	for i := 0; i < MaxPending+10; i++ {
		p.Failed("t", []byte{byte(i), byte(i >> 8)}, nil, [][32]byte{{1}})
	}
	if len(p.pending) != MaxPending || len(p.order) != MaxPending {
		t.Fatalf("pending=%d order=%d, want %d", len(p.pending), len(p.order), MaxPending)
	}
	if a, _ := p.Start("t", []byte{0, 0}); a != nil {
		t.Errorf("the oldest chunk should have been forgotten")
	}
}
