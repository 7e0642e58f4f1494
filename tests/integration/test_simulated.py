# SPDX-License-Identifier: ISC
"""The simulated provider (SPEC section 7): OpenAI- and Anthropic-shaped
JSON and SSE, max_tokens tokens (16 by default), paced."""

import json

import pytest

import itlib
from itlib import jbody, now, request, stream_request

MSGS = [{"role": "user", "content": "Hello, simulated provider."}]


def _post(d, path, body):
    return request(d.port, "POST", path,
                   [("Content-Type", "application/json")], jbody(body))


@pytest.mark.parametrize("max_tokens", [None, 1, 7, 40])
def test_openai_json(daemon, max_tokens):
    body = {"model": "sim-model", "messages": MSGS}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    n = max_tokens or 16
    r = _post(daemon, "/demo/v1/chat/completions", body)
    assert r.status == 200, r.body
    assert r.header("Content-Type").startswith("application/json")
    j = r.json()
    assert j["object"] == "chat.completion"
    assert j["model"] == "sim-model"
    ch = j["choices"][0]
    assert ch["message"]["role"] == "assistant"
    assert isinstance(ch["message"]["content"], str)
    assert ch["message"]["content"]
    assert ch["finish_reason"] == "stop"
    u = j["usage"]
    assert u["completion_tokens"] == n
    assert u["prompt_tokens"] >= 1
    assert u["total_tokens"] == u["prompt_tokens"] + n


@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_sse(daemon, include_usage):
    n = 12
    body = {"model": "sim-model", "messages": MSGS, "stream": True,
            "max_tokens": n}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    r, p = stream_request(daemon.port, "/demo/v1/chat/completions",
                          jbody(body))
    assert r.status == 200 and r.complete
    assert r.header("Content-Type").startswith("text/event-stream")
    datas = p.datas()
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    for c in chunks:
        assert c["object"] == "chat.completion.chunk"
        assert c["model"] == "sim-model"
    content = [c["choices"][0]["delta"]["content"] for c in chunks
               if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content) == n
    finals = [c for c in chunks if c["choices"] and
              c["choices"][0]["finish_reason"] is not None]
    assert len(finals) == 1 and finals[0]["choices"][0]["finish_reason"] == \
        "stop"
    usage = [c["usage"] for c in chunks if c.get("usage")]
    if include_usage:
        assert len(usage) == 1 and usage[0]["completion_tokens"] == n
        assert chunks[-1]["choices"] == []
    else:
        assert usage == []
    # The streamed text is the text of the whole answer.
    whole = _post(daemon, "/demo/v1/chat/completions",
                  {"messages": MSGS, "max_tokens": n}).json()
    assert "".join(content) == whole["choices"][0]["message"]["content"]


@pytest.mark.parametrize("max_tokens", [None, 5])
def test_anthropic_json(daemon, max_tokens):
    body = {"model": "sim-model", "messages": MSGS}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    n = max_tokens or 16
    r = _post(daemon, "/demo/v1/messages", body)
    assert r.status == 200, r.body
    j = r.json()
    assert j["type"] == "message" and j["role"] == "assistant"
    assert j["model"] == "sim-model"
    assert j["content"][0]["type"] == "text" and j["content"][0]["text"]
    assert j["stop_reason"] == "end_turn"
    assert j["usage"]["output_tokens"] == n
    assert j["usage"]["input_tokens"] >= 1


def test_anthropic_sse(daemon):
    n = 9
    r, p = stream_request(daemon.port, "/demo/v1/messages",
                          jbody({"model": "sim-model", "messages": MSGS,
                                 "max_tokens": n, "stream": True}))
    assert r.status == 200 and r.complete
    names = [e[1] for e in p.events]
    assert names[0] == "message_start"
    assert names[1] == "content_block_start"
    assert names[-3:] == ["content_block_stop", "message_delta",
                          "message_stop"]
    assert names.count("content_block_delta") == n
    evs = [json.loads(d) for _, _, d in p.events]
    for (_, name, _), ev in zip(p.events, evs):
        assert ev["type"] == name
    assert evs[0]["message"]["usage"]["input_tokens"] >= 1
    assert evs[-2]["usage"]["output_tokens"] == n
    text = "".join(ev["delta"]["text"] for ev in evs
                   if ev["type"] == "content_block_delta")
    whole = _post(daemon, "/demo/v1/messages",
                  {"messages": MSGS, "max_tokens": n}).json()
    assert text == whole["content"][0]["text"]


def test_simulated_stream_is_paced(start_daemon):
    d = start_daemon([itlib.simulated_provider("slow", latency=0.3,
                                               tokens_per_second=20.0)])
    n = 10
    t0 = now()
    r, p = stream_request(d.port, "/slow/v1/chat/completions",
                          jbody({"stream": True, "max_tokens": n}))
    assert r.status == 200 and r.complete
    assert r.head_time - t0 >= 0.25          # latency before the first byte
    deltas = [t for t, _, dt in p.events if dt != "[DONE]" and
              json.loads(dt)["choices"][0]["delta"].get("content")]
    assert len(deltas) == n
    # 20 tokens/s: ten tokens take about half a second, one by one.
    assert deltas[-1] - deltas[0] >= (n - 1) / 20.0 * 0.8
    gaps = [b - a for a, b in zip(deltas, deltas[1:])]
    assert sum(1 for g in gaps if g >= 0.025) >= (n - 1) * 0.6


def test_simulated_errors_in_dialect(daemon):
    r = _post(daemon, "/demo/v1/models", {})
    assert r.status == 404
    assert r.json()["error"]["code"]
    r = request(daemon.port, "POST", "/demo/v1/chat/completions",
                [("Content-Type", "application/json")], b"{not json")
    assert r.status == 400
    assert r.json()["error"]["code"]
    r = request(daemon.port, "POST", "/demo/v1/messages",
                [("Content-Type", "application/json")], b"[1,2]")
    assert r.status == 400
    assert r.json()["type"] == "error"
