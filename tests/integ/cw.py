# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Helpers for running cwatch in integration tests and reading what it says."""

import json
import os
import signal
import subprocess
import time

import util

MIB = 1 << 20


def run(env, args, timeout=60, **kw):
    """Run `cwatch ARGS...` to completion; CompletedProcess with text output."""
    return util.run([env.cwatch, *args], timeout, **kw)


def start(env, args, **kw):
    """Start `cwatch ARGS...` in the background (stdout a pipe, stderr captured)."""
    kw.setdefault("stderr", subprocess.PIPE)
    return util.spawn([env.cwatch, *args], **kw)


def fixture(env, name):
    return os.path.join(env.fixtures, name)


def of_type(objs, kind):
    return [o for o in objs if o.get("type") == kind]


def summary(objs):
    s = of_type(objs, "summary")
    assert len(s) == 1, f"expected one summary object, got {len(s)}"
    return s[0]


def target(objs, pid):
    """The summary's entry for pid (the newest if the pid was reused)."""
    found = [t for t in summary(objs)["target_list"] if t["pid"] == pid]
    assert found, f"pid {pid} is not among cwatch's targets: " + \
        str([t["pid"] for t in summary(objs)["target_list"]])
    return found[-1]


def near(what, actual, expected, rel=0.05, abs_tol=0):
    """Assert actual is within rel (or abs_tol) of expected, naming what."""
    assert util.within(actual, expected, rel, abs_tol), \
        f"{what}: cwatch says {actual}, ground truth {expected} " \
        f"(off by {actual - expected:+}, tolerance {max(rel * expected, abs_tol):.0f})"


def one_error_line(res, code, contains):
    """Assert cwatch failed with exit code and exactly one stderr line."""
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert res.returncode == code, \
        f"exit {res.returncode}, expected {code}; stderr: {res.stderr!r}"
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    if lines[0].startswith("{"):
        # under --json, errors are JSON objects too
        obj = json.loads(lines[0])
        assert obj["type"] == "error", obj
        text = obj["message"]
    else:
        assert lines[0].startswith("cwatch: error: "), lines[0]
        text = lines[0]
    assert contains in text, f"{contains!r} not in {text!r}"
    assert res.stdout == "", f"nothing may reach stdout on error: {res.stdout!r}"


def read_until(proc, pred, timeout):
    """Read JSON lines from proc.stdout until pred(obj); return (obj, all objs read)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        for o in util.read_json_lines(line):
            seen.append(o)
            if pred(o):
                return o, seen
    raise AssertionError(f"timed out waiting; read {len(seen)} objects: {seen[-3:]}")


def finish(proc, timeout=30, sig=None):
    """Stop proc (optionally with sig), return (rc, remaining stdout objs, stderr)."""
    if sig is not None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, util.read_json_lines(out), err


def sigint(proc):
    proc.send_signal(signal.SIGINT)
