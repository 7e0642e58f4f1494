# SPDX-License-Identifier: ISC
"""Start a server for scripts/bench and time it until it is ready.

usage: ready.py [--notify] PORT LOG -- COMMAND...

Runs COMMAND with its output in LOG and waits (at most 10 s) until it is
ready: with --notify, until it sends READY=1 to the $NOTIFY_SOCKET this
script made (sd_notify); without, until 127.0.0.1:PORT accepts a
connection.  Prints "PID MS" (MS: from just before the exec to ready) and
leaves the server running; exits 1 if it died or never got ready.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time


def wait_notify(sock, proc, deadline):
    sock.settimeout(0.05)
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            msg = sock.recv(4096)
        except socket.timeout:
            continue
        if b"READY=1" in msg.split(b"\n"):
            return True
    return False


def wait_port(port, proc, deadline):
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.0005)
    return False


def main(argv):
    notify = False
    if argv and argv[0] == "--notify":
        notify = True
        argv = argv[1:]
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: ready.py [--notify] PORT LOG -- COMMAND...")
    port, log, cmd = int(argv[0]), argv[1], argv[3:]
    env = dict(os.environ)
    sock = None
    if notify:
        path = os.path.join(tempfile.mkdtemp(prefix="notify.",
                            dir=os.path.dirname(os.path.abspath(log))), "s")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        env["NOTIFY_SOCKET"] = path
    out = open(log, "ab")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=out, env=env)
    deadline = t0 + 10
    if notify:
        ok = wait_notify(sock, proc, deadline)
    else:
        ok = wait_port(port, proc, deadline)
    ms = (time.monotonic() - t0) * 1000
    if not ok:
        proc.kill()
        sys.exit("ready.py: %s did not get ready" % cmd[0])
    print("%d %.1f" % (proc.pid, ms))
    sys.stdout.flush()
    # The server outlives this script (scripts/bench stops it by pid);
    # its NOTIFY_SOCKET goes away with us, which sd_notify tolerates.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
