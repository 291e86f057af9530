package loki

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/metrics"
)

// Settings are the client's: the user's Loki configuration, whole, and
// what the packaging sets.
type Settings struct {
	config.Loki
	UserAgent string
	// Metrics, when set, counts requests by status, latency, retries and
	// refused entries by Loki's reason.
	Metrics *metrics.Loki
	// Rejected, when set, keeps the entries Loki refused as invalid.
	Rejected *Rejected
	// Log receives the client's own lines (blocked delivery, structured
	// metadata refused or accepted again); nil discards them.
	Log func(lvl Level, format string, args ...any)
}

// Level of a line the client logs.
type Level int

// Log levels, mapped onto Fluent Bit's by the caller.
const (
	LogError Level = iota
	LogWarn
	LogInfo
)

// metadataProbe is how long entries go without structured metadata after
// Loki refused it, before one request tries it again: an operator who
// enables it in Loki sees it come back without restarting Fluent Bit.
const metadataProbe = 5 * time.Minute

// blockedLogEvery bounds the error lines of one blocked cause.
const blockedLogEvery = time.Minute

// Stats are the client's counters since start; safe to read concurrently.
type Stats struct {
	Requests       atomic.Int64 // push requests sent
	Accepted       atomic.Int64 // entries Loki accepted
	Rejected       atomic.Int64 // entries Loki refused as invalid (400); never retried
	Late           atomic.Int64 // entries sent again into a backfill stream (Outcome.Late)
	Retries        atomic.Int64 // flushes answered with retry
	RequestSeconds atomic.Int64 // total push latency, in microseconds
}

// Client pushes batches to one Loki endpoint. Safe for concurrent use, so
// Fluent Bit's `workers` can flush in parallel through one instance.
type Client struct {
	s  Settings
	hc *http.Client
	// direct makes the exchanges itself where nothing needs the standard
	// Transport (see direct); nil otherwise.
	direct *direct
	Stats  Stats
	// metadataRefused is when Loki last refused structured metadata, in
	// Unix nanoseconds; 0 while it is accepted.
	metadataRefused atomic.Int64
	blocked         [metrics.NumBlocks]atomic.Bool
	blockedLogged   [metrics.NumBlocks]atomic.Int64
}

// New builds a client; it fails on unreadable TLS material, so a bad file is
// reported at start-up, not at the first flush.
func New(s Settings) (*Client, error) {
	tc := &tls.Config{InsecureSkipVerify: !s.TLSVerify, ServerName: s.TLSServerName, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in
	if s.TLSCAFile != "" {
		pem, err := os.ReadFile(s.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file: %q holds no PEM certificate", s.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if s.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls_cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: s.Timeout,
	}
	if s.UserAgent == "" {
		s.UserAgent = "kaudit"
	}
	return &Client{s: s, hc: &http.Client{Transport: tr}, direct: newDirect(s, tc)}, nil
}

// Close releases idle connections.
func (c *Client) Close() {
	c.hc.CloseIdleConnections()
	if c.direct != nil {
		c.direct.close()
	}
}

// Outcome reports a delivery that needs no retry.
type Outcome struct {
	Requests int
	Accepted int
	// Rejected entries were refused by Loki as invalid (too long, too old,
	// too many labels...). Retrying cannot help, so they are counted, logged
	// with Reason, and the chunk is acknowledged.
	Rejected int
	Reason   string
	// Left is, when Deliver fails, how many entries of the batch Loki has
	// not answered yet (the failed request's and those after it): what
	// the retry still has to send, unlike Batch.Len, which counts the
	// entries Loki already holds too.
	Left int
	// Late entries were older than Loki's out-of-order window for their
	// stream (a backlog reaching Loki after newer entries, after an outage)
	// and were sent again into a stream of their hour, labelled
	// backfill="<hour>" (see lateRequests); they count in Accepted or
	// Rejected as that stream answered.
	Late int
	// skipped counts the entries of requests derived from a batch request
	// (the halves of a too-large one, the backfill of a late one) that an
	// earlier attempt delivered.
	skipped int
}

// RetryError means the chunk must be handed back to Fluent Bit for a retry:
// Loki was unreachable, slow, overloaded or refused the credentials. The
// data itself is fine and Fluent Bit's storage keeps it meanwhile.
type RetryError struct {
	Status int // 0 for transport errors
	Err    error
	// Blocked is set when retrying alone cannot help: a human must fix
	// what Fix says. The client logged it (at most once a minute per cause).
	Blocked bool
	Cause   metrics.Block
	Fix     string
}

func (e *RetryError) Error() string {
	if e.Blocked {
		return fmt.Sprintf("delivery blocked (%s): %s", e.Cause, e.Fix)
	}
	if e.Status == 0 {
		return "loki unreachable: " + e.Err.Error()
	}
	return fmt.Sprintf("loki answered %d: %v", e.Status, e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// Deliver sends every entry of b, split into requests of one stream and at
// most MaxRequestBytes, within one deadline of Timeout. It stops at the
// first request that must be retried and remembers which requests Loki
// accepted before it: delivering the same Batch again, or a rebuilt Batch
// given them through Skip, sends only the rest. Loki drops an exact resend
// reliably only while it is the stream's newest entry
// (scripts/loki/BEHAVIOUR.md, "Duplicates"), so resending what it holds
// could store it twice.
func (c *Client) Deliver(ctx context.Context, b *Batch) (Outcome, error) {
	var out Outcome
	if b.Len() == 0 || b.complete {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.Timeout)
	defer cancel()
	reqs := b.split(c.s.MaxRequestBytes)
	for i := range reqs {
		if len(b.done) > 0 && b.done[reqs[i].id()] {
			continue
		}
		answered := out.Accepted + out.Rejected + out.skipped
		if err := c.send(ctx, reqs[i], &out, b); err != nil {
			c.Stats.Retries.Add(1)
			if m := c.s.Metrics; m != nil {
				m.Retries.Inc()
				m.Up.Set(0)
			}
			// Identities are computed only here, on the way to a retry:
			// a healthy flush never hashes.
			for j := range reqs[:i] {
				b.remember(reqs[j].id())
			}
			// The failed request is not done (checked above); of those
			// after it, an earlier attempt may have delivered some.
			// What Loki took of it (halves of a request refused as too
			// large, the backfill of late entries) is not left to send.
			out.Left = reqs[i].entries - (out.Accepted + out.Rejected + out.skipped - answered)
			for _, r := range reqs[i+1:] {
				if len(b.done) == 0 || !b.done[r.id()] {
					out.Left += r.entries
				}
			}
			return out, err
		}
	}
	b.complete = true
	if m := c.s.Metrics; m != nil {
		m.Up.Set(1)
		m.LastSuccess.SetToCurrentTime()
	}
	return out, nil
}

// sendParts sends the requests Loki's answer to one request made of it:
// its halves after a 413, the backfill of its late entries. The request
// itself counts as delivered only once every part is, so a retry of the
// chunk sends it again, gets the same answer and makes the same parts;
// those Loki took are known by content and skipped. They are remembered
// only when a later part fails, so a healthy flush hashes nothing. What
// Loki stored of a late entries' request the first time is sent again (it
// drops an exact resend only while it is its stream's newest entry, and
// its queries show such a pair once).
func (c *Client) sendParts(ctx context.Context, parts []request, out *Outcome, b *Batch) error {
	for k := range parts {
		if len(b.done) > 0 && b.done[parts[k].id()] {
			out.skipped += parts[k].entries
			continue
		}
		if err := c.send(ctx, parts[k], out, b); err != nil {
			for j := range parts[:k] {
				b.remember(parts[j].id())
			}
			return err
		}
	}
	return nil
}

func (c *Client) send(ctx context.Context, r request, out *Outcome, b *Batch) error {
	sent, stripped := r, false
	if r.hasMetadata() && (c.s.MetadataMode == config.MetadataOff || (c.s.MetadataMode == config.MetadataAuto && c.strippingMetadata())) {
		sent, stripped = r.withoutMetadata(), true
	}
	body := encodeBody(sent.streams)

	status, msg, err := c.post(ctx, r.tenant, body)
	out.Requests++
	c.Stats.Requests.Add(1)
	switch {
	case err != nil:
		if fix, ok := tlsProblem(err); ok {
			return c.block(0, metrics.BlockTLS, fix, err.Error())
		}
		return &RetryError{Err: err}
	case status/100 == 2:
		c.unblock()
		if stripped && c.s.MetadataMode == config.MetadataAuto {
			if m := c.s.Metrics; m != nil {
				m.MetadataStripped.Add(float64(r.entries))
			}
		} else if sent.hasMetadata() && c.metadataRefused.Swap(0) != 0 {
			c.logf(LogInfo, "loki accepts structured metadata again; entries carry it from now on")
			if m := c.s.Metrics; m != nil {
				m.MetadataRefused.Set(0)
			}
		}
		c.took(out, r.entries)
		return nil
	case status == http.StatusBadRequest && sent.hasMetadata() && metadataDisallowed(msg):
		// The framing, not the events, is refused: never count them lost.
		if c.s.MetadataMode == config.MetadataOn {
			return c.block(status, metrics.BlockStructuredMetadata, "Loki does not allow structured metadata: allow it in Loki (limits_config.allow_structured_metadata, schema v13) or set structured_metadata_mode auto", summarize(msg))
		}
		if c.metadataRefused.Swap(time.Now().UnixNano()) == 0 {
			c.logf(LogWarn, "loki refuses structured metadata (%s); sending entries without it (every field is still in the line) and trying it again every %s", summarize(msg), metadataProbe)
			if m := c.s.Metrics; m != nil {
				m.MetadataRefused.Set(1)
			}
		}
		return c.send(ctx, r, out, b)
	case status == http.StatusBadRequest && !lokiRefusal(msg):
		// Not Loki's answer about the entries (a proxy or gateway in
		// front of it refused the request): Loki stored nothing, so the
		// chunk goes back to Fluent Bit rather than being counted lost.
		return &RetryError{Status: status, Err: errors.New("answered 400 without Loki's account of refused entries (a proxy in front of Loki?): " + summarize(msg))}
	case status == http.StatusBadRequest:
		// Loki validates entry by entry, stores the valid ones and answers
		// 400 naming the rest (scripts/loki/BEHAVIOUR.md). Retrying would
		// only be refused again.
		c.unblock()
		n := rejectedCount(msg, r.entries)
		if k, ok := behindWindow(msg, r, n); ok {
			// A backlog, not a bad entry: its own hour's stream takes it.
			c.took(out, r.entries-k)
			out.Late += k
			c.Stats.Late.Add(int64(k))
			if m := c.s.Metrics; m != nil {
				m.Backfilled.Add(float64(k))
			}
			return c.sendParts(ctx, lateRequests(r, k), out, b)
		}
		c.took(out, r.entries-n)
		out.Rejected += n
		c.Stats.Rejected.Add(int64(n))
		if m := c.s.Metrics; m != nil {
			countDrops(msg, n, func(d metrics.Drop, k int) { m.Dropped[d].Add(float64(k)) })
		}
		if out.Reason == "" {
			out.Reason = summarize(msg)
		}
		if c.s.Rejected != nil {
			saved, err := c.s.Rejected.Write(r, refused(msg, n, r), summarize(msg))
			if err != nil {
				c.logf(LogError, "rejected_path: %v", err)
			}
			if m := c.s.Metrics; m != nil && saved > 0 {
				m.Saved.Add(float64(saved))
			}
		}
		return nil
	case status == http.StatusRequestEntityTooLarge && len(r.streams) > 0 && r.entries > 1:
		// The server's body limit is below max_request_bytes: halve and
		// resend.
		return c.sendParts(ctx, halve(r), out, b)
	case status == http.StatusRequestEntityTooLarge:
		// Halving cannot go below one entry: only a larger body limit, or
		// shorter lines, lets it through.
		return c.block(status, metrics.BlockTooLarge, fmt.Sprintf("the server refuses a request of one entry (%d bytes) as too large: raise its body limit (a proxy's, such as nginx's client_max_body_size) above max_line_bytes, or lower max_line_bytes", len(body)), summarize(msg))
	case status == http.StatusUnauthorized:
		return c.block(status, metrics.BlockUnauthorized, "Loki is multi-tenant or needs credentials: set tenant_id (or tenant_id_key), and check http_user/http_passwd or bearer_token", summarize(msg))
	case status == http.StatusForbidden:
		return c.block(status, metrics.BlockForbidden, "the credentials have no right to push for this tenant: check http_user/http_passwd or bearer_token and tenant_id", summarize(msg))
	case status == http.StatusNotFound:
		return c.block(status, metrics.BlockNotFound, "url must be Loki's push endpoint, ending in /loki/api/v1/push (it is "+config.MaskUserinfo(c.s.URL)+")", summarize(msg))
	default:
		// 429 and 5xx are Loki asking for patience; other codes keep the
		// chunk in Fluent Bit too, since the data itself is fine.
		return &RetryError{Status: status, Err: errors.New(summarize(msg))}
	}
}

// took counts n entries Loki stored, in the outcome, the stats and the
// metrics alike.
func (c *Client) took(out *Outcome, n int) {
	out.Accepted += n
	c.Stats.Accepted.Add(int64(n))
	if m := c.s.Metrics; m != nil {
		m.Accepted.Add(float64(n))
	}
}

// block records a cause of blocked delivery, logs it with its fix at most
// once a minute, and returns the error that hands the chunk back.
func (c *Client) block(status int, cause metrics.Block, fix, detail string) error {
	c.blocked[cause].Store(true)
	if m := c.s.Metrics; m != nil {
		m.Blocked[cause].Set(1)
	}
	now := time.Now().UnixNano()
	last := c.blockedLogged[cause].Load()
	if now-last >= int64(blockedLogEvery) && c.blockedLogged[cause].CompareAndSwap(last, now) {
		c.logf(LogError, "delivery blocked (%s): %s; loki said: %s. Chunks are kept and retried by Fluent Bit.", cause, fix, detail)
	}
	return &RetryError{Status: status, Err: errors.New(detail), Blocked: true, Cause: cause, Fix: fix}
}

// unblock clears every blocked cause: Loki answered a push on its merits.
func (c *Client) unblock() {
	for i := range c.blocked {
		if c.blocked[i].Load() && c.blocked[i].CompareAndSwap(true, false) {
			c.blockedLogged[i].Store(0)
			if m := c.s.Metrics; m != nil {
				m.Blocked[i].Set(0)
			}
			c.logf(LogInfo, "delivery no longer blocked (%s)", metrics.Block(i))
		}
	}
}

// Blocked reports whether delivery is blocked for the cause.
func (c *Client) Blocked(cause metrics.Block) bool { return c.blocked[cause].Load() }

// strippingMetadata is true while Loki is known to refuse structured
// metadata, except for one probe per metadataProbe.
func (c *Client) strippingMetadata() bool {
	at := c.metadataRefused.Load()
	if at == 0 {
		return false
	}
	if time.Since(time.Unix(0, at)) < metadataProbe {
		return true
	}
	// Let this request probe; the others keep stripping until it answers.
	return !c.metadataRefused.CompareAndSwap(at, time.Now().UnixNano())
}

func (c *Client) logf(lvl Level, format string, args ...any) {
	if c.s.Log != nil {
		c.s.Log(lvl, format, args...)
	}
}

// metadataDisallowed recognises Loki's refusal of structured metadata as
// such (validation.DisallowedStructuredMetadataErrorMsg: "stream '…'
// includes structured metadata, but this feature is disallowed").
func metadataDisallowed(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "structured metadata") && (strings.Contains(m, "disallowed") || strings.Contains(m, "not allowed") || strings.Contains(m, "schema"))
}

// tlsProblem recognises transport errors no retry can fix.
func tlsProblem(err error) (string, bool) {
	var (
		ua   x509.UnknownAuthorityError
		hn   x509.HostnameError
		ci   x509.CertificateInvalidError
		cv   *tls.CertificateVerificationError
		rh   tls.RecordHeaderError
		alrt tls.AlertError
	)
	switch {
	case errors.As(err, &ua), errors.As(err, &cv):
		return "Loki's certificate is not trusted: set tls_ca_file to the CA that signed it (tls_verify off only for tests)", true
	case errors.As(err, &hn):
		return "Loki's certificate does not name the url's host: set tls_server_name, or use the host the certificate names", true
	case errors.As(err, &ci):
		return "Loki's certificate is invalid (expired or not yet valid): renew it", true
	case errors.As(err, &rh), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server does not speak TLS: use an http:// url, or point the https:// url at a TLS port", true
	case errors.As(err, &alrt):
		return "Loki refused the TLS handshake: check tls_cert_file/tls_key_file (mutual TLS) and the TLS versions it allows", true
	}
	return "", false
}

func (c *Client) post(ctx context.Context, tenant string, body []byte) (int, string, error) {
	if c.direct != nil {
		start := time.Now()
		status, msg, err := c.direct.post(ctx, tenant, body)
		c.observe(time.Since(start), status, err)
		return status, msg, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	hr.Header.Set("Content-Type", "application/x-protobuf")
	hr.Header.Set("User-Agent", c.s.UserAgent)
	for _, h := range c.s.Headers {
		hr.Header.Set(h[0], h[1])
	}
	if tenant != "" {
		hr.Header.Set("X-Scope-OrgID", tenant)
	}
	switch {
	case c.s.BearerToken != "":
		hr.Header.Set("Authorization", "Bearer "+c.s.BearerToken)
	case c.s.HTTPUser != "":
		hr.SetBasicAuth(c.s.HTTPUser, c.s.HTTPPasswd)
	}
	start := time.Now()
	resp, err := c.hc.Do(hr)
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	c.observe(time.Since(start), code, err)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, string(msg), nil
}

// observe counts one push's latency and status (0: no answer).
func (c *Client) observe(took time.Duration, code int, err error) {
	c.Stats.RequestSeconds.Add(took.Microseconds())
	if m := c.s.Metrics; m != nil {
		if err != nil {
			code = 0
		}
		m.Request(code, took)
	}
}

// Loki 3 groups the entries it refused by reason: "N errors like: …;" per
// reason (older versions end with "total ignored: N out of M").
var (
	groupedRe = regexp.MustCompile(`(\d+) errors? like: `)
	ignoredRe = regexp.MustCompile(`total ignored: (\d+) out of (\d+)`)
)

// rejectedCount reads how many entries Loki refused; without Loki's count
// every entry of the request is assumed refused, so counters never
// under-report a loss.
func rejectedCount(msg string, entries int) int {
	if m := ignoredRe.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n <= entries {
			return n
		}
	}
	n := 0
	for _, m := range groupedRe.FindAllStringSubmatch(msg, -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	if n > 0 && n <= entries {
		return n
	}
	// Loki leaves the "N errors like" prefix off when it saw one message
	// once: for an entry's own fault (its time, its length) that is one
	// entry. Faults of the stream or the request refuse them all.
	if singleEntryFault(msg) {
		return 1
	}
	return entries
}

// lokiRefusal reports whether a 400's body is Loki's account of entries it
// refused (scripts/loki/BEHAVIOUR.md): every such answer speaks of
// entries, streams, labels, timestamps or limits.
func lokiRefusal(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range [...]string{"entry", "entries", "stream", "label", "timestamp", "ignored", "errors like", "exceeded", "too long", "too far behind", "out of order", "structured metadata", "error parsing", "limit", "tenant", "push"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

func singleEntryFault(msg string) bool {
	m := strings.ToLower(strings.TrimSpace(msg))
	if strings.Contains(m, "\n") || strings.Contains(m, "; ") {
		return false
	}
	return strings.Contains(m, "timestamp too old") || strings.Contains(m, "timestamp too new") ||
		strings.Contains(m, "max entry size") || strings.Contains(m, "too far behind")
}

// countDrops attributes n refused entries to reasons: per group in Loki 3's
// grouped answer, per line in the ingester's; whatever the message does not
// account for goes to the reason of the message as a whole.
func countDrops(msg string, n int, count func(metrics.Drop, int)) {
	left := n
	if locs := groupedRe.FindAllStringSubmatchIndex(msg, -1); len(locs) > 0 {
		for i, l := range locs {
			end := len(msg)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			k, _ := strconv.Atoi(msg[l[2]:l[3]])
			k = min(k, left)
			if k > 0 {
				count(metrics.DropOf(msg[l[1]:end]), k)
				left -= k
			}
		}
	} else {
		for _, line := range strings.Split(msg, "\n") {
			if left > 0 && strings.Contains(line, "ignored, reason:") {
				count(metrics.DropOf(line), 1)
				left--
			}
		}
	}
	if left > 0 {
		count(metrics.DropOf(msg), left)
	}
}

// summarize keeps the first line of Loki's answer, bounded, for logs. Loki
// quotes stream labels in it, never line content.
func summarize(msg string) string {
	msg = strings.TrimSpace(msg)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if msg == "" {
		msg = "(empty response)"
	}
	return msg
}

func (r request) hasMetadata() bool {
	for _, s := range r.streams {
		for i := range s.Entries {
			if len(s.Entries[i].StructuredMetadata) > 0 {
				return true
			}
		}
	}
	return false
}

// withoutMetadata is r with the same entries but no structured metadata;
// r itself is not modified (its identity, for resuming, stays the same).
func (r request) withoutMetadata() request {
	out := request{tenant: r.tenant, entries: r.entries, streams: make([]push.Stream, len(r.streams))}
	for i, s := range r.streams {
		es := make([]push.Entry, len(s.Entries))
		for j, e := range s.Entries {
			es[j] = push.Entry{Timestamp: e.Timestamp, Line: e.Line}
		}
		out.streams[i] = push.Stream{Labels: s.Labels, Entries: es}
	}
	return out
}

// halve splits r in two requests of one stream each when it has one
// stream: Loki reports only the last stream's outcome of a request
// (scripts/loki/BEHAVIOUR.md), so an entry it refused in any other would be
// taken for stored.
func halve(r request) []request {
	if len(r.streams) > 1 {
		mid := len(r.streams) / 2
		a := request{tenant: r.tenant, streams: r.streams[:mid], late: r.late}
		z := request{tenant: r.tenant, streams: r.streams[mid:], late: r.late}
		for _, s := range a.streams {
			a.entries += len(s.Entries)
		}
		z.entries = r.entries - a.entries
		return []request{a, z}
	}
	s := r.streams[0]
	mid := len(s.Entries) / 2
	return []request{
		{tenant: r.tenant, streams: []push.Stream{{Labels: s.Labels, Entries: s.Entries[:mid]}}, entries: mid, late: r.late},
		{tenant: r.tenant, streams: []push.Stream{{Labels: s.Labels, Entries: s.Entries[mid:]}}, entries: len(s.Entries) - mid, late: r.late},
	}
}
