# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Helpers for integration tests (tests/integ/test_*.py), run by tests/run.py.

A test is a top-level function test_*(env); env has build, cwatch, fixtures,
root and artifacts (absolute paths). Raise Skip to skip; any other exception
fails the test. Processes started with spawn() that are still running when a
test ends are killed by the runner (cleanup()).
"""

import json
import os
import subprocess
import time


class Skip(Exception):
    """Raised by a test that cannot run here; the runner counts it skipped."""


def need_root():
    """Skip the calling test unless it runs as root (BPF needs it)."""
    if os.geteuid() != 0:
        raise Skip("needs root")


def run(cmd, timeout, **kw):
    """Run cmd to completion; return the CompletedProcess, output as text.

    stdout and stderr are captured unless kw says otherwise; a non-zero exit
    is not an error (check=True in kw makes it one).
    """
    if "stdout" not in kw and "stderr" not in kw:
        kw.setdefault("capture_output", True)
    return subprocess.run(cmd, timeout=timeout, text=True, **kw)


_children = []


def spawn(cmd, **kw):
    """Start cmd with stdout as a line-buffered text pipe; return the Popen."""
    kw.setdefault("stdout", subprocess.PIPE)
    p = subprocess.Popen(cmd, text=True, bufsize=1, **kw)
    _children.append(p)
    return p


def cleanup(grace=2.0):
    """Terminate, then kill, what spawn() started and is still running."""
    while _children:
        p = _children.pop()
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            if f:
                f.close()


def read_json_lines(text):
    """Return the JSON objects found one per line in text; skip other lines."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def proc_status(pid):
    """Return /proc/PID/status's numeric fields as ints.

    "N kB" fields (VmHWM, VmRSS, RssAnon, RssFile, RssShmem, VmData, ...)
    are converted to bytes; plain numbers (Threads, PPid, ...) are kept.
    Fields with several values or text (Uid, State, Name) are left out.
    """
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, val = line.partition(":")
            parts = val.split()
            if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
                out[key] = int(parts[0]) * 1024
            elif len(parts) == 1 and parts[0].isdigit():
                out[key] = int(parts[0])
    return out


def within(actual, expected, rel, abs_tol=0):
    """True if actual is within rel * |expected|, or abs_tol, of expected."""
    return abs(actual - expected) <= max(rel * abs(expected), abs_tol)


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it is truthy; return its value, or False on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
