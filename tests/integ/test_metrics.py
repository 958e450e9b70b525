# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Prometheus: the exposition lints, the rules fire under a real Prometheus, scrapes never hurt."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

import cw
import util


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, path="/metrics", timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def series(text, name):
    """{labels-string: value} of metric name in exposition text."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, val = line.rpartition(" ")
            out[key[len(name):]] = float(val)
    return out


def need_promtool():
    if not shutil.which("promtool"):
        raise util.Skip("promtool missing (Debian's prometheus package)")


class Watch:
    """cwatch in the background, its JSON going to a file (a full pipe would stall it)."""

    def __init__(self, env, args):
        self.out = tempfile.NamedTemporaryFile("w+", dir=env.artifacts, suffix=".jsonl",
                                               delete=False)
        self.proc = cw.start(env, args, stdout=self.out)

    def send_signal(self, sig):
        self.proc.send_signal(sig)


def start_watching(env, port, *args, cmd):
    mon = Watch(env, ["run", "--json", "--interval", "0.5", "--listen", str(port), *args,
                      "--", *cmd])
    assert util.wait_for(lambda: _answers(port), 15), "no /metrics"
    return mon


def finish(mon, sig=None, timeout=60):
    """Stop (with sig) or wait for cwatch; (rc, JSON objects, stderr)."""
    if sig is not None:
        mon.proc.send_signal(sig)
    _, err = mon.proc.communicate(timeout=timeout)
    mon.out.seek(0)
    return mon.proc.returncode, util.read_json_lines(mon.out.read()), err


def _answers(port):
    try:
        return scrape(port)[0] == 200
    except OSError:
        return False


def test_live_scrape_passes_promtool(env):
    util.need_root()
    need_promtool()
    port = free_port()
    mon = start_watching(env, port, cmd=[cw.fixture(env, "wasmer_host"), "--calls", "300",
                                          "--hold", "3"])
    time.sleep(2)
    status, ctype, text = scrape(port)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), ctype
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True)
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr
    for fam in ("cwatch_target_resident_bytes", "cwatch_instance_held_bytes",
                "cwatch_instance_call_duration_seconds_bucket", "cwatch_events_lost_total",
                "cwatch_bpf_run_seconds_total", "cwatch_leak_suspected"):
        assert series(text, fam), fam
    held = series(text, "cwatch_instance_held_bytes")
    assert len(held) == 3 and max(held.values()) > 10 << 20, held
    # every HELP and TYPE once, base units, counters end in _total
    types = [l.split()[2:] for l in text.splitlines() if l.startswith("# TYPE ")]
    assert len({t[0] for t in types}) == len(types)
    assert all(t[0].endswith("_total") for t in types if t[1] == "counter"), types
    # every family is documented in README.md
    with open(os.path.join(env.root, "README.md")) as f:
        readme = f.read()
    missing = [t[0] for t in types if f"`{t[0]}`" not in readme]
    assert not missing, f"metrics not documented in README.md: {missing}"
    assert scrape(port, "/")[0] == 200
    try:
        scrape(port, "/nothing")
        raise AssertionError("404 expected")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    rc, objs, err = finish(mon)
    assert rc == 0, err


def test_alert_rules_pass_promtool(env):
    need_promtool()
    res = util.run(["promtool", "test", "rules", "rules_test.yml"], 60,
                   cwd=os.path.join(env.root, "tests", "prometheus"))
    assert res.returncode == 0 and "SUCCESS" in res.stdout, res.stdout + res.stderr
    path = os.path.join(env.root, "scripts", "prometheus", "cwatch-rules.yml")
    with open(path) as f:
        alerts = sum(1 for line in f if line.strip().startswith("- alert:"))
    res = util.run(["promtool", "check", "rules", path], 60)
    assert res.returncode == 0 and f"SUCCESS: {alerts} rules found" in res.stdout, res.stdout
    # every rule has a test in rules_test.yml
    with open(os.path.join(env.root, "tests", "prometheus", "rules_test.yml")) as f:
        tested = f.read()
    with open(path) as f:
        for line in f:
            if line.strip().startswith("- alert:"):
                name = line.split(":", 1)[1].strip()
                assert f"alertname: {name}" in tested, f"{name} has no promtool test"


def test_dashboard_queries_known_metrics(env):
    with open(os.path.join(env.root, "scripts", "grafana", "cwatch-dashboard.json")) as f:
        dash = json.load(f)
    with open(os.path.join(env.root, "user", "exporter.c")) as f:
        source = f.read()
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for e in exprs:
        for word in e.replace("(", " ").replace("{", " ").replace(")", " ").split():
            if word.startswith("cwatch_"):
                base = word.split("[")[0].removesuffix("_bucket")
                assert base in source, f"dashboard uses {base}, which cwatch does not export"
    assert any("ALERTS" in e for e in exprs), "the dashboard shows the alert rules' state"


def test_real_prometheus_fires_the_leak_alert(env):
    """Debian's Prometheus scrapes cwatch watching the leaking wasmer host: the alert fires."""
    util.need_root()
    if not shutil.which("prometheus"):
        raise util.Skip("prometheus missing")
    port, pport = free_port(), free_port()
    d = tempfile.mkdtemp(dir=env.artifacts, prefix="prom-")
    rules = os.path.join(env.root, "scripts", "prometheus", "cwatch-rules.yml")
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write(f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                f"rule_files: ['{rules}']\n"
                f"scrape_configs:\n  - job_name: cwatch\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{port}']\n")
    prom = util.spawn(["prometheus", f"--config.file={d}/prometheus.yml",
                       f"--storage.tsdb.path={d}/data", f"--web.listen-address=127.0.0.1:{pport}"],
                      stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "log"), "w"))
    mon = start_watching(env, port, cmd=[cw.fixture(env, "wasmer_host"), "--calls", "1500",
                                          "--hold", "20"])

    def firing():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{pport}/api/v1/alerts",
                                        timeout=2) as r:
                alerts = json.load(r)["data"]["alerts"]
        except OSError:
            return False
        return [a for a in alerts if a["labels"]["alertname"] == "CwatchLeakSuspected"
                and a["state"] == "firing"]

    got = util.wait_for(firing, 45, step=0.5)
    assert got, "CwatchLeakSuspected never fired"
    contracts = {a["labels"]["contract"] for a in got}
    assert len(contracts) == 2 and all(c.startswith("sha256:") for c in contracts), contracts
    assert all(a["labels"]["target"] == "wasmer_host" for a in got)
    # the healthy instance is there, and not leaking
    with urllib.request.urlopen(f"http://127.0.0.1:{pport}/api/v1/query?query="
                                "cwatch_leak_suspected%3D%3D0", timeout=2) as r:
        quiet = json.load(r)["data"]["result"]
    assert any(q["metric"].get("exported_instance") == "3" for q in quiet), quiet
    rc, objs, err = finish(mon, sig=2)
    assert rc == 0, err
    prom.terminate()


def test_concurrent_and_slow_scrapes_do_not_disturb_monitoring(env):
    """100 connections at once, half of them slow or stuck: no event lost, no interval late."""
    util.need_root()
    port = free_port()
    mon = start_watching(env, port, cmd=[cw.fixture(env, "demo_host"), "--seconds", "12",
                                          "--quiet"])
    stuck, results, start = [], [], time.monotonic()

    def slow_reader():
        # a request sent one byte at a time, then never reading the answer
        s = socket.create_connection(("127.0.0.1", port))
        stuck.append(s)
        for ch in b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n":
            s.send(bytes([ch]))
            time.sleep(0.03)

    def idle():
        stuck.append(socket.create_connection(("127.0.0.1", port)))

    def good():
        try:
            results.append(scrape(port, timeout=10)[0])
        except OSError as e:
            results.append(str(e))

    threads = [threading.Thread(target=f) for f in [slow_reader] * 25 + [idle] * 25 + [good] * 50]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in stuck:
        s.close()
    assert results.count(200) == 50, results
    # garbage on the wire is answered, not fatal
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"\x00\xff NOT HTTP\r\n\r\n")
        s.recv(100)
    assert scrape(port)[0] == 200
    rc, objs, err = finish(mon)
    assert rc == 0, err
    summ = cw.summary(objs)
    assert summ["events_lost"] == 0
    ticks = [o["t"] for o in cw.of_type(objs, "interval")]
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert gaps and max(gaps) < 1.5, f"an interval came late: {gaps}"


def test_cardinality_cap_folds_instances(env):
    util.need_root()
    port = free_port()
    mon = start_watching(env, port, "--metrics-max-instances", "2",
                         cmd=[cw.fixture(env, "concurrent_host"), "--hold", "3"])
    time.sleep(2.5)
    text = scrape(port)[2]
    held = series(text, "cwatch_instance_held_bytes")
    own = [k for k in held if 'instance="_other"' not in k]
    other = [k for k in held if 'instance="_other"' in k]
    assert len(own) == 2 and len(other) == 1, held
    assert series(text, "cwatch_instances_folded")[""] == 2
    finish(mon, sig=2)


def test_gone_targets_leave_after_the_grace(env):
    util.need_root()
    port = free_port()
    mon = Watch(env, ["run", "--json", "--interval", "0.25", "--listen", str(port),
                      "--metrics-grace", "1.5", "--comm", "memthreads", "--duration", "8"])
    assert util.wait_for(lambda: _answers(port), 15)
    fx = util.spawn([cw.fixture(env, "memthreads"), "--mib", "4", "--threads", "1",
                     "--hold", "0.5"])
    fx.wait(20)
    pid = fx.pid
    time.sleep(0.6)
    up = series(scrape(port)[2], "cwatch_target_up")
    assert [v for k, v in up.items() if f'pid="{pid}"' in k] == [0.0], up
    time.sleep(2)
    up = series(scrape(port)[2], "cwatch_target_up")
    assert not [k for k in up if f'pid="{pid}"' in k], up
    finish(mon, sig=2)


def test_port_in_use_monitoring_goes_on(env):
    util.need_root()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        res = cw.run(env, ["run", "--json", "--listen", str(port), "--",
                           cw.fixture(env, "memthreads"), "--mib", "4", "--hold", "0.2"])
    assert res.returncode == 0, res.stderr
    assert f"serving metrics on {port} failed: Address already in use" in res.stderr, res.stderr
    assert "monitoring goes on without metrics" in res.stderr
    assert cw.summary(util.read_json_lines(res.stdout))["targets"] == 1


def test_tls_and_basic_auth(env):
    util.need_root()
    if not shutil.which("openssl"):
        raise util.Skip("openssl missing")
    import crypt  # noqa: the stdlib's libcrypt binding makes the bcrypt hash
    d = tempfile.mkdtemp(dir=env.artifacts, prefix="tls-")
    util.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
              "-subj", "/CN=127.0.0.1", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem"],
             60, check=True)
    with open(f"{d}/web.yml", "w") as f:
        f.write(f"tls_server_config:\n  cert_file: {d}/cert.pem\n  key_file: {d}/key.pem\n"
                f"basic_auth_users:\n  scraper: '{crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH))}'\n")
    port = free_port()
    mon = Watch(env, ["run", "--json", "--listen", str(port), "--web-config", f"{d}/web.yml",
                      "--", cw.fixture(env, "memthreads"), "--mib", "4", "--hold", "4"])
    ctx = ssl.create_default_context(cafile=f"{d}/cert.pem")
    ctx.check_hostname = False

    def get(user=None, pw=None):
        req = urllib.request.Request(f"https://127.0.0.1:{port}/metrics")
        if user:
            import base64
            req.add_header("Authorization", "Basic " +
                           base64.b64encode(f"{user}:{pw}".encode()).decode())
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    assert util.wait_for(lambda: get("scraper", "s3cret") == 200, 15)
    assert get() == 401
    assert get("scraper", "wrong") == 401
    # plain HTTP is not served
    try:
        scrape(port, timeout=3)
        raise AssertionError("plain HTTP answered")
    except (OSError, urllib.error.HTTPError, http_error()):
        pass
    finish(mon, sig=2)


def http_error():
    import http.client
    return http.client.HTTPException
