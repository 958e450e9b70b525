# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Recordings: a replay prints what the live run printed; damaged files say where."""

import collections
import os
import signal
import struct
import time

import cw
import util

MIB = cw.MIB


def record(env, args, path, fixture):
    res = cw.run(env, ["run", *args, "--record", path, "--", *fixture], timeout=120)
    assert res.returncode == 0, res.stderr
    return res


def replay(env, path, *args):
    return cw.run(env, ["replay", *args, path], timeout=60)


def test_replay_json_is_identical(env):
    """wasmer host with --heap: every JSON line of the replay equals the live run's."""
    util.need_root()
    path = os.path.join(env.artifacts, "wasmer.cwr")
    live = record(env, ["--json", "--heap"], path, [cw.fixture(env, "wasmer_host")])
    mine = [l for l in live.stdout.splitlines() if l.startswith('{"type"')]
    res = replay(env, path, "--json")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == mine, "replay differs from the live run"
    assert any('"type":"instance_new"' in l for l in mine) and '"sites"' in mine[-1]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600", "recordings are the owner's"


def test_mmap_lines_past_the_quota_are_folded_and_replay_the_same(env):
    """--mmap-lines 100: at most 100 mmap lines a second; the rest add up in mmap_folded."""
    util.need_root()
    path = os.path.join(env.artifacts, "mmaps.cwr")
    live = record(env, ["--json", "--mmap-lines", "100"], path,
                  [cw.fixture(env, "manyinstances"), "--mmaps-per-sec", "5000",
                   "--threads", "1", "--seconds", "2"])
    objs = util.read_json_lines(live.stdout)
    truth = [o for o in objs if "type" not in o and "mmaps" in o]
    assert len(truth) == 1, live.stdout[-500:]
    pid = cw.summary(objs)["target_list"][0]["pid"]
    assert cw.summary(objs)["events_lost"] == 0
    shown = [o for o in cw.of_type(objs, "mmap") if o["pid"] == pid]
    folded = [o for o in cw.of_type(objs, "mmap_folded") if o["pid"] == pid]
    # the quota is per second of record time: no second of t holds more than
    # two quotas' worth (a quota second straddles two seconds of t)
    per_second = {}
    for o in shown:
        per_second[int(o["t"])] = per_second.get(int(o["t"]), 0) + 1
    assert max(per_second.values()) <= 200, per_second
    assert len(shown) <= 100 * (int(truth[0]["seconds"]) + 2), len(shown)
    for o in folded:
        assert o["lines"] == o["mmap"] + o["munmap"] + o["mremap"] > 0, o
        assert o["mmap_bytes"] >= o["mmap"] * MIB, o
    # every 1 MiB mapping the fixture made is one mmap and one munmap line,
    # printed or folded; the process's own few (its thread's stack) come on top
    told = len(shown) + sum(o["lines"] for o in folded)
    assert 2 * truth[0]["mmaps"] <= told <= 2 * truth[0]["mmaps"] + 20, \
        f"{told} lines told, fixture made {truth[0]['mmaps']} mappings"
    assert len(shown) < told / 10, "nothing was folded"
    res = replay(env, path, "--json", "--mmap-lines", "100")
    assert res.returncode == 0, res.stderr
    mine = [l for l in live.stdout.splitlines() if l.startswith('{"type"')]
    assert res.stdout.splitlines() == mine, "replay differs from the live run"


def test_replay_text_with_verdicts_is_identical(env):
    """The demo host long enough for its leak verdict: the same table, lines and summary."""
    util.need_root()
    path = os.path.join(env.artifacts, "demo.cwr")
    live = record(env, [], path, [cw.fixture(env, "demo_host"), "--seconds", "9", "--quiet"])
    mine = [l for l in live.stdout.splitlines() if not l.startswith("{")]
    res = replay(env, path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == mine
    assert "leak.instance" in res.stdout
    # filters: one instance, a window
    res = replay(env, path, "--json", "--instance", "1")
    ids = {cw_id for cw_id in (o.get("id") for o in util.read_json_lines(res.stdout)
                               if o["type"] in ("instance", "instance_new", "verdict")) if cw_id}
    assert ids == {1}, ids
    res = replay(env, path, "--json", "--from", "2", "--to", "4")
    ts = [o["t"] for o in util.read_json_lines(res.stdout) if o["type"] == "interval"]
    assert ts and min(ts) >= 2 and max(ts) <= 4, ts


def test_sigkill_mid_recording_replays_to_the_last_chunk(env):
    util.need_root()
    path = os.path.join(env.artifacts, "killed.cwr")
    mon = cw.start(env, ["run", "--json", "--record", path, "--",
                         cw.fixture(env, "demo_host"), "--seconds", "20", "--quiet"])
    # wait for two intervals to be on disk (each is flushed as it is taken)
    assert util.wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 3000, 20)
    time.sleep(2.5)
    mon.send_signal(signal.SIGKILL)
    mon.wait(10)
    size = os.path.getsize(path)
    res = replay(env, path, "--json")
    assert res.returncode == 0, res.stderr
    objs = util.read_json_lines(res.stdout)
    assert len(cw.of_type(objs, "interval")) >= 2, "the first seconds are there"
    assert cw.summary(objs)["targets"] >= 1
    # cut inside a chunk: read up to the last whole one, and say where it stops
    with open(path, "r+b") as f:
        f.truncate(size - 7)
    res = replay(env, path, "--json")
    assert res.returncode == 0, res.stderr
    assert "cut short" in res.stderr and "at offset " in res.stderr, res.stderr
    assert cw.summary(util.read_json_lines(res.stdout))["targets"] >= 1


def write(env, name, data):
    path = os.path.join(env.artifacts, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_bad_recordings_are_one_clear_error(env):
    util.need_root()
    good = os.path.join(env.artifacts, "good.cwr")
    record(env, ["--json"], good, [cw.fixture(env, "memthreads"), "--mib", "4", "--hold", "0.2"])
    with open(good, "rb") as f:
        data = bytearray(f.read())
    hdr = 8 + 4 + 4 + 8 + 8 + 4 + 4 + 16 * 32 + 4 + 4   # struct record_header
    json_len = struct.unpack_from("<I", data, 36)[0]
    chunk = hdr + json_len
    cases = []
    cases.append(("garbage", os.urandom(300), "at offset 0: not a cwatch recording"))
    cases.append(("empty", b"", "at offset 0: not a cwatch recording"))
    v = bytearray(data)
    struct.pack_into("<I", v, 8, 99)
    cases.append(("version", v, "at offset 8: recording format version 99"))
    c = bytearray(data)
    c[chunk + 40] ^= 0xFF   # a byte of compressed data
    cases.append(("corrupt", c, f"at offset {chunk}: damaged: chunk checksum mismatch"))
    h = bytearray(data)
    struct.pack_into("<I", h, chunk + 4, 0xFFFFFFFF)   # raw_len
    cases.append(("hostile", h, f"at offset {chunk}: damaged: chunk lengths out of range"))
    j = bytearray(data)
    struct.pack_into("<I", j, 36, 0x7FFFFFFF)   # json_len
    cases.append(("hostile-json", j, "at offset 12: header fields out of range"))
    for name, blob, msg in cases:
        res = replay(env, write(env, name + ".cwr", blob))
        lines = [l for l in res.stderr.splitlines() if l.strip()]
        assert res.returncode == 1, (name, res.returncode, res.stderr)
        assert len(lines) == 1 and msg in lines[0], (name, lines)
    res = replay(env, "/nonexistent.cwr")
    cw.one_error_line(res, 1, "/nonexistent.cwr: No such file or directory")


def test_rotation_keeps_every_part_replayable(env):
    util.need_root()
    path = os.path.join(env.artifacts, "rot.cwr")
    # 1500 short-lived children: targets, execs and exits that compress less well
    record(env, ["--record-max", "64K", "--interval", "0.2"], path,
           ["sh", "-c", "for i in $(seq 1500); do /bin/true; done"])
    parts = [path] + [f"{path}.{i}" for i in range(1, 50) if os.path.exists(f"{path}.{i}")]
    assert len(parts) >= 2, "64 KiB should have rotated at least once"
    for p in parts:
        assert os.path.getsize(p) < 1 << 20
        res = replay(env, p, "--json")
        assert res.returncode == 0, (p, res.stderr)


def test_unwritable_recording_is_said_and_monitoring_goes_on(env):
    util.need_root()
    res = cw.run(env, ["run", "--json", "--record", "/nonexistent/dir/x.cwr", "--",
                       cw.fixture(env, "memthreads"), "--mib", "8", "--hold", "0"])
    assert res.returncode == 0, res.stderr
    errors = [o for o in util.read_json_lines(res.stderr) if o.get("type") == "error"]
    assert len(errors) == 1, res.stderr
    assert "recording to /nonexistent/dir/x.cwr failed: No such file" in errors[0]["message"]
    assert "monitoring goes on" in errors[0]["message"]
    # the target was watched all the same: its memory is there
    objs = util.read_json_lines(res.stdout)
    [t] = cw.summary(objs)["target_list"]
    assert t["state"] == "exited" and t["rss_anon_peak_bytes"] > 8 * cw.MIB, t
    assert not os.path.exists("/nonexistent/dir/x.cwr")


def test_sigint_while_stdout_is_full_loses_no_line(env):
    """A reader that reads only at the end: cwatch waits to write, SIGINT comes, no line is lost.

    1,000 mmap lines a second fill the 64 KiB pipe within a second; cwatch is
    then blocked in write(2) when the signal comes. Every line must still
    arrive: the live output equals the replay of its recording.
    """
    util.need_root()
    path = os.path.join(env.artifacts, "blocked.cwr")
    mon = cw.start(env, ["run", "--json", "--record", path, "--",
                         cw.fixture(env, "manyinstances"), "--mmaps-per-sec", "3000",
                         "--threads", "1", "--seconds", "60"])
    try:
        deadline = time.monotonic() + 20
        wchan = ""
        while time.monotonic() < deadline and "pipe" not in wchan:
            time.sleep(0.2)
            with open(f"/proc/{mon.pid}/wchan") as f:
                wchan = f.read()
        assert "pipe" in wchan, f"cwatch never waited on the full pipe (wchan {wchan!r})"
        mon.send_signal(signal.SIGINT)
        out, err = mon.communicate(timeout=60)
    finally:
        util.cleanup()
    assert mon.returncode == 0, err
    mine = [l for l in out.splitlines() if l.startswith('{"type"')]
    res = replay(env, path, "--json")
    assert res.returncode == 0, res.stderr
    want = res.stdout.splitlines()
    assert mine == want, \
        f"the live output differs: {len(mine)} lines, " \
        f"{sum((collections.Counter(want) - collections.Counter(mine)).values())} " \
        f"of the replay's {len(want)} missing"
    # it waited on a full pipe: more than the pipe's 64 KiB was printed
    assert len(out) > 65536 and want[-1].startswith('{"type":"summary"'), (len(out), want[-1][:200])
