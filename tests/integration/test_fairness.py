# SPDX-License-Identifier: ISC
"""Clients and fairness (SPEC 11), against the mock: the order in which
the mock sees requests on a provider with max_concurrent = 1 is the order
of admission, so each client's share is read from the mock's log.

Clients are httpx.AsyncClient instances with pooled, kept-alive
connections, each firing its whole backlog at once (asyncio.gather with
no semaphore of its own), as an application would."""

import asyncio
import json
import re

import httpx

import itlib
from itlib import MEASURED, SLOW

CHAT = "/oa/v1/chat/completions"
TOKEN_A = "llmproxy-fair-token-a-0000"
TOKEN_B = "llmproxy-fair-token-b-1111"


def _body():
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def _fire(port, n, prefix, headers, delay_ms, conns=None, spacing=0.0):
    """Send n requests of one client over one pooled AsyncClient; return
    the responses in order."""
    conns = conns or n
    limits = httpx.Limits(max_connections=conns,
                          max_keepalive_connections=conns)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:%d" % port,
                                 limits=limits,
                                 timeout=httpx.Timeout(120.0 * SLOW)) as cl:
        async def one(i):
            if spacing:
                await asyncio.sleep(spacing * i)
            h = dict(headers)
            h["x-mock-id"] = "%s-%d" % (prefix, i)
            h["x-mock-delay-ms"] = str(delay_ms)
            return await cl.post(CHAT, json=_body(), headers=h)
        return await asyncio.gather(*(one(i) for i in range(n)))


def _order(mock, prefixes):
    """The mock's arrivals, oldest first, as the prefix of each id."""
    out = []
    for r in mock.requests():
        rid = r.get("id") or ""
        p = rid.rsplit("-", 1)[0]
        if p in prefixes:
            out.append(p)
    return out


def _pstatus(d, name, token=None):
    h = [("Authorization", "Bearer " + token)] if token else []
    st = json.loads(itlib.request(d.port, "GET", "/status", headers=h).body)
    return [p for p in st["providers"] if p["name"] == name][0]


def _wait_queued(d, n, timeout, token=None):
    itlib.wait_until(lambda: _pstatus(d, "oa", token)["queued"] >= n,
                     timeout, "%d requests waiting" % n)


def test_weights_share_admissions(start_daemon, mock):
    """Clients of weights 1 and 3, both backlogged on max_concurrent = 1:
    1:3 within 5 % over 200 consecutive admissions; /status, /metrics and
    the access lines name them, never their tokens."""
    d = start_daemon(
        [itlib.proxy_provider("oa", mock.url, max_concurrent=1,
                              queue_max=2000, queue_timeout=120.0)],
        clients=[{"name": "light", "token_env": "LLMPROXY_FAIR_A",
                  "weight": 1},
                 {"name": "heavy", "token_env": "LLMPROXY_FAIR_B",
                  "weight": 3}],
        extra_env={"LLMPROXY_FAIR_A": TOKEN_A, "LLMPROXY_FAIR_B": TOKEN_B})
    mock.reset()

    async def both():
        # heavy's backlog is queued first: a FIFO would serve all of it
        # before light's first request.
        b = asyncio.ensure_future(_fire(
            d.port, 360, "heavy", {"Authorization": "Bearer " + TOKEN_B},
            5))
        await asyncio.get_running_loop().run_in_executor(
            None, _wait_queued, d, 250, 20 * SLOW, TOKEN_B)
        a = await _fire(d.port, 120, "light",
                        {"Authorization": "Bearer " + TOKEN_A}, 5)
        return a, await b

    ra, rb = asyncio.run(both())
    assert all(r.status_code == 200 for r in ra + rb)
    order = _order(mock, ("light", "heavy"))
    assert len(order) == 480
    # From light's first admission, 200 consecutive ones (light's backlog
    # arrives within a few admissions; both then wait).
    first = order.index("light")
    window = order[first + 4:first + 204]
    light = window.count("light")
    MEASURED["fairness weights 1:3, light's admissions of 200"] = light
    assert len(window) == 200 and first + 204 <= len(order)
    assert abs(light - 50) <= 10, (light, order[first:first + 204])
    # /status rows, /metrics series, access lines: names only.
    p = _pstatus(d, "oa", TOKEN_B)
    rows = {c["name"]: c for c in p["clients"]}
    assert rows["light"]["weight"] == 1 and rows["heavy"]["weight"] == 3
    assert rows["light"]["admitted"] == 120
    assert rows["heavy"]["admitted"] == 360
    assert rows["light"]["queued"] == 0 and rows["heavy"]["in_flight"] == 0
    text = itlib.request(d.port, "GET", "/metrics",
                         headers=[("Authorization", "Bearer " + TOKEN_A)]
                         ).body.decode()
    assert ('llmproxy_client_requests_total{provider="oa",client="heavy",'
            'code="200"} 360') in text
    assert ('llmproxy_client_queue_depth{provider="oa",client="light"} 0'
            in text)
    lines = d.wait_access_lines(lambda ln: "client=light" in ln, 120,
                                10 * SLOW, "light's access lines")
    assert all("status=200" in ln for ln in lines)
    for t in (TOKEN_A, TOKEN_B):
        assert t not in d.stderr() and t not in text


def test_lone_request_not_behind_backlog(start_daemon, mock):
    """One header-named client has 500 queued; another sends one request
    every 100 ms.  Each lone request waits about one service time (one
    round of two clients), never behind the backlog."""
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, max_concurrent=1, queue_max=2000,
        queue_timeout=120.0)])
    mock.reset()
    service_ms = 20

    async def run():
        bulk = asyncio.ensure_future(_fire(
            d.port, 500, "bulk", {"x-llmproxy-client": "bulk"}, service_ms))
        await asyncio.get_running_loop().run_in_executor(
            None, _wait_queued, d, 300, 20 * SLOW)
        lone = await _fire(d.port, 10, "lone",
                           {"x-llmproxy-client": "lone"}, service_ms,
                           conns=2, spacing=0.1)
        return lone, await bulk

    lone, bulk = asyncio.run(run())
    assert all(r.status_code == 200 for r in lone + bulk)
    waits = [int(r.headers["x-llmproxy-queue-ms"]) for r in lone]
    bulk_waits = sorted(int(r.headers["x-llmproxy-queue-ms"]) for r in bulk)
    MEASURED["fairness lone client: worst queue wait (ms)"] = max(waits)
    MEASURED["fairness lone client: bulk median queue wait (ms)"] = \
        bulk_waits[len(bulk_waits) // 2]
    # One service time per other client, with room for a noisy machine;
    # the backlog itself is 10 s deep.
    assert max(waits) <= 2 * service_ms + 200 * SLOW, waits
    assert bulk_waits[len(bulk_waits) // 2] > 10 * max(waits), \
        (waits, bulk_waits[len(bulk_waits) // 2])
    # The daemon's own fields never reach the provider.
    for r in mock.requests():
        names = [h[0].lower() for h in r["headers"]]
        assert "x-llmproxy-client" not in names
        assert "x-llmproxy-priority" not in names


def test_batch_priority_yields_to_interactive(start_daemon, mock):
    """Batch requests queued first; interactive ones arriving later are
    all admitted before the batch requests still waiting."""
    d = start_daemon([itlib.proxy_provider(
        "oa", mock.url, max_concurrent=1, queue_max=2000,
        queue_timeout=120.0)])
    mock.reset()

    async def run():
        bat = asyncio.ensure_future(_fire(
            d.port, 60, "bat", {"x-llmproxy-priority": "batch",
                                "x-llmproxy-client": "nightly"}, 20))
        await asyncio.get_running_loop().run_in_executor(
            None, _wait_queued, d, 50, 20 * SLOW)
        inter = await _fire(d.port, 10, "inter",
                            {"x-llmproxy-priority": "interactive"}, 20)
        return inter, await bat

    inter, bat = asyncio.run(run())
    assert all(r.status_code == 200 for r in inter + bat)
    order = _order(mock, ("bat", "inter"))
    first = order.index("inter")
    # Once the first interactive one is in, every other follows before
    # any further batch request (one batch request may have been
    # admitted while the interactive ones were arriving).
    seg = order[first:first + 12]
    assert seg.count("inter") >= 9, order
    assert order[first:].count("bat") >= 30, order
    assert order.count("inter") == 10
    names = {c["name"] for c in _pstatus(d, "oa")["clients"]}
    assert {"nightly", "default"} <= names


def test_bad_client_fields_refused(start_daemon, mock):
    """A malformed x-llmproxy-client or -priority is a 400 naming the
    field; nothing reaches the provider; with tokens configured the
    header is ignored."""
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    mock.reset()
    for h, want in ((("x-llmproxy-client", "a b"), "x-llmproxy-client"),
                    (("x-llmproxy-client", "x" * 65), "x-llmproxy-client"),
                    (("x-llmproxy-priority", "urgent"),
                     "x-llmproxy-priority")):
        r = itlib.request(d.port, "POST", CHAT, headers=[h],
                          body=json.dumps(_body()).encode())
        assert r.status == 400, (h, r.status)
        assert want in r.json()["error"]["message"]
    r = itlib.request(d.port, "POST", "/batch",
                      headers=[("x-llmproxy-priority", "later")],
                      body=b'{"requests": []}')
    assert r.status == 400
    assert mock.requests() == []
    d.wait_access_lines(lambda ln: "status=400" in ln, 4, 10 * SLOW,
                        "four 400 access lines")

    d2 = start_daemon([itlib.proxy_provider("oa", mock.url)],
                      client_tokens=[itlib.CLIENT_TOKEN])
    r = itlib.request(d2.port, "POST", CHAT,
                      headers=[("Authorization",
                                "Bearer " + itlib.CLIENT_TOKEN),
                               ("x-llmproxy-client", "not checked!")],
                      body=json.dumps(_body()).encode())
    assert r.status == 200
    d2.wait_access(lambda ln: "client=token1" in ln, 10 * SLOW,
                   "the token's client in the access line")


def test_header_named_clients_bounded(start_daemon, mock):
    """At most 256 header-named clients are tracked; the rest are
    'other' (in /status and the access line)."""
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    n = 300
    with itlib.RawConn(d.port) as c:
        for i in range(n):
            c.request("POST", CHAT, headers=[("x-llmproxy-client",
                                              "c%03d" % i)],
                      body=json.dumps(_body()).encode())
            assert c.read_response().status == 200
    rows = _pstatus(d, "oa")["clients"]
    names = [r["name"] for r in rows]
    assert len([x for x in names if re.fullmatch(r"c\d{3}", x)]) == 256
    other = [r for r in rows if r["name"] == "other"]
    assert other and other[0]["admitted"] == n - 256
    d.wait_access(lambda ln: "client=other" in ln, 10 * SLOW,
                  "an access line of client other")
