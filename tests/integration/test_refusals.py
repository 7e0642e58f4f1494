# SPDX-License-Identifier: ISC
"""The HTTP layer's own refusals (SPEC sections 8 and 9; issue 11): a body
over max_body_size, a head over the limit, bad framing, a method the
daemon does not serve, HTTP/0.9, a NUL in the target.  Each is answered in
JSON in the routed provider's dialect, logged with reason= and counted in
llmproxy_refused_total, and its connection is closed only after the
client could read the answer (a lingering close): never evhttp's HTML
page, never a reset first.  A chunk extension is not a refusal."""

import json
import os
import re
import shutil
import subprocess

import httpx
import pytest

import itlib
from itlib import SLOW, RawConn, request

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        os.pardir, "node")
MAX_BODY = 256 * 1024
PATH = "/oa/v1/chat/completions"


def _start(start_daemon, mock):
    return start_daemon([itlib.proxy_provider("oa", mock.url),
                         itlib.proxy_provider("an", mock.url,
                                              dialect="anthropic")],
                        max_body_size=MAX_BODY)


def _refused(d, provider, reason):
    r = request(d.port, "GET", "/metrics", timeout=5 * SLOW)
    assert r.status == 200
    m = re.search(r'^llmproxy_refused_total\{provider="%s",reason="%s"\} '
                  r'(\d+)$' % (re.escape(provider), reason),
                  r.body.decode(), re.M)
    assert m, r.body.decode()
    return int(m.group(1))


def _big_body(size):
    pad = "x" * size
    return json.dumps({"model": "m", "max_tokens": 4,
                       "messages": [{"role": "user", "content": pad}]}
                      ).encode()


def test_httpx_reads_413_for_a_body_four_times_too_large(start_daemon, mock):
    d = _start(start_daemon, mock)
    body = _big_body(4 * MAX_BODY)
    for i in range(3):
        # A fresh connection each time: the daemon closes after a 413.
        with httpx.Client(timeout=httpx.Timeout(30.0 * SLOW)) as cl:
            r = cl.post("http://127.0.0.1:%d%s" % (d.port, PATH),
                        content=body,
                        headers={"Content-Type": "application/json",
                                 "x-mock-id": "big-%d" % i})
        assert r.status_code == 413, (i, r.status_code, r.text)
        assert r.headers["content-type"] == "application/json"
        err = r.json()["error"]
        assert err["code"] == "llmproxy_request_too_large", err
        assert err["type"] == "invalid_request_error", err
        assert str(MAX_BODY) in err["message"], err
    lines = d.wait_access_lines(lambda ln: "status=413" in ln and
                                "reason=too_large" in ln, 3, 5 * SLOW,
                                "three 413 access lines")
    assert len(lines) == 3, d.access_lines()
    assert all("provider=oa" in ln and "method=POST" in ln and
               "path=" + PATH in ln for ln in lines), lines
    assert _refused(d, "oa", "too_large") == 3
    assert mock.requests() == [], "an oversized body reached the provider"
    d.healthy()


def _node():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Node 20 is required)",
                    pytrace=False)
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "openai")):
        pytest.fail("the Node SDKs are not installed: run `npm ci` in "
                    "tests/node", pytrace=False)
    return node


def test_node_openai_sdk_reads_413(start_daemon, mock):
    d = _start(start_daemon, mock)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_BASE_URL", "OPENAI_ORG_ID",
                        "OPENAI_PROJECT_ID")}
    for i in range(3):
        p = subprocess.run([_node(), os.path.join(NODE_DIR,
                            "openai_too_large.mjs"),
                            "http://127.0.0.1:%d/oa/v1" % d.port,
                            str(4 * MAX_BODY)], cwd=NODE_DIR, env=env,
                           capture_output=True, timeout=120 * SLOW)
        out = [ln for ln in p.stdout.decode().splitlines()
               if ln.startswith("{")]
        assert p.returncode == 0 and out, (p.stdout, p.stderr)
        res = json.loads(out[-1])
        assert res["status"] == 413, res
        assert res["code"] == "llmproxy_request_too_large", res
    assert _refused(d, "oa", "too_large") == 3
    assert len(d.wait_access_lines(lambda ln: "reason=too_large" in ln, 3,
                                   5 * SLOW, "three 413 access lines")) == 3
    assert mock.requests() == []
    d.healthy()


def _head(port, method="POST", target=PATH, lines=(), version="HTTP/1.1"):
    return ("%s %s %s\r\nHost: 127.0.0.1:%d\r\n" % (method, target, version,
                                                     port) +
            "".join(ln + "\r\n" for ln in lines) + "\r\n").encode("latin-1")


# (name, request bytes (a function of the port), status, code, reason,
#  provider whose dialect and metrics apply, "" for none)
def _matrix(port):
    big = b"x" * (MAX_BODY + 1)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 65536]),
                                        big[i:i + 65536])
                      for i in range(0, len(big), 65536)) + b"0\r\n\r\n"
    return [
        ("Content-Length over the limit",
         _head(port, lines=["Content-Length: %d" % len(big)]) + big,
         413, "llmproxy_request_too_large", "too_large", "oa"),
        ("chunked body over the limit",
         _head(port, target="/an/v1/messages",
               lines=["Transfer-Encoding: chunked"]) + chunks,
         413, None, "too_large", "an"),
        ("head over the limit",
         _head(port, lines=["X-Pad: " + "a" * 20000,
                            "Content-Length: 0"]),
         431, "llmproxy_header_too_large", "header_too_large", "oa"),
        ("Content-Length with Transfer-Encoding",
         _head(port, lines=["Content-Length: 2",
                            "Transfer-Encoding: chunked"]) +
         b"2\r\n{}\r\n0\r\n\r\n",
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("negative Content-Length",
         _head(port, lines=["Content-Length: -2"]) + b"{}",
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("Content-Length not a number",
         _head(port, lines=["Content-Length: 2x"]) + b"{}",
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("Transfer-Encoding: identity",
         _head(port, lines=["Transfer-Encoding: identity"]) + b"{}",
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("a chunk size evhttp cannot read",
         _head(port, lines=["Transfer-Encoding: chunked"]) +
         b"zz\r\n{}\r\n0\r\n\r\n",
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("a header line without a colon",
         _head(port, lines=["NoColon", "Content-Length: 0"]),
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("method not served",
         _head(port, method="BREW"),
         405, "llmproxy_method_not_allowed", "method_not_allowed", "oa"),
        ("TRACE",
         _head(port, method="TRACE"),
         405, "llmproxy_method_not_allowed", "method_not_allowed", "oa"),
        ("CONNECT with Connection: close",
         _head(port, method="CONNECT", target="example.com:443",
               lines=["Connection: close"]),
         405, "llmproxy_method_not_allowed", "method_not_allowed", ""),
        ("HTTP/0.9",
         b"GET /oa/v1/models\r\n",
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("HTTP/2.0 request line",
         _head(port, method="GET", version="HTTP/2.0"),
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("NUL in the target",
         _head(port, method="GET", target="/oa/v1/mo\x00dels"),
         400, "llmproxy_bad_request", "bad_request", "oa"),
        ("absolute-form target",
         _head(port, method="GET", target="http://127.0.0.1/oa/v1/x"),
         400, "llmproxy_bad_request", "bad_request", ""),
        ("Expect other than 100-continue",
         _head(port, lines=["Expect: tea", "Content-Length: 2"]) + b"{}",
         417, "llmproxy_bad_request", "bad_request", "oa"),
    ]


def test_raw_refusal_matrix(start_daemon, mock):
    d = _start(start_daemon, mock)
    for name, data, status, code, reason, prov in _matrix(d.port):
        before = _refused(d, prov, reason)
        with RawConn(d.port, timeout=10 * SLOW) as c:
            c.send(data)
            r = c.read_response()
            assert r.status == status, (name, r.status, r.body)
            assert r.header("Content-Type") == "application/json", name
            body = r.json()
            if prov == "an":
                assert body["type"] == "error", (name, body)
                assert body["error"]["message"].startswith(
                    "llmproxy_request_too_large: "), (name, body)
            else:
                assert body["error"]["code"] == code, (name, body)
            if status == 405:
                assert r.header("Allow") == ("GET, HEAD, POST, PUT, PATCH, "
                                             "DELETE, OPTIONS"), name
            assert r.header("Connection") == "close", name
            assert c.wait_closed(10 * SLOW), \
                "%s: the connection stayed open" % name
        d.wait_access(lambda ln: "status=%d" % status in ln and
                      "reason=" + reason in ln and
                      "provider=" + (prov or "-") + " " in ln and
                      _refused(d, prov, reason) == before + 1,
                      5 * SLOW, "%s: access line and metric" % name)
    assert mock.requests() == [], "a refused request reached the provider"
    d.healthy()


def test_refusal_after_a_kept_alive_request(start_daemon, mock):
    """A refusal on a kept-alive connection comes after the answer to the
    request before it, in order, even when both arrive in one write."""
    d = _start(start_daemon, mock)
    with RawConn(d.port, timeout=10 * SLOW) as c:
        c.send(_head(d.port, method="GET", target="/healthz"))
        assert c.read_response(method="GET").status == 200
        c.send(_head(d.port, method="GET", target="/healthz") +
               _head(d.port, lines=["Content-Length: %d" % (MAX_BODY + 1)]))
        assert c.read_response(method="GET").status == 200
        r = c.read_response()
        assert r.status == 413, (r.status, r.body)
        assert c.wait_closed(10 * SLOW)
    d.healthy()


def test_chunk_extension_is_accepted(start_daemon, mock):
    d = _start(start_daemon, mock)
    with RawConn(d.port, timeout=10 * SLOW) as c:
        for i, ext in enumerate((b";foo=bar", b' ; a="b c";d', b"\t;x")):
            c.send(_head(d.port, target="/oa/v1/echo",
                         lines=["Transfer-Encoding: chunked",
                                "x-mock-id: ext-%d" % i]) +
                   b"2" + ext + b"\r\n{}\r\n0;last\r\n\r\n")
            r = c.read_response()
            assert r.status == 200, (ext, r.status, r.body)
            assert r.json()["body"] == "{}", r.body
    assert len(mock.find("ext-2")) == 1
    d.healthy()
