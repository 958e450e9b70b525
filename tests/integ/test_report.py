# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""cwatch report: the HTML page renders in headless Chromium; folded stacks; the fuzzed reader."""

import os
import re
import shutil
import subprocess
import tempfile

import cw
import util

_recording = {}


def leaky_recording(env):
    """One recording of the wasmer host with --heap and leak verdicts, shared by the tests."""
    util.need_root()
    if "path" not in _recording:
        path = os.path.join(env.artifacts, "report.cwr")
        res = cw.run(env, ["run", "--heap", "--record", path, "--",
                           cw.fixture(env, "wasmer_host"), "--calls", "1300"], timeout=120)
        assert res.returncode == 0, res.stderr
        _recording["path"] = path
    return _recording["path"]


def test_report_page_is_self_contained(env):
    rec = leaky_recording(env)
    page = os.path.join(env.artifacts, "report.html")
    res = cw.run(env, ["report", "-o", page, rec])
    assert res.returncode == 0, res.stderr
    with open(page) as f:
        html = f.read()
    # timelines, peaks and verdicts marked on them, the flame graph, the tables
    assert html.count("<svg") >= 4, "charts and the flame graph"
    assert "Memory held by instance" in html and "peak " in html
    assert 'class="verdict"' in html, "verdicts are marked on the timelines"
    assert "main.stash" in html, "the flame graph shows the leaking host function"
    assert html.count("leak.instance") >= 2
    # nothing fetched from anywhere: no scripts, no links out
    assert "<script" not in html and not re.search(r'\b(src|href)=', html)


def test_report_renders_in_headless_chromium(env):
    """Debian's Chromium opens the page without console errors; the screenshot is kept."""
    chromium = shutil.which("chromium")
    if not chromium:
        raise util.Skip("chromium missing")
    rec = leaky_recording(env)
    page = os.path.join(env.artifacts, "report-render.html")
    assert cw.run(env, ["report", "-o", page, rec]).returncode == 0
    shot = os.path.join(env.artifacts, "report.png")
    profile = tempfile.mkdtemp(dir=env.artifacts, prefix="chromium-")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
    res = util.run([chromium, *flags, "--window-size=1000,2400", f"--screenshot={shot}",
                    "file://" + page], 120)
    assert os.path.exists(shot) and os.path.getsize(shot) > 20000, res.stderr[-2000:]
    console = [l for l in res.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert not console, console
    res = util.run([chromium, *flags, "--dump-dom", "file://" + page], 120)
    assert "<svg" in res.stdout and "Sandbox-escape events" in res.stdout, res.stdout[:500]


def test_folded_stacks(env):
    rec = leaky_recording(env)
    res = cw.run(env, ["report", "--folded", rec])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines and all(re.fullmatch(r".+;.+ \d+", l) for l in lines), lines[:3]
    leak = [l for l in lines if "main.stash" in l]
    assert leak and leak[0].startswith("instance #"), leak[:1]
    # the biggest stack is the leak's
    top = max(lines, key=lambda l: int(l.rsplit(" ", 1)[1]))
    assert "main.stash" in top, top


def test_fuzzed_reader_survives(env):
    """A short libFuzzer run over the kept corpus (make fuzz runs longer)."""
    fuzzer = os.path.join(env.build, "fuzz_record")
    if not os.path.exists(fuzzer):
        raise util.Skip("fuzz_record not built")
    work = tempfile.mkdtemp(dir=env.artifacts, prefix="fuzz-")
    corpus = os.path.join(env.root, "tests", "fuzz", "corpus", "record")
    res = util.run([fuzzer, "-max_total_time=20", "-max_len=65536", "-rss_limit_mb=512",
                    f"-artifact_prefix={work}/", work, corpus], 120)
    assert res.returncode == 0, res.stderr[-3000:]
    runs = re.search(r"Done (\d+) runs", res.stderr)
    assert runs and int(runs.group(1)) > 10000, res.stderr[-500:]


def test_report_of_a_bad_file(env):
    res = cw.run(env, ["report", "/nonexistent.cwr"])
    cw.one_error_line(res, 1, "/nonexistent.cwr: No such file or directory")
