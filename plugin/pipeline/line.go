package pipeline

import (
	"strings"
	"sync"

	"github.com/kaudit/kaudit/detect"
)

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Line renders an event as a Loki line. Sorted keys make it a pure function of the
// event, so a retried chunk produces byte-identical entries, which Loki
// de-duplicates; HTML escaping is off so the line reads as the API server
// wrote it.
func Line(v map[string]any) string {
	bp := lineBufs.Get().(*[]byte)
	b := appendObject((*bp)[:0], v)
	line := string(b)
	if cap(b) <= 1<<20 { // do not let one huge event pin memory
		*bp = b
		lineBufs.Put(bp)
	}
	return line
}

// AppendLine appends Line(v) to b: for a caller that copies the line
// where it keeps it and can reuse b.
func AppendLine(b []byte, v map[string]any) []byte { return appendObject(b, v) }

// Summary lists every matched rule with its own severity: the label keeps
// only the highest.
func Summary(r detect.Result) string {
	var sb strings.Builder
	for i, m := range r.Matches {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(m.ID)
		sb.WriteByte(':')
		sb.WriteString(m.Severity.String())
	}
	return sb.String()
}
