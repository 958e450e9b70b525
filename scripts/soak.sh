#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make soak: tests/integ/test_soak.py for SOAK_SECONDS (default 600) instead of
# make test's 60: flat cwatch RSS and no descriptor leak under target churn.
# usage: scripts/soak.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: scripts/soak.sh BUILD_DIR}
seconds=${SOAK_SECONDS:-600}
export CWATCH_SOAK_SECONDS=$seconds
export CWATCH_TEST_TIMEOUT=$((seconds + 300))
exec python3 "$(dirname "$0")/../tests/run.py" --build "$build" -k test_soak
