package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kaudit/kaudit/testdata"
)

// LokiVersion is the Loki the harness builds (scripts/loki/go.mod).
const LokiVersion = "v3.7.8"

// CacheDir is where built tools live, outside the repository, so CI and
// `make run` build Loki once per machine.
func CacheDir() string {
	if d := os.Getenv("KAUDIT_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "kaudit-cache")
	}
	return filepath.Join(home, ".cache", "kaudit")
}

// LokiBinary is the path of the real Loki, from $KAUDIT_LOKI or the cache
// (`scripts/loki.sh build` puts it there).
func LokiBinary() (string, error) {
	p := os.Getenv("KAUDIT_LOKI")
	if p == "" {
		p = filepath.Join(CacheDir(), "loki-"+LokiVersion, "loki")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("real Loki not found at %s (run `scripts/loki.sh build` or `make loki`): %w", p, err)
	}
	return p, nil
}

// Loki is a real Loki process on 127.0.0.1 with a filesystem store.
type Loki struct {
	Bin      string
	Config   string
	DataDir  string
	HTTPPort int
	GRPCPort int
	// Flags are extra command-line flags; they override loki.yaml
	// (e.g. -validation.allow-structured-metadata=false).
	Flags   []string
	cmd     *exec.Cmd
	logFile *os.File
}

// URL is Loki's base URL.
func (l *Loki) URL() string { return "http://127.0.0.1:" + strconv.Itoa(l.HTTPPort) }

// PushURL is the push endpoint kaudit is configured with.
func (l *Loki) PushURL() string { return l.URL() + "/loki/api/v1/push" }

// StartLoki starts Loki with scripts/loki/loki.yaml on free ports and a
// fresh data directory under dir, and waits until it is ready.
func StartLoki(dir string) (*Loki, error) { return StartLokiWith(dir) }

// StartLokiWith is StartLoki with extra Loki flags.
func StartLokiWith(dir string, flags ...string) (*Loki, error) {
	bin, err := LokiBinary()
	if err != nil {
		return nil, err
	}
	root, err := testdata.Root()
	if err != nil {
		return nil, err
	}
	l := &Loki{Bin: bin, Config: filepath.Join(root, "scripts", "loki", "loki.yaml"), DataDir: filepath.Join(dir, "loki-data"), Flags: flags}
	if l.HTTPPort, err = freePort(); err != nil {
		return nil, err
	}
	if l.GRPCPort, err = freePort(); err != nil {
		return nil, err
	}
	return l, l.Start()
}

// Start (re)starts the process on the same ports and data directory: a
// restart keeps what Loki had stored.
func (l *Loki) Start() error {
	if err := os.MkdirAll(l.DataDir, 0o755); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(l.DataDir, "..", "loki.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	l.logFile = lf
	cmd := exec.Command(l.Bin, append([]string{"-config.file=" + l.Config, "-config.expand-env=true"}, l.Flags...)...)
	cmd.Env = append(os.Environ(),
		"LOKI_HTTP_PORT="+strconv.Itoa(l.HTTPPort), "LOKI_GRPC_PORT="+strconv.Itoa(l.GRPCPort), "LOKI_DATA="+l.DataDir)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	l.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(l.URL() + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	l.Stop()
	return fmt.Errorf("loki did not become ready in 60s; see %s", lf.Name())
}

// LogTail returns the end of Loki's log, for failure messages.
func (l *Loki) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(l.DataDir, "..", "loki.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop kills Loki the way a crash would (SIGKILL): the fault tests need a
// Loki that disappears mid-flush, and a restart replays its WAL.
func (l *Loki) Stop() {
	if l.cmd != nil && l.cmd.Process != nil {
		_ = l.cmd.Process.Kill()
		_, _ = l.cmd.Process.Wait()
		l.cmd = nil
	}
	if l.logFile != nil {
		l.logFile.Close()
		l.logFile = nil
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Entry is one log entry read back from Loki.
type Entry struct {
	Labels   map[string]string // stream labels
	Metadata map[string]string // structured metadata
	Time     time.Time
	Line     string
}

// Query runs a LogQL log query over [start, end] for tenant and returns
// every entry. A window that hits the page limit is halved until each page
// is complete, so nothing is merged or de-duplicated on this side: a
// duplicate stored in Loki shows up as two entries.
func (l *Loki) Query(tenant, logql string, start, end time.Time) ([]Entry, error) {
	out, err := l.window(tenant, logql, start, end.Add(time.Nanosecond))
	sortEntries(out)
	return out, err
}

const pageLimit = 1000

func (l *Loki) window(tenant, logql string, from, to time.Time) ([]Entry, error) {
	page, err := l.queryRange(tenant, logql, from, to, pageLimit)
	if err != nil || len(page) < pageLimit {
		return page, err
	}
	if to.Sub(from) <= time.Nanosecond {
		return nil, fmt.Errorf("more than %d entries share timestamp %s", pageLimit, from)
	}
	mid := from.Add(to.Sub(from) / 2)
	a, err := l.window(tenant, logql, from, mid)
	if err != nil {
		return nil, err
	}
	b, err := l.window(tenant, logql, mid, to)
	return append(a, b...), err
}

func (l *Loki) queryRange(tenant, logql string, start, end time.Time, limit int) ([]Entry, error) {
	q := url.Values{}
	q.Set("query", logql)
	q.Set("start", strconv.FormatInt(start.UnixNano(), 10))
	q.Set("end", strconv.FormatInt(end.UnixNano(), 10)) // exclusive
	q.Set("limit", strconv.Itoa(limit))
	q.Set("direction", "forward")
	req, _ := http.NewRequest(http.MethodGet, l.URL()+"/loki/api/v1/query_range?"+q.Encode(), nil)
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	req.Header.Set("X-Loki-Response-Encoding-Flags", "categorize-labels")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("query_range %q: %d %s", logql, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var r struct {
		Data struct {
			Result []struct {
				Stream map[string]string   `json:"stream"`
				Values [][]json.RawMessage `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query_range: %w", err)
	}
	var out []Entry
	for _, s := range r.Data.Result {
		for _, v := range s.Values {
			if len(v) < 2 {
				continue
			}
			var tsStr, line string
			_ = json.Unmarshal(v[0], &tsStr)
			_ = json.Unmarshal(v[1], &line)
			ns, _ := strconv.ParseInt(tsStr, 10, 64)
			e := Entry{Labels: s.Stream, Time: time.Unix(0, ns).UTC(), Line: line, Metadata: map[string]string{}}
			if len(v) > 2 {
				var cat struct {
					StructuredMetadata map[string]string `json:"structuredMetadata"`
				}
				_ = json.Unmarshal(v[2], &cat)
				for k, val := range cat.StructuredMetadata {
					e.Metadata[k] = val
				}
			}
			out = append(out, e)
		}
	}
	sortEntries(out)
	return out, nil
}
