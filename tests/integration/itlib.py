# SPDX-License-Identifier: ISC
"""Helpers for the llmproxyd integration tests.

The daemon and the mock upstream run as real processes on ephemeral
127.0.0.1 ports.  Their output is read by background threads so that a
chatty process never blocks on a full pipe, and every wait is a condition
polled against a deadline (never a bare sleep).  RawConn is a small HTTP/1.x
client over a plain socket, for the tests that must see the bytes on the
wire: framing, hop-by-hop headers, arrival times, slow readers, hang-ups.
"""

import json
import os
import re
import selectors
import shlex
import signal
import socket
import subprocess
import threading
import time

# The provider keys the daemon reads from its environment.  Distinct and
# greppable: the key-leak checks look for them in every log.
CANARY_BEARER = "sk-llmproxy-test-canary-0123456789"
CANARY_XAPI = "sk-ant-llmproxy-test-canary-9876543210"
CANARIES = (CANARY_BEARER, CANARY_XAPI)
KEY_ENV_BEARER = "LLMPROXY_IT_KEY_BEARER"
KEY_ENV_XAPI = "LLMPROXY_IT_KEY_XAPI"

# Credentials that clients send and that must never reach a provider nor
# a log line.
CLIENT_BEARER = "sk-client-secret-must-not-leak-1111"
CLIENT_XAPI = "client-xkey-must-not-leak-2222"
# A client_tokens entry (test_security.py): never in a log either.
CLIENT_TOKEN = "llmproxy-client-token-must-not-leak-3333"
CLIENT_SECRETS = [CLIENT_BEARER, CLIENT_XAPI, CLIENT_TOKEN]

# Under valgrind (LLMPROXYD_WRAPPER) everything is slower: deadlines grow.
WRAPPER = shlex.split(os.environ.get("LLMPROXYD_WRAPPER", ""))
SLOW = 6.0 if WRAPPER else 1.0

# Numbers the tests measured, for the end-of-session summary.
MEASURED = {}
# The stderr of every daemon stopped so far, for the final leak check.
SESSION_LOGS = []

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:")


def now():
    return time.monotonic()


def wait_until(pred, timeout, what, interval=0.01):
    """Poll pred() until it returns a true value; return that value.

    Fail with `what` in the message once timeout seconds have passed."""
    deadline = now() + timeout
    while True:
        v = pred()
        if v:
            return v
        if now() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


class OutputReader:
    """Collect a pipe's lines in a list from a background thread."""

    def __init__(self, pipe, name):
        self.lines = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, args=(pipe,),
                                       name=name, daemon=True)
        self.thread.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        pipe.close()

    def text(self):
        with self.cond:
            return "".join(self.lines)

    def wait_for(self, regex, timeout, proc=None):
        """Return the first match of regex in a line, waiting for it."""
        pat = re.compile(regex)
        deadline = now() + timeout
        i = 0
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = pat.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                left = deadline - now()
                if self.closed or left <= 0:
                    return None
                self.cond.wait(min(left, 0.1))

    def join(self, timeout):
        self.thread.join(timeout)


def _env_with_asan(base, leaks):
    env = dict(base)
    opts = env.get("ASAN_OPTIONS", "")
    if "detect_leaks" not in opts:
        opts = (opts + ":" if opts else "") + "detect_leaks=%d" % leaks
    env["ASAN_OPTIONS"] = opts
    return env


# --- the mock upstream ----------------------------------------------------

class Mock:
    """tests/mock/mock_upstream on an ephemeral port."""

    def __init__(self, binary):
        env = _env_with_asan(os.environ, 0)
        self.proc = subprocess.Popen([binary, "-p", "0"], env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out = OutputReader(self.proc.stdout, "mock-stdout")
        self.err = OutputReader(self.proc.stderr, "mock-stderr")
        m = self.out.wait_for(r"^PORT (\d+)", 10 * SLOW)
        if m is None:
            self.stop()
            raise RuntimeError("mock upstream did not report its port; "
                               "stderr:\n" + self.err.text())
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def _get(self, path):
        c = RawConn(self.port, timeout=10 * SLOW)
        try:
            c.request("GET", path)
            r = c.read_response()
        finally:
            c.close()
        assert r.status == 200, (path, r.status, r.body)
        return json.loads(r.body)

    def requests(self):
        return self._get("/_mock/requests")["requests"]

    def stats(self):
        return self._get("/_mock/stats")

    def reset(self):
        c = RawConn(self.port, timeout=10 * SLOW)
        try:
            c.request("POST", "/_mock/reset", body=b"")
            r = c.read_response()
        finally:
            c.close()
        assert r.status in (200, 204), r.status

    def find(self, mock_id):
        """Return the recorded requests carrying x-mock-id: mock_id."""
        return [r for r in self.requests() if r.get("id") == mock_id]

    def wait_request(self, mock_id, pred, timeout, what):
        def check():
            for r in self.find(mock_id):
                if pred(r):
                    return r
            return None
        return wait_until(check, timeout, what, interval=0.02)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.out.join(5)
        self.err.join(5)


def header_values(headers, name):
    """All values of a header in a [[name, value], ...] list."""
    name = name.lower()
    return [v for n, v in headers if n.lower() == name]


# --- configuration --------------------------------------------------------

def _conf_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if ("." in repr(v) or "e" in repr(v)) else \
            repr(v) + ".0"
    if isinstance(v, str):
        return json.dumps(v)        # libconfig strings escape like JSON
    if isinstance(v, dict):         # a group: { key = value; ... }
        return "{ " + " ".join("%s = %s;" % (k, _conf_value(x))
                               for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)) and v and \
            all(isinstance(x, dict) for x in v):
        return "( " + ", ".join(_conf_value(x) for x in v) + " )"
    if isinstance(v, (list, tuple)):
        return "[ " + ", ".join(_conf_value(x) for x in v) + " ]"
    raise TypeError(v)


def render_config(providers, **top):
    """Render a libconfig file from provider dicts and top-level keys."""
    top.setdefault("listen", ["127.0.0.1:0"])
    lines = []
    for k, v in top.items():
        lines.append("%s = %s;" % (k, _conf_value(v)))
    lines.append("providers = (")
    blocks = []
    for p in providers:
        body = " ".join("%s = %s;" % (k, _conf_value(v))
                        for k, v in p.items())
        blocks.append("  { %s }" % body)
    lines.append(",\n".join(blocks))
    lines.append(");")
    return "\n".join(lines) + "\n"


def proxy_provider(name, base_url, dialect="openai", auth=None, **kw):
    """A provider block that forwards to base_url with a canary key."""
    if auth is None:
        auth = "bearer" if dialect == "openai" else "x-api-key"
    p = {"name": name, "base_url": base_url, "dialect": dialect,
         "auth": auth}
    if auth == "bearer":
        p["api_key_env"] = KEY_ENV_BEARER
    elif auth == "x-api-key":
        p["api_key_env"] = KEY_ENV_XAPI
    p.update(kw)
    return p


def simulated_provider(name="demo", latency=0.05, tokens_per_second=200.0,
                       **kw):
    p = {"name": name, "type": "simulated", "latency": latency,
         "tokens_per_second": tokens_per_second}
    p.update(kw)
    return p


# --- the daemon -----------------------------------------------------------

class Daemon:
    """One llmproxyd process on an ephemeral port."""

    def __init__(self, binary, conf_path, config_text, extra_env=None,
                 args=("-v",)):
        with open(conf_path, "w") as f:
            f.write(config_text)
        self.conf_path = conf_path
        self.config_text = config_text
        env = _env_with_asan(os.environ, 1)
        env[KEY_ENV_BEARER] = CANARY_BEARER
        env[KEY_ENV_XAPI] = CANARY_XAPI
        if extra_env:
            env.update(extra_env)
        self.cmd = WRAPPER + [binary, "-c", conf_path] + list(args)
        self.proc = subprocess.Popen(self.cmd, env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self.out = OutputReader(self.proc.stdout, "daemon-stdout")
        self.err = OutputReader(self.proc.stderr, "daemon-stderr")
        self.returncode = None
        self.stopped = False
        m = self.err.wait_for(r"llmproxyd: listening on 127\.0\.0\.1:(\d+)",
                              30 if WRAPPER else 10)
        if m is None:
            self.kill()
            raise AssertionError(
                "llmproxyd did not report its port (exit %s); config:\n%s\n"
                "stderr:\n%s" % (self.proc.returncode, config_text,
                                 self.stderr()))
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port
        wait_until(self._healthy, 30 if WRAPPER else 10, "GET /healthz")

    def _healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError("llmproxyd exited (%s) during startup:\n%s"
                                 % (self.proc.returncode, self.stderr()))
        try:
            r = request(self.port, "GET", "/healthz", timeout=2 * SLOW)
        except OSError:
            return False
        return r.status == 200 and json.loads(r.body) == {"status": "ok"}

    def healthy(self):
        """Assert the daemon runs and answers /healthz."""
        assert self.proc.poll() is None, \
            "llmproxyd died (%s):\n%s" % (self.proc.returncode,
                                           self.stderr()[-4000:])
        r = request(self.port, "GET", "/healthz", timeout=5 * SLOW)
        assert r.status == 200 and json.loads(r.body) == {"status": "ok"}

    def stderr(self):
        return self.err.text()

    def access_lines(self):
        return [ln for ln in self.stderr().splitlines()
                if "llmproxyd: access " in ln]

    def wait_access(self, pred, timeout, what):
        def check():
            for ln in self.access_lines():
                if pred(ln):
                    return ln
            return None
        return wait_until(check, timeout, what, interval=0.02)

    def wait_access_lines(self, pred, n, timeout, what):
        """Wait until at least n access lines match pred (a reader thread
        brings them from the daemon's stderr); return the matching ones."""
        def check():
            found = [ln for ln in self.access_lines() if pred(ln)]
            return found if len(found) >= n else None
        return wait_until(check, timeout, what, interval=0.02)

    def rss_kb(self):
        """The daemon's resident set, from /proc (VmRSS, kB)."""
        # Under valgrind too: it runs the program in its own process.
        with open("/proc/%d/status" % self.pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self, timeout=None):
        """SIGTERM, then wait for the exit; return the exit status."""
        if self.stopped:
            return self.returncode
        self.stopped = True
        if timeout is None:
            timeout = 60 if WRAPPER else 10
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.err.join(5)
                self.returncode = "killed: no exit within %s s of SIGTERM" \
                    % timeout
                return self.returncode
        self.err.join(10)
        self.out.join(10)
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self, on_purpose=False):
        """SIGKILL the daemon; on_purpose: a test's doing, not a fault
        (its exit status is then not a problem)."""
        self.killed_on_purpose = on_purpose
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.err.join(5)
        self.out.join(5)
        self.stopped = True
        self.returncode = self.proc.returncode

    def problems(self):
        """After stop(): what went wrong (exit status, sanitizer reports)."""
        out = []
        if self.returncode != 0 and not (
                getattr(self, "killed_on_purpose", False) and
                self.returncode == -signal.SIGKILL):
            out.append("exit status %r (expected 0)" % (self.returncode,))
        text = self.stderr()
        for m in SANITIZER_MARKERS:
            if m in text:
                out.append("stderr contains %r" % m)
        return out


# --- a raw HTTP/1.x client --------------------------------------------------

class IncompleteBody(Exception):
    """The connection closed before the body's framing said it ended."""


class Response:
    def __init__(self):
        self.version = None
        self.status = None
        self.reason = None
        self.headers = []           # [(name, value)] as received
        self.body = b""
        self.framing = None         # "chunked", "length", "close", "none"
        self.complete = False
        self.head_time = None
        self.pieces = []            # [(t, bytes)] body data as it came

    def header(self, name):
        vs = header_values(self.headers, name)
        return vs[0] if vs else None

    def has_header(self, name):
        return bool(header_values(self.headers, name))

    def json(self):
        return json.loads(self.body)


class RawConn:
    """An HTTP/1.x client connection on a plain socket."""

    def __init__(self, port, timeout=10.0, rcvbuf=None):
        self.port = port
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buf = bytearray()
        self.eof = False
        self.sent_at = None

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, target, headers=(), body=None,
                version="HTTP/1.1", host=True, content_length=True):
        lines = ["%s %s %s" % (method, target, version)]
        names = {n.lower() for n, _ in headers}
        if host and "host" not in names:
            lines.append("Host: 127.0.0.1:%d" % self.port)
        for n, v in headers:
            lines.append("%s: %s" % (n, v))
        if body is not None and content_length and \
                "content-length" not in names:
            lines.append("Content-Length: %d" % len(body))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if body is not None:
            data += body
        self.sent_at = now()
        self.send(data)

    def _fill(self, deadline):
        """Read more bytes into buf; False at EOF."""
        if self.eof:
            return False
        left = deadline - now()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(min(left, self.timeout))
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_head(self, timeout=None, resp=None):
        deadline = now() + (timeout or self.timeout)
        r = resp or Response()
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if not self._fill(deadline):
                raise IncompleteBody("connection closed before the "
                                     "response head: %r" % bytes(self.buf))
        head = bytes(self.buf[:i]).decode("latin-1")
        del self.buf[:i + 4]
        r.head_time = now()
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        r.version, r.status = parts[0], int(parts[1])
        r.reason = parts[2] if len(parts) > 2 else ""
        for ln in lines[1:]:
            n, _, v = ln.partition(":")
            r.headers.append((n, v.strip()))
        return r

    def body_pieces(self, r, method="POST", timeout=None):
        """Yield (t, data) pieces of r's body as they arrive; set
        r.framing and r.complete.  Raise IncompleteBody on a cut body."""
        deadline = now() + (timeout or self.timeout)
        te = (r.header("Transfer-Encoding") or "").lower()
        cl = r.header("Content-Length")
        if method == "HEAD" or r.status in (204, 304) or \
                100 <= r.status < 200:
            r.framing = "none"
            r.complete = True
            return
        if te:
            r.framing = "chunked"
            assert te == "chunked", te
            yield from self._chunked(r, deadline)
        elif cl is not None:
            r.framing = "length"
            left = int(cl)
            while left > 0:
                if not self.buf and not self._fill(deadline):
                    raise IncompleteBody("%d body bytes missing" % left)
                take = bytes(self.buf[:left])
                del self.buf[:len(take)]
                left -= len(take)
                yield now(), take
            r.complete = True
        else:
            r.framing = "close"
            while True:
                if self.buf:
                    data = bytes(self.buf)
                    self.buf.clear()
                    yield now(), data
                if not self._fill(deadline):
                    break
            r.complete = True

    def _chunked(self, r, deadline):
        while True:
            while True:
                i = self.buf.find(b"\r\n")
                if i >= 0:
                    break
                if not self._fill(deadline):
                    raise IncompleteBody("closed before a chunk size")
            line = bytes(self.buf[:i]).split(b";")[0].strip()
            del self.buf[:i + 2]
            size = int(line, 16)
            if size == 0:
                while True:     # trailers, then the blank line
                    while True:
                        i = self.buf.find(b"\r\n")
                        if i >= 0:
                            break
                        if not self._fill(deadline):
                            raise IncompleteBody("closed in the trailer")
                    trailer = bytes(self.buf[:i])
                    del self.buf[:i + 2]
                    if trailer == b"":
                        r.complete = True
                        return
            left = size
            while left > 0:
                if not self.buf and not self._fill(deadline):
                    raise IncompleteBody("closed inside a chunk")
                take = bytes(self.buf[:left])
                del self.buf[:len(take)]
                left -= len(take)
                yield now(), take
            while len(self.buf) < 2:
                if not self._fill(deadline):
                    raise IncompleteBody("closed after a chunk's data")
            assert self.buf[:2] == b"\r\n", bytes(self.buf[:10])
            del self.buf[:2]

    def read_response(self, method="POST", timeout=None, keep_pieces=False):
        """Read a whole response; the body is joined into r.body."""
        r = self.read_head(timeout)
        parts = []
        for t, data in self.body_pieces(r, method, timeout):
            parts.append(data)
            if keep_pieces:
                r.pieces.append((t, data))
        r.body = b"".join(parts)
        return r

    def wait_closed(self, timeout):
        """True once the peer closed the connection (reading any bytes)."""
        deadline = now() + timeout
        try:
            while self._fill(deadline):
                pass
        except socket.timeout:
            return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def free_port():
    """A loopback port nothing listens on right now: free to listen on,
    and refused when connected to."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Where a test wants a connection refused, it asks for a closed port.
closed_port = free_port


def request(port, method, target, headers=(), body=None, timeout=10.0,
            version="HTTP/1.1"):
    """One request on a fresh connection; return the whole Response."""
    with RawConn(port, timeout=timeout) as c:
        hs = list(headers)
        if version == "HTTP/1.1" and not any(n.lower() == "connection"
                                             for n, _ in hs):
            hs.append(("Connection", "close"))
        c.request(method, target, hs, body, version=version)
        return c.read_response(method, timeout)


# --- server-sent events ----------------------------------------------------

class SSEParser:
    """Split a byte stream into events: [(t, event_name, data_text)]."""

    def __init__(self):
        self.buf = bytearray()
        self.events = []

    def feed(self, t, data):
        self.buf += data
        while True:
            m = re.search(rb"\r\n\r\n|\n\n|\r\r", self.buf)
            if not m:
                return
            block = bytes(self.buf[:m.start()]).decode("utf-8")
            del self.buf[:m.end()]
            name, datas = None, []
            for ln in re.split(r"\r\n|\n|\r", block):
                if ln.startswith(":") or not ln:
                    continue
                field, _, value = ln.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "event":
                    name = value
                elif field == "data":
                    datas.append(value)
            if name is None and not datas:
                continue
            self.events.append((t, name, "\n".join(datas)))

    def datas(self):
        return [d for _, _, d in self.events]


def sse_events(body):
    p = SSEParser()
    p.feed(0.0, body)
    return p.events


def stream_request(port, target, body, headers=(), timeout=30.0,
                   version="HTTP/1.1"):
    """POST body and read an SSE answer; return (Response, SSEParser)."""
    p = SSEParser()
    with RawConn(port, timeout=timeout) as c:
        hs = list(headers)
        if not any(n.lower() == "content-type" for n, _ in hs):
            hs.append(("Content-Type", "application/json"))
        c.request("POST", target, hs, body, version=version)
        r = c.read_head(timeout)
        parts = []
        for t, data in c.body_pieces(r, "POST", timeout):
            parts.append(data)
            r.pieces.append((t, data))
            p.feed(t, data)
        r.body = b"".join(parts)
        r.sent_at = c.sent_at
    return r, p


def jbody(obj):
    return json.dumps(obj).encode()


def read_until_closed(socks, timeout):
    """Read every socket until it closes or timeout passes; return what
    each sent, as a list in the order of socks."""
    sel = selectors.DefaultSelector()
    data = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        data[s] = b""
    deadline = now() + timeout
    while sel.get_map() and now() < deadline:
        for key, _ in sel.select(max(0.0, deadline - now())):
            try:
                chunk = key.fileobj.recv(4096)
            except OSError:
                chunk = b""
            data[key.fileobj] += chunk
            if chunk == b"":
                sel.unregister(key.fileobj)
    sel.close()
    return [data[s] for s in socks]
