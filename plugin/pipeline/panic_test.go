package pipeline

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/scripts/e2e"
)

func encode(t testing.TB, records []map[string]any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := fbchunk.Encode(&b, records, fbchunk.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A panic while processing an event drops that event (fail closed: a
// redaction that did not finish must not let its input through) and the
// rest of the chunk goes on.
func TestPanicDropsTheEvent(t *testing.T) {
	c, err := config.Parse(config.MapGetter{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	evs := e2e.Generate(2, 1, time.Now(), time.Minute).Events
	p.s.Detector = nil // a nil engine panics on use
	n := 0
	rep := p.Chunk(encode(t, evs), func(*Event) { n++ })
	if n != 0 || rep.Failed != 2 || !strings.Contains(rep.FirstErr.Error(), "panicked") {
		t.Errorf("events=%d report=%+v", n, rep)
	}
}
