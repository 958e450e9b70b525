# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Bad input: one clear line on stderr, nothing on stdout, exit 1 (2 for usage)."""

import os
import shutil
import subprocess
import time

import cw
import util


def test_unknown_pid(env):
    # pid_max is at most 2^22: this pid cannot exist
    res = cw.run(env, ["run", "--pid", "4194304"])
    cw.one_error_line(res, 1, "no live process with pid 4194304")


def test_zombie_pid_is_not_a_target(env):
    """A process that has exited but is not reaped yet has nothing to watch."""
    child = subprocess.Popen(["true"])
    assert util.wait_for(lambda: open(f"/proc/{child.pid}/stat").read().split()[2] == "Z", 5)
    try:
        res = cw.run(env, ["run", "--pid", str(child.pid)])
        cw.one_error_line(res, 1, f"no live process with pid {child.pid}")
    finally:
        child.wait()


def test_pid_exiting_during_attach(env):
    """Targets that die while the probes load: a clean error or a clean exit, never a hang."""
    util.need_root()
    outcomes = set()
    for delay in ("0.05", "0.1", "0.2", "0.3", "0.4"):
        victim = subprocess.Popen(["sleep", delay])
        res = cw.run(env, ["run", "--json", "--pid", str(victim.pid)], timeout=30)
        victim.wait()
        if res.returncode == 0:
            # attached in time: the exit must have been seen
            t = cw.target(util.read_json_lines(res.stdout), victim.pid)
            assert t["state"] == "exited", t
            outcomes.add("watched")
        else:
            cw.one_error_line(res, 1, str(victim.pid))
            assert "exited while cwatch was attaching" in res.stderr or \
                "no live process" in res.stderr, res.stderr
            outcomes.add("refused")
    assert outcomes, "no outcome"


def test_usage_errors_exit_2(env):
    cases = [
        (["run", "--bogus"], "unknown option"),
        (["run", "--pid", "12x"], "--pid: '12x' is not a process id"),
        (["run", "--interval", "0", "--pid", "1"], "--interval"),
        (["run", "--duration", "soon", "--pid", "1"], "--duration"),
        (["run", "--ringbuf", "1000", "--pid", "1"], "power of two"),
        (["run", "--comm", "a-name-longer-than-15", "--pid", "1"], "--comm"),
        (["run", "--exe", "/nonexistent/binary"], "--exe: /nonexistent/binary"),
        (["run", "--mmap-lines", "-1", "--pid", "1"], "--mmap-lines: '-1' is not a number"),
        (["replay", "--mmap-lines", "lots", "x.cwr"], "--mmap-lines: 'lots' is not a number"),
        (["run"], "no target"),
        (["frobnicate"], "unknown command 'frobnicate'"),
    ]
    for args, text in cases:
        res = cw.run(env, args)
        cw.one_error_line(res, 2, text)


def test_command_that_cannot_run(env):
    util.need_root()
    res = cw.run(env, ["run", "--", "/nonexistent/contract-host"])
    cw.one_error_line(res, 1, "cannot run /nonexistent/contract-host: No such file")


def test_not_root(env):
    """Without CAP_BPF/CAP_PERFMON: a clear line, not a libbpf dump."""
    util.need_root()
    if not shutil.which("setpriv"):
        raise util.Skip("setpriv (util-linux) missing")
    res = util.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    env.cwatch, "run", "--pid", str(os.getpid())], 30)
    cw.one_error_line(res, 1, "needs root, or CAP_BPF and CAP_PERFMON")


def in_private_mounts(script, args):
    """Run `sh -c SCRIPT` in a private mount namespace, then cwatch ARGS."""
    return util.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                     script + ' && exec "$@"', "sh", *args], 30)


def test_no_btf(env):
    """A kernel without /sys/kernel/btf/vmlinux (hidden in a private mount namespace)."""
    util.need_root()
    res = in_private_mounts("mount -t tmpfs none /sys/kernel/btf",
                            [env.cwatch, "run", "--pid", str(os.getpid())])
    cw.one_error_line(res, 1, "no kernel BTF at /sys/kernel/btf/vmlinux")


def test_tracefs_missing_and_not_mountable(env):
    """tracefs unmounted, and no CAP_SYS_ADMIN to mount it."""
    util.need_root()
    script = ("umount /sys/kernel/debug/tracing 2>/dev/null; "
              "umount /sys/kernel/tracing 2>/dev/null; "
              "umount /sys/kernel/debug 2>/dev/null; "
              "! test -e /sys/kernel/tracing/events")
    res = in_private_mounts(script, ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin",
                                     env.cwatch, "run", "--pid", str(os.getpid())])
    cw.one_error_line(res, 1, "tracefs is not mounted and mounting it on /sys/kernel/tracing "
                              "failed: Operation not permitted")


def test_tracefs_mounted_when_absent(env):
    """tracefs unmounted but mountable: cwatch mounts it, says so, and works."""
    util.need_root()
    script = ("umount /sys/kernel/debug/tracing 2>/dev/null; "
              "umount /sys/kernel/tracing 2>/dev/null; "
              "umount /sys/kernel/debug 2>/dev/null; "
              "! test -e /sys/kernel/tracing/events")
    res = in_private_mounts(script, [env.cwatch, "run", "--json", "--", "true"])
    assert res.returncode == 0, res.stderr
    assert "mounted tracefs on /sys/kernel/tracing" in res.stderr, res.stderr
    assert cw.summary(util.read_json_lines(res.stdout))["targets"] >= 1


def test_signal_stops_cleanly_with_summary(env):
    """SIGINT: exit 0 and a final summary, the target still running."""
    util.need_root()
    fx = util.spawn([cw.fixture(env, "memthreads"), "--mib", "8", "--threads", "1",
                     "--hold", "30"])
    mon = cw.start(env, ["run", "--json", "--interval", "0.2", "--pid", str(fx.pid)])
    cw.read_until(mon, lambda o: o.get("type") == "interval", 15)
    t0 = time.monotonic()
    rc, objs, err = cw.finish(mon, sig=2)
    assert rc == 0, err
    assert time.monotonic() - t0 < 5, "SIGINT must stop cwatch promptly"
    t = cw.target(objs, fx.pid)
    assert t["state"] == "running" and t["rss_peak_bytes"] >= 8 * cw.MIB, t
    fx.kill()


CAPS = "+bpf,+perfmon,+sys_ptrace,+dac_read_search"


def test_least_privilege_capabilities(env):
    """As nobody with the systemd unit's four capabilities: it watches a root process."""
    util.need_root()
    if not shutil.which("setpriv"):
        raise util.Skip("setpriv (util-linux) missing")
    fx = util.spawn([cw.fixture(env, "memthreads"), "--mib", "8", "--threads", "1",
                     "--hold", "4"])
    time.sleep(0.3)

    def as_nobody(caps):
        return util.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         f"--inh-caps={caps}", f"--ambient-caps={caps}", env.cwatch, "run",
                         "--json", "--pid", str(fx.pid), "--duration", "1"], 60)

    res = as_nobody(CAPS)
    assert res.returncode == 0, res.stderr
    t = cw.target(util.read_json_lines(res.stdout), fx.pid)
    assert t["rss_peak_bytes"] >= 8 * cw.MIB, t
    # without reading other processes' /proc files and root-only tracefs: one clear line
    res = as_nobody("+bpf,+perfmon")
    assert res.returncode == 1, res.stderr
    assert len([l for l in res.stderr.splitlines() if l.strip()]) == 1, res.stderr
    fx.kill()
