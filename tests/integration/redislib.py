# SPDX-License-Identifier: ISC
"""A real redis-server for the shared-limits tests (SPEC 14).

Each RedisServer is a redis-server process of our own on a free loopback
port (or a unix socket), with no persistence, in a directory of its own,
stopped by its pid.  It can be stopped and started again on the same
port, which is how the tests take Redis away from running daemons and
give it back.  Debian's redis-server comes from apt (scripts/lib.sh).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile

import itlib

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """redis-server on 127.0.0.1:port (and unixsocket when unix=True)."""

    def __init__(self, port=None, unix=False, password=None):
        self.port = port or itlib.free_port()
        self.dir = tempfile.mkdtemp(prefix="llmproxyd-redis-")
        self.unixsocket = os.path.join(self.dir, "redis.sock") if unix \
            else None
        self.password = password
        self.proc = None
        self.log = None
        self.start()

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def _args(self):
        args = [REDIS_SERVER, "--port", str(self.port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir, "--daemonize", "no",
                "--loglevel", "warning"]
        if self.unixsocket:
            args += ["--unixsocket", self.unixsocket,
                     "--unixsocketperm", "700"]
        if self.password:
            args += ["--requirepass", self.password]
        return args

    def start(self):
        """Start (again) on the same port; return once it answers PING."""
        assert self.proc is None
        self.proc = subprocess.Popen(self._args(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.log = itlib.OutputReader(self.proc.stdout, "redis-server")
        itlib.wait_until(self._answers, 10.0 * itlib.SLOW,
                         "redis-server on port %d to answer" % self.port)

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("redis-server exited %s:\n%s"
                                 % (self.proc.returncode, self.log.text()))
        try:
            return self.ping()
        except OSError:
            return False

    def command(self, *args, timeout=5.0):
        """Send one command in RESP and return the raw reply's first line
        (enough for PING and small replies; tests use python3-redis for
        anything richer)."""
        parts = []
        if self.password:
            parts.append(["AUTH", self.password])
        parts.append([str(a) for a in args])
        payload = b""
        for cmd in parts:
            payload += b"*%d\r\n" % len(cmd)
            for a in cmd:
                b = a.encode()
                payload += b"$%d\r\n%s\r\n" % (len(b), b)
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=timeout) as s:
            s.sendall(payload)
            data = b""
            while data.count(b"\r\n") < len(parts):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data.split(b"\r\n")[len(parts) - 1].decode()

    def ping(self):
        return self.command("PING") == "+PONG"

    def client(self):
        """A python3-redis client (decode_responses=True)."""
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port,
                           password=self.password, decode_responses=True)

    def stop(self):
        """Stop the server (SIGTERM, then SIGKILL), keeping its port."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10.0)
        self.log.join(5.0)
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
