package redact

import (
	"slices"
	"strings"
)

// An event often repeats a credential where nothing shows it to be one: a
// registration token's status names it beside the command line and the
// manifest URL that embed it, a password set by name reappears in a
// connection string or a script of the same object. Once the sweep has
// removed a credential where its name, format or structure showed it,
// every other copy of it in the same event is the same credential.

// minEcho and maxEcho bound the removed values looked for again: shorter
// ones are words and numbers an event holds for other reasons, longer ones
// whole texts that will not recur.
const (
	minEcho = 12
	maxEcho = 1024
)

// maxEchoes bounds the distinct values looked for, so that an event with
// thousands of removals (a list of Secrets) costs a bounded pass per
// string. The ones kept are the least in byte order, not the first
// removed: the sweep meets an object's members in map order, and a retried
// chunk must render the same line.
const maxEchoes = 64

// note remembers a removed value if a copy of it elsewhere in the event
// could only be the credential again. echoes stays sorted.
func (w *walker) note(s string) {
	if !echoable(s) || w.isMarker(s) || strings.Contains(s, w.r.marker) {
		return
	}
	i, found := slices.BinarySearch(w.echoes, s)
	if found || i >= maxEchoes {
		return
	}
	if len(w.echoes) == maxEchoes {
		w.echoes = w.echoes[:maxEchoes-1]
	}
	w.echoes = slices.Insert(w.echoes, i, s)
}

// echoable reports whether s is shaped like a generated value: one token
// (no space or control character) of minEcho to maxEcho bytes with at
// least 3 digits and a run of 6 or more letters and digits holding 2 of
// each (a password of symbols and digits, a hex or base64 key; not a
// timestamp's 201331Z), or in a random mix of cases (randomCase). A name, a namespace, a host or a URL
// without such a run is what a Secret's other values and an event's other
// fields share without being a credential (username: orders-app,
// server: https://kubernetes.default.svc), and is not looked for.
func echoable(s string) bool {
	if len(s) < minEcho || len(s) > maxEcho {
		return false
	}
	digits := 0
	run, runL, runD, mixed := 0, 0, 0, false
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			switch {
			case c <= ' ' || c == 0x7f:
				return false
			case isDigit(c):
				digits++
				run, runD = run+1, runD+1
				continue
			case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
				run, runL = run+1, runL+1
				continue
			}
		}
		mixed = mixed || run >= 6 && runL >= 2 && runD >= 2
		run, runL, runD = 0, 0, 0
	}
	return mixed && digits >= 3 || randomCase(s)
}

// repeated removes every copy of the noted credentials from the strings
// and keys of v, as the content scanner removes a credential from a text:
// the rest of the string kept.
func (w *walker) repeated(v any) {
	needles := w.echoes
	w.echoes = nil
	w.echoesIn(v, needles, 0)
}

// echoesIn returns v without the copies of needles, and whether it
// changed: a string is returned anew, containers are changed in place.
func (w *walker) echoesIn(v any, needles []string, depth int) (any, bool) {
	switch x := v.(type) {
	case string:
		// Boxed only when changed: most strings are not, and boxing
		// each would allocate per string.
		if ns, ok := w.unechoed(x, needles); ok {
			return ns, true
		}
	case map[string]any:
		if depth > maxSweepDepth {
			break
		}
		for k, e := range x {
			if ne, ok := w.echoesIn(e, needles, depth+1); ok {
				x[k] = ne
			}
			if nk, ok := w.unechoed(k, needles); ok {
				// The key goes with its copy of the credential; a member
				// already under the new name keeps its place.
				val := x[k]
				delete(x, k)
				if _, dup := x[nk]; !dup {
					x[nk] = val
				}
			}
		}
	case []any:
		if depth > maxSweepDepth {
			break
		}
		for i, e := range x {
			if ne, ok := w.echoesIn(e, needles, depth+1); ok {
				x[i] = ne
			}
		}
	}
	return v, false
}

// unechoed returns s without the copies of needles it holds.
func (w *walker) unechoed(s string, needles []string) (string, bool) {
	if len(s) < minEcho || w.isMarker(s) {
		return s, false
	}
	changed := false
	for _, n := range needles {
		if len(n) <= len(s) && strings.Contains(s, n) {
			s = strings.ReplaceAll(s, n, w.maskString(n))
			changed = true
		}
	}
	if changed {
		w.rep.add(KindContent)
	}
	return s, changed
}
