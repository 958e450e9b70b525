# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""cwatch run against the memthreads fixture: figures vs the fixture's own /proc."""

import json
import os
import signal
import time

import cw
import util

MIB = cw.MIB


def check_truth(t, truth, threads):
    """cwatch's target t against a fixture truth line from /proc/self/status."""
    cw.near("resident peak vs VmHWM", t["rss_peak_bytes"], truth["VmHWM"])
    cw.near("anon resident peak vs RssAnon", t["rss_anon_peak_bytes"], truth["RssAnon"])
    cw.near("anon mapped peak vs VmData", t["anon_mapped_peak_bytes"], truth["VmData"])
    assert t["threads_peak"] == threads == truth["Threads"], \
        f"threads peak {t['threads_peak']}, fixture saw {truth['Threads']}, started {threads}"


def launch_matches_proc_ground_truth(env, rss_stat):
    """Launched fixture: peaks within 5% of VmHWM/RssAnon/VmData, threads exact."""
    util.need_root()
    res = util.run([env.cwatch, "run", "-v", "--json", "--interval", "0.5", "--",
                    cw.fixture(env, "memthreads"), "--mib", "96", "--threads", "6",
                    "--hold", "1", "--exit-code", "3"], 60,
                   env=dict(os.environ, CWATCH_RSS_STAT=rss_stat))
    assert res.returncode == 0, res.stderr
    path = "classic" if rss_stat == "classic" else "BTF"
    assert f"kmem:rss_stat through the {path} tracepoint" in res.stderr, \
        [line for line in res.stderr.splitlines() if "rss_stat" in line]
    objs = util.read_json_lines(res.stdout)
    truth = [o for o in objs if o.get("role") == "parent"]
    assert len(truth) == 1, f"fixture truth line missing: {res.stdout[-500:]}"
    truth = truth[0]
    t = cw.target(objs, truth["pid"])
    check_truth(t, truth, 7)
    assert t["rss_peak_bytes"] >= 96 * MIB, t["rss_peak_bytes"]
    # the exit was seen and the final figures kept
    assert t["state"] == "exited" and t["exit_code"] == 3, t
    assert t["reason"] == "launch" and t["execs_total"] >= 1, t
    assert t["thread_creates_total"] == 6, t["thread_creates_total"]
    assert t["thread_exits_total"] == 7, t["thread_exits_total"]
    assert t["mmap_anon_bytes_total"] >= 96 * MIB, t["mmap_anon_bytes_total"]
    assert t["page_allocs_total"] * 4096 >= 96 * MIB, t["page_allocs_total"]
    exits = [o for o in cw.of_type(objs, "exit") if o["pid"] == truth["pid"]]
    assert len(exits) == 1 and exits[0]["rss_peak_bytes"] == t["rss_peak_bytes"], exits
    assert exits[0]["rss_bytes"] > 0, "final figures must be the last ones, not the teardown"
    # every interval object carries the lost count, and nothing was lost
    ivals = cw.of_type(objs, "interval")
    assert ivals and all(o["events_lost"] == 0 for o in ivals), ivals[-1:]
    assert cw.summary(objs)["events_lost"] == 0


def test_launch_matches_proc_ground_truth(env):
    """The BTF tracepoint, counters summed in BPF (the default on this kernel)."""
    launch_matches_proc_ground_truth(env, "")


def test_launch_matches_proc_ground_truth_classic_rss_stat(env):
    """CWATCH_RSS_STAT=classic: the kernel's own sum in the classic tracepoint."""
    launch_matches_proc_ground_truth(env, "classic")


def test_attach_by_pid_to_running_fixture(env):
    """--pid: memory from before the attach is seeded, after it is tracked."""
    util.need_root()
    fx = util.spawn([cw.fixture(env, "memthreads"), "--premap", "32", "--wait-signal",
                     "--mib", "64", "--threads", "3", "--hold", "1"])
    ready, _ = cw.read_until(fx, lambda o: o.get("role") == "ready", 10)
    pid = ready["pid"]
    mon = cw.start(env, ["run", "--json", "--interval", "0.25", "--pid", str(pid)])
    # wait for the first interval: the probes are attached
    cw.read_until(mon, lambda o: o.get("type") == "interval", 15)
    os.kill(pid, signal.SIGUSR1)
    truth, _ = cw.read_until(fx, lambda o: o.get("role") == "parent", 15)
    assert fx.wait(30) == 0
    rc, objs, err = cw.finish(mon)
    assert rc == 0, err
    t = cw.target(objs, pid)
    assert t["reason"] == "pid"
    check_truth(t, truth, 4)
    assert t["state"] == "exited"
    assert cw.summary(objs)["events_lost"] == 0


def test_children_followed_and_strangers_ignored(env):
    """A fork of a target is a target; an unrelated process never appears."""
    util.need_root()
    stranger = util.spawn([cw.fixture(env, "memthreads"), "--mib", "8", "--threads", "1",
                           "--hold", "4"])
    res = cw.run(env, ["run", "--json", "--interval", "0.5", "--",
                       cw.fixture(env, "memthreads"), "--mib", "16", "--threads", "2",
                       "--hold", "0.5", "--fork", "--child-mib", "40"], timeout=60)
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    parent = [o for o in objs if o.get("role") == "parent"][0]
    child = [o for o in objs if o.get("role") == "child"][0]
    t = cw.target(objs, child["pid"])
    assert t["reason"] == "fork" and t["ppid"] == parent["pid"], t
    cw.near("child resident peak vs its VmHWM", t["rss_peak_bytes"], child["VmHWM"])
    assert t["rss_peak_bytes"] >= 40 * MIB
    assert t["threads_peak"] == child["Threads"], (t["threads_peak"], child["Threads"])
    assert cw.target(objs, parent["pid"])["forks_total"] == 1
    pids = {x["pid"] for x in cw.summary(objs)["target_list"]}
    assert stranger.pid not in pids, "an unrelated process became a target"
    assert pids == {parent["pid"], child["pid"]}, pids
    stranger.kill()


def discover(env, how, value):
    """Start cwatch with --comm/--exe, then the fixture; return (truth, target)."""
    mon = cw.start(env, ["run", "--json", "--interval", "0.25", "--duration", "6",
                         how, value])
    time.sleep(1.0)
    fx = util.spawn([cw.fixture(env, "memthreads"), "--mib", "24", "--threads", "2",
                     "--hold", "0.5"])
    truth, _ = cw.read_until(fx, lambda o: o.get("role") == "parent", 15)
    assert fx.wait(30) == 0
    rc, objs, err = cw.finish(mon, sig=signal.SIGINT)
    assert rc == 0, err
    return truth, cw.target(objs, truth["pid"])


def test_comm_discovers_new_process(env):
    """--comm: a process started after cwatch is picked up on exec."""
    util.need_root()
    truth, t = discover(env, "--comm", "memthreads")
    assert t["reason"] == "comm", t
    check_truth(t, truth, 3)


def test_exe_discovers_new_process(env):
    """--exe: a process started after cwatch is picked up on exec, by inode."""
    util.need_root()
    truth, t = discover(env, "--exe", cw.fixture(env, "memthreads"))
    assert t["reason"] == "exe", t
    check_truth(t, truth, 3)


def test_comm_finds_running_process(env):
    """--comm: a process already running is found by the /proc scan."""
    util.need_root()
    fx = util.spawn([cw.fixture(env, "memthreads"), "--premap", "8", "--wait-signal",
                     "--mib", "32", "--threads", "1", "--hold", "0.5"])
    ready, _ = cw.read_until(fx, lambda o: o.get("role") == "ready", 10)
    mon = cw.start(env, ["run", "--json", "--interval", "0.25", "--comm", "memthreads"])
    cw.read_until(mon, lambda o: o.get("type") == "interval" and o["pid"] == ready["pid"], 15)
    os.kill(ready["pid"], signal.SIGUSR1)
    truth, _ = cw.read_until(fx, lambda o: o.get("role") == "parent", 15)
    assert fx.wait(30) == 0
    time.sleep(0.5)
    rc, objs, err = cw.finish(mon, sig=signal.SIGTERM)
    assert rc == 0, err
    t = cw.target(objs, ready["pid"])
    assert t["reason"] == "comm" and t["state"] == "exited", t
    check_truth(t, truth, 2)


def test_json_lines_stay_whole_beside_the_targets_output(env):
    """cwatch's lines and its target's share one pipe: neither may cut into the other."""
    util.need_root()
    mi = cw.fixture(env, "manyinstances")
    # the target's lines come ten at a time over the two seconds cwatch prints mmap lines
    script = (f"{mi} --mmaps-per-sec 20000 --threads 1 --seconds 2 >/dev/null & sleep 0.2; "
              "i=0; while [ $i -lt 3000 ]; do echo \"{\\\"child\\\":$i}\"; i=$((i+1)); "
              "[ $((i % 10)) = 0 ] && sleep 0.005; done; wait")
    res = cw.run(env, ["run", "--json", "--mmap-lines", "0", "--", "sh", "-c", script],
                 timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    objs = []
    for line in lines:
        try:
            objs.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a line cut into by another: {line[:300]}") from None
    assert sorted(o["child"] for o in objs if "child" in o) == list(range(3000))
    mmaps = cw.of_type(objs, "mmap")
    # manyinstances maps and unmaps 1 MiB 20,000 times a second: thousands of lines
    assert len(mmaps) > 10000, len(mmaps)
    assert cw.summary(objs)["events_lost"] == 0
