#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench`: what cwatch's default mode costs the programs it watches.
# Paired runs without and with `cwatch run`, side by side, for mallocbench
# (with and without a 1% leak) and demo_host; writes bench/results.md and
# bench/results.json. BENCH_PAIRS=N sets the pairs per workload (default 12,
# about 5 minutes in all). scripts/bench.py does the runs and the statistics.
#
# usage: bash scripts/bench.sh [OUTDIR]     (OUTDIR: the build folder, default build)
set -euo pipefail
out=${1:-build}
pairs=${BENCH_PAIRS:-12}

if [ "$(id -u)" -ne 0 ]; then
	echo "cwatch: error: the bench loads BPF programs: run it as root (sudo make bench)" >&2
	exit 1
fi
if ! [[ $pairs =~ ^[1-9][0-9]{0,3}$ ]]; then
	echo "cwatch: error: BENCH_PAIRS='$pairs' is not a number from 1 to 9999" >&2
	exit 2
fi
if [ "$pairs" -lt 5 ]; then
	echo "bench: warning: BENCH_PAIRS=$pairs: fewer than 5 pairs say little on a noisy machine" >&2
fi
command -v python3 >/dev/null || {
	echo "cwatch: error: the bench needs python3" >&2
	exit 1
}

# OUTDIR may be relative to where we were started; the runs happen from the
# repository root so that the commands in results.md can be pasted as they are.
if [ ! -d "$out" ]; then
	echo "cwatch: error: no build folder '$out': run make all first" >&2
	exit 1
fi
out=$(cd "$out" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
exec python3 scripts/bench.py run --build "$out" --out bench --pairs "$pairs"
