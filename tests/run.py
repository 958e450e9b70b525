#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Run the whole test suite: the C unit binary, then the integration tests.

usage: python3 tests/run.py --build DIR [--unit-only] [-k SUBSTR]

Integration tests are the top-level test_*(env) functions of
tests/integ/test_*.py, run in file order in this process. The last line
printed is always "N passed, N failed, N skipped" (unit and integration
together); the exit status is 1 if anything failed.
"""

import argparse
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTEG = ROOT / "tests" / "integ"
# seconds per integration test, and for the unit binary (make soak raises it)
TIMEOUT = int(os.environ.get("CWATCH_TEST_TIMEOUT", "300"))
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, str(INTEG))
import util  # noqa: E402  (the same module the tests import, so one Skip)


class Timeout(BaseException):
    """The watchdog fired. A BaseException, so `except Exception` misses it."""


def on_alarm(signum, frame):
    """SIGALRM handler: abort the running test."""
    raise Timeout(f"timed out after {TIMEOUT}s")


def indent(text):
    """Indent every line of text by four spaces, for tracebacks."""
    lines = text.rstrip("\n").split("\n")
    return "".join("    " + line + "\n" for line in lines)


def run_unit(build, substr):
    """Run DIR/unit, echo its per-test lines, return (passed, failed, skipped).

    Its summary line is not echoed: the combined one printed last replaces
    it. A missing binary, a crash or a timeout counts as one more failure.
    """
    exe = build / "unit"
    if not os.access(exe, os.X_OK):
        print(f"FAIL unit: {exe} not found (make unit)")
        return 0, 1, 0
    cmd = [str(exe)] + ([substr] if substr else [])
    counts = None
    signal.alarm(TIMEOUT)
    try:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                              cwd=ROOT) as p:
            try:
                for line in p.stdout:
                    m = SUMMARY.match(line.rstrip("\n"))
                    if m:
                        counts = tuple(int(x) for x in m.groups())
                    else:
                        print(line, end="", flush=True)
                rc = p.wait()
            except Timeout:
                p.kill()
                p.wait()
                print(f"FAIL unit: timed out after {TIMEOUT}s")
                return (counts[0], counts[1] + 1, counts[2]) if counts \
                    else (0, 1, 0)
    finally:
        signal.alarm(0)
    if counts is None:
        print(f"FAIL unit: no summary line (exit status {rc})")
        return 0, 1, 0
    if rc != (1 if counts[1] else 0):
        print(f"FAIL unit: exit status {rc}")
        return counts[0], counts[1] + 1, counts[2]
    return counts


def load_module(path):
    """Import tests/integ/NAME.py as module NAME."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


def test_functions(mod):
    """The module's own top-level test_* functions, in file order."""
    fns = [f for name, f in vars(mod).items()
           if name.startswith("test_") and isinstance(f, types.FunctionType)
           and f.__module__ == mod.__name__]
    return sorted(fns, key=lambda f: f.__code__.co_firstlineno)


def run_integ(env, substr):
    """Run every integration test; return (passed, failed, skipped)."""
    passed = failed = skipped = 0
    for path in sorted(INTEG.glob("test_*.py")):
        try:
            mod = load_module(path)
        except util.Skip as e:
            print(f"skip integ/{path.stem}: {e}", flush=True)
            skipped += 1
            continue
        except Exception:
            print(f"FAIL integ/{path.stem} (import)")
            print(indent(traceback.format_exc()), end="", flush=True)
            failed += 1
            continue
        for fn in test_functions(mod):
            name = f"integ/{path.stem}::{fn.__name__}"
            if substr and substr not in name:
                continue
            t0 = time.monotonic()
            err = None
            signal.alarm(TIMEOUT)
            try:
                fn(env)
            except util.Skip as e:
                err = e
            except (Exception, Timeout):
                err = traceback.format_exc()
            finally:
                signal.alarm(0)
                util.cleanup()
            dt = f"({time.monotonic() - t0:.1f}s)"
            sys.stderr.flush()
            if err is None:
                print(f"ok   {name} {dt}", flush=True)
                passed += 1
            elif isinstance(err, util.Skip):
                print(f"skip {name}: {err}", flush=True)
                skipped += 1
            else:
                print(f"FAIL {name} {dt}")
                print(indent(err), end="", flush=True)
                failed += 1
    return passed, failed, skipped


def main():
    """Parse the options, run the suites, print the totals, exit."""
    ap = argparse.ArgumentParser(description="Run cwatch's tests.")
    ap.add_argument("--build", metavar="DIR", required=True,
                    help="build output folder (holds unit, cwatch, fixtures/)")
    ap.add_argument("--unit-only", action="store_true",
                    help="run only the C unit tests")
    ap.add_argument("-k", metavar="SUBSTR", dest="substr",
                    help="run only tests whose name contains SUBSTR")
    args = ap.parse_args()

    build = Path(args.build).resolve()
    signal.signal(signal.SIGALRM, on_alarm)
    total = list(run_unit(build, args.substr))

    if not args.unit_only:
        artifacts = build / "test-artifacts"
        shutil.rmtree(artifacts, ignore_errors=True)
        artifacts.mkdir(parents=True)
        env = types.SimpleNamespace(build=str(build),
                                    cwatch=str(build / "cwatch"),
                                    fixtures=str(build / "fixtures"),
                                    root=str(ROOT),
                                    artifacts=str(artifacts))
        for i, n in enumerate(run_integ(env, args.substr)):
            total[i] += n

    util.cleanup()
    sys.stderr.flush()
    print("%d passed, %d failed, %d skipped" % tuple(total), flush=True)
    # Nothing may follow the totals: skip interpreter teardown (stray
    # threads, __del__ warnings) by leaving at once.
    os._exit(1 if total[1] else 0)


if __name__ == "__main__":
    main()
