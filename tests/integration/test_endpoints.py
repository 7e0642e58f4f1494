# SPDX-License-Identifier: ISC
"""The daemon's own endpoints (SPEC 8) answer the same methods alike:
GET and HEAD; any other method gets 405 with `Allow: GET, HEAD` and an
OpenAI-shaped error, logged and counted as a refusal like every other
(reason method_not_allowed)."""

import re

import pytest

import itlib
from itlib import request

ENDPOINTS = ["/status", "/healthz", "/metrics"]


def _refused(daemon, reason):
    r = request(daemon.port, "GET", "/metrics")
    m = re.search(r'^llmproxy_refused_total\{provider="",reason="%s"\} '
                  r'(\d+)$' % reason, r.body.decode(), re.M)
    assert m, r.body.decode()[:2000]
    return int(m.group(1))


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
def test_own_endpoints_answer_get_and_head_only(daemon, path, method):
    before = _refused(daemon, "method_not_allowed")
    body = b"{}" if method == "POST" else None
    r = request(daemon.port, method, path, body=body)
    after = _refused(daemon, "method_not_allowed")
    if method in ("GET", "HEAD"):
        assert r.status == 200, (r.status, r.body)
        assert r.header("Allow") is None
        if method == "HEAD":
            assert r.body == b""
        else:
            assert len(r.body) > 0
        assert after == before
        return
    assert r.status == 405, (r.status, r.body)
    assert r.header("Allow") == "GET, HEAD"
    assert r.header("Content-Type") == "application/json"
    err = r.json()["error"]
    assert err["code"] == "llmproxy_method_not_allowed", err
    assert err["type"] and err["message"]
    assert after == before + 1
    daemon.wait_access(lambda ln: "method=%s" % method in ln and
                       "path=%s " % path in ln and "status=405" in ln and
                       "reason=method_not_allowed" in ln,
                       5 * itlib.SLOW, "the 405's access line")
