package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
)

func TestLinesBecomeChunk(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	lines := "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\"get\",\"stageTimestamp\":\"2024-05-14T09:12:44.5Z\"}\n\n" +
		"not json\n[1]\n{\"event\":{\"verb\":\"get\",\"auditID\":\"x\"}}\r\n"
	if err := os.WriteFile(in, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := readLines(in, "event")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.msgpack")
	if err := write(out, recs, chunk.Options{}); err != nil {
		t.Fatal(err)
	}
	chunk, _ := os.ReadFile(out)
	d := decode.NewDecoder(chunk)
	var shapes []decode.Shape
	var logs []any
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_, shape, err := decode.Events(rec.Body, nil)
		if err != nil && !errors.Is(err, decode.ErrUnrecognized) {
			t.Fatal(err)
		}
		shapes = append(shapes, shape)
		logs = append(logs, rec.Body["log"])
	}
	want := []decode.Shape{decode.Raw, decode.Unknown, decode.Unknown, decode.Raw}
	if len(shapes) != len(want) {
		t.Fatalf("shapes %v", shapes)
	}
	for i := range want {
		if shapes[i] != want[i] {
			t.Fatalf("shapes %v, want %v", shapes, want)
		}
	}
	if logs[1] != "not json" || logs[2] != "[1]" {
		t.Fatalf("log records %v", logs)
	}
}
