# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Frames from user/symbolize.c against binutils' names.

Small programs are built here (C with and without frame pointers, stripped
with a .gnu_debuglink, a build-id debug file or MiniDebugInfo; C++ with
namespaces and templates; Rust with legacy and v0 mangling; a JIT that writes
/tmp/perf-PID.map), started, and their addresses named through the sym_dump
driver. Names must equal `nm`'s, demangled by `c++filt -p` (C++ without
parameters, Rust legacy without its hash) or known v0 strings; return
addresses must fall in the function `addr2line -f` names. Deleted, replaced
and exited binaries must keep their names (map_files needs root).
"""

import os
import re
import shutil
import subprocess
import tempfile

import util

FRAME_LEN = 112  # CW_FRAME_LEN: frames are named into this many bytes

C_PROGRAM = r"""
#include <stdio.h>
#include <unistd.h>

static __attribute__((noinline)) int hidden_static(int x)
{
	return x * 3 + (int)getpid() % 2;
}

__attribute__((noinline)) int visible_global(int x)
{
	printf("ret %p\n", __builtin_return_address(0));
	return hidden_static(x) + 1;
}

int main(void)
{
	char c;

	printf("fn %p\n", (void *)hidden_static);
	printf("r %d\n", visible_global(2));
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
"""

CPP_PROGRAM = r"""
#include <cstdio>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

namespace shapes {
namespace inner {
template <typename T> struct Box {
	T v;
	__attribute__((noinline)) T get() const { return v + (T)(getpid() % 2); }
};
template <typename T> __attribute__((noinline)) T twice(T x) { return x * 2 + (T)(getpid() % 2); }
}
template <typename K, typename V> struct Deep {
	std::map<K, std::vector<std::pair<V, std::basic_string<char>>>> m;
	__attribute__((noinline)) size_t method() const { return m.size() + getpid() % 2; }
};
}

__attribute__((noinline)) void where()
{
	std::printf("ret %p\n", __builtin_return_address(0));
}

int main()
{
	shapes::inner::Box<long> b{3};
	shapes::Deep<std::string, std::map<std::string, std::vector<long>>> d;
	char c;

	where();
	std::printf("fn %p\nr %ld\n", (void *)&shapes::inner::twice<int>,
		    b.get() + shapes::inner::twice<int>(2) + shapes::inner::twice<double>(1.0) +
			    (long)d.method());
	std::fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
}
"""

RUST_PROGRAM = r"""
use std::io::Read;

pub mod shapes {
    pub struct Holder<T>(pub T);
    impl<T: Copy + std::ops::Add<Output = T>> Holder<T> {
        #[inline(never)]
        pub fn get(&self, x: T) -> T { self.0 + x }
    }
}

#[inline(never)]
fn work(n: u64) -> u64 { shapes::Holder(n).get(std::process::id() as u64 % 2) + 1 }

fn main() {
    println!("fn {:p}", work as fn(u64) -> u64);
    println!("r {}", work(std::env::args().count() as u64));
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    let mut b = [0u8; 1];
    while std::io::stdin().read(&mut b).map(|n| n > 0).unwrap_or(false) {}
}
"""

JIT_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *code = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char path[64], line[16];
	FILE *f;

	if (code == MAP_FAILED)
		return 1;
	memset(code, 0xc3, 3 * pg);
	if (mprotect(code, 3 * pg, PROT_READ | PROT_EXEC))
		return 1;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%lx 40 jit_entry_one\n", (unsigned long)code);
	fprintf(f, "%lx 80 wasm[0]::function[7]\n", (unsigned long)code + 0x40);
	fflush(f);
	printf("code %lx %zx\n", (unsigned long)code, pg);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		/* more code compiled, and old code memory reused */
		fprintf(f, "%lx 100 _ZN2js3jit9StubTableIiE4callEv\n", (unsigned long)code + pg);
		fprintf(f, "%lx 20 jit_entry_reused\n", (unsigned long)code);
		fflush(f);
		printf("more\n");
		fflush(stdout);
	}
	fclose(f);
	unlink(path);
	return 0;
}
"""


def tool(name):
    path = shutil.which(name)
    if not path:
        raise util.Skip(f"{name} not installed")
    return path


def workdir(env, prefix):
    return tempfile.mkdtemp(dir=env.artifacts, prefix=prefix)


def sh(cmd, timeout=300, **kw):
    """Run @cmd; its stdout, asserting success."""
    res = util.run(cmd, timeout, **kw)
    assert res.returncode == 0, f"{cmd}: {res.stderr[-2000:]}"
    return res.stdout


def build_c(work, name, flags, src=C_PROGRAM, cc="gcc", ext="c"):
    path = os.path.join(work, name)
    with open(path + "." + ext, "w") as f:
        f.write(src)
    sh([tool(cc), *flags, "-o", path, path + "." + ext])
    return path


def functions(path):
    """{addr: (size, [mangled names])} of the sized function symbols of @path (nm)."""
    out = sh(["nm", "-S", "--defined-only", path])
    funcs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in ("t", "T", "W", "i"):
            addr, size = int(parts[0], 16), int(parts[1], 16)
            if size:
                funcs.setdefault(addr, (size, []))[1].append(parts[3])
    return funcs


def cxxfilt(names):
    """`c++filt -p` of @names (no parameter lists), Rust legacy hashes cut."""
    out = sh(["c++filt", "-p"], input="".join(n + "\n" for n in names)).splitlines()
    return [re.sub(r"::h[0-9a-f]{16}$", "", n) for n in out]


class Dump:
    """The sym_dump driver, one symbolizer for its lifetime."""

    def __init__(self, env):
        exe = os.path.join(env.build, "sym_dump")
        assert os.access(exe, os.X_OK), f"{exe} not built"
        self.p = util.spawn([exe], stdin=subprocess.PIPE)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().rstrip("\n")

    def maps(self, pid):
        return int(self.ask(f"maps {pid}").split()[2])

    def sym(self, pid, addr, inst=None):
        out = self.ask(f"sym {pid} {addr:x}" + (f" {inst}" if inst else ""))
        prefix = f"sym {addr:x} "
        assert out.startswith(prefix), out
        return out[len(prefix):]

    def binaries(self):
        return int(self.ask("binaries").split()[1])


def start(path, lines=3):
    """Start @path holding still on stdin; ({key: value} of the @lines it printed, Popen)."""
    p = util.spawn([path], stdin=subprocess.PIPE)
    said = {}
    while len(said) < lines:
        line = p.stdout.readline()
        assert line, f"{path} said nothing"
        k, v = line.split()
        said[k] = v
    return said, p


def stop(p):
    p.stdin.close()
    p.wait(10)


def load_bias(pid, path):
    """Start of @path's mapping at file offset 0 (PIE: its first PT_LOAD is at vaddr 0)."""
    real = os.path.realpath(path)
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == real and int(parts[2], 16) == 0:
                return int(parts[0].split("-")[0], 16)
    raise AssertionError(f"{path} not mapped at offset 0 in {pid}")


def name_all(env, exe, truth, want_name, skip=lambda n: False):
    """Run @exe, name the middle of every function of @truth (an unstripped twin) and
    the return address it printed; compare with @want_name(names) and addr2line -f -C."""
    funcs = functions(truth)
    said, p = start(exe)
    try:
        bias = load_bias(p.pid, exe)
        d = Dump(env)
        assert d.maps(p.pid) == 0
        base = os.path.basename(exe)
        got = {}
        for a, (size, names) in sorted(funcs.items()):
            if any(skip(n) for n in names):
                continue
            frame = d.sym(p.pid, bias + a + size // 2)
            got[tuple(names)] = frame
            wants = {f"{w}+0x{size // 2:x} ({base})" for w in want_name(names)}
            assert any(same_frame(frame, w) for w in wants), (frame, wants)
        ret = int(said["ret"], 16)
        a2l = sh(["addr2line", "-f", "-C", "-e", truth, f"{ret - 1 - bias:x}"]).split("\n")[0]
        frame = d.sym(p.pid, ret - 1)
        assert frame.startswith(a2l + "+0x"), (frame, a2l)
        return got
    finally:
        stop(p)


def c_variants(env):
    work = workdir(env, "symbols-c-")
    fp = build_c(work, "sym_c_fp", ["-O1", "-g", "-fno-omit-frame-pointer"])
    nofp = build_c(work, "sym_c_nofp", ["-O2", "-g", "-fomit-frame-pointer"])
    return work, fp, nofp


def test_symbols_c_with_and_without_frame_pointers(env):
    _, fp, nofp = c_variants(env)
    for exe in (fp, nofp):
        got = name_all(env, exe, exe, lambda names: names)
        assert any("hidden_static" in k for k in got), got


def test_symbols_stripped_c_from_debug_files(env):
    """A stripped binary names its static functions from a .gnu_debuglink file
    (beside it in .debug/), a /usr/lib/debug/.build-id file, or MiniDebugInfo;
    with none of them only .dynsym is left and the frame says module+offset."""
    work, _, nofp = c_variants(env)
    os.mkdir(os.path.join(work, ".debug"))

    def stripped(name):
        path = os.path.join(work, name)
        sh(["strip", "--strip-all", "-o", path, nofp])
        return path

    # .gnu_debuglink, the debug file in DIR/.debug/
    link = stripped("sym_c_link")
    dbg = os.path.join(work, ".debug", "sym_c_link.debug")
    sh(["objcopy", "--only-keep-debug", nofp, dbg])
    sh(["objcopy", f"--add-gnu-debuglink={dbg}", link])
    name_all(env, link, nofp, lambda names: names)

    # a debuglink whose CRC does not match is not used
    bad = stripped("sym_c_badlink")
    baddbg = os.path.join(work, ".debug", "sym_c_bad.debug")
    shutil.copy(dbg, baddbg)
    sh(["objcopy", f"--add-gnu-debuglink={baddbg}", bad])
    with open(baddbg, "ab") as f:
        f.write(b"\0")

    # MiniDebugInfo (as Fedora makes it): the functions .dynsym lacks, xz'ed into .gnu_debugdata
    mini = stripped("sym_c_mini")
    dyn = set(sh(["nm", "-D", "--defined-only", "--format=posix", nofp]).split("\n"))
    keep = [l.split()[0] for l in sh(["nm", "--defined-only", "--format=posix", nofp]).splitlines()
            if l.split()[1] in ("t", "T") and l not in dyn]
    with open(os.path.join(work, "keep"), "w") as f:
        f.write("\n".join(keep) + "\n")
    md = os.path.join(work, "mini.debug")
    sh(["objcopy", "--only-keep-debug", nofp, md])
    sh(["objcopy", "-S", "--remove-section", ".gdb_index", "--remove-section", ".comment",
        f"--keep-symbols={os.path.join(work, 'keep')}", md, md + ".small"])
    sh([tool("xz"), "-k", "-f", md + ".small"])
    sh(["objcopy", "--add-section", f".gnu_debugdata={md}.small.xz", mini])
    name_all(env, mini, nofp, lambda names: names)

    # nothing: hidden_static is not in .dynsym, so no name may be made up for it
    bare = stripped("sym_c_bare")
    for exe in (bare, bad):
        said, p = start(exe)
        try:
            d = Dump(env)
            assert d.maps(p.pid) == 0
            fn = int(said["fn"], 16)
            off = fn - load_bias(p.pid, exe)
            assert d.sym(p.pid, fn) == f"0x{fn:x} ({os.path.basename(exe)}+0x{off:x})"
        finally:
            stop(p)

    # a debug file by build-id (root: it goes into /usr/lib/debug)
    util.need_root()
    bid = stripped("sym_c_buildid")
    note = sh(["readelf", "-n", bid])
    m = re.search(r"Build ID: ([0-9a-f]+)", note)
    assert m, note
    dpath = f"/usr/lib/debug/.build-id/{m.group(1)[:2]}/{m.group(1)[2:]}.debug"
    made = not os.path.exists(dpath)
    try:
        os.makedirs(os.path.dirname(dpath), exist_ok=True)
        sh(["objcopy", "--only-keep-debug", nofp, dpath])
        name_all(env, bid, nofp, lambda names: names)
    finally:
        if made and os.path.exists(dpath):
            os.unlink(dpath)


def same_frame(ours, want):
    """Is frame @ours frame @want, abbreviated as symbolize.c does when @want
    does not fit: template arguments to <...> from the innermost out, then
    the front cut to "...::"?"""
    if ours == want:
        return True
    if len(want) < FRAME_LEN or len(ours) >= FRAME_LEN:
        return False
    a, b = strip_templates(ours), strip_templates(want)
    return a == b or (a.startswith("...::") and b.endswith(a[3:]))


def strip_templates(name):
    """@name without its template arguments, for comparing abbreviated names."""
    while True:
        n = re.sub(r"<[^<>]*>", "", name.replace("<...>", ""))
        if n == name:
            return n
        name = n


def test_symbols_cpp_demangled(env):
    """C++ names as `c++filt -p` spells them; too long ones keep the function's
    name and namespaces, template arguments abbreviated to <...>."""
    work = workdir(env, "symbols-cpp-")
    exe = build_c(work, "sym_cpp", ["-O1", "-g", "-fno-omit-frame-pointer"], CPP_PROGRAM,
                  "g++", "cc")
    funcs = functions(exe)
    names = sorted({n for _, ns in funcs.values() for n in ns if "6shapes" in n})
    assert len(names) >= 4, names
    dem = dict(zip(names, cxxfilt(names)))
    said, p = start(exe)
    try:
        bias = load_bias(p.pid, exe)
        d = Dump(env)
        assert d.maps(p.pid) == 0
        long_seen = 0
        for a, (size, ns) in funcs.items():
            ours = [n for n in ns if n in dem]
            if not ours:
                continue
            frame = d.sym(p.pid, bias + a + size // 2)
            tail = f"+0x{size // 2:x} (sym_cpp)"
            want = dem[ours[0]]
            assert len(frame) < FRAME_LEN and frame.endswith(tail), frame
            got = frame[:-len(tail)]
            if len(want) + len(tail) < FRAME_LEN:
                assert got == want, (got, want)
            else:
                long_seen += 1
                assert "<...>" in got and got.endswith("::method"), got
                assert strip_templates(got) == strip_templates(want), (got, want)
        assert long_seen == 1
        # and the rest of the program (libstdc++'s inline code) as c++filt -p says
        got = name_all(env, exe, exe, lambda ns: cxxfilt(ns),
                       skip=lambda n: n in dem or not n.startswith("_Z"))
        assert got
        assert d.sym(p.pid, int(said["fn"], 16) + 1).startswith("shapes::inner::twice<int>+0x1")
    finally:
        stop(p)


def test_symbols_rust_legacy_and_v0(env):
    """Rust's legacy names as c++filt says them (hash cut); v0 names as known
    strings (c++filt keeps the crate disambiguators). The standard library in
    both builds is v0 (rustc 1.95 ships it so)."""
    rustc = tool("rustc")
    work = workdir(env, "symbols-rust-")
    src = os.path.join(work, "symrs.rs")
    with open(src, "w") as f:
        f.write(RUST_PROGRAM)
    want = {"legacy": ["symrs::work", "symrs::shapes::Holder<T>::get"],
            "v0": ["symrs::work", "<symrs::shapes::Holder<u64>>::get"]}
    for kind, flags in (("legacy", []), ("v0", ["-C", "symbol-mangling-version=v0"])):
        exe = os.path.join(work, f"symrs-{kind}")
        sh([rustc, "-O", "-g", *flags, "-o", exe, src])
        funcs = functions(exe)
        said, p = start(exe, 2)
        try:
            bias = load_bias(p.pid, exe)
            d = Dump(env)
            assert d.maps(p.pid) == 0
            base = os.path.basename(exe)
            seen = []
            std = 0
            for a, (size, ns) in funcs.items():
                frame = d.sym(p.pid, bias + a + size // 2)
                name = frame[:-len(f"+0x{size // 2:x} ({base})")]
                assert frame.endswith(f"+0x{size // 2:x} ({base})"), frame
                if any("5symrs" in n for n in ns):
                    seen.append(name)
                    if kind == "legacy":
                        assert name in cxxfilt(ns), (name, ns)
                    assert not re.search(r"::h[0-9a-f]{16}|\[[0-9a-f]+\]", name), name
                elif any(n.startswith("_R") for n in ns):
                    # c++filt spells v0 with [disambiguators] and typed constants
                    # ("<10: usize>"); ours leaves them out, as rustc-demangle's
                    # alternate form does
                    filt = [re.sub(r"(\b[0-9a-fx]+|true|false|'.+?'): [a-z0-9]+\b", r"\1",
                                   re.sub(r"\[[0-9a-f]+\]", "", n)) for n in cxxfilt(ns)]
                    tail = frame[len(name):]
                    assert any(same_frame(frame, f + tail) for f in filt), (frame, filt)
                    std += 1
            for w in want[kind]:
                assert w in seen, (w, seen)
            assert std > 50, std
        finally:
            stop(p)


def test_symbols_jit_perf_map(env):
    """JIT code named from /tmp/perf-PID.map, re-read as it grows (a later line
    wins); unnamed code says whose it is when the caller knows the instance."""
    work = workdir(env, "symbols-jit-")
    exe = build_c(work, "sym_jit", ["-O1", "-g"], JIT_PROGRAM)
    p = util.spawn([exe], stdin=subprocess.PIPE)
    path = None
    try:
        line = p.stdout.readline().split()
        assert line and line[0] == "code", line
        code, pg = int(line[1], 16), int(line[2], 16)
        path = f"/tmp/perf-{p.pid}.map"
        d = Dump(env)
        assert d.maps(p.pid) == 0
        assert d.sym(p.pid, code + 0x10) == "jit_entry_one+0x10 (perf map)"
        assert d.sym(p.pid, code + 0x48) == "wasm[0]::function[7]+0x8 (perf map)"
        assert d.sym(p.pid, code + pg + 4) == f"0x{code + pg + 4:x} (anonymous executable memory)"
        assert d.sym(p.pid, code + pg + 4, "#3") == \
            f"0x{code + pg + 4:x} (contract code of instance #3)"
        p.stdin.write("more\n")
        p.stdin.flush()
        assert p.stdout.readline() == "more\n"
        assert d.sym(p.pid, code + pg + 4, "#3") == "js::jit::StubTable<int>::call+0x4 (perf map)"
        assert d.sym(p.pid, code + 0x10) == "jit_entry_reused+0x10 (perf map)"
        assert d.sym(p.pid, code + 0x30) == "jit_entry_one+0x30 (perf map)"
        # after the target is gone, what was read stays
        stop(p)
        assert not os.path.exists(path)
        assert d.maps(p.pid) < 0
        assert d.sym(p.pid, code + 0x48) == "wasm[0]::function[7]+0x8 (perf map)"
    finally:
        if path and os.path.exists(path):
            os.unlink(path)


def test_symbols_deleted_replaced_exited_binaries(env):
    """A binary deleted or replaced on disk is read through /proc/PID/map_files;
    an exited target's frames stay named; one build-id is loaded once."""
    util.need_root()
    work, fp, nofp = c_variants(env)
    funcs = functions(fp)
    hidden = next(a for a, (_, ns) in funcs.items() if "hidden_static" in ns)
    d = Dump(env)

    def run_copy(name):
        path = os.path.join(work, name)
        shutil.copy(fp, path)
        said, p = start(path)
        return path, int(said["fn"], 16), p

    # deleted
    path, fn, p = run_copy("sym_del")
    os.unlink(path)
    assert d.maps(p.pid) == 0
    assert d.sym(p.pid, fn + 1) == "hidden_static+0x1 (sym_del)"
    n = d.binaries()
    # replaced by another program at the same path
    path, fn2, p2 = run_copy("sym_repl")
    os.rename(nofp, path)
    assert d.maps(p2.pid) == 0
    assert d.sym(p2.pid, fn2 + 1) == "hidden_static+0x1 (sym_repl)"
    # the same build-id under a third name: its symbols are shared
    path3, fn3, p3 = run_copy("sym_same")
    assert d.maps(p3.pid) == 0
    assert d.binaries() == n, (d.binaries(), n)
    assert d.sym(p3.pid, fn3) == "hidden_static+0x0 (sym_same)"
    # symbols are read at the first lookup: here only once the binary is
    # deleted and its process gone, through the file kept open since the maps
    # (while the others run: a freed inode's number could name a new file)
    late = os.path.join(work, "sym_late")
    shutil.copy(path, late)
    said, p4 = start(late)
    fn4 = int(said["fn"], 16)
    assert d.maps(p4.pid) == 0
    os.unlink(late)
    stop(p4)
    assert d.sym(p4.pid, fn4 + 3) == "hidden_static+0x3 (sym_late)"
    # exited: the mappings read while it lived still serve
    for q in (p, p2, p3):
        stop(q)
    assert d.maps(p3.pid) < 0
    assert d.sym(p3.pid, fn3 + 2) == "hidden_static+0x2 (sym_same)"
    assert fn3 - hidden > 0


def test_symbols_cwatch_names_contract_code(env):
    """In cwatch's own --heap sites, wasmer's JIT code (no perf map) is told as
    the contract code of the instance that ran it, in that instance's section."""
    util.need_root()
    import cw
    res = cw.run(env, ["run", "--heap", "--", cw.fixture(env, "wasmer_host"), "--calls", "300"],
                 timeout=120)
    assert res.returncode == 0, res.stderr
    section = re.search(r"instance  #1 wasmer .*?(?=\n  instance  #2)", res.stdout, re.S)
    assert section, res.stdout[-3000:]
    assert re.search(r"\n +0x[0-9a-f]+ \(contract code of instance #1\)\n",
                     section.group(0)), section.group(0)
    assert "anonymous executable memory" not in res.stdout
