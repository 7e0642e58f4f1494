# SPDX-License-Identifier: ISC
"""systemd integration (SPEC 2, 9): sd_notify on a socket of the test's
own, the unit verified and scored by systemd-analyze, `make install`
laying out the files, and the man pages rendering without a warning.

Nothing here is skipped: systemd-analyze (package systemd), groff and man
(groff-base, man-db) are in scripts/lib.sh's lists.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import itlib


class NotifySocket:
    """An AF_UNIX datagram socket collecting sd_notify messages."""

    def __init__(self, abstract=False):
        self.dir = tempfile.mkdtemp(prefix="llmpn", dir="/tmp")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "llmproxyd-test-%d-%s" % (os.getpid(),
                                              os.path.basename(self.dir))
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(self.dir, "notify")
            self.sock.bind(self.address)
        self.sock.settimeout(0.1)
        self.msgs = []              # [(t, text)]
        self.on_ready = None        # called in the reader on each READY=1
        self.cond = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            text = data.decode()
            if "READY=1" in text.split("\n") and self.on_ready:
                self.on_ready()
            with self.cond:
                self.msgs.append((itlib.now(), text))
                self.cond.notify_all()

    def texts(self):
        with self.cond:
            return [m for _, m in self.msgs]

    def wait(self, pred, start, timeout, what):
        """Return the index of the first message from start matching."""
        def check():
            for i, m in enumerate(self.texts()[start:], start):
                if pred(m):
                    return i + 1
            return None
        return itlib.wait_until(check, timeout, what) - 1

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _is(line):
    return lambda m: line in m.split("\n")


def test_notify_ready_reload_stop(start_daemon):
    ns = NotifySocket()
    port = itlib.free_port()
    connected = []

    def try_connect():
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            connected.append(True)
        except OSError as e:
            connected.append(e)
    ns.on_ready = try_connect
    try:
        env = {"NOTIFY_SOCKET": ns.address, "WATCHDOG_USEC": ""}
        d = start_daemon([itlib.simulated_provider()], extra_env=env,
                         listen=["127.0.0.1:%d" % port])
        i = ns.wait(_is("READY=1"), 0, 10 * itlib.SLOW, "READY=1")
        assert connected[0] is True, \
            "READY=1 came before the port accepted: %r" % connected[0]
        assert not any("RELOADING=1" in m or "STOPPING=1" in m
                       for m in ns.texts()[:i + 1])

        # A good reload, then a bad one: both end in READY=1.
        for text in (d.config_text, "this is not = a config;\n"):
            with open(d.conf_path, "w") as f:
                f.write(text)
            os.kill(d.pid, signal.SIGHUP)
            j = ns.wait(_is("RELOADING=1"), i + 1, 10 * itlib.SLOW,
                        "RELOADING=1")
            m = re.search(r"^MONOTONIC_USEC=(\d+)$", ns.texts()[j], re.M)
            assert m, ns.texts()[j]
            usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            assert 0 <= usec - int(m.group(1)) < 30 * 1000000
            i = ns.wait(_is("READY=1"), j + 1, 10 * itlib.SLOW,
                        "READY=1 after RELOADING=1")
        d.healthy()

        assert d.stop() == 0
        ns.wait(_is("STOPPING=1"), i + 1, 5 * itlib.SLOW, "STOPPING=1")
        assert not any("WATCHDOG=1" in m for m in ns.texts()), \
            "WATCHDOG=1 without WATCHDOG_USEC"
    finally:
        ns.close()


class HupOnReady:
    """A notify socket that sends SIGHUP to a daemon the moment its first
    READY=1 arrives, as a `systemctl reload` right after start-up does.
    The sender's pid comes with each datagram (SO_PASSCRED), so the signal
    leaves before the test even knows the daemon's port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="llmph", dir="/tmp")
        self.address = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.address)
        self.sock.settimeout(0.1)
        self.hupped = set()
        self.msgs = []              # [(pid, text)]
        self.cond = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        creds = socket.CMSG_SPACE(12)       # struct ucred: pid, uid, gid
        while self.running:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, creds)
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and \
                        kind == socket.SCM_CREDENTIALS:
                    pid = int.from_bytes(value[:4], "little")
            if pid is not None and pid not in self.hupped and \
                    b"READY=1" in data.split(b"\n"):
                self.hupped.add(pid)
                os.kill(pid, signal.SIGHUP)
            with self.cond:
                self.msgs.append((pid, data.decode()))
                self.cond.notify_all()

    def texts(self, pid):
        with self.cond:
            return [m for p, m in self.msgs if p == pid]

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_sighup_right_after_ready_reloads(start_daemon):
    """READY=1 means ready for everything, reloads included: SIGHUP sent
    as soon as it arrives must reload, never kill (SIGHUP's default)."""
    hup = HupOnReady()
    try:
        env = {"NOTIFY_SOCKET": hup.address, "WATCHDOG_USEC": ""}
        for run in range(20):
            try:
                d = start_daemon([itlib.simulated_provider()],
                                 extra_env=env)
            except (AssertionError, OSError, itlib.IncompleteBody) as e:
                pytest.fail("run %d: the daemon did not survive a SIGHUP "
                            "sent at READY=1 (%s)" % (run, e))
            assert d.err.wait_for(r"reload: .* loaded", 10 * itlib.SLOW), \
                "run %d: no reload after SIGHUP:\n%s" % (run, d.stderr())
            itlib.wait_until(
                lambda: [m for m in hup.texts(d.pid)
                         if "READY=1" in m.split("\n")][1:],
                10 * itlib.SLOW, "run %d: READY=1 after the reload" % run)
            assert d.pid in hup.hupped
            d.healthy()
            assert d.stop() == 0, "run %d: %r" % (run, d.returncode)
    finally:
        hup.close()


def test_notify_watchdog_pace(start_daemon):
    ns = NotifySocket(abstract=True)
    try:
        env = {"NOTIFY_SOCKET": ns.address, "WATCHDOG_USEC": "200000"}
        start_daemon([itlib.simulated_provider()], extra_env=env)
        ns.wait(_is("READY=1"), 0, 10 * itlib.SLOW, "READY=1")
        t0 = itlib.now()
        n0 = len(ns.texts())
        time.sleep(1.0)
        pings = [m for m in ns.texts()[n0:] if m == "WATCHDOG=1"]
        itlib.MEASURED["watchdog pings in 1 s at WATCHDOG_USEC=200000"] = \
            len(pings) / (itlib.now() - t0)
        assert 5 <= len(pings) <= 20, len(pings)
    finally:
        ns.close()


def test_notify_watchdog_for_another_pid(start_daemon):
    ns = NotifySocket()
    try:
        env = {"NOTIFY_SOCKET": ns.address, "WATCHDOG_USEC": "100000",
               "WATCHDOG_PID": "1"}
        start_daemon([itlib.simulated_provider()], extra_env=env)
        ns.wait(_is("READY=1"), 0, 10 * itlib.SLOW, "READY=1")
        time.sleep(0.5)
        assert "WATCHDOG=1" not in ns.texts()
    finally:
        ns.close()


# --- socket activation -----------------------------------------------------

def _activated(daemon_binary, lsock, conf, env_extra=None):
    """Start the daemon as systemd would with lsock as LISTEN_FDS=1: the
    socket on descriptor 3 and LISTEN_PID the daemon's own pid (the shell
    sets it, then execs)."""
    fd = lsock.fileno()
    env = dict(os.environ, LISTEN_FDS="1")
    env.update(env_extra or {})
    cmd = itlib.WRAPPER + [daemon_binary, "-c", conf, "-v"]
    return subprocess.Popen(
        ["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh"] + cmd,
        env=env, pass_fds=(fd, 3), preexec_fn=lambda: os.dup2(fd, 3),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)


def test_socket_activation_serves_across_a_restart(daemon_binary, mock,
                                                     tmp_path):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = lsock.getsockname()[1]
    conf = str(tmp_path / "activated.conf")
    with open(conf, "w") as f:
        # `listen` names another port: with sockets passed, it is unused.
        f.write(itlib.render_config(
            [itlib.proxy_provider("oa", mock.url)],
            listen=["127.0.0.1:%d" % itlib.free_port()]))
    env = {itlib.KEY_ENV_BEARER: itlib.CANARY_BEARER}
    procs = []
    try:
        p = _activated(daemon_binary, lsock, conf, env)
        procs.append(p)
        err = itlib.OutputReader(p.stderr, "activated-1")
        assert err.wait_for(r"1 socket\(s\) from the service manager",
                            10 * itlib.SLOW), err.text()
        assert err.wait_for(r"listening on 127\.0\.0\.1:%d" % port,
                            10 * itlib.SLOW), err.text()
        r = itlib.request(port, "POST", "/oa/echo", body=b"{}")
        assert r.status == 200
        p.send_signal(signal.SIGTERM)
        assert p.wait(10 * itlib.SLOW) == 0
        # Down: a client connects anyway (the backlog holds it) and sends.
        c = itlib.RawConn(port, timeout=20 * itlib.SLOW)
        c.request("POST", "/oa/echo", [("x-mock-id", "waited"),
                                       ("Connection", "close")], b"{}")
        p = _activated(daemon_binary, lsock, conf, env)
        procs.append(p)
        err = itlib.OutputReader(p.stderr, "activated-2")
        r = c.read_response()
        c.close()
        assert r.status == 200, r.status
        assert len(mock.find("waited")) == 1
        p.send_signal(signal.SIGTERM)
        assert p.wait(10 * itlib.SLOW) == 0
        assert "LISTEN_FDS" not in err.text(), err.text()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        lsock.close()


# --- make install, the unit, the man pages --------------------------------

@pytest.fixture(scope="module")
def installed(daemon_binary, tmp_path_factory):
    """`make install DESTDIR=...` from the daemon's build directory."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(daemon_binary)))
    dest = str(tmp_path_factory.mktemp("destdir"))
    r = subprocess.run(["make", "-s", "install", "DESTDIR=" + dest],
                       cwd=build, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    files = {}
    for root, _, names in os.walk(dest):
        for n in names:
            p = os.path.join(root, n)
            files[p[len(dest):]] = p
    return dest, files


def _one(files, regex):
    hits = [p for p in files if re.search(regex, p)]
    assert len(hits) == 1, (regex, sorted(files))
    return hits[0]


def test_make_install_layout(installed):
    dest, files = installed
    sbin = _one(files, r"/sbin/llmproxyd$")
    conf = _one(files, r"/etc/llmproxyd/llmproxyd\.conf$")
    unit = _one(files, r"/systemd/system/llmproxyd\.service$")
    _one(files, r"/systemd/system/llmproxyd\.socket$")
    _one(files, r"/man/man8/llmproxyd\.8$")
    _one(files, r"/man/man5/llmproxyd\.conf\.5$")
    assert os.access(files[sbin], os.X_OK)
    with open(files[unit]) as f:
        text = f.read()
    assert "ExecStart=%s -c %s\n" % (sbin, conf) in text, text
    assert not re.search(r"@[a-z]+@", text), "unsubstituted: " + text


def _unit_for(installed, daemon_binary):
    """The installed unit, with ExecStart on the built daemon."""
    dest, files = installed
    unit = files[_one(files, r"/systemd/system/llmproxyd\.service$")]
    d = os.path.join(dest, "verify")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "llmproxyd.service")
    with open(unit) as f:
        text = f.read()
    text = re.sub(r"(?m)^ExecStart=\S+", "ExecStart=" + daemon_binary, text)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_unit_verifies(installed, daemon_binary):
    dest, files = installed
    mandir = os.path.dirname(os.path.dirname(
        files[_one(files, r"/man/man8/llmproxyd\.8$")]))
    env = dict(os.environ, MANPATH=mandir, SYSTEMD_PAGER="cat",
               SYSTEMD_COLORS="0")
    # Documentation= is checked too: man finds the installed pages.
    service = _unit_for(installed, daemon_binary)
    sock = os.path.join(os.path.dirname(service), "llmproxyd.socket")
    shutil.copy(files[_one(files, r"/systemd/system/llmproxyd\.socket$")],
                sock)
    r = subprocess.run(["systemd-analyze", "verify", service, sock],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stdout + r.stderr


def test_unit_security_exposure(installed, daemon_binary):
    env = dict(os.environ, SYSTEMD_PAGER="cat", SYSTEMD_COLORS="0")
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                        "--no-pager", _unit_for(installed, daemon_binary)],
                       env=env, capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", out)
    assert m, out
    itlib.MEASURED["systemd-analyze security exposure (lower is better)"] = \
        float(m.group(1))
    assert m.group(2) in ("OK", "SAFE", "PERFECT"), out[-3000:]


@pytest.mark.parametrize("page", [r"/man/man8/llmproxyd\.8$",
                                  r"/man/man5/llmproxyd\.conf\.5$"])
def test_man_page_renders(installed, page):
    _, files = installed
    path = files[_one(files, page)]
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    r = subprocess.run(["groff", "-ww", "-man", "-Tutf8", path], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "SEE ALSO" in re.sub(".\b", "", r.stdout)
    r = subprocess.run(["man", "--warnings=w", "-l", path], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_conf_page_documents_every_key(installed):
    """Every key in the example config is in llmproxyd.conf(5)."""
    _, files = installed
    with open(files[_one(files, r"/man/man5/llmproxyd\.conf\.5$")]) as f:
        page = f.read()
    with open(files[_one(files, r"/etc/llmproxyd/llmproxyd\.conf$")]) as f:
        keys = set(re.findall(r"(?m)^\s*\{?\s*([a-z_]+)\s*=", f.read()))
    assert keys
    for k in keys:
        assert "\\fB%s\\fR" % k.replace("-", "\\-") in page, k
