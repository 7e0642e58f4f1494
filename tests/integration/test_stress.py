# SPDX-License-Identifier: ISC
"""Thousands of mixed requests through one daemon (under the sanitizers
in scripts/test): plain and streamed answers, upstream faults, clients
that hang up while queued or mid-stream, behind a concurrency limit and a
queue.  Afterwards nothing is in flight or queued, and the daemon holds
no more descriptors than before the run plus the upstream connections it
keeps pooled."""

import json
import os
import random
import socket
import threading

import pytest

import itlib
from itlib import SLOW, jbody, request

REQUESTS = int(os.environ.get("LLMPROXYD_STRESS_REQUESTS", "2000"))
WORKERS = 32
PATH = "/oa/v1/chat/completions"


def _fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def _one(port, kind):
    """Send one request of a kind; return what happened, never raise."""
    hs = [("Content-Type", "application/json")]
    body = {"messages": [{"role": "user", "content": "hi"}]}
    if kind == "stream":
        body["stream"] = True
        hs += [("x-mock-chunks", "5"), ("x-mock-interval-ms", "2")]
    elif kind == "reset":
        hs.append(("x-mock-reset", random.choice(["headers", "body"])))
    elif kind == "status":
        hs.append(("x-mock-status", random.choice(["500", "503", "400"])))
    elif kind == "hangup":
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        data = jbody(dict(body, stream=True))
        s.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nx-mock-chunks: 20\r\n"
                  b"x-mock-interval-ms: 2\r\nContent-Length: %d\r\n\r\n%s"
                  % (PATH.encode(), len(data), data))
        if random.random() < 0.5:
            s.recv(512)               # hang up mid-stream, else while queued
        s.close()
        return "hangup"
    try:
        r = request(port, "POST", PATH, hs, jbody(body), timeout=30 * SLOW)
        return r.status
    except (OSError, itlib.IncompleteBody):
        return "cut"


@pytest.mark.timeout(600)
def test_mixed_load_leaves_nothing_behind(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=1,
                                           max_concurrent=16, queue_max=5000,
                                           queue_timeout=60.0)],
                     args=())
    pid = d.proc.pid
    d.healthy()
    base_fds = _fds(pid)
    base_rss = d.rss_kb()
    kinds = (["json"] * 40 + ["stream"] * 30 + ["reset"] * 10 +
             ["status"] * 10 + ["hangup"] * 10)
    plan = [random.Random(i).choice(kinds) for i in range(REQUESTS)]
    results = []
    lock = threading.Lock()

    def worker(mine):
        for kind in mine:
            out = _one(d.port, kind)
            with lock:
                results.append((kind, out))

    threads = [threading.Thread(target=worker, args=(plan[i::WORKERS],))
               for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300 * SLOW)
    assert len(results) == REQUESTS
    by_kind = {}
    for kind, out in results:
        by_kind.setdefault(kind, {}).setdefault(str(out), 0)
        by_kind[kind][str(out)] += 1
    assert set(by_kind["json"]) == {"200"}, by_kind["json"]
    assert set(by_kind["stream"]) == {"200"}, by_kind["stream"]

    def settled():
        st = json.loads(request(d.port, "GET", "/status").body)
        p = st["providers"][0]
        return p["in_flight"] == 0 and p["queued"] == 0
    itlib.wait_until(settled, 30 * SLOW, "nothing in flight or queued")

    def connections_closed():     # only the /status request's own
        return json.loads(request(d.port, "GET", "/status").body)[
            "connections"] == 1
    itlib.wait_until(connections_closed, 10 * SLOW,
                     "client connections back to none")
    assert mock.stats()["active"] == 0

    def fds_back():
        pooled = mock.stats()["connections_open"] - 1   # minus our own
        return _fds(pid) <= base_fds + max(pooled, 0)
    itlib.wait_until(fds_back, 10 * SLOW, "descriptors back to baseline "
                     "plus pooled upstream connections")
    itlib.MEASURED["stress: requests through one daemon"] = REQUESTS
    itlib.MEASURED["stress: daemon fds before the run"] = base_fds
    itlib.MEASURED["stress: daemon fds after (incl. pooled upstream)"] = \
        _fds(pid)
    itlib.MEASURED["stress: daemon RSS before (KiB; ASan keeps freed memory)"] = \
        base_rss
    itlib.MEASURED["stress: daemon RSS after (KiB; ASan keeps freed memory)"] = \
        d.rss_kb()
    d.healthy()
