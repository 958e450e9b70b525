# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Soak: thousands of short-lived targets and instances; flat RSS, no descriptor leak.

`make test` runs it for 60 s; `make soak` (scripts/soak.sh) for 10 minutes,
through CWATCH_SOAK_SECONDS.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import cw
import util

MIB = cw.MIB


def vm_rss(pid):
    return util.proc_status(pid)["VmRSS"]


def nr_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_soak_flat_rss_no_fd_leak(env):
    """Churn for CWATCH_SOAK_SECONDS (60): RSS after warm-up vs the end, fds before vs after.

    Every second: 40 tiny processes by --comm (a copy of true), two demo
    hosts (3 instances each, built-in profile) and two manyinstances hosts
    (40 instances each, --profile). --keep-gone 200 and --metrics-grace 1
    make the caps bite within seconds, so what follows the warm-up (a third
    of the run, at least 20 s) is the steady state a weeks-long run lives in.
    """
    util.need_root()
    seconds = int(os.environ.get("CWATCH_SOAK_SECONDS", "60"))
    warm = max(20, seconds // 3)
    d = tempfile.mkdtemp(prefix="cwatch-soak-")
    tiny = os.path.join(d, "cwsoak")
    shutil.copy(shutil.which("true"), tiny)
    out = open(os.path.join(d, "out.jsonl"), "w+")
    prof = os.path.join(env.root, "scripts", "bench", "manyinstances.yaml")
    mon = subprocess.Popen([env.cwatch, "run", "--json", "--interval", "0.5", "--keep-gone",
                            "200", "--metrics-grace", "1", "--profile", prof,
                            "--comm", "cwsoak", "--comm", "demo_host", "--comm", "manyinstances"],
                           stdout=out, stderr=subprocess.PIPE, text=True)
    procs, spawned = [], {"tiny": 0, "demo": 0, "many": 0}
    try:
        time.sleep(1.5)
        fds_start = nr_fds(mon.pid)
        t0 = time.monotonic()
        rss_warm = None
        while time.monotonic() - t0 < seconds:
            tick = time.monotonic()
            for _ in range(40):
                procs.append(subprocess.Popen([tiny]))
                spawned["tiny"] += 1
            for _ in range(2):
                procs.append(subprocess.Popen([cw.fixture(env, "demo_host"), "--seconds", "1",
                                               "--quiet"], stdout=subprocess.DEVNULL))
                procs.append(subprocess.Popen([cw.fixture(env, "manyinstances"), "--instances",
                                               "40", "--rounds-per-sec", "20", "--seconds", "1"],
                                              stdout=subprocess.DEVNULL))
                spawned["demo"] += 1
                spawned["many"] += 1
            procs = [p for p in procs if p.poll() is None]
            if rss_warm is None and tick - t0 >= warm:
                rss_warm = vm_rss(mon.pid)
            assert mon.poll() is None, mon.stderr.read()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        rss_end = vm_rss(mon.pid)
        for p in procs:
            p.wait(timeout=30)
        time.sleep(2.0)  # every target retired, every runtime probe detached
        fds_end = nr_fds(mon.pid)
        mon.send_signal(signal.SIGINT)
        _, err = mon.communicate(timeout=60)
        assert mon.returncode == 0, err
        out.seek(0)
        s = cw.summary(util.read_json_lines(out.read()))
    finally:
        if mon.poll() is None:
            mon.kill()
        out.close()
        shutil.rmtree(d, ignore_errors=True)
    total = sum(spawned.values())
    ev = s["evicted"]
    print(f"    {seconds}s: {total} processes, {s['targets']} targets, RSS "
          f"{rss_warm / MIB:.1f} MiB at +{warm}s, {rss_end / MIB:.1f} MiB at the end; "
          f"fds {fds_start} -> {fds_end}; evicted {ev}")
    # the churn was real: thousands of targets and instances came and went
    assert s["targets"] >= 0.9 * total, (s["targets"], total)
    assert ev["targets"] >= s["targets"] - 200 - 10, ev
    assert ev["instances"] > 1000, ev
    # bounded: what the summary holds is the caps, not the history
    assert len(s["target_list"]) <= 200 + 10, len(s["target_list"])
    ended = [i for i in s["instance_list"] if i["state"] == "ended"]
    assert len(ended) <= 200 + 100, len(ended)
    # flat: RSS after the warm-up and at the end within 4 MiB; no descriptor leaked
    assert rss_end - rss_warm <= 4 * MIB, \
        f"RSS grew {(rss_end - rss_warm) / MIB:.1f} MiB after the warm-up"
    assert fds_end == fds_start, f"descriptors {fds_start} at start, {fds_end} at the end"
