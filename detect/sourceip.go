package detect

import (
	"fmt"
	"net/netip"
	"strings"
)

// The API server builds sourceIPs from the X-Forwarded-For header (as the
// client sent it), then X-Real-Ip, then the address of the connection it
// accepted. Only that last entry is a fact; the others are whatever the
// client, or a proxy in front of the API server, wrote. The client address
// is therefore found from the end: step back over the proxies the site
// trusts (the trusted_proxies list) to the first address that is not one.
// A client that forges a header only adds entries in front of it.

// sourceProxies are the prefixes of trusted_proxies, parsed once per engine.
type sourceProxies []netip.Prefix

func (p sourceProxies) trusted(s string) bool {
	if len(p) == 0 {
		return false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// clientIndex returns the index in ips of the client address, or -1.
func (p sourceProxies) clientIndex(ips []any) int {
	for i := len(ips) - 1; i >= 0; i-- {
		s, _ := ips[i].(string)
		if i == 0 || !p.trusted(s) {
			return i
		}
	}
	return -1
}

func (p sourceProxies) sourceIP(ev map[string]any) value {
	ips, ok := ev["sourceIPs"].([]any)
	if !ok {
		return scalarOf(ev["sourceIPs"])
	}
	if i := p.clientIndex(ips); i >= 0 {
		return scalarOf(ips[i])
	}
	return value{}
}

func (p sourceProxies) forwarded(ev map[string]any) value {
	ips, _ := ev["sourceIPs"].([]any)
	if i := p.clientIndex(ips); i > 0 {
		return value{scalar: scalar{kind: kindList}, list: ips[:i]}
	}
	return value{}
}

func peerIP(ev map[string]any) value {
	ips, ok := ev["sourceIPs"].([]any)
	if !ok {
		return scalarOf(ev["sourceIPs"])
	}
	if len(ips) == 0 {
		return value{}
	}
	return scalarOf(ips[len(ips)-1])
}

// netFields returns engine copies of the fields that depend on
// trusted_proxies, bound to the parsed list.
func netFields(p sourceProxies) map[string]*field {
	out := map[string]*field{}
	for _, name := range []string{"sourceIP", "forwardedIPs"} {
		f, _, _ := lookupField(name)
		cp := *f
		switch name {
		case "sourceIP":
			cp.get = func(ev map[string]any, _ string) value { return p.sourceIP(ev) }
		case "forwardedIPs":
			cp.get = func(ev map[string]any, _ string) value { return p.forwarded(ev) }
		}
		out[name] = &cp
	}
	return out
}

// SourceIP returns the client address of ev as the rules see it: the last
// entry of sourceIPs, stepping back over trusted_proxies. "" if none.
func (e *Engine) SourceIP(ev map[string]any) string {
	if v := e.proxies.sourceIP(ev); v.kind == kindString {
		return v.s
	}
	return ""
}

// ProxiesSource is a rule source that appends addresses and prefixes to
// trusted_proxies, for settings that come from outside rule files (the
// plugin's trusted_proxies key).
func ProxiesSource(name string, prefixes []string) Source {
	var b strings.Builder
	b.WriteString("lists:\n  trusted_proxies:\n    append: true\n    items:\n")
	for _, p := range prefixes {
		fmt.Fprintf(&b, "      - %q\n", p)
	}
	return Source{Name: name, Data: []byte(b.String())}
}
