# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Crash forensics: what killed a target, on which thread, where, in which call, and how it ended.

Ground truth: the fixture's own line just before it crashes (its tid and the
function that crashes), and its exit status when run without cwatch.
"""

import os
import signal
import time

import cw
import util
from test_metrics import Watch, _answers, finish, free_port, scrape, series


def alone(cmd):
    """Run cmd without cwatch: its returncode (negative: killed by that signal)."""
    return util.run(cmd, 60).returncode


def watch(env, cmd, *args, record=None):
    """`cwatch run --json` on cmd; (the fixture's truth line, the crash objects, all objects)."""
    extra = ["--record", record] if record else []
    res = cw.run(env, ["run", "--json", "--interval", "0.2", *extra, *args, "--", *cmd],
                 timeout=120)
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    truth = [o for o in objs if "type" not in o and "crash" in o and "func" in o]
    assert len(truth) == 1, f"no ground truth line: {res.stdout[-500:]!r}"
    assert cw.summary(objs)["events_lost"] == 0
    return truth[0], cw.of_type(objs, "crash"), objs


def check_exit(c, rc):
    """The crash object's exit status is what the fixture does when run alone."""
    assert c["state"] == "exited", c
    if rc < 0:
        assert c["exit_signal"] == -rc and c["exit_code"] == 0, (c, rc)
    else:
        assert c["exit_signal"] == 0 and c["exit_code"] == rc, (c, rc)


def check_verdict(objs, c):
    """One critical `crash` verdict with the same thread, and the summary's crash_list."""
    s = cw.summary(objs)
    v = [v for v in s["verdict_list"] if v["rule"] == "crash"]
    assert len(v) == 1, s["verdict_list"]
    assert v[0]["severity"] == "critical" and v[0]["tid"] == c["tid"], v[0]
    assert v[0]["frames"] == c["frames"][:4], (v[0]["frames"], c["frames"])
    mine = {k: val for k, val in c.items() if k not in ("type", "time", "t")}
    assert s["crash_list"] == [mine], (s["crash_list"], mine)


def c_crash(env, mode, signame, code):
    util.need_root()
    cmd = [cw.fixture(env, "crasher"), "--mode", mode, "--delay", "0.6"]
    rc = alone(cmd)
    truth, crashes, objs = watch(env, cmd)
    assert len(crashes) == 1, crashes
    c = crashes[0]
    assert truth["crash"] == signame
    assert c["pid"] == truth["pid"] and c["tid"] == truth["tid"], (c, truth)
    assert c["tid"] != c["pid"], "the worker thread crashes, not the main one"
    assert c["thread"] == "crash-worker", c
    assert c["kind"] == signame and c["signal"] == signame, c
    assert c["signal_code"] == code, c
    assert "id" not in c and "call" not in c, "no instance without a profile"
    check_exit(c, rc)
    check_verdict(objs, c)
    return truth, c


def test_c_segv_names_thread_function_and_signal(env):
    truth, c = c_crash(env, "segv", "SIGSEGV", "SEGV_MAPERR")
    assert c["address"] == "0x0", c
    assert c["frames"][0].startswith(truth["func"] + "+"), c["frames"]
    assert c["frames"][1].startswith("worker+"), c["frames"]


def test_c_fpe(env):
    truth, c = c_crash(env, "fpe", "SIGFPE", "FPE_INTDIV")
    assert c["frames"][0].startswith(truth["func"] + "+"), c["frames"]


def test_c_abort_unwinds_through_libc(env):
    """abort() raises in libc, which has no frame pointers: the copy of the stack is
    unwound with libc's CFI, through abort() to the function that called it."""
    truth, c = c_crash(env, "abort", "SIGABRT", "SI_TKILL")
    names = [f.split("+0x")[0] for f in c["frames"]]
    assert "libc" in c["frames"][0], c["frames"]
    assert "abort" in names, c["frames"]
    i = names.index("abort")
    assert names[i + 1] == truth["func"], c["frames"]
    assert names[i + 2] == "worker", c["frames"]
    assert len(set(c["frames"])) == len(c["frames"]), "a looping walk is cut"


def test_crash_inside_a_contract_call(env):
    """The demo profile's hooks: the crash names the instance and the thread's third call."""
    util.need_root()
    cmd = [cw.fixture(env, "crasher"), "--mode", "call", "--delay", "0.6"]
    rc = alone(cmd)
    truth, crashes, objs = watch(env, cmd, "--runtime", "demo")
    assert len(crashes) == 1, crashes
    c = crashes[0]
    assert c["tid"] == truth["tid"] and c["kind"] == "SIGSEGV"
    assert c["contract"] == truth["instance"] and c["runtime"] == "demo", c
    assert c["call"] == truth["call"], (c, truth)
    inst = {i["id"]: i for i in cw.summary(objs)["instance_list"]}
    assert inst[c["id"]]["name"] == truth["instance"], inst
    assert c["frames"][0].startswith("crash_segv_here+"), c["frames"]
    assert c["frames"][1].startswith("contract_call+"), c["frames"]
    check_exit(c, rc)
    check_verdict(objs, c)
    v = [v for v in cw.summary(objs)["verdict_list"] if v["rule"] == "crash"][0]
    assert v["id"] == c["id"] and v["call"] == truth["call"], v


def go_fixture(env, name):
    path = cw.fixture(env, name)
    if not os.access(path, os.X_OK):
        raise util.Skip(f"{name} not built (make fixtures-go)")
    return path


# -crash KIND: (cwatch's kind, the signal it names, whether the function is on the stack)
GO_CRASHES = {
    "segv": ("go panic", "SIGSEGV", True),
    "panic": ("go panic", "", True),
    "throw": ("go fatal error", "", True),
    # C code aborts under cgo: Go hands SIGABRT back to the default action
    "abort": ("SIGABRT", "SIGABRT", False),
}


def go_crash(env, binary, kind):
    util.need_root()
    cmd = [go_fixture(env, binary), "-crash", kind, "-crash-after", "1s"]
    rc = alone(cmd)
    truth, crashes, objs = watch(env, cmd)
    want_kind, want_signal, on_stack = GO_CRASHES[kind]
    assert len(crashes) == 1, crashes
    c = crashes[0]
    assert truth["crash"] == kind
    assert c["tid"] == truth["tid"], (c, truth)
    assert c["kind"] == want_kind and c["signal"] == want_signal, c
    if on_stack:
        assert any(f.startswith(truth["func"] + "+") for f in c["frames"]), \
            (truth["func"], c["frames"])
    check_exit(c, rc)
    check_verdict(objs, c)


def test_go_nil_pointer_is_a_go_panic_after_sigsegv(env):
    go_crash(env, "gochain", "segv")


def test_go_unrecovered_panic(env):
    go_crash(env, "gochain", "panic")


def test_go_fatal_error(env):
    go_crash(env, "gochain", "throw")


def test_go_abort_in_cgo(env):
    go_crash(env, "gochain", "abort")


def test_go119_panic_and_fatal_error(env):
    go_crash(env, "gochain-go119", "segv")
    go_crash(env, "gochain-go119", "throw")


def test_no_crash_no_report(env):
    """A Go program that runs and exits (SIGURG all the while), a C one that exits 0: nothing."""
    util.need_root()
    res = cw.run(env, ["run", "--json", "--", go_fixture(env, "gochain"), "-duration", "1s"],
                 timeout=60)
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    assert not cw.of_type(objs, "crash") and cw.summary(objs)["crash_list"] == []
    assert not [v for v in cw.summary(objs)["verdict_list"] if v["rule"] == "crash"]


def test_crash_replays_identically(env):
    util.need_root()
    path = os.path.join(env.artifacts, "crash.cwr")
    cmd = [cw.fixture(env, "crasher"), "--mode", "call", "--delay", "0.6"]
    res = cw.run(env, ["run", "--runtime", "demo", "--record", path, "--", *cmd], timeout=120)
    assert res.returncode == 0, res.stderr
    live = [l for l in res.stdout.splitlines() if not l.startswith("{")]
    assert any(l.startswith("  CRASH     SIGSEGV (SEGV_MAPERR, address 0x0)") for l in live), live
    rep = cw.run(env, ["replay", path], timeout=60)
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout.splitlines() == live
    rep = cw.run(env, ["replay", "--json", path], timeout=60)
    crashes = cw.of_type(util.read_json_lines(rep.stdout), "crash")
    assert len(crashes) == 1 and crashes[0]["call"] == 3, crashes
    assert crashes[0]["frames"][0].startswith("crash_segv_here+"), crashes[0]


def test_crash_counter_in_metrics(env):
    util.need_root()
    port = free_port()
    mon = Watch(env, ["run", "--json", "--interval", "0.2", "--listen", str(port),
                      "--comm", "crasher", "--duration", "20"])
    assert util.wait_for(lambda: _answers(port), 15), "no /metrics"
    fx = util.spawn([cw.fixture(env, "crasher"), "--mode", "segv", "--delay", "0.8"])
    fx.wait(20)
    assert fx.returncode == -signal.SIGSEGV

    def crashed():
        s = series(scrape(port)[2], "cwatch_crashes_total")
        return {k: v for k, v in s.items() if f'pid="{fx.pid}"' in k}
    got = util.wait_for(crashed, 5)
    assert got == {f'{{target="crasher",pid="{fx.pid}",runtime="",kind="SIGSEGV"}}': 1.0}, got
    total = series(scrape(port)[2], "cwatch_verdicts_total")
    assert total['{rule="crash"}'] == 1.0, total
    finish(mon, sig=signal.SIGINT)
