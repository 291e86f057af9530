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
		k, v, _ := strings.Cut(p, "=")
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
		if !strings.Contains(p, "=") && kd != "" && !w.isMarker(kd) {
			// A parameter without a value is judged as one: an encoded
			// name can hold an assignment (token%3Dx).
			if nv, ok := w.sweepString(kd, "", sctx{}); ok {
				if ns, isStr := nv.(string); isStr {
					params[i] = url.QueryEscape(ns)
					changed = true
				}
			}
			continue
		}
		if v == "" || w.isMarker(vd) {
			if v != "" && kd == "command" {
				// A removed argument keeps its place: the next one is
				// not the value of the flag before it.
				cmds = append(cmds, cmd{i, vd})
			}
			continue
		}
		if nm.credential(kd) {
			params[i] = k + "=" + url.QueryEscape(w.maskString(vd))
			w.rep.add(KindCredentialName)
			changed = true
			continue
		}
		if kd == "command" {
			cmds = append(cmds, cmd{i, vd})
		}
		if nv, ok := w.sweepString(vd, kd, sctx{}); ok {
			if ns, isStr := nv.(string); isStr {
				params[i] = k + "=" + url.QueryEscape(ns)
				changed = true
			}
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
