package detect

import (
	"net/netip"
	"net/url"
	"path"
	"strings"
)

// podSpec returns the pod spec of a pod-bearing body (a Pod, a workload's
// template, a CronJob's job template), or nil. JSON patch arrays are not
// inspected here: only pod.privileged reasons about patch operations.
func podSpec(ev map[string]any) map[string]any {
	b, _ := body(ev).(map[string]any)
	if b == nil {
		return nil
	}
	kind := str(b, "kind")
	if kind == "" {
		kind = podKindForResource(str(obj(ev, "objectRef"), "resource"))
	}
	spec, _ := podSpecOf(b, kind)
	return spec
}

// walkValue wraps a walker over m, absent when it visits nothing, so
// {absent: true} and not keep their meaning on walked fields.
func walkValue(m map[string]any, w walker) value {
	if m == nil || !w(m, anyLeaf{}) {
		return value{}
	}
	return value{scalar: scalar{kind: kindWalk}, m: m, walk: w}
}

// anyLeaf holds for every element: it tells a walker's emptiness.
type anyLeaf struct{}

func (anyLeaf) leaf(scalar) bool { return true }

// anyContainer reports whether fn holds for a container, initContainer or
// ephemeralContainer of spec (nil for an element that is no mapping).
func anyContainer(spec map[string]any, fn func(c map[string]any) bool) bool {
	for _, k := range containerLists {
		cs, _ := spec[k].([]any)
		for _, c := range cs {
			m, _ := c.(map[string]any)
			if fn(m) {
				return true
			}
		}
	}
	return false
}

// anySecurityContext reports whether fn holds for the pod's
// securityContext or a container's, since a container's setting
// overrides the pod's.
func anySecurityContext(spec map[string]any, fn func(sc map[string]any) bool) bool {
	return fn(obj(spec, "securityContext")) || anyContainer(spec, func(c map[string]any) bool {
		return fn(obj(c, "securityContext"))
	})
}

func walkImages(spec map[string]any, l leaf) bool {
	return anyContainer(spec, func(c map[string]any) bool {
		v := scalarIn(c["image"])
		return v.kind == kindString && l.leaf(v)
	})
}

// imageRepo strips the tag and digest: registry.local:5000/team/app:1.2@sha256:…
// becomes registry.local:5000/team/app (a registry port is not a tag).
func imageRepo(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}

func walkImageRepos(spec map[string]any, l leaf) bool {
	return anyContainer(spec, func(c map[string]any) bool {
		img, _ := c["image"].(string)
		r := imageRepo(img)
		return r != "" && l.leaf(scalar{kind: kindString, s: r})
	})
}

// imageRegistry is the host an image is pulled from. A first path
// component without a dot or a colon (and not localhost) is a Docker Hub
// namespace, as the runtime reads it, not a host.
func imageRegistry(image string) string {
	host, _, ok := strings.Cut(image, "/")
	if !ok || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return "docker.io"
	}
	if rest, ok := strings.CutPrefix(host, "["); ok {
		if addr, _, ok := strings.Cut(rest, "]"); ok {
			return addr
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return host
}

func walkImageRegistries(spec map[string]any, l leaf) bool {
	return anyContainer(spec, func(c map[string]any) bool {
		img, _ := c["image"].(string)
		return img != "" && l.leaf(scalar{kind: kindString, s: imageRegistry(img)})
	})
}

func walkCapabilities(spec map[string]any, l leaf) bool {
	return anyContainer(spec, func(c map[string]any) bool {
		add, _ := obj(obj(c, "securityContext"), "capabilities")["add"].([]any)
		for _, a := range add {
			if v := scalarIn(a); v.kind == kindString && l.leaf(scalar{kind: kindString, s: capabilityName(v.s)}) {
				return true
			}
		}
		return false
	})
}

func walkHostPaths(spec map[string]any, l leaf) bool {
	vols, _ := spec["volumes"].([]any)
	for _, x := range vols {
		m, _ := x.(map[string]any)
		if hostPathLeaf(obj(m, "hostPath")["path"], l) {
			return true
		}
	}
	return false
}

// capabilityName is a capability as the runtime grants it: container
// runtimes take sys_admin and CAP_SYS_ADMIN for SYS_ADMIN, so lists need
// only the one spelling.
func capabilityName(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			s = strings.ToUpper(s)
			break
		}
	}
	return strings.TrimPrefix(s, "CAP_")
}

// hostPathLeaf puts the host path x (a volume's hostPath.path) to l as
// the kubelet mounts it: /., //, /etc/ and /var/../etc are / and /etc.
func hostPathLeaf(x any, l leaf) bool {
	v := scalarIn(x)
	if v.kind != kindString {
		return false
	}
	if c := path.Clean(v.s); c != "." {
		v.s = c
	}
	return l.leaf(v)
}

// walkMapping visits the keys and the scalar values of a mapping, which is
// how rules search ConfigMap data or labels.
func walkMapping(m map[string]any, l leaf) bool {
	for k, x := range m {
		if k != "" && l.leaf(scalar{kind: kindString, s: k}) {
			return true
		}
		if v := scalarIn(x); v.kind != kindAbsent && l.leaf(v) {
			return true
		}
	}
	return false
}

// bodyPath backs body[a.b.c]: it follows a dotted path into the body. A
// list met on the way yields the rest of the path in every element
// (body[subjects.name], body[webhooks.clientConfig.service.namespace]);
// a mapping at the end yields its keys and values.
func bodyPath(ev map[string]any, path string) value {
	var cur any = body(ev)
	for path != "" {
		key, rest, _ := strings.Cut(path, ".")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[key]
		case []any:
			if len(c) == 0 {
				return value{}
			}
			return value{scalar: scalar{kind: kindNested}, list: c, key: path}
		default:
			return value{}
		}
		path = rest
	}
	switch c := cur.(type) {
	case map[string]any:
		return walkValue(c, walkMapping)
	case []any:
		return listOf(c)
	}
	return scalarOf(cur)
}

// rawQuery returns the query string of requestURI ("" without one).
func rawQuery(ev map[string]any) string {
	uri, _ := ev["requestURI"].(string)
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[i+1:]
	}
	return ""
}

// dryRun reports whether the request was a dry run (dryRun=All): one the
// API server validated and answered without persisting anything.
func dryRun(ev map[string]any) bool {
	q := rawQuery(ev)
	return strings.Contains(q, "dryRun=") && queryAny(q, "dryRun", dryRunAll)
}

var dryRunAll = &eqLeaf{strs: []string{"All"}}

// queryValue backs query[param]: absent unless the parameter occurs.
func queryValue(ev map[string]any, param string) value {
	q := rawQuery(ev)
	if q == "" || !queryAny(q, param, anyLeaf{}) {
		return value{}
	}
	return value{scalar: scalar{kind: kindQuery, s: q}, key: param}
}

// queryAny reports whether l holds for a decoded value of param in the raw
// query q. Only values with escapes are decoded (and so allocate).
func queryAny(q, param string, l leaf) bool {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != param {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if d, err := url.QueryUnescape(v); err == nil {
				v = d
			}
		}
		if v != "" && l.leaf(scalar{kind: kindString, s: v}) {
			return true
		}
	}
	return false
}

// execCommand backs exec.command: the command query parameters of an exec
// request (what kubectl sends), else the command list of a PodExecOptions
// body (what some managed control planes log).
func execCommand(ev map[string]any) value {
	if v := queryValue(ev, "command"); v.kind != kindAbsent {
		return v
	}
	b, _ := ev["requestObject"].(map[string]any)
	return listOf(b["command"])
}

// cidrLeaf holds for an address inside any of its prefixes.
type cidrLeaf []netip.Prefix

func (c cidrLeaf) leaf(v scalar) bool {
	if len(c) == 0 {
		return false // an empty user list (threat_source_ips) costs nothing
	}
	a, ok := addrOf(v.str())
	if !ok {
		return false
	}
	for _, p := range c {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseCIDR accepts a prefix (10.0.0.0/8) or a single address.
func parseCIDR(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// addrOf parses s as an IP address (IPv4-mapped IPv6 unmapped). Text
// with a character no address has (a host name, a registry) is refused
// before netip, whose error would allocate: these tests meet names on
// routine events.
func addrOf(s string) (netip.Addr, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			break // an IPv6 zone, which netip judges
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':') {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// sharedAddressSpace is the carrier-grade NAT range (RFC 6598), private in
// practice though netip does not call it so.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// publicLeaf holds for addresses that are (public true) or are not (false)
// routable on the internet; text that is no address never holds.
type publicLeaf bool

func (p publicLeaf) leaf(v scalar) bool {
	a, ok := addrOf(v.str())
	if !ok {
		return false
	}
	public := !(a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		a.IsMulticast() || a.IsLinkLocalMulticast() || sharedAddressSpace.Contains(a))
	return public == bool(p)
}

// walkSecurityField visits one securityContext key (runAsUser,
// runAsNonRoot) of the pod and of every container, since a container's
// setting overrides the pod's.
func walkSecurityField(spec map[string]any, key string, l leaf) bool {
	return anySecurityContext(spec, func(sc map[string]any) bool {
		v := scalarIn(sc[key])
		return v.kind != kindAbsent && l.leaf(v)
	})
}

func walkRunAsUser(spec map[string]any, l leaf) bool {
	return walkSecurityField(spec, "runAsUser", l)
}

func walkRunAsNonRoot(spec map[string]any, l leaf) bool {
	return walkSecurityField(spec, "runAsNonRoot", l)
}

// walkCommands visits every word of every container's command and args.
func walkCommands(spec map[string]any, l leaf) bool {
	return anyContainer(spec, func(c map[string]any) bool {
		for _, key := range [...]string{"command", "args"} {
			words, _ := c[key].([]any)
			for _, w := range words {
				if v := scalarIn(w); v.kind == kindString && l.leaf(v) {
					return true
				}
			}
		}
		return false
	})
}

// walkSecurityProfiles visits the isolation profiles of the pod's and of
// every container's securityContext as key:value
// (seccompProfile:Unconfined, appArmorProfile:RuntimeDefault,
// procMount:Unmasked).
func walkSecurityProfiles(spec map[string]any, l leaf) bool {
	return anySecurityContext(spec, func(sc map[string]any) bool {
		for _, key := range [...]string{"seccompProfile", "appArmorProfile"} {
			if t, _ := obj(sc, key)["type"].(string); t != "" && l.leaf(scalar{kind: kindString, s: key + ":" + t}) {
				return true
			}
		}
		pm, _ := sc["procMount"].(string)
		return pm != "" && l.leaf(scalar{kind: kindString, s: "procMount:" + pm})
	})
}
