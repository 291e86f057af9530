package redact

import (
	"net/url"
	"strings"
)

// ref is the part of objectRef that decides which secret-bearing kind an event belongs to.
type ref struct {
	group, resource, subresource string
}

// readRef takes the resource from objectRef and, when objectRef names none
// (partial EKS-shaped events), from requestURI, so a secret read with a
// stripped objectRef still fails closed.
func readRef(ev map[string]any) ref {
	var rf ref
	if m, ok := ev["objectRef"].(map[string]any); ok {
		rf.resource, _ = m["resource"].(string)
		rf.subresource, _ = m["subresource"].(string)
		rf.group, _ = m["apiGroup"].(string)
	}
	if rf.resource == "" {
		if uri, ok := ev["requestURI"].(string); ok {
			rf = refFromURI(uri)
		}
	}
	return rf
}

// readRefs returns readRef and, as alt, what requestURI alone says: a
// body is secret-bearing if either says so, so an objectRef that was
// stripped, misspelt or contradicts the URI cannot open a way out.
func readRefs(ev map[string]any) (rf, alt ref) {
	rf = readRef(ev)
	if uri, ok := ev["requestURI"].(string); ok {
		alt = refFromURI(uri)
	}
	return rf, alt
}

// refFromURI parses /api/v1/[namespaces/NS/]RES[/NAME[/SUB]] and
// /apis/GROUP/VERSION/[namespaces/NS/]RES[/NAME[/SUB]] without allocating.
func refFromURI(uri string) ref {
	path, _, _ := strings.Cut(uri, "?")
	if strings.IndexByte(path, '%') >= 0 {
		// The API server decodes the path before routing:
		// /api/v1/namespaces/x/%73ecrets is a secrets request.
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	path = strings.TrimPrefix(path, "/")
	var seg [8]string
	n := 0
	for n < len(seg) && path != "" {
		seg[n], path, _ = strings.Cut(path, "/")
		n++
	}
	var rf ref
	var rest []string
	switch {
	case n >= 3 && seg[0] == "api":
		rest = seg[2:n]
	case n >= 4 && seg[0] == "apis":
		rf.group = seg[1]
		rest = seg[3:n]
	default:
		return ref{}
	}
	if len(rest) >= 3 && rest[0] == "namespaces" {
		rest = rest[2:]
	}
	rf.resource = rest[0]
	if len(rest) >= 3 {
		rf.subresource = rest[2]
	}
	return rf
}
