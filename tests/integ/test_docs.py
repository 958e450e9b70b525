# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""README.md and --help agree; every JSON field cwatch writes is documented."""

import os
import re

import cw
import util


def readme(env):
    with open(os.path.join(env.root, "README.md")) as f:
        return f.read()


def test_readme_shows_the_two_commands_first(env):
    text = readme(env)
    first = re.search(r"```sh\n(.*?)```", text, re.S).group(1).splitlines()
    assert first[0].startswith("sudo make demo"), first
    assert first[1].startswith("sudo make test"), first


def test_readme_usage_is_run_help(env):
    """The usage block in README.md is exactly `cwatch run --help`."""
    res = cw.run(env, ["run", "--help"])
    assert res.returncode == 0
    help_text = res.stdout.rstrip("\n")
    assert help_text.startswith("cwatch run:"), help_text[:40]
    assert "```\n" + help_text + "\n```" in readme(env), \
        "README.md's `cwatch run` block differs from `cwatch run --help`"


def test_readme_shows_probe_and_replay_help(env):
    for cmd in ("probe", "replay", "report"):
        res = cw.run(env, [cmd, "--help"])
        assert res.returncode == 0
        assert "```\n" + res.stdout.rstrip("\n") + "\n```" in readme(env), cmd


def test_every_json_field_is_documented(env):
    """Run cwatch once and check each key it writes appears in README.md."""
    util.need_root()
    res = cw.run(env, ["run", "--json", "--interval", "0.3", "--mmap-min", "64K", "--",
                       cw.fixture(env, "memthreads"), "--mib", "8", "--threads", "1",
                       "--hold", "0.7", "--exit-code", "0"])
    assert res.returncode == 0, res.stderr
    keys = set()
    kinds = set()
    for o in util.read_json_lines(res.stdout):
        if "type" not in o:
            continue	# the fixture's own line
        kinds.add(o["type"])
        keys.update(o)
        for t in o.get("target_list", []):
            keys.update(t)
    assert {"target", "exec", "mmap", "peak", "interval", "exit", "summary"} <= kinds, kinds
    # and a contract host under --heap: instances, contracts, sites
    res = cw.run(env, ["run", "--json", "--heap", "--interval", "0.5", "--",
                       cw.fixture(env, "demo_host"), "--seconds", "1", "--quiet"])
    assert res.returncode == 0, res.stderr

    def collect(o):
        if isinstance(o, dict):
            keys.update(o)
            for v in o.values():
                collect(v)
        elif isinstance(o, list):
            for v in o:
                collect(v)
    for o in util.read_json_lines(res.stdout):
        if "type" in o:
            kinds.add(o["type"])
            collect(o)
    # and alerts with their fields
    res = cw.run(env, ["run", "--json", "--", cw.fixture(env, "escape_host"), "--do",
                       "connect,oob"])
    assert res.returncode == 0, res.stderr
    for o in util.read_json_lines(res.stdout):
        if "type" in o:
            kinds.add(o["type"])
            collect(o)
    assert {"instance_new", "instance", "instance_end", "contract", "alert"} <= kinds, kinds
    assert {"sites", "frames", "host_functions", "contract_list"} <= keys, keys
    text = readme(env)
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"JSON fields not documented in README.md: {missing}"
