# SPDX-License-Identifier: ISC
"""Fixtures: the mock upstream (one per session) and llmproxyd daemons
(started per test, stopped and checked after it).

Environment:
  LLMPROXYD          path of the daemon binary (required)
  MOCK_UPSTREAM      path of tests/mock/mock_upstream (required)
  RLINK_DRIVE        path of tests/redis/rlink_drive, for test_rlink.py
                     (skipped without it, unless LLMPROXYD_TEST_SUITE is
                     set, as scripts/test sets it: then they fail)
  LLMPROXYD_WRAPPER  optional command prefix for the daemon, e.g.
                     "valgrind --leak-check=full --error-exitcode=99";
                     deadlines grow accordingly.

After each test every daemon it started gets SIGTERM and must exit 0
within the deadline, without a sanitizer report on stderr, and without
any provider key or client credential in its log; a failure there fails
the test (as an error in its teardown).
"""

import os

import pytest

import itlib

TEST_TIMEOUT_S = 60 if not itlib.WRAPPER else 600


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "timeout(seconds): per-test limit "
                            "(pytest-timeout)")
    config.addinivalue_line("markers",
                            "last: run after every other test")


def pytest_collection_modifyitems(config, items):
    # A per-test limit, so that nothing hangs CI; a test may ask for more.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))
    # The session-wide leak check runs last.
    items.sort(key=lambda it: it.get_closest_marker("last") is not None)


def pytest_terminal_summary(terminalreporter):
    if not itlib.MEASURED:
        return
    terminalreporter.section("llmproxyd measurements")
    for k, v in sorted(itlib.MEASURED.items()):
        terminalreporter.write_line("%-72s %9.3f" % (k, v))


def _binary(var):
    path = os.environ.get(var)
    if not path:
        pytest.fail("set %s to the built binary (see scripts/test)" % var,
                    pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail("%s=%s is not an executable" % (var, path),
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def daemon_binary():
    return _binary("LLMPROXYD")


@pytest.fixture(scope="session")
def mock_session():
    m = itlib.Mock(_binary("MOCK_UPSTREAM"))
    yield m
    m.stop()


@pytest.fixture
def mock(mock_session):
    """The mock upstream, its records cleared for this test."""
    if not mock_session.alive():
        pytest.fail("the mock upstream died:\n" + mock_session.err.text(),
                    pytrace=False)
    mock_session.reset()
    return mock_session


@pytest.fixture
def start_daemon(daemon_binary, tmp_path):
    """Factory: start_daemon(providers, **top_level_keys) -> Daemon."""
    daemons = []

    def start(providers, extra_env=None, args=("-v",), **top):
        # Streams a failed test left open must not hold up the stop.
        top.setdefault("shutdown_timeout", 3.0)
        text = itlib.render_config(providers, **top)
        path = str(tmp_path / ("llmproxyd-%d.conf" % len(daemons)))
        d = itlib.Daemon(daemon_binary, path, text, extra_env=extra_env,
                         args=args)
        daemons.append(d)
        return d

    yield start

    problems = []
    for i, d in enumerate(daemons):
        d.stop()
        text = d.stderr()
        itlib.SESSION_LOGS.append(text)
        for p in d.problems():
            problems.append("daemon %d: %s" % (i, p))
        for secret in itlib.CANARIES + tuple(itlib.CLIENT_SECRETS):
            if secret in text:
                problems.append("daemon %d: a credential (%s...) is in its "
                                "log" % (i, secret[:12]))
    if problems:
        logs = "\n".join("--- daemon %d stderr (last 6000 bytes):\n%s"
                         % (i, d.stderr()[-6000:])
                         for i, d in enumerate(daemons))
        pytest.fail("after the test:\n  " + "\n  ".join(problems) + "\n"
                    + logs, pytrace=False)


@pytest.fixture
def std_providers(mock):
    """The usual providers, all (but `demo`) forwarding to the mock."""
    return [
        itlib.proxy_provider("oa", mock.url, "openai", "bearer"),
        itlib.proxy_provider("an", mock.url, "anthropic", "x-api-key"),
        itlib.proxy_provider("open", mock.url, "openai", "none"),
        itlib.simulated_provider("demo"),
    ]


@pytest.fixture
def daemon(start_daemon, std_providers):
    """A daemon with the usual providers; `oa` is the default provider."""
    return start_daemon(std_providers, default_provider="oa")


@pytest.fixture
def redis_server():
    """A redis-server of the test's own on a free loopback port, stopped
    (by its pid) and its directory removed after the test."""
    import redislib
    srv = redislib.RedisServer()
    yield srv
    srv.close()
