# SPDX-License-Identifier: ISC
"""The exchange and its attempts (issue 10) and the numbers the daemon's
own 429s give (SPEC 5, issue 11), as a client sees them.

- A client that hangs up before anything was sent to it is logged and
  counted with status 0 (SPEC 8: code "0"), whatever the upstream said
  to an attempt it never saw: during a backoff, while a 429 is held.
- A connect error is retried after a jittered backoff, not at once.
- x-llmproxy-queue-ms counts every wait for admission, the pauses after
  an upstream 429 included.
- Retry-After on the daemon's 429 says when a request like it could be
  admitted: the request bucket's refill behind the queue.
"""

import pytest

import itlib
from itlib import SLOW, RawConn, jbody, now, request

CHAT = "/v1/chat/completions"
JSON_CT = ("Content-Type", "application/json")
BODY = {"model": "m", "max_tokens": 4,
        "messages": [{"role": "user", "content": "hi"}]}


def _post(port, target, headers=(), timeout=30.0):
    return request(port, "POST", target, [JSON_CT] + list(headers),
                   jbody(BODY), timeout=timeout * SLOW)


def _requests_by_code(d, provider):
    r = request(d.port, "GET", "/metrics", timeout=5 * SLOW)
    assert r.status == 200, r.status
    codes = {}
    for ln in r.body.decode().splitlines():
        if ln.startswith("llmproxy_requests_total{") and \
                'provider="%s"' % provider in ln:
            code = ln.split('code="')[1].split('"')[0]
            codes[code] = float(ln.rsplit(" ", 1)[1])
    return codes


def _hang_up_after_first_attempt(d, mock, mock_id, headers):
    """Send a request, wait for its first attempt at the mock, hang up;
    return the access line of the exchange."""
    c = RawConn(d.port, timeout=10 * SLOW)
    c.request("POST", "/oa" + CHAT, [JSON_CT, ("x-mock-id", mock_id)] +
              list(headers), jbody(BODY))
    mock.wait_request(mock_id, lambda r: True, 5 * SLOW,
                      "the first attempt at the mock")
    c.close()
    return d.wait_access(lambda l: "end=client" in l, 5 * SLOW,
                         "the access line of the client that hung up")


def test_hangup_during_backoff_is_status_0(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=2)])
    line = _hang_up_after_first_attempt(d, mock, "bo-hang", [
        ("x-mock-status", "503"),
        ("x-mock-response-header", "retry-after: 5")])
    assert " status=0 " in line, line
    assert len(mock.find("bo-hang")) == 1     # the retry never went out
    assert _requests_by_code(d, "oa") == {"0": 1.0}


def test_hangup_while_429_held_is_status_0(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=2)])
    # The 429's body trickles in, so the daemon holds it to read it.
    line = _hang_up_after_first_attempt(d, mock, "held-hang", [
        ("x-mock-status", "429"), ("x-mock-trickle-ms", "300")])
    assert " status=0 " in line, line
    assert _requests_by_code(d, "oa") == {"0": 1.0}


def test_connect_error_backs_off(start_daemon):
    """Three connect errors each: a backoff of 0.5 s x 2^n with full
    jitter lies between them, so ten of them add up to seconds, where
    retrying at once takes milliseconds."""
    d = start_daemon([itlib.proxy_provider(
        "oa", "http://127.0.0.1:%d" % itlib.closed_port(), retries=2)])
    t0 = now()
    for _ in range(5):
        r = _post(d.port, "/oa" + CHAT)
        assert r.status == 502, (r.status, r.body)
        assert r.json()["error"]["code"] == "llmproxy_upstream_unreachable"
        assert r.header("x-llmproxy-attempts") == "3"
    took = now() - t0
    itlib.MEASURED["5 requests x 2 connect-error backoffs (s, mean 3.75)"] \
        = took
    # Ten uniform waits on [0, 0.5] and [0, 1]: below 0.5 s in all with
    # a probability under 1e-6.
    assert took > 0.5, took


def test_queue_ms_counts_every_wait(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=2)])
    r = _post(d.port, "/oa" + CHAT, [
        ("x-mock-status", "429"),
        ("x-mock-response-header", "retry-after: 1"),
        ("x-mock-id", "qms")])
    assert r.status == 429, (r.status, r.body)
    assert r.header("x-llmproxy-attempts") == "3"
    queued = int(r.header("x-llmproxy-queue-ms"))
    itlib.MEASURED["queue-ms across two 1 s pauses (ms)"] = queued
    # Admitted at once, then twice held back by a 1 s pause.
    assert 1800 <= queued <= 2000 + 1000 * SLOW, queued


def _retry_ms(r):
    ms = int(r.header("retry-after-ms"))
    assert int(r.header("Retry-After")) == -(-ms // 1000), r.headers
    return ms


def test_retry_after_when_queue_full(start_daemon, mock, bg_pool):
    """rpm 30, burst 1: one request every 2 s.  The first empties the
    bucket, the second waits in the one queue place, so a third could
    be admitted 4 s after the first."""
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, requests_per_minute=30, burst=1, queue_max=1,
        queue_timeout=20.0)])
    t0 = now()
    assert _post(d.port, "/oa" + CHAT).status == 200
    second = bg_pool.submit(_post, d.port, "/oa" + CHAT)
    itlib.wait_until(lambda: _queued(d) == 1, 5 * SLOW, "one queued")
    r = _post(d.port, "/oa" + CHAT)
    elapsed_ms = (now() - t0) * 1000
    assert r.status == 429 and \
        r.json()["error"]["code"] == "llmproxy_queue_full", r.body
    ms = _retry_ms(r)
    itlib.MEASURED["queue full, rpm 30: retry-after-ms (truth 4000 - "
                   "elapsed)"] = ms
    truth = 4000 - elapsed_ms
    assert truth - 300 <= ms <= truth + 1000, (ms, truth)
    assert second.result().status == 200


def test_retry_after_when_queue_timeout(start_daemon, mock):
    """rpm 30, burst 1: after the first request, the bucket holds the
    next request 2 s later; one that gave up waiting at 0.5 s is told
    to come back in the remaining 1.5 s."""
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, requests_per_minute=30, burst=1,
        queue_timeout=0.5)])
    t0 = now()
    assert _post(d.port, "/oa" + CHAT).status == 200
    r = _post(d.port, "/oa" + CHAT)
    elapsed_ms = (now() - t0) * 1000
    assert r.status == 429 and \
        r.json()["error"]["code"] == "llmproxy_queue_timeout", r.body
    ms = _retry_ms(r)
    itlib.MEASURED["queue timeout, rpm 30: retry-after-ms (truth 2000 - "
                   "elapsed)"] = ms
    truth = 2000 - elapsed_ms
    assert max(1000, truth - 300) <= ms <= truth + 1000, (ms, truth)


def _queued(d):
    r = request(d.port, "GET", "/status", timeout=5 * SLOW)
    return r.json()["providers"][0]["queued"]


@pytest.fixture
def bg_pool():
    import concurrent.futures
    pool = concurrent.futures.ThreadPoolExecutor(4)
    yield pool
    pool.shutdown(wait=True)


def test_status_levels_read_as_a_person_writes_them(start_daemon, mock):
    """Bucket levels in /status are rounded to thousandths, printed
    without binary noise (6.518, not 6.5179999999999998)."""
    import re
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, requests_per_minute=7, burst=9,
        tokens_per_minute=100000)])
    # The refill since the request (7/60000 of a request per ms) leaves
    # a fraction in the level.
    assert _post(d.port, "/oa" + CHAT).status == 200
    text = request(d.port, "GET", "/status", timeout=5 * SLOW).body.decode()
    levels = re.search(r'"buckets":\{"requests":([^,]+),"tokens":([^}]+)\}',
                       text)
    assert levels, text
    for v in levels.groups():
        assert re.fullmatch(r"-?[0-9]+(\.[0-9]{1,3})?", v), (v, text)
    assert 7.9 < float(levels.group(1)) < 9, text


def test_bad_request_reason_is_one_logfmt_value(start_daemon, mock):
    """A 400's reason has spaces: the access line quotes it, so the line
    still splits into key=value pairs."""
    import shlex
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    c = RawConn(d.port, timeout=5 * SLOW)
    c.send(b"GET /oa/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Host: 127.0.0.2\r\n\r\n")
    r = c.read_response(method="GET")
    c.close()
    assert r.status == 400, (r.status, r.body)
    line = d.wait_access(lambda l: "reason=bad_request" in l, 5 * SLOW,
                         "the access line of the bad request")
    fields = shlex.split(line.split("access ", 1)[1])
    assert all("=" in f for f in fields), fields
    why = dict(f.split("=", 1) for f in fields)["why"]
    assert " " in why, why
