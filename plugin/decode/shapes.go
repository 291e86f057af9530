package decode

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	jsoniter "github.com/json-iterator/go"
)

// Shape names how a record carried its audit events.
type Shape uint8

const (
	Unknown    Shape = iota
	Raw              // the record is the event (tail + json parser, EKS/CloudWatch exports)
	EventList        // an audit.k8s.io EventList, one record per webhook batch
	AKS              // an AKS diagnostic record with the event as JSON in properties.log
	AKSRecords       // an Azure Event Hub batch {"records": [AKS diagnostic records]}
	JSONString       // any of the above as a JSON string under one of textKeys
	CloudWatch       // an EKS CloudWatch Logs subscription batch (logEvents[].message), gzip'd or not
	GKE              // a GKE Cloud Logging entry whose protoPayload is an AuditLog
	Nested           // any of the above as an object under a member of another name
)

func (s Shape) String() string {
	switch s {
	case Raw:
		return "raw"
	case EventList:
		return "eventlist"
	case AKS:
		return "aks"
	case AKSRecords:
		return "aks-records"
	case JSONString:
		return "json-string"
	case CloudWatch:
		return "cloudwatch"
	case GKE:
		return "gke"
	case Nested:
		return "nested"
	}
	return "unknown"
}

// ErrUnrecognized reports a record that holds no audit event in any shape
// decode knows. Its messages never quote record content.
var ErrUnrecognized = errors.New("decode: record is not a known audit event shape")

// SkippedError reports a batch (EventList items or Event Hub records) in
// which some entries were not audit events. The entries that were are still
// returned alongside it.
type SkippedError struct {
	Shape   Shape
	Skipped int
	Total   int
}

func (e *SkippedError) Error() string {
	return fmt.Sprintf("decode: skipped %d of %d %s entries that are not audit events", e.Skipped, e.Total, e.Shape)
}

// jsonAPI is frozen once: building a config per call is expensive. Numbers stay
// json.Number so that they round-trip exactly.
var jsonAPI = jsoniter.Config{UseNumber: true}.Froze()

// maxNesting bounds how many carriers may wrap one another (a Docker
// json-file line read by tail without a parser holds a JSON string that
// holds the event).
const maxNesting = 3

// Events appends the audit events carried by one record body to dst and
// returns the extended slice and the shape it found. A raw event is
// appended as body itself; nothing is copied.
//
// err is nil, or ErrUnrecognized (shape Unknown, nothing appended), or
// a *SkippedError (entries of a batch that are not events were dropped, the
// others appended; possibly none).
func Events(body map[string]any, dst []map[string]any) ([]map[string]any, Shape, error) {
	return eventsIn(body, dst, nil)
}

// Events is the package's Events for a record d returned: an event
// carried as a JSON string is built in d's maps, which Recycle hands
// back with the record's own.
func (d *Decoder) Events(body map[string]any, dst []map[string]any) ([]map[string]any, Shape, error) {
	return eventsIn(body, dst, d)
}

func eventsIn(body map[string]any, dst []map[string]any, d *Decoder) ([]map[string]any, Shape, error) {
	out, shape, b, ok := events(body, dst, 0, d)
	if !ok {
		if text, _ := body[b.broken].(string); b.broken != "" && len(body) == 1 {
			return dst, Unknown, fmt.Errorf("%w: its %s is not valid JSON (%d bytes, cut short or corrupt)", ErrUnrecognized, b.broken, len(text))
		}
		return dst, Unknown, ErrUnrecognized
	}
	if b.skipped > 0 {
		return out, shape, &SkippedError{Shape: shape, Skipped: b.skipped, Total: b.total}
	}
	return out, shape, nil
}

// batch counts the entries of a batch that were not events. broken names
// the member whose text begins a JSON object it does not finish, when no
// event was found: a line tail read without a parser and cut short (a
// write torn by a crash, a line over the reader's buffer) is then not
// mistaken for some other program's log.
type batch struct {
	skipped, total int
	broken         string
}

// textKeys are the members a log line is carried in, tried in this order:
// log (tail, docker and CRI container logs, Fluent Bit's multiline
// parsers), message (the cri parser, syslog, Fluentd's and Vector's
// unparsed lines) and MESSAGE (the systemd input: an API server run as a
// systemd unit with --audit-log-path=- writes its events to the journal).
var textKeys = [...]string{"log", "message", "MESSAGE"}

func events(body map[string]any, dst []map[string]any, depth int, d *Decoder) ([]map[string]any, Shape, batch, bool) {
	if body == nil {
		return dst, Unknown, batch{}, false
	}
	// tail without a parser hands on {"log": "<event>"}: no shape but the
	// text it carries is a single member of these names.
	wrapped := false
	if len(body) == 1 {
		for k, v := range body {
			wrapped = isTextKey(k) && v != nil
		}
	}
	if !wrapped {
		if out, shape, b, ok := shaped(body, dst, d); ok {
			return out, shape, b, true
		}
	}
	if depth >= maxNesting {
		return dst, Unknown, batch{}, false
	}
	broken := ""
	for _, key := range textKeys {
		out, b, found, isBroken := member(body[key], dst, depth, d)
		if found {
			return out, JSONString, b, true
		}
		if isBroken {
			broken = key
		}
	}
	// Pipelines put the line or the event under names of their own: tail's
	// Key, the kubernetes filter's Merge_Log_Key, a nest, lua or modify
	// filter, an OpenTelemetry log's body. Any other member that holds an
	// object or the text of one is read the same way, in name order so
	// that a record gives the same answer every time.
	if envelope(body) {
		return dst, Unknown, batch{broken: broken}, false
	}
	for _, key := range otherMembers(body) {
		out, b, found, isBroken := member(body[key], dst, depth, d)
		if found {
			if _, isText := body[key].(string); isText {
				return out, JSONString, b, true
			}
			return out, Nested, b, true
		}
		if isBroken && broken == "" {
			broken = key
		}
	}
	return dst, Unknown, batch{broken: broken}, false
}

// member reads v, one member of a record, as an object holding events;
// broken says v is text that begins an object it does not finish.
func member(v any, dst []map[string]any, depth int, d *Decoder) (out []map[string]any, b batch, found, broken bool) {
	inner, ok := objectIn(v, d)
	if !ok {
		text, isText := v.(string)
		return dst, batch{}, false, isText && beginsObject(text)
	}
	out, _, b, found = events(inner, dst, depth+1, d)
	return out, b, found, false
}

// envelope reports whether body is a cloud's record that says what it
// holds (an Azure diagnostic record's category, a CloudWatch batch's
// messageType, a Cloud Logging entry's protoPayload): one that holds no
// audit event by its own account is not searched for one.
func envelope(body map[string]any) bool {
	if _, ok := body["category"].(string); ok && body["properties"] != nil {
		return true
	}
	if _, ok := body["messageType"].(string); ok && body["logGroup"] != nil {
		return true
	}
	return body["protoPayload"] != nil || body["awslogs"] != nil
}

func isTextKey(k string) bool {
	for _, t := range textKeys {
		if k == t {
			return true
		}
	}
	return false
}

// beginsObject reports whether text, past leading space and a CRI prefix,
// begins a JSON object: text that may hold an event, or a torn one.
func beginsObject(text string) bool {
	s, _, ok := objectText(text)
	return ok && strings.HasPrefix(s, "{")
}

// otherMembers lists, sorted, the members of body not in textKeys whose
// value is an object or text that may be one.
func otherMembers(body map[string]any) []string {
	var keys []string
	for k, v := range body {
		if isTextKey(k) {
			continue
		}
		switch v := v.(type) {
		case map[string]any:
		case string:
			if !beginsObject(v) {
				continue
			}
		default:
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// shaped recognises the record as an event or a batch of them in one of
// the shapes kaudit reads, other than an event as text in a member.
func shaped(body map[string]any, dst []map[string]any, d *Decoder) ([]map[string]any, Shape, batch, bool) {
	if IsEvent(body) {
		return append(dst, body), Raw, batch{}, true
	}
	if kind, _ := body["kind"].(string); kind == "EventList" && auditGroup(body) {
		if out, b, ok := eventList(body["items"], dst); ok {
			return out, EventList, b, true
		}
	}
	if ev, ok := aksEvent(body, d); ok {
		return append(dst, ev), AKS, batch{}, true
	}
	if recs, ok := body["records"].([]any); ok {
		if out, b, ok := aksRecords(recs, dst, d); ok {
			return out, AKSRecords, b, true
		}
	}
	if out, b, ok := cloudWatchEvents(body, dst, d); ok {
		return out, CloudWatch, b, true
	}
	if ev, ok := gkeEvent(body); ok {
		return append(dst, ev), GKE, batch{}, true
	}
	return dst, Unknown, batch{}, false
}

func eventList(v any, dst []map[string]any) ([]map[string]any, batch, bool) {
	var items []any
	switch v := v.(type) {
	case nil: // an empty list marshals its items as null
	case []any:
		items = v
	default:
		return dst, batch{}, false
	}
	var b batch
	for _, it := range items {
		b.total++
		if ev, ok := it.(map[string]any); ok && IsEvent(ev) {
			dst = append(dst, ev)
		} else {
			b.skipped++
		}
	}
	return dst, b, true
}

// aksRecords extracts the audit events of an Event Hub batch. The batch
// holds whichever diagnostic categories the cluster exports, so records of
// other categories are skipped (and counted). Only an array of Azure
// diagnostic records makes this a batch: other "records" arrays are someone
// else's data.
func aksRecords(recs []any, dst []map[string]any, d *Decoder) ([]map[string]any, batch, bool) {
	var b batch
	diagnostic := false
	n := len(dst)
	for _, it := range recs {
		b.total++
		rec, _ := it.(map[string]any)
		if _, ok := rec["category"].(string); ok {
			diagnostic = true
		}
		if ev, ok := aksEvent(rec, d); ok {
			dst = append(dst, ev)
		} else {
			b.skipped++
		}
	}
	if !diagnostic {
		return dst[:n], batch{}, false
	}
	return dst, b, true
}

// aksEvent extracts the event from an AKS diagnostic record, built in
// d's maps (d may be nil).
func aksEvent(rec map[string]any, d *Decoder) (map[string]any, bool) {
	cat, _ := rec["category"].(string)
	if !strings.EqualFold(cat, "kube-audit") && !strings.EqualFold(cat, "kube-audit-admin") {
		return nil, false
	}
	props, ok := objectIn(rec["properties"], d)
	if !ok {
		return nil, false
	}
	ev, ok := objectIn(props["log"], d)
	if !ok || !IsEvent(ev) {
		return nil, false
	}
	return ev, true
}

// objectIn returns v as a JSON object, parsing it if it is a string,
// built in d's maps (d may be nil).
func objectIn(v any, d *Decoder) (map[string]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return v, true
	case string:
		return parseObjectIn(v, d)
	}
	return nil, false
}

// parseObject parses s as one JSON object. A CRI log prefix
// ("<time> stdout F ") is stripped: tail without a parser on containerd
// logs delivers it. Text that cannot be an object is rejected before the
// JSON parser is involved, since most log lines are not JSON.
func parseObject(s string) (map[string]any, bool) { return parseObjectIn(s, nil) }

// parseObjectIn is parseObject building in d's maps (d may be nil).
func parseObjectIn(text string, d *Decoder) (map[string]any, bool) {
	s, cri, ok := objectText(text)
	if !ok {
		return nil, false
	}
	if m, ok := scanObjectIn(s, d); ok {
		if d != nil && !cri {
			// The text, white space around the object aside, is the
			// object the tape holds.
			d.tapeOf = text
		}
		return m, true
	}
	var m map[string]any
	if err := jsonAPI.UnmarshalFromString(s, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// objectText is text without the white space before it and, when it does
// not begin an object, without a CRI prefix (cri says so); ok is false when
// nothing is left to parse.
func objectText(text string) (s string, cri, ok bool) {
	s = text
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	if s == "" {
		return "", false, false
	}
	if s[0] == '{' {
		return s, false, true
	}
	s, ok = stripCRI(s)
	return s, true, ok
}

// stripCRI removes a full-line CRI prefix: "<RFC3339 time> <stream> F ".
func stripCRI(s string) (string, bool) {
	if s[0] < '0' || s[0] > '9' {
		return "", false
	}
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return "", false
	}
	rest := s[i+1:]
	if !strings.HasPrefix(rest, "stdout F ") && !strings.HasPrefix(rest, "stderr F ") {
		return "", false
	}
	rest = rest[len("stdout F "):]
	if rest == "" || rest[0] != '{' {
		return "", false
	}
	return rest, true
}

// IsEvent reports whether m is an audit event. Complete events say so with
// kind Event and an audit.k8s.io apiVersion, and carry the request. Exported and re-shaped events
// (EKS via CloudWatch, webhook EventList items) often lack kind or
// apiVersion, so those are accepted when they carry audit-only fields, as
// long as nothing present contradicts: a core/v1 Event has kind Event but
// apiVersion v1.
func IsEvent(m map[string]any) bool {
	if !auditGroup(m) {
		return false
	}
	if k, ok := m["kind"]; ok {
		if s, _ := k.(string); s != "Event" {
			return false
		}
		// Even a complete event's kind and apiVersion need one field
		// of the request with them: {"kind":"Event","apiVersion":...}
		// alone is no event to ship.
		return isString(m["verb"]) || isString(m["auditID"]) || isString(m["requestURI"]) ||
			isString(m["stage"]) || isMap(m["objectRef"]) || isMap(m["user"]) || isList(m["sourceIPs"])
	}
	return isString(m["verb"]) &&
		(isString(m["auditID"]) || isString(m["requestURI"]) || isMap(m["objectRef"]) || isMap(m["user"]))
}

// auditGroup reports whether m's apiVersion, if any, is in the audit.k8s.io
// group; any version of the group is accepted.
func auditGroup(m map[string]any) bool {
	v, ok := m["apiVersion"]
	if !ok || v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && (s == "" || strings.HasPrefix(s, "audit.k8s.io/"))
}

func isString(v any) bool { _, ok := v.(string); return ok }

func isMap(v any) bool { _, ok := v.(map[string]any); return ok }

func isList(v any) bool { _, ok := v.([]any); return ok }
