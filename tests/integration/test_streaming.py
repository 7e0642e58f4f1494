# SPDX-License-Identifier: ISC
"""Streams reach the client event by event (SPEC section 6), to HTTP/1.1
clients in chunks and to HTTP/1.0 clients close-delimited, and many at
once through one daemon."""

import concurrent.futures
import json

import pytest

import itlib
from itlib import RawConn, jbody, stream_request

CHUNKS = 10
INTERVAL_MS = 200


def _token_text(data):
    return json.loads(data)["choices"][0]["delta"].get("content")


def _spread(events, interval_s):
    """Count the gaps between consecutive events that are at least half an
    interval long: a buffered stream has none, a live one has many."""
    ts = [t for t, _, _ in events]
    return sum(1 for a, b in zip(ts, ts[1:]) if b - a >= interval_s / 2)


def test_openai_sse_arrives_event_by_event(daemon, mock):
    hs = [("x-mock-chunks", str(CHUNKS)),
          ("x-mock-interval-ms", str(INTERVAL_MS)), ("x-mock-id", "sse-oa")]
    r, p = stream_request(daemon.port, "/oa/v1/chat/completions",
                          jbody({"model": "m", "stream": True}), hs)
    assert r.status == 200
    assert r.framing == "chunked" and r.complete
    assert r.header("Content-Type").startswith("text/event-stream")
    datas = p.datas()
    assert datas[-1] == "[DONE]"
    tokens = [_token_text(d) for d in datas[:CHUNKS]]
    assert tokens == ["tok%d " % i for i in range(CHUNKS)]
    assert json.loads(datas[CHUNKS])["choices"][0]["finish_reason"] == \
        "stop"
    assert len(datas) == CHUNKS + 2

    first, last = p.events[0][0], p.events[-1][0]
    whole = last - r.sent_at
    paced = (CHUNKS - 1) * INTERVAL_MS / 1000.0
    # The mock paces the tokens: the stream cannot end sooner ...
    assert whole >= paced * 0.9, whole
    # ... and the first event must arrive long before the last was sent.
    assert first - r.sent_at < paced / 2, (first - r.sent_at, whole)
    assert last - first >= paced * 0.8, (last - first)
    assert _spread(p.events, INTERVAL_MS / 1000.0) >= (CHUNKS - 1) * 0.6

    rec = mock.find("sse-oa")[0]
    assert rec["finished_ms"] is not None and not rec["closed_early"]


def test_anthropic_sse_arrives_event_by_event(daemon, mock):
    hs = [("x-mock-chunks", str(CHUNKS)),
          ("x-mock-interval-ms", str(INTERVAL_MS)), ("x-mock-id", "sse-an"),
          ("anthropic-version", "2023-06-01")]
    r, p = stream_request(daemon.port, "/an/v1/messages",
                          jbody({"model": "m", "stream": True,
                                 "max_tokens": 64,
                                 "messages": [{"role": "user",
                                               "content": "hi"}]}), hs)
    assert r.status == 200 and r.complete
    names = [n for _, n, _ in p.events]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[2:2 + CHUNKS] == ["content_block_delta"] * CHUNKS
    assert names[-3:] == ["content_block_stop", "message_delta",
                          "message_stop"]
    for _, name, data in p.events:
        assert json.loads(data)["type"] == name
    texts = [json.loads(d)["delta"]["text"] for _, n, d in p.events
             if n == "content_block_delta"]
    assert texts == ["tok%d " % i for i in range(CHUNKS)]

    deltas = [e for e in p.events if e[1] == "content_block_delta"]
    paced = (CHUNKS - 1) * INTERVAL_MS / 1000.0
    assert p.events[0][0] - r.sent_at < paced / 2
    assert deltas[-1][0] - deltas[0][0] >= paced * 0.8
    assert _spread(deltas, INTERVAL_MS / 1000.0) >= (CHUNKS - 1) * 0.6


@pytest.mark.parametrize("keep_alive", [False, True])
def test_http10_client_gets_close_delimited_stream(daemon, mock, keep_alive):
    body = jbody({"stream": True})
    # Even when it asks for keep-alive, an unframed body ends with a close.
    extra = [("Connection", "keep-alive")] if keep_alive else []
    with RawConn(daemon.port, timeout=20) as c:
        c.request("POST", "/oa/v1/chat/completions",
                  [("Content-Type", "application/json"),
                   ("x-mock-chunks", "6"), ("x-mock-interval-ms", "50")]
                  + extra, body, version="HTTP/1.0")
        r = c.read_head()
        assert r.status == 200
        assert not r.has_header("Transfer-Encoding"), r.headers
        assert not r.has_header("Content-Length"), r.headers
        raw = b""
        for _, data in c.body_pieces(r, "POST", timeout=20):
            raw += data
        # body_pieces returned at EOF: the daemon closed the connection.
        assert r.framing == "close" and c.eof
    # Plain SSE bytes, no chunk-size lines.
    assert raw.startswith(b"data: {"), raw[:40]
    assert raw.endswith(b"data: [DONE]\n\n"), raw[-40:]
    datas = [d for _, _, d in itlib.sse_events(raw)]
    assert [_token_text(d) for d in datas[:6]] == \
        ["tok%d " % i for i in range(6)]
    assert len(datas) == 8


def test_http10_client_gets_json_answer_and_close(daemon, mock):
    with RawConn(daemon.port, timeout=20) as c:
        c.request("POST", "/oa/v1/chat/completions",
                  [("Content-Type", "application/json")],
                  jbody({"max_tokens": 3}), version="HTTP/1.0")
        r = c.read_response()
        assert r.status == 200
        assert not r.has_header("Transfer-Encoding")
        assert r.json()["choices"][0]["message"]["content"] == \
            "tok0 tok1 tok2 "
        assert c.wait_closed(10), "HTTP/1.0 connection left open"


def test_keep_alive_connection_serves_several_streams(daemon, mock):
    with RawConn(daemon.port, timeout=20) as c:
        for i in range(3):
            c.request("POST", "/oa/v1/chat/completions",
                      [("Content-Type", "application/json"),
                       ("x-mock-chunks", "4")], jbody({"stream": True}))
            r = c.read_response()
            assert r.status == 200 and r.framing == "chunked"
            assert r.body.endswith(b"data: [DONE]\n\n")
            c.request("POST", "/an/v1/messages",
                      [("Content-Type", "application/json")],
                      jbody({"max_tokens": 2}))
            r = c.read_response()
            assert r.status == 200
            assert r.json()["content"][0]["text"] == "tok0 tok1 "


def _one_stream(port, i, chunks):
    hs = [("x-mock-chunks", str(chunks)), ("x-mock-interval-ms", "20"),
          ("x-mock-id", "conc-%d" % i)]
    route = "/oa/v1/chat/completions" if i % 2 == 0 else "/an/v1/messages"
    r, p = stream_request(port, route, jbody({"stream": True,
                                               "model": "m%d" % i}),
                          hs, timeout=60)
    return i, r, p


def test_fifty_concurrent_streams_complete_intact(daemon, mock):
    n, chunks = 50, 20
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda i: _one_stream(daemon.port, i,
                                                      chunks), range(n)))
    for i, r, p in results:
        assert r.status == 200 and r.complete, i
        if i % 2 == 0:
            datas = p.datas()
            assert datas[-1] == "[DONE]", i
            assert [_token_text(d) for d in datas[:chunks]] == \
                ["tok%d " % k for k in range(chunks)], i
            assert all(json.loads(d)["model"] == "m%d" % i
                       for d in datas[:-1]), i
        else:
            names = [e[1] for e in p.events]
            assert names[-1] == "message_stop", i
            texts = [json.loads(d)["delta"]["text"] for _, nm, d in p.events
                     if nm == "content_block_delta"]
            assert texts == ["tok%d " % k for k in range(chunks)], i
    stats = mock.stats()
    assert stats["total"] == n
    # The streams really ran side by side through the daemon.
    assert stats["peak_active"] >= 10, stats
    daemon.healthy()


def test_plain_body_is_forwarded_as_it_arrives(daemon, mock):
    """Not only SSE: any body is passed on as it comes, never whole."""
    with RawConn(daemon.port, timeout=30) as c:
        c.request("POST", "/oa/v1/chat/completions",
                  [("Content-Type", "application/json"),
                   ("x-mock-trickle-ms", "5")], jbody({"max_tokens": 3}))
        r = c.read_response(keep_pieces=True, timeout=30)
    assert r.status == 200
    j = r.json()
    assert j["choices"][0]["message"]["content"] == "tok0 tok1 tok2 "
    ts = [t for t, _ in r.pieces]
    whole = ts[-1] - c.sent_at
    # ~280 bytes at one per 5 ms: the first arrive long before the last.
    assert whole >= len(r.body) * 0.005 * 0.8, whole
    assert ts[0] - c.sent_at < whole / 4, (ts[0] - c.sent_at, whole)
    assert len(r.pieces) >= 20, len(r.pieces)


def test_upstream_connections_are_kept_alive_and_pooled(daemon, mock):
    for i in range(10):
        r = itlib.request(daemon.port, "POST", "/oa/v1/chat/completions",
                          [("Content-Type", "application/json"),
                           ("x-mock-id", "pool-%d" % i)],
                          jbody({"max_tokens": 1}))
        assert r.status == 200
        r, p = stream_request(daemon.port, "/an/v1/messages",
                              jbody({"stream": True}),
                              [("x-mock-chunks", "2"),
                               ("x-mock-id", "pool-s%d" % i)])
        assert r.status == 200 and r.complete
    conns = {rec["conn"] for rec in mock.requests()}
    # Sequential requests share one upstream connection (a second one is
    # tolerated: a pool may open one more at a reuse race).
    assert len(conns) <= 2, conns
    for rec in mock.requests():
        assert rec["headers"] and not any(
            n.lower() == "connection" and "close" in v.lower()
            for n, v in rec["headers"]), rec["headers"]
