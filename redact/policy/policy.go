// Package policy applies a Kubernetes audit Policy (audit.k8s.io/v1) to
// events that were already written, for clusters whose API server flags
// nobody can set (AKS, EKS, GKE send everything). Like redaction, it decides
// what is stored; it never sees Fluent Bit types.
//
// Loading is Kubernetes' own: the API server's types and scheme decode the
// file strictly and its validation checks it. Matching ports the API
// server's rule evaluator (k8s.io/apiserver/pkg/audit/policy, checker.go)
// to read the event's fields in place: the evaluator itself would cost an
// attributes object per event, a copy of every rule it tries, and its
// package pulls k8s.io/component-base's metrics registry (Go and process
// collectors, apiserver_audit_* counters registered at load) and 1.4 MB into
// the .so. A differential test holds the port to the real evaluator over
// generated policies and requests, so a file behaves here exactly as it
// would behind --audit-policy-file.
package policy

import (
	"errors"
	"fmt"
	"os"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	audit "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/apis/audit/validation"
)

// Level is an audit level; None < Metadata < Request < RequestResponse.
type Level uint8

// Levels in ascending order, so comparisons are meaningful.
const (
	None Level = iota
	Metadata
	Request
	RequestResponse
	// NumLevels sizes per-level counters.
	NumLevels
)

var levelNames = [NumLevels]string{"None", "Metadata", "Request", "RequestResponse"}

// String returns the level as audit.k8s.io spells it.
func (l Level) String() string {
	if l < NumLevels {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// ParseLevel reads a level as audit.k8s.io spells it.
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if s == n {
			return Level(i), true
		}
	}
	return None, false
}

func fromK8s(l audit.Level) Level {
	lv, _ := ParseLevel(string(l))
	return lv
}

// Policy is a loaded audit Policy, safe for concurrent use.
type Policy struct {
	rules []rule
	// omitStages and omitManagedFields are the policy-wide settings, which
	// also apply when no rule matches.
	omitStages        []string
	omitManagedFields bool
}

// rule is one PolicyRule ready to match: the policy-wide omitStages merged
// in, omitManagedFields resolved, as NewPolicyRuleEvaluator does.
type rule struct {
	level                                     Level
	users, userGroups, verbs, namespaces, nrs []string
	resources                                 []audit.GroupResources
	omitStages                                []string
	omitManagedFields                         bool
}

// Rules returns the number of rules, for the start-up log line.
func (p *Policy) Rules() int { return len(p.rules) }

// LoadFile reads and loads a policy file.
func LoadFile(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(b)
}

// strict is the API server's decoder (the scheme of k8s.io/apiserver/pkg/audit,
// built the same way) with unknown and duplicate fields made errors.
var strict = func() runtime.Decoder {
	sc := runtime.NewScheme()
	metav1.AddToGroupVersion(sc, schema.GroupVersion{Version: "v1"})
	if err := errors.Join(auditv1.AddToScheme(sc), audit.AddToScheme(sc), sc.SetVersionPriority(auditv1.SchemeGroupVersion)); err != nil {
		panic(err) // static registration; cannot fail
	}
	return serializer.NewCodecFactory(sc, serializer.EnableStrict).UniversalDecoder()
}()

// Load decodes and validates a policy the way the API server does
// (k8s.io/apiserver/pkg/audit/policy.LoadPolicyFromBytes), with one
// difference: where the API server logs a warning and falls back to lenient
// decoding, Load fails, because a misspelt field here silently changes what
// is stored and a log shipper has no start-up warning anyone reads.
func Load(data []byte) (*Policy, error) {
	pol, err := decode(data)
	if err != nil {
		return nil, err
	}
	return compile(pol), nil
}

func decode(data []byte) (*audit.Policy, error) {
	pol := &audit.Policy{}
	_, gvk, err := strict.Decode(data, nil, pol)
	if err != nil {
		return nil, fmt.Errorf("failed decoding: %s", oneLine(err.Error()))
	}
	if gv := (schema.GroupVersion{Group: gvk.Group, Version: gvk.Version}); gv != auditv1.SchemeGroupVersion {
		return nil, fmt.Errorf("unknown group version field %v in policy", gvk)
	}
	if errs := validation.ValidatePolicy(pol); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	if len(pol.Rules) == 0 {
		return nil, errors.New("loaded illegal policy with 0 rules")
	}
	return pol, nil
}

func compile(pol *audit.Policy) *Policy {
	p := &Policy{omitManagedFields: pol.OmitManagedFields}
	for _, s := range pol.OmitStages {
		p.omitStages = append(p.omitStages, string(s))
	}
	for _, r := range pol.Rules {
		cr := rule{level: fromK8s(r.Level), users: r.Users, userGroups: r.UserGroups, verbs: r.Verbs,
			namespaces: r.Namespaces, nrs: r.NonResourceURLs, resources: r.Resources,
			omitStages: append([]string(nil), p.omitStages...), omitManagedFields: pol.OmitManagedFields}
		for _, s := range r.OmitStages {
			cr.omitStages = append(cr.omitStages, string(s))
		}
		if r.OmitManagedFields != nil {
			cr.omitManagedFields = *r.OmitManagedFields
		}
		p.rules = append(p.rules, cr)
	}
	return p
}

// oneLine folds a multi-line YAML error into the single line Fluent Bit
// logs at start.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Decision is what the policy says about one event.
type Decision struct {
	// Level is the level the event is stored at: the matching rule's,
	// never above the level the event arrived with.
	Level Level
	// Arrived is the event's own level (RequestResponse when absent or
	// unknown: the event may carry anything).
	Arrived Level
	// Omitted is set when the event's stage is omitted, policy-wide or by
	// the matching rule.
	Omitted bool
	// OmitManagedFields asks for metadata.managedFields to be removed from
	// the request and response objects.
	OmitManagedFields bool
}

// Drop reports whether the API server would not have written the event.
func (d Decision) Drop() bool { return d.Level == None || d.Omitted }

// Keep turns a dropping decision into the least that is still stored: the
// event's metadata. Used for events whose detections must stay visible.
func (d Decision) Keep() Decision {
	d.Omitted = false
	if d.Level == None {
		d.Level = Metadata
	}
	return d
}

// Evaluate finds the policy's decision for an event: rules in order, first
// match wins, no match is None. It does not modify the event.
func (p *Policy) Evaluate(ev map[string]any) Decision {
	q := requestOf(ev)
	d := Decision{Level: None, Arrived: RequestResponse, OmitManagedFields: p.omitManagedFields}
	omit := p.omitStages
	for i := range p.rules {
		if r := &p.rules[i]; r.matches(&q) {
			d.Level, d.OmitManagedFields, omit = r.level, r.omitManagedFields, r.omitStages
			break
		}
	}
	if s, ok := ev["level"].(string); ok {
		if l, ok := ParseLevel(s); ok {
			d.Arrived = l
		}
	}
	d.Level = min(d.Level, d.Arrived)
	if st, ok := ev["stage"].(string); ok {
		d.Omitted = hasString(omit, st)
	}
	return d
}

// Store cuts the event down to the decision's level, as the API server would
// have written it: no responseObject below RequestResponse, no requestObject
// below Request, managedFields removed when asked. The event's `level` is
// set to the stored level when that is lower than the one it arrived with.
// changed reports whether it altered the event at all, so a caller may pass
// an event nothing else touched on from its input bytes.
func Store(ev map[string]any, d Decision) (changed bool) {
	if d.Level < RequestResponse {
		changed = remove(ev, "responseObject") || changed
	}
	if d.Level < Request {
		changed = remove(ev, "requestObject") || changed
	}
	if d.OmitManagedFields {
		for _, k := range [...]string{"requestObject", "responseObject"} {
			if o, ok := ev[k].(map[string]any); ok {
				changed = dropManagedFields(o) || changed
			}
		}
	}
	if d.Level < d.Arrived { // an absent or unknown level counts as RequestResponse
		if l := d.Level.String(); ev["level"] != l {
			ev["level"] = l
			changed = true
		}
	}
	return changed
}

func remove(m map[string]any, k string) bool {
	_, ok := m[k]
	delete(m, k)
	return ok
}

// Trims reports whether Store would do more to ev than omit managedFields:
// remove a body or lower the recorded level.
func Trims(ev map[string]any, d Decision) bool {
	if _, ok := ev["responseObject"]; ok && d.Level < RequestResponse {
		return true
	}
	if _, ok := ev["requestObject"]; ok && d.Level < Request {
		return true
	}
	return d.Level < d.Arrived
}

// dropManagedFields removes managedFields from an object and, for lists,
// from each item, as the API server's copyWithoutManagedFields does.
func dropManagedFields(o map[string]any) (changed bool) {
	if m, ok := o["metadata"].(map[string]any); ok {
		changed = remove(m, "managedFields")
	}
	if items, ok := o["items"].([]any); ok {
		for _, it := range items {
			if im, ok := it.(map[string]any); ok {
				if m, ok := im["metadata"].(map[string]any); ok {
					changed = remove(m, "managedFields") || changed
				}
			}
		}
	}
	return changed
}

// request is what the API server evaluated the policy against
// (authorizer.Attributes), as the event recorded it: the authenticated user
// (not the impersonated one: the audit filter runs before impersonation),
// the verb, and objectRef for resource requests; requests without objectRef
// are non-resource requests, matched on requestURI's path.
type request struct {
	hasUser                                     bool
	user                                        string
	groups                                      any // []any or []string, compared in place
	verb                                        string
	resourceRequest                             bool
	namespace, group, resource, sub, name, path string
}

func requestOf(ev map[string]any) request {
	var q request
	q.verb, _ = ev["verb"].(string)
	if u, ok := ev["user"].(map[string]any); ok {
		q.hasUser = true
		q.user, _ = u["username"].(string)
		q.groups = u["groups"]
	}
	if ref, ok := ev["objectRef"].(map[string]any); ok {
		q.resourceRequest = true
		q.namespace, _ = ref["namespace"].(string)
		q.group, _ = ref["apiGroup"].(string)
		q.resource, _ = ref["resource"].(string)
		q.sub, _ = ref["subresource"].(string)
		q.name, _ = ref["name"].(string)
	} else {
		q.path, _ = ev["requestURI"].(string)
		if i := strings.IndexByte(q.path, '?'); i >= 0 {
			q.path = q.path[:i]
		}
	}
	return q
}

// The matching below follows k8s.io/apiserver/pkg/audit/policy/checker.go
// (ruleMatches, ruleMatchesNonResource, pathMatches, ruleMatchesResource)
// line by line; TestDifferential compares the two.

func (r *rule) matches(q *request) bool {
	if len(r.users) > 0 && (!q.hasUser || !hasString(r.users, q.user)) {
		return false
	}
	if len(r.userGroups) > 0 && (!q.hasUser || !anyGroup(r.userGroups, q.groups)) {
		return false
	}
	if len(r.verbs) > 0 && !hasString(r.verbs, q.verb) {
		return false
	}
	if len(r.namespaces) > 0 || len(r.resources) > 0 {
		return r.matchesResource(q)
	}
	if len(r.nrs) > 0 {
		return r.matchesNonResource(q)
	}
	return true
}

func (r *rule) matchesNonResource(q *request) bool {
	if q.resourceRequest {
		return false
	}
	for _, spec := range r.nrs {
		if spec == "*" || spec == q.path || strings.HasSuffix(spec, "*") && strings.HasPrefix(q.path, strings.TrimRight(spec, "*")) {
			return true
		}
	}
	return false
}

func (r *rule) matchesResource(q *request) bool {
	if !q.resourceRequest {
		return false
	}
	if len(r.namespaces) > 0 && !hasString(r.namespaces, q.namespace) { // cluster-scoped objects have ""
		return false
	}
	if len(r.resources) == 0 {
		return true
	}
	for _, gr := range r.resources {
		if gr.Group != q.group && gr.Group != "*" {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		for _, res := range gr.Resources {
			if len(gr.ResourceNames) > 0 && !hasString(gr.ResourceNames, q.name) {
				continue
			}
			switch {
			case res == "*":
				return true
			case q.sub == "" && res == q.resource:
				return true
			case q.sub != "" && len(res) == len(q.resource)+1+len(q.sub) && strings.HasPrefix(res, q.resource) && res[len(q.resource)] == '/' && strings.HasSuffix(res, q.sub):
				return true // "resource/subresource"
			case q.sub != "" && strings.HasPrefix(res, "*/") && q.sub == res[2:]:
				return true
			case strings.HasSuffix(res, "/*") && q.resource == res[:len(res)-2]:
				return true
			}
		}
	}
	return false
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// anyGroup reports whether one of the user's groups is listed; the event
// carries them as []any (decoded) or []string.
func anyGroup(list []string, groups any) bool {
	switch gs := groups.(type) {
	case []any:
		for _, g := range gs {
			if s, ok := g.(string); ok && hasString(list, s) {
				return true
			}
		}
	case []string:
		for _, g := range gs {
			if hasString(list, g) {
				return true
			}
		}
	}
	return false
}
