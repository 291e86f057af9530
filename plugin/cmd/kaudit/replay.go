package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/loki/pkg/push"

	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/output/instance"
	"github.com/kaudit/kaudit/plugin/pipeline"
)

// recordsPerChunk is about what Fluent Bit's tail input puts in a chunk of
// audit events; it changes nothing in the entries, only batching.
const recordsPerChunk = 512

func replay(args []string, stdout, stderr io.Writer) error {
	f := newFlags("replay")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() == 0 {
		return fmt.Errorf("replay: no input file: %w", errUsage)
	}
	g, err := f.getter()
	if err != nil {
		return err
	}
	in, err := instance.NewWith(g, Version, instance.Options{Quiet: true, NoServe: true})
	if err != nil {
		return err
	}
	defer in.Close()
	w := bufio.NewWriterSize(stdout, 1<<16)
	var tot totals
	var werr error
	err = readChunks(f.fs.Args(), nil, func(c chunk) error {
		rep := in.Process(c.data, func(tenant, labels string, e push.Entry) {
			if werr == nil {
				werr = writeEntry(w, tenant, labels, e)
			}
		})
		tot.add(rep)
		return werr
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "kaudit replay: %s\n", tot)
	return nil
}

// Entry is one line of `kaudit replay`: what the plugin sends to Loki.
type Entry struct {
	Tenant   string  `json:"tenant"`
	Labels   ordered `json:"labels"`
	Metadata ordered `json:"metadata"`
	Time     string  `json:"time"` // RFC 3339, nanoseconds, UTC
	Line     string  `json:"line"`
}

func writeEntry(w io.Writer, tenant, labels string, e push.Entry) error {
	ls, err := parseLabels(labels)
	if err != nil {
		return err
	}
	md := make(ordered, len(e.StructuredMetadata))
	for i, l := range e.StructuredMetadata {
		md[i] = [2]string{l.Name, l.Value}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(Entry{Tenant: tenant, Labels: ls, Metadata: md, Time: e.Timestamp.UTC().Format(time.RFC3339Nano), Line: e.Line})
}

// ordered is a JSON object that keeps the order in which kaudit sends
// labels and metadata.
type ordered [][2]string

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, s := range kv {
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(s); err != nil {
				return nil, err
			}
			b.Truncate(b.Len() - 1) // Encode's newline
			if j == 0 {
				b.WriteByte(':')
			}
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (o *ordered) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, [2]string{k.(string), v})
	}
	return nil
}

// Map returns o as a map, for comparisons.
func (o ordered) Map() map[string]string {
	m := make(map[string]string, len(o))
	for _, kv := range o {
		m[kv[0]] = kv[1]
	}
	return m
}

// parseLabels reads back the stream selector the pipeline rendered
// (`{a="x", b="y"}`, values Go-quoted).
func parseLabels(s string) (ordered, error) {
	bad := fmt.Errorf("unexpected stream selector %q", s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, bad
	}
	s = s[1 : len(s)-1]
	var out ordered
	for s != "" {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, bad
		}
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return nil, bad
		}
		v, _ := strconv.Unquote(q)
		out = append(out, [2]string{strings.TrimSpace(name), v})
		s = strings.TrimPrefix(strings.TrimPrefix(rest[len(q):], ","), " ")
	}
	return out, nil
}

// totals sums the chunk reports of a run.
type totals struct{ records, events, unrecognized, malformed, failed int }

func (t *totals) add(r pipeline.ChunkReport) {
	t.records += r.Records + r.Malformed
	t.events += r.Events
	t.unrecognized += r.Unrecognized
	t.malformed += r.Malformed
	t.failed += r.Failed
}

func (t totals) String() string {
	return fmt.Sprintf("%d records, %d entries; unrecognized=%d malformed=%d failed=%d", t.records, t.events, t.unrecognized, t.malformed, t.failed)
}

// chunk is a run of records encoded as Fluent Bit would buffer them, and
// where they came from.
type chunk struct {
	data      []byte
	file      string
	firstLine int // 1-based record number of the first record in the file
	records   int
	readBytes int64 // input bytes consumed so far, over all files
	span      int64 // input bytes this chunk stands for
}

// readChunks reads every file in order and hands on chunks of at most
// recordsPerChunk records. progress, if set, sees the total input size
// first and then the bytes consumed.
func readChunks(files []string, progress func(done, total int64), fn func(chunk) error) error {
	var total, before, handed int64
	srcs := make([]*source, 0, len(files))
	defer func() {
		for _, s := range srcs {
			s.close()
		}
	}()
	for _, name := range files {
		s, err := open(name)
		if err != nil {
			return err
		}
		srcs = append(srcs, s)
		total += s.size
	}
	opts := fbchunk.Options{Format: fbchunk.FormatV2, Time: fbchunk.TimeEventTime}
	for _, s := range srcs {
		var recs []map[string]any
		var times []time.Time
		first := 1
		flush := func(eof bool) error {
			if len(recs) == 0 {
				return nil
			}
			var buf bytes.Buffer
			opts.Times = times
			if err := fbchunk.Encode(&buf, recs, opts); err != nil {
				return fmt.Errorf("%s:%d: %w", s.name, first, err)
			}
			done, _ := s.progress()
			if eof {
				done = s.size // the file's tail belongs to its last chunk
			}
			c := chunk{data: buf.Bytes(), file: s.name, firstLine: first, records: len(recs), readBytes: before + done, span: before + done - handed}
			handed = c.readBytes
			first += len(recs)
			recs, times = recs[:0], times[:0]
			if progress != nil {
				progress(c.readBytes, total)
			}
			return fn(c)
		}
		for {
			m, t, err := s.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			recs, times = append(recs, m), append(times, t)
			if len(recs) == recordsPerChunk {
				if err := flush(false); err != nil {
					return err
				}
			}
		}
		if err := flush(true); err != nil {
			return err
		}
		before += s.size
	}
	return nil
}
