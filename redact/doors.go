package redact

// A door is one way secrets get into an audit event. Doors are data, not
// code: the walker in redact.go interprets them, so a new secret-bearing
// resource is a new table row, and no door needs its own tree walk.
//
// A door is opened in two ways:
//   - by objectRef: every body of the event belongs to the door, and any
//     body shape the door does not understand is replaced whole (fail
//     closed), because the resource is known to carry secrets;
//   - by a body's own kind: the body is redacted wherever it turns up (a
//     Secret echoed by an admission webhook, a SecretList in a generic list),
//     but its neighbours are left alone.
type door struct {
	name string

	// resource, subresource and groups select events by objectRef.
	// subresource "" accepts any subresource; nil groups accept any group.
	resource    string
	subresource string
	groups      []string

	// kinds are body kinds that are this door's object.
	kinds []string
	// listKinds are body kinds whose items[] are this door's objects.
	listKinds []string

	// fields is what the door removes from each of its objects.
	fields []field
	// patch says JSON-patch array bodies are understood: each op value is
	// redacted as what sits at its path (jsonPatch). Without it, an array
	// fails closed.
	patch bool
}

// field is one secret-bearing location inside a door's object.
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

// doors is the table of secret-bearing shapes. Order matters only for
// objectRef matching, where the first match wins.
var doors = [...]door{
	{
		name:     "secret",
		resource: "secrets",
		// Any group, as the Lua script did: a resource named
		// secrets is presumed to hold secrets whatever its group.
		groups:    nil,
		kinds:     []string{"Secret"},
		listKinds: []string{"SecretList"},
		fields: []field{
			{path: []string{"data"}, each: true, kind: KindSecretData},
			{path: []string{"stringData"}, each: true, kind: KindSecretData},
		},
		patch: true,
	},
	{
		name:        "token_request",
		resource:    "serviceaccounts",
		subresource: "token",
		groups:      coreGroup,
		kinds:       []string{"TokenRequest"},
		fields: []field{
			{path: []string{"status", "token"}, kind: KindToken},
		},
	},
	{
		name:     "token_review",
		resource: "tokenreviews",
		kinds:    []string{"TokenReview"},
		fields: []field{
			{path: []string{"spec", "token"}, kind: KindToken},
		},
	},
}

// Kinds every door understands on its own resource. Inert kinds are
// responses and options that carry nothing secret; they are kept even where
// a field's parent has an unexpected type (a Status's `status` is a string,
// which would otherwise trip status.token). Container kinds wrap door
// objects in items[] or rows[].object.
var (
	inertKinds     = []string{"Status", "DeleteOptions"}
	containerKinds = []string{"List", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"}
)

// genericListKind is a list of mixed kinds: each item is judged by its own kind.
const genericListKind = "List"

func (d *door) matchRef(rf ref) bool {
	if rf.resource != d.resource {
		return false
	}
	if d.subresource != "" && rf.subresource != d.subresource {
		return false
	}
	return d.groups == nil || contains(d.groups, rf.group)
}

// understands reports whether a body of this kind, found on the door's own
// resource, can be redacted rather than replaced.
func (d *door) understands(kind string) bool {
	return kind == "" || contains(d.kinds, kind) || contains(d.listKinds, kind) || contains(containerKinds, kind)
}

func doorForRef(rf ref) *door {
	if rf.resource == "" {
		return nil
	}
	for i := range doors {
		if doors[i].matchRef(rf) {
			return &doors[i]
		}
	}
	return nil
}

// doorForKind returns the door whose objects, or lists of them, have this
// kind; object() handles both, since a list is an object with items.
func doorForKind(kind string) *door {
	for i := range doors {
		if contains(doors[i].kinds, kind) || contains(doors[i].listKinds, kind) {
			return &doors[i]
		}
	}
	return nil
}

// kindNeedles are the door kinds; a last-applied annotation on a body no
// door or rule claims is parsed only if it contains one of them (or a rule's
// kind, or a \u escape that could spell one), so the common case costs a
// substring scan and no allocation. They carry no leading quote:
// compact JSON is full of quotes, which would make the scan's first-byte
// search stop everywhere.
var kindNeedles = func() []string {
	var ns []string
	for i := range doors {
		ns = append(ns, doors[i].kinds...)
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
