package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/kaudit/kaudit/plugin/decode"
)

// Numbers stay json.Number so they reach the chunk as msgpack integers or
// floats, as Fluent Bit's JSON parser writes them.
var jsonAPI = jsoniter.Config{UseNumber: true}.Froze()

// maxLine bounds one line of input; the API server's own events stay far
// below (Loki refuses entries above 256 KiB by default anyway).
const maxLine = 64 << 20

// source yields the Fluent Bit records one audit log file holds, in order.
type source struct {
	name string
	f    *os.File
	size int64
	read counter // compressed bytes consumed, for progress
	r    *bufio.Reader
	docs []map[string]any // a pretty-printed file, decoded whole
	line int
	now  time.Time
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// open reads plain or gzip-compressed (by content, not name: rotated files
// keep many names) JSON-lines audit logs, and files holding one or more
// pretty-printed JSON documents (an EventList saved by hand, fixtures).
func open(name string) (*source, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &source{name: name, f: f, size: st.Size(), now: time.Now()}
	var raw io.Reader = io.TeeReader(f, &s.read)
	br := bufio.NewReaderSize(raw, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	s.r = br
	if err := s.sniffDocuments(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// sniffDocuments decides between JSON lines and whole documents: a file
// whose first line is an opening brace alone, or not an object on its own,
// while the whole file is a sequence of objects, is documents.
func (s *source) sniffDocuments() error {
	first, _ := s.r.Peek(4096)
	first = bytes.TrimLeft(first, " \t\r\n")
	if len(first) == 0 || first[0] != '{' {
		return nil
	}
	line := first
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		line = first[:i]
	} else if len(first) == 4096 {
		return nil // a long first line: JSON lines
	}
	if jsonAPI.Valid(bytes.TrimSpace(line)) {
		return nil
	}
	all, err := io.ReadAll(s.r)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	dec := jsonAPI.NewDecoder(bytes.NewReader(all))
	var docs []map[string]any
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil || m == nil {
			// Not documents after all: replay the bytes as lines.
			s.r = bufio.NewReaderSize(bytes.NewReader(all), 1<<20)
			return nil
		}
		docs = append(docs, m)
	}
	s.docs = docs
	if docs == nil {
		s.docs = []map[string]any{}
	}
	return nil
}

// next returns the next record and the time Fluent Bit would give it: the
// event's own, as a tail input with a stageTimestamp parser does.
func (s *source) next() (map[string]any, time.Time, error) {
	if s.docs != nil {
		if s.line >= len(s.docs) {
			return nil, time.Time{}, io.EOF
		}
		m := s.docs[s.line]
		s.line++
		return m, decode.EventTime(m, s.now), nil
	}
	for {
		line, err := s.readLine()
		if err != nil {
			return nil, time.Time{}, err
		}
		s.line++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m := record(line)
		return m, decode.EventTime(m, s.now), nil
	}
}

func (s *source) readLine() ([]byte, error) {
	var buf []byte
	for {
		part, err := s.r.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", s.name, s.line+1, maxLine)
		}
		switch {
		case err == nil:
			return bytes.TrimRight(buf, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) > 0:
			return bytes.TrimRight(buf, "\r\n"), nil
		case err == io.EOF:
			return nil, io.EOF
		default:
			return nil, fmt.Errorf("%s:%d: %w", s.name, s.line+1, err)
		}
	}
}

// record is what Fluent Bit's tail input hands on for one line: the parsed
// object, or {"log": line} for anything that is not a JSON object.
func record(line []byte) map[string]any {
	var m map[string]any
	if err := jsonAPI.Unmarshal(line, &m); err != nil || m == nil {
		return map[string]any{"log": string(line)}
	}
	return m
}

// progress is how far into the file reading is, for the progress bar.
func (s *source) progress() (done, total int64) { return s.read.n, s.size }

func (s *source) close() { s.f.Close() }
