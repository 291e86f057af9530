package redact

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaudit/kaudit/conf"
	"github.com/kaudit/kaudit/redact/leakcheck"
)

// The prefilter (scanner.look: survey, hits, candidates, mayHold and the
// forms the sweep asks about) is checked against a naive reference: every
// keyword by strings.Contains and strings.Index on the ASCII-lower-cased
// text, run lengths by a plain loop. It must agree on every string of the
// canary, benign and public corpora, the fixtures, the fuzz corpora and
// random text.

// asciiLower lower-cases ASCII letters only, as the prefilter folds.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// refSet is survey's set by definition: the patterns one of whose keywords
// occurs, in an assignment context where the pattern asks for one.
func refSet(sc *scanner, s, ls string, context bool) patSet {
	var set patSet
	for i, p := range sc.patterns {
		if i >= maxPatterns {
			break
		}
		for _, k := range p.keywords {
			for from := 0; from <= len(ls); {
				j := strings.Index(ls[from:], k)
				if j < 0 {
					break
				}
				at := from + j
				if !context || len(p.names) == 0 || p.anywhere || assignmentContext(s, at, len(k)) {
					set.add(i)
				}
				from = at + 1
			}
		}
	}
	if refShaped(s) || refDotted(s) {
		set = set.or(sc.runSet)
	}
	return set
}

// refShaped: some maximal run of base64 characters of minEncoded or more
// has a token's shape.
func refShaped(s string) bool {
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isB64Char(s[j]) {
			j++
		}
		if j-i >= minEncoded && (tokenShape(s, i, j) || refOpaque(s[i:j]) || refAssigned(s, i, j)) {
			return true
		}
		i = j + 1
	}
	return false
}

// refAssigned: the run s[i:j] holds a name, an = among its first
// maxAssignedName bytes (the first one) and, after it, a token's shape
// to the run's end.
func refAssigned(s string, i, j int) bool {
	for k := i + 1; k < j && k < i+maxAssignedName; k++ {
		if s[k] == '=' {
			return k+1 < j && s[k+1] != '=' && tokenShape(s, k+1, j)
		}
	}
	return false
}

// refOpaque: a piece of letters and digits at the start of run or right
// after an = in it is 32 hex digits or more, or 24 or more in random
// mixed case.
func refOpaque(run string) bool {
	alnum := func(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	for p := 0; p < len(run); p++ {
		if p > 0 && run[p-1] != '=' || !alnum(run[p]) {
			continue
		}
		q := p
		for q < len(run) && alnum(run[q]) {
			q++
		}
		if piece := run[p:q]; len(piece) >= 32 && hexToken(piece) || len(piece) >= 24 && randomCase(piece) {
			return true
		}
	}
	return false
}

// refDotted: a dot with exactly dottedHead base64 characters before it
// and dottedRun or more after it.
func refDotted(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '.' {
			continue
		}
		b, a := 0, 0
		for b < i && isB64Char(s[i-1-b]) {
			b++
		}
		for i+1+a < len(s) && isB64Char(s[i+1+a]) {
			a++
		}
		if b == dottedHead && a >= dottedRun {
			return true
		}
	}
	return false
}

func refLongRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if isB64Char(s[i]) {
			run++
			if run >= minEncoded {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// refNameWord reports whether a credential word occurs in s.
func refNameWord(sc *scanner, ls string) bool {
	nm := sc.names
	for _, set := range []map[string]bool{nm.words, nm.lastWords, nm.whole} {
		for w := range set {
			if w != "" && strings.Contains(ls, w) {
				return true
			}
		}
	}
	for _, w := range nm.substrings {
		if w != "" && strings.Contains(ls, w) {
			return true
		}
	}
	return false
}

// refEncodable: some maximal run of base64 characters of minEncoded or
// more is base64 or hex to encodedKind.
func refEncodable(s string) bool {
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isB64Char(s[j]) {
			j++
		}
		if j-i >= minEncoded {
			if b64, hx := encodedKind(s[i:j]); b64 || hx {
				return true
			}
		}
		i = j + 1
	}
	return false
}

// refEntity: an HTML character reference that can hide a key or value,
// in any case (the pass folds it).
func refEntity(s string) bool {
	ls := asciiLower(s)
	for _, e := range []string{"&quot;", "&apos;", "&lt;", "&#"} {
		if strings.Contains(ls, e) {
			return true
		}
	}
	return false
}

func refPercent(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i+1])) && strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i+2])) {
			return true
		}
	}
	return false
}

// checkPrefilter compares every answer of the prefilter on s with the
// reference; it reports the first disagreement.
func checkPrefilter(t *testing.T, sc *scanner, s string) bool {
	t.Helper()
	show := s
	if len(show) > 200 {
		show = show[:200] + "..."
	}
	ls := asciiLower(s)
	wantRun := refLongRun(s)
	wantAny := sc.runSet.newTo(refSet(sc, s, ls, false)) || refNameWord(sc, ls)
	for _, context := range []bool{true, false} {
		want := refSet(sc, s, ls, context)
		if set, run := sc.survey(s, context); set != want || run != wantRun {
			t.Errorf("survey(%q, %v) = %#x, %v; reference %#x, %v", show, context, set, run, want, wantRun)
			return false
		}
		if got := sc.hits(s, context); got != want {
			t.Errorf("hits(%q, %v) = %#x; reference %#x", show, context, got, want)
			return false
		}
		if context {
			if got := sc.candidates(s); got != want {
				t.Errorf("candidates(%q) = %#x; reference %#x", show, got, want)
				return false
			}
		}
		l := sc.look(s, context)
		if l.encodable != refEncodable(s) {
			t.Errorf("look(%q).encodable = %v; reference %v", show, l.encodable, !l.encodable)
			return false
		}
		if l.set != want || l.longRun != wantRun || l.any != wantAny {
			t.Errorf("look(%q, %v) = %#x, %v, %v; reference %#x, %v, %v", show, context, l.set, l.longRun, l.any, want, wantRun, wantAny)
			return false
		}
		for _, f := range []struct {
			flag uint8
			want bool
		}{
			{flagUnicodeEscape, strings.Contains(s, `\u`)},
			{flagQuoteEscape, strings.Contains(s, `\"`)},
			{flagPercent, refPercent(s)},
			{flagNewline, strings.Contains(s, "\n")},
			{flagDottedRun, refDotted(s)},
			{flagEntity, refEntity(s)},
			{flagShapedRun, refShaped(s)},
		} {
			if got := l.flags&f.flag != 0; got != f.want {
				t.Errorf("look(%q).flags %#x: %v; reference %v", show, f.flag, got, f.want)
				return false
			}
		}
		wantEsc := len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' || strings.Contains(s, `\u`) || strings.Contains(s, `\"`) || refPercent(s) || refEntity(s)
		if got := quotedForm(s) || l.escape(); got != wantEsc || got != escapedForm(s) {
			t.Errorf("escape form of %q: %v; reference %v", show, got, wantEsc)
			return false
		}
	}
	if got := sc.mayHold(s); got != wantAny {
		t.Errorf("mayHold(%q) = %v; reference %v", show, got, wantAny)
		return false
	}
	return true
}

// corpusStrings is every string (keys included) of the canary corpus, as
// written and filled, the benign and public corpora, the fixtures and the
// fuzz corpora, and the secret forms of the property test.
func corpusStrings(t *testing.T) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			for k, e := range x {
				out = append(out, k)
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	raw, err := os.ReadFile(canaryCorpus)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		walk(decodeEvent(t, line))
		walk(decodeEvent(t, substituteCorpus(t, line, "ref-"+string(rune('a'+i%26)))))
	}
	for _, evs := range benignEvents(t) {
		for _, ev := range evs {
			walk(ev)
		}
	}
	fixtures, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	for _, f := range fixtures {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		walk(decodeEvent(t, substitute(b, newCanary(t))))
	}
	fuzz, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, f := range fuzz {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
		out = append(out, strings.Split(string(b), "\n")...)
	}
	vals := leakcheck.Values("ref")
	for _, form := range secretForms {
		out = append(out, form(vals))
	}
	for _, v := range vals {
		out = append(out, v)
	}
	return out
}

// randomText builds strings from the scanner's own words in random case,
// cut and joined by separators, escapes, base64 runs and arbitrary bytes:
// the neighbourhoods where a prefilter goes wrong.
func randomText(rng *rand.Rand, words []string) string {
	seps := []string{" ", "=", ": ", ":", "\"", "'", "-", "--", "_", ".", "/", "\n", "\t", "%", "%2F", "%4", `\u`, `\u0022`, `\"`, "{", "}", "[", "]", "<", ">", "</", "\\", "://", "@", ",", ";", "&", "?", "$(", "K", "\u212a", "\xff", "\x00", "é"}
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="
	var b strings.Builder
	for n := rng.IntN(12); n >= 0; n-- {
		switch rng.IntN(6) {
		case 0, 1:
			w := words[rng.IntN(len(words))]
			if rng.IntN(4) == 0 && len(w) > 1 {
				a := rng.IntN(len(w))
				w = w[a : a+1+rng.IntN(len(w)-a)]
			}
			for i := 0; i < len(w); i++ {
				c := w[i]
				if rng.IntN(3) == 0 && 'a' <= c && c <= 'z' {
					c -= 32
				}
				b.WriteByte(c)
			}
		case 2, 3:
			b.WriteString(seps[rng.IntN(len(seps))])
		case 4:
			for n := minEncoded - 3 + rng.IntN(6); n > 0; n-- {
				b.WriteByte(b64[rng.IntN(len(b64))])
			}
		case 5:
			for n := rng.IntN(4); n >= 0; n-- {
				b.WriteByte(byte(rng.IntN(256)))
			}
		}
	}
	return b.String()
}

func scannerWords(sc *scanner) []string {
	var words []string
	for _, p := range sc.patterns {
		words = append(words, p.keywords...)
	}
	nm := sc.names
	for _, set := range []map[string]bool{nm.words, nm.lastWords, nm.whole} {
		for w := range set {
			words = append(words, w)
		}
	}
	words = append(words, nm.substrings...)
	return append(words, "password", "was", "is", "has", "value", "machine", "pass", "mysql")
}

// randomStrings is how many random texts each configuration is checked on.
const randomStrings = 20000

func TestPrefilterReference(t *testing.T) {
	extra := Source{Name: "extra.yaml", Data: []byte(`credential_names:
  words: [pässwort, "x"]
patterns:
  - id: one_byte
    keywords: ["q", "Zz", "%", "\\u"]
    regex: 'q[0-9]{30}'
  - id: one_byte_named
    keywords: ["j", "pass"]
    regex: '(j[a-z]+)=(\S+)'
    name: 1
    secret: [2]
`)}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"defaults", Config{}},
		{"one-byte and non-ASCII words", Config{Rules: []Source{extra}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := defaultRedactor(t, tc.cfg)
			sc := r.rules.scanner
			ss := corpusStrings(t)
			failures := 0
			check := func(s string) {
				if !checkPrefilter(t, sc, s) {
					failures++
				}
				if failures > 10 {
					t.FailNow()
				}
			}
			seen := map[string]bool{}
			for _, s := range ss {
				if seen[s] {
					continue
				}
				seen[s] = true
				check(s)
				if len(s) > 1 && len(s) <= 512 {
					check(strings.ToUpper(s))
					check(s[1:])
					check(s[:len(s)-1])
				}
			}
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			words := scannerWords(sc)
			for i := 0; i < randomStrings; i++ {
				check(randomText(rng, words))
			}
			t.Logf("%d distinct corpus strings, %d random", len(seen), randomStrings)
		})
	}
}

// TestPrefilterOneByteKeyword: a one-byte keyword is found anywhere, the
// last byte included, and marks nothing else.
func TestPrefilterOneByteKeyword(t *testing.T) {
	r := defaultRedactor(t, Config{Rules: []Source{{Name: conf.RedactName + "+", Data: []byte("patterns:\n  - id: q\n    keywords: [q]\n    regex: 'q[0-9]{30}'\n")}}})
	sc := r.rules.scanner
	bit := -1
	for i, p := range sc.patterns {
		if p.id == "q" {
			bit = i
		}
	}
	if bit < 0 {
		t.Fatal("pattern q not loaded")
	}
	for s, want := range map[string]bool{"q": true, "aQ": true, "qa": true, "abc": false, "": false, "kube-system": false} {
		if got := sc.candidates(s).has(bit); got != want {
			t.Errorf("candidates(%q) has q: %v, want %v", s, got, want)
		}
	}
}

// TestPatternNeeds: a string that a pattern's required literals turn away
// is one its regexp does not match, on every corpus string and on random
// text built from the patterns' own words and literals.
func TestPatternNeeds(t *testing.T) {
	sc := defaultRedactor(t, Config{}).rules.scanner
	words := scannerWords(sc)
	for _, p := range sc.patterns {
		for _, c := range p.needs {
			for _, l := range c {
				words = append(words, l.S, strings.ToUpper(l.S))
			}
		}
		t.Logf("%s: %v", p.id, p.needs)
	}
	words = append(words, "Invalid value", "\u212aey", "\u017fecret", `"""`, "'''", "<password>", "</password>", ": |", ": >")
	ss := corpusStrings(t)
	rng := rand.New(rand.NewPCG(2, 3))
	for i := 0; i < randomStrings; i++ {
		ss = append(ss, randomText(rng, words))
	}
	turned := 0
	for _, s := range ss {
		for _, p := range sc.patterns {
			if p.needs.MayMatch(s) {
				continue
			}
			turned++
			if loc := p.re.FindStringIndex(s); loc != nil {
				t.Fatalf("%s: needs %v turn away %q, which it matches at %v", p.id, p.needs, s, loc)
			}
		}
	}
	t.Logf("%d strings, %d pattern runs turned away", len(ss), turned)
}

// TestURLPathCredential: a webhook's token is a path segment nothing
// names a credential but the segment before it; the ids, digests, commit
// hashes, object names and service names that stand in URLs are kept.
func TestURLPathCredential(t *testing.T) {
	r := defaultRedactor(t, Config{})
	const tok = "9fQ2x7KaudiTcanAry3bLm8Zq1Wv4Yt6N"
	for in, want := range map[string]string{
		"https://hooks.example.com/hooks/" + tok:                                     "https://hooks.example.com/hooks/[REDACTED]",
		"url: https://chat.example.com/api/webhooks/112233445566778899/" + tok:       "url: https://chat.example.com/api/webhooks/112233445566778899/[REDACTED]",
		"https://events.example.com/v1/webhook/3f9a1c2e7b4d5a6f8e9d0c1b2a3f4e5d?x=1": "https://events.example.com/v1/webhook/[REDACTED]?x=1",
		"POST https://ci.example.com/Triggers/" + tok + "/" + tok + " failed":        "POST https://ci.example.com/Triggers/[REDACTED]/[REDACTED] failed",
		"https://alerts.example.com/integrations/" + tok + "/":                       "https://alerts.example.com/integrations/[REDACTED]/",
		"http://geo.example.com/api/key/" + tok + "/lookup":                          "http://geo.example.com/api/key/[REDACTED]/lookup",
	} {
		nv, ok, _ := r.RedactValue(in)
		if got, _ := nv.(string); !ok || got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	for _, keep := range []string{
		"https://api.example.com/api/v1/namespaces/x/pods/3f2a9c1e-8b7d-4c6e-9f0a-1b2c3d4e5f60",
		"https://github.com/acme/app/commit/3f9a1c2e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a90",
		"ghcr.io/acme/app@sha256:3f9a1c2e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a903f9a1c2e7b4d5a6f8e9d0c1b",
		"https://registry.example.com/v2/acme/app/manifests/sha256:3f9a1c2e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a903f9a1c2e7b4d5a6f8e9d0c1b",
		"https://10.0.0.1:6443/api/v1/namespaces/x/secrets/app-token-7f8d9c2b1a",
		"https://10.0.0.1:6443/apis/triggers.tekton.dev/v1beta1/namespaces/ci/triggers/build-7f8d9c2b1a3e",
		"https://my-webhook-service.ns.svc:443/webhooks/my-webhook-service-v2",
		"https://example.com/hooks/short",
		"https://example.com/webhooks/112233445566778899/deliveries",
		"https://chat.example.com/hooks/ReconcileSucceededWithWarnings",
	} {
		if nv, ok, _ := r.RedactValue(keep); ok {
			t.Errorf("%q: changed to %q", keep, nv)
		}
	}
}

// TestPatternSlots: a site's own patterns fill the slots beyond the first
// word of the pattern set (each found by its keyword), up to maxPatterns,
// and one more is refused.
func TestPatternSlots(t *testing.T) {
	shipped := len(defaultRedactor(t, Config{}).rules.scanner.patterns)
	site := func(n int) []byte {
		var b strings.Builder
		b.WriteString("patterns:\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  - id: site_%d\n    keywords: [sitetok%03dx]\n    regex: 'sitetok%03dx[0-9]{8}'\n", i, i, i)
		}
		return []byte(b.String())
	}
	free := maxPatterns - shipped
	r := defaultRedactor(t, Config{Rules: []Source{{Name: "site.yaml", Data: site(free)}}})
	for i := 0; i < free; i++ {
		v := fmt.Sprintf("x sitetok%03dx12345678 y", i)
		if got, n := r.rules.scanner.scanSet(v, r.rules.scanner.candidates(v), func(string) string { return "[R]" }, func(string) bool { return false }); n != 1 || got != "x [R] y" {
			t.Fatalf("pattern site_%d (slot %d): %q, %d found", i, shipped+i, got, n)
		}
	}
	if _, err := New(Config{Rules: []Source{{Name: conf.RedactName, Data: conf.Redact}, {Name: "site.yaml", Data: site(free + 1)}}}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at most %d", maxPatterns)) {
		t.Errorf("%d patterns: %v, want refused", maxPatterns+1, err)
	}
}

// TestOldPatternIDs: a redact_file that switches off or replaces a shipped
// pattern by the id it had before still reaches it: slack_webhook and
// discord_teams_webhook are their own patterns.
func TestOldPatternIDs(t *testing.T) {
	off := []byte("patterns:\n  - id: slack_webhook\n    enabled: false\n")
	r := defaultRedactor(t, Config{Rules: []Source{{Name: "site.yaml", Data: off}}})
	slack := "https://hooks.slack.com/services/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"
	discord := "https://discord.com/api/webhooks/112233445566778899/Zz_9Zz_9Zz_9Zz_9Zz_9Zz_9"
	sc := r.rules.scanner
	mask := func(string) string { return "[R]" }
	keep := func(string) bool { return false }
	for _, p := range sc.patterns {
		if p.id == "slack_webhook" {
			t.Errorf("slack_webhook switched off, yet in force")
		}
	}
	if got, _ := sc.scanSet(slack, sc.candidates(slack), mask, keep); !strings.Contains(got, "hooks.slack.com/services/T0123ABCD/B0456EFGH/") {
		t.Errorf("slack_webhook switched off, yet the Slack URL's path went: %q", got)
	}
	if _, n := sc.scanSet(discord, sc.candidates(discord), mask, keep); n == 0 {
		t.Errorf("discord_teams_webhook went with slack_webhook")
	}
}
