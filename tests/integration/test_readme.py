# SPDX-License-Identifier: ISC
"""The README's examples that need only the demo provider, run as written
against the shipped conf/llmproxyd.conf (issue 11): each code block is
taken from README.md, its port 8080 replaced by the test daemon's (started
with -l on a free port), and what it prints is checked against what the
README says it prints."""

import json
import os
import re
import subprocess

import pytest

import itlib
from itlib import SLOW

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                    os.pardir)


def _blocks(lang):
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    return re.findall(r"^```%s\n(.*?)^```" % lang, text, re.M | re.S)


def _block(lang, needle):
    found = [b for b in _blocks(lang) if needle in b]
    assert len(found) == 1, (lang, needle, found)
    return found[0]


@pytest.fixture
def shipped(daemon_binary, tmp_path):
    with open(os.path.join(ROOT, "conf", "llmproxyd.conf")) as f:
        text = f.read()
    d = itlib.Daemon(daemon_binary, str(tmp_path / "llmproxyd.conf"), text,
                     args=("-l", "127.0.0.1:0"))
    yield d
    d.stop()
    assert d.problems() == [], d.problems()


def _run(code, port, shell):
    code = code.replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
    cmd = ["bash", "-c", code] if shell else ["/usr/bin/python3", "-c", code]
    p = subprocess.run(cmd, capture_output=True, timeout=120 * SLOW)
    assert p.returncode == 0, (code, p.stdout, p.stderr)
    return p.stdout.decode()


def test_demo_stream_curl(shipped):
    out = _run(_block("sh", "curl -N http://127.0.0.1:8080/demo/"),
               shipped.port, True)
    events = [ln[6:] for ln in out.splitlines() if ln.startswith("data: ")]
    assert events[-1] == "[DONE]", out
    assert len(events) > 3, out
    assert json.loads(events[0])["object"] == "chat.completion.chunk"


def test_conf_comment_curl(shipped):
    # The request the shipped config shows in a comment, and its
    # Anthropic twin from the README's prose.
    r = itlib.request(shipped.port, "POST", "/demo/v1/chat/completions",
                      body=b'{"model":"demo","messages":[{"role":"user",'
                           b'"content":"hi"}]}', timeout=30 * SLOW)
    assert r.status == 200 and r.json()["object"] == "chat.completion"
    r = itlib.request(shipped.port, "POST", "/demo/v1/messages",
                      body=b'{"model":"demo","max_tokens":8,"messages":[]}',
                      timeout=30 * SLOW)
    assert r.status == 200 and r.json()["type"] == "message"


@pytest.mark.timeout(180)
def test_twenty_curls_queue(shipped):
    out = _run(_block("sh", "for i in $(seq 20)"), shipped.port, True)
    # /status prints no final newline: take its JSON out of the lines.
    at = out.index('{"version"')
    status, end = json.JSONDecoder().raw_decode(out[at:])
    out = out[:at] + "\n" + out[at + end:]
    lines = [ln for ln in out.splitlines() if " queued " in ln]
    assert len(lines) == 20, out
    assert all(ln.startswith("200 queued ") for ln in lines), out
    # Some waited: the demo admits 4 at once.
    assert max(int(ln.split()[2]) for ln in lines) > 0, out
    demo = status["providers"][0]
    assert demo["name"] == "demo" and demo["limits"]["max_concurrent"] == 4
    assert demo["in_flight"] <= 4


@pytest.mark.timeout(180)
def test_httpx_example_prints_200_only(shipped):
    out = _run(_block("python", "import asyncio, httpx"), shipped.port,
               False)
    assert out.strip() == "{200}", out


def test_batch_curl(shipped):
    out = _run(_block("sh", '"mode": "all"'), shipped.port, True)
    results = json.loads(out)["results"]
    assert [r["index"] for r in results] == [0, 1]
    assert [r["status"] for r in results] == [200, 200], results
    assert results[1]["body"]["type"] == "message", results


def test_batch_python(shipped):
    out = _run(_block("python", "/batch"), shipped.port, False)
    assert out.strip() == "[200, 200, 200]", out


def test_batch_as_completed_curl(shipped):
    out = _run(_block("sh", '"mode": "as_completed"'), shipped.port, True)
    lines = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    assert [x["index"] for x in lines] == [1, 0], lines
    assert all(x["status"] == 200 for x in lines), lines


def test_batch_first_curl(shipped):
    out = _run(_block("sh", '"mode": "first"'), shipped.port, True)
    head, body = out.split("\r\n\r\n", 1)
    assert head.lower().startswith("http/1.1 200"), out
    index = re.search(r"x-llmproxy-batch-index: (\d)", head, re.I)
    assert index, out
    # The winner's own answer: a chat completion, or a message.
    want = ("chat.completion", "message")[int(index.group(1))]
    got = json.loads(body)
    assert got.get("object", got.get("type")) == want, out
