# SPDX-License-Identifier: ISC
"""Upstream failures become answers the client can tell apart (SPEC
sections 4 and 6): before the headers, a JSON error in the provider's
dialect (502, 504); after them, an SSE stream ends with an error event
and any other body is cut.  The daemon serves the next request."""

import json
import socket

import pytest

import itlib
from itlib import SLOW, RawConn, jbody, now, request, stream_request


class Blackhole:
    """A listener whose accept queue is full: connects to it hang."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(0)
        self.port = self.ls.getsockname()[1]
        self.fillers = []
        for _ in range(8):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(c)

    def close(self):
        for c in self.fillers:
            c.close()
        self.ls.close()


@pytest.fixture
def blackhole():
    b = Blackhole()
    yield b
    b.close()


def _openai_error(r, status, code):
    assert r.status == status, (r.status, r.body)
    assert r.header("Content-Type").startswith("application/json")
    e = r.json()["error"]
    assert e["code"] == code, e
    assert isinstance(e["message"], str) and e["message"]
    assert isinstance(e["type"], str)
    return e


def _anthropic_error(r, status, code):
    assert r.status == status, (r.status, r.body)
    j = r.json()
    assert j["type"] == "error", j
    assert isinstance(j["error"]["type"], str)
    assert j["error"]["message"].startswith(code), j
    return j


def _fault_providers(mock, dead_port, **timeouts):
    kw = dict(retries=0, first_byte_timeout=0.5, idle_timeout=0.5)
    kw.update(timeouts)
    return [
        itlib.proxy_provider("oa", mock.url, "openai", **kw),
        itlib.proxy_provider("an", mock.url, "anthropic", **kw),
        itlib.proxy_provider("deadoa", "http://127.0.0.1:%d" % dead_port,
                             "openai", retries=0),
        itlib.proxy_provider("deadan", "http://127.0.0.1:%d" % dead_port,
                             "anthropic", retries=0),
    ]


@pytest.fixture
def fdaemon(start_daemon, mock):
    return start_daemon(_fault_providers(mock, itlib.closed_port()))


def _ok(d, prov="oa"):
    """A normal request through prov succeeds (after a failure)."""
    route = "/%s/v1/chat/completions" % prov if prov == "oa" else \
        "/%s/v1/messages" % prov
    r = request(d.port, "POST", route, [("Content-Type", "application/json")],
                jbody({"max_tokens": 2}))
    assert r.status == 200, (r.status, r.body)
    r.json()
    r2, p = stream_request(d.port, route, jbody({"stream": True}),
                           [("x-mock-chunks", "2")])
    assert r2.status == 200 and r2.complete
    assert p.events


def test_connection_refused_is_502_in_dialect(fdaemon):
    r = request(fdaemon.port, "POST", "/deadoa/v1/chat/completions",
                [("Content-Type", "application/json")], b"{}")
    _openai_error(r, 502, "llmproxy_upstream_unreachable")
    assert r.header("x-llmproxy-attempts") == "1"
    r = request(fdaemon.port, "POST", "/deadan/v1/messages",
                [("Content-Type", "application/json")], b"{}")
    _anthropic_error(r, 502, "llmproxy_upstream_unreachable")
    _ok(fdaemon)
    _ok(fdaemon, "an")


def test_connect_timeout_is_504(start_daemon, mock, blackhole):
    d = start_daemon([
        itlib.proxy_provider("hole", "http://127.0.0.1:%d" % blackhole.port,
                             "openai", retries=0, connect_timeout=0.5),
        itlib.proxy_provider("oa", mock.url)])
    t0 = now()
    r = request(d.port, "POST", "/hole/v1/chat/completions",
                [("Content-Type", "application/json")], b"{}",
                timeout=20 * SLOW)
    took = now() - t0
    _openai_error(r, 504, "llmproxy_connect_timeout")
    assert 0.4 <= took < 5 * SLOW, took
    _ok(d)


def test_first_byte_timeout_is_504(fdaemon, mock):
    for route, dialect in (("/oa/v1/chat/completions", "openai"),
                           ("/an/v1/messages", "anthropic")):
        mid = "fbt-" + dialect
        t0 = now()
        r = request(fdaemon.port, "POST", route,
                    [("Content-Type", "application/json"),
                     ("x-mock-stall", "headers"), ("x-mock-id", mid)],
                    jbody({"stream": True}), timeout=20 * SLOW)
        took = now() - t0
        if dialect == "openai":
            _openai_error(r, 504, "llmproxy_first_byte_timeout")
        else:
            _anthropic_error(r, 504, "llmproxy_first_byte_timeout")
        assert 0.45 <= took < 5 * SLOW, took
        # The stalled upstream request was abandoned, not left hanging.
        mock.wait_request(mid, lambda x: x["closed_early"], 2 * SLOW,
                          "the stalled upstream request to be closed")
        _ok(fdaemon)


def _events_then_error(r, p):
    assert r.status == 200
    assert r.framing == "chunked"
    assert r.complete, "the stream must end cleanly after the error event"
    return p.events


def test_idle_timeout_ends_openai_stream_with_error_event(fdaemon, mock):
    t0 = now()
    r, p = stream_request(fdaemon.port, "/oa/v1/chat/completions",
                          jbody({"stream": True}),
                          [("x-mock-stall", "body"), ("x-mock-chunks", "5"),
                           ("x-mock-id", "idle-oa")], timeout=20 * SLOW)
    assert now() - t0 >= 0.45
    events = _events_then_error(r, p)
    assert len(events) == 2, events
    first = json.loads(events[0][2])
    assert first["choices"][0]["delta"]["content"] == "tok0 "
    err = json.loads(events[-1][2])["error"]
    assert err["code"] == "llmproxy_idle_timeout", err
    assert err["message"]
    assert "[DONE]" not in p.datas()
    mock.wait_request("idle-oa", lambda x: x["closed_early"], 2 * SLOW,
                      "the stalled upstream stream to be closed")
    _ok(fdaemon)


def test_idle_timeout_ends_anthropic_stream_with_error_event(fdaemon, mock):
    r, p = stream_request(fdaemon.port, "/an/v1/messages",
                          jbody({"stream": True}),
                          [("x-mock-stall", "body"), ("x-mock-chunks", "5")],
                          timeout=20 * SLOW)
    events = _events_then_error(r, p)
    names = [n for _, n, _ in events]
    assert names == ["message_start", "content_block_start",
                     "content_block_delta", "error"], names
    err = json.loads(events[-1][2])
    assert err["type"] == "error"
    assert err["error"]["message"].startswith("llmproxy_idle_timeout"), err
    _ok(fdaemon, "an")


def test_idle_timeout_cuts_plain_body(fdaemon):
    with RawConn(fdaemon.port, timeout=20 * SLOW) as c:
        c.request("POST", "/oa/v1/chat/completions",
                  [("Content-Type", "application/json"),
                   ("x-mock-stall", "body")], jbody({"max_tokens": 3}))
        r = c.read_head()
        assert r.status == 200
        with pytest.raises(itlib.IncompleteBody):
            for _ in c.body_pieces(r, "POST"):
                pass
    _ok(fdaemon)


def test_reset_before_headers_is_502(fdaemon, mock):
    for fault in (("x-mock-reset", "headers"), ("x-mock-garbage", "1")):
        r = request(fdaemon.port, "POST", "/oa/v1/chat/completions",
                    [("Content-Type", "application/json"), fault],
                    jbody({"stream": True}))
        _openai_error(r, 502, "llmproxy_upstream_error")
        r = request(fdaemon.port, "POST", "/an/v1/messages",
                    [("Content-Type", "application/json"), fault],
                    jbody({}))
        _anthropic_error(r, 502, "llmproxy_upstream_error")
        _ok(fdaemon)
        _ok(fdaemon, "an")


def test_reset_mid_stream_ends_with_error_event(fdaemon):
    r, p = stream_request(fdaemon.port, "/oa/v1/chat/completions",
                          jbody({"stream": True}),
                          [("x-mock-reset", "body"), ("x-mock-chunks", "5")],
                          timeout=20 * SLOW)
    events = _events_then_error(r, p)
    err = json.loads(events[-1][2])["error"]
    assert err["code"] == "llmproxy_upstream_error", err
    assert json.loads(events[0][2])["choices"][0]["delta"]["content"] == \
        "tok0 "
    r, p = stream_request(fdaemon.port, "/an/v1/messages",
                          jbody({"stream": True}),
                          [("x-mock-reset", "body"), ("x-mock-chunks", "5")],
                          timeout=20 * SLOW)
    events = _events_then_error(r, p)
    assert events[-1][1] == "error"
    assert json.loads(events[-1][2])["error"]["message"].startswith(
        "llmproxy_upstream_error")
    _ok(fdaemon)


def test_truncated_stream_ends_with_error_event(fdaemon):
    # A well-framed SSE body that lacks the API's final event ([DONE],
    # message_stop) was cut short upstream: the client gets the error
    # event, after what did arrive, and a clean end.
    r, p = stream_request(fdaemon.port, "/oa/v1/chat/completions",
                          jbody({"stream": True}),
                          [("x-mock-truncate", "1"), ("x-mock-chunks", "3")],
                          timeout=20 * SLOW)
    events = _events_then_error(r, p)
    assert [e[2] for e in events].count("[DONE]") == 0
    err = json.loads(events[-1][2])["error"]
    assert err["code"] == "llmproxy_upstream_truncated", err
    assert len(events) == 4, events     # 3 tokens, then the error
    r, p = stream_request(fdaemon.port, "/an/v1/messages",
                          jbody({"stream": True}),
                          [("x-mock-truncate", "1"), ("x-mock-chunks", "3")],
                          timeout=20 * SLOW)
    events = _events_then_error(r, p)
    assert "message_stop" not in [e[1] for e in events]
    assert events[-1][1] == "error"
    assert json.loads(events[-1][2])["error"]["message"].startswith(
        "llmproxy_upstream_truncated")
    # Complete streams are left alone.
    for path in ("/oa/v1/chat/completions", "/an/v1/messages"):
        r, p = stream_request(fdaemon.port, path, jbody({"stream": True}),
                              [("x-mock-chunks", "3")], timeout=20 * SLOW)
        assert r.complete and p.events[-1][1] != "error", p.events[-1]
        assert "llmproxy" not in p.events[-1][2]
    _ok(fdaemon)


@pytest.mark.parametrize("fault", [("x-mock-reset", "body"),
                                   ("x-mock-truncate", "1")])
def test_broken_plain_body_is_cut(fdaemon, fault):
    with RawConn(fdaemon.port, timeout=20 * SLOW) as c:
        c.request("POST", "/oa/v1/chat/completions",
                  [("Content-Type", "application/json"), fault],
                  jbody({"max_tokens": 50}))
        r = c.read_head()
        assert r.status == 200
        got = b""
        with pytest.raises(itlib.IncompleteBody):
            for _, data in c.body_pieces(r, "POST"):
                got += data
        # What did arrive is the start of the mock's answer.
        assert got.startswith(b'{"id":"chatcmpl-mock"') or got == b""
    _ok(fdaemon)


def test_upstream_error_status_passes_through(fdaemon):
    for status in ("400", "404", "500", "503"):
        r = request(fdaemon.port, "POST", "/oa/v1/chat/completions",
                    [("Content-Type", "application/json"),
                     ("x-mock-status", status),
                     ("x-mock-error-code", "mock_code_" + status)],
                    jbody({}))
        assert r.status == int(status), r.status
        assert r.json()["error"]["code"] == "mock_code_" + status
        r = request(fdaemon.port, "POST", "/an/v1/messages",
                    [("Content-Type", "application/json"),
                     ("x-mock-status", status)], jbody({}))
        assert r.status == int(status)
        assert r.json()["type"] == "error"
    _ok(fdaemon)
