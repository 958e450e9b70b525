# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Go symbols from .gopclntab (user/gosym.c) against Go's own tools.

A small Go program is built with Go 1.17 (pclntab 1.16 format, pointer build
info), Go 1.19 (1.18 format) and the installed Go (1.20+ format), each
unstripped and stripped (-ldflags='-s -w'). Through the gosym_dump driver,
names, entries and sizes must equal `go tool nm -size` of the unstripped
binary, file:line must equal `go tool addr2line`, the version `go version`.
Older toolchains come through the Go module proxy (GOTOOLCHAIN=goX).
"""

import errno
import os
import random
import shutil
import struct
import subprocess
import tempfile

import util

PROGRAM = """package main

import (
\t"fmt"
\t"os"
\t"sync"
)

//go:noinline
func leaf(n int) int {
\treturn n*3 + 1
}

func inlined(n int) int { return n + 7 }

//go:noinline
func middle(n int) int {
\tf := func(x int) int { return leaf(x) + inlined(x) }
\treturn f(n) + len(os.Args)
}

type T struct{ v int }

//go:noinline
func (t *T) Method() int { return middle(t.v) }

func main() {
\tif len(os.Args) > 1 {
\t\tos.Stdin.Read(make([]byte, 1)) // "wait": hold still to be symbolized
\t}
\tt := &T{v: 2}
\tvar wg sync.WaitGroup
\tout := make(chan int, 1)
\twg.Add(1)
\tgo func() {
\t\tdefer wg.Done()
\t\tout <- t.Method()
\t}()
\twg.Wait()
\tfmt.Println(<-out)
}
"""

# (label, GOTOOLCHAIN, go.mod's go line); None = the installed Go
TOOLCHAINS = [("go117", "go1.17.13", "1.16"), ("go119", "go1.19.13", "1.19"),
              ("current", None, "1.19")]
_built = {}


def go():
    """The go command, or Skip."""
    path = shutil.which("go")
    if not path:
        raise util.Skip("go not installed (needed to build Go test binaries)")
    return path


def go_env(toolchain):
    """Environment for building with @toolchain, independent of the user's go env file."""
    env = dict(os.environ, CGO_ENABLED="0", GOENV="off", GOFLAGS="",
               GOTOOLCHAIN=toolchain or "local")
    return env


def build(env, label):
    """Build the program with toolchain @label: {"plain": path, "stripped": path}."""
    if label in _built:
        return _built[label]
    _, toolchain, modver = next(t for t in TOOLCHAINS if t[0] == label)
    work = tempfile.mkdtemp(dir=env.artifacts, prefix=f"gosym-{label}-")
    with open(os.path.join(work, "go.mod"), "w") as f:
        f.write(f"module gosymtest\n\ngo {modver}\n")
    with open(os.path.join(work, "main.go"), "w") as f:
        f.write(PROGRAM)
    out = {}
    for kind, flags in (("plain", []), ("stripped", ["-ldflags=-s -w"])):
        path = os.path.join(work, f"prog-{label}-{kind}")
        # files, not ".": go1.19 cannot load the package by directory here
        res = util.run([go(), "build", *flags, "-o", path, "main.go"], 600, cwd=work,
                       env=go_env(toolchain))
        assert res.returncode == 0, f"{label} {kind}: {res.stderr[-2000:]}"
        out[kind] = path
    _built[label] = out
    return out


def dump(env, path, queries=(), listing=False):
    """Run gosym_dump on @path with @queries; return its output lines."""
    exe = os.path.join(env.build, "gosym_dump")
    assert os.access(exe, os.X_OK), f"{exe} not built"
    res = util.run([exe, path] + (["--list"] if listing else []), 120,
                   input="".join(q + "\n" for q in queries))
    assert res.returncode == 0, f"{path}: {res.stdout} {res.stderr}"
    return res.stdout.splitlines()


def listing(env, path):
    """{name: [(entry, size), ...]} in address order, the names as the
    pclntab spells them, and the version, from gosym_dump --list.

    Names are as the ELF symbol table spells them ("·" as "."). A name may
    repeat: an assembly function and its ABI wrapper (".abi0" in .symtab).
    """
    funcs, raw, version = {}, set(), None
    for line in dump(env, path, listing=True):
        if line.startswith("fn "):
            _, entry, size, name = line.split(" ", 3)
            raw.add(name)
            funcs.setdefault(name.replace("\u00b7", "."), []).append((int(entry, 16), int(size)))
        elif line.startswith("version "):
            version = line[len("version "):]
    return funcs, raw, version


def go_nm(path):
    """{name: (addr, size)} of the text symbols of @path, from go tool nm -size."""
    res = util.run([go(), "tool", "nm", "-size", path], 120)
    assert res.returncode == 0, res.stderr
    syms = {}
    for line in res.stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in ("T", "t"):
            syms[parts[3]] = (int(parts[0], 16), int(parts[1]))
    return syms


def sample(nm):
    """Every function of package main and ~50 runtime functions, by a fixed seed."""
    main = sorted(n for n in nm if n.startswith("main."))
    runtime = sorted(n for n, (_, size) in nm.items()
                     if n.startswith("runtime.") and size > 0)
    return main + random.Random(1).sample(runtime, min(50, len(runtime)))


def pcln_name(name):
    """The pclntab's name of ELF symbol @name (ABI0 functions lose their suffix)."""
    return name[:-len(".abi0")] if name.endswith(".abi0") else name


def addr2line(path, addrs):
    """[(func, "file:line")] for @addrs, from go tool addr2line."""
    res = util.run([go(), "tool", "addr2line", path], 120,
                   input="".join(f"0x{a:x}\n" for a in addrs))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2 * len(addrs), res.stdout[-1000:]
    return [(lines[2 * i], lines[2 * i + 1]) for i in range(len(addrs))]


def check_functions(env, label):
    bins = build(env, label)
    nm = go_nm(bins["plain"])
    names = sample(nm)
    assert len([n for n in names if n.startswith("main.")]) >= 5, names
    assert len(names) >= 50, len(names)
    for kind in ("plain", "stripped"):
        funcs, raw, _ = listing(env, bins[kind])
        assert len(funcs) > 500, f"{label} {kind}: {len(funcs)} functions"
        bad = [(n, funcs.get(pcln_name(n)), nm[n]) for n in names
               if nm[n] not in funcs.get(pcln_name(n), [])]
        assert not bad, f"{label} {kind}: (name, ours, nm) {bad[:10]}"
        # gosym__lookup and gosym__func on names the pclntab has once
        names = [n for n in names if len(funcs[pcln_name(n)]) == 1 and pcln_name(n) in raw]
        assert len(names) >= 40, len(names)
        queries = [f"lookup {pcln_name(n)}" for n in names]
        queries += [f"func {nm[n][0] + nm[n][1] // 2:x}" for n in names]
        out = dump(env, bins[kind], queries)[2:]
        assert len(out) == 2 * len(names), out[-5:]
        for i, n in enumerate(names):
            entry, size = nm[n]
            assert out[i] == f"lookup {pcln_name(n)} {entry:x} {size}", out[i]
            mid = entry + size // 2
            assert out[len(names) + i] == f"func {mid:x} {pcln_name(n)} {entry:x}", \
                (out[len(names) + i], n)


def check_lines(env, label):
    bins = build(env, label)
    nm = go_nm(bins["plain"])
    addrs = []
    for n in sample(nm):
        entry, size = nm[n]
        addrs += sorted({entry, entry + size // 3, entry + size // 2, entry + size - 1})
    for kind in ("plain", "stripped"):
        want = addr2line(bins[kind], addrs)
        out = dump(env, bins[kind], [f"line {a:x}" for a in addrs] +
                   [f"func {a:x}" for a in addrs])[2:]
        assert len(out) == 2 * len(addrs), out[-5:]
        bad = []
        for i, a in enumerate(addrs):
            fn = out[len(addrs) + i].split(" ")
            got = (fn[2] if len(fn) == 4 else "?", out[i].split(" ", 2)[2])
            if got != want[i]:
                bad.append((hex(a), got, want[i]))
        assert not bad, f"{label} {kind}: {len(bad)}/{len(addrs)} differ: {bad[:5]}"
        assert sum(pos.startswith(os.path.dirname(bins[kind])) for _, pos in want) >= 10


def check_version(env, label):
    for kind, path in build(env, label).items():
        res = util.run([go(), "version", path], 60)
        assert res.returncode == 0, res.stderr
        want = res.stdout.split(": ", 1)[1].split()[0]
        _, _, version = listing(env, path)
        assert version == want, f"{label} {kind}: ours {version!r}, go version {want!r}"
        if label != "current":
            assert version == next(t[1] for t in TOOLCHAINS if t[0] == label)


def test_gosym_functions_go117(env):
    check_functions(env, "go117")


def test_gosym_functions_go119(env):
    check_functions(env, "go119")


def test_gosym_functions_current(env):
    check_functions(env, "current")


def test_gosym_lines_go117(env):
    check_lines(env, "go117")


def test_gosym_lines_go119(env):
    check_lines(env, "go119")


def test_gosym_lines_current(env):
    check_lines(env, "current")


def test_gosym_versions(env):
    for label, _, _ in TOOLCHAINS:
        check_version(env, label)


def elf_offset(path, vaddr):
    """File offset of @vaddr through the PT_LOAD program headers (ELF64 LE)."""
    with open(path, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        ptype, _, off, va, _, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if ptype == 1 and va <= vaddr < va + filesz:
            return off - va + vaddr, data
    raise AssertionError(f"0x{vaddr:x} not in a PT_LOAD segment of {path}")


def test_gosym_uprobe_offsets_and_code(env):
    """elfsym__offset finds Go functions by name in stripped binaries; gosym__code reads them."""
    for label in ("go119", "current"):
        bins = build(env, label)
        nm = go_nm(bins["plain"])
        names = ["main.leaf", "main.(*T).Method", "runtime.mallocgc"]
        out = dump(env, bins["stripped"], [f"offset {n}" for n in names] +
                   ["offset main.midd?e", "offset main.nosuch"] +
                   [f"code {nm[n][0]:x} {nm[n][1]}" for n in names])[2:]
        for i, n in enumerate(names):
            off, data = elf_offset(bins["stripped"], nm[n][0])
            assert out[i] == f"offset {n} 0x{off:x}", (out[i], hex(off))
            code = data[off:off + nm[n][1]].hex()
            assert out[len(names) + 2 + i] == f"code {nm[n][0]:x} {code}", n
        off, _ = elf_offset(bins["stripped"], nm["main.middle"][0])
        assert out[len(names)] == f"offset main.midd?e 0x{off:x}", out[len(names)]
        assert out[len(names) + 1] == f"offset main.nosuch {-errno.ENOENT}"


def test_gosym_frames_of_a_live_go_process(env):
    """symbolize__addr names stripped Go code with file:line; C binaries stay as before."""
    bins = build(env, "current")
    nm = go_nm(bins["plain"])
    entry, size = nm["main.leaf"]
    want = addr2line(bins["stripped"], [entry + 2])[0]
    p = util.spawn([bins["stripped"], "wait"], stdin=subprocess.PIPE)
    try:
        base = os.path.basename(bins["stripped"])
        # a PIE would need the load base; these are static executables
        out = dump(env, bins["stripped"], [f"sym {p.pid} {entry + 2:x}"])[2:]
        line = want[1].rsplit(":", 1)[1]
        assert out == [f"sym {entry + 2:x} main.leaf+0x2 (main.go:{line}, {base})"], out
    finally:
        p.stdin.close()
        p.wait(10)
    # a C binary: not Go (ENOENT), and frames keep the plain format
    true = shutil.which("true")
    res = util.run([os.path.join(env.build, "gosym_dump"), true], 30, input="")
    assert res.returncode == 1 and res.stdout.strip() == f"error {errno.ENOENT}", res.stdout


def test_gosym_fuzzed_reader_survives(env):
    """A short libFuzzer run seeded with a real pclntab (fuzz_gosym)."""
    fuzzer = os.path.join(env.build, "fuzz_gosym")
    if not os.path.exists(fuzzer):
        raise util.Skip(f"fuzz_gosym not built (make OUT={env.build} {fuzzer})")
    bins = build(env, "go119")
    res = subprocess.run(["objcopy", "-O", "binary", "--only-section=.gopclntab",
                          bins["stripped"], "/dev/stdout"], timeout=60, capture_output=True)
    assert res.returncode == 0 and res.stdout[:4] == b"\xf0\xff\xff\xff", res.stderr
    work = tempfile.mkdtemp(dir=env.artifacts, prefix="fuzz-gosym-")
    corpus = os.path.join(work, "corpus")
    os.mkdir(corpus)
    with open(os.path.join(corpus, "pclntab-go119"), "wb") as f:
        f.write(res.stdout)
    res = util.run([fuzzer, "-max_total_time=20", f"-max_len={len(res.stdout)}",
                    "-rss_limit_mb=1024", f"-artifact_prefix={work}/", corpus], 120)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Done " in res.stderr, res.stderr[-500:]
