# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Least privilege after load, and SIGHUP reloading --profile files without losing state."""

import os
import signal
import subprocess
import tempfile
import time

import cw
import util

CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 2, 19, 21, 38, 39
KEPT = (1 << CAP_BPF) | (1 << CAP_PERFMON) | (1 << CAP_SYS_PTRACE) | (1 << CAP_DAC_READ_SEARCH)


def caps(pid):
    """CapEff, CapPrm, CapBnd, CapInh, CapAmb of every thread of pid, as ints."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            out.append({k: int(v, 16) for k, _, v in
                        (l.partition(":\t") for l in f) if k.startswith("Cap")})
    return out


def wait_line(proc, text, timeout):
    """Read stderr lines until one contains text; return the lines read."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"no {text!r} on stderr: {seen[-5:]}")


def start(env, args, d):
    """cwatch run --json ARGS, stdout to a file in d (a pipe nobody reads would fill)."""
    out = open(os.path.join(d, "out.jsonl"), "w+")
    proc = subprocess.Popen([env.cwatch, "run", "--json", "--interval", "0.5", *args],
                            stdout=out, stderr=subprocess.PIPE, text=True, bufsize=1)
    return proc, out


def finish(proc, out):
    """SIGINT, then (exit code, JSON objects, stderr)."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    out.seek(0)
    objs = util.read_json_lines(out.read())
    out.close()
    return proc.returncode, objs, err


def test_capabilities_dropped_after_load(env):
    """As root: once attached, every thread keeps the four (CAP_SYS_ADMIN permitted only).

    Then a demo host and a Go chaincode started after the drop are still
    attached: the demo profile's uprobes (a second host, started while the
    first holds the probes, shows its instances and calls) and Go's
    goroutine probes.
    """
    util.need_root()
    gochain = cw.fixture(env, "gochain")
    if not os.path.exists(gochain):
        raise util.Skip("gochain not built (make fixtures-go)")
    hosts = []
    with tempfile.TemporaryDirectory() as d:
        mon, out = start(env, ["--listen", "127.0.0.1:19436", "--comm", "demo_host", "--comm",
                               "gochain"], d)
        try:
            # loading takes a moment; then the set shrinks once, for good
            assert util.wait_for(lambda: caps(mon.pid)[0]["CapEff"] == KEPT, 20), \
                f"CapEff stays {caps(mon.pid)[0]['CapEff']:#x}"
            for c in caps(mon.pid):
                assert c["CapEff"] == KEPT, f"CapEff {c['CapEff']:#x}, want {KEPT:#x}"
                assert c["CapPrm"] == KEPT | (1 << CAP_SYS_ADMIN), f"CapPrm {c['CapPrm']:#x}"
                assert c["CapBnd"] == KEPT | (1 << CAP_SYS_ADMIN), f"CapBnd {c['CapBnd']:#x}"
                assert c["CapInh"] == 0 and c["CapAmb"] == 0, c
            assert len(caps(mon.pid)) >= 2, "the metrics server's threads are there too"
            first = subprocess.Popen([cw.fixture(env, "demo_host"), "--seconds", "4", "--quiet"],
                                     stdout=subprocess.DEVNULL)
            hosts.append(first)
            wait_line(mon, "runs demo: 4 probes attached", 10)
            second = subprocess.Popen([cw.fixture(env, "demo_host"), "--seconds", "2",
                                       "--quiet"], stdout=subprocess.DEVNULL)
            hosts.append(second)
            go = subprocess.Popen([gochain, "-truth", os.path.join(d, "truth.jsonl"),
                                   "-duration", "3s"], stdout=subprocess.DEVNULL)
            hosts.append(go)
            for p in hosts:
                assert p.wait(timeout=30) == 0
            time.sleep(1.0)
            # the drop held while attaching went on
            assert all(c["CapEff"] == KEPT for c in caps(mon.pid))
            rc, objs, err = finish(mon, out)
        finally:
            for p in hosts + [mon]:
                if p.poll() is None:
                    p.kill()
    assert rc == 0, err
    assert "Permission denied" not in err, err
    s = cw.summary(objs)
    t2 = cw.target(objs, second.pid)
    assert t2["runtime"] == "demo", t2["runtime"]
    inst = [i for i in s["instance_list"] if i["pid"] == second.pid]
    assert len(inst) == 3 and all(i["calls_total"] > 0 for i in inst), inst
    tg = cw.target(objs, go.pid)
    assert tg["go"]["goroutines_tracked"], tg["go"]


def demo_profile(path, name, calls):
    """A copy of the demo profile named name; without the call probes unless calls."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "profiles", "demo.yaml")) as f:
        text = f.read().replace("name: demo\n", f"name: {name}\n")
    if not calls:
        text = text[:text.index("  - role: call_enter")]
    with open(path, "w") as f:
        f.write(text)


def run_pair(env, mon):
    """A demo host, and a second one while the first holds the probes; the second's pid."""
    first = subprocess.Popen([cw.fixture(env, "demo_host"), "--seconds", "3", "--quiet"],
                             stdout=subprocess.DEVNULL)
    wait_line(mon, "probes attached", 10)
    second = subprocess.Popen([cw.fixture(env, "demo_host"), "--seconds", "1", "--quiet"],
                              stdout=subprocess.DEVNULL)
    assert second.wait(timeout=30) == 0 and first.wait(timeout=30) == 0
    time.sleep(1.0)  # both retired: the probes are detached
    return second.pid


def test_sighup_reloads_profiles(env):
    """SIGHUP re-reads --profile: hosts started after it get the changed profile; state stays."""
    util.need_root()
    with tempfile.TemporaryDirectory() as d:
        prof = os.path.join(d, "mydemo.yaml")
        demo_profile(prof, "mydemo", calls=True)
        mon, out = start(env, ["--profile", prof, "--comm", "demo_host"], d)
        try:
            time.sleep(1.5)
            before = run_pair(env, mon)
            demo_profile(prof, "mydemo2", calls=False)
            mon.send_signal(signal.SIGHUP)
            wait_line(mon, "profiles reloaded, 1 changed", 10)
            after = run_pair(env, mon)
            # a profile that does not load: said, and the profiles stay
            with open(prof, "w") as f:
                f.write("name: [broken\n")
            mon.send_signal(signal.SIGHUP)
            wait_line(mon, "the profiles stay as they were", 10)
            rc, objs, err = finish(mon, out)
        finally:
            if mon.poll() is None:
                mon.kill()
    assert rc == 0, err
    s = cw.summary(objs)
    assert cw.target(objs, before)["runtime"] == "mydemo"
    assert cw.target(objs, after)["runtime"] == "mydemo2"
    old = [i for i in s["instance_list"] if i["pid"] == before]
    new = [i for i in s["instance_list"] if i["pid"] == after]
    # the instances from before the reload, with their figures, are all still there
    assert len(old) == 3 and all(i["calls_total"] > 0 for i in old), old
    # the reloaded profile has no call probes: instances, but no calls
    assert len(new) == 3 and all(i["calls_total"] == 0 for i in new), new
