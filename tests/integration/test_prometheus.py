# SPDX-License-Identifier: ISC
"""contrib/prometheus and contrib/grafana against a real Prometheus
(Debian's, SPEC 15): promtool accepts the scrape example and the alert
rules (and the rules' own unit tests pass); a Prometheus started here
scrapes the daemon every second through the example's bearer token file,
evaluates the rules without error, and every expression of the dashboard,
with Grafana's variables filled in, evaluates without error and returns
data for the traffic the test made.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import urllib.parse
import urllib.request

import pytest

import itlib
from itlib import request, wait_until

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONTRIB = os.path.join(TOP, "contrib")
DASHBOARD = os.path.join(CONTRIB, "grafana", "llmproxyd.json")
RULES = "llmproxyd-rules.yml"

# Metric names that have series only once something happened (a batch, a
# fallback, a hedge) or only for a provider with shared limits.  The
# dashboard may use them before the daemon has series of them; their
# expressions must evaluate, and return data once it has.
SPEC_LATER = {
    "llmproxy_client_requests_total", "llmproxy_client_queue_depth",
    "llmproxy_batches_total", "llmproxy_fallbacks_total",
    "llmproxy_hedges_total", "llmproxy_limits_backend_up",
    "llmproxy_backend_seconds_bucket",
}
# Grafana's variables, as a dashboard showing "All" of them, or one
# provider, would fill them in (1 s scrapes: a 10 s rate window).
GRAFANA_VARS = {"$__rate_interval": "10s", "$__interval": "2s",
                "$instance": ".*"}


def _tools():
    for path in (PROMETHEUS, PROMTOOL):
        if not os.access(path, os.X_OK):
            pytest.fail("%s is needed (the prometheus package; scripts/test "
                        "installs it)" % path, pytrace=False)


def _promtool(*args, cwd=None):
    p = subprocess.run([PROMTOOL] + list(args), cwd=cwd, text=True,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p.stdout


def _scratch_config(dirpath, token, scrape_interval=None, target=None):
    """Copy the example config and rules into dirpath, with a token file
    beside them, as an administrator would install them."""
    shutil.copy(os.path.join(CONTRIB, "prometheus", RULES), dirpath)
    with open(os.path.join(dirpath, "llmproxyd.token"), "w") as f:
        f.write(token + "\n")
    os.chmod(os.path.join(dirpath, "llmproxyd.token"), 0o600)
    with open(os.path.join(CONTRIB, "prometheus", "prometheus.yml")) as f:
        text = f.read()
    if scrape_interval:
        assert text.count("_interval: 15s") == 2, text
        text = text.replace("_interval: 15s", "_interval: " +
                            scrape_interval)
    if target:
        assert '"127.0.0.1:8080"' in text, text
        text = text.replace('"127.0.0.1:8080"', '"%s"' % target)
    path = os.path.join(dirpath, "prometheus.yml")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_promtool_accepts_config_and_rules(tmp_path):
    _tools()
    path = _scratch_config(str(tmp_path), "a-token")
    out = _promtool("check", "config", path)
    assert "1 rule files found" in out, out
    out = _promtool("check", "rules", os.path.join(str(tmp_path), RULES))
    assert "SUCCESS: 6 rules found" in out, out
    _promtool("test", "rules", "llmproxyd-rules.test.yml",
              cwd=os.path.join(CONTRIB, "prometheus"))


def test_dashboard_shape():
    with open(DASHBOARD) as f:
        d = json.load(f)
    names = [v["name"] for v in d["templating"]["list"]]
    assert names == ["datasource", "instance", "provider"], names
    assert d["templating"]["list"][0]["type"] == "datasource"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), ids
    targets = [t for p in d["panels"] for t in p.get("targets", [])]
    assert len(targets) >= 25
    for p in d["panels"]:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}", p["title"]
            for t in p["targets"]:
                assert t["datasource"]["uid"] == "${datasource}"
    for t in targets:
        assert "$provider" in t["expr"] or "provider" not in t["expr"] or \
            "llmproxy_backend_seconds" in t["expr"], t["expr"]


# --- a real Prometheus -------------------------------------------------------

class Prometheus:
    """Prometheus on a loopback port with a scratch data directory."""

    def __init__(self, config, datadir):
        # The free port may be taken before Prometheus binds it (other
        # programs run here too): try another, a few times.
        for attempt in range(3):
            try:
                self._start(config, datadir)
                return
            except AssertionError:
                if attempt == 2 or "address already in use" not in \
                        self.err.text():
                    raise
                self.stop()

    def _start(self, config, datadir):
        self.port = itlib.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        # Nothing that would reach out: no remote write or service
        # discovery in the config; the web UI and API on loopback only.
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + config,
             "--storage.tsdb.path=" + datadir,
             "--storage.tsdb.retention.time=1h",
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self.err = itlib.OutputReader(self.proc.stderr, "prometheus")
        self.out = itlib.OutputReader(self.proc.stdout, "prometheus-out")
        wait_until(self._ready, 60 * itlib.SLOW, "Prometheus to be ready",
                   interval=0.2)

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited (%s):\n%s"
                                 % (self.proc.returncode, self.err.text()))
        try:
            with urllib.request.urlopen(self.url + "/-/ready",
                                        timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = self.url + "/api/v1/" + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            return json.load(e)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.err.join(5)
        self.out.join(5)


class Traffic:
    """Requests in the background until stopped: answers of every kind,
    upstream 429s and retries, queue refusals, reported usage."""

    def __init__(self, port):
        self.port = port
        self.stop_ev = threading.Event()
        self.statuses = []
        self.threads = [threading.Thread(target=self._run, args=(i,),
                                         daemon=True) for i in range(3)]
        for t in self.threads:
            t.start()

    def _one(self, target, extra):
        hs = [("Content-Type", "application/json"),
              ("Authorization", "Bearer " + itlib.CLIENT_TOKEN)] + extra
        try:
            r = request(self.port, "POST", target, hs, itlib.jbody(
                {"model": "m", "max_tokens": 8, "messages": [
                    {"role": "user", "content": "hello"}]}),
                timeout=30 * itlib.SLOW)
            self.statuses.append(r.status)
        except OSError:
            self.statuses.append(None)

    def _run(self, i):
        n = 0
        while not self.stop_ev.is_set():
            n += 1
            if n % 7 == 3:
                self._one("/oa/v1/chat/completions",
                          [("x-mock-status", "429")])
            elif n % 2:
                self._one("/oa/v1/chat/completions",
                          [("x-mock-delay-ms", "150")])
            else:
                self._one("/demo/v1/chat/completions", [])

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(60 * itlib.SLOW)


def _exported(port):
    """The metric names the daemon has series of now (a family with no
    series yet, such as fallbacks never taken, is not counted)."""
    r = request(port, "GET", "/metrics",
                [("Authorization", "Bearer " + itlib.CLIENT_TOKEN)])
    assert r.status == 200, r.status
    return set(re.findall(r"^(llmproxy_\w+)[{ ]", r.body.decode(), re.M))


def _dashboard_exprs():
    with open(DASHBOARD) as f:
        d = json.load(f)
    exprs = [(p["title"], t["expr"]) for p in d["panels"]
             for t in p.get("targets", [])]
    variables = [v["query"]["query"] for v in d["templating"]["list"]
                 if v["type"] == "query"]
    return exprs, variables


def _fill(expr, provider):
    for k, v in dict(GRAFANA_VARS, **{"$provider": provider}).items():
        expr = expr.replace(k, v)
    assert "$" not in expr, expr
    return expr


@pytest.mark.timeout(180)
def test_dashboard_and_rules_in_prometheus(start_daemon, mock, tmp_path,
                                           redis_server):
    _tools()
    # oa's limits are shared through a redis-server of the test's own, so
    # the panels of SPEC 14 have decisions to show.
    d = start_daemon([
        itlib.proxy_provider("oa", mock.url, max_concurrent=2, queue_max=2,
                             retries=1, tokens_per_minute=10000000,
                             shared=True),
        itlib.simulated_provider("demo", requests_per_minute=60000,
                                 burst=100)],
        client_tokens=[itlib.CLIENT_TOKEN],
        redis={"url": redis_server.url})
    # A burst the queue cannot hold: queue_full refusals.
    burst = [threading.Thread(target=request, args=(
        d.port, "POST", "/oa/v1/chat/completions",
        [("Authorization", "Bearer " + itlib.CLIENT_TOKEN),
         ("Content-Type", "application/json"),
         ("x-mock-delay-ms", "500")], b"{}"), daemon=True)
        for _ in range(8)]
    for t in burst:
        t.start()
    for t in burst:
        t.join(30)
    conf = _scratch_config(str(tmp_path), itlib.CLIENT_TOKEN, "1s",
                           "127.0.0.1:%d" % d.port)
    os.mkdir(str(tmp_path / "data"))
    traffic = Traffic(d.port)
    prom = Prometheus(conf, str(tmp_path / "data"))
    try:
        _check_prometheus(prom, d, traffic)
    finally:
        traffic.stop()
        prom.stop()
    assert prom.proc.returncode == 0, prom.err.text()
    assert 200 in traffic.statuses and 429 in traffic.statuses


def _scrapes(prom):
    r = prom.api("query", query='count_over_time(up{job="llmproxyd"}[1m])'
                 ' and up{job="llmproxyd"} == 1')
    res = r["data"]["result"]
    return res and float(res[0]["value"][1]) >= 8


def _check_prometheus(prom, d, traffic):
    wait_until(lambda: _scrapes(prom), 60 * itlib.SLOW,
               "8 successful scrapes of the daemon", interval=0.5)
    exported = _exported(d.port)
    exprs, variables = _dashboard_exprs()
    _check_rules(prom)
    for q in variables:
        m = re.fullmatch(r"label_values\((.*), (\w+)\)", q)
        assert m, q
        r = prom.api("label/%s/values" % m.group(2),
                     **{"match[]": _fill(m.group(1), ".*")})
        assert r["status"] == "success", (q, r)
        want = "oa" if m.group(2) == "provider" else \
            "127.0.0.1:%d" % d.port
        assert want in r["data"], (q, r["data"])
    checked = later = 0
    for title, expr in exprs:
        names = set(re.findall(r"\bllmproxy_\w+", expr))
        assert names <= exported | SPEC_LATER, (title, names - exported)
        has_data = names <= exported
        for provider in (".*", "oa"):
            q = _fill(expr, provider)
            r = prom.api("query", query=q)
            assert r["status"] == "success", (title, q, r)
            rr = prom.api("query_range", query=q, start="%f" % (
                prom_time(prom) - 20), end="%f" % prom_time(prom), step="1")
            assert rr["status"] == "success", (title, q, rr)
            if has_data:
                assert r["data"]["result"], "no data: %s: %s" % (title, q)
                assert rr["data"]["result"], "no range: %s: %s" % (title, q)
                assert any(v[1] not in ("NaN", "+Inf", "-Inf")
                           for res in rr["data"]["result"]
                           for v in res["values"]), \
                    "only NaN: %s: %s" % (title, q)
                checked += 1
            else:
                later += 1
    itlib.MEASURED["dashboard expressions with data (x2 providers)"] = \
        checked
    itlib.MEASURED["dashboard expressions still without series"] = later
    assert checked >= 40, checked


def prom_time(prom):
    r = prom.api("query", query="time()")
    return float(r["data"]["result"][0])


def _check_rules(prom):
    def evaluated():
        r = prom.api("rules")
        rules = [x for g in r["data"]["groups"] for x in g["rules"]]
        if len(rules) != 6 or any(x["lastEvaluation"].startswith("0001")
                                  for x in rules):
            return None
        return rules
    rules = wait_until(evaluated, 30 * itlib.SLOW,
                       "every alert rule to be evaluated", interval=0.5)
    for x in rules:
        assert x["health"] == "ok", x
        assert not x.get("lastError"), x
    # The scrape works, so the daemon is not down.
    firing = {a["labels"]["alertname"] for x in rules
              for a in x.get("alerts", [])}
    assert "LlmproxydDown" not in firing, firing
