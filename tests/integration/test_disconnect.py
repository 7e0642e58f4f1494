# SPDX-License-Identifier: ISC
"""Client hang-ups cancel the upstream at once, and a client that stops
reading does not make the daemon buffer the stream (SPEC section 6)."""

import json
import os
import re

import pytest

import itlib
from itlib import SLOW, RawConn, jbody, now, wait_until

# What the tests measured, printed in the summary at the end.
MEASURED = itlib.MEASURED


def _start_stream(port, target, headers, body, reuse=False):
    c = RawConn(port, timeout=20 * SLOW)
    if reuse:
        # A whole exchange first: the stream then runs on a kept-alive
        # connection that already served a request.
        c.request("POST", target, [("Content-Type", "application/json")],
                  jbody({"stream": True, "max_tokens": 2}))
        r = c.read_response()
        assert r.status == 200 and r.complete
    c.request("POST", target, [("Content-Type", "application/json")] +
              headers, body)
    return c


def _read_events(c, r, n):
    """Read body pieces until n SSE events arrived."""
    p = itlib.SSEParser()
    for t, data in c.body_pieces(r, "POST", timeout=20 * SLOW):
        p.feed(t, data)
        if len(p.events) >= n:
            return p
    raise AssertionError("stream ended after %d events" % len(p.events))


def _hangup_latency(mock, mock_id, close):
    """Call close(); return seconds until the mock saw its client leave,
    on the mock's clock, and the request record."""
    before = mock.stats()["now_ms"]
    close()
    rec = mock.wait_request(mock_id, lambda r: r["closed_early"],
                            2.0 * SLOW, "the upstream request to be "
                            "closed after the client left")
    latency = (rec["closed_ms"] - before) / 1000.0
    return latency, rec


@pytest.mark.parametrize("reuse", [False, True],
                         ids=["new-connection", "kept-alive-connection"])
@pytest.mark.parametrize("route", ["/oa/v1/chat/completions",
                                   "/an/v1/messages"])
def test_disconnect_mid_stream_cancels_upstream(daemon, mock, route, reuse):
    mid = "dc-stream" + route.replace("/", "-")
    c = _start_stream(daemon.port, route,
                      [("x-mock-chunks", "100"),
                       ("x-mock-interval-ms", "100"), ("x-mock-id", mid)],
                      jbody({"stream": True}), reuse)
    r = c.read_head()
    assert r.status == 200
    _read_events(c, r, 3)
    conns_before = mock.stats()["connections_open"]
    latency, rec = _hangup_latency(mock, mid, c.close)
    MEASURED["disconnect mid-stream %s%s (ms)" % (
        route, " (kept-alive conn)" if reuse else "")] = latency * 1000
    assert latency < 1.0 * SLOW, latency
    assert rec["finished_ms"] is None       # cut, not run to its end
    # The upstream connection went away (it is not put back in the pool
    # with a half-sent answer on it).
    wait_until(lambda: mock.stats()["connections_open"] < conns_before,
               2 * SLOW, "the mock's connection count to drop")
    daemon.wait_access(lambda ln: "path=/v1/" in ln and "end=" in ln,
                       5 * SLOW, "the access line of the cut stream")
    daemon.healthy()
    # The daemon goes on serving streams.
    r2, p2 = itlib.stream_request(daemon.port, route,
                                  jbody({"stream": True}),
                                  [("x-mock-chunks", "3")])
    assert r2.status == 200 and r2.complete and len(p2.events) >= 4


@pytest.mark.parametrize("reuse", [False, True],
                         ids=["new-connection", "kept-alive-connection"])
@pytest.mark.parametrize("fault", [("x-mock-delay-ms", "5000"),
                                   ("x-mock-stall", "headers")])
def test_disconnect_before_upstream_answers_cancels_it(daemon, mock, fault,
                                                       reuse):
    mid = "dc-wait-" + fault[0]
    c = _start_stream(daemon.port, "/oa/v1/chat/completions",
                      [fault, ("x-mock-id", mid)], jbody({"stream": True}),
                      reuse)
    # The request reached the upstream, which is sitting on it.
    mock.wait_request(mid, lambda r: True, 5 * SLOW,
                      "the request to reach the mock")
    latency, rec = _hangup_latency(mock, mid, c.close)
    MEASURED["disconnect while upstream silent, %s%s (ms)" % (
        fault[0], " (kept-alive conn)" if reuse else "")] = latency * 1000
    assert latency < 1.0 * SLOW, latency
    daemon.healthy()
    r = itlib.request(daemon.port, "POST", "/oa/v1/chat/completions",
                      [("Content-Type", "application/json")],
                      jbody({"max_tokens": 2}))
    assert r.status == 200


def test_disconnect_mid_stream_from_simulated_provider(start_daemon):
    d = start_daemon([itlib.simulated_provider("demo", latency=0.05,
                                               tokens_per_second=20.0)])
    for route in ("/demo/v1/chat/completions", "/demo/v1/messages"):
        c = _start_stream(d.port, route, [],
                          jbody({"stream": True, "max_tokens": 1000}))
        r = c.read_head()
        assert r.status == 200
        _read_events(c, r, 3)
        c.close()
        path = route[len("/demo"):]
        line = d.wait_access(lambda ln: "path=%s " % path in ln,
                             2 * SLOW, "the access line of " + route)
        assert "end=" in line, line
    d.healthy()


OAI_HEAD = re.compile(rb'^data: \{"id":"chatcmpl-mock","object":'
                      rb'"chat\.completion\.chunk","created":1700000000,'
                      rb'"model":"m","choices":\[\{"index":0,"delta":'
                      rb'\{"content":"tok(\d+) ')
OAI_TAIL = b'"},"finish_reason":null}]}'


def test_slow_reader_does_not_grow_memory(start_daemon, mock):
    # ASan's quarantine keeps freed memory resident (256 MB by default),
    # which would look like buffering: keep it small for this daemon.
    asan = os.environ.get("ASAN_OPTIONS", "")
    asan = (asan + ":" if asan else "") + \
        "quarantine_size_mb=8:thread_local_quarantine_size_kb=64"
    d = start_daemon([itlib.proxy_provider("oa", mock.url,
                                           idle_timeout=60.0)],
                     extra_env={"ASAN_OPTIONS": asan})
    # Warm up the same path (curl, evhttp, connection pool).
    r, _ = itlib.stream_request(d.port, "/oa/v1/chat/completions",
                                jbody({"stream": True, "model": "m"}),
                                [("x-mock-chunks", "20"),
                                 ("x-mock-chunk-bytes", "102400")])
    assert r.status == 200 and r.complete
    base = d.rss_kb()

    chunks = 2000 if not itlib.WRAPPER else 300
    chunk_bytes = 102400
    total = chunks * chunk_bytes
    c = RawConn(d.port, timeout=60 * SLOW, rcvbuf=65536)
    c.request("POST", "/oa/v1/chat/completions",
              [("Content-Type", "application/json"),
               ("x-mock-chunks", str(chunks)),
               ("x-mock-chunk-bytes", str(chunk_bytes)),
               ("x-mock-id", "slow-1")],
              jbody({"stream": True, "model": "m"}))
    r = c.read_head()
    assert r.status == 200
    # Read nothing for a few seconds, watching the daemon's memory.
    peak = base
    finished = False
    t_end = now() + 3.0 * SLOW
    while now() < t_end and not finished:
        peak = max(peak, d.rss_kb())
        rec = mock.find("slow-1")
        assert rec, "the request did not reach the mock"
        finished = rec[0]["finished_ms"] is not None
        itlib.time.sleep(0.05)
    peak = max(peak, d.rss_kb())
    growth_mb = (peak - base) / 1024.0
    MEASURED["slow reader: RSS growth while paused (MB)"] = growth_mb
    assert growth_mb < 50, "RSS grew %.1f MB while the client did not " \
        "read a %d MB stream" % (growth_mb, total >> 20)
    assert not finished, "the mock sent the whole %d MB stream to a " \
        "client that reads nothing: the daemon buffered it" % (total >> 20)

    # Now read it all: every event, in order, intact.
    buf = bytearray()
    nevents = 0
    tail = []
    for _, data in c.body_pieces(r, "POST", timeout=120 * SLOW):
        buf += data
        while True:
            i = buf.find(b"\n\n")
            if i < 0:
                break
            ev = bytes(buf[:i])
            del buf[:i + 2]
            if nevents < chunks:
                m = OAI_HEAD.match(ev)
                assert m, ev[:200]
                assert int(m.group(1)) == nevents
                assert len(ev) == m.start(1) - 3 + chunk_bytes + \
                    len(OAI_TAIL), len(ev)
                assert ev.endswith(b"x" * 64 + OAI_TAIL), ev[-100:]
            else:
                tail.append(ev)
            nevents += 1
        peak = max(peak, d.rss_kb()) if nevents % 100 == 0 else peak
    c.close()
    assert r.complete
    assert nevents == chunks + 2, nevents
    assert json.loads(tail[0][6:])["choices"][0]["finish_reason"] == "stop"
    assert tail[1] == b"data: [DONE]"
    MEASURED["slow reader: peak RSS growth over the whole stream (MB)"] = \
        (peak - base) / 1024.0
    d.healthy()


def test_idle_timeout_drops_client_that_stopped_reading(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url,
                                           idle_timeout=1.0)])
    c = RawConn(d.port, timeout=30 * SLOW, rcvbuf=65536)
    c.request("POST", "/oa/v1/chat/completions",
              [("Content-Type", "application/json"),
               ("x-mock-chunks", "2000"), ("x-mock-chunk-bytes", "102400"),
               ("x-mock-id", "stuck-1")], jbody({"stream": True}))
    r = c.read_head()
    assert r.status == 200
    t0 = now()
    # The daemon pauses the upstream, then gives up on the client.
    rec = mock.wait_request("stuck-1", lambda x: x["closed_early"],
                            10 * SLOW, "the daemon to give up on a client "
                            "that stopped reading")
    assert now() - t0 >= 0.9
    assert rec["finished_ms"] is None
    # Reading now finds the stream cut short (no terminating chunk).
    with pytest.raises(itlib.IncompleteBody):
        for _ in c.body_pieces(r, "POST", timeout=20 * SLOW):
            pass
    c.close()
    d.healthy()


def test_disconnect_frees_the_concurrency_slot(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, max_concurrent=1,
                                           queue_timeout=10.0)])
    for i in range(3):
        c = _start_stream(d.port, "/oa/v1/chat/completions",
                          [("x-mock-chunks", "100"),
                           ("x-mock-interval-ms", "100"),
                           ("x-mock-id", "slot-%d" % i)],
                          jbody({"stream": True}))
        r = c.read_head()
        assert r.status == 200
        _read_events(c, r, 2)
        c.close()
        mock.wait_request("slot-%d" % i, lambda x: x["closed_early"],
                          2 * SLOW, "the hang-up to reach the mock")
    # With the one slot leaked, this would wait for queue_timeout.
    t0 = now()
    r = itlib.request(d.port, "POST", "/oa/v1/chat/completions",
                      [("Content-Type", "application/json")],
                      jbody({"max_tokens": 2}), timeout=20 * SLOW)
    assert r.status == 200, (r.status, r.body)
    assert now() - t0 < 5 * SLOW
    assert int(r.header("x-llmproxy-queue-ms")) < 5000 * SLOW
