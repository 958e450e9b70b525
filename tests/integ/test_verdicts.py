# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Verdicts on real hosts: every escape rule fires where expected, healthy runs raise nothing."""

import os
import tempfile

import cw
import util

# action -> the rule it must raise (and only it, but for bind's listen/somaxconn)
ESCAPES = {
    "exec": "process.spawn",
    "shadow": "file.open",
    "traverse": "file.open",
    "connect": "net",
    "rwx": "memory.wx",
    "setuid": "priv.change",
    "unshare": "ns.change",
    "oob": "hostcall.oob",
    "share": "memory.shared",
    "stall": "hostcall.slow",
}
KERNEL_SIDE = {"process.spawn", "process.exec", "file.open", "net", "memory.wx", "priv.change",
               "ns.change", "inject"}


def escape(env, action, *extra):
    """Run escape_host --do ACTION under cwatch; return (truth, summary, alerts)."""
    util.need_root()
    host = cw.fixture(env, "escape_host")
    if not os.path.exists(host):
        raise util.Skip("escape_host not built (make fixtures-go)")
    res = cw.run(env, ["run", "--json", *extra, "--", host, "--do", action], timeout=60)
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    truth = [o for o in objs if "actions" in o]
    summary = cw.summary(objs)
    # the summary's alerts: repeats within a second folded in (glibc runs setuid on every
    # thread; the one running the contract call, which names the instance, comes last)
    alerts = [v for v in summary["verdict_list"] if v["rule"] in KERNEL_SIDE | set(ESCAPES.values())]
    assert len(alerts) == len(cw.of_type(objs, "alert")), "every alert line is in the summary"
    return (truth[0] if truth else None), summary, alerts


def instance_of(summary, truth, name):
    """cwatch's instance for the fixture's instance called name (by code SHA-256)."""
    sha = [a for a in truth["actions"] if a["instance"] == name][0]["code_sha256"]
    found = [i for i in summary["instance_list"] if i["contract"] == "sha256:" + sha]
    assert len(found) == 1, (name, [i["contract"] for i in summary["instance_list"]])
    return found[0]


def test_each_escape_fires_its_rule_on_the_right_instance(env):
    for action, rule in ESCAPES.items():
        truth, summary, alerts = escape(env, action)
        mine = [a for a in alerts if a["rule"] == rule]
        assert len(mine) == 1, (action, rule, [(a["rule"], a["detail"]) for a in alerts])
        a = mine[0]
        name = "share-b" if action == "share" else action
        inst = instance_of(summary, truth, name)
        if action == "share":
            # the pair: whichever was seen second names the first
            assert a["id"] in (inst["id"], instance_of(summary, truth, "share-a")["id"]), a
        else:
            assert a["id"] == inst["id"], (action, a, inst["id"])
        # every alert points at code
        assert a["frames"] and "(not code" not in a["frames"][0], (action, a["frames"])
        if rule in KERNEL_SIDE:
            assert a["call"] == 1, (action, a)     # the instance's first call
        others = [x["rule"] for x in alerts if x["rule"] != rule]
        if action == "exec":
            assert others == ["process.exec"], others  # the child's exec of /bin/true
        else:
            assert not others, (action, others)
        assert summary["events_lost"] == 0


def test_escape_details(env):
    _, _, alerts = escape(env, "traverse")
    assert "-> /etc/hostname (.. traversal)" in alerts[0]["detail"], alerts[0]
    _, _, alerts = escape(env, "connect")
    assert alerts[0]["detail"] == "connect 127.0.0.1:9", alerts[0]
    _, _, alerts = escape(env, "oob")
    assert "[0x7ffffff0, +64)" in alerts[0]["detail"] and "65536-byte" in alerts[0]["detail"]
    _, _, alerts = escape(env, "stall")
    assert alerts[0]["severity"] == "medium" and "took 1.5" in alerts[0]["detail"], alerts[0]


def test_bind_and_listen(env):
    _, _, alerts = escape(env, "bind")
    net = sorted(a["detail"] for a in alerts if a["rule"] == "net")
    assert net == ["bind 127.0.0.1:0", "listen (any address)"], net


def test_healthy_runs_raise_nothing(env):
    """All rules on, default thresholds: the normal runs of every host are clean."""
    util.need_root()
    hosts = [["escape_host", "--do", "none"], ["wasmer_host"], ["wasmtime_host"],
             ["concurrent_host"], ["demo_host", "--seconds", "2", "--quiet"],
             ["memthreads", "--hold", "0.3"], ["threadleak", "--return",
                                                          "--threads", "10"]]
    for h in hosts:
        if not os.path.exists(cw.fixture(env, h[0])):
            raise util.Skip(f"{h[0]} not built")
        res = cw.run(env, ["run", "--json", "--heap", "--", cw.fixture(env, h[0]), *h[1:]],
                     timeout=90)
        assert res.returncode == 0, res.stderr
        objs = util.read_json_lines(res.stdout)
        bad = cw.of_type(objs, "alert") + cw.of_type(objs, "verdict")
        assert not bad, (h, [(b["rule"], b["detail"]) for b in bad])
        assert cw.summary(objs)["verdict_list"] == []


def test_enforce_kills_before_the_exec(env):
    truth, summary, alerts = escape(env, "exec", "--enforce")
    assert truth is None, "the host must not have lived to print its report"
    spawn = [a for a in alerts if a["rule"] == "process.spawn"]
    assert spawn and spawn[0]["enforced"] is True, alerts
    t = [t for t in summary["target_list"] if t["reason"] == "launch"][0]
    assert t["state"] == "exited" and t["exit_signal"] == 9, t
    # without --enforce the same run completes
    truth, _, _ = escape(env, "exec")
    assert truth and truth["actions"][0]["ok"], truth


def rules_file(env, text):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=env.artifacts, delete=False) as f:
        f.write(text)
    return f.name


def test_rule_file_turns_rules_off_and_allows_paths(env):
    path = rules_file(env, "rules:\n  file.open: {allow: [/etc/]}\n  hostcall.slow: "
                           "{limit: 2s}\n  memory.wx: {enabled: false}\n")
    for action in ("shadow", "stall", "rwx"):
        _, summary, alerts = escape(env, action, "--rules", path)
        assert not alerts, (action, alerts)
    path = rules_file(env, "rules:\n  hostcall.slow: {limit: 100ms, severity: critical}\n")
    _, _, alerts = escape(env, "stall", "--rules", path)
    assert [a["severity"] for a in alerts] == ["critical"], alerts


def test_glibc_heap_trim_is_not_a_file_alert(env):
    """mallocbench's threads free into arenas glibc trims, reading overcommit_memory first.

    With an allow-list that leaves it out the open is an alert naming it (so the
    fixture does open it); with the default one, no alert at all.
    """
    util.need_root()
    mb = cw.fixture(env, "mallocbench")
    path = rules_file(env, "rules:\n  file.open: {allow: [/lib/, /usr/lib/, /etc/ld.so.cache]}\n")
    res = cw.run(env, ["run", "--json", "--rules", path, "--", mb], timeout=60)
    assert res.returncode == 0, res.stderr
    opens = [a["detail"] for a in cw.of_type(util.read_json_lines(res.stdout), "alert")
             if a["rule"] == "file.open"]
    assert any("/proc/sys/vm/overcommit_memory" in d for d in opens), opens
    res = cw.run(env, ["run", "--json", "--", mb], timeout=60)
    assert res.returncode == 0, res.stderr
    alerts = cw.of_type(util.read_json_lines(res.stdout), "alert")
    assert not alerts, [(a["rule"], a["detail"]) for a in alerts]


def test_bad_rule_file(env):
    path = rules_file(env, "rules:\n  net: {allow: [nowhere]}\n")
    res = cw.run(env, ["run", "--rules", path, "--pid", str(os.getpid())])
    cw.one_error_line(res, 1, f"--rules: {path}:2: 'nowhere' is not an IPv4 or IPv6 address")


def test_leak_verdicts_name_the_leaking_instances(env):
    """wasmer: grower and hostleak leak, healthy does not; decided within 15 s."""
    util.need_root()
    host = cw.fixture(env, "wasmer_host")
    if not os.path.exists(host):
        raise util.Skip("wasmer_host not built")
    res = cw.run(env, ["run", "--json", "--heap", "--", host, "--calls", "1500"], timeout=90)
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    truth = [o for o in objs if "instances" in o][0]
    sha = {i["name"]: "sha256:" + i["code_sha256"] for i in truth["instances"]}
    leaks = {v["contract"]: v for v in cw.of_type(objs, "verdict") if v["rule"] == "leak.instance"}
    assert set(leaks) == {sha["grower"], sha["hostleak"]}, list(leaks)
    hl = leaks[sha["hostleak"]]
    leaked_per_call = truth["instances"][1]["host_leaked_bytes"] // truth["instances"][1]["calls"]
    cw.near("hostleak bytes per call", hl["bytes_per_call"], leaked_per_call, 0.05)
    assert hl["confidence"] >= 0.75 and hl["t"] - 0 <= 15, hl
    assert any("main.stash" in f for f in hl["frames"]), hl["frames"]


def test_thread_growth_names_the_creation_site(env):
    util.need_root()
    path = rules_file(env, "rules:\n  threads.growth: {span: 2s}\n")
    res = cw.run(env, ["run", "--json", "--interval", "0.25", "--rules", path, "--",
                       cw.fixture(env, "threadleak"), "--threads", "24", "--every-ms", "150"],
                 timeout=60)
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    v = [v for v in cw.of_type(objs, "verdict") if v["rule"] == "threads.growth"]
    assert len(v) == 1, cw.of_type(objs, "verdict")
    target = cw.summary(objs)["target_list"][0]
    top = target["thread_sites"][0]
    truth = [o for o in objs if "threads_started" in o][0]
    # every thread but main came from one site (all gone by the summary: the process ended)
    assert top["created"] == truth["threads_started"], top
    assert top["frames"] and v[0]["frames"] == top["frames"][:len(v[0]["frames"])], (v, top)
    # the verdict counted them alive from that site when it was decided
    assert v[0]["bytes_per_call"] >= 8, v[0]


def test_sighup_reloads_the_rules_and_a_replay_follows(env):
    """A tighter hostcall.slow limit after SIGHUP catches a stall the old one allowed."""
    util.need_root()
    import signal
    import time
    rules = rules_file(env, "rules:\n  hostcall.slow: {limit: 5s}\n")
    rec = os.path.join(env.artifacts, "sighup.cwr")
    fx_cmd = [cw.fixture(env, "escape_host"), "--do", "stall", "--wait-signal"]
    mon = cw.start(env, ["run", "--json", "--interval", "0.2", "--rules", rules, "--record", rec,
                         "--", *fx_cmd])
    ready, _ = cw.read_until(mon, lambda o: o.get("role") == "ready", 20)
    with open(rules, "w") as f:
        f.write("rules:\n  hostcall.slow: {limit: 500ms, severity: critical}\n")
    mon.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    os.kill(ready["pid"], signal.SIGUSR1)
    rc, objs, err = cw.finish(mon, timeout=60)
    assert rc == 0, err
    assert "SIGHUP: rules reloaded from" in err, err
    slow = [a for a in cw.of_type(objs, "alert") if a["rule"] == "hostcall.slow"]
    assert len(slow) == 1 and slow[0]["severity"] == "critical", slow
    # the replay applies the reload at the same point
    res = cw.run(env, ["replay", "--json", rec])
    assert [a["severity"] for a in cw.of_type(util.read_json_lines(res.stdout), "alert")
            if a["rule"] == "hostcall.slow"] == ["critical"], res.stdout[-500:]
