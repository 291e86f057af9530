package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kaudit/kaudit/testdata"
)

// CanaryCorpus reads testdata/canary/events.jsonl (one audit event per
// redaction door, secrets as placeholders) with every placeholder filled by
// a Canary-prefixed value, re-timed to the second before end so Loki
// accepts them. The redact package's unit test reads the same file.
func CanaryCorpus(end time.Time) ([]map[string]any, error) {
	root, err := testdata.Root()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", "canary", "events.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		value := fmt.Sprintf("%sdoor-%03d", Canary, i)
		jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + base64.RawURLEncoding.EncodeToString([]byte(value)) + ".c2lnbmF0dXJl"
		line := strings.NewReplacer(
			"{{CANARY}}", value,
			"{{CANARY_B64}}", base64.StdEncoding.EncodeToString([]byte(value)),
			"{{CANARY_B64URL}}", base64.RawURLEncoding.EncodeToString([]byte(value)),
			"{{JWT_B64}}", base64.StdEncoding.EncodeToString([]byte(jwt)),
		).Replace(sc.Text())
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var ev map[string]any
		if err := dec.Decode(&ev); err != nil {
			return nil, fmt.Errorf("canary corpus line %d: %w", i+1, err)
		}
		ts := end.Add(-time.Duration(i+1) * time.Second).UTC().Format(time.RFC3339Nano)
		ev["requestReceivedTimestamp"], ev["stageTimestamp"] = ts, ts
		out = append(out, ev)
	}
	return out, sc.Err()
}

// ShapeNames are the record shapes EveryShape produces, in order.
var ShapeNames = [...]string{"raw", "eventlist", "aks", "log"}

// EveryShape returns each event in every record shape the plugin accepts
// (raw, one webhook EventList holding them all, AKS diagnostic record, JSON
// string under `log`), each copy with its auditID suffixed by the shape
// name so the copies stay apart in Loki.
func EveryShape(events []map[string]any) []map[string]any {
	var out []map[string]any
	for k, shape := range ShapeNames {
		copies := make([]map[string]any, len(events))
		for i, ev := range events {
			c := make(map[string]any, len(ev))
			for key, v := range ev {
				c[key] = v
			}
			c["auditID"] = fmt.Sprint(ev["auditID"], "-", shape)
			copies[i] = c
		}
		out = append(out, Shape(k, copies)...)
	}
	return out
}
