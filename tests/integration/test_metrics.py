# SPDX-License-Identifier: ISC
"""GET /metrics (SPEC section 8; issue 5), read the way Prometheus reads it.

Every scrape is parsed with prometheus_client's own text parser, and each
counter is checked against what the test itself sent: the statuses its
clients received, the refusals the daemon logged, the attempts the mock
upstream saw, the usage the responses reported, the body bytes that
crossed.  Gauges are read while requests are held in flight and queued.
"""

import concurrent.futures
import json
import os
import re
import resource
import signal
import socket

from prometheus_client.parser import text_string_to_metric_families

import itlib
from itlib import SLOW, jbody, request, wait_until

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
JSON_CT = ("Content-Type", "application/json")
PROMPT = [{"role": "user", "content": "hi"}]
# "user" + "hi": 6 bytes of strings, so the estimate is 2 + max_tokens.
PROMPT_ESTIMATE = 2
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REASONS = ("queue_full", "queue_timeout", "too_large", "unauthorized",
           "forbidden", "overload", "shutdown")
HISTOGRAMS = ("llmproxy_queue_wait_seconds", "llmproxy_upstream_ttfb_seconds",
              "llmproxy_request_duration_seconds")
FAMILIES = {
    "llmproxy_requests": "counter", "llmproxy_refused": "counter",
    "llmproxy_in_flight": "gauge", "llmproxy_queue_depth": "gauge",
    "llmproxy_upstream_429": "counter", "llmproxy_retries": "counter",
    "llmproxy_bytes_received": "counter", "llmproxy_bytes_sent": "counter",
    "llmproxy_tokens": "counter", "llmproxy_tokens_estimated": "counter",
    "llmproxy_queue_wait_seconds": "histogram",
    "llmproxy_upstream_ttfb_seconds": "histogram",
    "llmproxy_request_duration_seconds": "histogram",
    "llmproxy_connections": "gauge",
}


class Scrape:
    """One parsed /metrics answer: samples by name and labels."""

    def __init__(self, text):
        self.text = text
        self.types = {}
        self.samples = {}
        for fam in text_string_to_metric_families(text):
            self.types[fam.name] = fam.type
            for s in fam.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                assert key not in self.samples, "duplicate series %r" % (key,)
                self.samples[key] = s.value

    def get(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        assert key in self.samples, "no series %s%r in:\n%s" % (
            name, labels, self.text)
        return self.samples[key]

    def value(self, name, **labels):
        """The sample's value, 0 if the series is absent (a status never
        sent has no requests_total series)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0)

    def requests(self, provider):
        return {dict(lb)["code"]: v for (n, lb), v in self.samples.items()
                if n == "llmproxy_requests_total" and
                dict(lb)["provider"] == provider}

    def refused(self, provider):
        return {r: self.get("llmproxy_refused_total", provider=provider,
                            reason=r) for r in REASONS}

    def histogram(self, name, provider):
        """(cumulative buckets by le, sum, count)."""
        buckets = {}
        for (n, lb), v in self.samples.items():
            d = dict(lb)
            if n == name + "_bucket" and d["provider"] == provider:
                buckets[d["le"]] = v
        return (buckets, self.get(name + "_sum", provider=provider),
                self.get(name + "_count", provider=provider))


def _scrape(d, headers=()):
    r = request(d.port, "GET", "/metrics", list(headers), timeout=5 * SLOW)
    assert r.status == 200, (r.status, r.body)
    assert r.header("Content-Type") == CONTENT_TYPE, r.headers
    text = r.body.decode("utf-8")
    for secret in itlib.CANARIES + tuple(itlib.CLIENT_SECRETS):
        assert secret not in text, "a credential is in /metrics"
    return Scrape(text)


def _post(port, target, body, headers=(), timeout=30.0):
    return request(port, "POST", target, [JSON_CT] + list(headers),
                   jbody(body), timeout=timeout * SLOW)


def _chat(max_tokens=4, **kw):
    b = {"model": "m", "max_tokens": max_tokens, "messages": PROMPT}
    b.update(kw)
    return b


def _status_totals(d, name):
    r = request(d.port, "GET", "/status", timeout=5 * SLOW)
    for p in r.json()["providers"]:
        if p["name"] == name and not p["retired"]:
            return p["totals"]
    raise AssertionError("no provider %s in /status" % name)


def _access_count(d, provider):
    return len([ln for ln in d.access_lines()
                if " provider=%s " % provider in ln])


def _assert_histogram_sane(scrape, name, provider, count):
    buckets, total, n = scrape.histogram(name, provider)
    assert n == count, (name, provider, n, count)
    assert buckets["+Inf"] == n, (name, buckets)
    les = sorted((float(le), v) for le, v in buckets.items())
    values = [v for _, v in les]
    assert values == sorted(values), "buckets not cumulative: %r" % les
    assert total >= 0
    return buckets, total


# --- the format -----------------------------------------------------------

def test_metrics_format(daemon):
    s = _scrape(daemon)
    for fam, typ in FAMILIES.items():
        assert s.types.get(fam) == typ, (fam, s.types.get(fam))
    for line in s.text.splitlines():
        if line.startswith("# TYPE "):
            continue
        if line.startswith("# HELP "):
            assert len(line.split(" ", 3)) == 4, line
            continue
        assert re.fullmatch(r"llmproxy_[a-z0-9_]+(\{[^}]*\})? [0-9.e+]+",
                            line), line
    # Every configured provider has its series; the unrouted block only
    # its refusals.
    for name in ("oa", "an", "open", "demo"):
        assert s.get("llmproxy_in_flight", provider=name) == 0
        assert s.get("llmproxy_queue_depth", provider=name) == 0
        assert s.refused(name) == {r: 0 for r in REASONS}
        for h in HISTOGRAMS:
            _assert_histogram_sane(s, h, name, 0)
    assert s.refused("") == {r: 0 for r in REASONS}
    assert ("llmproxy_in_flight", (("provider", ""),)) not in s.samples
    assert s.get("llmproxy_connections") >= 1      # the scrape's own
    # Scrapes are not requests of a provider.
    assert s.requests("") == {}
    r = request(daemon.port, "POST", "/metrics", body=b"")
    assert r.status == 405 and r.header("Allow") == "GET, HEAD"
    r = request(daemon.port, "HEAD", "/metrics")
    assert r.status == 200 and r.body == b""


# --- counters against what was sent ---------------------------------------

def test_requests_refusals_gauges_and_histograms(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("p", mock.url, max_concurrent=1,
                                           queue_max=2, queue_timeout=30.0)])
    target = "/p" + CHAT
    pool = concurrent.futures.ThreadPoolExecutor(4)
    try:
        first = pool.submit(_post, d.port, target, _chat(),
                            [("x-mock-delay-ms", "1500"),
                             ("x-mock-id", "m-0")])
        mock.wait_request("m-0", lambda r: True, 5 * SLOW,
                          "the first request at the mock")
        queued = []
        for i in (1, 2):
            queued.append(pool.submit(_post, d.port, target, _chat(),
                                      [("x-mock-id", "m-%d" % i)]))
            wait_until(lambda: _scrape(d).get(
                "llmproxy_queue_depth", provider="p") == i, 5 * SLOW,
                "queue_depth %d in /metrics" % i)
        s = _scrape(d)
        assert s.get("llmproxy_in_flight", provider="p") == 1
        refused = [_post(d.port, target, _chat(),
                         [("x-mock-id", "full-%d" % i)]) for i in range(3)]
        ok = [f.result() for f in [first] + queued]
    finally:
        pool.shutdown(wait=True)
    assert [r.status for r in refused] == [429] * 3
    assert [r.status for r in ok] == [200] * 3
    wait_until(lambda: _access_count(d, "p") == 6, 5 * SLOW,
               "six access lines")
    s = _scrape(d)
    assert s.requests("p") == {"200": 3, "429": 3}
    assert s.refused("p") == dict({r: 0 for r in REASONS}, queue_full=3)
    assert s.get("llmproxy_in_flight", provider="p") == 0
    assert s.get("llmproxy_queue_depth", provider="p") == 0
    # One observation per request (a refusal waited 0); one TTFB per
    # upstream attempt.
    qw, qsum = _assert_histogram_sane(s, "llmproxy_queue_wait_seconds",
                                      "p", 6)
    _assert_histogram_sane(s, "llmproxy_request_duration_seconds", "p", 6)
    _assert_histogram_sane(s, "llmproxy_upstream_ttfb_seconds", "p", 3)
    # The waits are the ones each answer's x-llmproxy-queue-ms reported
    # (a refusal's may be 1 ms later in the log: compare from 100 ms up).
    waits = [int(r.header("x-llmproxy-queue-ms")) / 1000.0
             for r in ok + refused]
    assert min(waits[1:3]) > 0, waits     # the two queued did wait
    assert abs(qsum - sum(waits)) <= 0.01, (qsum, waits)
    for le, v in qw.items():
        if le != "+Inf" and float(le) >= 0.1:
            assert v == len([w for w in waits if w <= float(le)]), \
                (le, v, waits)
    _, dsum = _assert_histogram_sane(s, "llmproxy_request_duration_seconds",
                                     "p", 6)
    assert dsum >= 1.5 + sum(waits[1:3]), dsum
    sent = sum(len(jbody(_chat())) for _ in range(6))
    assert s.get("llmproxy_bytes_received_total", provider="p") == sent
    assert s.get("llmproxy_bytes_sent_total", provider="p") == \
        sum(len(r.body) for r in ok)
    # /status counts the same refusals.
    assert _status_totals(d, "p")["refused"] == 3


def test_upstream_429_and_retries_match_status(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=2)])
    r = _post(d.port, "/oa" + CHAT, _chat(),
              [("x-mock-status", "429"),
               ("x-mock-response-header", "retry-after-ms: 100"),
               ("x-mock-id", "r429")])
    assert r.status == 429 and r.header("x-llmproxy-attempts") == "3"
    assert len(mock.find("r429")) == 3
    r = _post(d.port, "/oa" + CHAT, _chat(), [("x-mock-id", "after")])
    assert r.status == 200
    wait_until(lambda: _access_count(d, "oa") == 2, 5 * SLOW,
               "two access lines")
    s = _scrape(d)
    t = _status_totals(d, "oa")
    assert s.get("llmproxy_upstream_429_total", provider="oa") == 3
    assert s.get("llmproxy_retries_total", provider="oa") == 2
    assert t["upstream_429"] == 3 and t["retried"] == 2, t
    # The upstream's 429 is not a refusal of the daemon's.
    assert s.requests("oa") == {"429": 1, "200": 1}
    assert s.refused("oa") == {r: 0 for r in REASONS}
    _assert_histogram_sane(s, "llmproxy_upstream_ttfb_seconds", "oa", 4)
    _assert_histogram_sane(s, "llmproxy_request_duration_seconds", "oa", 2)


def _usage_of_stream(body):
    for _, _, data in itlib.sse_events(body):
        if data.startswith("{") and '"usage"' in data:
            u = json.loads(data).get("usage")
            if u:
                return u["prompt_tokens"], u["completion_tokens"]
    raise AssertionError("no usage in the stream: %r" % body[-400:])


def test_tokens_reconciled_from_usage(start_daemon, mock):
    d = start_daemon([
        itlib.proxy_provider("oa", mock.url, tokens_per_minute=100000),
        itlib.proxy_provider("an", mock.url, "anthropic",
                             tokens_per_minute=100000),
        itlib.proxy_provider("free", mock.url)])
    prompt = completion = 0
    for n in (3, 7):
        r = _post(d.port, "/oa" + CHAT, _chat(n))
        assert r.status == 200
        u = r.json()["usage"]
        prompt += u["prompt_tokens"]
        completion += u["completion_tokens"]
    r, _ = itlib.stream_request(d.port, "/oa" + CHAT, jbody(_chat(
        5, stream=True, stream_options={"include_usage": True})))
    assert r.status == 200
    p, c = _usage_of_stream(r.body)
    prompt += p
    completion += c
    r = _post(d.port, "/an" + MESSAGES, _chat(6))
    assert r.status == 200
    an = r.json()["usage"]
    assert _post(d.port, "/free" + CHAT, _chat(2)).status == 200
    wait_until(lambda: len(d.access_lines()) == 5, 5 * SLOW,
               "five access lines")
    s = _scrape(d)
    assert prompt > 0 and completion == 3 + 7 + 5
    assert s.get("llmproxy_tokens_total", provider="oa",
                 kind="prompt") == prompt
    assert s.get("llmproxy_tokens_total", provider="oa",
                 kind="completion") == completion
    assert s.get("llmproxy_tokens_total", provider="an",
                 kind="prompt") == an["input_tokens"]
    assert s.get("llmproxy_tokens_total", provider="an",
                 kind="completion") == an["output_tokens"]
    assert s.get("llmproxy_tokens_estimated_total", provider="oa") == \
        sum(PROMPT_ESTIMATE + n for n in (3, 7, 5))
    assert s.get("llmproxy_tokens_estimated_total", provider="an") == \
        PROMPT_ESTIMATE + 6
    # Usage is read only where a token limit needs it.
    assert s.get("llmproxy_tokens_total", provider="free",
                 kind="completion") == 0
    assert s.requests("free") == {"200": 1}


# --- refusals before routing, and the token ---------------------------------

def test_token_required_and_early_refusals(start_daemon, mock):
    token = itlib.CLIENT_TOKEN
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     client_tokens=[token])
    auth = [("Authorization", "Bearer " + token)]
    r = request(d.port, "GET", "/metrics")
    assert r.status == 401 and r.header("WWW-Authenticate") == "Bearer"
    r = request(d.port, "GET", "/metrics",
                [("Authorization", "Bearer " + token + "x")])
    assert r.status == 401
    assert _post(d.port, "/oa" + CHAT, _chat()).status == 401
    r = _post(d.port, "/oa" + CHAT, _chat(), [("Host", "evil.example")] +
              auth)
    assert r.status == 403
    r = request(d.port, "GET", "/oa/x", [("Origin", "http://evil.example")]
                + auth)
    assert r.status == 403
    # 400 for framing is counted as a request, not as a refusal of ours.
    r = request(d.port, "POST", "/oa" + CHAT, [("X-Evil", "a\x01b")] + auth,
                b"{}")
    assert r.status == 400
    assert _post(d.port, "/oa" + CHAT, _chat(), auth).status == 200
    s = _scrape(d, auth)
    assert s.requests("") == {"401": 2}
    assert s.refused("") == dict({r: 0 for r in REASONS}, unauthorized=2)
    assert s.requests("oa") == {"401": 1, "403": 2, "400": 1, "200": 1}
    assert s.refused("oa") == dict({r: 0 for r in REASONS},
                                   unauthorized=1, forbidden=2)
    assert mock.requests() and len(mock.requests()) == 1


def test_overload_counted(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     max_connections=3)
    held = [itlib.RawConn(d.port) for _ in range(3)]
    try:
        for c in held:
            c.request("GET", "/healthz")
            assert c.read_response("GET").status == 200
        with itlib.RawConn(d.port) as c:
            c.request("POST", "/oa/echo", body=b"{}")
            assert c.read_response().status == 503
    finally:
        for c in held:
            c.close()

    def scraped():
        try:
            return _scrape(d)
        except (OSError, AssertionError):
            return None
    s = wait_until(scraped, 5 * SLOW, "a scrape once connections closed")
    assert s.requests("oa") == {"503": 1}
    assert s.refused("oa")["overload"] == 1


def _answered_503(socks, timeout):
    """Read every socket until it closes or timeout passes; return how
    many were answered 503."""
    return sum(1 for v in itlib.read_until_closed(socks, timeout)
               if v.startswith(b"HTTP/1.1 503"))


def test_503_at_accept_counted_unrouted(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     header_timeout=1.0 * SLOW)
    n = 40
    soft, hard = resource.prlimit(d.pid, resource.RLIMIT_NOFILE)
    flood = []
    try:
        fds = len(os.listdir("/proc/%d/fd" % d.pid))
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (fds + 10, hard))
        for _ in range(n):
            flood.append(socket.create_connection(("127.0.0.1", d.port)))
        shed = _answered_503(flood, 5 * SLOW)
    finally:
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (soft, hard))
        for s in flood:
            s.close()
    assert shed >= 10, shed

    def scraped():
        try:
            return _scrape(d)
        except (OSError, AssertionError):
            return None
    s = wait_until(scraped, 5 * SLOW, "a scrape after the flood")
    # Each connection answered at accept is one request of provider "";
    # a reader may have missed an answer, none was counted twice.
    got = s.requests("").get("503", 0)
    assert shed <= got <= n, (shed, got)
    assert s.refused("")["overload"] == got
    assert s.requests("oa") == {}


# --- reload ------------------------------------------------------------------

def test_reload_keeps_counters_by_name(start_daemon, mock):
    both = [itlib.proxy_provider("oa", mock.url),
            itlib.simulated_provider("demo")]
    d = start_daemon(both)

    def reload(providers, ready):
        with open(d.conf_path, "w") as f:
            f.write(itlib.render_config(providers, shutdown_timeout=3.0))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(ready, 5 * SLOW, "the reloaded configuration in use")

    for _ in range(2):
        assert _post(d.port, "/oa" + CHAT, _chat()).status == 200
    assert _post(d.port, "/demo" + CHAT, _chat(2)).status == 200
    # oa removed: its series stay, frozen; the others go on.
    reload([itlib.simulated_provider("demo"),
            itlib.simulated_provider("new")],
           lambda: ("llmproxy_in_flight", (("provider", "new"),))
           in _scrape(d).samples)
    assert _post(d.port, "/oa" + CHAT, _chat()).status == 404
    assert _post(d.port, "/new" + CHAT, _chat(2)).status == 200
    s = _scrape(d)
    assert s.requests("oa") == {"200": 2}
    assert s.requests("new") == {"200": 1}
    # oa back: counting resumes where it stopped, in one series.
    # (a 404 before the reload takes effect is not counted for oa)
    reload(both, lambda: _post(d.port, "/oa" + CHAT, _chat()).status == 200)
    wait_until(lambda: _scrape(d).requests("oa") == {"200": 3}, 5 * SLOW,
               "three requests for oa across the reloads")
    s = _scrape(d)
    assert s.requests("demo") == {"200": 1}
    _assert_histogram_sane(s, "llmproxy_request_duration_seconds", "oa", 3)
    d.healthy()
