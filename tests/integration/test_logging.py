# SPDX-License-Identifier: ISC
"""A log line never blocks the event loop (SPEC 8's access line is one
per request): with the daemon's stderr a pipe that nobody reads, requests
are still served in their usual time; lines past the daemon's bound are
dropped and counted, and once stderr is read again one line says how
many, so that every request is either in the log or in that count."""

import errno
import fcntl
import os
import re
import select
import signal
import socket
import subprocess
import tty

import pytest

import itlib
from itlib import RawConn

# Enough requests the simulated provider answers 404 at once, each with a
# long path in its access line (about 750 bytes), to fill the pipe and
# then the daemon's 1 MiB buffer.
REQUESTS = 2400
BATCH = 50
LONG = "x" * 600
DROPPED = re.compile(r"log: (\d+) line\(s\) dropped")


class Stderr:
    """The read end of the daemon's stderr, read only when asked."""

    def __init__(self, fd):
        self.fd = fd
        os.set_blocking(fd, False)
        self.text = ""

    def read_some(self, timeout):
        """Read what is there, waiting up to timeout for the first bytes;
        return False at EOF."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        while r:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return True
            except OSError as e:        # a terminal whose other side closed
                if e.errno != errno.EIO:
                    raise
                data = b""
            if not data:
                return False
            self.text += data.decode("utf-8", "replace")
            r, _, _ = select.select([self.fd], [], [], 0)
        return True

    def pending(self):
        """Bytes written to the pipe and not read yet."""
        buf = bytearray(4)
        fcntl.ioctl(self.fd, 0x541B, buf)       # FIONREAD
        return int.from_bytes(buf, "little")


def _batch(c, n, i0):
    """Send n pipelined requests the simulated provider does not serve;
    return the time until the last answer, in seconds."""
    t0 = itlib.now()
    for i in range(n):
        c.request("GET", "/demo/v1/n%d/%s" % (i0 + i, LONG))
    for _ in range(n):
        r = c.read_response("GET", timeout=10 * itlib.SLOW)
        assert r.status == 404, r.status
    return itlib.now() - t0


def _stderr_pair(kind):
    """Return (read end, daemon's end) of a small pipe, of a stream socket
    as journald's is, or of a terminal."""
    if kind == "tty":
        master, slave = os.openpty()
        tty.setraw(slave)
        return master, slave
    if kind == "pipe":
        rfd, wfd = os.pipe()
        fcntl.fcntl(rfd, fcntl.F_SETPIPE_SZ, 4096)     # fills at once
        return rfd, wfd
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return a.detach(), b.detach()


@pytest.mark.parametrize("kind", ["pipe", "socket", "tty"])
def test_stalled_stderr_never_blocks_the_loop(daemon_binary, tmp_path,
                                              kind):
    port = itlib.free_port()
    conf = tmp_path / "llmproxyd.conf"
    conf.write_text(itlib.render_config([itlib.simulated_provider(
                                            latency=0.0)],
                                        listen=["127.0.0.1:%d" % port],
                                        shutdown_timeout=3.0))
    rfd, wfd = _stderr_pair(kind)
    env = itlib._env_with_asan(os.environ, 1)
    proc = subprocess.Popen(itlib.WRAPPER + [daemon_binary, "-c",
                                             str(conf)],
                            env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=wfd)
    # A copy of the shared description, to see its flags (closed before
    # the daemon's exit, which the read end then sees).
    probe = [os.dup(wfd)]
    os.close(wfd)
    err = Stderr(rfd)
    try:
        _serve_with_stderr_stalled(proc, port, err, probe, kind)
    finally:
        if probe:
            os.close(probe.pop())
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        deadline = itlib.now() + 20 * itlib.SLOW
        while err.read_some(0.5) and itlib.now() < deadline:
            pass
        rc = proc.wait(10 * itlib.SLOW)
        os.close(rfd)
    assert rc == 0, err.text[-3000:]
    assert "stopped" in err.text.splitlines()[-1], err.text[-500:]
    for m in itlib.SANITIZER_MARKERS:
        assert m not in err.text, err.text[-6000:]


def _serve_with_stderr_stalled(proc, port, err, probe, kind):
    """Serve requests while stderr is read, then while it is not; then
    read it again.  probe holds the test's copy of the daemon's stderr:
    the daemon must not have made it non-blocking for everyone."""
    itlib.wait_until(lambda: err.read_some(0.05) and
                     "listening on" in err.text, 10 * itlib.SLOW,
                     "the daemon to listen")
    with RawConn(port, timeout=10 * itlib.SLOW) as c:
        usual = _batch(c, BATCH, 0)
        err.read_some(0.5)
        # Nobody reads stderr from here on.
        worst, sent = 0.0, BATCH
        while sent < REQUESTS:
            worst = max(worst, _batch(c, BATCH, sent))
            sent += BATCH
        assert err.pending() > 0 and proc.poll() is None
        itlib.MEASURED["stalled stderr (%s): a batch of %d requests (s), "
                       "stderr read" % (kind, BATCH)] = usual
        itlib.MEASURED["stalled stderr (%s): slowest batch of %d requests "
                       "(s), stderr stalled" % (kind, BATCH)] = worst
        assert worst < max(1.0, 20 * usual) * itlib.SLOW, (worst, usual)
        assert os.get_blocking(probe[0]), \
            "the daemon made the stderr it shares non-blocking"
        os.close(probe.pop())

        # Read again: the lines kept, then the count of the rest.
        itlib.wait_until(lambda: (err.read_some(0.1) or True) and
                         DROPPED.search(err.text), 10 * itlib.SLOW,
                         "the dropped lines notice")
        _batch(c, 1, sent)
        sent += 1
        last = "/v1/n%d/" % (sent - 1)
        itlib.wait_until(lambda: (err.read_some(0.1) or True) and
                         last in err.text, 10 * itlib.SLOW,
                         "the access line of the last request")
    logged = len([ln for ln in err.text.splitlines()
                  if "llmproxyd: access " in ln and "/v1/n" in ln])
    dropped = sum(int(m.group(1)) for m in DROPPED.finditer(err.text))
    itlib.MEASURED["stalled stderr (%s): access lines dropped" % kind] = \
        dropped
    assert dropped > 0
    assert logged + dropped == sent, (logged, dropped, sent)
