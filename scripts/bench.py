# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""What cwatch costs the program it watches: paired runs, side by side.

    bench.py run --build DIR --out DIR [--pairs N] [--bpftrace-pairs N] [--skip A,B]
    bench.py render DIR/results.json
    bench.py cpuwrap FILE -- CMD [ARG...]

`run` (what scripts/bench.sh calls, as root) times every workload in pairs,
one run without cwatch and one under `cwatch run --json --interval 1`, the
order inside a pair alternating (A-B, B-A, ...) and the workloads taking
turns pair by pair, so slow drifts of a shared machine hit both sides alike.
For each workload it reports the median and the range of the per-pair ratio
monitored/unmonitored, the medians of the raw times, cwatch's own CPU and
the events it lost, and writes results.md and results.json into --out.

`cpuwrap` runs CMD as its child, reaps it with wait4 and writes the child's
exit status and user/sys CPU (microsecond resolution) as JSON to FILE. It is
how the CPU of a time-driven workload is measured when cwatch, not this
script, is the workload's parent: the wrapper goes in front of the workload
in both modes, so both sides carry it alike and only the workload is counted.

Standard library only.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Time between runs, so the kernel's deferred freeing of the last cwatch's BPF
# programs and maps (RCU callbacks, kworkers) lands in no one's measurement.
SETTLE_S = 0.3
# Below this many seconds watched, a run's CPU is mostly cwatch's fixed cost
# and the per-second estimate above that cost is not worth printing.
MIN_WATCHED_S = 1.0
TARGET_RATIO = 1.05         # the issue: default mode <= 1.05x on mallocbench
TARGET_HOST_RATIO = 1.10    # default mode <= 1.10x on the contract hosts' call loops
TARGET_HEAP_RATIO = 3.0     # --heap <= 3x on mallocbench, leaking site ranked first
TARGET_LOST = 0             # the issue: no events lost
TARGET_US_PER_EVENT = 0.1   # collector CPU per event
TARGET_DETECT_S = 15.0      # leak verdict within 15 s of a 1 MiB/s leak's start
TARGET_RSS_BYTES = 64 << 20  # agent RSS at 1,000 instances
RUN_TIMEOUT_S = 120
HOST_CALLS = 1000           # calls per instance in a contract host run
HOST_INSTANCES = 3          # instances each contract host fixture runs
GOCHAIN_RATE = 2000         # invokes per second of the Go chaincode (each ~100 us of work)
SECTIONS = ("malloc", "faults", "demo", "gochain", "hosts", "bpftrace", "capacity", "rss",
            "detect")
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
# Runtime uprobes appended to scripts/bench/track.bt for each host, the
# functions cwatch's built-in profile probes for instances and calls
# (cwatch profiles -v): (file: "lib" or "exe", create, destroy, call).
HOST_UPROBES = {
    "wasmer_host": ("lib", "wasm_instance_new", "wasm_instance_delete", "wasm_func_call"),
    "wasmtime_host": ("exe", "wasmtime_instance_new", "wasmtime_store_delete", "wasmtime_func_call"),
}


class BenchError(Exception):
    """A run failed or printed something unexpected: the bench is void."""


def cpuwrap(outfile, argv):
    """Run argv, wait4 it, write its status and CPU to outfile; exit like it."""
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, ru = os.wait4(pid, 0)
    me = resource.getrusage(resource.RUSAGE_SELF)
    code = os.waitstatus_to_exitcode(status)
    with open(outfile, "w") as f:
        json.dump({"exit": code, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
                   "wrapper_user_s": me.ru_utime, "wrapper_sys_s": me.ru_stime}, f)
    # nothing left worth tearing down; a negative code means a signal
    os._exit(code if code >= 0 else 128 - code)


def read_proc_cpu(pid):
    """CPU of the process pid, which must have exited and not been reaped yet.

    Returns a dict: cpu_s from /proc/PID/schedstat (the main thread's run time
    in ns: exact, and the whole process when it never had other threads);
    user_s and sys_s from /proc/PID/stat (the whole thread group, in clock
    ticks, so 10 ms steps).
    """
    with open(f"/proc/{pid}/schedstat") as f:
        run_ns = int(f.read().split()[0])
    with open(f"/proc/{pid}/stat") as f:
        # comm may hold spaces and parentheses: fields start after the last ')'
        rest = f.read().rsplit(")", 1)[1].split()
    # rest[0] is field 3 (state); utime is field 14, stime 15
    return {"cpu_s": run_ns / 1e9,
            "user_s": int(rest[11]) / CLK_TCK,
            "sys_s": int(rest[12]) / CLK_TCK}


def spawn_measured(argv, stdout_path, stderr_path, env=None):
    """Run argv to its end; return (exit code, wall seconds, own CPU dict).

    The child is reaped only after its own CPU has been read from /proc
    (waitid with WNOWAIT leaves it a zombie), so the figures are its own and
    do not depend on whether it reaped its children before exiting.
    """
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    t0 = time.monotonic()
    pid = os.posix_spawnp(argv[0], argv, dict(os.environ, **(env or {})),
                          file_actions=actions)
    deadline = t0 + RUN_TIMEOUT_S
    while True:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if info is not None:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise BenchError(f"timed out after {RUN_TIMEOUT_S} s: {' '.join(argv)}")
        time.sleep(0.002)
    wall = time.monotonic() - t0
    cpu = read_proc_cpu(pid)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), wall, cpu


def uprobe_share(by_id):
    """' (about N.NNNx on wasmer_host in this run)': with uprobes less tracepoints alone."""
    full, none = by_id.get("wasmer_host"), by_id.get("wasmer_host --runtime none")
    if not full or not none:
        return ""
    return (f" (about {full['ratio_median'] - none['ratio_median']:.3f}x on wasmer_host in "
            "this run)")


def go_bpftrace_note(by_id):
    """A sentence on the gochain bpftrace comparison, if the run had one."""
    bt, cw = by_id.get("gochain bpftrace track.bt+go.bt"), by_id.get("gochain")
    if not bt or not cw:
        return ""
    return (f" bpftrace doing about the same (track.bt's tracepoints and go.bt: an entry "
            f"uprobe on runtime.newproc1 keyed by the go statement's PC and an 8-frame user "
            f"stack, one on runtime.goexit1, and entry probes on cgo's C wrappers around "
            f"malloc and free, counting calls and bytes asked for; no return probe, so not "
            f"live bytes by site as cwatch keeps) costs {fmt_x(bt['ratio_median'])} against "
            f"cwatch's {fmt_x(cw['ratio_median'])}: its goroutine ends take a trap each, "
            f"which cwatch's reuse and sweep avoid.")


def json_all_split(doc):
    """', of it X us user and Y us system a record' for the largest json-all capacity run."""
    rows = [r for r in (doc.get("capacity") or {}).get("runs", [])
            if out_mode(r) == "json all" and r.get("records") and "cwatch_user_s" in r]
    if not rows:
        return ""
    r = max(rows, key=lambda r: r["records"])
    return (f" (in this run {r['cwatch_user_s'] / r['records'] * 1e6:.2f} us a record of user "
            f"time, the collector and the formatting, and {r['cwatch_sys_s'] / r['records'] * 1e6:.2f} "
            "us of system time, the ring's wake-ups and the write, fixed cost included)")


def out_mode(row):
    """A capacity row's output: table, json (mmap lines folded past the default quota) or
    json all (every mmap record printed: --mmap-lines 0, or a run from before the quota)."""
    if not row["json"]:
        return "table"
    return "json" if row.get("mmap_lines", 0) is None else "json all"


def json_lines(path):
    """The JSON objects among the lines of the file at path, in order."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def tail(path, n=5):
    """The last n lines of a file, for error messages."""
    try:
        with open(path) as f:
            return "".join(f.readlines()[-n:]).rstrip()
    except OSError:
        return ""


class Bench:
    """One bench session: paths, workloads, and the runs taken so far."""

    def __init__(self, build, pairs, tmp, skip=(), bpf_pairs=5):
        self.build = build
        self.pairs = pairs
        self.tmp = tmp
        self.serial = 0
        self.skip = set(skip)
        self.notes = []
        # Run copies, not build/ itself: a rebuild by someone else during the
        # session must not swap binaries between the runs being compared.
        self.bindir = os.path.join(tmp, "bin")
        self.sha256 = {}
        os.makedirs(os.path.join(self.bindir, "fixtures"))
        wanted = ["cwatch", "fixtures/mallocbench", "fixtures/demo_host"]
        if "hosts" not in self.skip:
            wanted += ["fixtures/wasmer_host", "fixtures/libwasmer.so", "fixtures/wasmtime_host"]
        if not {"capacity", "rss", "detect"} <= self.skip:
            wanted += ["fixtures/manyinstances"]
        if "gochain" not in self.skip:
            wanted += ["fixtures/gochain"]
        if "faults" not in self.skip:
            wanted += ["fixtures/faultbench"]
        for rel in wanted:
            src = os.path.join(build, rel)
            if not os.path.exists(src):
                self.notes.append(f"{src} is missing: its sections are skipped")
                continue
            dst = os.path.join(self.bindir, rel)
            shutil.copy2(src, dst)
            with open(dst, "rb") as f:
                self.sha256[src] = hashlib.sha256(f.read()).hexdigest()
        have = lambda rel: os.path.exists(os.path.join(self.bindir, rel))
        if not have("fixtures/wasmer_host") or not have("fixtures/libwasmer.so") \
                or not have("fixtures/wasmtime_host"):
            self.skip.add("hosts")
        if not have("fixtures/manyinstances"):
            self.skip |= {"capacity", "rss", "detect"}
        if not have("fixtures/faultbench"):
            self.skip.add("faults")
        self.bpftrace = shutil.which("bpftrace")
        if not self.bpftrace and "bpftrace" not in self.skip:
            self.notes.append("bpftrace is not installed (apt-get install -y bpftrace): "
                              "the bpftrace comparisons are skipped")
            self.skip.add("bpftrace")
        self.cwatch = os.path.join(self.bindir, "cwatch")
        self.fixtures = os.path.join(self.bindir, "fixtures")
        me = os.path.relpath(os.path.abspath(__file__))
        self.me = me
        self.benchdir = os.path.join(os.path.dirname(me), "bench")
        mb = os.path.join(self.fixtures, "mallocbench")
        dh = os.path.join(self.fixtures, "demo_host")
        self.monitor = [self.cwatch, "run", "--json", "--interval", "1"]
        dh_argv = [sys.executable, me, "cpuwrap", "{CPUFILE}", "--",
                   dh, "--seconds", "4", "--quiet"]
        bpf_pairs = min(bpf_pairs, pairs)
        # A workload is one comparison: unmonitored argv against argv under a
        # monitor: cwatch's default mode plus opts, or a bpftrace script.
        # Comparisons of one group share their unmonitored run. metric
        # "reported": the workload's own "seconds"; "cpu": user+sys CPU of
        # the workload as cpuwrap saw it. "target": the issue's limit on the
        # median ratio; "rank": check where the leaking site ranks.
        self.workloads = []
        if "malloc" not in self.skip:
            self.workloads += [
                {"id": "mallocbench", "group": "mallocbench", "metric": "reported",
                 "argv": [mb], "opts": [], "target": TARGET_RATIO},
                {"id": "mallocbench-leak10", "group": "mallocbench-leak10",
                 "metric": "reported", "argv": [mb, "--leak-permille", "10"], "opts": [],
                 "target": TARGET_RATIO},
                {"id": "mallocbench-leak10 --heap", "group": "mallocbench-leak10",
                 "metric": "reported", "argv": [mb, "--leak-permille", "10"],
                 "opts": ["--heap"], "target": TARGET_HEAP_RATIO, "rank": "cwatch"},
            ]
            if "bpftrace" not in self.skip:
                self.workloads.append(
                    {"id": "mallocbench-leak10 bpftrace memleak.bt", "group": "mallocbench-leak10",
                     "metric": "reported", "argv": [mb, "--leak-permille", "10"], "opts": [],
                     "monitor": "bpftrace", "script": os.path.join(self.benchdir, "memleak.bt"),
                     "pairs": bpf_pairs, "rank": "memleak"})
        if "faults" not in self.skip:
            # the price of a page fault in a watched process: kmem:rss_stat
            # through its BTF tracepoint (the default here) and the classic one
            fb = [os.path.join(self.fixtures, "faultbench"), "--mib", "64", "--rounds", "8",
                  "--threads", "2"]
            self.workloads += [
                {"id": "faultbench", "group": "faultbench", "metric": "reported",
                 "argv": fb, "opts": []},
                {"id": "faultbench CWATCH_RSS_STAT=classic", "group": "faultbench",
                 "metric": "reported", "argv": fb, "opts": [],
                 "env": {"CWATCH_RSS_STAT": "classic"}},
            ]
        if "demo" not in self.skip:
            self.workloads.append(
                {"id": "demo_host", "group": "demo_host", "metric": "cpu",
                 "argv": dh_argv, "opts": []})
            # cwatch picks a runtime profile by what the target maps, and the
            # demo host has one: the same runs with --runtime none split the
            # uprobes' share from the tracepoints'. Skipped by a cwatch
            # without the option.
            if "--runtime=" in first_line_matching([self.cwatch, "run", "--help"], "--runtime="):
                self.workloads.append(
                    {"id": "demo_host --runtime none", "group": "demo_host", "metric": "cpu",
                     "argv": dh_argv, "opts": ["--runtime", "none"]})
        if "gochain" not in self.skip and have("fixtures/gochain"):
            # the Go chaincode, healthy: a goroutine per invoke (created and
            # ended), a C string through cgo (allocated and freed), a cache
            # put; as many invokes as it can for 4 s: CPU is the work
            gc_argv = [sys.executable, me, "cpuwrap", "{CPUFILE}", "--",
                       os.path.join(self.fixtures, "gochain"), "-rate", str(GOCHAIN_RATE),
                       "-duration", "4s", "-truth", "/dev/null"]
            self.workloads.append(
                {"id": "gochain", "group": "gochain", "metric": "cpu", "argv": gc_argv,
                 "opts": [], "target": TARGET_HOST_RATIO})
            self.workloads.append(
                {"id": "gochain --runtime none", "group": "gochain", "metric": "cpu",
                 "argv": gc_argv, "opts": ["--runtime", "none"]})
            if "bpftrace" not in self.skip:
                self.workloads.append(
                    {"id": "gochain bpftrace track.bt+go.bt", "group": "gochain", "metric": "cpu",
                     "argv": gc_argv, "opts": [], "monitor": "bpftrace",
                     "script": self._go_script(os.path.join(self.fixtures, "gochain")),
                     "script_label": "scripts/bench/track.bt with scripts/bench/go.bt appended",
                     "pairs": bpf_pairs})
        if "hosts" not in self.skip:
            for host in ("wasmer_host", "wasmtime_host"):
                exe = os.path.join(self.fixtures, host)
                argv = [sys.executable, me, "cpuwrap", "{CPUFILE}", "--", exe,
                        "--calls", str(HOST_CALLS), "--interval-ms", "0", "--hold", "0"]
                self.workloads.append(
                    {"id": host, "group": host, "metric": "cpu", "argv": argv, "opts": [],
                     "target": TARGET_HOST_RATIO})
                # the same without the runtime's uprobes: tracepoints alone
                self.workloads.append(
                    {"id": f"{host} --runtime none", "group": host, "metric": "cpu",
                     "argv": argv, "opts": ["--runtime", "none"]})
                if "bpftrace" not in self.skip:
                    self.workloads.append(
                        {"id": f"{host} bpftrace track.bt", "group": host, "metric": "cpu",
                         "argv": argv, "opts": [], "monitor": "bpftrace",
                         "script": self._host_script(host), "pairs": bpf_pairs,
                         "script_label": "scripts/bench/track.bt with the runtime's instance "
                                         "and call uprobes appended (HOST_UPROBES)"})

    def _host_script(self, host):
        """scripts/bench/track.bt plus the host runtime's uprobes, in tmp."""
        kind, create, destroy, call = HOST_UPROBES[host]
        path = os.path.join(self.fixtures, "libwasmer.so" if kind == "lib" else host)
        return self._track_script(host, f"""
// appended by scripts/bench.py for {host}: the runtime's instances and calls
uprobe:{path}:{create} /@tracked[pid]/
{{
	@instances_created[pid] = count();
}}

uprobe:{path}:{destroy} /@tracked[pid]/
{{
	@instances_destroyed[pid] = count();
}}

uprobe:{path}:{call} /@tracked[pid]/
{{
	@call_start[tid] = nsecs;
}}

uretprobe:{path}:{call} /@call_start[tid]/
{{
	@calls[pid] = count();
	@call_ns[pid] = sum(nsecs - @call_start[tid]);
	@call_ns_max[pid] = max(nsecs - @call_start[tid]);
	delete(@call_start[tid]);
}}

tracepoint:kmem:rss_stat /@call_start[tid] && args->member == 1/
{{
	// resident anon changes while a call runs: what cwatch charges to it
	@in_call_rss_changes[pid] = count();
}}
""")

    def _go_script(self, binary):
        """scripts/bench/track.bt plus scripts/bench/go.bt for the Go binary, in tmp."""
        with open(os.path.join(self.benchdir, "go.bt")) as f:
            return self._track_script("gochain", "\n" + f.read().replace("@GOBIN@", binary))

    def _track_script(self, name, extra):
        """scripts/bench/track.bt with @extra appended, written to tmp as track-@name.bt."""
        with open(os.path.join(self.benchdir, "track.bt")) as f:
            text = f.read() + extra
        out = os.path.join(self.tmp, f"track-{name}.bt")
        with open(out, "w") as f:
            f.write(text)
        return out

    def _argv(self, w, monitored, cpufile):
        """The command line of one run of workload w."""
        argv = [cpufile if a == "{CPUFILE}" else a for a in w["argv"]]
        if not monitored:
            return argv
        if w.get("monitor") == "bpftrace":
            return [self.bpftrace or "bpftrace", w["script"], "-c", " ".join(argv)]
        return self.monitor + w["opts"] + ["--"] + argv

    def run_once(self, w, monitored):
        """One run of workload w; returns its record, raises BenchError."""
        self.serial += 1
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", w["id"] if monitored else w["group"])
        base = os.path.join(self.tmp, f"{self.serial:04d}-{name}-{'mon' if monitored else 'raw'}")
        cpufile = base + ".cpu.json"
        argv = self._argv(w, monitored, cpufile)
        if monitored and w.get("monitor") == "bpftrace":
            code, wall, cpu = self._run_bpftrace(w, argv, base, cpufile)
        else:
            code, wall, cpu = spawn_measured(argv, base + ".out", base + ".err",
                                             w.get("env") if monitored else None)
        what = f"{w['id'] if monitored else w['group']} ({'monitored' if monitored else 'unmonitored'})"
        if code != 0:
            raise BenchError(f"{what} exited {code}: {' '.join(argv)}\n{tail(base + '.err')}")
        rec = {"monitored": monitored, "wall_s": round(wall, 6)}
        lines = json_lines(base + ".out")
        if w["metric"] == "reported":
            truth = [o for o in lines if "type" not in o and "seconds" in o]
            if len(truth) != 1:
                raise BenchError(f"{what}: no result line in {base}.out")
            rec["time_s"] = truth[0]["seconds"]
            rec["leaked_bytes"] = truth[0]["leaked_bytes"]
            if "ns_per_fault" in truth[0]:
                rec["ns_per_fault"] = truth[0]["ns_per_fault"]
        else:
            try:
                with open(cpufile) as f:
                    c = json.load(f)
            except (OSError, ValueError) as e:
                raise BenchError(f"{what}: no CPU figures from cpuwrap: {e}")
            if c["exit"] != 0:
                raise BenchError(f"{what}: the workload exited {c['exit']}")
            rec["time_s"] = round(c["user_s"] + c["sys_s"], 6)
            rec["user_s"] = c["user_s"]
            rec["sys_s"] = c["sys_s"]
        if monitored and w.get("monitor") == "bpftrace":
            rec.update(bpftrace_figures(cpu, wall, base))
        elif monitored:
            rec.update(self._cwatch_figures(what, lines, cpu, base))
            rec["runtime_profiles"] = attached_profiles(lines, base + ".err")
        if monitored and w.get("rank") == "cwatch":
            rec["rank"] = heap_rank(lines)
        elif monitored and w.get("rank") == "memleak":
            rec["rank"] = memleak_rank(base + ".out")
        return rec

    @staticmethod
    def _run_bpftrace(w, argv, base, cpufile):
        """One run under bpftrace -c; returns what spawn_measured does.

        bpftrace 0.17 can take minutes to notice that its -c child is gone
        after a run with millions of uprobe hits (it sat in system time with
        the child a zombie), so once the workload has written its result the
        bench sends bpftrace SIGINT, which runs END and exits; SIGKILL 20 s
        later if that did not work. The workload's figures are its own and
        are not affected; bpftrace's wall time and CPU include its teardown.
        """
        state = {"int_at": None, "killed": False}

        def done():
            if w["metric"] == "reported":
                return any("type" not in o and "seconds" in o for o in json_lines(base + ".out"))
            try:
                return os.path.getsize(cpufile) > 0
            except OSError:
                return False

        def tick(pid, el):
            if state["int_at"] is None:
                if done():
                    state["int_at"] = el
                    os.kill(pid, 2)
            elif not state["killed"] and el - state["int_at"] > 20:
                state["killed"] = True
                os.kill(pid, 9)

        code, wall, cpu = spawn_watch(argv, base + ".out", base + ".err", tick, timeout=300)
        if state["int_at"] is not None and code in (-2, 130):
            code = 0
        if state["killed"]:
            code = 0
            with open(base + ".err", "a") as f:
                f.write("bench: bpftrace ignored SIGINT for 20 s: killed\n")
        return code, wall, cpu

    @staticmethod
    def _cwatch_figures(what, lines, cpu, base):
        """cwatch's CPU and its summary figures for one monitored run."""
        summ = [o for o in lines if o.get("type") == "summary"]
        if not summ:
            raise BenchError(f"{what}: cwatch printed no summary; see {base}.out")
        s = summ[-1]
        # schedstat is exact but covers the main thread only; the tick counts
        # cover every thread. If they disagree by more than rounding, trust them.
        ticks = cpu["user_s"] + cpu["sys_s"]
        own = cpu["cpu_s"] if ticks <= cpu["cpu_s"] + 2.0 / CLK_TCK else ticks
        return {"cwatch_cpu_s": round(own, 6),
                "cwatch_user_s": cpu["user_s"], "cwatch_sys_s": cpu["sys_s"],
                "cwatch_duration_s": s.get("duration_s"),
                "events_lost": s.get("events_lost"),
                "events_lost_why": lost_why(base + ".err"),
                "records": s.get("records"),
                "records_malformed": s.get("records_malformed")}

    def baseline(self):
        """cwatch's fixed cost, once: start, attach, watch /bin/true, detach."""
        w = {"id": "cwatch-true", "metric": "none", "argv": ["/bin/true"], "opts": []}
        self.serial += 1
        base = os.path.join(self.tmp, f"{self.serial:04d}-baseline")
        argv = self._argv(w, True, None)
        code, wall, cpu = spawn_measured(argv, base + ".out", base + ".err")
        if code != 0:
            raise BenchError(f"cwatch run -- /bin/true exited {code}\n{tail(base + '.err')}")
        rec = {"wall_s": round(wall, 6)}
        rec.update(self._cwatch_figures("baseline", json_lines(base + ".out"), cpu, base))
        time.sleep(SETTLE_S)
        return rec

    def session(self, log):
        """Warm up, then every pair index: one baseline run and one pair of
        each workload. Returns (baseline runs, {workload id: [pairs]})."""
        log("warm-up: one discarded run of each mallocbench workload under cwatch, both modes")
        for w in self.workloads:
            if w["metric"] == "reported" and w.get("monitor", "cwatch") == "cwatch":
                for monitored in (False, True):
                    self.run_once(w, monitored)
                    time.sleep(SETTLE_S)
        base = []
        runs = {w["id"]: [] for w in self.workloads}
        groups = {}
        for w in self.workloads:
            groups.setdefault(w["group"], []).append(w)
        for p in range(self.pairs):
            # the fixed cost is sampled along the way, under the same conditions
            base.append(self.baseline())
            for allcomps in groups.values():
                # the bpftrace comparisons may take fewer pairs (they are slow)
                comps = [c for c in allcomps if p < c.get("pairs", self.pairs)]
                # A is the unmonitored run; A-B, B-A, ... (A-B-C, C-B-A, ...)
                seq = [None] + comps
                if p % 2:
                    seq.reverse()
                order = "-".join("ABCDEFGH"[([None] + allcomps).index(x)] for x in seq)
                recs = {}
                for x in seq:
                    w = x or comps[0]
                    recs[x["id"] if x else None] = self.run_once(w, x is not None)
                    time.sleep(SETTLE_S)
                for w in comps:
                    pair = {"order": order, "raw": recs[None], "mon": recs[w["id"]]}
                    pair["ratio"] = pair["mon"]["time_s"] / pair["raw"]["time_s"]
                    runs[w["id"]].append(pair)
                    rank = pair["mon"].get("rank")
                    log(f"pair {p + 1}/{self.pairs} {w['id']:<24} {order:<7} "
                        f"raw {pair['raw']['time_s']:.4f} s  mon {pair['mon']['time_s']:.4f} s  "
                        f"ratio {pair['ratio']:.3f}  lost {pair['mon']['events_lost']}"
                        + (f"  leak site rank {rank['leak_site_rank']}" if rank else ""))
        return base, runs


def spawn_watch(argv, stdout_path, stderr_path, tick, timeout=RUN_TIMEOUT_S):
    """Like spawn_measured, calling tick(pid, elapsed) every 50 ms meanwhile."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    t0 = time.monotonic()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    while True:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if info is not None:
            break
        if time.monotonic() - t0 > timeout:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise BenchError(f"timed out after {timeout} s: {' '.join(argv)}")
        tick(pid, time.monotonic() - t0)
        time.sleep(0.05)
    wall = time.monotonic() - t0
    cpu = read_proc_cpu(pid)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), wall, cpu


def proc_status(pid, keys=("VmRSS", "VmHWM")):
    """Fields of /proc/PID/status in bytes; {} once it is gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def text_records(path):
    """(records, events lost) from the summary line of cwatch's table mode."""
    with open(path, errors="replace") as f:
        m = re.findall(r"cwatch summary after [0-9.]+s: .*?, (\d+) records, (\d+) events lost",
                       f.read())
    return (int(m[-1][0]), int(m[-1][1])) if m else (None, None)


def capacity_section(b, base_cpu, log):
    """Event rates against events lost; collector CPU per event.

    manyinstances --mmaps-per-sec R maps and unmaps 1 MiB R times a second:
    two events (mmap, munmap) per mapping, each one ring-buffer record.
    """
    mi = os.path.join(b.fixtures, "manyinstances")
    secs = os.environ.get("BENCH_CAPACITY_SECONDS", "3")
    # (mappings per second, 0 = as fast as it can; threads; ring; JSON; --mmap-lines,
    # None = the default, 0 = every mmap record printed)
    ladder = [(10000, 1, None, True, 0), (30000, 1, None, True, 0), (60000, 1, None, True, 0),
              (0, 1, None, True, 0), (0, 2, None, True, 0), (0, 2, None, True, None),
              (0, 2, None, False, None),
              (0, 2, "262144", True, 0), (0, 2, "65536", True, 0), (0, 2, "16384", True, 0)]
    rows = []
    for rate, threads, ring, js, mmap_lines in ladder:
        b.serial += 1
        base = os.path.join(b.tmp, f"{b.serial:04d}-capacity")
        argv = [b.cwatch, "run", "--interval", "1"] + (["--json"] if js else []) \
            + (["--mmap-lines", str(mmap_lines)] if mmap_lines is not None else []) \
            + (["--ringbuf", ring] if ring else []) \
            + ["--", mi, "--mmaps-per-sec", str(rate), "--threads", str(threads), "--seconds", secs]
        code, wall, cpu = spawn_measured(argv, base + ".out", base + ".err")
        if code != 0:
            raise BenchError(f"capacity run exited {code}: {' '.join(argv)}\n{tail(base + '.err')}")
        lines = json_lines(base + ".out")
        truth = [o for o in lines if "type" not in o and "mmaps" in o]
        if not truth:
            raise BenchError(f"capacity run: no result line in {base}.out")
        t = truth[-1]
        if js:
            summ = [o for o in lines if o.get("type") == "summary"][-1]
            records, lost = summ["records"], summ["events_lost"]
        else:
            records, lost = text_records(base + ".out")
        ticks = cpu["user_s"] + cpu["sys_s"]
        own = cpu["cpu_s"] if ticks <= cpu["cpu_s"] + 2.0 / CLK_TCK else ticks
        ev_rate = 2 * t["mmaps"] / t["seconds"] if t["seconds"] else 0
        row = {"mmaps_per_sec_asked": rate, "threads": threads,
               "ringbuf": ring or "1M (default)", "json": js,
               "mmap_lines": mmap_lines,
               "mmaps": t["mmaps"], "seconds": t["seconds"],
               "events_per_sec_produced": round(ev_rate, 1),
               "records": records, "events_lost": lost,
               "cwatch_cpu_s": round(own, 6), "wall_s": round(wall, 3),
               "cwatch_user_s": round(cpu["user_s"], 3), "cwatch_sys_s": round(cpu["sys_s"], 3),
               "us_per_record_above_fixed": (round((own - base_cpu) / records * 1e6, 4)
                                             if records else None),
               "command": " ".join(argv).replace(b.bindir, b.build)}
        rows.append(row)
        log(f"capacity: {rate or 'max'}/s x{threads} ring {row['ringbuf']} json {js}: "
            f"{ev_rate:,.0f} events/s, records {records}, lost {lost}, "
            f"cwatch CPU {own:.3f} s, {row['us_per_record_above_fixed']} us/record")
        time.sleep(SETTLE_S)
    return {"runs": rows, "baseline_cpu_s": base_cpu}


def rss_section(b, log):
    """cwatch's VmRSS peak while it tracks N instances of manyinstances."""
    mi = os.path.join(b.fixtures, "manyinstances")
    prof = os.path.join(b.benchdir, "manyinstances.yaml")
    rows = []
    for n in (1, 1000):
        b.serial += 1
        base = os.path.join(b.tmp, f"{b.serial:04d}-rss{n}")
        argv = [b.cwatch, "run", "--json", "--interval", "1", "--profile", prof, "--",
                mi, "--instances", str(n), "--rounds-per-sec", "2", "--seconds", "6"]
        peak = {"VmRSS": 0, "VmHWM": 0}

        def tick(pid, _el):
            st = proc_status(pid)
            for k in peak:
                peak[k] = max(peak[k], st.get(k, 0))

        code, wall, cpu = spawn_watch(argv, base + ".out", base + ".err", tick)
        if code != 0:
            raise BenchError(f"rss run exited {code}: {' '.join(argv)}\n{tail(base + '.err')}")
        lines = json_lines(base + ".out")
        summ = [o for o in lines if o.get("type") == "summary"][-1]
        truth = [o for o in lines if "type" not in o and "instances" in o][-1]
        row = {"instances_asked": n, "instances_tracked": len(summ.get("instance_list", [])),
               "calls": truth["calls"], "vmrss_peak_bytes": peak["VmRSS"],
               "vmhwm_bytes": peak["VmHWM"], "records": summ["records"],
               "events_lost": summ["events_lost"], "cwatch_cpu_s": round(cpu["cpu_s"], 4),
               "command": " ".join(argv).replace(b.bindir, b.build)}
        rows.append(row)
        log(f"rss: {n} instances ({row['instances_tracked']} tracked): cwatch VmRSS peak "
            f"{peak['VmRSS'] / 2**20:.1f} MiB, VmHWM {peak['VmHWM'] / 2**20:.1f} MiB")
        time.sleep(SETTLE_S)
    return {"runs": rows}


def detect_section(b, log, runs=3):
    """Seconds from the start of a 1 MiB/s leak to cwatch's leak verdict."""
    mi = os.path.join(b.fixtures, "manyinstances")
    prof = os.path.join(b.benchdir, "manyinstances.yaml")
    rows = []
    for r in range(runs):
        b.serial += 1
        base = os.path.join(b.tmp, f"{b.serial:04d}-detect")
        argv = [b.cwatch, "run", "--json", "--interval", "1", "--profile", prof, "--",
                mi, "--instances", "4", "--rounds-per-sec", "50",
                "--leak-bytes-per-sec", "1048576", "--seconds", "30"]
        state = {"killed_at": None}

        def tick(_pid, el):
            # once a verdict is out, end the leaking host (cwatch then exits)
            if state["killed_at"] is not None and el - state["killed_at"] < 5:
                return
            lines = json_lines(base + ".out")
            if any(o.get("type") == "verdict" for o in lines):
                tgt = [o for o in lines if o.get("type") == "target" and o.get("reason") == "launch"]
                if tgt:
                    try:
                        os.kill(tgt[0]["pid"], 15)
                    except OSError:
                        pass
                    state["killed_at"] = el

        code, wall, cpu = spawn_watch(argv, base + ".out", base + ".err", tick)
        if code != 0:
            raise BenchError(f"detect run exited {code}: {' '.join(argv)}\n{tail(base + '.err')}")
        lines = json_lines(base + ".out")
        new = [o for o in lines if o.get("type") == "instance_new" and o.get("name") == "leaker"]
        verdicts = [o for o in lines if o.get("type") == "verdict"
                    and o.get("rule") in ("leak.instance", "leak.target")]
        mine = [v for v in verdicts if v.get("rule") == "leak.target" or v.get("id") == 1]
        others = [v for v in verdicts if v not in mine]
        start = new[0]["t"] if new else None
        first = mine[0] if mine else None
        row = {"leak_start_t": start, "verdict_t": first["t"] if first else None,
               "rule": first["rule"] if first else None,
               "seconds_to_verdict": (round(first["t"] - start, 3) if first and start is not None
                                      else None),
               "rate_bytes_per_second": first.get("rate_bytes_per_second") if first else None,
               "detail": first.get("detail") if first else None,
               "false_verdicts": len(others),
               "command": " ".join(argv).replace(b.bindir, b.build)}
        rows.append(row)
        log(f"detect {r + 1}/{runs}: {row['rule']} after {row['seconds_to_verdict']} s "
            f"(rate {row['rate_bytes_per_second']}), other leak verdicts {len(others)}")
        time.sleep(SETTLE_S)
    got = [x["seconds_to_verdict"] for x in rows if x["seconds_to_verdict"] is not None]
    return {"runs": rows, "median_s": med(got) if got else None,
            "max_s": max(got) if got else None, "detected": len(got)}



def lost_why(path):
    """cwatch's closing warning on what was lost and why ("" if none)."""
    try:
        with open(path) as f:
            for line in f:
                m = re.search(r"events lost: ([^;\"]*)", line)
                if m:
                    return m.group(1)
    except OSError:
        pass
    return ""


def attached_profiles(lines, path):
    """The runtimes cwatch attached uprobes for in one run.

    Two witnesses, either suffices: the "runtime" field of its JSON records
    (instances and contracts), and its log line "... runs NAME: N probes
    attached (profile ...)" on stderr.
    """
    found = {o["runtime"] for o in lines
             if isinstance(o.get("runtime"), str) and o["runtime"] not in ("", "none")}
    # Go programs: goroutine (and cgo) probes, whatever the profile
    for o in lines:
        go = o.get("go")
        if isinstance(go, dict) and go.get("goroutines_tracked"):
            found.add("go (goroutines" + (", cgo)" if go.get("cgo_tracked") else ")"))
    try:
        with open(path) as f:
            for line in f:
                m = re.search(r"runs (\S+): .*probes attached", line)
                if m:
                    found.add(m.group(1))
    except OSError:
        pass
    return sorted(found)


def bpftrace_figures(cpu, wall, base):
    """bpftrace's CPU and the events it says it lost, for one monitored run."""
    ticks = cpu["user_s"] + cpu["sys_s"]
    # bpftrace has threads of its own: the tick counts cover them all
    own = max(ticks, cpu["cpu_s"])
    lost = 0
    for path in (base + ".out", base + ".err"):
        try:
            with open(path, errors="replace") as f:
                for m in re.finditer(r"Lost (\d+) events", f.read()):
                    lost += int(m.group(1))
        except OSError:
            pass
    return {"cwatch_cpu_s": round(own, 6), "cwatch_user_s": cpu["user_s"],
            "cwatch_sys_s": cpu["sys_s"], "cwatch_duration_s": round(wall, 6),
            "events_lost": lost, "records": None, "records_malformed": None,
            "runtime_profiles": []}


def is_leak_frame(frame):
    """Whether a frame names mallocbench's allocating loop, the leaking site."""
    return frame.startswith("work+") or frame.startswith("work ")


def heap_rank(lines):
    """Where cwatch --heap ranks mallocbench's leaking site.

    Every site of the summary (targets' and instances'), biggest first; the
    leaking site is one whose frames reach `work` in mallocbench.
    """
    summ = [o for o in lines if o.get("type") == "summary"]
    sites = []
    if summ:
        for t in summ[-1].get("target_list", []):
            sites += t.get("sites") or []
        for i in summ[-1].get("instance_list", []):
            sites += i.get("sites") or []
    sites.sort(key=lambda x: -x.get("bytes", 0))
    total = sum(x.get("bytes", 0) for x in sites) or 1
    rank = next((k + 1 for k, x in enumerate(sites)
                 if any(is_leak_frame(f) for f in x.get("frames", []))), None)
    return {"leak_site_rank": rank, "sites": len(sites),
            "top_frames": sites[0]["frames"] if sites else [],
            "top_share": round(sites[0]["bytes"] / total, 4) if sites else 0,
            "leak_site_share": (round(sites[rank - 1]["bytes"] / total, 4) if rank else 0)}


def memleak_rank(path):
    """Where scripts/bench/memleak.bt ranks mallocbench's leaking site.

    The last print of @outstanding_by_stack with symbolized frames (bpftrace
    names frames only while the process lives), summed by innermost frame:
    malloc's caller, the allocation site.
    """
    blocks, cur = [], None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("=== outstanding"):
                cur = []
                blocks.append(cur)
            elif cur is not None:
                cur.append(line.rstrip("\n"))
    entries = []
    for b in blocks:
        found, frames = [], None
        for line in b:
            if line.startswith("@outstanding_by_stack["):
                frames = []
                if line.rstrip().endswith("]:") is False and "]:" in line:
                    found.append(([], int(line.rsplit(":", 1)[1])))
                    frames = None
            elif frames is not None and line.startswith("]:"):
                found.append((frames, int(line[2:].strip())))
                frames = None
            elif frames is not None and line.strip():
                frames.append(line.strip())
        if any(fr and not fr[0].startswith("0x") for fr, _ in found):
            entries = found
    by_site = {}
    for frames, n in entries:
        key = frames[0] if frames else "(no stack)"
        by_site[key] = by_site.get(key, 0) + n
    ranked = sorted(by_site.items(), key=lambda kv: -kv[1])
    total = sum(max(n, 0) for _, n in ranked) or 1
    rank = next((k + 1 for k, (site, _) in enumerate(ranked) if is_leak_frame(site)), None)
    return {"leak_site_rank": rank, "sites": len(ranked),
            "top_frames": [ranked[0][0]] if ranked else [],
            "top_share": round(ranked[0][1] / total, 4) if ranked else 0,
            "leak_site_share": round(ranked[rank - 1][1] / total, 4) if rank else 0}



def first_line_matching(argv, needle):
    """The first line of argv's stdout that holds needle, or ""."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return next((l for l in out.splitlines() if needle in l), "")


def med(xs):
    """Median of a non-empty list."""
    return statistics.median(xs)


def summarize(w, pairs, base_cpu, base_dur):
    """The per-workload figures that go into both result files."""
    ratios = [p["ratio"] for p in pairs]
    mons = [p["mon"] for p in pairs]
    per_s = [m["cwatch_cpu_s"] / m["wall_s"] for m in mons]
    # above the fixed cost, per second actually watched (an estimate)
    steady = [(m["cwatch_cpu_s"] - base_cpu) / (m["cwatch_duration_s"] - base_dur)
              for m in mons if m["cwatch_duration_s"] - base_dur >= MIN_WATCHED_S
              and w.get("monitor", "cwatch") == "cwatch"]
    profiles = {}
    for m in mons:
        for name in m["runtime_profiles"]:
            profiles[name] = profiles.get(name, 0) + 1
    s = {
        "id": w["id"],
        "metric": w["metric"],
        "monitor": w.get("monitor", "cwatch"),
        "script": w.get("script_label") or (os.path.relpath(w["script"])
                                            if w.get("script", "").startswith("scripts/")
                                            else w.get("script")),
        "target_ratio": w.get("target"),
        "cwatch_options": w["opts"],
        "cwatch_env": w.get("env", {}),
        "runtime_profiles_attached": profiles,
        "pairs": len(pairs),
        "ratio_median": med(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "ratio_median_ci95": None,
        "pairs_monitored_slower": sum(r > 1 for r in ratios),
        "unmonitored_median_s": med([p["raw"]["time_s"] for p in pairs]),
        "monitored_median_s": med([m["time_s"] for m in mons]),
        "unmonitored_wall_median_s": med([p["raw"]["wall_s"] for p in pairs]),
        "monitored_wall_median_s": med([m["wall_s"] for m in mons]),
        "events_lost_total": sum(m["events_lost"] for m in mons),
        "events_lost_max": max(m["events_lost"] for m in mons),
        "events_lost_why": sorted({m["events_lost_why"] for m in mons
                                   if m.get("events_lost_why")}),
        "records_malformed_total": sum(m["records_malformed"] or 0 for m in mons),
        "cwatch_cpu_median_s": med([m["cwatch_cpu_s"] for m in mons]),
        "cwatch_cpu_min_s": min(m["cwatch_cpu_s"] for m in mons),
        "cwatch_cpu_max_s": max(m["cwatch_cpu_s"] for m in mons),
        "cwatch_user_median_s": med([m["cwatch_user_s"] for m in mons]),
        "cwatch_sys_median_s": med([m["cwatch_sys_s"] for m in mons]),
        "cwatch_duration_median_s": med([m["cwatch_duration_s"] for m in mons]),
        "cwatch_cpu_per_wall_s_median": med(per_s),
        "cwatch_cpu_per_watched_s_above_fixed_median": med(steady) if steady else None,
    }
    ranks = [m["rank"] for m in mons if "rank" in m]
    if ranks:
        s["leak_site_ranks"] = [r["leak_site_rank"] for r in ranks]
        s["leak_site_ranked_first"] = sum(r["leak_site_rank"] == 1 for r in ranks)
        s["top_site_frames_last_run"] = ranks[-1]["top_frames"]
        s["top_site_share_median"] = med([r["top_share"] for r in ranks])
        s["leak_site_share_median"] = med([r["leak_site_share"] for r in ranks])
    ci = median_ci(ratios)
    if ci:
        s["ratio_median_ci95"] = {"low": ci[0], "high": ci[1], "coverage": round(ci[2], 4)}
    if w["metric"] == "reported":
        leaks = {p[k]["leaked_bytes"] for p in pairs for k in ("raw", "mon")}
        s["leaked_bytes"] = sorted(leaks)
        if all("ns_per_fault" in p[k] for p in pairs for k in ("raw", "mon")):
            s["ns_per_fault_unmonitored_median"] = med([p["raw"]["ns_per_fault"] for p in pairs])
            s["ns_per_fault_monitored_median"] = med([m["ns_per_fault"] for m in mons])
            s["ns_per_fault_added_median"] = med([p["mon"]["ns_per_fault"] -
                                                  p["raw"]["ns_per_fault"] for p in pairs])
    else:
        s["unmonitored_user_median_s"] = med([p["raw"]["user_s"] for p in pairs])
        s["unmonitored_sys_median_s"] = med([p["raw"]["sys_s"] for p in pairs])
        s["monitored_user_median_s"] = med([m["user_s"] for m in mons])
        s["monitored_sys_median_s"] = med([m["sys_s"] for m in mons])
    return s


def first_line(argv, default="?"):
    """The first line a command prints, or default."""
    try:
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=10).stdout.splitlines()[0].strip()
    except (OSError, IndexError, subprocess.SubprocessError):
        return default


def machine():
    """What the numbers were taken on."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "online_cpus": len(os.sched_getaffinity(0)),
            "kernel": platform.release(), "cpu_model": model,
            "clk_tck": CLK_TCK}


def loadavg():
    """The 1, 5 and 15 minute load averages."""
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def previous_run(path):
    """The targets of the results.json a run replaces, for results.md's last column.

    The machines are shared and differ from day to day (another CPU model,
    other neighbours), so one run's margin says less than two runs' do.
    """
    try:
        with open(path) as f:
            old = json.load(f)
        return {"date": old["date"], "cwatch_version": old["cwatch_version"],
                "git": old.get("git"), "cpu_model": old["machine"]["cpu_model"],
                "nproc": old["machine"]["nproc"], "kernel": old["machine"]["kernel"],
                "targets": [{"name": t["name"], "value": t["value"], "met": t["met"]}
                            for t in old["targets"]]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def fmt_target_value(t):
    """A target's figure alone, in its unit (for the previous run's column)."""
    v, name = t["value"], t["name"]
    if v is None:
        return "n/a"
    if "ratio" in name:
        return fmt_x(v)
    if "us/event" in name:
        return f"{v:.3f} us"
    if "within" in name:
        return f"{v:.2f} s"
    if "MiB" in name:
        return f"{v / 2**20:.1f} MiB"
    return f"{v:g} lost" if "lost" in name else f"{v:g}"


def fmt_x(r):
    """A ratio as 1.023x."""
    return f"{r:.3f}x"


def command_lines(b):
    """The exact commands of each workload, both modes, as shell text.

    The binaries are named by their build/ path; the bench ran copies of them.
    """
    def show(argv):
        return " ".join("python3" if a == sys.executable else a.replace(b.bindir, b.build)
                        for a in argv)

    out = {}
    for w in b.workloads:
        env = "".join(f"{k}={v} " for k, v in w.get("env", {}).items())
        out[w["id"]] = {"unmonitored": show(b._argv(w, False, "$TMP/cpu.json")),
                        "monitored": env + show(b._argv(w, True, "$TMP/cpu.json"))}
    out["baseline"] = {"monitored": show(b.monitor + ["--", "/bin/true"])}
    return out


def median_ci(xs, level=0.95):
    """A distribution-free confidence interval of the median of xs.

    The order statistics x(k) and x(n+1-k) for the largest k whose binomial
    tail P(Bin(n, 1/2) < k) stays within (1 - level) / 2; None when n is too
    small for any k. Returns (low, high, actual coverage).
    """
    xs = sorted(xs)
    n = len(xs)
    tail, k = 0.0, 0
    while True:
        nxt = tail + math.comb(n, k) / 2 ** n
        if nxt > (1 - level) / 2:
            break
        tail, k = nxt, k + 1
    if k == 0:
        return None
    return xs[k - 1], xs[n - k], 1 - 2 * tail


def write_md(path, doc):
    """results.md: the tables, the machine, the commands, how to read them."""
    m = doc["machine"]
    L = []
    L.append("<!-- SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause -->")
    L.append("# cwatch overhead: paired runs")
    L.append("")
    L.append(f"Generated by `bash scripts/bench.sh {doc['build']}` on {doc['date']} "
             f"(cwatch `{doc['cwatch_version']}`, tree `{doc['git']}`); "
             f"{doc['pairs']} pairs per workload, whole session {doc['elapsed_s']:.0f} s.")
    L.append("")
    L.append(f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), Linux {m['kernel']}; "
             f"load average {doc['loadavg_start'][0]:.2f} at the start, "
             f"{doc['loadavg_end'][0]:.2f} at the end. A shared machine: other work "
             "ran alongside.")
    L.append("")
    L.append("## Targets")
    L.append("")
    prev = doc.get("previous")
    if prev:
        L.append(f"The last column is the run this one replaced: {prev['date']}, cwatch "
                 f"`{prev['cwatch_version']}`, on {prev['nproc']} CPUs ({prev['cpu_model']}), "
                 f"Linux {prev['kernel']}. These machines are shared and are not always the "
                 "same machine: read a margin against both runs.")
        L.append("")
        before = {t["name"]: t for t in prev["targets"]}
        L.append("| target | measured | verdict | previous run |")
        L.append("|---|---|---|---|")
    else:
        L.append("| target | measured | verdict |")
        L.append("|---|---|---|")
    for t in doc["targets"]:
        row = f"| {t['name']} | {t['measured']} | {'met' if t['met'] else 'MISSED'}, {t['margin']} |"
        if prev:
            o = before.get(t["name"])
            row += (f" {fmt_target_value(o)}, {'met' if o['met'] else 'MISSED'} |" if o
                    else " not measured |")
        L.append(row)
    L.append("")
    L.append("## Notes on the targets")
    L.append("")
    L.append("- Contract hosts: the time compared is the host process's user+sys CPU (wait4 "
             "by cpuwrap), not its wall time: the call loop runs with `--interval-ms 0`, so "
             "CPU is the work, and BPF programs and uprobe traps run in the host's own context "
             "and are charged to it, while on a shared 2-CPU machine wall time also measures "
             "who else ran. cwatch and bpftrace both follow the wrapper too (a python process): "
             "its `file.open` alerts in cwatch's output come from the wrapper, not the host.")
    by_id = {w["id"]: w for w in doc["workloads"]}
    host_split = []
    for host in ("wasmer_host", "wasmtime_host"):
        full, none = by_id.get(host), by_id.get(f"{host} --runtime none")
        if full and none:
            per_call = ((full['monitored_median_s'] - none['monitored_median_s'])
                        / (HOST_CALLS * HOST_INSTANCES) * 1e6)
            host_split.append(
                f"{host}: {fmt_x(full['ratio_median'])} with its profile's uprobes, "
                f"{fmt_x(none['ratio_median'])} with tracepoints alone (`--runtime none`), " +
                (f"so the uprobes cost about {per_call:.1f} us a call ({HOST_INSTANCES} "
                 f"instances x {HOST_CALLS} calls a run)" if per_call > 0 else
                 "a difference this run's noise hides (the monitored medians are "
                 f"{full['monitored_median_s']:.3f} s and {none['monitored_median_s']:.3f} s)"))
    fb = by_id.get("faultbench")
    fbc = by_id.get("faultbench CWATCH_RSS_STAT=classic")
    fault_note = ""
    if fb and "ns_per_fault_added_median" in fb:
        fault_note = (f" A page fault costs a watched process {fb['ns_per_fault_added_median']:.0f} ns "
                      f"more (faultbench, of {fb['ns_per_fault_unmonitored_median']:.0f} ns")
        if fbc and "ns_per_fault_added_median" in fbc:
            fault_note += (f"; {fbc['ns_per_fault_added_median']:.0f} ns with the classic "
                           "`kmem:rss_stat` tracepoint, which sums the counter under the kernel's "
                           "lock for every process")
        fault_note += ")."
    L.append("- The host loops against 1.10x: the fixture's calls are small "
             f"({HOST_INSTANCES * HOST_CALLS} calls in a fifth of a CPU second, tens of us "
             "each) and page-fault bound: the `hostleak` contract keeps 256 KiB a call and "
             "`grower` grows a page a call, about 85,000 faults a run at about 2.3 us each, "
             "and the monitored runs add system time, not user time (the user / sys rows). "
             "Each fault runs two of cwatch's programs (`kmem:rss_stat`, `kmem:mm_page_alloc`), "
             "plus the tracepoints' dispatch. Measured apart on wasmer_host before the change "
             "below (12 alternating rounds, CPU against no monitor): 1.243x with everything, "
             "1.101x with tracepoints alone, 1.075x with the uprobes but neither fault "
             "program, 0.992x with neither: the fault programs were most of the cost. Both "
             "now keep their per-fault work on a per-CPU slot: the page program adds the "
             "thread's pages up there, and `kmem:rss_stat`'s program leaves a thread's run "
             "of faults there, each one page up, and applies up to 15 at once (README, How "
             "it works): with kernel.bpf_stats_enabled on wasmer_host, 162 + 78 ns a fault "
             "became 113 + 83 ns (the stats' own cost included: the page program's is mostly "
             "that), and in 16 alternating triples the CPU ratio went from 1.198x to 1.114x "
             "(faultbench with one thread: 231 -> 148 ns added a fault; with two threads "
             "the batches compare only the CPU's own part of the counter, which the other "
             "thread does not move: 266 -> 126 ns added a fault, 8 alternating rounds). "
             "Each call also enters about two probed functions of the runtime (`wasm_func_call` "
             "always; the host-function trampoline and the Go host's `wasm_memory_data` / "
             "`_data_size` reads in hostleak's calls; 7,012 probe entries for 3,000 calls), "
             "each an entry and a return uprobe. Every entry probe sits on an instruction "
             "the kernel emulates (the runtimes' functions start with a PUSH; wasmtime's "
             "host-function probe is on the cgo export `goTrampolineWrap`, not the C shim "
             "that starts with a MOV), so each costs one breakpoint exception, not two "
             "(see the gochain note). "
             + ("; ".join(host_split) + "." if host_split else "")
             + fault_note +
             " Against a contract call of a millisecond the same costs are a few percent. "
             "What is left on calls this small is the uprobes" + uprobe_share(by_id) + " "
             "and the two fault programs' dispatch. What would take more off: fewer traps a "
             "call, such as the memory-role probes detached once each instance's linear "
             "memory is known (2,000 of the 7,012 probe entries; they fire on the host's own "
             "reads, every call), at the price of a new instance's first host calls going "
             "unchecked for escapes until they are attached again, which is why they stay. "
             "Per-thread state in task-local storage instead of the thread hash was "
             "tried and measured slower here (bpf_task_storage_get's recursion guard).")
    L.append("- The Go chaincode (`gochain`, healthy) is asked for "
             f"{GOCHAIN_RATE} invokes a second and does what it can: about 3,300 in its 4 s "
             "here, with or without cwatch (each invoke waits on a goroutine with a "
             "deadline), about 170 us of CPU each. Each invoke starts about two goroutines "
             "(the query and, most times, its deadline's timer) and allocates and frees a C string through "
             "cgo: four probe hits an invoke (two creations, the cgo allocation, its free). "
             "A uprobe hit is a breakpoint exception, and unless the kernel can emulate the "
             "probed instruction (CALL, JMP, Jcc, NOP, PUSH) it also single-steps it out of "
             "line, a second, debug exception, which `perf record` shows is the dearer of the "
             "two on this VM. The Go probes sit on emulated instructions: creation on the "
             "CALL runtime.runqput after newproc1, libc free on the branch after its first "
             "compare, the cgo allocation on the branch of its nil check after cgocall (one "
             "probe, where an entry probe plus malloc's entry and return were three). Side "
             "by side, alternating, 9 runs each: 1.484x with the old placement (13dc633), "
             "1.123x with this one. Goroutine ends no longer take a probe: a creation on a "
             "g cwatch knows ends its last goroutine (the runtime reuses only dead g's), and "
             "the g's that died and were not reused are found by reading their status once "
             "an interval (and at exit_group, in BPF); that took two of the six breakpoints "
             "an invoke away, 1.093x to 1.057x in 20 alternating triples (the CPU ratio's "
             "spread here is about +-0.1 run to run). What is left is the four breakpoints "
             "and about 10 us of BPF an invoke (bpf_stats: 3.3 us a creation, 3.2 an "
             "allocation, 0.6 a free), of which about 1.2 us a user stack walk (three an "
             "invoke). The `--runtime none` row, tracepoints only, is the rest. Against a "
             "Fabric invoke (a millisecond or more of gRPC, marshalling and ledger work) the "
             "same costs are about 1%. What would close it further on invokes this small: "
             "walking the creating stack once per go statement and creator frame rather "
             "than per goroutine (a cache keyed by the first frames)." + go_bpftrace_note(by_id))
    why = sorted({x for w in doc["workloads"] for x in w.get("events_lost_why", [])})
    L.append("- Events lost in the paired cwatch runs (if any above), as cwatch's closing "
             "warning names them (record type and reason): " +
             ("; ".join(f"`{x}`" for x in why[:6]) if why else "none named") + ".")
    L.append("- mallocbench, both variants: the work is 0.07-0.1 s on two threads, one a CPU, "
             "so any CPU cwatch itself takes while it runs lengthens it. cwatch used to "
             "read the symbols of every binary a launched target maps when it first saw the "
             "target (libc's from its debug file: 2-3 ms), and glibc's free, before it trims "
             "a thread's heap, opens /proc/sys/vm/overcommit_memory, which raised a file.open "
             "alert whose stack needed those symbols. Symbols are now read at the first frame "
             "that needs them and that open is on the default allow-list: cwatch's samples "
             "while mallocbench ran (perf, 5 kHz, 3 runs) went from 16-22 to 3-7.")
    L.append("- mallocbench-leak10, default mode: its two threads leak 1% of 2 M blocks, "
             "about 10,600 page faults and, as glibc grows the threads' arenas a page or a "
             "few at a time, 10,500 mprotect calls in 0.1 s. mprotect used to save its "
             "arguments at entry for its exit, which looked them up, deleted them and found "
             "the instance: four map operations a call that nothing used. Now its exit alone "
             "counts it and reads VmData with a plain load: 744 -> 254 ns a call "
             "(kernel.bpf_stats_enabled), and 1.089x -> 1.059x in CPU over 15 alternating "
             "triples (9d426fc against this tree). What is left: every syscall of every task "
             "takes the kernel's slow path while syscall tracepoints are attached; the two "
             "fault programs. `kmem:rss_stat`'s program took 160-168 ns a fault here "
             "(kernel.bpf_stats_enabled, five runs) while a thread's fault batches compared "
             "the counter's whole sum, which the other thread moves; comparing the CPU's own "
             "part, 103-108 ns. Both threads still update one target's counters from two "
             "CPUs (the cache line moves): per-CPU target counters, summed by user space, "
             "would take that off too; the run is also 0.1 s long, so one scheduling hiccup "
             "moves a pair by several percent.")
    L.append("- `--heap` ranks sites by first-touch page faults (`kmem:rss_stat`), not by "
             "allocations: mallocbench's leaked blocks become resident inside glibc's malloc "
             "(writing chunk headers), and Debian's glibc has no frame pointers, so a "
             "frame-pointer walk stops at the libc frame. `--heap` unwinds a copy of the stack "
             "with DWARF CFI by default (issue 5), which gets through glibc to the leaking "
             "caller (`work`). bpftrace's memleak.bt names `work` because it takes the stack in "
             "malloc's uretprobe, at a cost of two to three uprobe traps per malloc/free pair "
             "(the ratio above).")
    L.append("- Collector CPU with every mmap record printed (`--json --mmap-lines 0`): each "
             "record becomes a JSON line of about 150 bytes written to a file, so the figure "
             "is the formatting and the kernel's write path" + json_all_split(doc) + ". "
             "Measured apart on an Intel Xeon machine (3 alternating runs of 3.3 M records): "
             "0.88 s of cwatch CPU with the lines written to /dev/null against 1.30 s to an "
             "ext4 file, so the file's write path alone is about 0.13 us a line, more than "
             "the limit's share left after reading the ring; `dd` writes 500 MB to the same "
             "file system in 1.2 s of system time whatever the block size; formatting a line "
             "takes about 0.12 us (a loop of 3 M lines). By default "
             "`--json` prints a target's first 1,000 mmap lines a second and folds the rest "
             "into one `mmap_folded` line (counts and bytes by op), which meets the target; "
             "the interval figures and `--record` still count and keep every record. Printing "
             "every line at 0.1 us would need the write path gone: a binary stream, or "
             "`--record` (zlib chunks) read back with `cwatch replay --json`.")
    L.append("- Events lost at the producers' max rate: two producer threads saturate both "
             "CPUs, so the collector is starved; with --json the collector is slowest and the "
             "1 MiB ring overflows first. A larger `--ringbuf`, or summarizing mmap records "
             "in the kernel above a rate, would close it.")
    L.append("")
    L.append("## Results")
    L.append("")
    for s in doc["workloads"]:
        prog = s["id"].split()[0]
        unit = ("its own reported seconds (CLOCK_MONOTONIC around the work)"
                if s["metric"] == "reported" else
                f"user+sys CPU seconds of the {prog} process (wait4 by cpuwrap)")
        L.append(f"### {s['id']}")
        L.append("")
        if s["monitor"] == "bpftrace":
            L.append(f"Time compared: {unit}. Monitor: bpftrace `{s['script']}` "
                     "(`bpftrace SCRIPT -c CMD`); its CPU is in the \"monitor CPU\" rows; "
                     "\"events lost\" counts bpftrace's `Lost N events` messages.")
        else:
            env = " ".join(f"{k}={v}" for k, v in s.get("cwatch_env", {}).items())
            L.append(f"Time compared: {unit}. cwatch options: "
                     f"{'`' + ' '.join(s['cwatch_options']) + '`' if s['cwatch_options'] else 'default mode'}"
                     f"{f', environment `{env}`' if env else ''}; "
                     "runtime profiles cwatch attached (uprobes): "
                     + (", ".join(f"{k} in {v} of {s['pairs']} runs" for k, v in s["runtime_profiles_attached"].items())
                        or "none, tracepoints only") + ".")
        L.append("")
        L.append("| figure | value |")
        L.append("|---|---|")
        L.append(f"| ratio monitored/unmonitored, median (min-max), {s['pairs']} pairs | "
                 f"**{fmt_x(s['ratio_median'])}** ({fmt_x(s['ratio_min'])} - {fmt_x(s['ratio_max'])}) |")
        ci = s["ratio_median_ci95"]
        L.append(f"| 95% confidence interval of the median ratio (order statistics) | "
                 f"{'n/a (too few pairs)' if not ci else fmt_x(ci['low']) + ' - ' + fmt_x(ci['high'])} |")
        L.append(f"| pairs where the monitored run was slower | {s['pairs_monitored_slower']} of {s['pairs']} |")
        L.append(f"| unmonitored time, median | {s['unmonitored_median_s']:.4f} s |")
        L.append(f"| monitored time, median | {s['monitored_median_s']:.4f} s |")
        if s["metric"] == "cpu":
            L.append(f"| of which user / sys (tick-sampled split, only the sum is exact), unmonitored | {s['unmonitored_user_median_s']:.4f} / {s['unmonitored_sys_median_s']:.4f} s |")
            L.append(f"| of which user / sys, monitored | {s['monitored_user_median_s']:.4f} / {s['monitored_sys_median_s']:.4f} s |")
        L.append(f"| wall time of the command, median, unmonitored / monitored | "
                 f"{s['unmonitored_wall_median_s']:.3f} / {s['monitored_wall_median_s']:.3f} s |")
        L.append(f"| events lost, all monitored runs (max in one run) | {s['events_lost_total']} ({s['events_lost_max']}) |")
        if "leak_site_ranks" in s:
            L.append(f"| rank of the leaking site (`work` in mallocbench) by bytes, per run | "
                     f"{', '.join('not listed' if r is None else str(r) for r in s['leak_site_ranks'])} "
                     f"(first in {s['leak_site_ranked_first']} of {len(s['leak_site_ranks'])}) |")
            L.append(f"| top site, last run (innermost frame first) | "
                     f"`{' <- '.join(s['top_site_frames_last_run'][:4]) or 'none'}`, "
                     f"{s['top_site_share_median'] * 100:.1f}% of sampled bytes (median) |")
        mon = "cwatch" if s["monitor"] == "cwatch" else "monitor (bpftrace)"
        L.append(f"| {mon} CPU per run, median (min-max) | {s['cwatch_cpu_median_s']:.3f} s "
                 f"({s['cwatch_cpu_min_s']:.3f} - {s['cwatch_cpu_max_s']:.3f}); "
                 f"user / sys {s['cwatch_user_median_s']:.2f} / {s['cwatch_sys_median_s']:.2f} s |")
        L.append(f"| {mon} CPU per second of its wall time, median | {s['cwatch_cpu_per_wall_s_median'] * 1000:.1f} ms/s |")
        st = s["cwatch_cpu_per_watched_s_above_fixed_median"]
        if s["monitor"] == "cwatch":
            L.append(f"| cwatch CPU per watched second above the fixed cost, median (estimate) | "
                     f"{f'n/a (under {MIN_WATCHED_S:g} s watched: the fixed cost is most of it)' if st is None else f'{st * 1000:.1f} ms/s'} |")
            L.append(f"| seconds watched (summary duration_s), median | {s['cwatch_duration_median_s']:.3f} s |")
        else:
            L.append(f"| bpftrace wall time, median (start-up and LLVM compile included) | {s['cwatch_duration_median_s']:.3f} s |")
        if "ns_per_fault_added_median" in s:
            L.append(f"| ns a fault (the workload's own figure), median, unmonitored / monitored | "
                     f"{s['ns_per_fault_unmonitored_median']:.0f} / {s['ns_per_fault_monitored_median']:.0f} ns |")
            L.append(f"| ns cwatch adds to a fault (per-pair difference), median | "
                     f"**{s['ns_per_fault_added_median']:.0f} ns** |")
        if "leaked_bytes" in s and "ns_per_fault_added_median" not in s:
            L.append(f"| leaked_bytes reported (every run) | {', '.join(str(x) for x in s['leaked_bytes'])} |")
        L.append("")
    b = doc["baseline"]
    L.append("### cwatch's fixed cost")
    L.append("")
    L.append(f"`cwatch run --json --interval 1 -- /bin/true`, one run per pair index ({len(b['runs'])} runs): "
             f"CPU median {b['cpu_median_s']:.3f} s (min-max {b['cpu_min_s']:.3f} - {b['cpu_max_s']:.3f}), "
             f"wall median {b['wall_median_s']:.3f} s, events lost {b['events_lost_total']}. "
             "This is load, attach, detach and exit; it is paid once per run, so it dominates "
             "the per-second figure of the short mallocbench runs. The \"above the fixed cost\" "
             "row subtracts it and divides by the seconds actually watched.")
    L.append("")
    cap = doc.get("capacity")
    if cap:
        L.append("### Capacity: event rate against events lost, collector CPU")
        L.append("")
        L.append("`manyinstances --mmaps-per-sec R --threads T` maps and unmaps 1 MiB regions "
                 "R times a second (0: as fast as it can): each mmap and each munmap is one "
                 "record in cwatch's ring buffer (`--mmap-min` is 1 MiB), so the event rate is "
                 "twice the mapping rate. Each row is one run under `cwatch run`; CPU is "
                 "cwatch's own from /proc (schedstat of the zombie), and the per-record figure "
                 f"subtracts the fixed cost ({cap['baseline_cpu_s']:.3f} s, the median of the "
                 "/bin/true runs) and divides by the summary's `records`. Output `json all` "
                 "(`--json --mmap-lines 0`) prints every mmap record as a JSON line (to a "
                 "file); `json` is `--json` as it comes: a target's first 1,000 mmap lines a "
                 "second are printed and the rest folded into `mmap_folded` lines; in table "
                 "mode records are only counted.")
        L.append("")
        L.append("| mappings/s asked | threads | ring | output | events/s produced | records | events lost | cwatch CPU | of which user / sys (tick-sampled) | us/record above fixed cost |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in cap["runs"]:
            split = (f"{r['cwatch_user_s']:.2f} / {r['cwatch_sys_s']:.2f} s"
                     if "cwatch_user_s" in r else "n/a")
            L.append(f"| {r['mmaps_per_sec_asked'] or 'max'} | {r['threads']} | {r['ringbuf']} | "
                     f"{out_mode(r)} | {r['events_per_sec_produced']:,.0f} | "
                     f"{r['records']} | {r['events_lost']} | {r['cwatch_cpu_s']:.3f} s | "
                     f"{split} | {r['us_per_record_above_fixed']} |")
        L.append("")
    rss = doc.get("rss")
    if rss:
        L.append("### Agent memory at 1,000 instances")
        L.append("")
        L.append("`manyinstances --instances N --rounds-per-sec 2 --seconds 6` under "
                 "`cwatch run --json --profile scripts/bench/manyinstances.yaml`: N instances "
                 "created through the hook functions the profile probes, each called twice a "
                 "second. The bench read `/proc/<cwatch pid>/status` every 50 ms while it ran.")
        L.append("")
        L.append("| instances | tracked (summary) | calls | cwatch VmRSS peak | VmHWM | records | events lost |")
        L.append("|---|---|---|---|---|---|---|")
        for r in rss["runs"]:
            L.append(f"| {r['instances_asked']} | {r['instances_tracked']} | {r['calls']} | "
                     f"{r['vmrss_peak_bytes'] / 2**20:.1f} MiB | {r['vmhwm_bytes'] / 2**20:.1f} MiB | "
                     f"{r['records']} | {r['events_lost']} |")
        L.append("")
    det = doc.get("detect")
    if det:
        L.append("### Time to detect a 1 MiB/s leak")
        L.append("")
        L.append("`manyinstances --instances 4 --rounds-per-sec 50 --leak-bytes-per-sec 1048576` "
                 "under `cwatch run --json --profile scripts/bench/manyinstances.yaml`: instance "
                 "1 (`leaker`) keeps 20 KiB a call, 50 calls a second, from its first call on; "
                 "the other three hold nothing. Time to detect: the `t` of the first `verdict` "
                 "with rule `leak.instance` for instance 1 (or `leak.target`) minus the `t` of "
                 "the leaker's `instance_new`. The bench ends the host once a verdict is out.")
        L.append("")
        L.append("| run | rule | seconds to verdict | rate in the verdict | leak verdicts on healthy instances |")
        L.append("|---|---|---|---|---|")
        for k, r in enumerate(det["runs"]):
            L.append(f"| {k + 1} | {r['rule']} | {r['seconds_to_verdict']} | "
                     f"{r['rate_bytes_per_second']} B/s | {r['false_verdicts']} |")
        L.append("")
    if doc.get("skipped") or doc.get("notes"):
        L.append("### Skipped")
        L.append("")
        L.append("Sections skipped in this session: "
                 + (", ".join(doc["skipped"]) or "none") + ". "
                 + " ".join(doc.get("notes", [])))
        L.append("")
    L.append("## Commands")
    L.append("")
    L.append("Run from the repository root; each workload alternates the two commands "
             "pair by pair (A-B, B-A, ...), and the workloads take turns within a pair "
             "index, after one baseline run that opens each pair index. "
             f"{doc['settle_s']} s pause after every run. One discarded warm-up run of "
             "each mallocbench command in both modes comes first. The binaries are named "
             "by their build/ path; the bench copied them to a temporary folder at the start "
             "and ran the copies (sha256 in results.json), so a rebuild during the session "
             "could not mix two versions. `$TMP/cpu.json` is a fresh file per run.")
    L.append("")
    L.append("```")
    for wid, c in doc["commands"].items():
        for mode, text in c.items():
            L.append(f"# {wid}, {mode}")
            L.append(text)
    L.append("```")
    L.append("")
    L.append("## How the figures are taken")
    L.append("")
    L.append("- mallocbench: the time is the `seconds` it prints itself, measured with "
             "CLOCK_MONOTONIC from the moment all its threads are ready to the moment the "
             "last is done, so neither process start nor cwatch's attach is counted.")
    L.append("- demo_host runs for a fixed 4 s, so its wall time says nothing; its CPU does. "
             "Under `cwatch run -- CMD` the workload is cwatch's child, not ours, and "
             "whether cwatch reaps it before exiting decides whose rusage holds its CPU. So "
             "both modes run it behind the same small wrapper (`scripts/bench.py cpuwrap`), "
             "which spawns demo_host, reaps it with wait4 and writes its user+sys CPU "
             "(microsecond resolution) to a file. The wrapper's own CPU is not counted; "
             "cwatch follows it too (children of targets are followed), so demo_host is "
             "watched from its first instruction.")
    L.append("- cwatch's default mode (`--runtime auto`) picks a runtime profile by what a "
             "target maps. Where one matches (demo_host has the built-in `demo` profile) it "
             "adds uprobes on the runtime's instance and call functions to the tracepoints; "
             "each table says what was attached. `demo_host --runtime none`, where present, "
             "is the same comparison with tracepoints only: its monitored runs alternate "
             "with the default-mode ones around one shared unmonitored run (A-B-C, C-B-A, "
             "...), so the difference between the two is the uprobes' share.")
    L.append("- cwatch's own CPU: the bench waits for cwatch with `waitid(WNOWAIT)`, reads "
             "the zombie's `/proc/PID/schedstat` (run time in ns; cwatch is one thread) and "
             "`/proc/PID/stat` (user/sys split in 10 ms ticks), then reaps it. So the figure "
             "is cwatch's alone, never its child's. Events lost and seconds watched come from "
             "the `summary` line of `--json`.")
    L.append("")
    L.append("## How to read this")
    L.append("")
    L.append("Each ratio divides a monitored run by the unmonitored run next to it, taken "
             "seconds apart in the same session, so the machine's state is as alike as it "
             "gets for the two; the median of the ratios is the headline, and min-max shows "
             "how far single pairs stray. This is a noisy, shared machine with "
             f"{m['nproc']} CPUs: other jobs come and go, and a mallocbench run lasts only "
             "about a tenth of a second, so one pair can be off by tens of percent either "
             "way (ratios below 1 are noise, not speed-ups). Compare medians, and rerun "
             "with more pairs (`BENCH_PAIRS=N make bench`) before trusting a difference of "
             "a few percent. With 2 CPUs, mallocbench's two busy threads and cwatch's "
             "collector compete for the same cores, so any collector work shows up in the "
             "workload's time directly.")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def ratio_target(s, limit, what):
    """A median-ratio target for workload summary s, with its verdict."""
    r = s["ratio_median"]
    ci = s["ratio_median_ci95"]
    met = r <= limit
    margin = limit - r
    if not ci:
        sure = "too few pairs for a confidence interval"
    elif ci["high"] <= limit or ci["low"] > limit:
        sure = "the whole 95% interval agrees"
    else:
        sure = "the 95% interval straddles the limit: not conclusive"
    return {"name": f"{what} <= {limit:.2f}x on {s['id'].split()[0]} (median ratio)",
            "limit": limit, "value": r, "met": met,
            "measured": (f"{fmt_x(r)}, 95% CI " + (f"{fmt_x(ci['low'])} - {fmt_x(ci['high'])}" if ci else "n/a")
                         + f", range {fmt_x(s['ratio_min'])} - {fmt_x(s['ratio_max'])}, {s['pairs']} pairs"),
            "margin": (f"{margin:.3f}x under the limit" if met
                       else f"{-margin:.3f}x over the limit") + f"; {sure}"}


def targets(doc):
    """The issue's targets, each with a verdict and its margin."""
    out = []
    for s in doc["workloads"]:
        if s["monitor"] != "cwatch" or not s.get("target_ratio"):
            continue
        what = "cwatch " + (" ".join(s["cwatch_options"]) or "default mode")
        t = ratio_target(s, s["target_ratio"], what)
        if "leak_site_ranks" in s:
            n, k = len(s["leak_site_ranks"]), s["leak_site_ranked_first"]
            t["name"] += ", leaking site ranked first"
            t["measured"] += (f"; leaking site first in {k} of {n} runs (ranks "
                              f"{', '.join('-' if r is None else str(r) for r in s['leak_site_ranks'])}); "
                              f"top site `{' <- '.join(s['top_site_frames_last_run'][:2])}`")
            if k * 2 <= n:
                t["margin"] = ("overhead part " + ("met, " if t["met"] else "MISSED, ") + t["margin"]
                               + "; ranking part MISSED: the top site is not the leaking one")
            t["met"] = t["met"] and k * 2 > n
        out.append(t)
    mons = [s for s in doc["workloads"] if s["monitor"] == "cwatch"]
    lost = sum(s["events_lost_total"] for s in mons) + doc["baseline"]["events_lost_total"]
    runs = sum(s["pairs"] for s in mons) + len(doc["baseline"]["runs"])
    out.append({"name": "events lost = 0 (every paired cwatch run)", "limit": TARGET_LOST,
                "value": lost, "met": lost <= TARGET_LOST,
                "measured": f"{lost} lost over {runs} monitored runs",
                "margin": "none lost" if lost == 0 else f"{lost} over"})
    cap = doc.get("capacity")
    if cap:
        one_mib = [r for r in cap["runs"] if r["ringbuf"].startswith("1M")]
        top = max(one_mib, key=lambda r: r["events_per_sec_produced"])
        lost1 = sum(r["events_lost"] or 0 for r in one_mib)
        small = [r for r in cap["runs"] if not r["ringbuf"].startswith("1M") and r["events_lost"]]
        out.append({"name": "no event lost below the producers' max rate, 1 MiB ring",
                    "limit": 0, "value": lost1, "met": lost1 == 0,
                    "measured": (f"{lost1} lost over {len(one_mib)} runs up to "
                                 f"{top['events_per_sec_produced']:,.0f} events/s "
                                 f"(the fixture's max, {top['threads']} threads)"
                                 + (f"; smaller rings lose: " + ", ".join(
                                     f"{r['ringbuf']} B lost {r['events_lost']} at "
                                     f"{r['events_per_sec_produced']:,.0f}/s" for r in small)
                                    if small else "")),
                    "margin": ("no loss at the highest rate the producer reached"
                               if lost1 == 0 else f"{lost1} events lost")})
        modes = {"table": ("table mode", "table mode, records counted and aggregated, not printed"),
                 "json": ("--json", "--json as it comes: 1,000 mmap lines a second per target "
                          "printed, the rest folded into mmap_folded lines"),
                 "json all": ("--json --mmap-lines 0", "every mmap record printed as a JSON line")}
        for js_mode, (label, mode) in modes.items():
            rows = [r for r in one_mib if out_mode(r) == js_mode and r["mmaps_per_sec_asked"] == 0
                    and r["records"]]
            if not rows:
                continue
            top = max(rows, key=lambda r: r["records"])
            v = top["us_per_record_above_fixed"]
            total = top["cwatch_cpu_s"] / top["records"] * 1e6
            out.append({"name": f"collector CPU <= {TARGET_US_PER_EVENT} us/event ({label})",
                        "limit": TARGET_US_PER_EVENT, "value": v,
                        "met": v <= TARGET_US_PER_EVENT,
                        "measured": (f"{v:.3f} us/record above the fixed cost ({total:.3f} us/record "
                                     f"with it) over {top['records']:,} records at "
                                     f"{top['events_per_sec_produced']:,.0f} events/s; {mode}"),
                        "margin": (f"{TARGET_US_PER_EVENT - v:.3f} us under" if v <= TARGET_US_PER_EVENT
                                   else f"{v - TARGET_US_PER_EVENT:.3f} us over ({v / TARGET_US_PER_EVENT:.0f}x the limit)")})
    det = doc.get("detect")
    if det:
        m = det["median_s"]
        out.append({"name": f"leak verdict within {TARGET_DETECT_S:g} s of a 1 MiB/s leak's start",
                    "limit": TARGET_DETECT_S, "value": m,
                    "met": m is not None and det["max_s"] <= TARGET_DETECT_S and det["detected"] == len(det["runs"]),
                    "measured": (f"median {m:.2f} s, max {det['max_s']:.2f} s over {det['detected']} of "
                                 f"{len(det['runs'])} runs detected" if m is not None else "no verdict"),
                    "margin": (f"{TARGET_DETECT_S - det['max_s']:.1f} s to spare (worst run)"
                               if m is not None and det["max_s"] <= TARGET_DETECT_S
                               else "missed")})
    rss = doc.get("rss")
    if rss:
        big = max(rss["runs"], key=lambda r: r["instances_asked"])
        v = big["vmrss_peak_bytes"]
        out.append({"name": "cwatch RSS <= 64 MiB at 1,000 instances",
                    "limit": TARGET_RSS_BYTES, "value": v, "met": 0 < v <= TARGET_RSS_BYTES,
                    "measured": (f"VmRSS peak {v / 2**20:.1f} MiB with {big['instances_tracked']} "
                                 f"instances tracked (VmHWM {big['vmhwm_bytes'] / 2**20:.1f} MiB)"),
                    "margin": (f"{(TARGET_RSS_BYTES - v) / 2**20:.1f} MiB under" if v <= TARGET_RSS_BYTES
                               else f"{(v - TARGET_RSS_BYTES) / 2**20:.1f} MiB over")})
    return out


def main_run(args):
    """The bench proper: run, summarize, write both result files."""
    if os.geteuid() != 0:
        print("bench: error: cwatch loads BPF programs: run as root", file=sys.stderr)
        return 1
    build = os.path.relpath(os.path.abspath(args.build))
    for p in ("cwatch", "fixtures/mallocbench", "fixtures/demo_host"):
        if not os.access(os.path.join(build, p), os.X_OK):
            print(f"bench: error: {os.path.join(build, p)} is missing: run make all",
                  file=sys.stderr)
            return 1
    os.makedirs(args.out, exist_ok=True)
    previous = previous_run(os.path.join(args.out, "results.json"))

    def log(msg):
        print(f"bench: [{time.monotonic() - t0:6.1f} s] {msg}", flush=True)

    t0 = time.monotonic()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    la0 = loadavg()
    with tempfile.TemporaryDirectory(prefix="cwatch-bench-") as tmp:
        skip = [x for x in (args.skip or "").replace(",", " ").split() if x]
        bad = [x for x in skip if x not in SECTIONS]
        if bad:
            print(f"bench: error: unknown section(s) to skip: {' '.join(bad)} "
                  f"(known: {' '.join(SECTIONS)})", file=sys.stderr)
            return 2
        b = Bench(build, args.pairs, tmp, skip, args.bpftrace_pairs)
        for n in b.notes:
            log(f"note: {n}")
        if b.bpftrace:
            # memleak.bt keeps every live block: room for mallocbench's leaks
            os.environ.setdefault("BPFTRACE_MAP_KEYS_MAX", "131072")
        version = first_line([b.cwatch, "version"])
        extra = {}
        try:
            base, runs = b.session(log)
            bcpu0 = med([r["cwatch_cpu_s"] for r in base])
            if "capacity" not in b.skip:
                extra["capacity"] = capacity_section(b, bcpu0, log)
            if "rss" not in b.skip:
                extra["rss"] = rss_section(b, log)
            if "detect" not in b.skip:
                extra["detect"] = detect_section(b, log)
        except BenchError as e:
            print(f"bench: error: {e}", file=sys.stderr)
            return 1
    bcpu = [r["cwatch_cpu_s"] for r in base]
    baseline = {"runs": base, "cpu_median_s": med(bcpu), "cpu_min_s": min(bcpu),
                "cpu_max_s": max(bcpu),
                "wall_median_s": med([r["wall_s"] for r in base]),
                "duration_median_s": med([r["cwatch_duration_s"] for r in base]),
                "events_lost_total": sum(r["events_lost"] for r in base)}
    doc = {
        "SPDX-License-Identifier": "GPL-2.0 OR BSD-2-Clause",
        "schema": 1,
        "date": date,
        "build": build,
        "cwatch_version": version,
        "git": first_line(["git", "describe", "--always", "--dirty"]),
        "machine": machine(),
        "loadavg_start": la0,
        "loadavg_end": loadavg(),
        "pairs": args.pairs,
        "settle_s": SETTLE_S,
        "sha256": b.sha256,
        "commands": command_lines(b),
        "baseline": baseline,
        "workloads": [summarize(w, runs[w["id"]], baseline["cpu_median_s"],
                                baseline["duration_median_s"]) for w in b.workloads],
        "skipped": sorted(b.skip),
        "notes": b.notes,
        "runs": runs,
    }
    doc.update(extra)
    doc["targets"] = targets(doc)
    if previous:
        doc["previous"] = previous
    doc["elapsed_s"] = round(time.monotonic() - t0, 1)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    write_md(os.path.join(args.out, "results.md"), doc)
    for s in doc["workloads"]:
        log(f"{s['id']:<19} ratio median {fmt_x(s['ratio_median'])} "
            f"({fmt_x(s['ratio_min'])} - {fmt_x(s['ratio_max'])}), "
            f"lost {s['events_lost_total']}, cwatch CPU {s['cwatch_cpu_median_s']:.3f} s/run")
    for t in doc["targets"]:
        log(f"target: {t['name']}: {t['measured']}: {'met' if t['met'] else 'MISSED'}, {t['margin']}")
    log(f"wrote {args.out}/results.md and {args.out}/results.json")
    return 0


def main_render(args):
    """Recompute the targets and rewrite results.md from a results.json."""
    with open(args.json) as f:
        doc = json.load(f)
    doc["targets"] = targets(doc)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    write_md(os.path.join(os.path.dirname(args.json) or ".", "results.md"), doc)
    return 0


def main():
    """Dispatch the commands."""
    if len(sys.argv) >= 2 and sys.argv[1] == "cpuwrap":
        if len(sys.argv) < 5 or sys.argv[3] != "--":
            print("usage: bench.py cpuwrap FILE -- CMD [ARG...]", file=sys.stderr)
            return 2
        cpuwrap(sys.argv[2], sys.argv[4:])
    ap = argparse.ArgumentParser(prog="bench.py", description="cwatch overhead bench")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the paired bench and write the results")
    r.add_argument("--build", required=True, help="build output folder (cwatch, fixtures/)")
    r.add_argument("--out", required=True, help="where results.md and results.json go")
    r.add_argument("--pairs", type=int, default=7, help="pairs per workload (default 7)")
    r.add_argument("--bpftrace-pairs", type=int, default=5,
                   help="pairs of the bpftrace comparisons (default 5, at most --pairs)")
    r.add_argument("--skip", default="", help=f"sections to skip, comma-separated: {','.join(SECTIONS)}")
    rr = sub.add_parser("render", help="rewrite results.md (and the targets) from results.json")
    rr.add_argument("json", help="a results.json written by run")
    args = ap.parse_args()
    if args.cmd == "render":
        return main_render(args)
    if args.pairs < 1:
        ap.error("--pairs must be at least 1")
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
