package redact

// secretKind is one entry of kinds in conf/redact/kubernetes.yaml, compiled
// (knowledge.go) once per resource it names, so a new secret-bearing
// resource is a new entry in that file, not code.
//
// A secret-bearing kind is opened in two ways:
//   - by objectRef: every body of the event belongs to the kind, and any
//     body shape the kind does not understand is replaced whole (fail
//     closed), because the resource is known to carry secrets;
//   - by a body's own kind: the body is redacted wherever it turns up (a
//     Secret echoed by an admission webhook, a SecretList in a generic list),
//     but its neighbours are left alone.
type secretKind struct {
	name string

	// resource, subresource and groups select events by objectRef.
	// subresource "" accepts any subresource; nil groups accept any group.
	resource    string
	subresource string
	groups      []string

	// kinds are body kinds that are this kind's object.
	kinds []string
	// listKinds are body kinds whose items[] are this kind's objects.
	listKinds []string

	// fields is what the kind removes from each of its objects.
	fields []field
	// patch says JSON-patch array bodies are understood: each op value is
	// redacted as what sits at its path (jsonPatch). Without it, an array
	// fails closed.
	patch bool
	// spellings: a member whose name differs from a field's first segment
	// only by case or surrounding space is removed whole.
	spellings bool
}

// field is one secret-bearing location inside a kind's object.
type field struct {
	// path from the object's root; every element but the last must be an
	// object, otherwise the element that is not is replaced (fail closed).
	path []string
	// each means the field is a map whose every value is secret: values
	// are replaced and keys kept. A non-object value is replaced whole.
	each bool
	// kind is what a removal here is reported as.
	kind Kind
}

var coreGroup = []string{""}

// Kinds every secret-bearing kind understands on its own resource. Inert kinds are
// responses and options that carry nothing secret; they are kept even where
// a field's parent has an unexpected type (a Status's `status` is a string,
// which would otherwise trip status.token). Container kinds wrap secret-bearing kind
// objects in items[] or rows[].object.
var (
	inertKinds     = []string{"Status", "DeleteOptions"}
	containerKinds = []string{"List", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"}
)

// genericListKind is a list of mixed kinds: each item is judged by its own kind.
const genericListKind = "List"

func (d *secretKind) matchRef(rf ref) bool {
	if rf.resource != d.resource {
		return false
	}
	if d.subresource != "" && rf.subresource != d.subresource {
		return false
	}
	return d.groups == nil || contains(d.groups, rf.group)
}

// understands reports whether a body of this kind, found on the kind's own
// resource, can be redacted rather than replaced.
func (d *secretKind) understands(kind string) bool {
	return kind == "" || contains(d.kinds, kind) || contains(d.listKinds, kind) || contains(containerKinds, kind)
}

func secretKindForRef(rf ref) *secretKind {
	if rf.resource == "" {
		return nil
	}
	for i := range secretKinds {
		if secretKinds[i].matchRef(rf) {
			return &secretKinds[i]
		}
	}
	return nil
}

// secretKindOf returns the kind whose objects, or lists of them, have this
// kind; object() handles both, since a list is an object with items.
func secretKindOf(kind string) *secretKind {
	for i := range secretKinds {
		if contains(secretKinds[i].kinds, kind) || contains(secretKinds[i].listKinds, kind) {
			return &secretKinds[i]
		}
	}
	return nil
}

// kindNeedles are the secret-bearing kinds' names: an object held in a
// string that names one is always parsed, and one that names one but does
// not parse is removed rather than scanned. They carry no leading quote:
// compact JSON is full of quotes, which would make the scan's first-byte
// search stop everywhere.
var kindNeedles = func() []string {
	var ns []string
	for i := range secretKinds {
		ns = append(ns, secretKinds[i].kinds...)
	}
	return ns
}()

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
