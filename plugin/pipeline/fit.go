package pipeline

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// bodies are the parts of an audit event that can be arbitrarily large
// (a list of 10k Secrets, a ConfigMap of megabytes). Everything else is the
// envelope an investigator needs to know who did what to which object, when
// and with what outcome, and is kept whenever it fits.
var bodies = []string{"requestObject", "responseObject"}

// bodyMeta are the metadata fields of a body kept in its summary: enough
// to name the object without its content.
var bodyMeta = []string{"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "continue", "remainingItemCount"}

// FitLine renders ev in at most max bytes: Loki refuses a longer line
// whole, and the biggest events (a cluster-wide Secret list) are the ones
// that matter most. It cuts in steps, each only if the previous did not
// fit: bodies replaced by a summary (kind, apiVersion, identifying
// metadata, item count), bodies removed, long strings shortened, and last
// the bare envelope. The line says what was cut and how long it was
// (`kaudit.cut`, `kaudit.original_bytes`); cut is the same list for
// structured metadata. ev is not modified: its fields also feed metadata.
func FitLine(ev map[string]any, orig, max int) (line, cut string) {
	c := make(map[string]any, len(ev)+1)
	for k, v := range ev {
		c[k] = v
	}
	var cuts []string
	try := func() (string, bool) {
		cut = strings.Join(cuts, ",")
		c[MarkKey] = map[string]any{"cut": cut, "original_bytes": int64(orig), "max_line_bytes": int64(max)}
		l := Line(c)
		return l, len(l) <= max
	}
	present := bodiesBySize(c)
	for _, k := range present {
		c[k] = summarize(c[k])
		cuts = append(cuts, k)
		if l, ok := try(); ok {
			return l, cut
		}
	}
	for _, k := range present {
		delete(c, k)
	}
	if len(present) > 0 {
		if l, ok := try(); ok {
			return l, cut
		}
	}
	cuts = append(cuts, "long_strings")
	for limit := 1024; limit >= 64; limit /= 4 {
		for k, v := range c {
			if k != MarkKey {
				c[k] = shorten(v, limit)
			}
		}
		if l, ok := try(); ok {
			return l, cut
		}
	}
	// Pathological envelope (thousands of source IPs, huge annotations):
	// keep what identifies the event, shortened.
	bare := map[string]any{}
	for _, k := range []string{"kind", "apiVersion", "level", "auditID", "stage", "requestURI", "verb", "user", "objectRef", "responseStatus", "requestReceivedTimestamp", "stageTimestamp"} {
		if v, ok := c[k]; ok {
			bare[k] = shorten(v, 64)
		}
	}
	c = bare
	cuts = append(cuts, "envelope")
	l, _ := try()
	return l, cut
}

// bodiesBySize lists the bodies present, largest first.
func bodiesBySize(ev map[string]any) []string {
	type sized struct {
		k string
		n int
	}
	var s []sized
	for _, k := range bodies {
		if v, ok := ev[k]; ok && v != nil {
			s = append(s, sized{k, len(appendJSON(nil, v))})
		}
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].n > s[j].n })
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i].k
	}
	return out
}

func summarize(body any) any {
	m, ok := body.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for _, k := range []string{"kind", "apiVersion"} {
		if s, ok := m[k].(string); ok {
			out[k] = shorten(s, 256)
		}
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		keep := map[string]any{}
		for _, k := range bodyMeta {
			if v, ok := md[k]; ok {
				if _, nested := v.(map[string]any); !nested {
					keep[k] = shorten(v, 256)
				}
			}
		}
		out["metadata"] = keep
	}
	if items, ok := m["items"].([]any); ok {
		out["items"] = int64(len(items))
	}
	return out
}

// shorten returns v with every string longer than limit bytes cut at a
// rune boundary and ended with "…"; maps and arrays are copied, never
// modified.
func shorten(v any, limit int) any {
	switch x := v.(type) {
	case string:
		if len(x) <= limit {
			return x
		}
		n := limit
		for n > 0 && !utf8.RuneStart(x[n]) {
			n--
		}
		return x[:n] + "…"
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[shorten(k, limit).(string)] = shorten(e, limit)
		}
		return out
	case []any:
		// A long array is cut to its first elements: a count says the rest.
		n := len(x)
		if n > limit/8 {
			n = max(limit/8, 1)
		}
		out := make([]any, n)
		for i := range out {
			out[i] = shorten(x[i], limit)
		}
		return out
	}
	return v
}
