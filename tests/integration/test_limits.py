# SPDX-License-Identifier: ISC
"""Limits, queueing and retries (SPEC section 5) and GET /status (8).

The mock upstream is the judge: its /_mock/stats peak_active says how many
requests it ever saw at once, and every logged request carries its
arrival_ms on the mock's clock, so pacing is measured where it matters,
at the upstream.  Timings are asserted as lower bounds (the limiter may
never be early) and generous upper bounds; the numbers themselves go to
the "llmproxyd measurements" summary.
"""

import asyncio
import concurrent.futures
import datetime
import math
import re
import threading

import httpx
import pytest

import itlib
from itlib import SLOW, jbody, now, wait_until

MEASURED = itlib.MEASURED

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
JSON_CT = ("Content-Type", "application/json")

# A short chat body: "user" + "hi" are 6 bytes of strings under
# `messages`, so the daemon's estimate is 2 + max_tokens, and the mock
# reports 1 prompt token ("hi") plus its completion tokens as usage.
PROMPT = [{"role": "user", "content": "hi"}]
PROMPT_ESTIMATE = 2
MOCK_PROMPT_TOKENS = 1


def _chat(max_tokens=4, **kw):
    b = {"model": "m", "max_tokens": max_tokens, "messages": PROMPT}
    b.update(kw)
    return b


def _post(port, target, body, headers=(), timeout=30.0):
    return itlib.request(port, "POST", target, [JSON_CT] + list(headers),
                         jbody(body), timeout=timeout * SLOW)


def _status(d):
    r = itlib.request(d.port, "GET", "/status", timeout=5 * SLOW)
    assert r.status == 200, (r.status, r.body)
    return r.json()


def _pstatus(d, name):
    for p in _status(d)["providers"]:
        if p["name"] == name:
            return p
    raise AssertionError("provider %s missing from /status" % name)


def _wait_queued(d, name, n, timeout=5.0):
    return wait_until(lambda: _pstatus(d, name)["queued"] == n,
                      timeout * SLOW, "%s: %d queued in /status" % (name, n))


def _wait_idle(d, name, timeout=10.0):
    def idle():
        p = _pstatus(d, name)
        return p["queued"] == 0 and p["in_flight"] == 0
    wait_until(idle, timeout * SLOW, "%s: nothing queued or in flight"
               % name, interval=0.02)


def _arrivals(mock, prefix):
    """The mock's arrival times (ms) of requests whose id starts with
    prefix, in order of arrival."""
    return sorted(r["arrival_ms"] for r in mock.requests()
                  if (r.get("id") or "").startswith(prefix))


def _hdr_int(r, name):
    v = r.header(name)
    assert v is not None and re.fullmatch(r"[0-9]+", v), (name, v, r.headers)
    return int(v)


def _assert_retry_headers(r):
    """A refusal's Retry-After (whole seconds, rounded up) agrees with
    its retry-after-ms."""
    secs = _hdr_int(r, "Retry-After")
    ms = _hdr_int(r, "retry-after-ms")
    assert ms > 0 and secs == math.ceil(ms / 1000.0), (secs, ms)


def _assert_refusal_body(r, dialect, code, status=429):
    assert r.status == status, (r.status, r.body)
    assert (r.header("Content-Type") or "").startswith("application/json")
    b = r.json()
    if dialect == "openai":
        assert set(b) == {"error"}, b
        e = b["error"]
        assert e["code"] == code, b
        assert isinstance(e["message"], str) and e["message"], b
        if status == 429:
            assert e["type"] == "rate_limit_exceeded", b
    else:
        assert b["type"] == "error", b
        e = b["error"]
        if status == 429:
            assert e["type"] == "rate_limit_error", b
        assert e["message"].startswith(code), b


class Background:
    """Requests run on threads; result() waits for one."""

    def __init__(self, n=8):
        self.pool = concurrent.futures.ThreadPoolExecutor(n)

    def post(self, port, target, body, headers=(), timeout=30.0):
        return self.pool.submit(_post, port, target, body, headers, timeout)

    def close(self):
        self.pool.shutdown(wait=True)


@pytest.fixture
def bg():
    b = Background(64)
    yield b
    b.close()


# --- 1. concurrency -------------------------------------------------------

def test_max_concurrent_holds_exactly(start_daemon, mock, bg):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, max_concurrent=3,
                                           queue_timeout=30.0)])
    n = 30
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait(10)
        return _post(d.port, "/oa" + CHAT, _chat(),
                     [("x-mock-delay-ms", "200"), ("x-mock-id", "mc-%d" % i)])

    t0 = now()
    futs = [bg.pool.submit(one, i) for i in range(n)]
    rs = [f.result() for f in futs]
    elapsed = now() - t0
    for i, r in enumerate(rs):
        assert r.status == 200, (i, r.status, r.body)
    peak = mock.stats()["peak_active"]
    MEASURED["max_concurrent=3, 30 clients: mock peak_active"] = peak
    MEASURED["max_concurrent=3, 30 x 200 ms: wall time (s)"] = elapsed
    assert peak == 3, peak
    assert len(_arrivals(mock, "mc-")) == n
    # Ten rounds of three: the slots were used, not wasted.
    assert elapsed >= 10 * 0.2 * 0.95
    assert elapsed < 10 * 0.2 * 3 * SLOW, elapsed
    p = _pstatus(d, "oa")
    assert p["totals"]["admitted"] == n and p["totals"]["refused"] == 0
    assert p["in_flight"] == 0 and p["queued"] == 0


# --- 2. request rate ------------------------------------------------------

def test_requests_per_minute_paces_arrivals(start_daemon, mock, bg):
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, requests_per_minute=600, burst=1, queue_max=1000,
        queue_timeout=60.0)])
    n = 60
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait(10)
        return _post(d.port, "/oa" + CHAT, _chat(),
                     [("x-mock-id", "rpm-%d" % i)], timeout=40.0)

    futs = [bg.pool.submit(one, i) for i in range(n)]
    rs = [f.result() for f in futs]
    for i, r in enumerate(rs):
        assert r.status == 200, (i, r.status, r.body)
    arr = _arrivals(mock, "rpm-")
    assert len(arr) == n
    # Never early: the bucket (depth 1) pays one request every 100 ms.
    tol = 15.0
    early = [(i, arr[i] - arr[0]) for i in range(n)
             if arr[i] - arr[0] < i * 100.0 - tol]
    assert not early, "requests reached the upstream early: %r" % early[:5]
    gaps = [b - a for a, b in zip(arr, arr[1:])]
    rate = (n - 1) / ((arr[-1] - arr[0]) / 1000.0)
    MEASURED["rpm=600 burst=1, 60 at once: achieved rate (req/s)"] = rate
    MEASURED["rpm=600 burst=1: smallest gap at the mock (ms)"] = min(gaps)
    MEASURED["rpm=600 burst=1: largest gap at the mock (ms)"] = max(gaps)
    assert abs(rate - 10.0) <= 0.5, \
        "achieved %.3f req/s, want 10 within 5%%" % rate
    p = _pstatus(d, "oa")
    assert p["totals"]["admitted"] == n
    assert p["limits"]["requests_per_minute"] == 600
    assert p["limits"]["burst"] == 1


# --- 3. queue full --------------------------------------------------------

@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_queue_full_is_429_in_dialect(start_daemon, mock, bg, dialect):
    path = CHAT if dialect == "openai" else MESSAGES
    d = start_daemon([itlib.proxy_provider("p", mock.url, dialect,
                                           max_concurrent=1, queue_max=2,
                                           queue_timeout=30.0)])
    target = "/p" + path
    first = bg.post(d.port, target, _chat(),
                    [("x-mock-delay-ms", "1500"), ("x-mock-id", "qf-0")])
    mock.wait_request("qf-0", lambda r: True, 5 * SLOW,
                      "the first request at the mock")
    queued = []
    for i in (1, 2):
        queued.append(bg.post(d.port, target, _chat(),
                              [("x-mock-id", "qf-%d" % i)]))
        _wait_queued(d, "p", i)
    t0 = now()
    r = _post(d.port, target, _chat(), [("x-mock-id", "qf-3")])
    took = now() - t0
    _assert_refusal_body(r, dialect, "llmproxy_queue_full")
    _assert_retry_headers(r)
    assert took < 1.0 * SLOW, "a full queue must refuse at once (%.2f s)" % took
    # The others were not disturbed, and went in FIFO order.
    for f in [first] + queued:
        assert f.result().status == 200
    assert mock.find("qf-3") == []
    order = [x["id"] for x in mock.requests()
             if (x.get("id") or "").startswith("qf-")]
    assert order == ["qf-0", "qf-1", "qf-2"], order
    p = _pstatus(d, "p")
    assert p["totals"]["refused"] == 1 and p["totals"]["admitted"] == 3
    d.wait_access(lambda l: "status=429" in l and "reason=queue_full" in l,
                  5 * SLOW, "the access line with reason=queue_full")


# --- 4. queue timeout -----------------------------------------------------

def test_queue_timeout_is_429(start_daemon, mock, bg):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, max_concurrent=1,
                                           queue_timeout=0.5)])
    first = bg.post(d.port, "/oa" + CHAT, _chat(),
                    [("x-mock-delay-ms", "2000"), ("x-mock-id", "qt-0")])
    mock.wait_request("qt-0", lambda r: True, 5 * SLOW,
                      "the first request at the mock")
    t0 = now()
    r = _post(d.port, "/oa" + CHAT, _chat(), [("x-mock-id", "qt-1")])
    waited = now() - t0
    MEASURED["queue_timeout=0.5: refusal after (s)"] = waited
    _assert_refusal_body(r, "openai", "llmproxy_queue_timeout")
    _assert_retry_headers(r)
    assert waited >= 0.4, waited
    assert waited < 1.5 * SLOW, waited     # well before the first ends
    assert first.result().status == 200
    _wait_idle(d, "oa")
    assert mock.find("qt-1") == []
    d.wait_access(lambda l: "status=429" in l and
                  "reason=queue_timeout" in l, 5 * SLOW,
                  "the access line with reason=queue_timeout")
    assert [x["id"] for x in mock.requests()] == ["qt-0"]
    p = _pstatus(d, "oa")
    assert p["totals"]["refused"] == 1 and p["totals"]["admitted"] == 1


# --- 5. upstream 429 --------------------------------------------------------

def test_upstream_429_pauses_provider(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=0)])
    r = _post(d.port, "/oa" + CHAT, _chat(),
              [("x-mock-status", "429"),
               ("x-mock-response-header", "retry-after: 1"),
               ("x-mock-id", "p429-a")])
    # Passed through as the upstream sent it.
    assert r.status == 429, (r.status, r.body)
    assert r.json() == {"error": {"message": "mock error",
                                  "type": "requests", "param": None,
                                  "code": "rate_limit_exceeded"}}
    assert r.header("retry-after") == "1"
    assert r.header("x-llmproxy-attempts") == "1"
    assert r.header("retry-after-ms") is None
    r = _post(d.port, "/oa" + CHAT, _chat(), [("x-mock-id", "p429-b")])
    assert r.status == 200, (r.status, r.body)
    a = mock.find("p429-a")
    b = mock.find("p429-b")
    assert len(a) == 1 and len(b) == 1
    pause = (b[0]["arrival_ms"] - a[0]["arrival_ms"]) / 1000.0
    MEASURED["upstream 429 retry-after 1: next request after (s)"] = pause
    assert pause >= 0.9, "the provider did not pause: %.3f s" % pause
    assert pause < 3.0 * SLOW, pause
    p = _pstatus(d, "oa")
    assert p["totals"]["upstream_429"] == 1
    assert p["totals"]["retried"] == 0


def test_upstream_429_retried_then_passed_on(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=2)])
    t0 = now()
    r = _post(d.port, "/oa" + CHAT, _chat(),
              [("x-mock-status", "429"),
               ("x-mock-response-header", "retry-after-ms: 200"),
               ("x-mock-id", "r429")])
    took = now() - t0
    assert r.status == 429, (r.status, r.body)
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert r.header("x-llmproxy-attempts") == "3"
    assert r.header("retry-after-ms") == "200"
    seen = sorted(x["arrival_ms"] for x in mock.find("r429"))
    assert len(seen) == 3, seen
    gaps = [(b - a) / 1000.0 for a, b in zip(seen, seen[1:])]
    MEASURED["upstream 429 retry-after-ms 200: gaps between attempts (s)"] \
        = min(gaps)
    assert all(g >= 0.18 for g in gaps), gaps
    assert took < 3.0 * SLOW, took
    t = _pstatus(d, "oa")["totals"]
    assert t["upstream_429"] == 3, t
    assert t["retried"] == 2, t
    assert t["admitted"] >= 1


def test_insufficient_quota_is_not_retried_nor_paused(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=2)])
    # The retry-after would pause the provider for 2 s if it were obeyed.
    r = _post(d.port, "/oa" + CHAT, _chat(),
              [("x-mock-status", "429"),
               ("x-mock-error-code", "insufficient_quota"),
               ("x-mock-response-header", "retry-after: 2"),
               ("x-mock-id", "quota")])
    assert r.status == 429, (r.status, r.body)
    assert r.json()["error"]["code"] == "insufficient_quota"
    assert r.header("x-llmproxy-attempts") == "1"
    r2 = _post(d.port, "/oa" + CHAT, _chat(), [("x-mock-id", "quota-next")])
    assert r2.status == 200
    assert len(mock.find("quota")) == 1
    a = mock.find("quota")[0]["arrival_ms"]
    b = mock.find("quota-next")[0]["arrival_ms"]
    MEASURED["insufficient_quota: next request after (s)"] = (b - a) / 1000.0
    assert b - a < 500, "the provider paused after a billing error: " \
        "%.0f ms" % (b - a)
    p = _pstatus(d, "oa")
    assert p["cooldown_until"] is None
    assert p["totals"]["retried"] == 0


# --- 6. 5xx retries -------------------------------------------------------

def test_5xx_retried_with_backoff(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=2)])
    r = _post(d.port, "/oa" + CHAT, _chat(),
              [("x-mock-status", "503"), ("x-mock-id", "s503")])
    assert r.status == 503, (r.status, r.body)
    assert r.json()["error"]["code"] == "service_unavailable"
    assert r.header("x-llmproxy-attempts") == "3"
    seen = sorted(x["arrival_ms"] for x in mock.find("s503"))
    assert len(seen) == 3, seen
    gaps = [(b - a) / 1000.0 for a, b in zip(seen, seen[1:])]
    # Full jitter: [0, 0.5 s], then [0, 1 s].
    assert gaps[0] <= 0.5 + 0.3 * SLOW and gaps[1] <= 1.0 + 0.3 * SLOW, gaps
    assert _pstatus(d, "oa")["totals"]["retried"] == 2
    # A client error is the client's: one attempt.
    r = _post(d.port, "/oa" + CHAT, _chat(),
              [("x-mock-status", "400"), ("x-mock-id", "s400")])
    assert r.status == 400
    assert r.header("x-llmproxy-attempts") == "1"
    assert len(mock.find("s400")) == 1
    assert _pstatus(d, "oa")["totals"]["retried"] == 2


def test_every_retryable_status_is_retried(start_daemon, mock):
    d = start_daemon([
        itlib.proxy_provider("oa", mock.url, retries=1),
        itlib.proxy_provider("an", mock.url, "anthropic", retries=1)])
    for status in (500, 502, 503, 504, 529):
        for prov, path in (("oa", CHAT), ("an", MESSAGES)):
            mid = "rs-%s-%d" % (prov, status)
            r = _post(d.port, "/%s%s" % (prov, path), _chat(),
                      [("x-mock-status", str(status)), ("x-mock-id", mid)])
            assert r.status == status, (mid, r.status, r.body)
            assert r.header("x-llmproxy-attempts") == "2", mid
            assert len(mock.find(mid)) == 2, mid


def test_5xx_retry_after_wins_over_backoff(start_daemon, mock, bg):
    # rpm=6: 0.1 request per second refills, so the bucket shows what
    # each attempt paid; max_concurrent=1 shows the slot is given back
    # during the backoff.
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, retries=1, max_concurrent=1, requests_per_minute=6,
        burst=3, queue_timeout=10.0)])
    f = bg.post(d.port, "/oa" + CHAT, _chat(),
                [("x-mock-status", "503"),
                 ("x-mock-response-header", "retry-after-ms: 800"),
                 ("x-mock-id", "s503ra")])
    mock.wait_request("s503ra", lambda x: True, 5 * SLOW,
                      "the first attempt at the mock")
    r = _post(d.port, "/oa" + CHAT, _chat(), [("x-mock-id", "s503ra-other")])
    assert r.status == 200
    r = f.result()
    assert r.status == 503
    assert r.header("x-llmproxy-attempts") == "2"
    seen = sorted(x["arrival_ms"] for x in mock.find("s503ra"))
    assert len(seen) == 2
    gap = (seen[1] - seen[0]) / 1000.0
    MEASURED["503 retry-after-ms 800: retry after (s)"] = gap
    # The jittered backoff alone would be at most 0.5 s.
    assert gap >= 0.75, gap
    assert gap < 2.5 * SLOW, gap
    other = mock.find("s503ra-other")[0]["arrival_ms"]
    assert seen[0] < other < seen[1], \
        "the slot was held during the backoff: %r" % ((seen, other),)
    # Three attempts in all paid 3 requests of the 3 + ~0.1 available.
    p = _pstatus(d, "oa")
    assert p["buckets"]["requests"] < 0.5, p["buckets"]
    assert p["totals"]["retried"] == 1


# --- 7. tokens ------------------------------------------------------------

def test_token_bucket_reserves_then_corrects(start_daemon, mock, bg):
    d = start_daemon([
        itlib.proxy_provider("oa", mock.url, tokens_per_minute=1000,
                             default_max_tokens=50),
        itlib.proxy_provider("an", mock.url, "anthropic",
                             tokens_per_minute=1000)])
    per_s = 1000 / 60.0
    assert _pstatus(d, "oa")["buckets"]["tokens"] == pytest.approx(1000)
    assert _pstatus(d, "oa")["buckets"]["requests"] is None
    # Spend about half the bucket, with usage the estimate foresaw (the
    # mock answers max_tokens tokens), so that the correction below is
    # not hidden by the bucket's depth.
    r = _post(d.port, "/oa" + CHAT, _chat(500))
    assert r.status == 200
    used = r.json()["usage"]["total_tokens"]
    assert used == MOCK_PROMPT_TOKENS + 500
    t0 = now()
    lvl0 = _pstatus(d, "oa")["buckets"]["tokens"]
    assert 1000 - used - 2 <= lvl0 <= 1000 - used + 2 + per_s * 2, lvl0
    # Now a request that reserves 302 and uses 6.
    est = PROMPT_ESTIMATE + 300
    real = MOCK_PROMPT_TOKENS + 5
    f = bg.post(d.port, "/oa" + CHAT, _chat(300),
                [("x-mock-delay-ms", "1500"), ("x-mock-chunks", "5"),
                 ("x-mock-id", "tok")])
    mock.wait_request("tok", lambda x: True, 5 * SLOW, "the request at the "
                      "mock")
    ta = now()
    lvl1 = _pstatus(d, "oa")["buckets"]["tokens"]
    t1 = now()
    drop = lvl0 - lvl1
    refill = per_s * (t1 - t0) + 1
    MEASURED["tpm=1000: bucket drop at admission (tokens, estimate 302)"] = \
        drop
    assert est - refill <= drop <= est + 1, (lvl0, lvl1, refill)
    r = f.result()
    assert r.status == 200
    assert r.json()["usage"]["total_tokens"] == real
    lvl2 = _pstatus(d, "oa")["buckets"]["tokens"]
    t2 = now()
    rise = lvl2 - lvl1
    MEASURED["tpm=1000: bucket rise after usage (tokens, expect 296)"] = rise
    refill = per_s * (t2 - ta) + 1
    assert est - real - 1 <= rise <= est - real + refill, \
        (lvl1, lvl2, refill)
    # Too large for the bucket ever: refused at once, the mock sees nothing.
    for prov, path, dialect in (("oa", CHAT, "openai"),
                                ("an", MESSAGES, "anthropic")):
        for mt in (5000, 1000 - PROMPT_ESTIMATE + 1):
            mid = "big-%s-%d" % (prov, mt)
            t0 = now()
            r = _post(d.port, "/%s%s" % (prov, path), _chat(mt),
                      [("x-mock-id", mid)])
            _assert_refusal_body(r, dialect, "llmproxy_request_too_large",
                                 status=413)
            assert now() - t0 < 1.0 * SLOW
            assert mock.find(mid) == []
    assert _pstatus(d, "oa")["totals"]["refused"] == 2


def test_default_max_tokens_in_estimate(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url,
                                           tokens_per_minute=1000,
                                           default_max_tokens=990)])
    # No max_tokens: 2 + 990 fits; a longer prompt tips it over 1000.
    body = {"model": "m", "messages": PROMPT}
    r = _post(d.port, "/oa" + CHAT, body, [("x-mock-chunks", "1")])
    assert r.status == 200, (r.status, r.body)
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 40}]}
    r = _post(d.port, "/oa" + CHAT, body, [("x-mock-id", "dmt")])
    _assert_refusal_body(r, "openai", "llmproxy_request_too_large", 413)
    assert mock.find("dmt") == []


# --- 8. a client that leaves while queued ----------------------------------

def test_client_gone_while_queued_never_reaches_upstream(start_daemon, mock,
                                                         bg):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, max_concurrent=1,
                                           queue_timeout=30.0)])
    first = bg.post(d.port, "/oa" + CHAT, _chat(),
                    [("x-mock-delay-ms", "2000"), ("x-mock-id", "gq-0")])
    mock.wait_request("gq-0", lambda r: True, 5 * SLOW,
                      "the first request at the mock")
    c = itlib.RawConn(d.port, timeout=10 * SLOW)
    c.request("POST", "/oa" + CHAT, [JSON_CT, ("x-mock-id", "gq-1")],
              jbody(_chat()))
    _wait_queued(d, "oa", 1)
    wait_until(lambda: now() - c.sent_at >= 0.2, 1.0, "200 ms")
    closed_at = now()
    c.close()
    # Withdrawn from the queue at once, not when its turn comes.
    _wait_queued(d, "oa", 0, timeout=1.0)
    MEASURED["client gone while queued: withdrawn after (s)"] = \
        now() - closed_at
    assert not first.done(), "the first request ended too soon to tell"
    assert first.result().status == 200
    _wait_idle(d, "oa")
    assert [x["id"] for x in mock.requests()] == ["gq-0"]
    # The slot is free: the next request goes straight through.
    r = _post(d.port, "/oa" + CHAT, _chat(), [("x-mock-id", "gq-2")])
    assert r.status == 200 and _hdr_int(r, "x-llmproxy-queue-ms") < 500
    assert [x["id"] for x in mock.requests()] == ["gq-0", "gq-2"]


# --- 9. /status -----------------------------------------------------------

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?"
                     r"([Zz]|[+-]\d{2}:\d{2})$")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _parse_rfc3339(s):
    s = re.sub(r"[Zz]$", "+00:00", s)
    m = re.match(r"^(.*?)(\.\d+)?([+-]\d{2}:\d{2})$", s)
    frac = (m.group(2) or ".0")[:7].ljust(7, "0")
    return datetime.datetime.fromisoformat(m.group(1) + frac + m.group(3))


def _check_provider_shape(p):
    assert isinstance(p["name"], str)
    assert _is_int(p["in_flight"]) and p["in_flight"] >= 0, p
    assert _is_int(p["queued"]) and p["queued"] >= 0, p
    for k in ("requests_per_minute", "tokens_per_minute", "burst",
              "max_concurrent", "queue_max"):
        assert _is_int(p["limits"][k]), (k, p)
    for k in ("requests", "tokens"):
        v = p["buckets"][k]
        assert v is None or _is_num(v), (k, p)
    cu = p["cooldown_until"]
    assert cu is None or (isinstance(cu, str) and RFC3339.match(cu)), p
    for k in ("admitted", "refused", "retried", "upstream_429"):
        assert _is_int(p["totals"][k]) and p["totals"][k] >= 0, (k, p)


def test_status_shape_and_cooldown(start_daemon, mock):
    d = start_daemon([
        itlib.proxy_provider("lim", mock.url, requests_per_minute=120,
                             burst=4, tokens_per_minute=50000,
                             max_concurrent=7, queue_max=9, retries=0),
        itlib.proxy_provider("free", mock.url),
        itlib.simulated_provider("demo")])
    st = _status(d)
    assert isinstance(st["version"], str) and st["version"]
    assert _is_num(st["uptime_s"]) and st["uptime_s"] >= 0
    assert [p["name"] for p in st["providers"]] == ["lim", "free", "demo"]
    for p in st["providers"]:
        _check_provider_shape(p)
    lim, free = st["providers"][0], st["providers"][1]
    assert lim["limits"] == {"requests_per_minute": 120,
                             "tokens_per_minute": 50000, "burst": 4,
                             "max_concurrent": 7, "queue_max": 9}
    assert lim["buckets"]["requests"] == pytest.approx(4)
    assert lim["buckets"]["tokens"] == pytest.approx(50000)
    assert free["buckets"] == {"requests": None, "tokens": None}
    assert free["limits"]["max_concurrent"] == 0
    assert free["limits"]["queue_max"] == 1000
    assert lim["cooldown_until"] is None
    assert lim["totals"] == {"admitted": 0, "refused": 0, "retried": 0,
                             "upstream_429": 0}
    # An upstream 429 with retry-after: 2 sets a cooldown ~2 s ahead.
    before = datetime.datetime.now(datetime.timezone.utc)
    r = _post(d.port, "/lim" + CHAT, _chat(),
              [("x-mock-status", "429"),
               ("x-mock-response-header", "retry-after: 2")])
    assert r.status == 429
    p = _pstatus(d, "lim")
    _check_provider_shape(p)
    cu = p["cooldown_until"]
    assert cu is not None, p
    ahead = (_parse_rfc3339(cu) - before).total_seconds()
    MEASURED["/status cooldown_until after retry-after 2 (s ahead)"] = ahead
    assert 1.5 <= ahead <= 3.5 * SLOW, (cu, before, ahead)
    assert p["totals"]["upstream_429"] == 1
    assert p["totals"]["admitted"] == 1
    # The other provider is not paused.
    assert _pstatus(d, "free")["cooldown_until"] is None
    wait_until(lambda: _pstatus(d, "lim")["cooldown_until"] is None,
               4.0 * SLOW, "the cooldown to end", interval=0.1)


# --- 10. the seed's asyncio scenario ------------------------------------------

async def _hundred(base, n, headers):
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, limits=limits,
                                 timeout=httpx.Timeout(60.0 * SLOW)) as cl:

        async def one(i):
            h = dict(headers)
            h["x-mock-id"] = "seed-%d" % i
            r = await cl.post("/oa" + CHAT, json=_chat(4), headers=h)
            return r.status_code, r.headers, r.json()

        return await asyncio.gather(*(one(i) for i in range(n)))


@pytest.mark.timeout(120)
def test_hundred_async_clients_share_the_limits(start_daemon, mock):
    rpm, burst, mc, n = 300, 50, 5, 100
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, requests_per_minute=rpm, burst=burst,
        max_concurrent=mc, queue_max=1000, queue_timeout=60.0)])
    t0 = now()
    results = asyncio.run(_hundred(d.url, n, {"x-mock-delay-ms": "100"}))
    elapsed = now() - t0
    statuses = [s for s, _, _ in results]
    assert statuses.count(429) == 0, statuses
    assert statuses == [200] * n, statuses
    for _, h, body in results:
        assert body["usage"]["completion_tokens"] == 4
    peak = mock.stats()["peak_active"]
    arr = _arrivals(mock, "seed-")
    assert len(arr) == n
    MEASURED["seed: 100 async clients, mc=5: mock peak_active"] = peak
    MEASURED["seed: 100 async clients, rpm=300 burst=50: wall time (s)"] = \
        elapsed
    assert peak == mc, peak
    # Past the burst, one request per 200 ms at most.
    per = 60000.0 / rpm
    early = [(k, arr[k] - arr[0]) for k in range(burst, n)
             if arr[k] - arr[0] < (k - burst + 1) * per - 15]
    assert not early, "over the request rate: %r" % early[:5]
    # ...and no capacity wasted: the last one goes as soon as the bucket
    # (full at the start, 5 per second after) can pay for it.
    span = arr[-1] - arr[0]
    want = (n - burst) * per
    MEASURED["seed: first to last arrival (s, ideal %.1f)" % (want / 1000)] \
        = span / 1000.0
    assert span <= want * 1.05, (span, want)
    p = _pstatus(d, "oa")
    assert p["totals"]["admitted"] == n and p["totals"]["refused"] == 0


# --- more of section 5: reset headers, remaining headers, debt, FIFO ---------

def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def test_429_pause_follows_header_precedence(start_daemon, mock):
    """retry-after-ms, retry-after, the reset of the limit at 0 (the
    longest), the shortest reset, else 1 s: one provider per case."""
    in3 = int(_utc_now().timestamp()) + 3
    rfc = datetime.datetime.fromtimestamp(in3, datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = {
        # name: (dialect, response headers, expected pause in s or None
        #        when the expected instant is absolute)
        "after-ms": ("openai", ["retry-after-ms: 700", "retry-after: 3",
                                "x-ratelimit-remaining-tokens: 0",
                                "x-ratelimit-reset-tokens: 2s"], 0.7),
        "after": ("openai", ["retry-after: 2",
                             "x-ratelimit-remaining-tokens: 0",
                             "x-ratelimit-reset-tokens: 3s"], 2.0),
        "at-zero": ("openai", ["x-ratelimit-remaining-requests: 5",
                               "x-ratelimit-reset-requests: 20ms",
                               "x-ratelimit-remaining-tokens: 0",
                               "x-ratelimit-reset-tokens: 1.5s"], 1.5),
        "shortest": ("openai", ["x-ratelimit-remaining-requests: 5",
                                "x-ratelimit-reset-requests: 3s",
                                "x-ratelimit-remaining-tokens: 70",
                                "x-ratelimit-reset-tokens: 1.2s"], 1.2),
        "none": ("openai", [], 1.0),
        "anthropic": ("anthropic",
                      ["anthropic-ratelimit-requests-remaining: 3",
                       "anthropic-ratelimit-requests-reset: " + rfc,
                       "anthropic-ratelimit-tokens-remaining: 0",
                       "anthropic-ratelimit-tokens-reset: " + rfc], None),
    }
    d = start_daemon([itlib.proxy_provider(name, mock.url, dialect,
                                           retries=0)
                      for name, (dialect, _, _) in cases.items()])
    for name, (dialect, hdrs, pause) in cases.items():
        path = CHAT if dialect == "openai" else MESSAGES
        before = _utc_now()
        r = _post(d.port, "/%s%s" % (name, path), _chat(),
                  [("x-mock-status", "429")] +
                  [("x-mock-response-header", h) for h in hdrs])
        after = _utc_now()
        assert r.status == 429, (name, r.status, r.body)
        cu = _pstatus(d, name)["cooldown_until"]
        assert cu is not None, name
        until = _parse_rfc3339(cu)
        if pause is None:
            want = datetime.datetime.fromtimestamp(in3,
                                                   datetime.timezone.utc)
            assert abs((until - want).total_seconds()) <= 0.3, (name, cu)
        else:
            lo = (until - after).total_seconds()
            hi = (until - before).total_seconds()
            MEASURED["upstream 429 pause, case %s (s, want %.1f)"
                     % (name, pause)] = hi
            assert lo - 0.05 <= pause <= hi + 0.05 * SLOW, \
                (name, cu, lo, hi, pause)


def test_remaining_headers_lower_the_buckets(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, requests_per_minute=600, burst=5,
        tokens_per_minute=100000)])
    t0 = now()
    r = _post(d.port, "/oa" + CHAT, _chat(),
              [("x-mock-response-header", "x-ratelimit-remaining-requests: 0"),
               ("x-mock-response-header", "x-ratelimit-remaining-tokens: 100")])
    assert r.status == 200
    b = _pstatus(d, "oa")["buckets"]
    dt = now() - t0
    # Without the headers: 4 requests and ~99994 tokens.
    assert b["requests"] <= 10.0 * dt + 0.01, (b, dt)
    assert b["tokens"] <= 100 + 2 + 100000 / 60.0 * dt, (b, dt)
    # A remaining above what the daemon believes does not raise them.
    r = _post(d.port, "/oa" + CHAT, _chat(),
              [("x-mock-response-header",
                "x-ratelimit-remaining-requests: 1000")])
    assert r.status == 200
    assert _pstatus(d, "oa")["buckets"]["requests"] < 4


def test_usage_over_estimate_leaves_the_bucket_in_debt(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, tokens_per_minute=1000, queue_timeout=0.5)])
    # Estimate 2 + 10 = 12; the mock answers 1500 tokens: 1501 used.
    r = _post(d.port, "/oa" + CHAT, _chat(10), [("x-mock-chunks", "1500")])
    assert r.status == 200
    assert r.json()["usage"]["total_tokens"] == 1501
    lvl = _pstatus(d, "oa")["buckets"]["tokens"]
    MEASURED["tpm=1000: bucket after 1501 used on an estimate of 12"] = lvl
    assert -520 <= lvl <= -450, lvl
    # In debt, even a small request waits (here: past its queue_timeout).
    r = _post(d.port, "/oa" + CHAT, _chat(4), [("x-mock-id", "debt")])
    _assert_refusal_body(r, "openai", "llmproxy_queue_timeout")
    assert mock.find("debt") == []


def test_large_request_at_head_is_not_overtaken(start_daemon, mock, bg):
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, tokens_per_minute=60000, queue_timeout=30.0)])
    # Spend all but ~1000 tokens; the usage matches the estimate.
    r = _post(d.port, "/oa" + CHAT, _chat(59000), [("x-mock-id", "ff-a")])
    assert r.status == 200
    # 2502 tokens: the big one waits about 1.5 s for the bucket...
    big = bg.post(d.port, "/oa" + CHAT, _chat(2500),
                  [("x-mock-chunks", "1"), ("x-mock-id", "ff-big")])
    _wait_queued(d, "oa", 1)
    # ...and 6-token ones that would fit now queue behind it.
    small = []
    for i in range(3):
        small.append(bg.post(d.port, "/oa" + CHAT, _chat(4),
                             [("x-mock-id", "ff-small-%d" % i)]))
        _wait_queued(d, "oa", 2 + i)
    assert big.result().status == 200
    assert all(f.result().status == 200 for f in small)
    order = [x["id"] for x in mock.requests()]
    assert order == ["ff-a", "ff-big", "ff-small-0", "ff-small-1",
                     "ff-small-2"], order
    a = mock.find("ff-a")[0]["arrival_ms"]
    b = mock.find("ff-big")[0]["arrival_ms"]
    MEASURED["tpm=60000: big request waited for the bucket (s)"] = \
        (b - a) / 1000.0
    assert b - a >= 1000, b - a
