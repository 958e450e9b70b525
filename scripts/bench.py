# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""What cwatch costs the program it watches: paired runs, side by side.

    bench.py run --build DIR --out DIR [--pairs N]
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
TARGET_LOST = 0             # the issue: no events lost
RUN_TIMEOUT_S = 120


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


def spawn_measured(argv, stdout_path, stderr_path):
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
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
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

    def __init__(self, build, pairs, tmp):
        self.build = build
        self.pairs = pairs
        self.tmp = tmp
        self.serial = 0
        # Run copies, not build/ itself: a rebuild by someone else during the
        # session must not swap binaries between the runs being compared.
        self.bindir = os.path.join(tmp, "bin")
        self.sha256 = {}
        os.makedirs(os.path.join(self.bindir, "fixtures"))
        for rel in ("cwatch", "fixtures/mallocbench", "fixtures/demo_host"):
            dst = os.path.join(self.bindir, rel)
            shutil.copy2(os.path.join(build, rel), dst)
            with open(dst, "rb") as f:
                self.sha256[os.path.join(build, rel)] = hashlib.sha256(f.read()).hexdigest()
        self.cwatch = os.path.join(self.bindir, "cwatch")
        self.fixtures = os.path.join(self.bindir, "fixtures")
        me = os.path.relpath(os.path.abspath(__file__))
        mb = os.path.join(self.fixtures, "mallocbench")
        dh = os.path.join(self.fixtures, "demo_host")
        self.monitor = [self.cwatch, "run", "--json", "--interval", "1"]
        dh_argv = [sys.executable, me, "cpuwrap", "{CPUFILE}", "--",
                   dh, "--seconds", "4", "--quiet"]
        # A workload is one comparison: unmonitored argv against argv under
        # cwatch's default mode plus opts. Comparisons of one group share
        # their unmonitored run. metric "reported": the workload's own
        # "seconds"; "cpu": user+sys CPU of the workload as cpuwrap saw it.
        self.workloads = [
            {"id": "mallocbench", "group": "mallocbench", "metric": "reported",
             "argv": [mb], "opts": []},
            {"id": "mallocbench-leak10", "group": "mallocbench-leak10",
             "metric": "reported", "argv": [mb, "--leak-permille", "10"], "opts": []},
            {"id": "demo_host", "group": "demo_host", "metric": "cpu",
             "argv": dh_argv, "opts": []},
        ]
        # cwatch picks a runtime profile by what the target maps, and the demo
        # host has one: the same runs with --runtime none split the uprobes'
        # share from the tracepoints'. Skipped by a cwatch without the option.
        if "--runtime=" in first_line_matching([self.cwatch, "run", "--help"], "--runtime="):
            self.workloads.append(
                {"id": "demo_host --runtime none", "group": "demo_host", "metric": "cpu",
                 "argv": dh_argv, "opts": ["--runtime", "none"]})

    def _argv(self, w, monitored, cpufile):
        """The command line of one run of workload w."""
        argv = [cpufile if a == "{CPUFILE}" else a for a in w["argv"]]
        return self.monitor + w["opts"] + ["--"] + argv if monitored else argv

    def run_once(self, w, monitored):
        """One run of workload w; returns its record, raises BenchError."""
        self.serial += 1
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", w["id"] if monitored else w["group"])
        base = os.path.join(self.tmp, f"{self.serial:04d}-{name}-{'mon' if monitored else 'raw'}")
        cpufile = base + ".cpu.json"
        argv = self._argv(w, monitored, cpufile)
        code, wall, cpu = spawn_measured(argv, base + ".out", base + ".err")
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
        if monitored:
            rec.update(self._cwatch_figures(what, lines, cpu, base))
            rec["runtime_profiles"] = attached_profiles(lines, base + ".err")
        return rec

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
        log("warm-up: one discarded run of each mallocbench workload, both modes")
        for w in self.workloads:
            if w["metric"] == "reported":
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
            for comps in groups.values():
                # A is the unmonitored run; A-B, B-A, ... (A-B-C, C-B-A, ...)
                seq = [None] + comps
                if p % 2:
                    seq.reverse()
                order = "-".join("ABCDEFGH"[([None] + comps).index(x)] for x in seq)
                recs = {}
                for x in seq:
                    w = x or comps[0]
                    recs[x["id"] if x else None] = self.run_once(w, x is not None)
                    time.sleep(SETTLE_S)
                for w in comps:
                    pair = {"order": order, "raw": recs[None], "mon": recs[w["id"]]}
                    pair["ratio"] = pair["mon"]["time_s"] / pair["raw"]["time_s"]
                    runs[w["id"]].append(pair)
                    log(f"pair {p + 1}/{self.pairs} {w['id']:<24} {order:<5} "
                        f"raw {pair['raw']['time_s']:.4f} s  mon {pair['mon']['time_s']:.4f} s  "
                        f"ratio {pair['ratio']:.3f}  lost {pair['mon']['events_lost']}")
        return base, runs


def attached_profiles(lines, path):
    """The runtimes cwatch attached uprobes for in one run.

    Two witnesses, either suffices: the "runtime" field of its JSON records
    (instances and contracts), and its log line "... runs NAME: N probes
    attached (profile ...)" on stderr.
    """
    found = {o["runtime"] for o in lines
             if isinstance(o.get("runtime"), str) and o["runtime"] not in ("", "none")}
    try:
        with open(path) as f:
            for line in f:
                m = re.search(r"runs (\S+): .*probes attached", line)
                if m:
                    found.add(m.group(1))
    except OSError:
        pass
    return sorted(found)


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
              for m in mons if m["cwatch_duration_s"] - base_dur >= MIN_WATCHED_S]
    profiles = {}
    for m in mons:
        for name in m["runtime_profiles"]:
            profiles[name] = profiles.get(name, 0) + 1
    s = {
        "id": w["id"],
        "metric": w["metric"],
        "cwatch_options": w["opts"],
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
    ci = median_ci(ratios)
    if ci:
        s["ratio_median_ci95"] = {"low": ci[0], "high": ci[1], "coverage": round(ci[2], 4)}
    if w["metric"] == "reported":
        leaks = {p[k]["leaked_bytes"] for p in pairs for k in ("raw", "mon")}
        s["leaked_bytes"] = sorted(leaks)
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
        out[w["id"]] = {"unmonitored": show(b._argv(w, False, "$TMP/cpu.json")),
                        "monitored": show(b._argv(w, True, "$TMP/cpu.json"))}
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
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    for t in doc["targets"]:
        L.append(f"| {t['name']} | {t['measured']} | {'met' if t['met'] else 'MISSED'}, {t['margin']} |")
    L.append("")
    L.append("## Results")
    L.append("")
    for s in doc["workloads"]:
        unit = ("its own reported seconds (CLOCK_MONOTONIC around the work)"
                if s["metric"] == "reported" else
                "user+sys CPU seconds of the demo_host process (wait4 by cpuwrap)")
        L.append(f"### {s['id']}")
        L.append("")
        L.append(f"Time compared: {unit}. cwatch options: "
                 f"{'`' + ' '.join(s['cwatch_options']) + '`' if s['cwatch_options'] else 'default mode'}; "
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
        L.append(f"| cwatch CPU per run, median (min-max) | {s['cwatch_cpu_median_s']:.3f} s "
                 f"({s['cwatch_cpu_min_s']:.3f} - {s['cwatch_cpu_max_s']:.3f}); "
                 f"user / sys {s['cwatch_user_median_s']:.2f} / {s['cwatch_sys_median_s']:.2f} s |")
        L.append(f"| cwatch CPU per second of its wall time, median | {s['cwatch_cpu_per_wall_s_median'] * 1000:.1f} ms/s |")
        st = s["cwatch_cpu_per_watched_s_above_fixed_median"]
        L.append(f"| cwatch CPU per watched second above the fixed cost, median (estimate) | "
                 f"{f'n/a (under {MIN_WATCHED_S:g} s watched: the fixed cost is most of it)' if st is None else f'{st * 1000:.1f} ms/s'} |")
        L.append(f"| seconds watched (summary duration_s), median | {s['cwatch_duration_median_s']:.3f} s |")
        if "leaked_bytes" in s:
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


def targets(doc):
    """The issue's targets, each with a verdict and its margin."""
    out = []
    for s in doc["workloads"]:
        if s["metric"] != "reported":
            continue
        r = s["ratio_median"]
        ci = s["ratio_median_ci95"]
        met = r <= TARGET_RATIO
        margin = TARGET_RATIO - r
        if not ci:
            conclusive, sure = False, "too few pairs for a confidence interval"
        elif ci["high"] <= TARGET_RATIO or ci["low"] > TARGET_RATIO:
            conclusive, sure = True, "the whole 95% interval agrees"
        else:
            conclusive, sure = False, "the 95% interval straddles the limit: not conclusive"
        out.append({"name": f"default mode <= {TARGET_RATIO:.2f}x on {s['id']} (median ratio)",
                    "limit": TARGET_RATIO, "value": r, "met": met, "conclusive": conclusive,
                    "measured": (f"{fmt_x(r)}, 95% CI " + (f"{fmt_x(ci['low'])} - {fmt_x(ci['high'])}" if ci else "n/a")
                                 + f", range {fmt_x(s['ratio_min'])} - {fmt_x(s['ratio_max'])}"),
                    "margin": (f"{margin:.3f}x under the limit" if met
                               else f"{-margin:.3f}x over the limit") + f"; {sure}"})
    lost = sum(s["events_lost_total"] for s in doc["workloads"]) + doc["baseline"]["events_lost_total"]
    runs = sum(s["pairs"] for s in doc["workloads"]) + len(doc["baseline"]["runs"])
    out.append({"name": "events lost = 0 (every monitored run)", "limit": TARGET_LOST,
                "value": lost, "met": lost <= TARGET_LOST,
                "measured": f"{lost} lost over {runs} monitored runs",
                "margin": "none lost" if lost == 0 else f"{lost} over"})
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

    def log(msg):
        print(f"bench: [{time.monotonic() - t0:6.1f} s] {msg}", flush=True)

    t0 = time.monotonic()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    la0 = loadavg()
    with tempfile.TemporaryDirectory(prefix="cwatch-bench-") as tmp:
        b = Bench(build, args.pairs, tmp)
        version = first_line([b.cwatch, "version"])
        try:
            base, runs = b.session(log)
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
        "runs": runs,
    }
    doc["targets"] = targets(doc)
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


def main():
    """Dispatch the two commands."""
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
    r.add_argument("--pairs", type=int, default=12, help="pairs per workload (default 12)")
    args = ap.parse_args()
    if args.pairs < 1:
        ap.error("--pairs must be at least 1")
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
