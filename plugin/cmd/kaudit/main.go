// Command kaudit runs the plugin's own code path (plugin/output/instance: the same
// configuration keys, decoder, rules, redaction, entry rendering and Loki
// client) outside Fluent Bit:
//
//	kaudit replay [--config FILE] [-o key=value ...] FILE...
//	kaudit push   [--url URL] [--config FILE] [-o key=value ...] FILE...
//	kaudit check  [--config FILE] [-o key=value ...] [--rules FILE ...]
//	kaudit tune   [--config FILE] [-o key=value ...] [--write FILE] FILE... | --loki URL
//
// replay prints what would reach Loki, one JSON object per entry; push
// backfills old audit logs into Loki without losing any; check validates a
// configuration and rule files; tune proposes scoped exceptions from audit
// history. Input files are JSON-lines audit logs,
// plain or gzip-compressed, whatever their name (rotated files), holding
// raw events, webhook EventList batches or AKS diagnostic records.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Version is set at build time (-ldflags -X main.Version=...).
var Version = "dev"

const usage = `kaudit: Kubernetes audit logs through kaudit's pipeline, outside Fluent Bit

usage:
  kaudit replay [--config FILE [--output N]] [-o key=value ...] FILE...
      print the entries the plugin would send to Loki (tenant, labels,
      structured metadata, time, line), one JSON object per line
  kaudit push [--url URL] [--config FILE [--output N]] [-o key=value ...]
              [--workers N] [--max-retries N] [--progress] FILE...
      backfill audit logs into Loki; retries with backoff, exits 1 if any
      entry could not be delivered (timeout defaults to 60s here)
  kaudit check [--config FILE] [-o key=value ...] [--rules FILE ...]
      validate a configuration (every kaudit [OUTPUT] of a Fluent Bit
      config, or -o keys) and rule files; one line per problem, exit 1
  kaudit tune [--config FILE] [-o key=value ...] [--write FILE]
              [--min-count N] [--min-hours N] [--min-severity S] [--people]
              (FILE... | --loki URL [--query SELECTOR] [--since 24h])
      report which rules fire for which identities in audit history, and
      propose a site rules file of exceptions scoped to rule and identity,
      with what it would silence and what would still fire

FILE: JSON-lines audit logs, plain or .gz (any name: rotated files too),
raw events, EventList batches or AKS records; a line that is not JSON is
handled as {"log": line}, as Fluent Bit's tail input hands it on.
Keys (-o, --config) are the plugin's [OUTPUT] keys; see README.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage makes run print the usage and exit 2.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "kaudit", Version)
		return 0
	}
	var err error
	switch args[0] {
	case "replay":
		err = replay(args[1:], stdout, stderr)
	case "push":
		err = pushCmd(args[1:], stderr)
	case "check":
		err = check(args[1:], stdout)
	case "tune":
		err = tune(args[1:], stdout, stderr)
	default:
		err = fmt.Errorf("unknown command %q: %w", args[0], errUsage)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "kaudit: %s\n\n%s", strings.TrimSuffix(err.Error(), ": usage"), usage)
		return 2
	}
	var ps problemList
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(stderr, "kaudit:", p)
		}
		return 1
	}
	fmt.Fprintln(stderr, "kaudit:", oneLine(err))
	return 1
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
