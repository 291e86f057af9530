package detect

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Engine evaluates compiled rules. Its rules are immutable after New; the
// only mutable part is the bounded counters of stateful rules, each behind
// its own lock, so one Engine serves any number of goroutines. Build one
// Engine per plugin instance: counters are per Engine.
type Engine struct {
	rules []*rule // every rule, sorted by id
	// steps are the earlier steps of sequence rules, sorted by id: they
	// record and never label, so they are candidates apart from rules.
	steps []*rule
	// proxies is trusted_proxies: the addresses sourceIP steps back over.
	proxies sourceProxies
	// lrComplete judges long-running requests on ResponseComplete
	// (long_running_stage), for logs without ResponseStarted.
	lrComplete bool
	// started remembers the long-running requests judged at
	// ResponseStarted (see startedSet).
	started *startedSet

	// Candidate index: table[v*nRes+r] lists, sorted by id, the enabled
	// rules that can match verb v and resource r. Index len(verbIdx) (or
	// len(resIdx)) stands for any value no rule names.
	verbF, resF *field
	codeF       *field
	verbIdx     map[string]int
	resIdx      map[string]int
	nRes        int
	table       [][]*rule
	// nSlots is the number of distinct fields the rules read, each with
	// its slot in an evaluation (evalCtx).
	nSlots int
	// nResults is the number of tests more than one rule makes.
	nResults int
	memo     requesterMemo
}

// evalCtxs are pooled: an evaluation's slots are sized to the engine.
var evalCtxs = sync.Pool{New: func() any { return new(evalCtx) }}

type rule struct {
	info  Rule
	match Match
	cond  matcher
	exc   matcher    // nil without exceptions
	state *threshold // nil for rules that judge each event alone
	// seq is a sequence rule's state, which its event completes; step is
	// the same state for the rule of its earlier step, which records.
	seq, step *sequence
	// codeGate holds the response codes a top-level equality test of the
	// condition requires (nil: none). Detect reads the code once per event
	// and skips these rules without evaluating them, since several rules
	// that apply to every event are about 401 and 403 responses.
	codeGate []float64
	// dryRun: the rule judges dry-run requests too. Most rules are about
	// what a request changed, and a dry run changes nothing: GitOps
	// controllers dry-run every object they hold on every reconcile.
	dryRun bool
	// memo is the rule's bit in a requesterMemo outcome; -1 for a rule
	// that reads more than who asked and how it was answered.
	memo int8
	// written is the condition as the rule file wrote it; cond leaves
	// out what the index already decided (see unindexed). Kept apart
	// from the fields Detect reads for every candidate.
	written matcher
}

// Rule describes a loaded rule, for documentation and startup logs.
type Rule struct {
	ID          string
	Title       string
	Description string
	Severity    Severity
	MITRE       []string
	Enabled     bool
	// Source is the name of the source whose definition won.
	Source string
	// Level is the audit level the rule's condition needs: Metadata, or
	// Request when it reads request bodies (a policy storing the resource at
	// Metadata leaves the rule blind).
	Level string
	// Threshold describes a stateful rule's count ("more than 3 events in
	// 5m0s per user.username, objectRef.namespace"); empty otherwise.
	Threshold string
	// Count is the stateful rule's threshold as data (nil otherwise), for
	// tools that count the same condition elsewhere (Loki ruler rules).
	Count *Count
}

// Count is a stateful rule's threshold: more than MoreThan events (or
// distinct values of Distinct) within Window, per Key fields.
type Count struct {
	Key      []string
	Distinct string // "" counts events
	Window   time.Duration
	MoreThan int
}

// Match is one rule that fired. MITRE is shared with the engine: read it,
// do not modify it.
type Match struct {
	ID       string
	Title    string
	Severity Severity
	MITRE    []string
}

// Result is the outcome for one event.
type Result struct {
	// Severity is the highest severity among Matches, None if empty.
	Severity Severity
	// Matches are sorted by rule id.
	Matches []Match
	// SourceIP is the client address the rules saw (see Engine.SourceIP),
	// for every stage; "" without sourceIPs.
	SourceIP string
	// counted are the stateful rules whose condition held for this event,
	// whether or not their threshold was crossed: the events a cluster-wide
	// count (several API servers, several plugins) adds up.
	counted  [maxCounted]string
	nCounted uint8
}

// maxCounted bounds the stateful rules one event reports as counted, so a
// Result stays a fixed size; the shipped set never has more than two
// apply to one event.
const maxCounted = 4

// CountedIDs returns the stateful rules whose condition held for the
// event, comma-joined and sorted (the structured metadata "counted"), ""
// if none: Loki ruler rules count these across every API server's log.
func (r Result) CountedIDs() string {
	return strings.Join(r.counted[:r.nCounted], ",")
}

// Rules returns every loaded rule, enabled or not, sorted by id.
func (e *Engine) Rules() []Rule {
	out := make([]Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.info
		out[i].MITRE = append([]string(nil), r.info.MITRE...)
	}
	return out
}

// Detect evaluates every rule that can apply to ev and appends the matches
// (only on the one stage per request that Judged selects; other stages get
// none, so counters and alerts see each request once)
// to dst[:0], so a caller that reuses dst pays no allocation; with no match
// nothing is allocated at all. ev is only read, never retained.
func (e *Engine) Detect(ev map[string]any, dst []Match) Result {
	res := Result{Matches: dst[:0], SourceIP: e.SourceIP(ev)}
	if !e.judge(ev) {
		return res
	}
	verb := e.verbF.get(ev, "").str()
	code, codeRead, codeOK := 0.0, false, false
	created := false
	if verb == "patch" {
		// A server-side apply (or a patch with create semantics) answered
		// 201 created its object: the rules about creating it judge it.
		code, codeOK = e.codeF.get(ev, "").num()
		codeRead = true
		if codeOK && code == 201 {
			verb, created = "create", true
		}
	}
	vi, ok := e.verbIdx[verb]
	if !ok {
		vi = len(e.verbIdx)
	}
	ri, ok := e.resIdx[e.resF.get(ev, "").str()]
	if !ok {
		ri = len(e.resIdx)
	}
	var now time.Time
	c := evalCtxs.Get().(*evalCtx)
	c.start(ev, e.nSlots, e.nResults)
	c.verb, c.verbF = "", e.verbF
	if created {
		c.verb = "create"
	}
	defer func() {
		c.done()
		evalCtxs.Put(c)
	}()
	dry := dryRun(ev)
	var memo uint64
	memoRead, memoOK := false, false
	for _, r := range e.table[vi*e.nRes+ri] {
		if dry && !r.dryRun {
			continue
		}
		if r.codeGate != nil {
			if !codeRead {
				code, codeOK = e.codeF.get(ev, "").num()
				codeRead = true
			}
			if !codeOK || !slices.Contains(r.codeGate, code) {
				continue
			}
		}
		if r.memo >= 0 && !memoRead {
			memo, memoOK = e.outcomes(c)
			memoRead = true
		}
		if r.memo >= 0 && memoOK {
			if memo&(1<<r.memo) == 0 {
				continue
			}
		} else if !r.cond.match(c) || (r.exc != nil && r.exc.match(c)) {
			continue
		}
		if r.step != nil || r.seq != nil {
			if now.IsZero() {
				now = eventTime(ev)
			}
			if r.step != nil {
				r.step.step(ev, now)
				continue
			}
			if !r.seq.complete(ev, now) {
				continue
			}
		}
		if r.state != nil {
			if int(res.nCounted) < maxCounted {
				res.counted[res.nCounted] = r.info.ID
				res.nCounted++
			}
			if now.IsZero() {
				now = eventTime(ev)
			}
			if !r.state.observe(ev, now) {
				continue
			}
		}
		res.Matches = append(res.Matches, r.match)
		if r.match.Severity > res.Severity {
			res.Severity = r.match.Severity
		}
	}
	return res
}

// IDs returns the matched rule ids joined with commas (the value of the
// Loki label "detection"); "" if nothing matched. It allocates only the
// returned string, and not even that for a single match.
func (r Result) IDs() string {
	switch len(r.Matches) {
	case 0:
		return ""
	case 1:
		return r.Matches[0].ID
	}
	n := len(r.Matches) - 1
	for _, m := range r.Matches {
		n += len(m.ID)
	}
	var b strings.Builder
	b.Grow(n)
	for i, m := range r.Matches {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.ID)
	}
	return b.String()
}

// buildIndex precomputes, for every verb and resource some rule names, the
// rules worth evaluating, so a routine event (a get of a lease) is checked
// against a handful of rules instead of all of them.
func (e *Engine) buildIndex() {
	e.verbF, _, _ = lookupField("verb")
	e.resF, _, _ = lookupField("objectRef.resource")
	e.codeF, _, _ = lookupField("responseStatus.code")
	// Steps come after the rules in every candidate list, so an event is
	// judged as the end of a sequence before it is recorded as a step.
	all := slices.Concat(e.rules, e.steps)
	for _, r := range all {
		r.codeGate = e.gate(r.cond)
	}
	e.assignSlots(all)
	e.memoise(all)
	e.verbIdx, e.resIdx = map[string]int{}, map[string]int{}
	for _, r := range all {
		if r.info.Enabled {
			vocabulary(r.cond, e.verbF, e.verbIdx)
			vocabulary(r.cond, e.resF, e.resIdx)
		}
	}
	nVerb := len(e.verbIdx) + 1
	e.nRes = len(e.resIdx) + 1
	e.table = make([][]*rule, nVerb*e.nRes)
	for _, r := range all {
		if !r.info.Enabled {
			continue
		}
		for slot, possible := range e.cover(r.cond) {
			if possible {
				e.table[slot] = append(e.table[slot], r)
			}
		}
	}
	for _, r := range all {
		r.written = r.cond
		if r.memo < 0 {
			r.cond = e.unindexed(r.cond)
		}
	}
}

// unindexed returns m without its top-level equality tests on verb and
// objectRef.resource. The index puts a rule only in the buckets of the
// values such a test names, and Detect reads the bucket from the same
// verb (a create for a patch answered 201) and resource, so there the
// test always holds: evaluating it again would cost two map lookups on
// every candidate event, lease renewals included. Memoised rules keep
// theirs: outcomes evaluates them apart from the index.
func (e *Engine) unindexed(m matcher) matcher {
	all, ok := m.(allOf)
	if !ok {
		return m
	}
	var kept allOf
	for _, p := range all {
		if fm, ok := p.(*fieldMatch); ok && (plainEq(fm, e.verbF) != nil || plainEq(fm, e.resF) != nil) {
			continue
		}
		kept = append(kept, p)
	}
	switch len(kept) {
	case len(all), 0:
		return m
	case 1:
		return kept[0]
	}
	return kept
}

// assignSlots gives every field the rules read, with its argument, one
// slot in an evaluation, shared by every rule that reads it, and every
// test more than one rule makes a result slot.
func (e *Engine) assignSlots(rules []*rule) {
	type key struct {
		f   *field
		arg string
	}
	slots := map[key]int32{}
	uses := map[string][]*fieldMatch{} // the tests, by what they test
	for _, r := range rules {
		for _, m := range []matcher{r.cond, r.exc} {
			eachField(m, func(fm *fieldMatch) {
				k := key{fm.f, fm.arg}
				i, ok := slots[k]
				if !ok {
					i = int32(len(slots))
					slots[k] = i
				}
				fm.slot = i
				uses[fm.spec] = append(uses[fm.spec], fm)
			})
		}
	}
	e.nSlots = len(slots)
	// A test several rules make is made once an event; one only a single
	// rule makes keeps no result, which would only cost.
	e.nResults = 0
	for _, fms := range uses {
		if len(fms) < 2 {
			continue
		}
		for _, fm := range fms {
			fm.res = int32(e.nResults)
		}
		e.nResults++
	}
}

// eachField calls fn for every field test in m.
func eachField(m matcher, fn func(*fieldMatch)) {
	switch t := m.(type) {
	case allOf:
		for _, x := range t {
			eachField(x, fn)
		}
	case anyOf:
		for _, x := range t {
			eachField(x, fn)
		}
	case notOf:
		eachField(t.m, fn)
	case *fieldMatch:
		fn(t)
	}
}

// vocabulary collects the values equality tests on f compare against,
// anywhere in the tree; every other value shares the last ("other") slot.
func vocabulary(m matcher, f *field, idx map[string]int) {
	eachField(m, func(fm *fieldMatch) {
		for _, s := range plainEq(fm, f) {
			if _, ok := idx[s]; !ok {
				idx[s] = len(idx)
			}
		}
	})
}

// cover marks the (verb, resource) slots in which m can possibly hold. It
// is conservative: only plain equality on verb or objectRef.resource rules a
// slot out, and not, like any test it does not understand, rules out nothing.
func (e *Engine) cover(m matcher) []bool {
	nVerb := len(e.verbIdx) + 1
	out := make([]bool, nVerb*e.nRes)
	switch t := m.(type) {
	case *fieldMatch:
		if eq := plainEq(t, e.verbF); eq != nil {
			for _, s := range eq {
				v := e.verbIdx[s]
				for r := 0; r < e.nRes; r++ {
					out[v*e.nRes+r] = true
				}
			}
			return out
		}
		if eq := plainEq(t, e.resF); eq != nil {
			for _, s := range eq {
				r := e.resIdx[s]
				for v := 0; v < nVerb; v++ {
					out[v*e.nRes+r] = true
				}
			}
			return out
		}
	case allOf:
		for i := range out {
			out[i] = true
		}
		for _, c := range t {
			for i, ok := range e.cover(c) {
				out[i] = out[i] && ok
			}
		}
		return out
	case anyOf:
		for _, c := range t {
			for i, ok := range e.cover(c) {
				out[i] = out[i] || ok
			}
		}
		return out
	}
	for i := range out {
		out[i] = true
	}
	return out
}

// gate returns the numbers of a top-level plain equality test on the
// response code of m, or nil.
func (e *Engine) gate(m matcher) []float64 {
	parts := []matcher{m}
	if all, ok := m.(allOf); ok {
		parts = all
	}
	for _, p := range parts {
		fm, ok := p.(*fieldMatch)
		if !ok || fm.f != e.codeF {
			continue
		}
		el, ok := fm.t.(elems)
		if !ok {
			continue
		}
		if eq, ok := el.l.(*eqLeaf); ok && len(eq.nums) > 0 && len(eq.nums) == len(eq.strs)+len(eq.set) {
			return eq.nums
		}
	}
	return nil
}

// plainEq returns the strings of a plain equality test on field f, or nil.
// Numeric entries compare numerically, which a string index cannot mirror,
// so they disqualify the test.
func plainEq(fm *fieldMatch, f *field) []string {
	if fm.f != f {
		return nil
	}
	el, ok := fm.t.(elems)
	if !ok {
		return nil
	}
	eq, ok := el.l.(*eqLeaf)
	if !ok || len(eq.nums) > 0 {
		return nil
	}
	if eq.set != nil {
		out := make([]string, 0, len(eq.set))
		for s := range eq.set {
			out = append(out, s)
		}
		return out
	}
	return eq.strs
}

// Markdown renders the rule table README.md carries between
// `<!-- RULES -->` markers; a test keeps the two identical.
func Markdown(rules []Rule) string {
	var b strings.Builder
	b.WriteString("| id | severity | ATT&CK | needs | what it flags |\n|---|---|---|---|---|\n")
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		mitre := strings.Join(r.MITRE, ", ")
		if mitre == "" {
			mitre = "–"
		}
		what := r.Title
		if r.Threshold != "" {
			what += " (stateful: " + r.Threshold + ")"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.ID, r.Severity, mitre, r.Level, what)
	}
	return b.String()
}
