# SPDX-License-Identifier: ISC
"""Real clients through the daemon: Python's httpx.AsyncClient (what
application code uses) and the official OpenAI and Anthropic SDKs for
Node (tests/node; `npm ci` there installs them)."""

import asyncio
import json
import os
import shutil
import subprocess

import httpx
import pytest

import itlib
from itlib import SLOW, header_values

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        os.pardir, "node")


async def _gather(base, n):
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, limits=limits,
                                 timeout=httpx.Timeout(60.0 * SLOW)) as cl:

        async def one(i):
            if i % 3 == 0:
                r = await cl.post("/oa/v1/chat/completions",
                                  json={"max_tokens": 4, "model": "m%d" % i},
                                  headers={"x-mock-delay-ms": "100",
                                           "x-mock-id": "async-%d" % i})
                return i, r.status_code, r.json()
            if i % 3 == 1:
                r = await cl.post("/demo/v1/messages",
                                  json={"max_tokens": 4, "messages": []})
                return i, r.status_code, r.json()
            events = []
            async with cl.stream("POST", "/an/v1/messages",
                                 json={"stream": True, "max_tokens": 4},
                                 headers={"x-mock-interval-ms": "20"}) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))
                return i, r.status_code, events

        return await asyncio.gather(*(one(i) for i in range(n)))


def test_httpx_async_client_fifty_requests(daemon, mock):
    results = asyncio.run(_gather(daemon.url, 50))
    assert len(results) == 50
    for i, status, body in results:
        assert status == 200, (i, body)
        if i % 3 == 0:
            assert body["model"] == "m%d" % i
            assert body["choices"][0]["message"]["content"] == \
                "tok0 tok1 tok2 tok3 "
        elif i % 3 == 1:
            assert body["type"] == "message"
            assert body["usage"]["output_tokens"] == 4
        else:
            assert body[0]["type"] == "message_start"
            assert body[-1]["type"] == "message_stop"
            assert sum(1 for e in body
                       if e["type"] == "content_block_delta") == 4
    daemon.healthy()


# --- the official Node SDKs -------------------------------------------------

def _node():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Node 20 is required)",
                    pytrace=False)
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "openai")) \
            or not os.path.isdir(os.path.join(NODE_DIR, "node_modules",
                                              "@anthropic-ai", "sdk")):
        pytest.fail("the Node SDKs are not installed: run `npm ci` in "
                    "tests/node", pytrace=False)
    return node


def _run_sdk(script, base_url, env_key, client_key, headers):
    env = dict(os.environ)
    env[env_key] = client_key
    env["SDK_HEADERS"] = json.dumps(headers)
    for k in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_ORG_ID",
              "OPENAI_PROJECT_ID", "ANTHROPIC_AUTH_TOKEN"):
        env.pop(k, None)
    p = subprocess.run([_node(), os.path.join(NODE_DIR, script), base_url],
                       cwd=NODE_DIR, env=env, capture_output=True,
                       timeout=120 * SLOW)
    out = p.stdout.decode()
    assert p.returncode == 0, "%s failed (%d):\nstdout:\n%s\nstderr:\n%s" % (
        script, p.returncode, out, p.stderr.decode())
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert lines, out
    summary = json.loads(lines[-1])
    assert summary["ok"], summary
    return summary


def test_openai_sdk_through_daemon(daemon, mock):
    s = _run_sdk("openai_sdk.mjs", daemon.url + "/oa/v1", "OPENAI_API_KEY",
                 itlib.CLIENT_BEARER, {"x-mock-id": "sdk-oa"})
    want = "".join("tok%d " % i for i in range(8))   # max_tokens: 8
    assert s["create"]["content"] == want
    assert s["create"]["finish_reason"] == "stop"
    assert s["create"]["usage"]["completion_tokens"] == 8
    assert s["stream"]["content"] == want
    assert s["stream"]["chunks"] == 9          # 8 tokens, then the stop
    assert s["stream"]["finish_reason"] == "stop"
    recs = mock.find("sdk-oa")
    assert len(recs) == 2
    for rec in recs:
        assert rec["uri"] == "/v1/chat/completions"
        assert header_values(rec["headers"], "authorization") == \
            ["Bearer " + itlib.CANARY_BEARER]
        for n, v in rec["headers"]:
            assert itlib.CLIENT_BEARER not in v, (n, v)
    assert json.loads(recs[1]["body"])["stream"] is True


def test_anthropic_sdk_through_daemon(daemon, mock):
    s = _run_sdk("anthropic_sdk.mjs", daemon.url + "/an",
                 "ANTHROPIC_API_KEY", itlib.CLIENT_XAPI,
                 {"x-mock-id": "sdk-an"})
    want = "".join("tok%d " % i for i in range(8))
    assert s["create"]["content"] == want
    assert s["create"]["stop_reason"] == "end_turn"
    assert s["create"]["usage"]["output_tokens"] == 8
    st = s["stream"]
    assert st["content"] == want and st["final_content"] == want
    assert st["stop_reason"] == "end_turn"
    assert st["events"] == 13                   # 8 deltas + 5 framing
    assert st["types"][0] == "message_start"
    assert st["types"][-1] == "message_stop"
    assert s["raw_stream"] == {"events": 13, "content": want,
                               "last": "message_stop"}
    recs = mock.find("sdk-an")
    assert len(recs) == 3
    for rec in recs:
        assert rec["uri"] == "/v1/messages"
        assert header_values(rec["headers"], "x-api-key") == \
            [itlib.CANARY_XAPI]
        assert header_values(rec["headers"], "authorization") == []
        # The SDK's own headers pass through.
        assert header_values(rec["headers"], "anthropic-version")
        for n, v in rec["headers"]:
            assert itlib.CLIENT_XAPI not in v, (n, v)


def test_sdks_against_simulated_provider(daemon):
    s = _run_sdk("openai_sdk.mjs", daemon.url + "/demo/v1",
                 "OPENAI_API_KEY", itlib.CLIENT_BEARER, {})
    assert s["create"]["content"]
    assert s["create"]["usage"]["completion_tokens"] == 8
    assert s["stream"]["content"] == s["create"]["content"]
    assert s["stream"]["finish_reason"] == "stop"
    s = _run_sdk("anthropic_sdk.mjs", daemon.url + "/demo",
                 "ANTHROPIC_API_KEY", itlib.CLIENT_XAPI, {})
    assert s["create"]["content"]
    assert s["stream"]["final_content"] == s["create"]["content"]
    assert s["raw_stream"]["last"] == "message_stop"
    assert s["stream"]["types"].count("content_block_delta") == 8
