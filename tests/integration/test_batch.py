# SPDX-License-Identifier: ISC
"""POST /batch (SPEC 12): many requests in one, under the same limits.

Each item is a request of its own at the mock upstream (its x-mock-*
fields say how the mock answers it), so the mock's log shows what each
item did: when it arrived, when it ended, whether its connection was
closed early (a cancelled item).
"""

import json
import itlib
from itlib import SLOW, RawConn, jbody, now, request, wait_until

CHAT = "/v1/chat/completions"
CHAT_BODY = {"model": "m", "max_tokens": 3,
             "messages": [{"role": "user", "content": "hi"}]}


def _item(mock_id, provider="oa", delay_ms=None, status=None, **extra):
    headers = {"x-mock-id": mock_id}
    if delay_ms is not None:
        headers["x-mock-delay-ms"] = str(delay_ms)
    if status is not None:
        headers["x-mock-status"] = str(status)
    headers.update(extra.pop("headers", {}))
    item = {"provider": provider, "path": CHAT, "headers": headers,
            "body": dict(CHAT_BODY)}
    item.update(extra)
    return item


def _batch(d, requests, mode=None, deadline=None, timeout=30.0):
    b = {"requests": requests}
    if mode is not None:
        b["mode"] = mode
    if deadline is not None:
        b["deadline"] = deadline
    return request(d.port, "POST", "/batch",
                   [("Content-Type", "application/json")], jbody(b),
                   timeout=timeout * SLOW)


def _status(d):
    return request(d.port, "GET", "/status", timeout=5 * SLOW).json()


def _idle(d):
    return all(p["in_flight"] == 0 and p["queued"] == 0
               for p in _status(d)["providers"])


def test_all_keeps_order_and_partial_failures(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=0),
                      itlib.proxy_provider("full", mock.url, retries=0,
                                           max_concurrent=1, queue_max=0)])
    r = _batch(d, [
        _item("all-0", delay_ms=300),
        _item("all-1", status=404),
        _item("all-2", status=500),
        _item("all-3", provider="full", delay_ms=500),
        _item("all-4", provider="full"),
    ])
    assert r.status == 200, (r.status, r.body)
    res = r.json()["results"]
    assert [x["index"] for x in res] == [0, 1, 2, 3, 4]
    assert res[0]["status"] == 200 and res[0]["provider"] == "oa"
    assert res[0]["body"]["object"] == "chat.completion", res[0]
    assert res[0]["headers"]["content-type"].startswith("application/json")
    assert "connection" not in res[0]["headers"]
    assert res[0]["attempts"] == 1 and isinstance(res[0]["queue_ms"], int)
    assert res[1]["status"] == 404 and "error" in res[1]["body"]
    assert res[2]["status"] == 500
    assert res[3]["status"] == 200
    # The second item of a one-slot provider with no queue is refused.
    assert res[4]["status"] == 0, res[4]
    assert res[4]["error"]["code"] == "llmproxy_queue_full"
    assert mock.find("all-4") == []
    lines = d.wait_access_lines(lambda l: " batch=" in l, 5, 5 * SLOW,
                                "the five items' access lines")
    assert len(lines) == 5, lines
    assert any("reason=queue_full" in l for l in lines)


def test_malformed_batch_names_item_and_member(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     batch_max_items=2)
    r = _batch(d, [_item("m-0"), _item("m-1", provider="opena")])
    assert r.status == 400, (r.status, r.body)
    assert r.json()["error"]["message"] == \
        'requests[1].provider: unknown provider "opena"'
    r = _batch(d, [_item("m-0"), dict(_item("m-1"), path="v1/x")])
    assert r.status == 400
    assert r.json()["error"]["message"].startswith("requests[1].path:")
    r = _batch(d, [_item("m-0"), _item("m-1"), _item("m-2")])
    assert r.status == 413, (r.status, r.body)
    assert r.json()["error"]["code"] == "llmproxy_batch_too_large"
    r = request(d.port, "GET", "/batch", timeout=5 * SLOW)
    assert r.status == 405 and r.header("Allow") == "POST"
    assert mock.requests() == []


def test_as_completed_lines_in_completion_order(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    body = jbody({"mode": "as_completed", "requests": [
        _item("ac-0", delay_ms=900), _item("ac-1", delay_ms=100),
        _item("ac-2", delay_ms=500)]})
    c = RawConn(d.port, timeout=10 * SLOW)
    t0 = now()
    c.request("POST", "/batch", [("Content-Type", "application/json")],
              body)
    head = c.read_head()
    assert head.status == 200
    assert head.header("Content-Type") == "application/x-ndjson"
    got = []
    buf = b""
    for t, piece in c.body_pieces(head, timeout=10 * SLOW):
        buf += piece
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            got.append((t - t0, json.loads(line)))
    c.close()
    assert buf == b"", buf
    assert [o["index"] for _, o in got] == [1, 2, 0], got
    for (t, o), delay in zip(got, (0.1, 0.5, 0.9)):
        itlib.MEASURED["as_completed: item of %.1f s written at (s)"
                       % delay] = t
        assert delay - 0.05 <= t < delay + 0.5 * SLOW, (delay, t)


def test_first_wins_and_losers_are_cancelled(start_daemon, mock):
    d = start_daemon([
        itlib.proxy_provider("oa", mock.url, retries=0),
        itlib.proxy_provider("one", mock.url, max_concurrent=1,
                             queue_timeout=30.0)])
    # "one" is busy, so the batch's item 3 waits in its queue.
    import concurrent.futures
    pool = concurrent.futures.ThreadPoolExecutor(1)
    held = pool.submit(request, d.port, "POST", "/one" + CHAT,
                       [("Content-Type", "application/json"),
                        ("x-mock-id", "busy"), ("x-mock-delay-ms", "3000")],
                       jbody(CHAT_BODY), 30 * SLOW)
    mock.wait_request("busy", lambda r: True, 5 * SLOW, "the busy request")
    t0 = now()
    r = _batch(d, [_item("f-0", delay_ms=2000), _item("f-1", delay_ms=200),
                   _item("f-2", status=500),
                   _item("f-3", provider="one")], mode="first")
    won = now() - t0
    assert r.status == 200, (r.status, r.body)
    assert r.header("x-llmproxy-batch-index") == "1"
    assert r.json()["object"] == "chat.completion"
    # The slow loser's connection is closed at the mock at once.
    loser = mock.wait_request("f-0", lambda x: x["closed_early"],
                              5 * SLOW, "the loser's connection closed")
    closed_after = (loser["closed_ms"] - loser["arrival_ms"]) / 1000.0
    itlib.MEASURED["first: loser closed at the mock after its start (s)"] \
        = closed_after
    assert closed_after < won + 1.0, (closed_after, won)
    # From the win (the winner's answer sent by the mock) to the loser's
    # connection closed at the mock: within 1 s.
    winner = mock.find("f-1")[0]
    win_to_close = loser["closed_ms"] - winner["finished_ms"]
    itlib.MEASURED["first: the win to the loser closed at the mock (ms)"] \
        = win_to_close
    assert win_to_close < 1000, win_to_close
    assert mock.find("f-3") == []          # the queued loser never went
    wait_until(lambda: _status(d)["providers"][0]["in_flight"] == 0,
               5 * SLOW, "the oa slots given back")
    one = [p for p in _status(d)["providers"] if p["name"] == "one"][0]
    assert one["queued"] == 0 and one["in_flight"] == 1   # just "busy"
    assert held.result().status == 200
    pool.shutdown()
    cancelled = d.wait_access_lines(lambda l: "reason=cancelled" in l, 2,
                                    5 * SLOW, "the losers' access lines")
    assert len(cancelled) == 2, d.access_lines()


def test_first_no_success_is_502(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url, retries=0)])
    r = _batch(d, [_item("n-0", status=500), _item("n-1", status=400,
                                                   delay_ms=200)],
               mode="first")
    assert r.status == 502, (r.status, r.body)
    assert "item 1" in r.json()["error"]["message"]


def test_batch_never_passes_max_concurrent(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url,
                                           max_concurrent=2)])
    mock.reset()
    r = _batch(d, [_item("mc-%d" % i, delay_ms=50) for i in range(20)])
    assert r.status == 200
    assert all(x["status"] == 200 for x in r.json()["results"])
    assert mock.stats()["peak_active"] == 2


def test_deadline_ends_what_is_left(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    t0 = now()
    r = _batch(d, [_item("dl-0"), _item("dl-1", delay_ms=5000)],
               deadline=0.5)
    assert now() - t0 < 3 * SLOW
    res = r.json()["results"]
    assert res[0]["status"] == 200
    assert res[1]["status"] == 0
    assert res[1]["error"]["code"] == "llmproxy_batch_deadline"
    mock.wait_request("dl-1", lambda x: x["closed_early"], 5 * SLOW,
                      "the late item's connection closed")
    d.wait_access(lambda l: "reason=batch_deadline" in l, 5 * SLOW,
                  "the late item's access line")
    r = _batch(d, [_item("dl-2", delay_ms=5000)], mode="first",
               deadline=0.3)
    assert r.status == 504, (r.status, r.body)
    assert r.json()["error"]["code"] == "llmproxy_batch_deadline"


def test_stream_items_only_in_mode_first(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    stream_item = _item("s-0")
    stream_item["body"]["stream"] = True
    r = _batch(d, [stream_item, _item("s-1")])
    res = r.json()["results"]
    assert res[0]["error"]["code"] == "llmproxy_batch_stream_unsupported"
    assert res[1]["status"] == 200
    assert mock.find("s-0") == []
    stream_item = _item("s-2")
    stream_item["body"]["stream"] = True
    c = RawConn(d.port, timeout=10 * SLOW)
    c.request("POST", "/batch", [("Content-Type", "application/json")],
              jbody({"mode": "first", "requests": [stream_item]}))
    resp = c.read_response()
    c.close()
    assert resp.status == 200
    assert resp.header("Content-Type").startswith("text/event-stream")
    events = itlib.sse_events(resp.body)
    assert events[-1][2] == "[DONE]", events


def test_hang_up_cancels_every_item(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    c = RawConn(d.port, timeout=10 * SLOW)
    c.request("POST", "/batch", [("Content-Type", "application/json")],
              jbody({"requests": [_item("h-%d" % i, delay_ms=5000)
                                  for i in range(3)]}))
    for i in range(3):
        mock.wait_request("h-%d" % i, lambda x: True, 5 * SLOW,
                          "item %d at the mock" % i)
    c.close()
    for i in range(3):
        mock.wait_request("h-%d" % i, lambda x: x["closed_early"],
                          5 * SLOW, "item %d's connection closed" % i)
    wait_until(lambda: _idle(d), 5 * SLOW, "nothing in flight")
    lines = d.wait_access_lines(lambda l: " batch=" in l, 3, 5 * SLOW,
                                "the items' access lines")
    assert len(lines) == 3 and all("end=client_closed" in l
                                   for l in lines), lines


def test_batches_counted_by_mode(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    _batch(d, [_item("c-0")])
    _batch(d, [_item("c-1")], mode="first")
    text = request(d.port, "GET", "/metrics", timeout=5 * SLOW).body.decode()
    assert 'llmproxy_batches_total{mode="all"} 1' in text
    assert 'llmproxy_batches_total{mode="first"} 1' in text
    assert 'llmproxy_batches_total{mode="as_completed"} 0' in text
