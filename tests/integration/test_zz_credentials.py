# SPDX-License-Identifier: ISC
"""No credential ever appears in a log line or an error body (SPEC
section 8): not a provider key, not any Authorization or x-api-key value
a client sent.  Runs last: it also reads the log of every daemon the
session started (each test's teardown checked its own already)."""

import pytest

import itlib
from itlib import RawConn, jbody, request

SECRETS = itlib.CANARIES + tuple(itlib.CLIENT_SECRETS)


def _cred_headers():
    return [("Authorization", "Bearer " + itlib.CLIENT_BEARER),
            ("x-api-key", itlib.CLIENT_XAPI),
            ("Proxy-Authorization", "Bearer " + itlib.CLIENT_BEARER),
            ("Content-Type", "application/json")]


def _no_secret_in(text, where):
    for s in SECRETS:
        assert s not in text, "a credential (%s...) is in %s" % (s[:12],
                                                                  where)


@pytest.mark.last
def test_no_credential_in_logs_or_error_bodies(start_daemon, mock):
    dead = "http://127.0.0.1:1"
    d = start_daemon([
        itlib.proxy_provider("oa", mock.url, retries=0,
                             first_byte_timeout=0.5, idle_timeout=0.5),
        itlib.proxy_provider("an", mock.url, "anthropic", retries=0,
                             first_byte_timeout=0.5),
        itlib.proxy_provider("dead", dead, retries=0),
        itlib.simulated_provider("demo")],
        args=("-v", "-v", "-v"), max_body_size=4096)
    bodies = []
    cases = [
        ("POST", "/oa/v1/chat/completions", [], jbody({"max_tokens": 2})),
        ("POST", "/an/v1/messages", [], jbody({"stream": True})),
        ("POST", "/nosuch/v1/chat/completions", [], b"{}"),
        ("POST", "/dead/v1/chat/completions", [], b"{}"),
        ("POST", "/oa/v1/chat/completions", [("x-mock-stall", "headers")],
         b"{}"),
        ("POST", "/an/v1/messages", [("x-mock-stall", "headers")], b"{}"),
        ("POST", "/oa/v1/chat/completions", [("x-mock-stall", "body")],
         jbody({"stream": True})),
        ("POST", "/oa/v1/chat/completions", [("x-mock-reset", "headers")],
         b"{}"),
        ("POST", "/oa/v1/chat/completions", [("x-mock-status", "401")],
         b"{}"),
        ("POST", "/oa/v1/chat/completions", [], b"x" * 5000),
        ("POST", "/demo/v1/chat/completions", [], jbody({"stream": True})),
        ("POST", "/demo/v1/nothing", [], b"{}"),
        ("GET", "/healthz", [], None),
    ]
    for method, target, extra, body in cases:
        r = request(d.port, method, target, _cred_headers() + extra, body,
                    timeout=20 * itlib.SLOW)
        bodies.append((target, r.status, r.body))
        _no_secret_in(r.body.decode("utf-8", "replace"),
                      "the answer to %s %s" % (method, target))
        for n, v in r.headers:
            _no_secret_in(v, "answer header %s" % n)
    # A client that hangs up mid-stream.
    c = RawConn(d.port)
    c.request("POST", "/oa/v1/chat/completions",
              _cred_headers() + [("x-mock-chunks", "50"),
                                 ("x-mock-interval-ms", "50"),
                                 ("x-mock-id", "leak-dc")],
              jbody({"stream": True}))
    c.read_head()
    c.close()
    mock.wait_request("leak-dc", lambda x: x["closed_early"], 5 * itlib.SLOW,
                      "the hang-up to reach the mock")
    assert d.stop() == 0
    log = d.stderr()
    assert "access " in log
    _no_secret_in(log, "this daemon's log")
    for i, text in enumerate(itlib.SESSION_LOGS):
        _no_secret_in(text, "the log of daemon #%d of the session" % i)
