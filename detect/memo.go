package detect

import (
	"encoding/binary"
	"math"
)

// Most rules that apply to every event judge only who sent the request
// and how it was answered: the user and groups, the impersonated identity,
// the client addresses, the user agent, the stage and the response code
// (the fields marked recurs). A client repeats those values request after
// request (a kubelet renews its lease every ten seconds, from one address,
// with one agent), so the outcome of every such rule is kept per
// combination of values. The key is the values themselves, written out in
// full, not a hash of them: a remembered outcome is the one evaluating the
// rules would give, so detections stay a function of the event.
type requesterMemo struct {
	// reads holds one test of each recurring field the memoised rules
	// read, through which the field's value is fetched into its slot.
	reads []*fieldMatch
	// rules are the memoised rules; bit i of an outcome is rules[i]'s
	// condition holding without an exception.
	rules []*rule
}

const (
	// maxMemoRules: outcomes are one word.
	maxMemoRules = 64
	// maxMemoKey and maxMemoEntries bound what one evaluation context
	// keeps: a client-chosen user agent or address list cannot grow it.
	maxMemoKey     = 1024
	maxMemoEntries = 512
)

// memoise picks the enabled rules whose condition and exceptions read
// recurring fields only, numbering them in r.memo (-1 for the others).
func (e *Engine) memoise(rules []*rule) {
	seen := map[int32]bool{}
	for _, r := range rules {
		r.memo = -1
		if !r.info.Enabled || len(e.memo.rules) == maxMemoRules || !recurringOnly(r) {
			continue
		}
		r.memo = int8(len(e.memo.rules))
		e.memo.rules = append(e.memo.rules, r)
		for _, m := range []matcher{r.cond, r.exc} {
			eachField(m, func(fm *fieldMatch) {
				if !seen[fm.slot] {
					seen[fm.slot] = true
					e.memo.reads = append(e.memo.reads, fm)
				}
			})
		}
	}
}

func recurringOnly(r *rule) bool {
	ok := true
	for _, m := range []matcher{r.cond, r.exc} {
		eachField(m, func(fm *fieldMatch) {
			ok = ok && fm.f.recurs && fm.arg == "" && fm.slot >= 0
		})
	}
	return ok
}

// outcomes returns the memoised rules' outcomes for c's event, evaluating
// them on the first event with these values; ok is false when the values
// cannot be kept (too long, or of a shape a recurring field does not
// have), and the rules must be evaluated one by one.
func (e *Engine) outcomes(c *evalCtx) (bits uint64, ok bool) {
	key := c.memoKey[:0]
	for _, fm := range e.memo.reads {
		if key, ok = appendValue(key, c.get(fm)); !ok || len(key) > maxMemoKey {
			c.memoKey = key[:0]
			return 0, false
		}
	}
	c.memoKey = key
	if c.memoOf != e {
		c.memo, c.memoOf = nil, e
	}
	if bits, ok = c.memo[string(key)]; ok {
		return bits, true
	}
	for i, r := range e.memo.rules {
		if r.cond.match(c) && (r.exc == nil || !r.exc.match(c)) {
			bits |= 1 << i
		}
	}
	if c.memo == nil || len(c.memo) >= maxMemoEntries {
		c.memo = make(map[string]uint64, maxMemoEntries)
	}
	c.memo[string(key)] = bits
	return bits, true
}

// appendValue writes v so that two values are written alike only if
// every test reads them alike: kinds, numbers and lengths included.
func appendValue(b []byte, v *value) ([]byte, bool) {
	switch v.kind {
	case kindAbsent, kindString, kindNumber, kindBool:
		return appendScalar(b, v.scalar), true
	case kindList:
		b = append(b, byte(kindList))
		b = binary.AppendUvarint(b, uint64(len(v.list)))
		for _, x := range v.list {
			b = appendScalar(b, scalarIn(x))
		}
		return b, true
	}
	return b, false
}

func appendScalar(b []byte, s scalar) []byte {
	b = append(b, byte(s.kind))
	if s.hasN {
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.n))
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(s.s)))
	return append(b, s.s...)
}
