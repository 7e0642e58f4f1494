# SPDX-License-Identifier: ISC
"""Routing (SPEC section 4), the body limit and /healthz (section 8)."""

import json

import itlib
from itlib import RawConn, header_values, jbody, request


def test_healthz(daemon):
    r = request(daemon.port, "GET", "/healthz")
    assert r.status == 200
    assert r.header("Content-Type").startswith("application/json")
    assert r.json() == {"status": "ok"}
    r = request(daemon.port, "HEAD", "/healthz")
    assert r.status == 200 and r.body == b""


def test_unknown_provider_is_404_listing_prefixes(daemon, mock):
    for method, target in (("POST", "/nosuch/v1/chat/completions"),
                           ("GET", "/nosuch"), ("GET", "/UI"),
                           ("GET", "/OA/v1/models")):
        body = b"{}" if method == "POST" else None
        r = request(daemon.port, method, target,
                    [("Content-Type", "application/json")], body)
        assert r.status == 404, (target, r.status, r.body)
        err = r.json()["error"]
        assert err["code"] == "llmproxy_unknown_provider", err
        assert err["type"] == "invalid_request_error"
        assert isinstance(err["message"], str)
        assert sorted(err["providers"]) == \
            sorted(["/oa/", "/an/", "/open/", "/demo/"]), err
    assert mock.requests() == []
    daemon.healthy()


def test_body_over_max_body_size_is_413(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     max_body_size=1024)
    big = b'{"pad":"' + b"x" * 2000 + b'"}'
    r = request(d.port, "POST", "/oa/v1/chat/completions",
                [("Content-Type", "application/json"),
                 ("x-mock-id", "too-big")], big)
    assert r.status == 413, (r.status, r.body)
    # The same, sent in chunks without a Content-Length.
    with RawConn(d.port) as c:
        c.request("POST", "/oa/v1/chat/completions",
                  [("Content-Type", "application/json"),
                   ("Transfer-Encoding", "chunked"),
                   ("x-mock-id", "too-big-chunked")], None)
        c.send(b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 500]),
                                           big[i:i + 500])
                        for i in range(0, len(big), 500)) + b"0\r\n\r\n")
        r = c.read_response()
        assert r.status == 413, (r.status, r.body)
    assert mock.requests() == [], "an oversized body reached the provider"
    ok = b'{"pad":"' + b"y" * 900 + b'"}'
    assert len(ok) <= 1024
    r = request(d.port, "POST", "/oa/v1/echo",
                [("Content-Type", "application/json"),
                 ("x-mock-id", "fits")], ok)
    assert r.status == 200
    assert r.json()["body"].encode() == ok
    d.healthy()


def test_default_provider_serves_v1(daemon, mock):
    r = request(daemon.port, "POST", "/v1/chat/completions",
                [("Content-Type", "application/json"),
                 ("x-mock-id", "dflt-1")], jbody({"max_tokens": 2}))
    assert r.status == 200, r.body
    assert r.json()["choices"][0]["message"]["content"] == "tok0 tok1 "
    rec = mock.find("dflt-1")[0]
    assert rec["uri"] == "/v1/chat/completions"
    assert header_values(rec["headers"], "authorization") == \
        ["Bearer " + itlib.CANARY_BEARER]
    r = request(daemon.port, "GET", "/v1/models?limit=2&after=a%2Fb",
                [("x-mock-id", "dflt-2")])
    assert r.status == 200
    assert mock.find("dflt-2")[0]["uri"] == "/v1/models?limit=2&after=a%2Fb"
    r, p = itlib.stream_request(daemon.port, "/v1/chat/completions",
                                jbody({"stream": True}),
                                [("x-mock-chunks", "3")])
    assert r.status == 200 and p.datas()[-1] == "[DONE]"


def test_without_default_provider_v1_is_not_routed(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    r = request(d.port, "POST", "/v1/chat/completions",
                [("Content-Type", "application/json")], b"{}")
    assert r.status == 404, (r.status, r.body)
    json.loads(r.body)
    assert mock.requests() == []
