package loki

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rejected keeps the entries Loki refused as invalid in a file of JSON
// lines, so that an operator can see, fix and replay them: a 400 is never
// retried, and without this file the counter would be all that is left.
// The file is bounded: when the next line would take it past half of the
// limit it becomes `path.1` (replacing the previous one), so both together
// stay under the limit. Safe for concurrent use.
type Rejected struct {
	path string
	max  int64
	mu   sync.Mutex
	f    *os.File
	size int64
}

// OpenRejected opens (appends to) path; max bounds path and path.1
// together.
func OpenRejected(path string, max int) (*Rejected, error) {
	r := &Rejected{path: path, max: int64(max)}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Rejected) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Close closes the file.
func (r *Rejected) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// rejectedLine is one line of the file.
type rejectedLine struct {
	Time   string            `json:"time"`
	Tenant string            `json:"tenant,omitempty"`
	Labels string            `json:"labels"`
	Line   string            `json:"line"`
	Meta   map[string]string `json:"structured_metadata,omitempty"`
	Reason string            `json:"reason"`
	// Maybe is set when Loki's answer did not say which entries of the
	// request it refused: every entry is kept, and some may also be stored.
	Maybe bool `json:"maybe_stored,omitempty"`
}

// Write appends the refused entries of r and returns how many it wrote.
func (r *Rejected) Write(req request, which refusal, reason string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, fmt.Errorf("%s: closed", r.path)
	}
	n := 0
	for si, s := range req.streams {
		for ei := range s.Entries {
			maybe := which.maybe
			if which.only != nil && !which.only[[2]int{si, ei}] {
				if !which.others {
					continue
				}
				maybe = true
			}
			e := &s.Entries[ei]
			rec := rejectedLine{Time: e.Timestamp.UTC().Format(time.RFC3339Nano), Tenant: req.tenant, Labels: s.Labels, Line: e.Line, Reason: reason, Maybe: maybe}
			if len(e.StructuredMetadata) > 0 {
				rec.Meta = make(map[string]string, len(e.StructuredMetadata))
				for _, l := range e.StructuredMetadata {
					rec.Meta[l.Name] = l.Value
				}
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return n, err
			}
			b = append(b, '\n')
			if r.size > 0 && r.size+int64(len(b)) > r.max/2 {
				if err := r.rotate(); err != nil {
					return n, err
				}
			}
			if _, err := r.f.Write(b); err != nil {
				return n, fmt.Errorf("%s: %w", r.path, err)
			}
			r.size += int64(len(b))
			n++
		}
	}
	return n, nil
}

func (r *Rejected) rotate() error {
	r.f.Close()
	r.f = nil
	if err := os.Rename(r.path, r.path+".1"); err != nil {
		return fmt.Errorf("%s: rotate: %w", r.path, err)
	}
	return r.open()
}

// refusal says which entries of a request Loki refused: only those
// listed, or all when only is nil.
type refusal struct {
	only  map[[2]int]bool
	maybe bool
	// others: Loki refused more entries than its answer names (it lists
	// a few per reason): the rest are written too, as maybe stored.
	others bool
}

var lengthRe = regexp.MustCompile(`with length '(\d+)' bytes`)

// refused works out which of the request's entries Loki refused. Loki's
// answer names them by timestamp (to the second for the distributor, to
// the nanosecond for the ingester) or by line length; when it refused all
// of them, or names none recognisably, every entry is taken, flagged as
// possibly stored.
func refused(msg string, n int, r request) refusal {
	if n >= r.entries {
		return refusal{}
	}
	lengths := map[int]bool{}
	for _, m := range lengthRe.FindAllStringSubmatch(msg, -1) {
		if k, err := strconv.Atoi(m[1]); err == nil {
			lengths[k] = true
		}
	}
	only := map[[2]int]bool{}
	for si, s := range r.streams {
		for ei := range s.Entries {
			e := &s.Entries[ei]
			ts := e.Timestamp.UTC()
			if lengths[len(e.Line)] || containsTime(msg, ts) {
				only[[2]int{si, ei}] = true
			}
		}
	}
	if len(only) == 0 {
		return refusal{maybe: true}
	}
	return refusal{only: only, others: len(only) < n}
}

func containsTime(msg string, ts time.Time) bool {
	return strings.Contains(msg, "timestamp too old: "+ts.Format(time.RFC3339)) ||
		strings.Contains(msg, "timestamp too new: "+ts.Format(time.RFC3339)) ||
		strings.Contains(msg, "entry with timestamp "+ts.String())
}
