// Package policy applies a Kubernetes audit Policy (audit.k8s.io/v1) to
// events that were already written, for clusters whose API server flags
// nobody can set (AKS, EKS, GKE send everything). Like redaction, it decides
// what is stored; it never sees Fluent Bit types.
//
// Loading and matching are Kubernetes' own: the API server's scheme decodes
// the file strictly, its validation checks it, and its rule evaluator
// (k8s.io/apiserver/pkg/audit/policy) picks the level, so a file behaves here
// exactly as it would behind --audit-policy-file.
package policy

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	audit "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/apis/audit/validation"
	auditpkg "k8s.io/apiserver/pkg/audit"
	k8spolicy "k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
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
	eval  auditpkg.PolicyRuleEvaluator
	rules int
}

// Rules returns the number of rules, for the start-up log line.
func (p *Policy) Rules() int { return p.rules }

// LoadFile reads and loads a policy file.
func LoadFile(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(b)
}

// strict is the API server's own decoder with unknown and duplicate fields
// made errors.
var strict = serializer.NewCodecFactory(auditpkg.Scheme, serializer.EnableStrict).UniversalDecoder()

// Load decodes and validates a policy the way the API server does
// (k8s.io/apiserver/pkg/audit/policy.LoadPolicyFromBytes), with one
// difference: where the API server logs a warning and falls back to lenient
// decoding, Load fails, because a misspelt field here silently changes what
// is stored and a log shipper has no start-up warning anyone reads.
func Load(data []byte) (*Policy, error) {
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
	return &Policy{eval: k8spolicy.NewPolicyRuleEvaluator(pol), rules: len(pol.Rules)}, nil
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

// Evaluate finds the policy's decision for an event with the API server's
// own rule evaluator. It does not modify the event.
func (p *Policy) Evaluate(ev map[string]any) Decision {
	rc := p.eval.EvaluatePolicyRule(Attributes(ev))
	d := Decision{Level: fromK8s(rc.Level), Arrived: RequestResponse, OmitManagedFields: rc.OmitManagedFields}
	if s, ok := ev["level"].(string); ok {
		if l, ok := ParseLevel(s); ok {
			d.Arrived = l
		}
	}
	d.Level = min(d.Level, d.Arrived)
	if st, ok := ev["stage"].(string); ok {
		for _, o := range rc.OmitStages {
			if string(o) == st {
				d.Omitted = true
				break
			}
		}
	}
	return d
}

// Store cuts the event down to the decision's level, as the API server would
// have written it: no responseObject below RequestResponse, no requestObject
// below Request, managedFields removed when asked. The event's `level` is
// set to the stored level when that is lower than the one it arrived with.
func Store(ev map[string]any, d Decision) {
	if d.Level < RequestResponse {
		delete(ev, "responseObject")
	}
	if d.Level < Request {
		delete(ev, "requestObject")
	}
	if d.OmitManagedFields {
		for _, k := range [...]string{"requestObject", "responseObject"} {
			if o, ok := ev[k].(map[string]any); ok {
				dropManagedFields(o)
			}
		}
	}
	if _, had := ev["level"]; had && d.Level < d.Arrived || !had && d.Level < RequestResponse {
		ev["level"] = d.Level.String()
	}
}

// dropManagedFields removes managedFields from an object and, for lists,
// from each item, as the API server's copyWithoutManagedFields does.
func dropManagedFields(o map[string]any) {
	if m, ok := o["metadata"].(map[string]any); ok {
		delete(m, "managedFields")
	}
	if items, ok := o["items"].([]any); ok {
		for _, it := range items {
			if im, ok := it.(map[string]any); ok {
				if m, ok := im["metadata"].(map[string]any); ok {
					delete(m, "managedFields")
				}
			}
		}
	}
}

// Attributes rebuilds the request attributes the API server evaluated the
// policy against, from what the event recorded: the authenticated user (not
// the impersonated one: the audit filter runs before impersonation), the
// verb, and objectRef for resource requests; requests without objectRef are
// non-resource requests, matched on requestURI's path.
func Attributes(ev map[string]any) authorizer.AttributesRecord {
	a := authorizer.AttributesRecord{}
	a.Verb, _ = ev["verb"].(string)
	if u, ok := ev["user"].(map[string]any); ok {
		a.User = &eventUser{u: u}
	}
	if ref, ok := ev["objectRef"].(map[string]any); ok {
		a.ResourceRequest = true
		a.Namespace, _ = ref["namespace"].(string)
		a.APIGroup, _ = ref["apiGroup"].(string)
		a.APIVersion, _ = ref["apiVersion"].(string)
		a.Resource, _ = ref["resource"].(string)
		a.Subresource, _ = ref["subresource"].(string)
		a.Name, _ = ref["name"].(string)
	}
	uri, _ := ev["requestURI"].(string)
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	a.Path = uri
	return a
}

// eventUser is the event's user as user.Info; groups are converted only when
// a rule asks for them.
type eventUser struct{ u map[string]any }

var _ user.Info = (*eventUser)(nil)

func (e *eventUser) GetName() string { s, _ := e.u["username"].(string); return s }
func (e *eventUser) GetUID() string  { s, _ := e.u["uid"].(string); return s }
func (e *eventUser) GetGroups() []string {
	if gs, ok := e.u["groups"].([]string); ok {
		return gs
	}
	gs, _ := e.u["groups"].([]any)
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		if s, ok := g.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
func (e *eventUser) GetExtra() map[string][]string { return nil }
