# SPDX-License-Identifier: ISC
"""Who may call and what a request head may look like (SPEC section 9):
smuggling shapes get 400 and a closed connection, a foreign Host or Origin
403, a missing or wrong client token 401, and none of them reaches the
mock upstream; allowed origins get their preflight answered, never with
`*`."""

import itlib
from itlib import RawConn, header_values, jbody, request

TOKEN = itlib.CLIENT_TOKEN
ORIGIN = "https://app.example.com"
PATH = "/oa/v1/chat/completions"


def _raw(port, head, body=b""):
    """Send head (lines without the final CRLF) and body; return the
    answer and whether the daemon closed the connection after it."""
    with RawConn(port, timeout=10 * itlib.SLOW) as c:
        c.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        r = c.read_response()
        return r, c.wait_closed(5 * itlib.SLOW)


def _head(port, *lines, host=True):
    h = ["POST %s HTTP/1.1" % PATH]
    if host:
        h.append("Host: 127.0.0.1:%d" % port)
    return h + ["x-mock-id: smuggle"] + list(lines)


SMUGGLING = [
    ("CL+TE", ["Content-Length: 5", "Transfer-Encoding: chunked"],
     b"0\r\n\r\n"),
    ("TE+CL", ["Transfer-Encoding: chunked", "Content-Length: 5"],
     b"0\r\n\r\n"),
    ("CL twice, same", ["Content-Length: 2", "Content-Length: 2"], b"{}"),
    ("CL twice, differing", ["Content-Length: 2", "Content-Length: 3"],
     b"{}x"),
    ("CL with a sign", ["Content-Length: +2"], b"{}"),
    ("CL list", ["Content-Length: 2, 2"], b"{}"),
    ("TE gzip", ["Transfer-Encoding: gzip"], b""),
    ("TE chunked, chunked", ["Transfer-Encoding: chunked, chunked"], b""),
    ("TE twice", ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
     b"2\r\n{}\r\n0\r\n\r\n"),
    ("TE with space before colon", ["Transfer-Encoding : chunked",
                                    "Content-Length: 2"], b"{}"),
    ("control character in a value", ["X-Evil: a\x01b",
                                      "Content-Length: 2"], b"{}"),
    ("two Hosts", ["Host: evil.com", "Content-Length: 2"], b"{}"),
]


def test_smuggling_shapes_are_400_and_close(daemon, mock):
    for name, lines, body in SMUGGLING:
        r, closed = _raw(daemon.port, _head(daemon.port, *lines), body)
        assert r.status == 400, (name, r.status, r.body)
        assert closed, "%s: the connection stayed open" % name
    # HTTP/1.1 without Host is refused too; HTTP/1.0 without it is fine.
    r, closed = _raw(daemon.port, _head(daemon.port, "Content-Length: 2",
                                        host=False), b"{}")
    assert r.status == 400 and closed, (r.status, r.body)
    assert mock.requests() == [], "a smuggling shape reached the provider"
    r = request(daemon.port, "GET", "/healthz", version="HTTP/1.0")
    assert r.status == 200
    with RawConn(daemon.port) as c:
        c.send(b"POST /oa/echo HTTP/1.0\r\nContent-Length: 2\r\n"
               b"x-mock-id: h10\r\n\r\n{}")
        assert c.read_response().status == 200
    assert len(mock.find("h10")) == 1
    daemon.healthy()


def test_foreign_host_is_403(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     allowed_hosts=["proxy.example.com", "box.example:8443"])
    for host in ("evil.com", "evil.com:%d" % d.port, "127.0.0.1.evil.com",
                 "localhost.evil.com", "box.example:8444", "box.example",
                 "proxy.example.com.evil.com", ""):
        r = request(d.port, "POST", PATH, [("Host", host),
                                           ("x-mock-id", "rebind")], b"{}")
        assert r.status == 403, (host, r.status, r.body)
        assert r.json()["error"]["code"] == "llmproxy_forbidden"
    assert mock.requests() == [], "a foreign Host reached the provider"
    for i, host in enumerate(("localhost:%d" % d.port, "LOCALHOST",
                              "127.8.9.10:1", "[::1]:%d" % d.port,
                              "app.localhost", "proxy.example.com:99",
                              "PROXY.example.com", "box.example:8443")):
        r = request(d.port, "POST", "/oa/echo",
                    [("Host", host), ("x-mock-id", "ok%d" % i)], b"{}")
        assert r.status == 200, (host, r.status, r.body)
    assert len(mock.requests()) == 8
    assert "reason=forbidden" in d.stderr()


def test_origin_and_preflight(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     allowed_origins=[ORIGIN])
    for origin in ("https://evil.com", "http://app.example.com", "null",
                   ORIGIN + ":443"):
        r = request(d.port, "POST", PATH, [("Origin", origin),
                                           ("x-mock-id", "xo")], b"{}")
        assert r.status == 403, (origin, r.status)
        assert not r.has_header("Access-Control-Allow-Origin")
        r = request(d.port, "OPTIONS", PATH,
                    [("Origin", origin),
                     ("Access-Control-Request-Method", "POST")])
        assert r.status == 403, (origin, r.status)
    assert mock.requests() == []
    r = request(d.port, "OPTIONS", PATH,
                [("Origin", ORIGIN), ("Access-Control-Request-Method", "POST"),
                 ("Access-Control-Request-Headers",
                  "content-type, authorization, x-a;b")])
    assert r.status == 204, (r.status, r.body)
    assert header_values(r.headers, "Access-Control-Allow-Origin") == \
        [ORIGIN]
    assert "Origin" in r.header("Vary")
    assert "POST" in r.header("Access-Control-Allow-Methods")
    assert r.header("Access-Control-Allow-Headers") == \
        "content-type, authorization, x-ab"
    assert int(r.header("Access-Control-Max-Age")) > 0
    assert mock.requests() == [], "a preflight reached the provider"
    r = request(d.port, "POST", "/oa/echo",
                [("Origin", "HTTPS://App.Example.com"),
                 ("x-mock-id", "cors")], b"{}")
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") == \
        "HTTPS://App.Example.com"
    assert "Origin" in (r.header("Vary") or "")
    # Without Origin (not a browser): allowed, and no CORS headers.
    r = request(d.port, "POST", "/oa/echo", [("x-mock-id", "plain")], b"{}")
    assert r.status == 200 and not r.has_header("Access-Control-Allow-Origin")


def _auth_daemon(start_daemon, mock):
    return start_daemon([itlib.proxy_provider("oa", mock.url),
                         itlib.proxy_provider("an", mock.url, "anthropic")],
                        client_tokens=["another-token-xyz", TOKEN])


def test_client_token_required(start_daemon, mock):
    d = _auth_daemon(start_daemon, mock)
    wrong = [[], [("Authorization", "Bearer wrong-token")],
             [("Authorization", "Bearer " + TOKEN[:-1])],
             [("Authorization", "Bearer " + TOKEN + "x")],
             [("Authorization", "Basic " + TOKEN)],
             [("Authorization", TOKEN)], [("x-api-key", "")],
             [("x-api-key", TOKEN.upper())]]
    for hs in wrong:
        r = request(d.port, "POST", PATH, hs + [("x-mock-id", "noauth")],
                    b"{}")
        assert r.status == 401, (hs, r.status)
        err = r.json()["error"]
        assert err["code"] == "llmproxy_unauthorized", err
        for _, v in hs:
            if v:
                assert v.encode() not in r.body
    r = request(d.port, "POST", "/an/v1/messages",
                [("x-api-key", "nope")], b"{}")
    assert r.status == 401
    assert r.json()["type"] == "error", r.body
    assert r.json()["error"]["type"] == "authentication_error", r.body
    for target in ("/nosuch/x", "/status"):
        assert request(d.port, "GET", target).status == 401, target
    assert mock.requests() == [], "an unauthenticated request got through"
    assert "reason=unauthorized" in d.stderr()


def test_client_token_accepted_and_replaced(start_daemon, mock):
    d = _auth_daemon(start_daemon, mock)
    r = request(d.port, "GET", "/healthz")
    assert r.status == 200 and r.json() == {"status": "ok"}
    r = request(d.port, "GET", "/status",
                [("Authorization", "Bearer " + TOKEN)])
    assert r.status == 200 and "providers" in r.json()
    r = request(d.port, "POST", "/oa/echo",
                [("Authorization", "bearer " + TOKEN),
                 ("x-mock-id", "tok-b")], jbody({}))
    assert r.status == 200, (r.status, r.body)
    r = request(d.port, "POST", "/an/echo",
                [("x-api-key", TOKEN), ("x-mock-id", "tok-x")], jbody({}))
    assert r.status == 200, (r.status, r.body)
    (b,) = mock.find("tok-b")
    (x,) = mock.find("tok-x")
    assert header_values(b["headers"], "Authorization") == \
        ["Bearer " + itlib.CANARY_BEARER]
    assert header_values(x["headers"], "x-api-key") == [itlib.CANARY_XAPI]
    for rec in (b, x):
        for n, v in rec["headers"]:
            assert TOKEN not in v, "the client token reached the provider"
    assert d.stop() == 0
    assert TOKEN not in d.stderr()


def test_cors_is_the_daemons_own(start_daemon, mock):
    """A provider's permissive CORS never reaches the browser, and the
    daemon's own errors carry the allowed origin so a page can read them."""
    d = start_daemon([itlib.proxy_provider("oa", mock.url,
                                           first_byte_timeout=0.3)],
                     allowed_origins=[ORIGIN])
    r = request(d.port, "POST", "/oa/echo",
                [("Origin", ORIGIN),
                 ("x-mock-response-header",
                  "Access-Control-Allow-Origin: *"),
                 ("x-mock-response-header",
                  "Access-Control-Allow-Credentials: true")], b"{}")
    assert r.status == 200
    assert header_values(r.headers, "Access-Control-Allow-Origin") == \
        [ORIGIN]
    assert not r.has_header("Access-Control-Allow-Credentials")
    r = request(d.port, "POST", PATH,
                [("Origin", ORIGIN), ("x-mock-stall", "headers")], b"{}")
    assert r.status == 504
    assert header_values(r.headers, "Access-Control-Allow-Origin") == \
        [ORIGIN]
