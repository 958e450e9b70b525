#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The README's first command: watch the bundled demo contract host (three
# contracts, one of which leaks) live, then print the summary.
set -euo pipefail
out=${1:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "cwatch: error: the demo loads BPF programs: run it as root (sudo make demo)" >&2
	exit 1
fi
echo "cwatch demo: a contract host runs token, escrow and auction for 12 s;"
echo "auction leaks 256 KiB per call: watch its RET/CALL and HELD, and the leak verdict."
echo
exec "$out/cwatch" run --interval 2 --heap -- "$out/fixtures/demo_host" --seconds 12 --quiet
