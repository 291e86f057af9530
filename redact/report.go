package redact

import "strconv"

// Kind classifies a removal. The set is closed: its names are metric label
// values and Loki structured metadata, so adding one is a visible change and
// renaming one breaks dashboards.
type Kind uint8

// Kinds are declared in alphabetical order so that Report.String is sorted
// by construction.
const (
	// KindContent counts credentials the content scanner found in a string
	// (a JWT in a message, a provider key, a password in a URL, a
	// key=value assignment) and removed, the rest of the string kept, and
	// strings that repeated a credential removed elsewhere in the event.
	KindContent Kind = iota
	// KindCredentialName counts values removed because the key, env name,
	// JSON-patch path or flag that names them names a credential.
	KindCredentialName
	// KindEncoded counts base64 or hex values removed whole because what
	// they decode to (gzip opened) holds a credential, or could not be
	// opened.
	KindEncoded
	// KindFailedClosed counts whole values replaced because their shape was
	// not understood (a string body on a secrets event, `data` that is not
	// an object, an unparseable last-applied annotation, ...).
	KindFailedClosed
	// KindLastApplied counts last-applied-configuration annotations that
	// were rewritten with their secrets removed.
	KindLastApplied
	// KindManagedFields counts metadata.managedFields removed: they name
	// every field a manager set (a Secret's data keys included) and are
	// noise in a log store.
	KindManagedFields
	// KindPatchValue counts JSON-patch values removed whole because the
	// operation could not be interpreted (unknown op, bad path, extra
	// members) on a secret-bearing resource.
	KindPatchValue
	// KindRecordCopy counts copies of the event the Fluent Bit record
	// carried besides it (the original JSON kept under log by Merge_Log
	// with Keep_Log, or by Preserve_Key): dropped, since the redacted event
	// is what is shipped.
	KindRecordCopy
	// KindRuleValue counts values removed by a rule of rules:
	// (conf/redact/default.yaml, redact_file): ConfigMap keys, container env
	// values, a site's own fields.
	KindRuleValue
	// KindSecretData counts values removed from a Secret's data/stringData.
	KindSecretData
	// KindStrict counts strings removed by redact_mode strict because their
	// field is not on the allow-list.
	KindStrict
	// KindToken counts bearer tokens removed (TokenRequest, TokenReview).
	KindToken

	kindCount
)

var kindNames = [kindCount]string{
	KindContent:        "content",
	KindCredentialName: "credential_name",
	KindEncoded:        "encoded",
	KindRecordCopy:     "record_copy",
	KindStrict:         "strict",
	KindFailedClosed:   "failed_closed",
	KindLastApplied:    "last_applied",
	KindManagedFields:  "managed_fields",
	KindPatchValue:     "patch_value",
	KindRuleValue:      "rule_value",
	KindSecretData:     "secret_data",
	KindToken:          "token",
}

// String returns the kind's label value.
func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds returns every Kind, in String order, so a metrics counter can start
// each label at zero.
func Kinds() []Kind {
	ks := make([]Kind, kindCount)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// Report says how much was removed from one event, by kind. It never
// carries key names or values: a list of redacted key names can leak on
// its own.
type Report struct {
	n [kindCount]int
}

func (r *Report) add(k Kind) { r.n[k]++ }

func (r *Report) addN(k Kind, n int) { r.n[k] += n }

// Count returns how many removals of kind k the report holds.
func (r Report) Count(k Kind) int {
	if k < kindCount {
		return r.n[k]
	}
	return 0
}

// Total returns the number of removals of every kind.
func (r Report) Total() int {
	t := 0
	for _, n := range r.n {
		t += n
	}
	return t
}

// Empty reports whether nothing was removed.
func (r Report) Empty() bool { return r.n == [kindCount]int{} }

// Add accumulates o into r, for per-chunk totals.
func (r *Report) Add(o Report) {
	for i, n := range o.n {
		r.n[i] += n
	}
}

// String renders the report as "kind=count" pairs, sorted by kind and
// comma-separated, omitting zero counts: "failed_closed=1,secret_data=3".
// An empty report renders as "".
func (r Report) String() string {
	if r.Empty() {
		return ""
	}
	var buf [128]byte
	b := buf[:0]
	for k, n := range r.n {
		if n == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, kindNames[k]...)
		b = append(b, '=')
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return string(b)
}
