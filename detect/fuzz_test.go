package detect_test

import (
	"testing"
)

// FuzzDetect feeds arbitrary JSON, decoded the way the plugin decodes
// records, to the default rules: Detect must not panic and its result must
// stay consistent.
func FuzzDetect(f *testing.F) {
	e := defaultEngine(f)
	for _, fx := range loadFixtures(f) {
		f.Add(fx.raw)
	}
	for _, m := range routineMix {
		f.Add([]byte(m.json))
	}
	f.Add([]byte(`{"kind":0}`))
	f.Add([]byte(`{"verb":"patch","objectRef":{"resource":"deployments"},"requestObject":[{"op":"add","path":"/spec/template/spec/containers/-","value":{"securityContext":{"privileged":true}}}]}`))
	f.Add([]byte(`{"verb":"create","objectRef":{"resource":"clusterroles"},"requestObject":{"rules":[{"verbs":["escalate",7,null]}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := decodeEvent(data)
		if err != nil {
			return
		}
		checkResult(t, e.Detect(ev, nil))
	})
}
