# SPDX-License-Identifier: ISC
"""The soak run behind scripts/soak (which builds the binaries first).

Starts the mock upstream and llmproxyd (an optimised build without
sanitizers, so that memory figures are the daemon's own), drives a mixed
load at a bounded concurrency for a given time, samples the daemon's
memory and descriptors every few seconds, then lets the load drain and
judges:

  - every plain and streamed request got 200 and its whole body, and no
    request of any kind hung or failed to connect;
  - afterwards nothing is in flight or queued, and the daemon holds no
    more descriptors than at the start, plus the upstream connections
    libcurl keeps pooled, plus FD_SLACK;
  - RssAnon (the daemon's heap and stacks, without shared library pages)
    grew by at most --rss-growth-kib between the mean of the first
    quarter of the samples and the mean of the last.

Every loop is bounded in count and in time.  The HTTP client is the
integration tests' own (tests/integration/itlib.py), on plain sockets.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import itlib                                    # noqa: E402
from itlib import IncompleteBody, RawConn, SSEParser, jbody  # noqa: E402

FD_SLACK = 4
KEY_ENV = "LLMPROXY_SOAK_KEY"
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
PROMPT = [{"role": "user", "content": "soak"}]
TIMEOUT_S = 30.0                # any one request; more is a hang

# The mix: kind -> weight.  "normal" kinds must all succeed; the others
# may end in any answer the daemon gives on purpose, never in a hang.
MIX = {
    "json": 30,                 # OpenAI chat, kept-alive connection
    "an_json": 8,               # Anthropic messages
    "stream": 20,               # OpenAI SSE, 20 events
    "an_stream": 10,            # Anthropic SSE
    "sim": 4,                   # the simulated provider
    "fault": 12,                # upstream 500/503, reset, garbage, truncation
    "hangup": 8,                # client leaves mid-stream
    "burst": 8,                 # 5 at once at a tight queue: 429s, a hang-up
}
NORMAL = {"json": "200", "an_json": "200", "stream": "200 complete",
          "an_stream": "200 complete", "sim": "200 complete"}


def now():
    return time.monotonic()


def log(msg):
    print(msg, flush=True)


# --- the processes ----------------------------------------------------------

def start_mock(binary):
    p = subprocess.Popen([binary, "-p", "0", "-n", "0"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()        # "PORT <n>", or EOF
    m = re.match(r"PORT (\d+)", line)
    if not m:
        p.kill()
        p.wait(5)
        sys.exit("soak: the mock upstream did not report its port")
    p.stdout.close()
    return p, int(m.group(1))


def config_text(mock_url):
    """Three providers at the mock (one with a tight queue) and one
    simulated; log_level info, so the access log is part of the work."""
    def prov(name, dialect, auth, **kw):
        p = {"name": name, "base_url": mock_url, "dialect": dialect,
             "auth": auth, "api_key_env": KEY_ENV, "retries": 1,
             "first_byte_timeout": 10.0, "idle_timeout": 10.0}
        p.update(kw)
        return p
    return itlib.render_config(
        [prov("oa", "openai", "bearer", max_concurrent=12, queue_max=500,
              queue_timeout=20.0),
         prov("an", "anthropic", "x-api-key", max_concurrent=6,
              queue_max=500, queue_timeout=20.0),
         prov("tight", "openai", "bearer", max_concurrent=1, queue_max=2,
              queue_timeout=1.0, retries=0),
         {"name": "demo", "type": "simulated", "latency": 0.01,
          "tokens_per_second": 400.0, "max_concurrent": 8}],
        log_level="info", shutdown_timeout=10.0)


def start_daemon(binary, conf, logpath):
    env = dict(os.environ)
    env[KEY_ENV] = "sk-soak-placeholder-key"
    logf = open(logpath, "wb")
    p = subprocess.Popen([binary, "-c", conf], env=env,
                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    logf.close()
    deadline = now() + 10
    while now() < deadline:
        with open(logpath, errors="replace") as f:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    p.wait(5)
    sys.exit("soak: llmproxyd did not start; see " + logpath)


def stop(p, timeout):
    """SIGTERM p (ours, by pid); return its exit status, or None."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
        return None


# --- one request of each kind ----------------------------------------------

def _headers(extra=()):
    return [("Content-Type", "application/json")] + list(extra)


def _sse_outcome(r, p, done):
    if r.status != 200:
        return str(r.status)
    if not r.complete:
        return "200 cut"
    if done(p):
        return "200 complete"
    last = p.events[-1][2] if p.events else ""
    if "error" in last:
        return "200 error-event"
    # The upstream ended its stream cleanly without the last event (the
    # mock's x-mock-truncate): nothing the daemon can tell from an end.
    return "200 no final event"


def _oa_done(p):
    return bool(p.events) and p.events[-1][2] == "[DONE]"


def _an_done(p):
    return bool(p.events) and p.events[-1][1] == "message_stop"


class Worker:
    """One client: a kept-alive connection for the plain kinds, fresh
    connections for the rest."""

    def __init__(self, port, rng):
        self.port = port
        self.rng = rng
        self.conn = None

    def _keepalive(self, method, target, headers, body):
        if self.conn is None:
            self.conn = RawConn(self.port, timeout=TIMEOUT_S)
        try:
            self.conn.request(method, target, headers, body)
            r = self.conn.read_response(method, TIMEOUT_S)
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        if (r.header("Connection") or "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r

    def _stream(self, target, headers, body, done):
        with RawConn(self.port, timeout=TIMEOUT_S) as c:
            c.request("POST", target, _headers(headers), jbody(body))
            r = c.read_head(TIMEOUT_S)
            p = SSEParser()
            try:
                for t, data in c.body_pieces(r, "POST", TIMEOUT_S):
                    p.feed(t, data)
            except IncompleteBody:
                pass                            # r.complete stays False
            return _sse_outcome(r, p, done)

    def one(self, kind):
        """Run one request of kind (a burst is five); return its outcome
        label, or a list of labels."""
        body = {"model": "m", "max_tokens": 8, "messages": PROMPT}
        if kind == "json":
            r = self._keepalive("POST", "/oa" + CHAT, _headers(
                [("x-mock-delay-ms", str(self.rng.randint(0, 30)))]),
                jbody(body))
            return str(r.status)
        if kind == "an_json":
            r = self._keepalive("POST", "/an" + MESSAGES, _headers(
                [("anthropic-version", "2023-06-01")]), jbody(body))
            return str(r.status)
        if kind == "stream":
            return self._stream("/oa" + CHAT, [("x-mock-chunks", "20"),
                                ("x-mock-interval-ms", "5")],
                                dict(body, stream=True), _oa_done)
        if kind == "an_stream":
            return self._stream("/an" + MESSAGES, [("x-mock-chunks", "12"),
                                ("x-mock-interval-ms", "5")],
                                dict(body, stream=True), _an_done)
        if kind == "sim":
            return self._stream("/demo" + CHAT, [],
                                dict(body, stream=True), _oa_done)
        if kind == "fault":
            return self._fault(body)
        if kind == "hangup":
            return self._hangup(body)
        return self._burst(body)

    def _fault(self, body):
        fault = self.rng.choice([
            ("x-mock-status", "500"), ("x-mock-status", "503"),
            ("x-mock-reset", "headers"), ("x-mock-reset", "body"),
            ("x-mock-garbage", "1"), ("x-mock-truncate", "1")])
        stream = self.rng.random() < 0.5
        if stream:
            return self._stream("/oa" + CHAT, [fault, ("x-mock-chunks", "5")],
                                dict(body, stream=True), _oa_done)
        try:
            r = itlib.request(self.port, "POST", "/oa" + CHAT,
                              _headers([fault]), jbody(body),
                              timeout=TIMEOUT_S)
        except IncompleteBody:
            return "cut"
        return str(r.status)

    def _hangup(self, body):
        with RawConn(self.port, timeout=TIMEOUT_S) as c:
            c.request("POST", "/oa" + CHAT, _headers(
                [("x-mock-chunks", "400"), ("x-mock-interval-ms", "5")]),
                jbody(dict(body, stream=True)))
            c.read_head(TIMEOUT_S)
            c.sock.recv(self.rng.choice([64, 1024, 4096]))
        return "hung up mid-stream"

    def _burst(self, body):
        """Five at once at `tight` (1 slot, 2 queue places): some wait,
        some are refused, one client leaves while queued."""
        conns = []
        try:
            for i in range(5):
                c = RawConn(self.port, timeout=TIMEOUT_S)
                conns.append(c)
                c.request("POST", "/tight" + CHAT, _headers(
                    [("x-mock-delay-ms", "80"), ("Connection", "close")]),
                    jbody(body))
            conns[-1].close()                   # leaves while queued
            out = ["left while queued"]
            for c in conns[:-1]:
                r = c.read_response("POST", TIMEOUT_S)
                if r.status == 429:
                    out.append("429 " + r.json()["error"]["code"])
                else:
                    out.append(str(r.status))
            return out
        finally:
            for c in conns:
                c.close()

    def close(self):
        if self.conn is not None:
            self.conn.close()


# --- the load and the samples -----------------------------------------------

class Load:
    def __init__(self, port, workers, until, seed):
        self.port = port
        self.until = until
        self.lock = threading.Lock()
        self.counts = {}            # (kind, outcome) -> n
        self.done = 0
        kinds = [k for k, w in MIX.items() for _ in range(w)]
        self.threads = [threading.Thread(
            target=self._run, args=(random.Random(seed + i), kinds),
            daemon=True) for i in range(workers)]
        # However fast the machine, no worker runs unbounded.
        self.max_each = int((until - now()) * 2000) + 100

    def start(self):
        for t in self.threads:
            t.start()

    def _run(self, rng, kinds):
        w = Worker(self.port, rng)
        try:
            for _ in range(self.max_each):
                if now() >= self.until:
                    break
                kind = rng.choice(kinds)
                try:
                    out = w.one(kind)
                except socket.timeout:
                    out = "ERROR timeout"
                except IncompleteBody as e:
                    out = "ERROR cut: %s" % str(e)[:40]
                except Exception as e:  # counted, never fatal to the loop
                    out = "ERROR %s" % type(e).__name__
                outs = out if isinstance(out, list) else [out]
                with self.lock:
                    for o in outs:
                        self.counts[(kind, o)] = \
                            self.counts.get((kind, o), 0) + 1
                    self.done += len(outs)
        finally:
            w.close()

    def join(self, timeout):
        deadline = now() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - now()))
        return not any(t.is_alive() for t in self.threads)


def proc_sample(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            if k in ("VmRSS", "RssAnon"):
                out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def status(port):
    r = itlib.request(port, "GET", "/status", timeout=10)
    return json.loads(r.body)


def mock_stats(port):
    r = itlib.request(port, "GET", "/_mock/stats", timeout=10)
    return json.loads(r.body)


def sample(pid, port, t0, load):
    s = proc_sample(pid)
    st = status(port)
    s["t"] = now() - t0
    s["requests"] = load.done if load else 0
    s["in_flight"] = sum(p["in_flight"] for p in st["providers"])
    s["queued"] = sum(p["queued"] for p in st["providers"])
    s["conns"] = st["connections"] - 1      # minus this /status request
    return s


ROW = "%7s %9s %7s %10s %11s %5s %9s %7s %6s"


def print_head():
    log(ROW % ("time_s", "requests", "req/s", "VmRSS_KiB", "RssAnon_KiB",
               "fds", "in_flight", "queued", "conns"))


def print_row(s, prev, label=None):
    rate = ""
    if label is None and prev is not None and s["t"] > prev["t"]:
        rate = "%.0f" % ((s["requests"] - prev["requests"]) /
                         (s["t"] - prev["t"]))
    log(ROW % (label or "%.0f" % s["t"], s["requests"], rate, s["VmRSS"],
               s["RssAnon"], s["fds"], s["in_flight"], s["queued"],
               s["conns"]))


def wait_until(pred, timeout, interval=0.1):
    deadline = now() + timeout
    while now() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


# --- the run ----------------------------------------------------------------

def run(args):
    problems = []
    tmp = tempfile.mkdtemp(prefix="llmproxyd-soak-")
    logpath = os.path.join(tmp, "llmproxyd.log")
    conf = os.path.join(tmp, "llmproxyd.conf")
    mock, mport = start_mock(args.mock)
    daemon = None
    try:
        with open(conf, "w") as f:
            f.write(config_text("http://127.0.0.1:%d" % mport))
        daemon, port = start_daemon(args.daemon, conf, logpath)
        pid = daemon.pid
        log("soak: llmproxyd pid %d on 127.0.0.1:%d, mock on %d, log %s"
            % (pid, port, mport, logpath))
        log("soak: %d s of load, %d clients, a sample every %.0f s"
            % (args.seconds, args.clients, args.interval))
        # Warm up (first connections, first allocations), then the baseline.
        w = Worker(port, random.Random(0))
        for kind in ("json", "an_json", "stream", "an_stream", "sim"):
            w.one(kind)
        w.close()
        wait_until(lambda: status(port)["connections"] == 1, 5)
        t0 = now()
        base = sample(pid, port, t0, None)
        print_head()
        print_row(base, None)
        load = Load(port, args.clients, t0 + args.seconds, args.seed)
        load.start()
        samples, prev = [], base
        for i in range(1, int(args.seconds / args.interval) + 1):
            time.sleep(max(0.0, t0 + i * args.interval - now()))
            if daemon.poll() is not None:
                problems.append("llmproxyd exited (%s) during the load"
                                % daemon.returncode)
                break
            s = sample(pid, port, t0, load)
            print_row(s, prev)
            samples.append(s)
            prev = s
        if not load.join(TIMEOUT_S + 15):
            problems.append("clients still running %.0f s after the end"
                            % (TIMEOUT_S + 15))
        # Drain: nothing in flight or queued, client connections closed,
        # descriptors back to the baseline plus the pooled upstream ones.
        if daemon.poll() is None:
            drained = wait_until(lambda: (lambda s: s["in_flight"] == 0 and
                                          s["queued"] == 0 and
                                          s["conns"] == 0)(
                                 sample(pid, port, t0, load)), 30)
            if not drained:
                problems.append("load did not drain within 30 s")
            pooled = lambda: max(0, mock_stats(mport)["connections_open"]
                                 - 1)
            fds_ok = wait_until(lambda: proc_sample(pid)["fds"] <=
                                base["fds"] + pooled() + FD_SLACK, 10)
            end = sample(pid, port, t0, load)
            print_row(end, prev, "drained")
            log("soak: after the drain: %d fds (baseline %d, %d pooled "
                "upstream connections, slack %d)" % (
                    end["fds"], base["fds"], pooled(), FD_SLACK))
            if not fds_ok:
                problems.append("descriptors: %d after the drain > %d "
                                "baseline + %d pooled + %d" % (
                                    end["fds"], base["fds"], pooled(),
                                    FD_SLACK))
        report_counts(load, problems)
        report_rss(samples, load, args.rss_growth_kib, problems)
    finally:
        if daemon is not None:
            rc = stop(daemon, 20)
            if rc != 0:
                problems.append("llmproxyd exit status %r after SIGTERM"
                                % rc)
        stop(mock, 10)
    report_log(logpath)
    if problems:
        log("soak: FAIL\n  " + "\n  ".join(problems))
        log("soak: the daemon's log is in " + logpath)
        return 1
    log("soak: PASS")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def report_counts(load, problems):
    log("\nsoak: %d requests by kind and outcome" % load.done)
    log("%-10s %-36s %8s" % ("kind", "outcome", "count"))
    for (kind, out), n in sorted(load.counts.items()):
        bad = out.startswith("ERROR") or \
            (kind in NORMAL and out != NORMAL[kind])
        log("%-10s %-36s %8d%s" % (kind, out, n, "  <- unexpected" if bad
                                   else ""))
        if bad:
            problems.append("%d %s requests ended as %r" % (n, kind, out))
    if load.done == 0:
        problems.append("no request completed")


def report_rss(samples, load, bound_kib, problems):
    if len(samples) < 2:
        problems.append("too few samples (%d) to judge memory"
                        % len(samples))
        return
    q = max(1, len(samples) // 4)
    first = sum(s["RssAnon"] for s in samples[:q]) / q
    last = sum(s["RssAnon"] for s in samples[-q:]) / q
    reqs = samples[-q]["requests"] - samples[q - 1]["requests"]
    per_k = (last - first) * 1000.0 / reqs if reqs > 0 else 0.0
    log("\nsoak: RssAnon mean of the first %d samples %.0f KiB, of the last "
        "%d %.0f KiB: %+.0f KiB (bound %d KiB), %+.2f KiB per 1000 "
        "requests; VmRSS peak %d KiB" % (
            q, first, q, last, last - first, bound_kib, per_k,
            max(s["VmRSS"] for s in samples)))
    if last - first > bound_kib:
        problems.append("RssAnon grew %.0f KiB between the first and the "
                        "last quarter (bound %d KiB)"
                        % (last - first, bound_kib))


def report_log(logpath):
    """Summarise the daemon's warnings (for reading; they do not fail the
    run: upstream faults are expected to be logged)."""
    kinds, lines = {}, 0
    with open(logpath, errors="replace") as f:
        for ln in f:
            lines += 1
            if "warning: " in ln:
                k = re.sub(r"\d+", "N", ln.split("warning: ", 1)[1].strip())
                kinds[k[:90]] = kinds.get(k[:90], 0) + 1
    log("\nsoak: the daemon logged %d lines, %d warnings%s" % (
        lines, sum(kinds.values()), ", most often:" if kinds else ""))
    for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:6]:
        log("%8d  %s" % (n, k))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--mock", required=True)
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rss-growth-kib", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.seconds <= 0 or args.interval <= 0 or args.clients <= 0:
        ap.error("--seconds, --interval and --clients must be > 0")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
