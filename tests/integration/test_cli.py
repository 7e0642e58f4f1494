# SPDX-License-Identifier: ISC
"""The command line and the process lifecycle (SPEC section 2) and the
configuration file as users write it (section 3)."""

import json
import os
import re
import signal
import socket
import subprocess
import threading

import pytest

import itlib
from itlib import SLOW, RawConn, jbody, now, request

# SPEC section 3's example, completed (its "..." filled in).
SPEC_EXAMPLE = """
listen = [ "127.0.0.1:0" ];           # loopback by default
default_provider = "openai";
client_tokens = [ ];
max_body_size = 16777216;
shutdown_timeout = 30.0;
log_level = "info";
allowed_hosts = [ ];
allowed_origins = [ ];
max_connections = 8192;
header_timeout = 10.0;
body_timeout = 60.0;
keepalive_timeout = 60.0;

providers = (
  {
    name = "openai";
    base_url = "https://api.openai.com";
    dialect = "openai";
    auth = "bearer";
    api_key_env = "%(bearer)s";
    ca_file = "";
    requests_per_minute = 500;
    tokens_per_minute = 200000;
    burst = 10;
    default_max_tokens = 1024;
    stream_include_usage = false;
    max_concurrent = 16;
    queue_max = 1000;
    queue_timeout = 60.0;
    retries = 2;
    connect_timeout = 10.0;
    first_byte_timeout = 120.0;
    idle_timeout = 60.0;
  },
  { name = "anthropic"; base_url = "https://api.anthropic.com";
    dialect = "anthropic"; auth = "x-api-key";
    api_key_env = "%(xapi)s"; },
  { name = "demo"; type = "simulated"; latency = 0.2;
    tokens_per_second = 50.0; }
);
""" % {"bearer": itlib.KEY_ENV_BEARER, "xapi": itlib.KEY_ENV_XAPI}


def _run(daemon_binary, *args, env_extra=None, timeout=30, leaks=True):
    """Run the daemon to completion; return (status, stdout, stderr).

    leaks=False: an error exit (fatal() leaves its allocations to the
    exit, and LeakSanitizer reports them only now and then)."""
    env = dict(os.environ)
    env[itlib.KEY_ENV_BEARER] = itlib.CANARY_BEARER
    env[itlib.KEY_ENV_XAPI] = itlib.CANARY_XAPI
    env.pop("LLMPROXY_IT_UNSET", None)
    if env_extra:
        env.update(env_extra)
    if not leaks:
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    p = subprocess.run(itlib.WRAPPER + [daemon_binary] + list(args),
                       env=env, capture_output=True, timeout=timeout * SLOW)
    err = p.stderr.decode()
    # No memory error on any exit, and no leak on a normal one.
    for m in itlib.SANITIZER_MARKERS:
        assert m not in err, "llmproxyd %s: %s\n%s" % (" ".join(args), m,
                                                       err)
    return p.returncode, p.stdout.decode(), err


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_version_and_help(daemon_binary):
    rc, out, err = _run(daemon_binary, "-V")
    assert rc == 0
    assert re.match(r"llmproxyd \d+\.\d+", out), out
    rc, out, err = _run(daemon_binary, "-h")
    assert rc == 0
    assert "usage" in (out + err).lower() and "-c" in out + err
    rc, out, err = _run(daemon_binary, "-Z", leaks=False)
    assert rc != 0
    assert "usage" in err.lower()
    # The long forms, as users of other daemons type them.
    rc, out, err = _run(daemon_binary, "--version")
    assert rc == 0 and re.match(r"llmproxyd \d+\.\d+", out), (rc, out, err)
    rc, out, err = _run(daemon_binary, "--help")
    assert rc == 0 and "usage" in out.lower(), (rc, out, err)


def test_config_path_that_is_a_directory(daemon_binary, tmp_path):
    rc, out, err = _run(daemon_binary, "-t", "-c", str(tmp_path),
                        leaks=False)
    assert rc == 1, (rc, out, err)
    assert "%s: cannot be read: is a directory" % tmp_path in err, err
    assert "No such file" not in err, err


def test_spec_example_config_is_valid(daemon_binary, tmp_path):
    path = _write(tmp_path, "example.conf", SPEC_EXAMPLE)
    rc, out, err = _run(daemon_binary, "-c", path, "-t")
    assert rc == 0, err
    for s in itlib.CANARIES:
        assert s not in out + err


@pytest.mark.parametrize("text,line,words", [
    # A bad value names the file, the line and the setting.
    ('listen = [ "127.0.0.1:0" ];\nproviders = (\n'
     '  { name = "a"; type = "simulated"; },\n'
     '  { name = "b"; type = "simulated"; max_concurrent = -1; }\n);\n',
     4, ["providers[1].max_concurrent"]),
    # Unknown keys are errors, not ignored.
    ('listen = [ "127.0.0.1:0" ];\nno_such_key = 1;\n'
     'providers = ( { name = "a"; type = "simulated"; } );\n',
     2, ["no_such_key"]),
    ('listen = [ "127.0.0.1:0" ];\nproviders = ( { name = "a";\n'
     '  type = "simulated"; idle_timout = 5.0; } );\n',
     None, ["idle_timout"]),
    # An unset key variable is a configuration error.
    ('listen = [ "127.0.0.1:0" ];\nproviders = (\n'
     '  { name = "a"; base_url = "http://127.0.0.1:1";\n'
     '    api_key_env = "LLMPROXY_IT_UNSET"; } );\n',
     None, ["api_key_env"]),
    # burst = 0 with a request limit.
    ('listen = [ "127.0.0.1:0" ];\nproviders = (\n'
     '  { name = "a"; type = "simulated"; requests_per_minute = 10;\n'
     '    burst = 0; } );\n', None, ["burst"]),
    # Reserved names are never provider names.
    ('listen = [ "127.0.0.1:0" ];\nproviders = (\n'
     '  { name = "healthz"; type = "simulated"; } );\n',
     None, ["healthz"]),
    # An address listed twice is refused at load, not at bind.
    ('listen = [ "127.0.0.1:0",\n  "127.0.0.1:18080",\n'
     '  "localhost:18080" ];\n'
     'providers = ( { name = "a"; type = "simulated"; } );\n',
     3, ["listen[2]", "is already listen[1]"]),
    # An integer libconfig would wrap into 32 bits names its range.
    ('listen = [ "127.0.0.1:0" ];\nproviders = (\n'
     '  { name = "a"; type = "simulated";\n'
     '    requests_per_minute = 4294967297; } );\n',
     4, ["providers[0].requests_per_minute must be between 0 and "
         "1000000000"]),
    # Syntax errors name the line too.
    ('listen = [ "127.0.0.1:0" ];\nproviders = (\n  { name = "a" ;; } );\n',
     3, []),
])
def test_config_errors_name_file_and_line(daemon_binary, tmp_path, text,
                                          line, words):
    path = _write(tmp_path, "bad.conf", text)
    for args in (("-c", path, "-t"), ("-c", path)):
        rc, out, err = _run(daemon_binary, *args, leaks=False)
        assert rc == 1, (args, rc, out, err)
        assert path in err, err
        if line is not None:
            assert "%s:%d:" % (path, line) in err, err
        else:
            assert re.search(re.escape(path) + r":\d+:", err), err
        for w in words:
            assert w in err, err


def test_integer_accepted_where_float_expected(daemon_binary, tmp_path):
    path = _write(tmp_path, "int.conf",
                  'listen = [ "127.0.0.1:0" ];\nshutdown_timeout = 5;\n'
                  'providers = ( { name = "a"; type = "simulated";\n'
                  '  latency = 0; tokens_per_second = 100;\n'
                  '  queue_timeout = 5; idle_timeout = 3; } );\n')
    rc, out, err = _run(daemon_binary, "-c", path, "-t")
    assert rc == 0, err


def test_listen_option_overrides_config(start_daemon):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        # The config names a port that is taken; -l wins.
        d = start_daemon([itlib.simulated_provider()],
                         listen=["127.0.0.1:%d" % busy.getsockname()[1]],
                         args=("-v", "-l", "127.0.0.1:0"))
        assert d.port != busy.getsockname()[1]
        d.healthy()
    finally:
        busy.close()


def test_busy_port_is_a_startup_error(daemon_binary, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        path = _write(tmp_path, "busy.conf",
                      'listen = [ "127.0.0.1:%d" ];\nproviders = ( '
                      '{ name = "a"; type = "simulated"; } );\n' % port)
        rc, out, err = _run(daemon_binary, "-c", path, leaks=False)
        assert rc == 1, (rc, err)
        assert str(port) in err, err
    finally:
        busy.close()


def test_sigint_stops_with_status_zero(start_daemon):
    d = start_daemon([itlib.simulated_provider()])
    d.proc.send_signal(signal.SIGINT)
    assert d.proc.wait(10 * SLOW) == 0
    assert d.stop() == 0


def test_sigterm_lets_inflight_stream_finish(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     shutdown_timeout=20.0)
    c = RawConn(d.port, timeout=20 * SLOW)
    c.request("POST", "/oa/v1/chat/completions",
              [("Content-Type", "application/json"),
               ("x-mock-chunks", "10"), ("x-mock-interval-ms", "100")],
              jbody({"stream": True}))
    r = c.read_head()
    assert r.status == 200
    p = itlib.SSEParser()
    idle = RawConn(d.port, timeout=10 * SLOW)      # a kept-alive client
    idle.request("GET", "/healthz")
    assert idle.read_response("GET").status == 200
    d.proc.send_signal(signal.SIGTERM)
    # New connections are refused (or closed unanswered) once stopping.
    def refused():
        try:
            rr = request(d.port, "GET", "/healthz", timeout=2)
            return rr.status != 200
        except (OSError, itlib.IncompleteBody):
            return True
    itlib.wait_until(refused, 5 * SLOW, "the daemon to stop accepting")
    # A request on a connection kept alive from before gets 503 and close.
    idle.request("POST", "/oa/echo", body=b"{}")
    rr = idle.read_response()
    assert rr.status == 503 and rr.header("Retry-After") == "1", rr.status
    assert rr.json()["error"]["code"] == "llmproxy_shutdown"
    assert idle.wait_closed(5 * SLOW)
    idle.close()
    d.wait_access(lambda l: "status=503" in l and "reason=shutdown" in l,
                  5 * SLOW, "the access line with reason=shutdown")
    for t, data in c.body_pieces(r, "POST", timeout=20 * SLOW):
        p.feed(t, data)
    c.close()
    assert r.complete and p.datas()[-1] == "[DONE]", p.datas()[-2:]
    assert len(p.events) == 12
    assert d.proc.wait(10 * SLOW) == 0


def test_sigterm_ends_streams_at_shutdown_timeout(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)],
                     shutdown_timeout=1.0)
    c = RawConn(d.port, timeout=20 * SLOW)
    c.request("POST", "/oa/v1/chat/completions",
              [("Content-Type", "application/json"),
               ("x-mock-chunks", "300"), ("x-mock-interval-ms", "100"),
               ("x-mock-id", "drain-1")], jbody({"stream": True}))
    r = c.read_head()
    assert r.status == 200
    t0 = now()
    d.proc.send_signal(signal.SIGTERM)
    p = itlib.SSEParser()
    for t, data in c.body_pieces(r, "POST", timeout=20 * SLOW):
        p.feed(t, data)
    took = now() - t0
    c.close()
    # It went on for shutdown_timeout, then ended as SPEC section 6 says.
    assert 0.8 <= took < 5 * SLOW, took
    assert len(p.events) > 3
    assert r.complete, "an SSE stream must end cleanly"
    err = json.loads(p.events[-1][2])
    assert "error" in err, p.events[-1]
    assert d.proc.wait(10 * SLOW) == 0
    mock.wait_request("drain-1", lambda x: x["closed_early"], 5 * SLOW,
                      "the upstream stream to be closed")


def _queued_behind_one(d, mock, head_headers, tag):
    """With max_concurrent 1: start a head request (held by the mock as
    head_headers say), then one that must queue behind it; return the two
    threads' result lists ([Response or exception])."""
    results = {"head": [], "queued": []}

    def send(which, hs):
        try:
            c = RawConn(d.port, timeout=30 * SLOW)
            c.request("POST", "/oa/v1/chat/completions",
                      [("Content-Type", "application/json"),
                       ("x-mock-id", "%s-%s" % (tag, which))] + hs,
                      jbody({"stream": True}))
            r = c.read_head()
            p = itlib.SSEParser()
            parts = []
            for t, data in c.body_pieces(r, "POST", timeout=30 * SLOW):
                p.feed(t, data)
                parts.append(data)
            r.body = b"".join(parts)
            r.events = p.events
            r.done_at = now()
            c.close()
            results[which].append(r)
        except Exception as e:      # reported by the asserts below
            results[which].append(e)
    threads = [threading.Thread(target=send, args=("head", head_headers),
                                daemon=True)]
    threads[0].start()
    mock.wait_request("%s-head" % tag, lambda r: True, 5 * SLOW,
                      "the head request to reach the mock")
    threads.append(threading.Thread(
        target=send, args=("queued", [("x-mock-chunks", "3")]),
        daemon=True))
    threads[1].start()

    def queued():
        st = request(d.port, "GET", "/status").json()
        return st["providers"][0]["queued"] == 1
    itlib.wait_until(queued, 5 * SLOW, "one request queued")
    return threads, results


def test_sigterm_lets_queued_request_run_and_exits_once_drained(
        start_daemon, mock):
    """SPEC 10: queued requests go on during the drain; the daemon exits
    as soon as the last one is done, long before shutdown_timeout."""
    d = start_daemon([itlib.proxy_provider("oa", mock.url, max_concurrent=1,
                                           queue_timeout=30.0)],
                     shutdown_timeout=30.0)
    threads, results = _queued_behind_one(
        d, mock, [("x-mock-chunks", "5"), ("x-mock-interval-ms", "100")],
        "drainq")
    t0 = now()
    d.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(20 * SLOW)
    for which in ("head", "queued"):
        r = results[which][0]
        assert isinstance(r, itlib.Response), (which, r)
        assert r.status == 200 and r.complete, (which, r.status)
        assert r.events[-1][2] == "[DONE]", (which, r.events[-2:])
    assert d.proc.wait(15 * SLOW) == 0
    took = now() - t0
    assert took < 15 * SLOW, took       # not the 30 s of shutdown_timeout
    assert not any("reason=shutdown" in l for l in d.access_lines())


def test_sigterm_refuses_still_queued_at_shutdown_timeout(start_daemon,
                                                          mock):
    """SPEC 10: at shutdown_timeout a request still queued gets 503 with
    Retry-After and reason=shutdown, the open stream its error event, and
    the daemon exits 0."""
    d = start_daemon([itlib.proxy_provider("oa", mock.url, max_concurrent=1,
                                           queue_timeout=30.0)],
                     shutdown_timeout=1.0)
    threads, results = _queued_behind_one(
        d, mock, [("x-mock-chunks", "300"), ("x-mock-interval-ms", "100")],
        "cutq")
    t0 = now()
    d.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(20 * SLOW)
    q = results["queued"][0]
    assert isinstance(q, itlib.Response), q
    assert q.status == 503, q.status
    assert q.header("Retry-After") and q.header("retry-after-ms"), q.headers
    assert json.loads(q.body)["error"]["code"] == "llmproxy_shutdown"
    assert q.done_at - t0 >= 0.8, "refused before shutdown_timeout"
    h = results["head"][0]
    assert isinstance(h, itlib.Response) and h.status == 200, h
    assert h.complete and "error" in json.loads(h.events[-1][2]), \
        h.events[-1:]
    assert d.proc.wait(10 * SLOW) == 0
    assert any("status=503" in l and "reason=shutdown" in l
               for l in d.access_lines()), d.access_lines()
    mock.wait_request("cutq-head", lambda x: x["closed_early"], 5 * SLOW,
                      "the upstream stream to be closed")
    assert mock.find("cutq-queued") == [], "the refused one reached the mock"


def test_sighup_reloads_without_dropping_streams(start_daemon, mock):
    d = start_daemon([itlib.proxy_provider("oa", mock.url)])
    c = RawConn(d.port, timeout=20 * SLOW)
    c.request("POST", "/oa/v1/chat/completions",
              [("Content-Type", "application/json"),
               ("x-mock-chunks", "10"), ("x-mock-interval-ms", "100")],
              jbody({"stream": True}))
    r = c.read_head()
    assert r.status == 200
    # Add a provider, and reload.
    with open(d.conf_path, "w") as f:
        f.write(itlib.render_config([itlib.proxy_provider("oa", mock.url),
                                     itlib.simulated_provider("added")]))
    d.proc.send_signal(signal.SIGHUP)

    def added():
        rr = request(d.port, "POST", "/added/v1/chat/completions",
                     [("Content-Type", "application/json")],
                     jbody({"max_tokens": 2}))
        return rr.status == 200
    itlib.wait_until(added, 5 * SLOW, "the reloaded provider to answer")
    # A bad config is logged and the old one kept.
    with open(d.conf_path, "w") as f:
        f.write("providers = ( { name = 1; } );\n")
    d.proc.send_signal(signal.SIGHUP)
    assert d.err.wait_for(re.escape(d.conf_path) + r":\d+:", 5 * SLOW), \
        "a bad config on SIGHUP must be logged with its file and line"
    p = itlib.SSEParser()
    for t, data in c.body_pieces(r, "POST", timeout=20 * SLOW):
        p.feed(t, data)
    c.close()
    assert r.complete and p.datas()[-1] == "[DONE]"
    assert len(p.events) == 12
    d.healthy()
    rr = request(d.port, "POST", "/added/v1/chat/completions",
                 [("Content-Type", "application/json")],
                 jbody({"max_tokens": 2}))
    assert rr.status == 200


def test_open_file_limit_raised_to_hard_limit(start_daemon):
    """Each stream holds two descriptors: the daemon raises its soft
    open-file limit to the hard one at start-up."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(hard, 256)
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        d = start_daemon([itlib.simulated_provider()])
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    with open("/proc/%d/limits" % d.proc.pid) as f:
        line = [x for x in f if x.startswith("Max open files")][0]
    fields = line.split()
    assert int(fields[3]) == hard and int(fields[4]) == hard, line
