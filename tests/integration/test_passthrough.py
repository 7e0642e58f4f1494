# SPDX-License-Identifier: ISC
"""Requests and answers pass through untouched, except for what SPEC
section 4 says the daemon changes: the credentials (replaced by the
provider's key) and the hop-by-hop headers (dropped, both ways)."""

import json

import itlib
from itlib import RawConn, header_values, request

# A JSON body a re-serializer would change: odd spacing, key order,
# escapes, non-ASCII (2-, 3- and 4-byte UTF-8), a long number.
ODD_BODY = (b'{ "zeta":1,   "alpha" :\t"h\xc3\xa9llo \xe2\x9c\x93 \\u00e9",\n'
            b'  "emoji":"\xf0\x9f\x98\x80", "n" : 1.50e+3 ,"big":'
            b'123456789012345678901234567890,\r\n "arr":[ 1 ,2,{}] ,'
            b'"s":"a\\/b\\"c"   }')


def _one(mock, mock_id):
    recs = mock.find(mock_id)
    assert len(recs) == 1, "the mock saw %d requests with id %s" % (
        len(recs), mock_id)
    return recs[0]


def _replay_direct(mock, rec):
    """Send the mock exactly what the daemon sent it; return the answer."""
    hs = [(n, v) for n, v in rec["headers"]]
    body = rec["body"].encode("utf-8")
    chunked = any(n.lower() == "transfer-encoding" for n, _ in hs)
    with RawConn(mock.port) as c:
        c.request(rec["method"], rec["uri"], hs, None, host=False,
                  content_length=False)
        if chunked:
            c.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body
                   else b"0\r\n\r\n")
        else:
            c.send(body)
        return c.read_response(rec["method"])


def test_json_body_and_query_pass_byte_for_byte(daemon, mock):
    target = "/oa/echo/x?q=1&r=%20"
    r = request(daemon.port, "POST", target,
                [("Content-Type", "application/json"),
                 ("x-mock-id", "odd-1")], ODD_BODY)
    assert r.status == 200, r.body
    rec = _one(mock, "odd-1")
    assert rec["method"] == "POST"
    assert rec["uri"] == "/echo/x?q=1&r=%20"
    assert rec["body_len"] == len(ODD_BODY)
    assert rec["body"].encode("utf-8") == ODD_BODY
    echoed = r.json()
    assert echoed["body"].encode("utf-8") == ODD_BODY
    assert echoed["uri"] == "/echo/x?q=1&r=%20"

    # The answer reached the client byte for byte: ask the mock the very
    # same request directly and compare the bodies.
    direct = _replay_direct(mock, rec)
    assert direct.status == 200
    assert r.body == direct.body


def test_large_body_and_every_method_pass_through(daemon, mock):
    big = json.dumps({"messages": [{"role": "user", "content":
                     "\u00e9\u4e2d\U0001F600 %d " % i * 7}
                     for i in range(3000)]},
                     ensure_ascii=False).encode("utf-8")
    assert len(big) > 200000
    r = request(daemon.port, "PUT", "/oa/v1/files/abc?purpose=x%2Fy",
                [("Content-Type", "application/json"),
                 ("x-mock-id", "big-1")], big, timeout=30)
    assert r.status == 200
    rec = _one(mock, "big-1")
    assert rec["method"] == "PUT"
    assert rec["uri"] == "/v1/files/abc?purpose=x%2Fy"
    assert rec["body_len"] == len(big)
    assert rec["body"].encode("utf-8") == big

    for method in ("GET", "DELETE", "PATCH", "OPTIONS", "HEAD"):
        mid = "m-" + method
        body = b'{"k": 1}' if method == "PATCH" else None
        r = request(daemon.port, method, "/oa/v1/models/m1?a=b",
                    [("x-mock-id", mid)], body)
        assert r.status == 200, (method, r.status, r.body)
        rec = _one(mock, mid)
        assert rec["method"] == method
        assert rec["uri"] == "/v1/models/m1?a=b"
        if method == "HEAD":
            assert r.body == b""
        else:
            assert r.json()["method"] == method
        if body is not None:
            assert rec["body"].encode() == body


def test_encoded_path_and_query_pass_verbatim(daemon, mock):
    target = "/v1/%E2%9C%93/a%2Fb/~x-y_z.json?x=%F0%9F%98%80&y=a+b&z&e=&q=%3D"
    r = request(daemon.port, "GET", "/oa" + target, [("x-mock-id", "enc")])
    assert r.status == 200, r.body
    assert _one(mock, "enc")["uri"] == target


def test_end_to_end_headers_pass_verbatim(daemon, mock):
    hs = [("Accept-Encoding", "gzip, br"), ("X-Long", "v" * 8000),
          ("X-Empty", ""), ("X-Dup", "1"), ("X-Dup", "2"),
          ("User-Agent", "it/1.0 (llmproxyd tests)"),
          ("X-Punct", "a=b; c=\"d, e\"; q=0.5"), ("x-mock-id", "e2e")]
    r = request(daemon.port, "POST", "/oa/echo", hs, b"")
    assert r.status == 200
    got = _one(mock, "e2e")["headers"]
    for n, v in hs:
        if n != "X-Dup":
            assert header_values(got, n) == [v], (n, got)
    assert header_values(got, "X-Dup") in (["1", "2"], ["1, 2"]), got
    assert header_values(got, "Content-Length") in ([], ["0"])


def _credential_headers():
    return [("Authorization", "Bearer " + itlib.CLIENT_BEARER),
            ("x-api-key", itlib.CLIENT_XAPI)]


def _assert_no_client_credential(rec):
    for n, v in rec["headers"]:
        for secret in itlib.CLIENT_SECRETS:
            assert secret not in v, "client credential in %s: %s" % (n, v)


def test_provider_key_replaces_client_credentials(daemon, mock):
    for prov, mid in (("oa", "k-bearer"), ("an", "k-xapi"),
                      ("open", "k-none")):
        r = request(daemon.port, "POST", "/%s/echo" % prov,
                    _credential_headers() + [("x-mock-id", mid)], b"{}")
        assert r.status == 200, (prov, r.status, r.body)
        rec = _one(mock, mid)
        _assert_no_client_credential(rec)
        auth = header_values(rec["headers"], "Authorization")
        xkey = header_values(rec["headers"], "x-api-key")
        if prov == "oa":
            assert auth == ["Bearer " + itlib.CANARY_BEARER]
            assert xkey == []
        elif prov == "an":
            assert xkey == [itlib.CANARY_XAPI]
            assert auth == []
        else:
            assert auth == [] and xkey == []


def test_credentials_in_any_case_are_replaced(daemon, mock):
    hs = [("AUTHORIZATION", "Bearer " + itlib.CLIENT_BEARER),
          ("X-Api-Key", itlib.CLIENT_XAPI),
          ("x-mock-id", "k-case")]
    r = request(daemon.port, "POST", "/oa/v1/echo", hs, b"{}")
    assert r.status == 200
    rec = _one(mock, "k-case")
    _assert_no_client_credential(rec)
    assert header_values(rec["headers"], "authorization") == \
        ["Bearer " + itlib.CANARY_BEARER]
    assert header_values(rec["headers"], "x-api-key") == []


HOP_REQUEST_HEADERS = [
    ("Connection", "keep-alive, X-Hop-Custom"),
    ("X-Hop-Custom", "1"),
    ("Keep-Alive", "timeout=5"),
    ("TE", "trailers"),
    ("Upgrade", "h2c"),
    ("Proxy-Authorization", "Basic eHh4Onl5eQ=="),
    ("Proxy-Connection", "keep-alive"),
    ("Trailer", "X-Checksum"),
    ("X-End-To-End", "1"),
    ("anthropic-version", "2023-06-01"),
    ("OpenAI-Beta", "assistants=v2"),
    ("x-mock-id", "hop-1"),
]


def test_hop_by_hop_request_headers_are_dropped(daemon, mock):
    r = request(daemon.port, "POST", "/an/v1/echo", HOP_REQUEST_HEADERS,
                b'{"a":1}')
    assert r.status == 200, r.body
    rec = _one(mock, "hop-1")
    names = {n.lower() for n, _ in rec["headers"]}
    for gone in ("x-hop-custom", "keep-alive", "te", "upgrade",
                 "proxy-authorization", "proxy-connection", "trailer"):
        assert gone not in names, "%s reached the upstream: %r" % (
            gone, rec["headers"])
    for v in header_values(rec["headers"], "connection"):
        assert "x-hop-custom" not in v.lower(), v
    assert header_values(rec["headers"], "x-end-to-end") == ["1"]
    assert header_values(rec["headers"], "anthropic-version") == \
        ["2023-06-01"]
    assert header_values(rec["headers"], "openai-beta") == ["assistants=v2"]
    assert rec["body"] == '{"a":1}'


def test_hop_by_hop_response_headers_are_dropped(daemon, mock):
    hs = [("x-mock-response-header", "Connection: X-Secret-Hop"),
          ("x-mock-response-header", "X-Secret-Hop: 1"),
          ("x-mock-response-header", "Keep-Alive: timeout=5"),
          ("x-mock-response-header", "Proxy-Authenticate: Basic"),
          ("x-mock-response-header", "X-Kept: yes"),
          ("x-mock-id", "hop-2")]
    for target in ("/oa/v1/echo", "/oa/v1/chat/completions"):
        r = request(daemon.port, "POST", target, hs,
                    b'{"max_tokens": 2}')
        assert r.status == 200, r.body
        assert not r.has_header("X-Secret-Hop"), r.headers
        assert not r.has_header("Keep-Alive"), r.headers
        assert not r.has_header("Proxy-Authenticate"), r.headers
        for v in header_values(r.headers, "Connection"):
            assert "x-secret-hop" not in v.lower(), r.headers
        assert r.header("X-Kept") == "yes"
        assert r.header("Content-Type") == "application/json"
        assert int(r.header("x-llmproxy-queue-ms")) >= 0
        assert int(r.header("x-llmproxy-attempts")) >= 1
        r.json()


def test_llmproxy_headers_on_streams_and_errors(daemon, mock):
    r, p = itlib.stream_request(
        daemon.port, "/oa/v1/chat/completions",
        itlib.jbody({"stream": True, "max_tokens": 3}))
    assert r.status == 200
    assert r.header("x-llmproxy-queue-ms").isdigit()
    assert r.header("x-llmproxy-attempts").isdigit()
    r = request(daemon.port, "POST", "/oa/v1/chat/completions",
                [("x-mock-status", "400")], b"{}")
    assert r.status == 400
    assert r.header("x-llmproxy-attempts").isdigit()
    assert r.json()["error"]["code"] == "invalid_request"
