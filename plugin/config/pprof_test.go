package config

import (
	"strings"
	"testing"
)

// pprof is off by default and only meaningful with a listener to serve on.
func TestPprof(t *testing.T) {
	c, err := Parse(MapGetter{})
	if err != nil || c.Pprof {
		t.Fatalf("default: pprof=%v err=%v", c != nil && c.Pprof, err)
	}
	c, err = Parse(MapGetter{"pprof": "on", "metrics_listen": "127.0.0.1:2021"})
	if err != nil || !c.Pprof {
		t.Fatalf("pprof on with a listener: pprof=%v err=%v", c != nil && c.Pprof, err)
	}
	for _, g := range []MapGetter{{"pprof": "on"}, {"pprof": "maybe", "metrics_listen": "127.0.0.1:2021"}} {
		if _, err := Parse(g); err == nil || !strings.Contains(err.Error(), "pprof:") {
			t.Errorf("%v: err %v, want one naming pprof", g, err)
		}
	}
}
