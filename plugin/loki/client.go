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
}

// Stats are the client's counters since start; safe to read concurrently.
type Stats struct {
	Requests       atomic.Int64 // push requests sent
	Accepted       atomic.Int64 // entries Loki accepted
	Rejected       atomic.Int64 // entries Loki refused as invalid (400); never retried
	Retries        atomic.Int64 // flushes answered with retry
	RequestSeconds atomic.Int64 // total push latency, in microseconds
}

// Client pushes batches to one Loki endpoint. Safe for concurrent use, so
// Fluent Bit's `workers` can flush in parallel through one instance.
type Client struct {
	s     Settings
	hc    *http.Client
	Stats Stats
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
	return &Client{s: s, hc: &http.Client{Transport: tr}}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Outcome reports a delivery that needs no retry.
type Outcome struct {
	Requests int
	Accepted int
	// Rejected entries were refused by Loki as invalid (too long, too old,
	// too many labels...). Retrying cannot help, so they are counted, logged
	// with Reason, and the chunk is acknowledged.
	Rejected int
	Reason   string
}

// RetryError means the chunk must be handed back to Fluent Bit for a retry:
// Loki was unreachable, slow, overloaded or refused the credentials. The
// data itself is fine and Fluent Bit's storage keeps it meanwhile.
type RetryError struct {
	Status int // 0 for transport errors
	Err    error
}

func (e *RetryError) Error() string {
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
		if err := c.send(ctx, reqs[i], &out); err != nil {
			c.Stats.Retries.Add(1)
			if m := c.s.Metrics; m != nil {
				m.Retries.Inc()
			}
			// Identities are computed only here, on the way to a retry:
			// a healthy flush never hashes.
			for j := range reqs[:i] {
				b.remember(reqs[j].id())
			}
			return out, err
		}
	}
	b.complete = true
	return out, nil
}

func (c *Client) send(ctx context.Context, r request, out *Outcome) error {
	body := encodeBody(r.streams)
	status, msg, err := c.post(ctx, r.tenant, body)
	out.Requests++
	c.Stats.Requests.Add(1)
	switch {
	case err != nil:
		return &RetryError{Err: err}
	case status/100 == 2:
		out.Accepted += r.entries
		c.Stats.Accepted.Add(int64(r.entries))
		if m := c.s.Metrics; m != nil {
			m.Accepted.Add(float64(r.entries))
		}
		return nil
	case status == http.StatusBadRequest:
		// Loki validates entry by entry, stores the valid ones and answers
		// 400 naming the rest (scripts/loki/BEHAVIOUR.md). Retrying would
		// only be refused again.
		n := rejectedCount(msg, r.entries)
		out.Accepted += r.entries - n
		out.Rejected += n
		c.Stats.Accepted.Add(int64(r.entries - n))
		c.Stats.Rejected.Add(int64(n))
		if m := c.s.Metrics; m != nil {
			m.Accepted.Add(float64(r.entries - n))
			countDrops(msg, n, func(d metrics.Drop, k int) { m.Dropped[d].Add(float64(k)) })
		}
		if out.Reason == "" {
			out.Reason = summarize(msg)
		}
		return nil
	case status == http.StatusRequestEntityTooLarge && len(r.streams) > 0 && r.entries > 1:
		// The server's body limit is below max_request_bytes: halve and resend.
		for _, half := range halve(r) {
			if err := c.send(ctx, half, out); err != nil {
				return err
			}
		}
		return nil
	default:
		// 429 and 5xx are Loki asking for patience; 401/403/404 and other
		// codes are configuration problems the operator can fix without
		// losing data. All keep the chunk in Fluent Bit.
		return &RetryError{Status: status, Err: errors.New(summarize(msg))}
	}
}

func (c *Client) post(ctx context.Context, tenant string, body []byte) (int, string, error) {
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
	took := time.Since(start)
	c.Stats.RequestSeconds.Add(took.Microseconds())
	if m := c.s.Metrics; m != nil {
		code := 0
		if err == nil {
			code = resp.StatusCode
		}
		m.Request(code, took)
	}
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, string(msg), nil
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
	return entries
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

func halve(r request) []request {
	var all []push.Stream
	for _, s := range r.streams {
		for i := range s.Entries {
			all = append(all, push.Stream{Labels: s.Labels, Entries: s.Entries[i : i+1]})
		}
	}
	mid := len(all) / 2
	return []request{
		{tenant: r.tenant, streams: all[:mid], entries: mid},
		{tenant: r.tenant, streams: all[mid:], entries: len(all) - mid},
	}
}
