# SPDX-License-Identifier: ISC
"""SIGHUP under load (SPEC sections 2 and 10; issue 4, "Hardening").

Eight httpx.AsyncClient clients, each on its own kept-alive connection,
send a fixed mix of plain and streamed requests (OpenAI and Anthropic
shapes) and an upstream error that must pass through, while the test
sends seven SIGHUPs: good configurations that change every limit /status
shows, and two bad files (a syntax error, an out-of-range value) that
must be logged with their file and line and leave the running limits as
they were.  Every request must get the status it asked for, every stream
its last event, and afterwards nothing is in flight or queued.

The second test shows that a reloaded limit is enforced, not only shown:
a lowered max_concurrent serializes at the mock upstream (its
peak_active), and a raised one admits queued requests at once, while the
request that held the only slot is still running.

Every wait polls a condition against a deadline; reloads are paced by
completed requests, not by the clock.
"""

import asyncio
import json
import os
import re
import signal
import threading
import time

import httpx

import itlib
from itlib import SLOW, jbody, now, wait_until

MEASURED = itlib.MEASURED

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
PROMPT = [{"role": "user", "content": "hi"}]
CHUNKS = 6                      # tokens in every mock answer
LIMIT_KEYS = ("requests_per_minute", "tokens_per_minute", "burst",
              "max_concurrent", "queue_max")

# Three good sets of limits for the providers `oa` and `an`.  queue_max
# stays above the number of clients and the request rates far above what
# eight clients send, so no request may be refused: a refusal is a bug.
GOOD = [
    {"oa": dict(max_concurrent=4, queue_max=20, requests_per_minute=0,
                burst=1),
     "an": dict(max_concurrent=2, queue_max=12, requests_per_minute=0,
                burst=1)},
    {"oa": dict(max_concurrent=2, queue_max=12, requests_per_minute=60000,
                burst=40),
     "an": dict(max_concurrent=3, queue_max=30, requests_per_minute=30000,
                burst=20)},
    {"oa": dict(max_concurrent=6, queue_max=50, requests_per_minute=0,
                burst=5),
     "an": dict(max_concurrent=1, queue_max=16, requests_per_minute=45000,
                burst=30)},
]
# The SIGHUPs, in order: an index into GOOD, or the kind of bad file.
RELOADS = [1, 2, "syntax", 0, 1, "range", 2]
START = 0

CLIENTS = 8
MAX_PER_CLIENT = 400            # bounds on the load, whatever happens
MAX_LOAD_S = 40.0
PER_CONFIG = 16                 # requests completed under each config

RELOAD_DONE = re.compile(r"llmproxyd: (warning: )?reload: "
                         r"(.* loaded, \d+ provider|"
                         r".*keeping the running configuration)")


def _providers(mock, limits):
    return [itlib.proxy_provider("oa", mock.url, "openai", "bearer",
                                 queue_timeout=30.0, **limits["oa"]),
            itlib.proxy_provider("an", mock.url, "anthropic", "x-api-key",
                                 queue_timeout=30.0, **limits["an"])]


def _write_atomically(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def _status(d):
    r = itlib.request(d.port, "GET", "/status", timeout=5 * SLOW)
    assert r.status == 200, (r.status, r.body)
    return r.json()


def _limits_now(d):
    """{provider: {limit: value}} as /status shows them."""
    return {p["name"]: {k: p["limits"][k] for k in LIMIT_KEYS}
            for p in _status(d)["providers"] if not p["retired"]}


def _expected(limits):
    out = {}
    for name, l in limits.items():
        out[name] = {k: l.get(k, 0) for k in LIMIT_KEYS}
    return out


class Reloader:
    """Send SIGHUP with a new file, and wait until the daemon has read it."""

    def __init__(self, d):
        self.d = d
        self.done = 0
        self.sent_at = []

    def _count(self):
        return sum(1 for ln in self.d.stderr().splitlines()
                   if RELOAD_DONE.search(ln))

    def reload(self, text):
        _write_atomically(self.d.conf_path, text)
        self.sent_at.append(now())
        self.d.proc.send_signal(signal.SIGHUP)
        self.done += 1
        try:
            wait_until(lambda: self._count() >= self.done, 10 * SLOW,
                       "reload %d to be logged as loaded or refused"
                       % self.done)
        except AssertionError as e:
            raise AssertionError("%s; the log ends:\n%s"
                                 % (e, self.d.stderr()[-3000:])) from None

    def wait_limits(self, want, what):
        wait_until(lambda: _limits_now(self.d) == want, 5 * SLOW,
                   "/status limits to be %s (%s); they are %s"
                   % (want, what, _limits_now(self.d)))


# --- the load --------------------------------------------------------------

KINDS = ("oa_json", "oa_stream", "an_stream", "oa_error", "an_json",
         "oa_stream")


def _expected_text():
    return "".join("tok%d " % i for i in range(CHUNKS))


def _check_openai_stream(p):
    datas = p.datas()
    if not datas or datas[-1] != "[DONE]":
        return "OpenAI stream without [DONE]: %r" % datas[-2:]
    if len(datas) != CHUNKS + 2:
        return "OpenAI stream has %d events, not %d" % (len(datas),
                                                        CHUNKS + 2)
    text = "".join(json.loads(d)["choices"][0]["delta"].get("content", "")
                   for d in datas[:-1])
    if text != _expected_text():
        return "OpenAI stream text %r" % text
    return None


def _check_anthropic_stream(p):
    names = [n for _, n, _ in p.events]
    if not names or names[-1] != "message_stop":
        return "Anthropic stream without message_stop: %r" % names[-2:]
    if len(names) != CHUNKS + 5:
        return "Anthropic stream has %d events, not %d" % (len(names),
                                                           CHUNKS + 5)
    text = "".join(json.loads(d)["delta"]["text"]
                   for _, n, d in p.events if n == "content_block_delta")
    if text != _expected_text():
        return "Anthropic stream text %r" % text
    return None


async def _one(c, kind, tag):
    """Send one request of a kind; return None, or what was wrong."""
    hs = {"x-mock-chunks": str(CHUNKS), "x-mock-id": tag}
    body = {"model": "m", "max_tokens": CHUNKS, "messages": PROMPT}
    want = 200
    if kind.startswith("oa"):
        path = "/oa" + CHAT
    else:
        path = "/an" + MESSAGES
        hs["anthropic-version"] = "2023-06-01"
    if kind.endswith("stream"):
        body["stream"] = True
        hs["x-mock-interval-ms"] = "20"
        async with c.stream("POST", path, json=body, headers=hs) as r:
            p = itlib.SSEParser()
            async for data in r.aiter_bytes():
                p.feed(now(), data)
            if r.status_code != want:
                return "status %d" % r.status_code
            if r.headers.get("x-llmproxy-attempts") != "1":
                return "attempts %r" % r.headers.get("x-llmproxy-attempts")
            if kind.startswith("oa"):
                return _check_openai_stream(p)
            return _check_anthropic_stream(p)
    if kind == "oa_error":
        hs["x-mock-status"] = "400"     # passed on, never retried
        want = 400
    else:
        hs["x-mock-delay-ms"] = "20"
    r = await c.post(path, json=body, headers=hs)
    if r.status_code != want:
        return "status %d: %r" % (r.status_code, r.content[:200])
    if r.headers.get("x-llmproxy-attempts") != "1":
        return "attempts %r" % r.headers.get("x-llmproxy-attempts")
    j = r.json()
    if kind == "oa_error":
        return None if j["error"]["code"] == "invalid_request" else \
            "error body %r" % j
    if kind == "oa_json":
        text = j["choices"][0]["message"]["content"]
    else:
        text = j["content"][0]["text"]
    return None if text == _expected_text() else "body text %r" % text


class Load:
    """CLIENTS async clients in a thread of their own, until stopped."""

    def __init__(self, url):
        self.url = url
        self.lock = threading.Lock()
        self.results = []           # (kind, t_start, t_end, problem)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="load",
                                       daemon=True)

    def start(self):
        self.thread.start()

    def completed(self):
        with self.lock:
            return len(self.results)

    def _run(self):
        asyncio.run(self._main())

    async def _main(self):
        await asyncio.gather(*(self._client(i) for i in range(CLIENTS)))

    async def _client(self, i):
        # One connection per client: kept alive across every reload.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        deadline = now() + MAX_LOAD_S * SLOW
        async with httpx.AsyncClient(base_url=self.url, limits=limits,
                                     timeout=30.0 * SLOW) as c:
            for n in range(MAX_PER_CLIENT):
                if self.stop.is_set() or now() > deadline:
                    break
                kind = KINDS[(i + n) % len(KINDS)]
                t0 = now()
                try:
                    problem = await _one(c, kind, "c%d-%d" % (i, n))
                except Exception as e:  # every failure counts, none hidden
                    problem = "%s: %s" % (type(e).__name__, e)
                with self.lock:
                    self.results.append((kind, t0, now(), problem))

    def join(self):
        self.thread.join(MAX_LOAD_S * SLOW + 40)
        assert not self.thread.is_alive(), "the clients did not finish"


def _bad_syntax(text):
    """text with a syntax error appended; return (text, its line)."""
    lines = text.splitlines()
    lines.append("queue_max = = 3;")
    return "\n".join(lines) + "\n", len(lines)


def _bad_range(mock):
    """A config whose `oa` has max_concurrent = -1; return (text, line)."""
    bad = {"oa": dict(GOOD[0]["oa"], max_concurrent=-1), "an": GOOD[0]["an"]}
    text = itlib.render_config(_providers(mock, bad))
    for i, ln in enumerate(text.splitlines(), 1):
        if "max_concurrent = -1" in ln:
            return text, i
    raise AssertionError("no max_concurrent = -1 in\n" + text)


def test_sighup_under_load(start_daemon, mock):
    d = start_daemon(_providers(mock, GOOD[START]), args=())
    rl = Reloader(d)
    rl.wait_limits(_expected(GOOD[START]), "at start")
    load = Load(d.url)
    load.start()
    current = START
    try:
        wait_until(lambda: load.completed() >= PER_CONFIG, 20 * SLOW,
                   "the first %d requests" % PER_CONFIG)
        for step in RELOADS:
            before = load.completed()
            if step == "syntax":
                text, line = _bad_syntax(
                    itlib.render_config(_providers(mock, GOOD[current])))
                rl.reload(text)
                want = r"reload: %s:%d: " % (re.escape(d.conf_path), line)
            elif step == "range":
                text, line = _bad_range(mock)
                rl.reload(text)
                want = r"reload: %s:%d: providers\[0\]\.max_concurrent" % (
                    re.escape(d.conf_path), line)
            else:
                rl.reload(itlib.render_config(_providers(mock,
                                                         GOOD[step])))
                current = step
                want = None
            if want is not None:
                assert d.err.wait_for(want + r".*keeping the running "
                                      r"configuration", 1), \
                    "bad config %s: no '%s' in the log:\n%s" % (
                        step, want, d.stderr()[-3000:])
                # The reload has been handled: the old limits still hold.
                assert _limits_now(d) == _expected(GOOD[current])
            else:
                rl.wait_limits(_expected(GOOD[current]),
                               "after reload %d" % rl.done)
            wait_until(lambda: load.completed() >= before + PER_CONFIG,
                       20 * SLOW, "%d requests after reload %d"
                       % (PER_CONFIG, rl.done))
            assert not load.stop.is_set()
    finally:
        load.stop.set()
        load.join()
    d.healthy()

    failures = [(k, p) for k, _, _, p in load.results if p is not None]
    by_kind = {}
    for k, _, _, _ in load.results:
        by_kind[k] = by_kind.get(k, 0) + 1
    assert not failures, "%d of %d requests failed, e.g. %s" % (
        len(failures), len(load.results), failures[:5])
    assert len(load.results) >= PER_CONFIG * (len(RELOADS) + 1)
    # The load went on across every reload: at each SIGHUP some request
    # was between its start and its answer, and streams crossed reloads.
    spans = [(k, t0, t1) for k, t0, t1, _ in load.results]
    for i, t in enumerate(rl.sent_at):
        crossing = [k for k, t0, t1 in spans if t0 < t < t1]
        assert crossing, "no request in flight at SIGHUP %d" % (i + 1)
    crossed = sum(1 for k, t0, t1 in spans if k.endswith("stream") and
                  any(t0 < t < t1 for t in rl.sent_at))
    assert crossed >= 1, "no stream was open across a reload"

    def settled():
        st = _status(d)
        return all(p["in_flight"] == 0 and p["queued"] == 0
                   for p in st["providers"]) and st
    st = wait_until(settled, 10 * SLOW, "nothing in flight or queued")
    for p in st["providers"]:
        assert p["totals"]["refused"] == 0, p
        assert p["totals"]["retried"] == 0, p
    assert _limits_now(d) == _expected(GOOD[current])
    wait_until(lambda: mock.stats()["active"] == 0, 5 * SLOW,
               "the mock to have nothing active")
    MEASURED["reload under load: requests (all as expected)"] = \
        len(load.results)
    MEASURED["reload under load: streams open across a SIGHUP"] = crossed
    MEASURED["reload under load: SIGHUPs (2 bad files)"] = len(RELOADS)


# --- a reloaded limit is enforced -----------------------------------------

def _post_all(port, n, delay_ms, tag, results, threads):
    """Start n requests to `oa`, each held delay_ms by the mock."""
    def one(i):
        r = itlib.request(port, "POST", "/oa" + CHAT,
                          [("Content-Type", "application/json"),
                           ("x-mock-delay-ms", str(delay_ms)),
                           ("x-mock-id", "%s-%d" % (tag, i))],
                          jbody({"model": "m", "messages": PROMPT}),
                          timeout=30 * SLOW)
        results.append(r.status)
    for i in range(n):
        t = threading.Thread(target=one, args=(i,), daemon=True)
        t.start()
        threads.append(t)


def _join(threads):
    for t in threads:
        t.join(30 * SLOW)
        assert not t.is_alive(), "a request did not finish"


def _oa_config(mock, mc):
    return itlib.render_config([itlib.proxy_provider(
        "oa", mock.url, max_concurrent=mc, queue_max=50,
        queue_timeout=30.0)])


def _pstatus(d):
    return _status(d)["providers"][0]


def test_reloaded_max_concurrent_is_enforced(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, max_concurrent=4,
                                           queue_max=50,
                                           queue_timeout=30.0)])
    rl = Reloader(d)

    def quiet():
        return mock.stats()["active"] == 0

    # Before: four at once reach the upstream (so the check below can
    # tell a serialized run from an unlimited one).
    results, threads = [], []
    _post_all(d.port, 8, 300, "before", results, threads)
    _join(threads)
    assert results == [200] * 8, results
    peak_before = mock.stats()["peak_active"]
    assert 2 <= peak_before <= 4, peak_before

    # Lowered to 1: requests are served one at a time.
    rl.reload(_oa_config(mock, 1))
    rl.wait_limits({"oa": {"requests_per_minute": 0, "tokens_per_minute": 0,
                           "burst": 1, "max_concurrent": 1,
                           "queue_max": 50}}, "max_concurrent 1")
    wait_until(quiet, 5 * SLOW, "the mock to be idle")
    mock.reset()                    # peak_active back to 0
    results, threads, seen = [], [], []
    _post_all(d.port, 5, 150, "serial", results, threads)
    deadline = now() + 30 * SLOW
    while any(t.is_alive() for t in threads) and now() < deadline:
        p = _pstatus(d)
        seen.append((p["in_flight"], p["queued"]))
        time.sleep(0.01)
    _join(threads)
    assert results == [200] * 5, results
    peak = mock.stats()["peak_active"]
    assert peak == 1, "max_concurrent reloaded to 1, the mock saw %d" % peak
    assert max(f for f, _ in seen) <= 1, seen
    assert max(q for _, q in seen) >= 1, \
        "the requests never queued behind the lowered limit: %s" % seen

    # Raised to 3 while four wait behind one long request: the queued are
    # admitted at once, while that request still holds its slot.
    wait_until(quiet, 5 * SLOW, "the mock to be idle")
    mock.reset()
    head, head_threads = [], []
    _post_all(d.port, 1, 3000, "head", head, head_threads)
    mock.wait_request("head-0", lambda r: True, 5 * SLOW,
                      "the long request to reach the mock")
    results, threads = [], []
    _post_all(d.port, 4, 300, "queued", results, threads)
    wait_until(lambda: _pstatus(d)["queued"] == 4, 5 * SLOW,
               "four requests queued behind max_concurrent 1")
    t0 = now()
    rl.reload(_oa_config(mock, 3))
    wait_until(lambda: mock.stats()["active"] == 3, 5 * SLOW,
               "three requests at the mock after raising max_concurrent")
    admitted_s = now() - t0
    assert not head, "the long request ended before the raised limit " \
        "admitted anything: it was not applied at once"
    _join(threads + head_threads)
    assert results == [200] * 4 and head == [200], (results, head)
    assert mock.stats()["peak_active"] == 3
    MEASURED["reload: max_concurrent 4 -> 1, mock peak_active"] = peak
    MEASURED["reload: max_concurrent 1 -> 3, s until admitted"] = admitted_s
