package detect

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestImageRepo(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":      "nginx",
		"nginx:1.27": "nginx",
		"docker.io/library/nginx:1.27@sha256:abcd": "docker.io/library/nginx",
		"registry.local:5000/team/app":             "registry.local:5000/team/app",
		"registry.local:5000/team/app:2.1":         "registry.local:5000/team/app",
		"app@sha256:abcd":                          "app",
		"":                                         "",
	} {
		if got := imageRepo(in); got != want {
			t.Errorf("imageRepo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestImageRegistry(t *testing.T) {
	for in, want := range map[string]string{
		"nginx:1.27":                          "docker.io",
		"bitnami/redis:7":                     "docker.io",
		"ghcr.io/org/app:1":                   "ghcr.io",
		"registry.local:5000/team/app:2.1":    "registry.local",
		"localhost/app":                       "localhost",
		"localhost:5000/app":                  "localhost",
		"203.0.113.7:8080/tool":               "203.0.113.7",
		"[2001:db8::1]:5000/img":              "2001:db8::1",
		"[2001:db8::1]/img@sha256:abcd":       "2001:db8::1",
		"[fd00::5]:5000/img":                  "fd00::5",
		"[::ffff:198.51.100.9]:5000/img:v1.2": "::ffff:198.51.100.9",
		"[2001:db8::1/img":                    "[2001:db8::1",
	} {
		if got := imageRegistry(in); got != want {
			t.Errorf("imageRegistry(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryValues(t *testing.T) {
	ev := map[string]any{"requestURI": "/api/v1/namespaces/a/pods/p/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow&container=c&commandx=no&command"}
	var got []string
	queryAny(rawQuery(ev), "command", collect{&got})
	want := []string{"sh", "-c", "cat /etc/shadow"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if v := queryValue(ev, "tty"); v.kind != kindAbsent {
		t.Errorf("absent parameter gave kind %d", v.kind)
	}
	if v := queryValue(map[string]any{"requestURI": "/api"}, "command"); v.kind != kindAbsent {
		t.Errorf("URI without query gave kind %d", v.kind)
	}
}

// collect is a leaf that records every element and never holds.
type collect struct{ out *[]string }

func (c collect) leaf(v scalar) bool { *c.out = append(*c.out, v.str()); return false }

func TestPublicAndCIDR(t *testing.T) {
	pub := publicLeaf(true)
	for ip, want := range map[string]bool{
		"1.2.3.4": true, "54.212.83.236": true, "2001:4860::1": true, "203.0.113.42": true,
		"10.0.0.1": false, "172.20.1.15": false, "192.168.1.1": false, "127.0.0.1": false,
		"100.64.0.1": false, "169.254.169.254": false, "fd00::1": false, "::1": false,
		"::ffff:10.0.0.1": false, "not-an-ip": false, "": false,
	} {
		if got := pub.leaf(scalar{kind: kindString, s: ip}); got != want {
			t.Errorf("public(%q) = %v, want %v", ip, got, want)
		}
	}
	if publicLeaf(false).leaf(scalar{kind: kindString, s: "not-an-ip"}) {
		t.Error("public: false must not hold on text that is no address")
	}
	p1, _ := parseCIDR("10.0.0.0/8")
	p2, _ := parseCIDR("192.0.2.7")
	c := cidrLeaf{p1, p2}
	for ip, want := range map[string]bool{"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "::ffff:10.0.0.1": true, "x": false} {
		if got := c.leaf(scalar{kind: kindString, s: ip}); got != want {
			t.Errorf("cidr(%q) = %v, want %v", ip, got, want)
		}
	}
}

func TestBodyPath(t *testing.T) {
	ev := map[string]any{"requestObject": map[string]any{
		"roleRef":  map[string]any{"name": "cluster-admin"},
		"subjects": []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}},
		"data":     map[string]any{"k": "v"},
	}}
	if v := bodyPath(ev, "roleRef.name"); v.s != "cluster-admin" {
		t.Errorf("roleRef.name: %+v", v)
	}
	if v := bodyPath(ev, "subjects.name"); v.kind != kindNested {
		t.Errorf("subjects.name: kind %d", v.kind)
	}
	// A deep path through a list reaches into each element; elements
	// without it hold nothing.
	deep := map[string]any{"requestObject": map[string]any{"webhooks": []any{
		map[string]any{"clientConfig": map[string]any{"service": map[string]any{"namespace": "istio-system"}}},
		map[string]any{"clientConfig": map[string]any{"url": "https://x"}}}}}
	v := bodyPath(deep, "webhooks.clientConfig.service.namespace")
	if !(elems{newGlobLeaf([]string{"istio-system"})}).test(&v) || (elems{newGlobLeaf([]string{"x"})}).test(&v) {
		t.Errorf("webhooks.clientConfig.service.namespace: %+v", v)
	}
	if v := bodyPath(ev, "subjects.x.y"); (elems{newGlobLeaf([]string{"*"})}).test(&v) {
		t.Errorf("subjects.x.y holds for no element, got %+v", v)
	}
	if v := bodyPath(ev, "data"); v.kind != kindWalk {
		t.Errorf("data: kind %d", v.kind)
	}
	if v := bodyPath(ev, "missing.path"); v.kind != kindAbsent {
		t.Errorf("missing: kind %d", v.kind)
	}
}

func TestGlobLeafShapes(t *testing.T) {
	g := newGlobLeaf([]string{"exact", "pre*", "*mid*", "a*b*c", "*suf"})
	for s, want := range map[string]bool{
		"exact": true, "exactly": false, "prefix": true, "xmidx": true, "mid": true, "abxc": true, "xxsuf": true,
		"nothing": false, "a": false,
	} {
		if got := g.leaf(scalar{kind: kindString, s: s}); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
	if !newGlobLeaf([]string{"*"}).leaf(scalar{kind: kindString, s: "anything"}) {
		t.Error(`"*" must match everything`)
	}
}

// A glob leaf sorts its patterns by shape to match them faster; whatever
// the patterns, it answers what matching each on its own answers.
func TestGlobLeafIsEachGlob(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	word := func(n int, alphabet string) string {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for round := 0; round < 3000; round++ {
		var patterns []string
		for range 1 + rng.IntN(12) {
			patterns = append(patterns, word(6, "ab:*"))
		}
		g := newGlobLeaf(patterns)
		for range 40 {
			s := word(10, "ab:")
			want := false
			for _, p := range patterns {
				gl := newGlob(p)
				want = want || gl.match(s)
			}
			if got := g.leaf(scalar{kind: kindString, s: s}); got != want {
				t.Fatalf("patterns %q, text %q: %v, each on its own %v", patterns, s, got, want)
			}
		}
	}
}

// BenchmarkGlobLeafLongList is an allow-list grown long, as users grow
// them: 200 service-account prefixes and 50 tool names, against a name
// none of them matches.
func BenchmarkGlobLeafLongList(b *testing.B) {
	var patterns []string
	for i := range 200 {
		patterns = append(patterns, fmt.Sprintf("system:serviceaccount:team-%03d:*", i))
	}
	for i := range 50 {
		patterns = append(patterns, fmt.Sprintf("*tool%02d*", i))
	}
	g := newGlobLeaf(patterns)
	v := scalar{kind: kindString, s: "system:serviceaccount:payments:api-7d9f8"}
	for b.Loop() {
		if g.leaf(v) {
			b.Fatal("matched")
		}
	}
}
