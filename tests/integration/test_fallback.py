# SPDX-License-Identifier: ISC
"""Fallback chains and hedged requests (SPEC 13).

The provider asked is a small upstream of the test's own (Stub) that
answers every request the same way (a status, after a delay), so that it
can fail while the fallback, the mock upstream, answers: both would see
the same x-mock-* fields otherwise.
"""

import http.server
import json
import threading
import time

import pytest

import itlib
from itlib import SLOW, jbody, now, request, wait_until

CHAT = "/v1/chat/completions"
JSON_CT = ("Content-Type", "application/json")
BODY = {"model": "m", "max_tokens": 3,
        "messages": [{"role": "user", "content": "hi"}]}
OK_BODY = {"id": "stub", "object": "chat.completion", "choices": [],
           "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


class Stub:
    """An upstream answering status after delay seconds, every time."""

    def __init__(self, status, delay=0.0):
        stub = self
        self.status = status
        self.delay = delay
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                stub.requests.append(json.loads(self.rfile.read(n) or b"{}"))
                time.sleep(stub.delay)
                body = json.dumps(OK_BODY if stub.status == 200 else
                                  {"error": {"message": "stub",
                                             "type": "server_error",
                                             "code": None}}).encode()
                try:
                    self.send_response(stub.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass        # the daemon cancelled this one

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stubs():
    made = []

    def make(status, delay=0.0):
        s = Stub(status, delay)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def _post(d, target, headers=(), timeout=30.0):
    return request(d.port, "POST", target, [JSON_CT] + list(headers),
                   jbody(BODY), timeout=timeout * SLOW)


def _metric(d, line_start):
    text = request(d.port, "GET", "/metrics", timeout=5 * SLOW).body.decode()
    for ln in text.splitlines():
        if ln.startswith(line_start):
            return float(ln.rsplit(" ", 1)[1])
    return 0.0


def test_5xx_falls_back_with_model_map(start_daemon, mock, stubs):
    a = stubs(503)
    d = start_daemon([
        itlib.proxy_provider("a", a.url, retries=1, fallback=["b"]),
        itlib.proxy_provider("b", mock.url, model_map=["m=m-eu"])])
    r = _post(d, "/a" + CHAT, [("x-mock-id", "fb-5xx")])
    assert r.status == 200, (r.status, r.body)
    assert r.header("x-llmproxy-provider") == "b"
    assert r.header("x-llmproxy-attempts") == "3"     # 2 on a, 1 on b
    assert len(a.requests) == 2
    seen = mock.find("fb-5xx")
    assert len(seen) == 1
    assert json.loads(seen[0]["body"])["model"] == "m-eu"
    line = d.wait_access(lambda l: "first=a" in l, 5 * SLOW,
                         "the access line of the fallen-back request")
    assert "provider=b " in line and "status=200" in line, line
    assert _metric(d, 'llmproxy_fallbacks_total{from="a",to="b"}') == 1


def test_direct_request_keeps_its_model(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("b", mock.url,
                                           model_map=["m=m-eu"])])
    assert _post(d, "/b" + CHAT, [("x-mock-id", "fb-direct")]).status == 200
    assert json.loads(mock.find("fb-direct")[0]["body"])["model"] == "m"


def test_4xx_does_not_fall_back(start_daemon, mock, stubs):
    a = stubs(400)
    d = start_daemon([
        itlib.proxy_provider("a", a.url, fallback=["b"]),
        itlib.proxy_provider("b", mock.url)])
    r = _post(d, "/a" + CHAT, [("x-mock-id", "fb-400")])
    assert r.status == 400
    assert r.header("x-llmproxy-provider") == "a"
    assert mock.find("fb-400") == []


def test_connect_error_and_full_queue_fall_back(start_daemon, mock, stubs,
                                               tmp_path):
    slow = stubs(200, delay=2.0)
    d = start_daemon([
        itlib.proxy_provider("a", slow.url, max_concurrent=1, queue_max=0,
                             fallback=["b"]),
        itlib.proxy_provider("down", "http://127.0.0.1:1", retries=0,
                             fallback=["b"]),
        itlib.proxy_provider("b", mock.url)])
    r = _post(d, "/down" + CHAT, [("x-mock-id", "fb-conn")])
    assert r.status == 200 and r.header("x-llmproxy-provider") == "b"
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        held = pool.submit(_post, d, "/a" + CHAT)
        wait_until(lambda: len(slow.requests) == 1, 5 * SLOW,
                   "the first request at the slow upstream")
        r = _post(d, "/a" + CHAT, [("x-mock-id", "fb-full")])
        assert r.status == 200, (r.status, r.body)
        assert r.header("x-llmproxy-provider") == "b"
        assert len(mock.find("fb-full")) == 1
        assert held.result().header("x-llmproxy-provider") == "a"


def test_no_fallback_after_the_first_byte(start_daemon, mock, stubs):
    b = stubs(200)
    d = start_daemon([
        itlib.proxy_provider("a", mock.url, fallback=["b"]),
        itlib.proxy_provider("b", b.url)])
    body = dict(BODY, stream=True)
    r, _ = itlib.stream_request(d.port, "/a" + CHAT, jbody(body),
                                [("x-mock-reset", "body"),
                                 ("x-mock-chunks", "5")],
                                timeout=10 * SLOW)
    assert r.status == 200
    assert b.requests == []


def test_hedge_wins_and_the_slow_one_is_cancelled(start_daemon, mock,
                                                  stubs):
    slow = stubs(200, delay=3.0)
    d = start_daemon([
        itlib.proxy_provider("a", slow.url, hedge_after=0.3,
                             fallback=["b"]),
        itlib.proxy_provider("b", mock.url)])
    t0 = now()
    r = _post(d, "/a" + CHAT, [("x-mock-id", "hedge-win")])
    took = now() - t0
    assert r.status == 200 and r.header("x-llmproxy-provider") == "b"
    # The hedge went after 0.3 s (timers run to the millisecond).
    assert 0.29 <= took < 2.0 * SLOW, took
    itlib.MEASURED["hedge after 0.3 s: answered after (s)"] = took

    def idle():
        st = request(d.port, "GET", "/status", timeout=5 * SLOW).json()
        return all(p["in_flight"] == 0 for p in st["providers"])
    wait_until(idle, 2 * SLOW, "the slow attempt's slot given back")
    assert _metric(d, 'llmproxy_hedges_total{provider="a",outcome="won"}') \
        == 1


def test_hedge_loses_to_the_first(start_daemon, mock, stubs):
    first = stubs(200, delay=0.6)
    d = start_daemon([
        itlib.proxy_provider("a", first.url, hedge_after=0.2,
                             fallback=["b"]),
        itlib.proxy_provider("b", mock.url)])
    r = _post(d, "/a" + CHAT, [("x-mock-id", "hedge-lose"),
                                ("x-mock-delay-ms", "5000")])
    assert r.status == 200 and r.header("x-llmproxy-provider") == "a"
    loser = mock.wait_request("hedge-lose", lambda x: x["closed_early"],
                              5 * SLOW, "the hedge's connection closed")
    assert loser["closed_ms"] - loser["arrival_ms"] < 1000 * SLOW
    assert _metric(d, 'llmproxy_hedges_total{provider="a",outcome="lost"}') \
        == 1


def test_fallback_config_errors(daemon_binary, tmp_path):
    import subprocess
    cases = [
        ('fallback = [ "nope" ];', '"nope" is not a provider'),
        ('fallback = [ "a" ];', '"a" is this provider itself'),
        ('fallback = [ "an" ];', '"an" speaks another dialect'),
        ('fallback = [ "b", "b" ];', '"b" is named twice'),
        ('model_map = [ "gpt" ];', "must be FROM=TO"),
    ]
    for keys, want in cases:
        text = ('providers = (\n{ name = "a"; type = "simulated"; %s },\n'
                '{ name = "b"; type = "simulated"; },\n'
                '{ name = "an"; type = "simulated"; dialect = "anthropic"; }'
                '\n);\n' % keys)
        path = tmp_path / "f.conf"
        path.write_text(text)
        p = subprocess.run([daemon_binary, "-t", "-c", str(path)],
                           capture_output=True, text=True)
        assert p.returncode == 1, (keys, p.stdout, p.stderr)
        assert want in p.stderr and "f.conf:2:" in p.stderr, \
            (keys, p.stderr)
