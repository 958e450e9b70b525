# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Go programs: goroutines by creation site, the Go heap, cgo memory.

The fixture is tests/fixtures/gochain, a Fabric-like chaincode with three
switchable leaks, built with Go 1.19.13, this machine's Go and Go 1.27.4,
each with and without symbols. It writes its own ground truth (a file given
by -truth): runtime.NumGoroutine(), runtime.MemStats, the C bytes it holds,
and where its leak sites are (file:line and function, found at run time).
cwatch's figures must agree with it.
"""

import json
import os
import subprocess
import tempfile
import threading
import time

import cw
import util

VARIANTS = ["gochain", "gochain-stripped", "gochain-go119", "gochain-go119-stripped",
            "gochain-go127", "gochain-go127-stripped"]


def binary(env, name):
    util.need_root()
    path = cw.fixture(env, name)
    if not os.path.exists(path):
        raise util.Skip(f"{name} not built (make fixtures-go)")
    return path


def read_truth(path):
    """The fixture's ready line and its report lines."""
    with open(path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    ready = [l for l in lines if l.get("ready")]
    assert len(ready) == 1, f"no ready line in {path}"
    return ready[0], [l for l in lines if "goroutines" in l]


def run_chaincode(env, name, args, duration="8s", extra=(), env_vars=None):
    """Run the fixture under cwatch --json to its end; (ready, reports, summary, target)."""
    host = binary(env, name)
    with tempfile.TemporaryDirectory() as d:
        truth = os.path.join(d, "truth.jsonl")
        res = util.run([env.cwatch, "run", "--json", "--interval", "0.5", *extra, "--", host,
                        "-truth", truth, "-duration", duration, *args],
                       180, env={**os.environ, **(env_vars or {})})
        assert res.returncode == 0, res.stderr
        objs = util.read_json_lines(res.stdout)
        ready, reports = read_truth(truth)
    summary = cw.summary(objs)
    t = cw.target(objs, ready["pid"])
    assert t["exit_code"] == 0 and t["exit_signal"] == 0, \
        f"{name} did not exit cleanly under cwatch: {t['exit_code']}/{t['exit_signal']}"
    assert summary["events_lost"] == 0
    return ready, reports, summary, t


def verdicts(summary, rule):
    return [v for v in summary["verdict_list"] if v["rule"] == rule]


def check_goroutines(name, ready, reports, t):
    """The count matches NumGoroutine; the leaking go statement is ranked first."""
    go = t["go"]
    last = reports[-1]
    assert go["version"] == ready["go_version"], (go["version"], ready["go_version"])
    assert go["goroutines_tracked"], f"{name}: goroutines not tracked"
    cw.near(f"{name} goroutines", go["goroutines"], last["goroutines"], 0.02)
    # the runtime's own are told apart: GC workers, the sweeper, the scavenger ...
    assert go["goroutines_runtime"] >= 2, go
    assert go["goroutines_peak"] >= go["goroutines"]
    top = t["goroutine_sites"][0]
    cw.near(f"{name} goroutines from the leaking site", top["alive"],
            last["leaked_goroutines"], 0.02)
    # frame 0 is the go statement: the function holding it and its file:line
    assert ready["site_funcs"]["goroutines"] + "+" in top["frames"][0], top["frames"]
    assert f"({ready['sites']['goroutines']}," in top["frames"][0], \
        (ready["sites"]["goroutines"], top["frames"][0])
    assert top["function"] == ready["site_funcs"]["goroutine_start"], top["function"]
    # the creating call chain follows: Invoke called the function that leaked
    assert any("Invoke" in f for f in top["frames"][1:]), top["frames"]


def check_soak(env, name, errors):
    try:
        ready, reports, summary, t = run_chaincode(
            env, name, ["-fault", "goroutines", "-rate", "100"], duration="60s",
            env_vars={"GOGC": "1"})
        check_goroutines(name, ready, reports, t)
        assert reports[-1]["num_gc"] >= 50, f"{name}: GOGC=1 should collect often"
        [v] = verdicts(summary, "goroutines.growth")
        assert ready["site_funcs"]["goroutines"] in v["frames"][0], v
    except BaseException as e:     # noqa: B036 - reported by the caller
        errors.append(f"{name}: {e!r}")


def test_go_goroutine_leak_every_build_a_minute_gogc1(env):
    """Six builds (Go 1.19, this Go, Go 1.27; stripped or not) for 60 s with GOGC=1.

    GOGC=1 makes the collector run all the time, which moves goroutine stacks;
    the programs must not crash, and every figure must hold at the end.
    """
    for n in VARIANTS:
        binary(env, n)
    errors = []
    threads = [threading.Thread(target=check_soak, args=(env, n, errors)) for n in VARIANTS]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, "\n".join(errors)


def test_go_cgo_leak_attributed_to_go_call_site(env):
    for name in ("gochain", "gochain-go119-stripped"):
        ready, reports, summary, t = run_chaincode(
            env, name, ["-fault", "cgo", "-rate", "200"], duration="12s")
        go, last = t["go"], reports[-1]
        assert go["cgo_tracked"], go
        assert go["cgo_live_allocs"] == last["cgo_live_allocs"], (go, last)
        assert go["cgo_live_bytes"] == last["cgo_live_bytes"], (go, last)
        top = t["cgo_sites"][0]
        assert top["bytes"] == last["cgo_live_bytes"], top
        # the Go code that called C.CString, not cgo's wrappers or malloc
        assert ready["site_funcs"]["cgo"] + "+" in top["frames"][0], top["frames"]
        assert f"({ready['sites']['cgo']}," in top["frames"][0], top["frames"]
        [v] = verdicts(summary, "cgo.leak")
        assert ready["site_funcs"]["cgo"] in v["frames"][0], v


def test_go_healthy_chaincode_raises_no_growth_verdict(env):
    ready, reports, summary, t = run_chaincode(env, "gochain", ["-rate", "200"],
                                               duration="15s")
    go, last = t["go"], reports[-1]
    cw.near("healthy goroutines", go["goroutines"], last["goroutines"], 0.02,
            abs_tol=1)
    # goroutines come and go: one per invoke, all of them end
    assert go["goroutines_created_total"] >= 15 * 200 * 0.8, go
    assert go["goroutines_exited_total"] >= go["goroutines_created_total"] - 20, go
    assert go["cgo_live_bytes"] == 0 and go["cgo_allocs_total"] >= 15 * 200 * 0.8, go
    rules = {v["rule"] for v in summary["verdict_list"]}
    for r in ("goroutines.growth", "cgo.leak", "leak.target", "threads.growth"):
        assert r not in rules, f"healthy run raised {r}: {summary['verdict_list']}"


def test_go_heap_growth_from_arenas(env):
    """An unbounded cache: the Go heap's resident bytes follow the runtime's own."""
    ready, reports, summary, t = run_chaincode(
        env, "gochain-go119", ["-fault", "cache", "-rate", "200"], duration="8s")
    go, last = t["go"], reports[-1]
    # resident arena pages: spans in use and goroutine stacks, and free spans
    # not yet returned to the OS
    runtime_view = last["heap_inuse"] + last["stack_inuse"] + \
        last["heap_idle"] - last["heap_released"]
    cw.near("Go heap resident", go["heap_resident_bytes"], runtime_view, 0.15)
    assert go["heap_resident_peak_bytes"] >= go["heap_resident_bytes"]
    assert last["cache_bytes"] > 20 * cw.MIB and go["heap_resident_bytes"] > 20 * cw.MIB


def test_go_attach_counts_goroutines_already_running(env):
    """--pid on a running program: goroutines made before attach are read from it."""
    for name in ("gochain", "gochain-go119-stripped"):
        host = binary(env, name)
        with tempfile.TemporaryDirectory() as d:
            truth = os.path.join(d, "truth.jsonl")
            p = util.spawn([host, "-truth", truth, "-fault", "goroutines", "-rate", "200",
                            "-invokes", "1200", "-report-ms", "200"],
                           stdout=subprocess.DEVNULL)
            assert util.wait_for(lambda: os.path.exists(truth) and
                                 any(l.get("leaked_goroutines", 0) >= 300
                                     for l in read_truth_lines(truth)), 20)
            res = cw.run(env, ["run", "--json", "--pid", str(p.pid), "--duration", "8"],
                         timeout=60)
            assert res.returncode == 0, res.stderr
            ready, reports = read_truth(truth)
            p.terminate()
            p.wait(10)
        objs = util.read_json_lines(res.stdout)
        t = cw.target(objs, p.pid)
        go, last = t["go"], reports[-1]
        # the invokes ended before cwatch did: the counts hold still
        assert last["invokes"] == 1200, last
        cw.near(f"{name} goroutines after attach", go["goroutines"], last["goroutines"], 0.02)
        # those from before attach were never seen created
        assert go["goroutines_created_total"] - go["goroutines_exited_total"] < \
            go["goroutines"] - 100, go
        # the leaking go statement leads, the goroutines from before attach included
        top = t["goroutine_sites"][0]
        assert ready["site_funcs"]["goroutines"] + "+" in top["frames"][0], top
        assert f"({ready['sites']['goroutines']}," in top["frames"][0], top
        assert top["alive"] > top["created"], "those from before attach have no creation"


def test_go_goroutine_ends_counted_with_no_goroutine_made_after(env):
    """Goroutines end and nothing reuses their g's: the sweep still sees them end.

    cwatch counts an end when the runtime reuses the g for a new goroutine, and
    otherwise by reading the g's status in the process once an interval. Here
    the chaincode stops after 300 invokes and stays up, making no goroutines:
    the last invokes' goroutines can only be counted ended by that sweep.
    """
    host = binary(env, "gochain")
    with tempfile.TemporaryDirectory() as d:
        truth = os.path.join(d, "truth.jsonl")
        res = cw.run(env, ["run", "--json", "--interval", "0.5", "--duration", "6", "--",
                           host, "-truth", truth, "-rate", "200", "-invokes", "300",
                           "-report-ms", "200"], timeout=60)
        ready, reports = read_truth(truth)
        os.kill(ready["pid"], 15)
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    t = cw.target(objs, ready["pid"])
    go, last = t["go"], reports[-1]
    assert last["invokes"] == 300, last
    # one goroutine an invoke at least, every one of them ended
    assert go["goroutines_exited_total"] >= 300, go
    assert go["goroutines"] == last["goroutines"], (go, last)
    # none of the invokes' goroutines is left alive at its go statement
    assert not [s for s in t["goroutine_sites"]
                if "queryWithTimeout" in s["frames"][0] and s["alive"]], t["goroutine_sites"]


def read_truth_lines(path):
    """The fixture's lines so far (a line being written is left out)."""
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip().endswith("}")]
    except (OSError, ValueError):
        return []


def test_go_version_unknown_is_said_not_guessed(env):
    """A Go older than cwatch knows: a warning, and no goroutine figures at all."""
    util.need_root()
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "main.go")
        with open(src, "w") as f:
            f.write('package main\nimport "time"\n'
                    'func main() { for i := 0; i < 10; i++ { go time.Sleep(time.Hour) }; '
                    'time.Sleep(2 * time.Second) }\n')
        with open(os.path.join(d, "go.mod"), "w") as f:
            f.write("module old\n\ngo 1.16\n")
        exe = os.path.join(d, "old")
        # the toolchain comes through the module proxy; GOENV=off: go1.17 rejects
        # this machine's -buildvcs setting
        build = util.run(["go", "build", "-o", exe, "main.go"], 300, cwd=d,
                         env={**os.environ, "GOTOOLCHAIN": "go1.17.13", "GOENV": "off",
                              "GOFLAGS": "", "CGO_ENABLED": "0"})
        if build.returncode != 0:
            raise util.Skip("go1.17.13 not available: " + build.stderr.strip()[-200:])
        res = cw.run(env, ["run", "--json", "--", exe], timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Go version go1.17.13 is not one cwatch knows" in res.stderr, (res.stderr, res.stdout[-2000:])
    objs = util.read_json_lines(res.stdout)
    [t] = cw.summary(objs)["target_list"]
    assert t["go"]["version"] == "go1.17.13"
    assert t["go"]["goroutines_tracked"] is False
    assert "goroutines" not in t["go"] and "goroutine_sites" not in t
