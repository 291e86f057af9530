package redact

import (
	"net/url"
	"strings"
)

// uri redacts a requestURI: query parameters whose name is a credential
// (?token=, ?access_token=), parameters whose decoded value holds one, and
// the argv of exec and attach (`command=` parameters in order: a flag
// naming a credential hides the next one, mysql's -p<password> is
// removed); the path is scanned (service and node proxy paths carry
// whatever the client put there).
func (w *walker) uri(s string) (string, bool) {
	if w.keep(s) {
		return "", false
	}
	path, query, hasQuery := strings.Cut(s, "?")
	changed := false
	if nv, ok := w.sweepString(path, "", sctx{}); ok {
		path, changed = nv.(string), true
	}
	if np, ok := w.proxyPath(path); ok {
		path, changed = np, true
	}
	if !hasQuery || query == "" {
		if changed {
			return path, true
		}
		return "", false
	}
	params := strings.Split(query, "&")
	type cmd struct {
		i   int
		val string
	}
	var cmds []cmd
	nm := w.r.rules.names
	for i, p := range params {
		k, v, hasValue := strings.Cut(p, "=")
		kd, err1 := url.QueryUnescape(k)
		vd, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			if v != "" && !w.isMarker(v) {
				params[i] = k + "=" + w.maskString(v)
				w.rep.add(KindFailedClosed)
				changed = true
			}
			continue
		}
		if kd != "" && !w.isMarker(kd) {
			// The name is the client's text too: a secret pasted as a
			// parameter (a base64 run cut at its padding, an encoded
			// assignment like token%3Dx) is judged as a value would be.
			if ns, ok := w.queryText(k, kd, ""); ok {
				k, kd = url.QueryEscape(ns), ns
				params[i] = k
				if hasValue {
					params[i] += "=" + v
				}
				changed = true
			}
		}
		if v == "" || w.isMarker(vd) {
			if v != "" && kd == "command" {
				// A removed argument keeps its place: the next one is
				// not the value of the flag before it.
				cmds = append(cmds, cmd{i, vd})
			}
			continue
		}
		if nm.queryValue(kd, vd) {
			params[i] = k + "=" + url.QueryEscape(w.maskString(vd))
			w.rep.add(KindCredentialName)
			changed = true
			continue
		}
		if kd == "command" {
			cmds = append(cmds, cmd{i, vd})
		}
		if ns, ok := w.queryText(v, vd, kd); ok {
			params[i] = k + "=" + url.QueryEscape(ns)
			changed = true
		}
	}
	if len(cmds) > 1 {
		argv := make([]any, len(cmds))
		for j, c := range cmds {
			argv[j] = c.val
		}
		before := w.rep
		w.sweepArray(argv, "command", sctx{})
		if w.rep != before {
			for j, c := range cmds {
				if a, _ := argv[j].(string); a != c.val {
					params[c.i] = "command=" + url.QueryEscape(a)
				}
			}
			changed = true
		}
	}
	if !changed {
		return "", false
	}
	return path + "?" + strings.Join(params, "&"), true
}

// proxyPath removes, in the part of a path after /proxy/ (what a client
// sends to a service or node through the API server), a segment shaped
// like a generated credential that follows a segment naming one
// (/proxy/api/apikey/<key>/status, /proxy/token/<token>): the path of
// the service's own API, where a key is a path parameter.
func (w *walker) proxyPath(path string) (string, bool) {
	i := strings.Index(path, proxySegment)
	if i < 0 || !w.r.proxyCredential(path[i+len(proxySegment):]) {
		return "", false
	}
	head, tail := path[:i+len(proxySegment)], path[i+len(proxySegment):]
	segs := strings.Split(tail, "/")
	changed := false
	for j := 1; j < len(segs); j++ {
		if w.r.proxyValue(segs[j-1], segs[j]) {
			segs[j] = w.maskString(segs[j])
			w.rep.add(KindCredentialName)
			changed = true
		}
	}
	if !changed {
		return "", false
	}
	return head + strings.Join(segs, "/"), true
}

// proxySegment starts the part of a path the API server passes on.
const proxySegment = "/proxy/"

// proxyValue reports whether the path segment v after the segment name
// is a credential: name names one and v looks generated.
func (r *Redactor) proxyValue(name, v string) bool {
	return generated(v) && r.rules.names.credential(name)
}

// proxyCredential reports whether proxyPath would remove a segment of
// tail, the part of a path after /proxy/ (without allocating: the screen
// asks it of every proxied request).
func (r *Redactor) proxyCredential(tail string) bool {
	prev, rest := "", tail
	for first := true; ; first = false {
		seg, more, ok := strings.Cut(rest, "/")
		if !first && r.proxyValue(prev, seg) {
			return true
		}
		if !ok {
			return false
		}
		prev, rest = seg, more
	}
}

// queryText sweeps a query parameter's text (raw, and decoded as a query
// decodes it) under key. A '+' decodes to a space, which would split a
// base64 run the client meant whole (a secret pasted into a URL without
// escaping): the text is judged with its '+' kept as well, and what
// either reading would remove is removed.
func (w *walker) queryText(raw, decoded, key string) (string, bool) {
	nv, ok := w.sweepString(decoded, key, sctx{})
	if !ok && strings.Contains(raw, "+") {
		if plus, err := url.PathUnescape(raw); err == nil && plus != decoded {
			nv, ok = w.sweepString(plus, key, sctx{})
		}
	}
	ns, isStr := nv.(string)
	return ns, ok && isStr
}
