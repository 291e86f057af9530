#!/usr/bin/env bash
# Instructions per event of the hot path, counted by valgrind's cachegrind:
# on a shared machine CPU time moves by 20-30 % between runs, instruction
# counts by about 2 %, so a change of a few per cent shows here first.
#
#   scripts/icount.sh [BASE]    count this tree, and BASE (a commit) if given
#
# Each count is the difference between a long and a short run of
# BenchmarkHotPath (1 000 events an iteration), which leaves out the setup
# both share: "path" with the collector off (I(25) - I(5), the work of the
# path itself), "with GC" as it runs (I(85) - I(5): collections come in
# whole cycles, so the longer run averages them; what the path allocates
# shows here). Needs valgrind (apt-get install valgrind); takes some
# minutes. Not a test: nothing asserts on the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "icount: valgrind is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" 2>/dev/null; git worktree prune; rm -rf "$work"' EXIT

# valgrind cannot run RDTSCP, which the runtime reads the clock with when
# a thread waits for a runtime lock (more often on a loaded machine): the
# runtime is told the CPU lacks it. Asynchronous preemption is off: its
# signals follow the wall clock, which valgrind on a busy machine
# stretches, and each one costs the path instructions it did not ask for.
count() { # binary form iterations [GOGC]
	GODEBUG=cpu.rdtscp=off,asyncpreemptoff=1 GOGC=${4:-100} valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
		"$1" -test.run '^$' -test.bench "HotPath/$2\$" -test.cpu 1 -test.benchtime "$3x" 2>&1 |
		awk '/I[ ]+refs/ { gsub(",", "", $4); print $4 }'
}

perEvent() { # binary form long [GOGC]
	local a b
	a=$(count "$1" "$2" 5 "${4:-}")
	b=$(count "$1" "$2" "$3" "${4:-}")
	echo $(((b - a) / (($3 - 5) * 1000)))
}

go test -c -o "$work/now.test" ./plugin/pipeline
bins=(now)
if [ $# -gt 0 ]; then
	git worktree add -q --detach "$work/base" "$1"
	(cd "$work/base" && go test -c -o "$work/base.test" ./plugin/pipeline)
	bins=(base now)
fi
echo 'instructions per event'
printf '%-14s' form
for b in "${bins[@]}"; do printf '%16s%16s' "$b path" "$b with GC"; done
echo
for form in raw mixed-shapes rawline; do
	printf '%-14s' "$form"
	for b in "${bins[@]}"; do
		printf '%16s%16s' "$(perEvent "$work/$b.test" "$form" 25 off)" "$(perEvent "$work/$b.test" "$form" 85)"
	done
	echo
done
