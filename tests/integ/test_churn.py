# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Target churn and pid reuse: every process seen and retired, no figures mixed."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import cw
import util

MIB = cw.MIB


def named_copy(env, name):
    """A copy of memthreads called NAME (a comm no other test uses); its directory."""
    d = tempfile.mkdtemp(prefix="cwatch-churn-")
    path = os.path.join(d, name)
    shutil.copy(cw.fixture(env, "memthreads"), path)
    return d, path


def test_churn_200_targets_by_comm(env):
    """200 short-lived processes matched by --comm, 20 at a time, each its own size.

    Every one becomes a target (reason comm), is retired (state exited) with
    its own exit code, and its anon resident peak is its own RssAnon, not a
    neighbour's: sizes go 2..40 MiB, so a mix-up shows.
    """
    util.need_root()
    d, exe = named_copy(env, "cwchurn")
    n = 200
    try:
        mon = cw.start(env, ["run", "--json", "--interval", "0.5", "--comm", "cwchurn"])
        time.sleep(1.0)  # the probes are attached well within this
        truth = {}
        t0 = time.monotonic()
        for batch in range(0, n, 20):
            procs = []
            for i in range(batch, batch + 20):
                mib = 2 * (i % 20 + 1)
                procs.append((i, mib, subprocess.Popen(
                    [exe, "--mib", str(mib), "--threads", "1", "--hold", "0.1",
                     "--exit-code", str(i % 50 + 1)], stdout=subprocess.PIPE, text=True)))
            for i, mib, p in procs:
                out, _ = p.communicate(timeout=30)
                assert p.returncode == i % 50 + 1, (i, p.returncode)
                line = [o for o in util.read_json_lines(out) if o.get("role") == "parent"]
                assert line, out
                truth[p.pid] = (i, mib, line[0])
        elapsed = time.monotonic() - t0
        time.sleep(1.2)
        rc, objs, err = cw.finish(mon, sig=signal.SIGINT)
        assert rc == 0, err
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert len(truth) == n, f"{len(truth)} distinct pids for {n} processes"
    s = cw.summary(objs)
    by_pid = {}
    for t in s["target_list"]:
        by_pid.setdefault(t["pid"], []).append(t)
    missing = [p for p in truth if p not in by_pid]
    assert not missing, f"{len(missing)} of {n} never became targets: {missing[:10]}"
    for pid, (i, mib, tr) in truth.items():
        assert len(by_pid[pid]) == 1, by_pid[pid]
        t = by_pid[pid][0]
        assert t["reason"] == "comm", t
        assert t["state"] == "exited", f"pid {pid} not retired: {t['state']}"
        assert t["exit_code"] == i % 50 + 1, (pid, t["exit_code"], i % 50 + 1)
        cw.near(f"pid {pid} ({mib} MiB) anon peak vs its RssAnon", t["rss_anon_peak_bytes"],
                tr["RssAnon"], rel=0.05, abs_tol=MIB)
        assert t["rss_anon_peak_bytes"] >= mib * MIB, (pid, mib, t["rss_anon_peak_bytes"])
    # all of them were seen live too: a target event each, and nothing lost
    seen = {o["pid"] for o in cw.of_type(objs, "target")}
    assert set(truth) <= seen, len(set(truth) - seen)
    assert s["events_lost"] == 0, s["events_lost"]
    print(f"    {n} targets in {elapsed:.1f}s, all seen, retired and apart")


def test_pid_reuse_keeps_processes_apart(env):
    """The same host pid five times in a row (clone3 set_tid): five targets, five figures."""
    util.need_root()
    d, exe = named_copy(env, "cwreuse")
    try:
        mon = cw.start(env, ["run", "--json", "--interval", "0.25", "--comm", "cwreuse"])
        time.sleep(1.0)
        res = util.run([cw.fixture(env, "pidreuse"), "5", exe, "--mib", "%i0", "--threads",
                        "%i", "--hold", "0.3", "--exit-code", "%i"], 60)
        time.sleep(1.0)
        rc, objs, err = cw.finish(mon, sig=signal.SIGINT)
        assert rc == 0, err
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if res.returncode == 1 and "clone3" in res.stderr:
        raise util.Skip(f"clone3 set_tid refused: {res.stderr.strip()}")
    assert res.returncode == 0, res.stdout + res.stderr
    out = util.read_json_lines(res.stdout)
    runs = [o for o in out if o.get("role") == "run"]
    truths = [o for o in out if o.get("role") == "parent"]
    pid = runs[0]["pid"]
    assert len(runs) == 5 and all(r["pid"] == pid for r in runs), runs
    assert len(truths) == 5 and all(t["pid"] == pid for t in truths), truths
    targets = [t for t in cw.summary(objs)["target_list"] if t["pid"] == pid]
    assert len(targets) == 5, f"pid {pid}: {len(targets)} targets, not 5"
    for i, (t, tr) in enumerate(zip(targets, truths), 1):
        assert t["state"] == "exited" and t["exit_code"] == i, (i, t["state"], t["exit_code"])
        cw.near(f"run {i} anon peak vs its RssAnon", t["rss_anon_peak_bytes"], tr["RssAnon"],
                rel=0.05, abs_tol=MIB)
        assert t["threads_peak"] == i + 1 == tr["Threads"], (i, t["threads_peak"], tr["Threads"])
        assert t["thread_creates_total"] == i, (i, t["thread_creates_total"])
        # thread sites are the run's own: threads alive at exit 0, created i
        created = sum(s["created"] for s in t.get("thread_sites", []))
        assert created == i, (i, t.get("thread_sites"))
    assert cw.summary(objs)["events_lost"] == 0


def cgroup2_mount():
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or .../unified when hybrid)."""
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return mnt
    return None


def test_cgroup_matches_started_and_moved_processes(env):
    """--cgroup DIR: processes that exec inside DIR/sub, and one moved in later, are targets."""
    util.need_root()
    root = cgroup2_mount()
    if not root:
        raise util.Skip("no cgroup v2 hierarchy mounted")
    top = tempfile.mkdtemp(prefix="cwatch-test-", dir=root)
    sub = os.path.join(top, "chaincode")
    os.mkdir(sub)
    fx = cw.fixture(env, "memthreads")
    try:
        stranger = util.spawn([fx, "--mib", "8", "--threads", "1", "--hold", "3"])
        mover = util.spawn([fx, "--premap", "4", "--wait-signal", "--mib", "16",
                            "--threads", "1", "--hold", "0.5"])
        ready, _ = cw.read_until(mover, lambda o: o.get("role") == "ready", 10)
        mon = cw.start(env, ["run", "--json", "--interval", "0.25", "--cgroup", top])
        time.sleep(1.0)
        # started inside the cgroup's child: matched in the kernel at exec
        inside = util.spawn(["sh", "-c", f'echo $$ > {sub}/cgroup.procs && exec "$@"', "sh",
                             fx, "--mib", "24", "--threads", "2", "--hold", "0.5"])
        truth_in, _ = cw.read_until(inside, lambda o: o.get("role") == "parent", 15)
        assert inside.wait(30) == 0
        # an exec'd process moved in without exec: found by the interval's scan
        t0 = time.monotonic()
        with open(os.path.join(sub, "cgroup.procs"), "w") as f:
            f.write(str(ready["pid"]))
        cw.read_until(mon, lambda o: o.get("type") == "target" and o["pid"] == ready["pid"], 5)
        joined = time.monotonic() - t0
        os.kill(ready["pid"], signal.SIGUSR1)
        truth_mv, _ = cw.read_until(mover, lambda o: o.get("role") == "parent", 15)
        assert mover.wait(30) == 0
        time.sleep(0.5)
        rc, objs, err = cw.finish(mon, sig=signal.SIGINT)
        assert rc == 0, err
        stranger.kill()
    finally:
        for d in (sub, top):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.1)
    assert joined < 1.0, f"a process moved in took {joined:.2f}s to become a target"
    t = cw.target(objs, truth_in["pid"])
    assert t["reason"] == "cgroup" and t["state"] == "exited", t
    cw.near("cgroup target anon peak vs RssAnon", t["rss_anon_peak_bytes"], truth_in["RssAnon"],
            abs_tol=MIB)
    t = cw.target(objs, ready["pid"])
    assert t["reason"] == "cgroup" and t["state"] == "exited", t
    assert t["rss_anon_peak_bytes"] >= 16 * MIB, t
    pids = {x["pid"] for x in cw.summary(objs)["target_list"]}
    assert stranger.pid not in pids, "a process outside the cgroup became a target"


def uprobe_fds(pid):
    """How many perf events (uprobes, tracepoints) process PID holds open."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[perf_event]"
        except OSError:
            pass
    return n


def test_uprobes_detached_with_last_target(env):
    """A runtime's uprobes go when the last target running that binary exits, and come back."""
    util.need_root()
    d = tempfile.mkdtemp(prefix="cwatch-churn-")
    host = os.path.join(d, "cwdemo")
    shutil.copy(cw.fixture(env, "demo_host"), host)
    try:
        # stdout to a file: a pipe nobody reads would stall cwatch
        out = open(os.path.join(d, "out.jsonl"), "w+")
        mon = cw.start(env, ["run", "--json", "--interval", "0.2", "--runtime", "demo",
                             "--comm", "cwdemo"], stdout=out)
        # the programs are attached once the count holds still, above zero:
        # loading the programs can take longer than one look's interval
        base, last = -1, uprobe_fds(mon.pid)
        while base != last or last == 0:
            time.sleep(0.5)
            base, last = last, uprobe_fds(mon.pid)
        counts = []
        for _ in range(3):
            a = util.spawn([host, "--seconds", "1", "--quiet"], stdout=subprocess.DEVNULL)
            assert util.wait_for(lambda: uprobe_fds(mon.pid) > base, 5), "no uprobes attached"
            time.sleep(0.3)
            counts.append(uprobe_fds(mon.pid) - base)
            assert a.wait(10) == 0
            if not util.wait_for(lambda: uprobe_fds(mon.pid) == base, 5):
                left = uprobe_fds(mon.pid) - base
                mon.kill()
                raise AssertionError(f"{left} uprobe fds left after the last target exited")
        mon.send_signal(signal.SIGINT)
        assert mon.wait(30) == 0, mon.stderr.read()
        out.seek(0)
        objs = util.read_json_lines(out.read())
        out.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    # the demo profile has four probes: attached for each run, gone after it
    assert counts == [4, 4, 4], counts
    runs = [t for t in cw.summary(objs)["target_list"] if t["comm"] == "cwdemo"]
    assert len(runs) == 3 and all(t["runtime"] == "demo" for t in runs), runs
