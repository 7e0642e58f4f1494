# SPDX-License-Identifier: ISC
"""Client connections (SPEC sections 3 and 9, PITFALLS on evhttp): framing
only the raw bytes show gets 400 and a close, the request head and body
have deadlines of their own (slowloris), max_connections sheds with 503,
and running out of descriptors answers 503 without failing a live stream.
"""

import os
import resource
import socket
import threading
import time

import itlib
from itlib import MEASURED, RawConn, now, request, wait_until

PATH = "/oa/v1/chat/completions"


def _head(port, *lines):
    return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nx-mock-id: raw\r\n"
            % (PATH, port)) + "".join(l + "\r\n" for l in lines) + "\r\n"


# Shapes evhttp 2.1.12 parses without complaint (strtoll chunk sizes,
# obs-fold, a NUL cutting a value short): only the raw bytes show them.
RAW_FRAMING = [
    ("chunk size 0x2", ["Transfer-Encoding: chunked"],
     b"0x2\r\n{}\r\n0\r\n\r\n"),
    ("chunk size +2", ["Transfer-Encoding: chunked"],
     b"+2\r\n{}\r\n0\r\n\r\n"),
    ("chunk size with a leading blank", ["Transfer-Encoding: chunked"],
     b" 2\r\n{}\r\n0\r\n\r\n"),
    ("chunk size with a trailing blank", ["Transfer-Encoding: chunked"],
     b"2 \r\n{}\r\n0\r\n\r\n"),
    ("folded header line", ["X-Folded: a", " b", "Content-Length: 2"],
     b"{}"),
    ("NUL in a header value", ["X-Nul: a\x00b", "Content-Length: 2"],
     b"{}"),
]


def test_raw_framing_is_400_and_close(daemon, mock):
    for name, lines, body in RAW_FRAMING:
        with RawConn(daemon.port, timeout=10 * itlib.SLOW) as c:
            c.send(_head(daemon.port, *lines).encode("latin-1") + body)
            r = c.read_response()
            assert r.status == 400, (name, r.status, r.body)
            assert r.json()["error"]["code"] == "llmproxy_bad_request", name
            assert c.wait_closed(5 * itlib.SLOW), \
                "%s: the connection stayed open" % name
    assert mock.requests() == [], "a bad framing reached the provider"
    # The same requests, framed plainly, go through.
    with RawConn(daemon.port) as c:
        c.send(_head(daemon.port, "Transfer-Encoding: chunked").encode() +
               b"2\r\n{}\r\n0\r\n\r\n")
        assert c.read_response().status == 200
    daemon.healthy()


def _trickle(conns, stop, interval):
    """Send one more byte of a never-ending head on each open connection
    every interval; note when each is closed by the daemon."""
    closed_at = {}
    line = b"X-Slow: " + b"a" * 4000
    i = 0
    while not stop.is_set() and len(closed_at) < len(conns):
        for k, c in enumerate(conns):
            if k in closed_at:
                continue
            try:
                c.send(line[i % len(line):i % len(line) + 1])
                data = c.recv(4096)
                if data == b"":
                    closed_at[k] = now()
            except BlockingIOError:
                pass
            except OSError:
                closed_at[k] = now()
        i += 1
        stop.wait(interval)
    return closed_at


def test_slowloris_closed_at_the_header_deadline(start_daemon, mock):
    header_timeout = 1.5 * itlib.SLOW
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     header_timeout=header_timeout)
    n = 300
    conns = []
    t0 = now()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", d.port))
        s.setblocking(False)
        s.send(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % PATH).encode())
        conns.append(s)
    stop = threading.Event()
    result = {}
    t = threading.Thread(target=lambda: result.update(
        closed=_trickle(conns, stop, 0.2)))
    t.start()
    # A normal client keeps being served while the slow ones hang on.
    served = 0
    while t.is_alive() and now() - t0 < header_timeout + 10:
        r = request(d.port, "POST", "/oa/echo", body=b"{}")
        assert r.status == 200, r.status
        served += 1
        time.sleep(0.05)
    stop.set()
    t.join()
    for s in conns:
        s.close()
    closed = result["closed"]
    assert len(closed) == n, "%d of %d slow connections still open" % (
        n - len(closed), n)
    times = sorted(v - t0 for v in closed.values())
    assert times[0] >= 0.8 * header_timeout, times[0]
    assert times[-1] <= header_timeout + 5 * itlib.SLOW, times[-1]
    assert served >= 5, served
    assert d.err.wait_for(r"request head not received within header_timeout",
                          5 * itlib.SLOW), d.stderr()
    assert [r for r in mock.requests() if r.get("path") == PATH] == []
    MEASURED["slowloris: first of %d closed after (s), header_timeout %.1f"
             % (n, header_timeout)] = round(times[0], 2)
    MEASURED["slowloris: last of %d closed after (s), header_timeout %.1f"
             % (n, header_timeout)] = round(times[-1], 2)
    MEASURED["slowloris: normal requests served meanwhile"] = served
    d.healthy()


def test_body_deadline(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     header_timeout=10.0, body_timeout=1.0 * itlib.SLOW)
    with RawConn(d.port, timeout=10 * itlib.SLOW) as c:
        c.send(_head(d.port, "Content-Length: 100").encode())
        t0 = now()
        closed = None
        for _ in range(100):
            try:
                c.send(b"x")
            except OSError:
                closed = now()
                break
            c.sock.settimeout(0.2)
            try:
                if c.sock.recv(4096) == b"":
                    closed = now()
                    break
            except socket.timeout:
                pass
            except OSError:
                closed = now()
                break
        assert closed is not None, "a trickled body was never cut off"
        took = closed - t0
        assert 0.8 * itlib.SLOW <= took <= 5 * itlib.SLOW, took
    MEASURED["body_timeout 1.0 s: trickled body closed after (s)"] = \
        round(took, 2)
    assert d.err.wait_for(r"request body not received within body_timeout",
                          5 * itlib.SLOW), d.stderr()
    assert mock.requests() == []
    d.healthy()


def test_max_connections_sheds_with_503(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     max_connections=4)
    held = [RawConn(d.port) for _ in range(4)]
    for c in held:       # each is accepted and served (keep-alive)
        c.request("GET", "/healthz")
        assert c.read_response("GET").status == 200
    with RawConn(d.port) as c:
        c.request("POST", "/oa/echo", body=b"{}",
                  headers=[("x-mock-id", "shed")])
        r = c.read_response()
        assert r.status == 503, r.status
        assert r.header("Retry-After") == "1"
        assert r.json()["error"]["code"] == "llmproxy_overload"
        assert c.wait_closed(5 * itlib.SLOW)
    assert mock.find("shed") == []
    d.wait_access(lambda l: "status=503" in l and "reason=overload" in l,
                  5, "the overload access line")
    for c in held[:2]:
        c.close()

    def served():
        return request(d.port, "POST", "/oa/echo", body=b"{}").status == 200
    wait_until(served, 5 * itlib.SLOW, "a request after connections closed")
    for c in held[2:]:
        c.close()
    d.healthy()


def _count_503(socks, timeout):
    """Read every socket until it closes or timeout passes; return how
    many were answered 503 with Retry-After."""
    return sum(1 for v in itlib.read_until_closed(socks, timeout)
               if v.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in v)


def test_out_of_descriptors_sheds_and_keeps_streams(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     header_timeout=3.0 * itlib.SLOW)
    # A stream in flight before the flood must end intact.
    stream = RawConn(d.port, timeout=30 * itlib.SLOW)
    stream.request("POST", PATH, body=b'{"stream":true}', headers=[
        ("x-mock-chunks", "20"), ("x-mock-interval-ms", "100"),
        ("x-mock-id", "live")])
    r = stream.read_head()
    assert r.status == 200
    fds = 0
    soft, hard = resource.prlimit(d.pid, resource.RLIMIT_NOFILE)
    try:
        fds = len(os.listdir("/proc/%d/fd" % d.pid))
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (fds + 40, hard))
        flood = []
        for _ in range(120):
            s = socket.create_connection(("127.0.0.1", d.port))
            s.settimeout(5 * itlib.SLOW)
            flood.append(s)
        got_503 = _count_503(flood, 5 * itlib.SLOW)
        assert got_503 >= 40, got_503
        MEASURED["out of descriptors: of 120 new connections, 503 at "
                 "accept"] = got_503
        for s in flood:
            s.close()
    finally:
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (soft, hard))
    pieces = [p for _, p in stream.body_pieces(r)]
    body = b"".join(pieces)
    assert body.count(b"data: ") >= 20 and body.rstrip().endswith(
        b"data: [DONE]"), body[-200:]
    stream.close()
    assert d.err.wait_for(r"Too many open files", 5 * itlib.SLOW)

    def served():
        return request(d.port, "POST", "/oa/echo", body=b"{}").status == 200
    wait_until(served, 5 * itlib.SLOW, "a request after the flood")
    d.healthy()
