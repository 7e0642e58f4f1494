# SPDX-License-Identifier: ISC
"""The daemon's Redis link (daemon/rlink.c, SPEC 14) against a real
redis-server, through tests/redis/rlink_drive: a script call and its
reply parsed, NOSCRIPT answered by loading the script, AUTH right and
wrong, a unix socket, SELECT, a server that stops answering (SIGSTOP), a
server that goes away and comes back on the same port (subscriptions
restored), 10,000 calls pipelined, and a link freed from inside a
callback.

The driver prints one line per event; each test sends it commands and
waits for lines, with deadlines.  Its path comes in RLINK_DRIVE, which
scripts/test sets; run by hand without it, these tests are skipped.
"""

import os
import re
import signal
import subprocess

import pytest

import itlib
import redislib

RLINK_DRIVE = os.environ.get("RLINK_DRIVE")
TIMEOUT_MS = 250
PASSWORD = "rlink-redis-password-must-not-leak-4444"


class Drive:
    """One rlink_drive process: commands in, event lines out."""

    def __init__(self, binary, url, opts, timeout_ms):
        args = itlib.WRAPPER + [binary, "-v", "-t", str(timeout_ms)] \
            + list(opts) + [url]
        env = itlib._env_with_asan(os.environ, 1)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.out = itlib.OutputReader(self.proc.stdout, "rlink_drive")
        self.err = itlib.OutputReader(self.proc.stderr, "rlink_drive err")
        self.returncode = None

    def send(self, *lines):
        for line in lines:
            self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def wait(self, regex, timeout=5.0, reader=None):
        """Return the first line matching regex, waiting for it."""
        reader = reader or self.out
        m = reader.wait_for(regex, timeout * itlib.SLOW, self.proc)
        if m is None:
            raise AssertionError(
                "no line matching %r within %.1f s\n--- stdout:\n%s"
                "--- stderr:\n%s" % (regex, timeout * itlib.SLOW,
                                     self.out.text(), self.err.text()))
        return m

    def count(self, regex, reader=None):
        pat = re.compile(regex)
        with (reader or self.out).cond:
            return sum(1 for line in (reader or self.out).lines
                       if pat.search(line))

    def wait_count(self, regex, n, timeout=5.0, reader=None):
        """Wait until at least n lines match regex."""
        itlib.wait_until(lambda: self.count(regex, reader) >= n,
                         timeout * itlib.SLOW,
                         "%d lines matching %r:\n%s%s"
                         % (n, regex, self.out.text(), self.err.text()))

    def own_text(self):
        """stdout and stderr less valgrind's echo of the command line
        (which holds what the test passed, passwords included)."""
        return "".join(line for line in self.out.lines + self.err.lines
                       if not re.match(r"==\d+== Command: ", line))

    def stop(self):
        """Quit and return what went wrong (exit status, sanitizers)."""
        if self.returncode is None:
            try:
                self.send("quit")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10 * itlib.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.out.join(5)
            self.err.join(5)
            self.returncode = self.proc.returncode
        problems = []
        if self.returncode != 0:
            problems.append("exit status %r" % self.returncode)
        for marker in itlib.SANITIZER_MARKERS + ("definitely lost",):
            if marker in self.err.text():
                problems.append("stderr contains %r" % marker)
        return problems


@pytest.fixture
def drive():
    """Factory: drive(url, *options) -> a running Drive."""
    if not RLINK_DRIVE:
        if os.environ.get("LLMPROXYD_TEST_SUITE"):
            pytest.fail("RLINK_DRIVE is not set (scripts/test sets it)",
                        pytrace=False)
        pytest.skip("set RLINK_DRIVE to the built tests/redis/rlink_drive "
                    "(scripts/test does)")
    drives = []

    def start(url, *opts, timeout_ms=TIMEOUT_MS):
        d = Drive(RLINK_DRIVE, url, opts, timeout_ms)
        drives.append(d)
        return d

    yield start
    problems = []
    for i, d in enumerate(drives):
        problems += ["drive %d: %s" % (i, p) for p in d.stop()]
        if PASSWORD in d.own_text():
            problems.append("drive %d: the password is in its output" % i)
    if problems:
        pytest.fail("after the test:\n  " + "\n  ".join(problems) + "\n"
                    + "\n".join("--- drive %d stderr:\n%s"
                                % (i, d.err.text()[-4000:])
                                for i, d in enumerate(drives)),
                    pytrace=False)


def _admit_ok(d, call_id, n=1):
    return d.wait(r"^reply %s admit admitted=%d retry=0 now=(\d+) hosts=1 "
                  r"lease=-1 note=0$" % (re.escape(call_id), n))


def _stat(client, section, key, field):
    """A field of an INFO line (python3-redis 4.3 leaves some unparsed:
    "count=1")."""
    v = client.info(section).get(key)
    if v is None:
        return 0
    if not isinstance(v, dict):
        v = dict(kv.split("=", 1) for kv in str(v).split(","))
    return int(v[field])


def _noscripts(client):
    return _stat(client, "errorstats", "errorstat_NOSCRIPT", "count")


def _calls(client, command):
    return _stat(client, "commandstats", "cmdstat_" + command, "calls")


def test_script_call_and_reply_parsed(redis_server, drive):
    d = drive(redis_server.url)
    d.wait(r"^up$")
    d.send("eval 1 3", "eval 2 1 600", "eval 3 2 512", "cmd 4 PING")
    m = _admit_ok(d, "1", 3)
    now_ms = int(redis_server.client().time()[0]) * 1000
    assert abs(int(m.group(1)) - now_ms) < 5000
    d.wait(r"^reply 2 rejected note of 600 bytes \(at most 512\)$")
    d.wait(r"^reply 3 admit admitted=2 .* note=512$")
    d.wait(r"^reply 4 status PONG$")
    # A fresh server lacks the script: the three calls in flight get
    # NOSCRIPT, one SCRIPT LOAD serves them, and from then on the script
    # is known by the SHA-1 the link computed itself.
    client = redis_server.client()
    assert _calls(client, "script|load") == 1
    assert _noscripts(client) == 3
    d.send("eval 5 1")
    _admit_ok(d, "5")
    assert _noscripts(client) == 3
    assert _calls(client, "evalsha") == 7


def test_noscript_after_flush_reloads(redis_server, drive):
    d = drive(redis_server.url)
    d.wait(r"^up$")
    d.send("eval 1 1")
    _admit_ok(d, "1")
    client = redis_server.client()
    before = _noscripts(client)
    client.script_flush()
    d.send("eval 2 2")
    _admit_ok(d, "2", 2)
    assert _noscripts(client) == before + 1
    assert _calls(client, "script|load") == 2
    d.send("eval 3 1")
    _admit_ok(d, "3")
    assert _noscripts(client) == before + 1


def test_refused_commands(redis_server, drive):
    d = drive(redis_server.url)
    d.wait(r"^up$")
    d.send("cmd 1 SUBSCRIBE x", "cmd 2 select 1", "cmd 3 PING")
    d.wait(r"^null 1 \d+ms command refused")
    d.wait(r"^null 2 \d+ms command refused")
    d.wait(r"^reply 3 status PONG$")


@pytest.fixture
def redis_password():
    srv = redislib.RedisServer(password=PASSWORD)
    yield srv
    srv.close()


def test_auth_right_password(redis_password, drive):
    d = drive(redis_password.url, "-p", PASSWORD)
    d.wait(r"^up$")
    d.send("eval 1 1")
    _admit_ok(d, "1")
    e = drive("redis://:%s@127.0.0.1:%d/0" % (PASSWORD, redis_password.port))
    e.wait(r"^up$")
    e.send("cmd 1 PING")
    e.wait(r"^reply 1 status PONG$")


def test_auth_user_and_password(redis_password, drive):
    client = redis_password.client()
    client.execute_command("ACL", "SETUSER", "rlinkuser", "on",
                           ">" + PASSWORD, "~*", "+@all")
    d = drive("redis://rlinkuser:%s@127.0.0.1:%d/0"
              % (PASSWORD, redis_password.port))
    d.wait(r"^up$")
    d.send("cmd 1 ACL WHOAMI")
    d.wait(r"^reply 1 str rlinkuser$")


def test_auth_wrong_password(redis_password, drive):
    d = drive(redis_password.url, "-p", "not-the-" + PASSWORD)
    m = d.wait(r"^down (.*)$")
    assert "AUTH" in m.group(1) and "WRONGPASS" in m.group(1), m.group(1)
    # It keeps trying, and says down once.
    d.wait_count(r"still down: .*AUTH", 2, reader=d.err)
    d.send("eval 1 1")
    d.wait(r"^null 1 \d+ms link down$")
    assert d.count(r"^down ") == 1
    assert d.count(r"^up$") == 0
    assert "not-the-" not in d.own_text()
    n = drive(redis_password.url)
    m = n.wait(r"^down (.*)$")
    assert "NOAUTH" in m.group(1), m.group(1)


def test_unix_socket(drive):
    srv = redislib.RedisServer(unix=True)
    try:
        d = drive("unix://%s?db=2" % srv.unixsocket)
        d.wait(r"^up$")
        d.send("eval 1 1", "cmd 2 SET rlink-unix yes")
        _admit_ok(d, "1")
        d.wait(r"^reply 2 status OK$")
        import redis
        c = redis.Redis(unix_socket_path=srv.unixsocket, db=2,
                        decode_responses=True)
        assert c.get("rlink-unix") == "yes"
    finally:
        srv.close()


def test_select_db(redis_server, drive):
    d = drive("redis://127.0.0.1:%d/3" % redis_server.port)
    d.wait(r"^up$")
    d.send("cmd 1 SET rlink-db-key three", "cmd 2 GET rlink-db-key")
    d.wait(r"^reply 1 status OK$")
    d.wait(r"^reply 2 str three$")
    import redis
    c3 = redis.Redis(port=redis_server.port, db=3, decode_responses=True)
    assert c3.get("rlink-db-key") == "three"
    assert redis_server.client().get("rlink-db-key") is None


def test_timeout_when_server_stops_answering(redis_server, drive):
    d = drive(redis_server.url, timeout_ms=TIMEOUT_MS)
    d.wait(r"^up$")
    d.send("eval 1 1")
    _admit_ok(d, "1")
    pid = redis_server.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        d.send("eval 2 1", "eval 3 1")
        m = d.wait(r"^null 2 (\d+)ms .*no reply within %d ms" % TIMEOUT_MS)
        d.wait(r"^null 3 \d+ms .*no reply within")
        took = int(m.group(1))
        itlib.MEASURED["rlink: call timeout noticed after (ms), "
                       "timeout_ms=%d" % TIMEOUT_MS] = took
        assert TIMEOUT_MS - 5 <= took <= TIMEOUT_MS + 250 * itlib.SLOW
        d.wait(r"^down .*no reply within %d ms" % TIMEOUT_MS)
        # Connects to a stopped server succeed (the kernel accepts) but
        # the handshake goes unanswered: more failures, one down.
        d.wait_count(r"still down: ", 2, reader=d.err)
        assert d.count(r"^down ") == 1
    finally:
        os.kill(pid, signal.SIGCONT)
    d.wait_count(r"^up$", 2, timeout=10.0)
    d.send("eval 4 1")
    _admit_ok(d, "4")
    assert d.count(r"^down ") == 1


def test_server_restart(redis_server, drive):
    d = drive(redis_server.url, "-c", "rlink-wake")
    d.wait(r"^up$")
    d.send("eval 1 1")
    _admit_ok(d, "1")
    client = redis_server.client()
    assert client.publish("rlink-wake", "before") == 1
    d.wait(r"^message rlink-wake before$")
    redis_server.stop()
    d.wait(r"^down .*(closed|refused)")
    d.send("eval 2 1")
    d.wait(r"^null 2 \d+ms link down$")
    d.wait_count(r"still down: .*refused", 2, reader=d.err)
    redis_server.start()
    # The backoff is at most 5 s (with jitter) plus a connect.
    d.wait_count(r"^up$", 2, timeout=10.0)
    assert d.count(r"^down ") == 1
    d.send("eval 3 1")
    _admit_ok(d, "3")
    client = redis_server.client()
    assert client.publish("rlink-wake", "after") == 1
    d.wait(r"^message rlink-wake after$")
    d.send("sub rlink-late")
    itlib.wait_until(lambda: client.publish("rlink-late", "late") == 1,
                     5.0 * itlib.SLOW, "the late subscription")
    d.wait(r"^message rlink-late late$")
    assert d.count(r"^up$") == 2 and d.count(r"^down ") == 1


def test_no_server(drive):
    port = itlib.free_port()
    d = drive("redis://127.0.0.1:%d/0" % port)
    m = d.wait(r"^down (.*)$")
    assert "refused" in m.group(1), m.group(1)
    d.send("eval 1 1")
    d.wait(r"^null 1 \d+ms link down$")
    d.wait_count(r"still down: ", 2, reader=d.err)
    assert d.count(r"^down ") == 1


@pytest.mark.timeout(120 if not itlib.WRAPPER else 900)
def test_ten_thousand_pipelined(redis_server, drive):
    d = drive(redis_server.url, timeout_ms=5000)
    d.wait(r"^up$")
    d.send("eval 0 1")
    _admit_ok(d, "0")  # the script is loaded
    d.send("bulk all 10000")
    m = d.wait(r"^bulk all ok=(\d+) failed=(\d+) max_in_flight=(\d+) "
               r"ms=(\d+)$", timeout=60.0)
    ok, failed, most, ms = (int(g) for g in m.groups())
    assert (ok, failed) == (10000, 0)
    assert most > 1
    itlib.MEASURED["rlink: calls/s, 10,000 at once"] = \
        10000 / max(ms, 1) * 1000.0
    d.send("bulk win 10000 64")
    m = d.wait(r"^bulk win ok=(\d+) failed=(\d+) max_in_flight=(\d+) "
               r"ms=(\d+)$", timeout=60.0)
    ok, failed, most, ms = (int(g) for g in m.groups())
    assert (ok, failed, most) == (10000, 0, 64)
    itlib.MEASURED["rlink: calls/s, 10,000 with 64 in flight"] = \
        10000 / max(ms, 1) * 1000.0
    assert d.count(r"^down ") == 0


def test_free_from_a_callback(redis_server, drive):
    d = drive(redis_server.url)
    d.wait(r"^up$")
    d.send("freecb f")
    _admit_ok(d, "f.0")
    d.wait(r"^null f\.1 \d+ms link freed$")
    d.wait(r"^null f\.2 \d+ms link freed$")
    d.wait(r"^freed$")
    d.send("eval 9 1")
    d.wait(r"^error no link$")
