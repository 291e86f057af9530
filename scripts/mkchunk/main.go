// Command mkchunk turns JSON lines into Fluent Bit msgpack chunks, so the
// plugin can be exercised with the bytes Fluent Bit would hand it without
// running Fluent Bit.
//
//	mkchunk [-format legacy|v2] [-time eventtime|eventtime-ext8|int|float]
//	        [-time-from-event] [-unwrap KEY] [-records-per-chunk N]
//	        [-o out] FILE.jsonl...
//
// A line that is not a JSON object becomes {"log": "<line>"}, which is what
// tail without a parser produces. With -records-per-chunk 0 everything goes
// to the single file -o ("-" is stdout); with N > 0, -o is a prefix and the
// files are <prefix>-0001.msgpack, <prefix>-0002.msgpack, ...
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/kaudit/kaudit/plugin/decode"
	"github.com/kaudit/kaudit/plugin/decode/chunk"
)

var jsonAPI = jsoniter.Config{UseNumber: true}.Froze()

func main() {
	format := flag.String("format", "v2", "event format: legacy or v2")
	timeKind := flag.String("time", "eventtime", "timestamp encoding: eventtime, eventtime-ext8, int or float")
	fromEvent := flag.Bool("time-from-event", false, "use the event's own time (stageTimestamp...) instead of now")
	unwrap := flag.String("unwrap", "", "if a line's object has this key holding an object, use that object (e.g. event for the Panther corpus)")
	perChunk := flag.Int("records-per-chunk", 0, "records per chunk file; 0 writes one file")
	out := flag.String("o", "chunk.msgpack", "output file (N=0, - for stdout) or prefix (N>0)")
	flag.Parse()
	if flag.NArg() == 0 || *perChunk < 0 {
		flag.Usage()
		os.Exit(2)
	}
	opts := chunk.Options{}
	switch *format {
	case "v2":
		opts.Format = chunk.FormatV2
	case "legacy":
		opts.Format = chunk.FormatLegacy
	default:
		fail(fmt.Errorf("unknown -format %q", *format))
	}
	switch *timeKind {
	case "eventtime":
		opts.Time = chunk.TimeEventTime
	case "eventtime-ext8":
		opts.Time = chunk.TimeEventTimeExt8
	case "int":
		opts.Time = chunk.TimeInt
	case "float":
		opts.Time = chunk.TimeFloat
	default:
		fail(fmt.Errorf("unknown -time %q", *timeKind))
	}

	var records []map[string]any
	var times []time.Time
	for _, name := range flag.Args() {
		recs, err := readLines(name, *unwrap)
		if err != nil {
			fail(err)
		}
		now := time.Now()
		for _, r := range recs {
			t := now
			if *fromEvent {
				t = decode.EventTime(r, now)
			}
			records = append(records, r)
			times = append(times, t)
		}
	}

	if *perChunk == 0 {
		opts.Times = times
		if err := write(*out, records, opts); err != nil {
			fail(err)
		}
		return
	}
	prefix := strings.TrimSuffix(*out, ".msgpack")
	for i, n := 0, 1; i < len(records); i, n = i+*perChunk, n+1 {
		end := min(i+*perChunk, len(records))
		opts.Times = times[i:end]
		if err := write(fmt.Sprintf("%s-%04d.msgpack", prefix, n), records[i:end], opts); err != nil {
			fail(err)
		}
	}
}

func readLines(name, unwrap string) ([]map[string]any, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []map[string]any
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if trimmed := strings.TrimSpace(line); trimmed != "" {
			out = append(out, record(strings.TrimRight(line, "\r\n"), unwrap))
		}
		if err == io.EOF {
			return out, nil
		}
	}
}

func record(line, unwrap string) map[string]any {
	var m map[string]any
	if err := jsonAPI.UnmarshalFromString(line, &m); err != nil || m == nil {
		return map[string]any{"log": line}
	}
	if inner, ok := m[unwrap].(map[string]any); ok && unwrap != "" {
		return inner
	}
	return m
}

func write(name string, records []map[string]any, opts chunk.Options) error {
	var buf bytes.Buffer
	if err := chunk.Encode(&buf, records, opts); err != nil {
		return err
	}
	if name == "-" {
		_, err := os.Stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mkchunk:", err)
	os.Exit(1)
}
