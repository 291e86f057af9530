#!/usr/bin/env bash
# Real Loki for kaudit's end-to-end tests and local runs.
#
#   scripts/loki.sh build                 build the pinned Loki into the cache (no-op if present)
#   scripts/loki.sh path                  print the binary's path
#   scripts/loki.sh start [port] [flags]  start on 127.0.0.1:<port> (default 3100) with a fresh
#                                         data dir, wait for /ready, print the base URL
#   scripts/loki.sh stop [port]           stop the instance started on <port>
#
# Extra arguments after the port are passed to Loki (e.g.
# -distributor.ingestion-rate-limit-mb=0.01); command-line flags override loki.yaml.
#
# Environment:
#   KAUDIT_CACHE         cache root (default $HOME/.cache/kaudit)
#   LOKI_GRPC_PORT       gRPC port (default <port>+1)
#   LOKI_RUN_DIR         pid file, log and data for this instance
#                        (default ${TMPDIR:-/tmp}/kaudit-loki-<port>)
#   LOKI_START_TIMEOUT   seconds to wait for /ready (default 60)
#   LOKI_RULES_DIR       ruler rules to load, laid out as <tenant>/<file>.yaml; copied
#                        into the fresh data dir (the ruler re-reads it every 10 s)
#   LOKI_LOG_LEVEL, LOKI_INGESTION_RATE_MB, LOKI_INGESTION_BURST_MB: see loki/loki.yaml
#
# Only loopback is used at run time; `build` needs the Go module proxy.
set -euo pipefail

readonly LOKI_VERSION=v3.7.8
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPTS_DIR
readonly CACHE=${KAUDIT_CACHE:-$HOME/.cache/kaudit}
readonly BIN=$CACHE/loki-$LOKI_VERSION/loki
readonly CONFIG=$SCRIPTS_DIR/loki/loki.yaml

die() {
	echo "loki.sh: $*" >&2
	exit 1
}

gocmd() {
	if command -v go >/dev/null 2>&1; then
		go "$@"
	elif [[ -x /usr/local/go/bin/go ]]; then
		/usr/local/go/bin/go "$@"
	else
		die "go not found in PATH or /usr/local/go/bin"
	fi
}

# Proxies must never see test traffic to 127.0.0.1.
lcurl() {
	curl --noproxy '*' -sS "$@"
}

cmd_build() {
	[[ -x $BIN ]] && return 0
	grep -q "github.com/grafana/loki/v3 $LOKI_VERSION\$" "$SCRIPTS_DIR/loki/go.mod" ||
		die "scripts/loki/go.mod does not require loki $LOKI_VERSION; update LOKI_VERSION"
	local dir
	dir=$(dirname "$BIN")
	mkdir -p "$dir"
	# Serialise concurrent builds (parallel test packages) and publish the
	# binary with a rename so nobody ever executes a half-written file.
	exec 9>"$dir/.build.lock"
	if command -v flock >/dev/null 2>&1; then
		flock 9
	fi
	if [[ ! -x $BIN ]]; then
		echo "loki.sh: building loki $LOKI_VERSION (takes several minutes)..." >&2
		local tmp=$BIN.tmp.$$
		(cd "$SCRIPTS_DIR/loki" && gocmd build -trimpath -o "$tmp" github.com/grafana/loki/v3/cmd/loki) ||
			{
				rm -f "$tmp"
				die "build failed"
			}
		mv -f "$tmp" "$BIN"
	fi
	exec 9>&-
}

cmd_path() {
	echo "$BIN"
}

run_dir() {
	echo "${LOKI_RUN_DIR:-${TMPDIR:-/tmp}/kaudit-loki-$1}"
}

# is_our_loki PID: true if PID is alive and is a Loki process (guards against
# a stale pid file whose pid has been reused).
is_our_loki() {
	local pid=$1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	if [[ -r /proc/$pid/cmdline ]]; then
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q loki
	fi
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_port() {
	[[ $1 =~ ^[0-9]+$ ]] && (($1 > 0 && $1 < 65536)) || die "invalid port: $1"
}

cmd_start() {
	local port=${1:-3100}
	[[ $# -gt 0 ]] && shift
	check_port "$port"
	local grpc=${LOKI_GRPC_PORT:-$((port + 1))}
	check_port "$grpc"
	local run
	run=$(run_dir "$port")
	local pidfile=$run/loki.pid

	if [[ -f $pidfile ]] && is_our_loki "$(cat "$pidfile")"; then
		die "already running on port $port (pid $(cat "$pidfile")); run: $0 stop $port"
	fi
	port_in_use "$port" && die "port $port already in use"
	port_in_use "$grpc" && die "gRPC port $grpc already in use (set LOKI_GRPC_PORT)"

	cmd_build

	# Only our own files: LOKI_RUN_DIR may point somewhere shared.
	rm -rf "$run/data" "$run/loki.log"
	mkdir -p "$run/data/rules"
	if [[ -n ${LOKI_RULES_DIR:-} ]]; then
		[[ -d $LOKI_RULES_DIR ]] || die "LOKI_RULES_DIR $LOKI_RULES_DIR is not a directory"
		cp -R "$LOKI_RULES_DIR/." "$run/data/rules/"
	fi
	LOKI_HTTP_PORT=$port LOKI_GRPC_PORT=$grpc LOKI_DATA=$run/data \
		nohup "$BIN" -config.file="$CONFIG" -config.expand-env=true "$@" \
		</dev/null >"$run/loki.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$pidfile"

	local url=http://127.0.0.1:$port
	local timeout=${LOKI_START_TIMEOUT:-60}
	local deadline=$((SECONDS + timeout))
	until [[ $(lcurl -o /dev/null -w '%{http_code}' "$url/ready" 2>/dev/null) == 200 ]]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pidfile"
			tail -n 30 "$run/loki.log" >&2 || true
			die "loki exited during startup (log: $run/loki.log)"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 30 "$run/loki.log" >&2 || true
			stop_pid "$pid"
			rm -f "$pidfile"
			die "loki not ready after ${timeout}s (log: $run/loki.log)"
		fi
		sleep 0.2
	done
	echo "$url"
}

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
	local port=${1:-3100}
	check_port "$port"
	local pidfile
	pidfile=$(run_dir "$port")/loki.pid
	[[ -f $pidfile ]] || return 0
	local pid
	pid=$(cat "$pidfile")
	if is_our_loki "$pid"; then
		stop_pid "$pid"
	fi
	rm -f "$pidfile"
}

usage() {
	sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
cmd=$1
shift
case $cmd in
build) cmd_build ;;
path) cmd_path ;;
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
*) usage ;;
esac
