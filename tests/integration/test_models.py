# SPDX-License-Identifier: ISC
"""Limits per model (SPEC section 16), judged at the mock upstream.

Two model groups share one provider.  The mock's request log (arrival_ms,
finished_ms, x-mock-id) says when each request reached the upstream and
when it ended there, so each group's rate and concurrency are measured
where they matter.  Short runs at small rates (120 a minute, burst 1: one
request every 500 ms per group); timing bounds are ratios and generous
upper bounds, never absolute speeds.
"""

import os
import re
import subprocess
import threading

import pytest

import itlib
from itlib import SLOW, jbody, now, wait_until

MEASURED = itlib.MEASURED
CHAT = "/v1/chat/completions"
JSON_CT = ("Content-Type", "application/json")
MINI = "gpt-4o-mini*"
FULL = "gpt-4o"


def _body(model, max_tokens=4):
    b = {"max_tokens": max_tokens,
         "messages": [{"role": "user", "content": "hi"}]}
    if model is not None:
        b["model"] = model
    return b


def _post(port, model, mock_id, headers=(), timeout=30.0):
    return itlib.request(port, "POST", "/oa" + CHAT,
                         [JSON_CT, ("x-mock-id", mock_id)] + list(headers),
                         jbody(_body(model)), timeout=timeout * SLOW)


def _provider(mock, models, **kw):
    kw.setdefault("queue_timeout", 60.0)
    return itlib.proxy_provider("oa", mock.url, models=models, **kw)


def _status(d):
    r = itlib.request(d.port, "GET", "/status", timeout=5 * SLOW)
    assert r.status == 200, (r.status, r.body)
    return [p for p in r.json()["providers"] if p["name"] == "oa"][0]


def _group(d, match):
    return [g for g in _status(d)["models"] if g["match"] == match][0]


def _log(mock, prefix):
    return [r for r in mock.requests()
            if (r.get("id") or "").startswith(prefix)]


def _arrivals(mock, prefix):
    return sorted(r["arrival_ms"] for r in _log(mock, prefix))


def _peak(entries):
    """Most requests at the mock at once, from [arrival, finished)."""
    ev = []
    for r in entries:
        ev.append((r["arrival_ms"], 1))
        ev.append((r["finished_ms"], -1))
    ev.sort(key=lambda e: (e[0], e[1]))     # an end before a start
    cur = peak = 0
    for _, step in ev:
        cur += step
        peak = max(peak, cur)
    return peak


def _run_all(jobs):
    """Run (port, model, id, headers) posts at once; return responses."""
    out = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def one(i):
        barrier.wait(10)
        out[i] = _post(*jobs[i])

    ts = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120 * SLOW)
    return out


def test_two_groups_each_held_to_its_rate(start_daemon, mock):
    d = start_daemon([_provider(mock, [
        {"match": MINI, "requests_per_minute": 120, "burst": 1},
        {"match": FULL, "requests_per_minute": 120, "burst": 1}])])
    n = 12
    jobs = [(d.port, "gpt-4o-mini", "mini-%d" % i, ()) for i in range(n)]
    jobs += [(d.port, "gpt-4o", "full-%d" % i, ()) for i in range(n)]
    t0 = now()
    rs = _run_all(jobs)
    took = now() - t0
    assert all(r is not None and r.status == 200 for r in rs), \
        [(r.status, r.body) for r in rs if r is not None and r.status != 200]
    for prefix in ("mini-", "full-"):
        arr = _arrivals(mock, prefix)
        assert len(arr) == n
        gaps = [b - a for a, b in zip(arr, arr[1:])]
        # Never early: the group's bucket pays one request per 500 ms.
        assert min(gaps) >= 500 - 15, (prefix, gaps)
        # Nothing above R + B in any window: here, in the whole run.
        assert len(arr) <= 120 + 1
        rate = (n - 1) / ((arr[-1] - arr[0]) / 1000.0)
        MEASURED["model group rpm=120 burst=1 (%s), both at once: rate "
                 "(req/s, want 2)" % prefix[:-1]] = rate
        assert rate >= 2.0 * 0.95, (prefix, rate)
        assert rate <= 2.0 * 1.01, (prefix, rate)
    # Run side by side, not one after the other.
    both = sorted(_arrivals(mock, "mini-") + _arrivals(mock, "full-"))
    assert (both[-1] - both[0]) / 1000.0 < (n - 1) * 0.5 * 1.5, both
    assert took < 30 * SLOW


def test_group_max_concurrent_exact(start_daemon, mock):
    d = start_daemon([_provider(mock, [
        {"match": MINI, "max_concurrent": 2},
        {"match": FULL, "max_concurrent": 3}])])
    n = 12
    slow = [("x-mock-delay-ms", "250")]
    jobs = [(d.port, "gpt-4o-mini-2024", "cm-%d" % i, slow)
            for i in range(n)]
    jobs += [(d.port, "gpt-4o", "cf-%d" % i, slow) for i in range(n)]
    rs = _run_all(jobs)
    assert all(r.status == 200 for r in rs)
    peak_mini, peak_full = _peak(_log(mock, "cm-")), _peak(_log(mock, "cf-"))
    MEASURED["model group max_concurrent=2: mock peak"] = peak_mini
    MEASURED["model group max_concurrent=3: mock peak"] = peak_full
    assert (peak_mini, peak_full) == (2, 3)
    assert mock.stats()["peak_active"] == 5


def test_group_waiting_on_its_bucket_delays_no_other(start_daemon, mock):
    d = start_daemon([_provider(mock, [
        {"match": MINI, "requests_per_minute": 30, "burst": 1},
        {"match": FULL, "requests_per_minute": 30, "burst": 1}])])
    bg = []
    for i in range(3):      # one at once, two waiting 2 s and 4 s
        t = threading.Thread(target=_post,
                             args=(d.port, "gpt-4o-mini", "wa-%d" % i))
        t.start()
        bg.append(t)
    wait_until(lambda: _group(d, MINI)["queued"] == 2, 5 * SLOW,
               "two gpt-4o-mini requests waiting")
    t0 = now()
    r = _post(d.port, "gpt-4o", "wb-0")
    took = now() - t0
    assert r.status == 200
    b = mock.find("wb-0")[0]["arrival_ms"]
    a = _arrivals(mock, "wa-")
    MEASURED["gpt-4o request behind waiting gpt-4o-mini ones: answered "
             "after (s)"] = took
    assert took < 1.0 * SLOW, took
    assert len(a) == 1 and b - a[0] < 1500, (a, b)
    assert r.header("x-llmproxy-queue-ms") is not None
    assert int(r.header("x-llmproxy-queue-ms")) < 500 * SLOW
    for t in bg:
        t.join(30 * SLOW)
    a = _arrivals(mock, "wa-")
    assert len(a) == 3 and a[2] - a[0] >= 2 * 2000 - 30, a


def test_provider_max_concurrent_caps_both(start_daemon, mock):
    d = start_daemon([_provider(mock, [
        {"match": MINI, "max_concurrent": 2},
        {"match": FULL, "max_concurrent": 2}], max_concurrent=2)])
    n = 8
    slow = [("x-mock-delay-ms", "200")]
    jobs = [(d.port, "gpt-4o-mini", "pm-%d" % i, slow) for i in range(n)]
    jobs += [(d.port, "gpt-4o", "pf-%d" % i, slow) for i in range(n)]
    rs = _run_all(jobs)
    assert all(r.status == 200 for r in rs)
    assert mock.stats()["peak_active"] == 2
    # The groups take turns at the provider's limit: neither starves.
    order = [r["id"][:2] for r in sorted(_log(mock, "p"),
                                         key=lambda r: r["arrival_ms"])]
    first = order[:8]
    assert first.count("pm") >= 3 and first.count("pf") >= 3, order


def test_429_pauses_only_its_group(start_daemon, mock):
    d = start_daemon([_provider(mock, [
        {"match": MINI, "requests_per_minute": 600, "burst": 5},
        {"match": FULL, "requests_per_minute": 600, "burst": 5}],
        retries=0)])
    r = _post(d.port, "gpt-4o", "p429-full",
              [("x-mock-status", "429"),
               ("x-mock-response-header", "retry-after: 2")])
    assert r.status == 429
    t429 = mock.find("p429-full")[0]["arrival_ms"]
    g = _group(d, FULL)
    assert g["cooldown_until"] is not None
    assert _group(d, MINI)["cooldown_until"] is None
    assert _status(d)["cooldown_until"] is None
    t0 = now()
    r = _post(d.port, "gpt-4o-mini", "p429-mini")
    took = now() - t0
    assert r.status == 200
    mini = mock.find("p429-mini")[0]["arrival_ms"]
    MEASURED["gpt-4o paused 2 s: a gpt-4o-mini request answered after "
             "(s)"] = took
    assert took < 0.5 * SLOW and mini - t429 < 1000, (took, mini - t429)
    r = _post(d.port, "gpt-4o", "p429-after")
    assert r.status == 200
    after = mock.find("p429-after")[0]["arrival_ms"]
    MEASURED["gpt-4o paused 2 s: next gpt-4o at the mock after (s)"] = \
        (after - t429) / 1000.0
    assert after - t429 >= 1900, after - t429
    st = _status(d)
    assert st["totals"]["upstream_429"] == 1
    assert _group(d, FULL)["upstream_429"] == 1


def test_remaining_headers_lower_the_groups_buckets(start_daemon, mock):
    d = start_daemon([_provider(mock, [
        {"match": FULL, "requests_per_minute": 60, "burst": 5}],
        requests_per_minute=600, burst=5)])
    r = _post(d.port, "gpt-4o", "rem-0",
              [("x-mock-response-header",
                "x-ratelimit-remaining-requests: 0")])
    assert r.status == 200
    st = _status(d)
    g = st["models"][0]
    assert g["buckets"]["requests"] < 0.5, g
    assert st["buckets"]["requests"] > 3.5, st["buckets"]


def test_unmatched_or_no_model_limited_by_provider_alone(start_daemon,
                                                         mock):
    d = start_daemon([_provider(mock, [
        {"match": FULL, "requests_per_minute": 6, "burst": 1}],
        requests_per_minute=600, burst=1)])
    jobs = [(d.port, None, "un-none-%d" % i, ()) for i in range(4)]
    jobs += [(d.port, "gpt-4o-mini", "un-other-%d" % i, ())
             for i in range(4)]
    rs = _run_all(jobs)
    assert all(r.status == 200 for r in rs)
    arr = _arrivals(mock, "un-")
    gaps = [b - a for a, b in zip(arr, arr[1:])]
    # The provider's 10 a second, not the group's one per 10 s.
    assert min(gaps) >= 100 - 15, gaps
    assert arr[-1] - arr[0] < 7 * 100 * 3 * SLOW, arr
    assert _status(d)["models"][0]["in_flight"] == 0
    lines = [l for l in d.access_lines() if "un-" in l or "status=200" in l]
    assert lines and not any("model=" in l for l in d.access_lines())


def test_status_metrics_and_access_line(start_daemon, mock):
    d = start_daemon([_provider(mock, [
        {"match": MINI, "requests_per_minute": 120, "burst": 3,
         "tokens_per_minute": 100000, "queue_timeout": 5.0},
        {"match": FULL, "max_concurrent": 4, "queue_max": 7}])])
    for i in range(2):
        assert _post(d.port, "gpt-4o", "sm-%d" % i).status == 200
    assert _post(d.port, "gpt-4o-mini", "sm-m").status == 200
    assert _post(d.port, "llama", "sm-l").status == 200
    models = _status(d)["models"]
    assert [g["match"] for g in models] == [MINI, FULL]
    for g in models:
        assert set(g) >= {"match", "in_flight", "queued", "limits",
                          "buckets", "cooldown_until"}, g
        assert g["in_flight"] == 0 and g["queued"] == 0
        assert g["cooldown_until"] is None
    assert models[0]["limits"]["requests_per_minute"] == 120
    assert models[0]["limits"]["burst"] == 3
    assert models[0]["limits"]["tokens_per_minute"] == 100000
    assert 1.5 < models[0]["buckets"]["requests"] <= 3
    assert models[0]["buckets"]["tokens"] > 0
    assert models[1]["limits"]["max_concurrent"] == 4
    assert models[1]["limits"]["queue_max"] == 7
    assert models[1]["buckets"] == {"requests": None, "tokens": None}
    r = itlib.request(d.port, "GET", "/metrics", timeout=5 * SLOW)
    text = r.body.decode()
    for fam in ("llmproxy_model_requests_total",
                "llmproxy_model_in_flight", "llmproxy_model_queue_depth"):
        assert "# TYPE %s " % fam in text, fam
    assert 'llmproxy_model_requests_total{provider="oa",model="gpt-4o",' \
        'code="200"} 2\n' in text
    assert 'llmproxy_model_requests_total{provider="oa",' \
        'model="gpt-4o-mini*",code="200"} 1\n' in text
    assert 'llmproxy_model_in_flight{provider="oa",model="gpt-4o"} 0\n' \
        in text
    assert 'llmproxy_model_queue_depth{provider="oa",' \
        'model="gpt-4o-mini*"} 0\n' in text
    assert 'llmproxy_requests_total{provider="oa",code="200"} 4\n' in text
    d.wait_access(lambda l: "model=gpt-4o " in l or
                  l.rstrip().endswith("model=gpt-4o"), 5 * SLOW,
                  "an access line with model=gpt-4o")
    full = [l for l in d.access_lines() if "model=gpt-4o" in l and
            "model=gpt-4o-" not in l]
    assert len(full) == 2, full
    assert len([l for l in d.access_lines() if "model=gpt-4o-mini*" in l]) \
        == 1


def test_group_queue_timeout_applies(start_daemon, mock):
    d = start_daemon([_provider(mock, [
        {"match": FULL, "max_concurrent": 1, "queue_timeout": 0.5}],
        queue_timeout=30.0)])
    first = threading.Thread(target=_post, args=(
        d.port, "gpt-4o", "gq-0", [("x-mock-delay-ms", "2000")]))
    first.start()
    mock.wait_request("gq-0", lambda r: True, 5 * SLOW, "gq-0 at the mock")
    t0 = now()
    r = _post(d.port, "gpt-4o", "gq-1")
    waited = now() - t0
    assert r.status == 429 and b"llmproxy_queue_timeout" in r.body
    assert 0.4 <= waited < 1.5 * SLOW, waited
    first.join(10 * SLOW)


BAD_GROUPS = [
    ('{ match = "gpt-*-mini"; max_concurrent = 1; }',
     r"providers\[0\]\.models\[0\]\.match may have '\*' only at its end"),
    ('{ match = "gpt-4o"; queue_max = 5; }',
     r"providers\[0\]\.models\[0\]\.requests_per_minute tokens_per_minute "
     r"or max_concurrent must be set: the group has no limit"),
    ('{ match = "gpt-4o"; max_concurrent = 1; },\n'
     '{ match = "gpt-4o"; max_concurrent = 2; }',
     r"providers\[0\]\.models\[1\]\.match \"gpt-4o\" is already the match "
     r"of models\[0\]"),
    ('{ match = "gpt-4o*"; max_concurrent = 1; },\n'
     '{ match = "gpt-4o-mini"; max_concurrent = 2; }',
     r"providers\[0\]\.models\[1\]\.match \"gpt-4o-mini\" is never used"),
    ('{ max_concurrent = 1; }',
     r"providers\[0\]\.models\[0\]\.match is required"),
    ('{ match = "a"; requests_per_minute = 5; burst = 0; }',
     r"providers\[0\]\.models\[0\]\.burst must be >= 1"),
]


@pytest.mark.parametrize("group,want", BAD_GROUPS)
def test_bad_groups_are_config_errors(daemon_binary, tmp_path, group, want):
    path = str(tmp_path / "bad.conf")
    with open(path, "w") as f:
        f.write('listen = [ "127.0.0.1:0" ];\nproviders = (\n'
                '{ name = "oa"; type = "simulated";\n'
                'models = (\n%s\n); }\n);\n' % group)
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    p = subprocess.run([daemon_binary, "-c", path, "-t"], env=env,
                       capture_output=True, timeout=30, text=True)
    assert p.returncode == 1, (p.returncode, p.stderr)
    m = re.search(re.escape(path) + r":(\d+): " + want, p.stderr)
    assert m, p.stderr
    assert int(m.group(1)) in (5, 6), p.stderr


def test_shared_groups_through_redis(start_daemon, mock, redis_server):
    """Two daemons with shared = true and the same groups hold each
    group's limits together (SPEC 14 and 16): gpt-4o's max_concurrent 2
    across both, while gpt-4o-mini, a group of its own, is not held up."""
    ds = [start_daemon([_provider(mock, [
        {"match": MINI, "max_concurrent": 3},
        {"match": FULL, "max_concurrent": 2}], shared=True)],
        redis={"url": redis_server.url}) for _ in range(2)]
    for d in ds:
        wait_until(lambda d=d: _status(d)["backend"]["up"], 10 * SLOW,
                   "shared limits up")
    mock.reset()
    out = []

    def one(d, model, mid):
        out.append(_post(d.port, model, mid,
                         [("x-mock-delay-ms", "300")]).status)

    ths = [threading.Thread(target=one, args=(ds[i % 2], FULL,
                                              "full-%d" % i))
           for i in range(8)]
    ths += [threading.Thread(target=one, args=(ds[i % 2], "gpt-4o-mini",
                                               "mini-%d" % i))
            for i in range(6)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60 * SLOW)
    assert out.count(200) == 14, out
    full = _peak(_log(mock, "full-"))
    mini = _peak(_log(mock, "mini-"))
    assert full == 2, full
    assert mini == 3, mini
