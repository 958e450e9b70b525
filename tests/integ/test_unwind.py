# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""--heap --unwind=dwarf: stacks through code built without frame pointers.

The same workload runs under the kernel's frame-pointer walk (--unwind=fp,
the default) and under the DWARF unwinder; the DWARF stacks are checked
against the fixtures' own ground truth (their call chain, nm and addr2line
on the binary) and must reach frames the frame-pointer walk does not.
"""

import os
import subprocess

import cw
import util

MIB = cw.MIB


def heap_run(env, unwind, argv, *extra):
    """Run argv under `cwatch run --json --heap --unwind=UNWIND`; return all JSON objects."""
    util.need_root()
    if not os.path.exists(argv[0]):
        raise util.Skip(f"{os.path.basename(argv[0])} not built")
    res = cw.run(env, ["run", "--json", "--heap", f"--unwind={unwind}", *extra, "--", *argv],
                 timeout=180)
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    assert cw.summary(objs)["events_lost"] == 0, res.stderr
    return objs


def name_of(frame):
    """The function of "symbol+0xoff (module)", or None for an unnamed frame."""
    sym = frame.split(" (")[0]
    return None if sym.startswith("0x") else sym.rsplit("+0x", 1)[0]


def symbols(exe):
    """Function symbols of exe by name, from nm: {name: address}."""
    out = subprocess.run(["nm", exe], capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            syms[parts[2]] = int(parts[0], 16)
    return syms


def addr2line_function(exe, addr):
    out = subprocess.run(["addr2line", "-f", "-e", exe, hex(addr)], capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()[0]


def all_sites(summary):
    sites = []
    for t in summary["target_list"] + summary["instance_list"]:
        sites += t.get("sites") or []
    return sorted(sites, key=lambda s: -s["bytes"])


def test_unwind_option_is_checked(env):
    res = cw.run(env, ["run", "--unwind=dwarf", "--", "true"])
    cw.one_error_line(res, 2, "--unwind=dwarf goes with --heap")
    res = cw.run(env, ["run", "--heap", "--unwind=lbr", "--", "true"])
    cw.one_error_line(res, 2, "--unwind: 'lbr' is not fp or dwarf")


def test_dwarf_unwinds_a_chain_without_frame_pointers(env):
    """deepchain (-O2 -fomit-frame-pointer): memset in libc, six calls below main."""
    exe = cw.fixture(env, "deepchain")
    depth = {}
    frames = {}
    for mode in ("fp", "dwarf"):
        objs = heap_run(env, mode, [exe, "--mib", "32"])
        [truth] = [o for o in objs if "chain" in o]
        top = cw.target(objs, truth["pid"])["sites"][0]
        # the 32 MiB are sampled at one site either way
        cw.near(f"{mode}: sampled bytes of the top site", top["bytes"], truth["bytes"], 0.05)
        frames[mode] = top["frames"]
        depth[mode] = len(top["frames"])
    chain = truth["chain"]          # chain6 ... chain1, main
    both = (f"frame-pointer walk: {depth['fp']} frames {frames['fp']}; "
            f"DWARF: {depth['dwarf']} frames {frames['dwarf']}")
    names = [name_of(f) for f in frames["dwarf"]]
    # the pages become resident in glibc's memset, then the whole chain out to main
    assert "memset" in (names[0] or ""), both
    assert names[1:1 + len(chain)] == chain, \
        f"expected {chain} after the memset frame; {both}"
    assert depth["dwarf"] > depth["fp"] and "main" not in map(name_of, frames["fp"]), both
    # every frame of the fixture names what its own symbols say is there
    syms = symbols(exe)
    for f in frames["dwarf"]:
        if "(deepchain)" not in f or not name_of(f):
            continue
        sym, off = f.split(" (")[0].rsplit("+0x", 1)
        assert sym in syms, (sym, both)
        got = addr2line_function(exe, syms[sym] + int(off, 16))
        assert got == sym, f"{f}: addr2line says {got}"


def test_dwarf_ranks_mallocbench_leak_first(env):
    """mallocbench's blocks become resident inside glibc's malloc: the walk must get to `work`."""
    mb = cw.fixture(env, "mallocbench")
    rank = {}
    top = {}
    for mode in ("fp", "dwarf"):
        sites = all_sites(cw.summary(heap_run(env, mode, [mb, "--leak-permille", "10"])))
        rank[mode] = next((k + 1 for k, s in enumerate(sites)
                           if any(name_of(f) == "work" for f in s["frames"])), None)
        top[mode] = sites[0]["frames"] if sites else []
    assert rank["dwarf"] == 1, \
        f"leaking site `work` ranks {rank['dwarf']} with DWARF ({rank['fp']} with frame " \
        f"pointers); top site {top['dwarf']}"
    names = [name_of(f) for f in top["dwarf"]]
    assert names.index("work") > names.index("malloc"), top["dwarf"]


def is_jit(frame):
    """A frame in JIT-compiled contract code (named after its instance, or not)."""
    return frame.startswith("0x") and ("anonymous executable memory" in frame or
                                       "contract code" in frame)


def check_runtime_stacks(env, host, entry):
    """The grower's pages are touched by JIT code: DWARF goes on through the runtime library."""
    depth, frames = {}, {}
    for mode in ("fp", "dwarf"):
        objs = heap_run(env, mode, [cw.fixture(env, host)], "--interval", "0.5")
        summary = cw.summary(objs)
        jit = [s for s in all_sites(summary) if is_jit(s["frames"][0])]
        assert jit, f"{mode}: no site in JIT code"
        frames[mode] = jit[0]["frames"]
        depth[mode] = len(jit[0]["frames"])
        # the host function's leak is still named
        assert any("main." in f for s in all_sites(summary)[:3] for f in s["frames"]), \
            all_sites(summary)[:3]
    both = (f"frame-pointer walk: {depth['fp']} frames {frames['fp']}; "
            f"DWARF: {depth['dwarf']} frames {frames['dwarf']}")
    assert depth["dwarf"] > depth["fp"], both
    assert any(name_of(f) == entry for f in frames["dwarf"]), both
    # and on through cgo into the Go host: the goroutine that called the runtime
    i = [name_of(f) for f in frames["dwarf"]].index(entry)
    after = [name_of(f) for f in frames["dwarf"][i + 1:]]
    assert after and after[0] == "runtime.cgocall", both
    assert "main.main" in after, both


def test_dwarf_walks_wasmer_frames(env):
    check_runtime_stacks(env, "wasmer_host", "wasm_func_call")


def test_dwarf_walks_wasmtime_frames(env):
    check_runtime_stacks(env, "wasmtime_host", "wasmtime_func_call")


def test_dwarf_sites_replay_the_same(env):
    """Stack copies are not recorded; the sites they made are, and replay as they were shown."""
    util.need_root()
    path = os.path.join(env.artifacts, "unwind.cwr")
    res = cw.run(env, ["run", "--json", "--heap", "--unwind=dwarf", "--record", path, "--",
                       cw.fixture(env, "mallocbench"), "--leak-permille", "10"], timeout=120)
    assert res.returncode == 0, res.stderr
    live = [l for l in res.stdout.splitlines() if l.startswith('{"type"')]
    rep = cw.run(env, ["replay", "--json", path], timeout=60)
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout.splitlines() == live, "replay differs from the live run"
    assert '"work+' in live[-1], live[-1][:300]
    # a copy is 16 KiB and there are hundreds: none of them is in the file
    assert os.path.getsize(path) < 1 << 20, os.path.getsize(path)


def test_alert_stack_unwinds_through_libc(env):
    """An escape alert raised in libc (setuid, no frame pointers) six calls below main:
    its stack copy is unwound with DWARF, through libc to the callers."""
    util.need_root()
    res = cw.run(env, ["run", "--json", "--", cw.fixture(env, "deepchain"), "--mib", "256",
                       "--escape"], timeout=60)
    assert res.returncode == 0, res.stderr
    alerts = [o for o in util.read_json_lines(res.stdout)
              if o.get("type") == "alert" and o.get("rule") == "priv.change"]
    assert alerts, res.stdout[-2000:]
    names = [name_of(f) for f in alerts[0]["frames"]]
    # libc's setuid, then the chain that called it, innermost first (4 frames)
    assert "libc" in alerts[0]["frames"][0], alerts[0]["frames"]
    assert names[1:4] == ["chain6", "chain5", "chain4"], alerts[0]["frames"]
