#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench`: what cwatch costs the programs it watches, and what it holds.
# Paired runs without and with a monitor, side by side, order alternating:
# mallocbench (with and without a 1% leak; cwatch default mode, --heap, and
# the bpftrace memleak-style scripts/bench/memleak.bt), demo_host, and the
# wasmer-go and wasmtime-go hosts' call loops (cwatch default mode and the
# bpftrace tracker scripts/bench/track.bt). Then capacity (event rate against
# events lost, collector CPU per event), cwatch's RSS at 1,000 instances and
# the time to detect a 1 MiB/s leak (tests/fixtures/manyinstances.c, with
# scripts/bench/manyinstances.yaml). Writes bench/results.md and
# bench/results.json; scripts/bench.py does the runs and the statistics.
#
# Environment:
#   BENCH_PAIRS=N           pairs per workload (default 7: about 10 minutes in all)
#   BENCH_BPFTRACE_PAIRS=N  pairs of the bpftrace comparisons (default 5; slow)
#   BENCH_SKIP=a,b          sections to skip: malloc, demo, hosts, bpftrace,
#                           capacity, rss, detect
#
# usage: bash scripts/bench.sh [OUTDIR]     (OUTDIR: the build folder, default build)
set -euo pipefail
out=${1:-build}
pairs=${BENCH_PAIRS:-7}
bpf_pairs=${BENCH_BPFTRACE_PAIRS:-5}
skip=${BENCH_SKIP:-}

if [ "$(id -u)" -ne 0 ]; then
	echo "cwatch: error: the bench loads BPF programs: run it as root (sudo make bench)" >&2
	exit 1
fi
if ! [[ $pairs =~ ^[1-9][0-9]{0,3}$ ]]; then
	echo "cwatch: error: BENCH_PAIRS='$pairs' is not a number from 1 to 9999" >&2
	exit 2
fi
if ! [[ $bpf_pairs =~ ^[1-9][0-9]{0,3}$ ]]; then
	echo "cwatch: error: BENCH_BPFTRACE_PAIRS='$bpf_pairs' is not a number from 1 to 9999" >&2
	exit 2
fi
if ! [[ $skip =~ ^[a-z,\ ]*$ ]]; then
	echo "cwatch: error: BENCH_SKIP='$skip': want section names separated by commas" >&2
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
exec python3 scripts/bench.py run --build "$out" --out bench --pairs "$pairs" \
	--bpftrace-pairs "$bpf_pairs" --skip "$skip"
