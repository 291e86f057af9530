package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kaudit/kaudit/plugin/output/instance"
)

func pushCmd(args []string, stderr io.Writer) error {
	f := newFlags("push")
	url := f.fs.String("url", "", "Loki push URL (same as -o url=...)")
	workers := f.fs.Int("workers", 2, "chunks delivered concurrently")
	maxRetries := f.fs.Int("max-retries", 10, "retries of one chunk (backoff 0.5s doubling to 30s) before giving up")
	progress := f.fs.Bool("progress", false, "draw the progress bar even when stderr is not a terminal")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() == 0 {
		return fmt.Errorf("push: no input file: %w", errUsage)
	}
	if *workers < 1 || *maxRetries < 0 {
		return fmt.Errorf("push: --workers must be at least 1 and --max-retries not negative: %w", errUsage)
	}
	g, err := f.getter()
	if err != nil {
		return err
	}
	if *url != "" {
		g["url"] = *url
	}
	if g["timeout"] == "" {
		// No Fluent Bit waits on a backfill: give a loaded Loki time rather
		// than resend requests it may already have stored.
		g["timeout"] = "60s"
	}
	in, err := instance.NewWith(g, Version, instance.Options{Quiet: true})
	if err != nil {
		return err
	}
	defer in.Close()

	p := &pusher{in: in, maxRetries: *maxRetries, start: time.Now(), out: stderr, reasons: map[string]int{}}
	if *progress || isTerminal(stderr) {
		p.bar = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chunks := make(chan chunk, *workers)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range chunks {
				if err := p.deliver(ctx, c); err != nil {
					p.fail(err)
					cancel()
				}
			}
		}()
	}
	rerr := readChunks(f.fs.Args(), p.progress, func(c chunk) error {
		select {
		case chunks <- c:
			return nil
		case <-ctx.Done():
			return context.Canceled
		}
	})
	close(chunks)
	wg.Wait()
	p.draw(true)
	if rerr != nil && !errors.Is(rerr, context.Canceled) {
		return rerr
	}
	return p.result()
}

// pusher delivers chunks with retries and keeps the run's totals.
type pusher struct {
	in         *instance.Instance
	maxRetries int
	start      time.Time
	out        io.Writer
	bar        bool

	mu        sync.Mutex
	tot       totals
	accepted  int
	rejected  int
	retries   int
	reasons   map[string]int
	firstErr  error
	done      int64 // input bytes read
	delivered int64 // input bytes whose chunks Loki acknowledged
	total     int64
	lastDrawn time.Time
}

// deliver sends one chunk, retrying what Loki asked to retry with
// exponential backoff; only a chunk that still fails after maxRetries is
// an error, and it stops the run: nothing is skipped silently.
func (p *pusher) deliver(ctx context.Context, c chunk) error {
	b, rep := p.in.Batch(c.data)
	p.mu.Lock()
	p.tot.add(rep)
	p.mu.Unlock()
	wait := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		// A retry resumes at the request that failed: the ones before it
		// are not sent again (see loki.Client.Deliver).
		out, err := p.in.Client.Deliver(ctx, b)
		p.mu.Lock()
		p.accepted += out.Accepted
		p.rejected += out.Rejected
		if out.Rejected > 0 {
			p.reasons[out.Reason] += out.Rejected
		}
		p.mu.Unlock()
		if err == nil {
			p.mu.Lock()
			p.delivered += c.span
			p.mu.Unlock()
			return nil
		}
		if attempt >= p.maxRetries || ctx.Err() != nil {
			return fmt.Errorf("%s: records %d-%d (%d entries) not delivered after %d attempts: %w",
				c.file, c.firstLine, c.firstLine+c.records-1, b.Len(), attempt+1, err)
		}
		p.mu.Lock()
		p.retries++
		p.mu.Unlock()
		d := wait/2 + rand.N(wait/2+1) // jitter, so workers do not retry in step
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (p *pusher) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstErr == nil {
		p.firstErr = err
	}
}

func (p *pusher) progress(done, total int64) {
	p.mu.Lock()
	p.done, p.total = done, total
	p.mu.Unlock()
	p.draw(false)
}

// draw renders the bar at most five times a second; final ends its line.
func (p *pusher) draw(final bool) {
	if !p.bar {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if !final && now.Sub(p.lastDrawn) < 200*time.Millisecond {
		return
	}
	p.lastDrawn = now
	// The bar is what Loki acknowledged, not what was read: reading runs
	// ahead of delivery, and a stalled Loki must not look finished.
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(p.delivered)/float64(p.total), 1)
	}
	const width = 30
	n := int(frac * width)
	secs := now.Sub(p.start).Seconds()
	fmt.Fprintf(p.out, "\r[%s%s] %3.0f%% delivered %s/%s (read %s) %d entries %.0f/s retries=%d",
		strings.Repeat("#", n), strings.Repeat(" ", width-n), 100*frac, size(p.delivered), size(p.total), size(p.done), p.accepted, float64(p.accepted)/max(secs, 1e-3), p.retries)
	if final {
		fmt.Fprintln(p.out)
	}
}

// result prints the summary line and says whether everything arrived.
func (p *pusher) result() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := time.Since(p.start).Seconds()
	fmt.Fprintf(p.out, "kaudit push: %s; delivered %d, refused by Loki %d, retries %d; %.1fs, %.0f entries/s\n",
		p.tot, p.accepted, p.rejected, p.retries, secs, float64(p.accepted)/max(secs, 1e-3))
	var errs []string
	if p.firstErr != nil {
		errs = append(errs, p.firstErr.Error()+" (the run stopped there)")
	}
	for reason, n := range p.reasons {
		errs = append(errs, fmt.Sprintf("%d entries refused by Loki as invalid: %s", n, reason))
	}
	if p.tot.failed > 0 {
		errs = append(errs, fmt.Sprintf("%d events dropped because processing failed (fail closed)", p.tot.failed))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0fKiB", float64(n)/(1<<10))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
