package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kaudit/kaudit/detect"
	"github.com/kaudit/kaudit/plugin/config"
	fbchunk "github.com/kaudit/kaudit/plugin/decode/chunk"
	"github.com/kaudit/kaudit/plugin/pipeline"
)

// tune reads audit history, counts which rules fire for which identities,
// and proposes a site rules file of exceptions scoped to one rule and one
// identity (and its namespace, when it kept to one): the routine callers a
// cluster's alerts drown in. It then re-judges the same history with the
// proposal applied and says what would go quiet and what would still fire,
// so a reviewer sees the price of each exception before adopting it.
//
// Only identities that fire routinely are proposed: at least --min-count
// events spread over at least --min-hours distinct hours (a burst in one
// hour is an incident, not a habit). People (identities that are not
// service accounts or system:* users) are left out unless --people, and
// rules that judge forgery, known-bad sources or attack tools are never
// proposed: a site that must silence those should do it by hand.
func tune(args []string, stdout, stderr io.Writer) error {
	f := newFlags("tune")
	var (
		out       string
		lokiURL   string
		query     string
		since     time.Duration
		minCount  int
		minHours  int
		minSevStr string
		people    bool
	)
	f.fs.StringVar(&out, "write", "", "write the proposed site rules file here (default: print it after the report)")
	f.fs.StringVar(&lokiURL, "loki", "", "read history from this Loki (base URL, e.g. http://loki:3100) instead of files")
	f.fs.StringVar(&query, "query", `{job="kube-audit"}`, "LogQL stream selector of the audit lines in Loki")
	f.fs.DurationVar(&since, "since", 24*time.Hour, "how far back to read from Loki")
	f.fs.IntVar(&minCount, "min-count", 10, "propose an exception only for a rule and identity seen at least this often")
	f.fs.IntVar(&minHours, "min-hours", 2, "... and in at least this many distinct hours")
	f.fs.StringVar(&minSevStr, "min-severity", "medium", "lowest severity to report and tune")
	f.fs.BoolVar(&people, "people", false, "also propose exceptions for people (not only service accounts and system identities)")
	if err := f.parse(args); err != nil {
		return err
	}
	if (lokiURL == "") == (f.fs.NArg() == 0) {
		return fmt.Errorf("tune: give audit log files or --loki, not both: %w", errUsage)
	}
	minSev, err := detect.ParseSeverity(minSevStr)
	if err != nil || minSev == detect.None {
		return fmt.Errorf("tune: --min-severity %q (allowed: info, low, medium, high, critical): %w", minSevStr, errUsage)
	}
	g, err := f.getter()
	if err != nil {
		return err
	}
	c, err := config.Parse(g)
	if err != nil {
		return err
	}
	tally := newTuneTally(minSev)
	p, err := pipeline.Build(c)
	if err != nil {
		return err
	}
	if lokiURL != "" {
		err = lokiChunks(lokiURL, c.TenantID, query, time.Now().Add(-since), time.Now(), func(data []byte) error {
			p.Chunk(data, tally.observe)
			return nil
		})
	} else {
		err = readChunks(f.fs.Args(), nil, func(ch chunk) error {
			p.Chunk(ch.data, tally.observe)
			return nil
		})
	}
	if err != nil {
		return err
	}
	prop := tally.propose(minCount, minHours, people)
	site := prop.yaml(tally)

	// Re-judge what fired with the proposal applied: what goes quiet, what
	// still fires. Stateful rules see only these events the second time,
	// so their counts after are a lower bound.
	tmp, err := os.CreateTemp("", "kaudit-tune-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(site); err != nil {
		tmp.Close()
		return err
	}
	tmp.Close()
	after, err := pipeline.LoadRules(append(append([]string(nil), c.RulesFiles...), tmp.Name()), c.TrustedProxies...)
	if err != nil {
		return fmt.Errorf("tune: the proposal does not load (a bug): %w", err)
	}
	still := newTuneTally(minSev)
	for _, ev := range tally.fired {
		still.add(ev, after.Detect(ev, nil))
	}
	still.events = tally.events

	tally.report(stdout, "Before", minSev)
	fmt.Fprintf(stdout, "\nProposed exceptions: %d (rule, identity) pairs.\n", len(prop))
	for _, k := range prop {
		fmt.Fprintf(stdout, "  %-40s %-60s %d events in %d hours\n", k.rule, k.user, tally.pairs[k.pairKey].n, len(tally.pairs[k.pairKey].hours))
	}
	fmt.Fprintln(stdout)
	still.report(stdout, "With the proposal, still firing", minSev)
	fmt.Fprintf(stdout, "\nSilenced: %d of %d events labelled %s or higher.\n", tally.noisy-still.noisy, tally.noisy, minSev)
	if out == "" {
		fmt.Fprintf(stdout, "\n%s", site)
		return nil
	}
	if err := os.WriteFile(out, site, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "kaudit tune: proposal written to %s; review it, then add it to rules_file\n", out)
	return nil
}

// neverTune are rules whose firing is never routine: forged addresses,
// threat feeds, attack tools, stolen node credentials, anonymous writes.
var neverTune = map[string]bool{
	"forwarded_for_forged": true, "threat_source_ip": true, "offensive_user_agent": true,
	"node_credential_public_ip": true, "anonymous_write": true, "system_masters_unknown": true,
	"impersonation_privileged": true, "unknown_system_user": true,
}

type pairKey struct{ rule, user string }

type pairStats struct {
	n          int
	sev        detect.Severity
	hours      map[int64]bool
	namespaces map[string]bool
	verbs      map[string]bool
}

type tuneTally struct {
	minSev       detect.Severity
	events       int
	noisy        int
	first, last  time.Time
	pairs        map[pairKey]*pairStats
	fired        []map[string]any // events labelled minSev or higher, kept to re-judge
	perRuleTotal map[string]int
}

func newTuneTally(minSev detect.Severity) *tuneTally {
	return &tuneTally{minSev: minSev, pairs: map[pairKey]*pairStats{}, perRuleTotal: map[string]int{}}
}

func (t *tuneTally) observe(ev *pipeline.Event) {
	if ev.Unrecognized {
		return
	}
	t.events++
	if !ev.Time.IsZero() {
		if t.first.IsZero() || ev.Time.Before(t.first) {
			t.first = ev.Time
		}
		if ev.Time.After(t.last) {
			t.last = ev.Time
		}
	}
	if ev.Detect.Severity >= t.minSev {
		t.fired = append(t.fired, ev.Event)
	}
	t.add(ev.Event, ev.Detect)
}

func (t *tuneTally) add(ev map[string]any, res detect.Result) {
	if res.Severity < t.minSev {
		return
	}
	t.noisy++
	user, _ := mapOf(ev["user"])["username"].(string)
	ref := mapOf(ev["objectRef"])
	ns, _ := ref["namespace"].(string)
	verb, _ := ev["verb"].(string)
	hour := eventHour(ev)
	for _, m := range res.Matches {
		if m.Severity < t.minSev {
			continue
		}
		k := pairKey{m.ID, user}
		s := t.pairs[k]
		if s == nil {
			s = &pairStats{sev: m.Severity, hours: map[int64]bool{}, namespaces: map[string]bool{}, verbs: map[string]bool{}}
			t.pairs[k] = s
		}
		s.n++
		s.hours[hour] = true
		s.namespaces[ns] = true
		s.verbs[verb] = true
		t.perRuleTotal[m.ID]++
	}
}

func eventHour(ev map[string]any) int64 {
	for _, k := range []string{"requestReceivedTimestamp", "stageTimestamp"} {
		if s, ok := ev[k].(string); ok {
			if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return ts.Unix() / 3600
			}
		}
	}
	return 0
}

func mapOf(x any) map[string]any {
	m, _ := x.(map[string]any)
	return m
}

func (t *tuneTally) sortedPairs() []pairKey {
	keys := make([]pairKey, 0, len(t.pairs))
	for k := range t.pairs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := t.pairs[keys[i]], t.pairs[keys[j]]
		if a.n != b.n {
			return a.n > b.n
		}
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return keys[i].user < keys[j].user
	})
	return keys
}

func (t *tuneTally) report(w io.Writer, title string, minSev detect.Severity) {
	rate := 0.0
	if t.events > 0 {
		rate = 100 * float64(t.noisy) / float64(t.events)
	}
	span := ""
	if !t.first.IsZero() {
		span = fmt.Sprintf(" from %s to %s", t.first.UTC().Format(time.RFC3339), t.last.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "%s: %d of %d events (%.2f%%)%s labelled %s or higher.\n", title, t.noisy, t.events, rate, span, minSev)
	if len(t.pairs) == 0 {
		return
	}
	fmt.Fprintf(w, "  %-40s %-60s %8s %6s %s\n", "rule", "identity", "events", "hours", "severity")
	for _, k := range t.sortedPairs() {
		s := t.pairs[k]
		user := k.user
		if user == "" {
			user = "(no user)"
		}
		fmt.Fprintf(w, "  %-40s %-60s %8d %6d %s\n", k.rule, user, s.n, len(s.hours), s.sev)
	}
}

type proposal struct {
	pairKey
	namespace string   // "" when the identity used several (or none)
	verbs     []string // sorted
}

type proposals []proposal

func (t *tuneTally) propose(minCount, minHours int, people bool) proposals {
	var out proposals
	for _, k := range t.sortedPairs() {
		s := t.pairs[k]
		if neverTune[k.rule] || k.user == "" || k.user == "system:anonymous" || s.n < minCount || len(s.hours) < minHours {
			continue
		}
		if !people && !strings.HasPrefix(k.user, "system:") {
			continue
		}
		p := proposal{pairKey: k}
		if len(s.namespaces) == 1 {
			for ns := range s.namespaces {
				p.namespace = ns
			}
		}
		for v := range s.verbs {
			if v != "" {
				p.verbs = append(p.verbs, v)
			}
		}
		sort.Strings(p.verbs)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].rule != out[j].rule {
			return out[i].rule < out[j].rule
		}
		return out[i].user < out[j].user
	})
	return out
}

// yaml renders the proposal as a rules file of add_exceptions: each
// exception names one identity, and also its namespace and verbs when the
// history shows it kept to them, so the rule still fires for that
// identity doing something new.
func (ps proposals) yaml(t *tuneTally) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Proposed by kaudit tune from %d audit events", t.events)
	if !t.first.IsZero() {
		fmt.Fprintf(&b, " (%s to %s)", t.first.UTC().Format(time.RFC3339), t.last.UTC().Format(time.RFC3339))
	}
	b.WriteString(".\n# Each exception silences one rule for one identity (and the namespace and\n" +
		"# verbs it used). Review every entry: keep only callers whose job this is.\n")
	if len(ps) == 0 {
		b.WriteString("rules: []\n")
		return b.Bytes()
	}
	b.WriteString("rules:\n")
	for i := 0; i < len(ps); {
		rule := ps[i].rule
		fmt.Fprintf(&b, "  - id: %s\n    add_exceptions:\n", rule)
		for ; i < len(ps) && ps[i].rule == rule; i++ {
			p := ps[i]
			s := t.pairs[p.pairKey]
			fmt.Fprintf(&b, "      # %d events in %d hours\n", s.n, len(s.hours))
			fmt.Fprintf(&b, "      - user.username: %s\n", strconv.Quote(p.user))
			if p.namespace != "" {
				fmt.Fprintf(&b, "        objectRef.namespace: %s\n", strconv.Quote(p.namespace))
			}
			if len(p.verbs) > 0 {
				q := make([]string, len(p.verbs))
				for j, v := range p.verbs {
					q[j] = strconv.Quote(v)
				}
				fmt.Fprintf(&b, "        verb: [%s]\n", strings.Join(q, ", "))
			}
		}
	}
	return b.Bytes()
}

// lokiChunks reads the audit lines a LogQL selector returns between start
// and end, oldest first, page by page through query_range, and hands them
// on as chunks of records, as Fluent Bit would.
func lokiChunks(base, tenant, query string, start, end time.Time, fn func([]byte) error) error {
	const limit = 5000
	client := &http.Client{Timeout: 60 * time.Second}
	from := start.UnixNano()
	for {
		u := strings.TrimSuffix(base, "/") + "/loki/api/v1/query_range?" + url.Values{
			"query": {query}, "start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(end.UnixNano(), 10)},
			"limit": {strconv.Itoa(limit)}, "direction": {"forward"},
		}.Encode()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("tune: --loki: %w", err)
		}
		if tenant != "" {
			req.Header.Set("X-Scope-OrgID", tenant)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("tune: --loki: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("tune: --loki: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("tune: --loki: %s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 300)])))
		}
		var qr struct {
			Data struct {
				Result []struct {
					Values [][2]string `json:"values"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &qr); err != nil {
			return fmt.Errorf("tune: --loki: %w", err)
		}
		type line struct {
			ts   int64
			text string
		}
		var lines []line
		for _, r := range qr.Data.Result {
			for _, v := range r.Values {
				ts, err := strconv.ParseInt(v[0], 10, 64)
				if err != nil {
					continue
				}
				lines = append(lines, line{ts, v[1]})
			}
		}
		sort.SliceStable(lines, func(i, j int) bool { return lines[i].ts < lines[j].ts })
		for i := 0; i < len(lines); i += recordsPerChunk {
			j := min(i+recordsPerChunk, len(lines))
			recs := make([]map[string]any, 0, j-i)
			times := make([]time.Time, 0, j-i)
			for _, l := range lines[i:j] {
				recs = append(recs, record([]byte(l.text)))
				times = append(times, time.Unix(0, l.ts))
			}
			var buf bytes.Buffer
			if err := fbchunk.Encode(&buf, recs, fbchunk.Options{Format: fbchunk.FormatV2, Time: fbchunk.TimeEventTime, Times: times}); err != nil {
				return err
			}
			if err := fn(buf.Bytes()); err != nil {
				return err
			}
		}
		if len(lines) < limit {
			return nil
		}
		// Next page after the newest line seen; lines sharing its nanosecond
		// on the page boundary are read again, and may count twice.
		from = lines[len(lines)-1].ts + 1
	}
}
