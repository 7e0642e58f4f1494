# SPDX-License-Identifier: ISC
"""llmproxyctl (SPEC 15): status, top and check against real daemons, with
its exit codes (0 fine, 1 the daemon answered an error, 2 usage, 3
unreachable), and `top` driven as a person would, inside tmux.

The binary is $LLMPROXYCTL, else ctl/llmproxyctl next to $LLMPROXYD's
daemon/ in the same build directory.  tmux runs on a private socket
(-L) per test; only that server is killed afterwards.
"""

import os
import re
import shutil
import subprocess
import threading

import pytest

import itlib
from itlib import SLOW, jbody, request, wait_until

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="session")
def ctl_binary(daemon_binary):
    path = os.environ.get("LLMPROXYCTL") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(daemon_binary))),
        "ctl", "llmproxyctl")
    if not os.access(path, os.X_OK):
        pytest.fail("no llmproxyctl at %s (build it, or set LLMPROXYCTL)"
                    % path, pytrace=False)
    return path


def ctl(binary, *args, env_extra=None, timeout=30):
    """Run llmproxyctl to completion; return (status, stdout, stderr)."""
    env = dict(os.environ)
    env[itlib.KEY_ENV_BEARER] = itlib.CANARY_BEARER
    env[itlib.KEY_ENV_XAPI] = itlib.CANARY_XAPI
    if env_extra:
        env.update(env_extra)
    p = subprocess.run([binary] + list(args), env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=timeout * SLOW)
    out, err = p.stdout.decode(), p.stderr.decode()
    for m in itlib.SANITIZER_MARKERS:
        assert m not in err, err
    return p.returncode, out, err


def hold(port, target, n, timeout=60.0):
    """Send n chat requests from threads; return the threads."""
    body = jbody({"model": "m", "max_tokens": 1,
                  "messages": [{"role": "user", "content": "hi"}]})

    def one():
        try:
            request(port, "POST", target, body=body, timeout=timeout)
        except OSError:
            pass            # the test ended first: nothing to check here
    ts = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in ts:
        t.start()
    return ts


def status_json(d, token=None):
    hs = [("Authorization", "Bearer " + token)] if token else []
    r = request(d.port, "GET", "/status", headers=hs)
    assert r.status == 200, r.body
    return r.json()


# --- status -----------------------------------------------------------------

def row(out, name):
    """The first table's line for provider name, split in columns."""
    for ln in out.splitlines():
        cols = ln.split()
        if cols and cols[0] == name:
            return cols
    raise AssertionError("no line for %s in:\n%s" % (name, out))


def test_status_lists_every_provider(ctl_binary, start_daemon, mock):
    d = start_daemon([
        itlib.proxy_provider("oa", mock.url, "openai", "bearer",
                             max_concurrent=3, queue_max=9,
                             requests_per_minute=600, burst=5),
        itlib.simulated_provider("demo", tokens_per_minute=100000),
    ])
    rc, out, err = ctl(ctl_binary, "-u", d.url, "status")
    assert rc == 0, err
    assert out.startswith("llmproxyd %s at %s\nup "
                          % (status_json(d)["version"], d.url)), out
    assert row(out, "oa")[1:4] == ["0/3", "0/9", "5/5"], out
    # No concurrency or queue limit set: "-"; the token bucket is full.
    assert row(out, "demo")[1:5] == ["0/-", "0/1000", "-", "100.0k/100.0k"]
    assert "ADMITTED" in out and "UPSTREAM 429" in out
    assert max(len(ln) for ln in out.splitlines()) <= 80, out
    assert err == ""


def test_status_shows_requests_held(ctl_binary, start_daemon):
    d = start_daemon([itlib.simulated_provider(
        "slow", latency=30.0, max_concurrent=1, queue_max=10)])
    hold(d.port, "/slow" + CHAT, 3)
    wait_until(lambda: status_json(d)["providers"][0]["queued"] == 2,
               10 * SLOW, "one request in flight and two queued")
    rc, out, err = ctl(ctl_binary, "-u", d.url + "/", "status")
    assert rc == 0, err
    assert row(out, "slow")[1:3] == ["1/1", "2/10"], out


def test_status_unreachable(ctl_binary):
    url = "http://127.0.0.1:%d" % itlib.free_port()
    rc, out, err = ctl(ctl_binary, "-u", url, "status")
    assert rc == 3, (rc, out, err)
    assert out == ""
    assert "cannot reach llmproxyd at " + url in err, err


@pytest.mark.parametrize("args", [
    [], ["bogus"], ["status", "extra"], ["check"], ["check", "a", "b"],
    ["-x", "status"], ["-u", "ftp://127.0.0.1:8080", "status"],
    ["-u", "127.0.0.1:8080", "status"], ["-t", "a", "-T", "/dev/null",
                                         "status"],
    ["-T", "/nonexistent/llmproxyctl.token", "status"],
    ["top", "-n", "0"], ["top", "-n", "x"], ["top", "now"], ["top", "-z"],
    ["top", "-n"], ["-u"], ["--bogus", "status"],
    ["-t", "bad\ntoken", "status"],
])
def test_usage_errors(ctl_binary, args):
    rc, out, err = ctl(ctl_binary, *args)
    assert rc == 2, (args, rc, out, err)
    assert out == "" and err.startswith("llmproxyctl: "), (out, err)


def test_help_and_version(ctl_binary):
    for a in ("-h", "--help"):
        rc, out, err = ctl(ctl_binary, a)
        assert rc == 0 and out.startswith("usage: llmproxyctl ") and \
            "status" in out and "top" in out and "check FILE" in out
    for a in ("-V", "--version"):
        rc, out, err = ctl(ctl_binary, a)
        assert rc == 0 and re.match(r"llmproxyctl \d+\.\d+\.\d+\n", out)


def test_client_token(ctl_binary, start_daemon, tmp_path):
    """401 without the token or with a wrong one (exit 1); the token from
    -t or -T works; no token is ever printed."""
    tok = itlib.CLIENT_TOKEN
    d = start_daemon([itlib.simulated_provider("demo")],
                     client_tokens=[tok])
    wrong = "wrong-" + tok[::-1]
    for args in ([], ["-t", wrong]):
        rc, out, err = ctl(ctl_binary, "-u", d.url, *args, "status")
        assert rc == 1, (rc, out, err)
        assert "HTTP 401" in err and wrong not in err + out, err
    path = tmp_path / "token"
    path.write_text(tok + "\n")     # one trailing newline is stripped
    for args in (["-t", tok], ["-T", str(path)]):
        rc, out, err = ctl(ctl_binary, "-u", d.url, *args, "status")
        assert rc == 0, err
        assert row(out, "demo") and tok not in out + err
    rc, out, err = ctl(ctl_binary, "-u", d.url, "-T", str(path), "top",
                       "-n", "1")
    assert rc == 0 and "demo" in out and tok not in out + err, err


# --- check -------------------------------------------------------------------

def test_check_good_and_bad(ctl_binary, daemon_binary, tmp_path, mock):
    good = tmp_path / "good.conf"
    good.write_text(itlib.render_config([
        itlib.proxy_provider("oa", mock.url), itlib.simulated_provider()]))
    rc, out, err = ctl(ctl_binary, "check", str(good))
    assert rc == 0 and err == "", err
    assert out == "llmproxyctl: %s: configuration is valid\n" % good
    bad = tmp_path / "bad.conf"
    bad.write_text(itlib.render_config([
        itlib.simulated_provider(),
        itlib.simulated_provider("two", max_concurrent=-1)]))
    rc, out, err = ctl(ctl_binary, "check", str(bad))
    assert rc == 1 and out == "", out
    m = re.match(r"llmproxyctl: (%s:(\d+): .*max_concurrent.*)\n$"
                 % re.escape(str(bad)), err)
    assert m, err
    line = int(m.group(2))
    assert "max_concurrent" in bad.read_text().splitlines()[line - 1]
    # Word for word what the daemon says.
    p = subprocess.run([daemon_binary, "-t", "-c", str(bad)],
                       capture_output=True, text=True, timeout=30 * SLOW,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert p.returncode == 1 and p.stderr == "llmproxyd: %s\n" % m.group(1)
    rc, out, err = ctl(ctl_binary, "check", str(tmp_path / "missing.conf"))
    assert rc == 1 and "missing.conf: cannot be read" in err, err


# --- top, without a terminal --------------------------------------------------

def test_top_plain_frames(ctl_binary, start_daemon):
    d = start_daemon([itlib.simulated_provider("demo", max_concurrent=2)])
    rc, out, err = ctl(ctl_binary, "-u", d.url, "top", "-n", "2",
                       env_extra={"NO_COLOR": ""})
    assert rc == 0, err
    assert out.count("PROVIDER ") == 2, out
    assert "\033" not in out, "escape sequences in plain output"
    assert re.search(r"(?m)^demo +0/2 +0/1000 ", out), out
    assert max(len(ln) for ln in out.splitlines()) <= 80
    # Against nothing: one frame saying so, exit 3.
    url = "http://127.0.0.1:%d" % itlib.free_port()
    rc, out, err = ctl(ctl_binary, "-u", url, "top", "-n", "1")
    assert rc == 3, (rc, out, err)
    assert "llmproxyd is unreachable at " + url in out, out
    assert "retrying every second (1 failed attempt)" in out, out


# --- top, in a terminal (tmux) -----------------------------------------------

class Tmux:
    """A tmux server of the test's own (-L), one 80x24 window."""

    def __init__(self, tmp_path):
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (scripts/lib.sh lists it)",
                        pytrace=False)
        self.sock = "llmproxyctl-test-%d-%d" % (os.getpid(), id(self))
        self.conf = tmp_path / "tmux.conf"
        self.status_file = str(tmp_path / "top.status")
        # The pane stays after its process exits, to read its status.
        self.conf.write_text("set -g remain-on-exit on\n"
                             "set -g status off\n")

    def run(self, *args, check=True):
        p = subprocess.run(["tmux", "-L", self.sock, "-f", str(self.conf)]
                           + list(args), capture_output=True, text=True,
                           timeout=30)
        if check:
            assert p.returncode == 0, (args, p.stderr)
        return p.stdout

    def start(self, argv, env=()):
        envargs = []
        for k, v in env:
            envargs += ["-e", "%s=%s" % (k, v)]
        # The shell writes top's exit status to a file: tmux here does not
        # always reap a pane's process (pane_dead_status stays empty).
        self.run("new-session", "-d", "-x", "80", "-y", "24", "-s", "t",
                 *envargs, "%s; echo $? >%s" % (
                     " ".join(_quote(a) for a in argv),
                     _quote(self.status_file)))

    def screen(self, escapes=False):
        # -J joins lines the terminal wrapped: a line over 80 columns
        # shows as such instead of as two.
        return self.run("capture-pane", "-p", "-J", "-t", "t",
                        *(["-e"] if escapes else []))

    def exit_status(self):
        """top's exit status once it has exited and the pane is dead."""
        try:
            with open(self.status_file) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        if not text.endswith("\n"):
            return None
        dead = self.run("display-message", "-p", "-t", "t", "#{pane_dead}")
        return text.strip() if dead.strip() == "1" else None

    def quit(self):
        """Press q; return top's exit status once it has exited."""
        self.run("send-keys", "-t", "t", "q")
        return wait_until(self.exit_status, 10 * SLOW,
                          "top to exit after q")

    def kill(self):
        self.run("kill-server", check=False)


def _quote(a):
    return "'" + a.replace("'", "'\\''") + "'"


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    yield t
    t.kill()


def queued_on_screen(screen, name):
    """The queued count on provider name's line of a top screen."""
    m = re.search(r"(?m)^%s +\d+/\S+ +(\d+)/\S+ " % re.escape(name), screen)
    return int(m.group(1)) if m else None


def check_layout(screen, url):
    lines = screen.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    assert len(lines) <= 24, screen
    assert max(len(ln) for ln in lines) <= 80, screen
    assert lines[0].startswith("llmproxyd ") and url in lines[0], screen
    assert len(lines) == 24 and lines[23].startswith("q quit"), screen


def test_top_in_tmux_under_load(ctl_binary, start_daemon, tmux):
    """Requests queue behind max_concurrent = 1: the screen shows the
    provider and a queue that changes, fits 80x24, and q ends top."""
    d = start_daemon([itlib.simulated_provider(
        "busy", latency=0.5, tokens_per_second=1000.0, max_concurrent=1,
        queue_max=50, queue_timeout=60.0)])
    hold(d.port, "/busy" + CHAT, 16)
    wait_until(lambda: status_json(d)["providers"][0]["queued"] >= 10,
               10 * SLOW, "requests queued")
    tmux.start([ctl_binary, "-u", d.url, "top"], env=[("NO_COLOR", "")])
    first = wait_until(
        lambda: queued_on_screen(tmux.screen(), "busy"), 10 * SLOW,
        "top to show a queue on provider busy")
    screen = tmux.screen()
    check_layout(screen, d.url)
    assert re.search(r"(?m)^busy +1/1 +\d+/50 ", screen), screen
    assert re.search(r"(?m)^  req \[ +off +\] +tok \[ +off +\]", screen)
    later = wait_until(
        lambda: (lambda q: q is not None and q != first and q)(
            queued_on_screen(tmux.screen(), "busy")) or None,
        15 * SLOW, "the queue count on screen to change from %d" % first)
    assert later < first, (first, later)
    check_layout(tmux.screen(), d.url)
    # Colour is on (NO_COLOR empty counts as unset): SGR sequences.
    assert "\033[" in tmux.screen(escapes=True)
    assert tmux.exit_status() is None, "top ended before q"
    assert tmux.quit() == "0"
    # The alternate screen is left: the frame is gone.
    assert "PROVIDER" not in tmux.screen()


def test_top_in_tmux_no_color_and_unreachable(ctl_binary, start_daemon,
                                              tmux):
    """Against nothing, top says so and keeps trying; once a daemon comes
    up at that address it shows it.  NO_COLOR: no colour at all."""
    port = itlib.free_port()
    url = "http://127.0.0.1:%d" % port
    tmux.start([ctl_binary, "-u", url, "top"], env=[("NO_COLOR", "1")])
    wait_until(lambda: "failed attempts)" in tmux.screen(), 10 * SLOW,
               "top to report repeated failures")
    screen = tmux.screen()
    assert "llmproxyd is unreachable at " + url in screen, screen
    n1 = int(re.search(r"\((\d+) failed", screen).group(1))
    wait_until(lambda: int(re.search(r"\((\d+) failed", tmux.screen())
                           .group(1)) > n1, 10 * SLOW, "another attempt")
    check_layout(tmux.screen(), url)
    d = start_daemon([itlib.simulated_provider("late")],
                     listen=["127.0.0.1:%d" % port])
    wait_until(lambda: re.search(r"(?m)^late ", tmux.screen()), 10 * SLOW,
               "top to show the daemon once it is up")
    assert "unreachable" not in tmux.screen()
    colours = re.findall(r"\033\[([0-9;]*)m", tmux.screen(escapes=True))
    assert not [c for c in colours if c not in ("", "0", "39", "49")], \
        colours
    assert tmux.quit() == "0"
    d.healthy()


def test_man_page_renders(ctl_binary):
    page = os.path.join(os.path.dirname(os.path.dirname(ctl_binary)),
                        "man", "llmproxyctl.1")
    assert os.path.exists(page), page
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    r = subprocess.run(["groff", "-ww", "-man", "-Tutf8", page], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = re.sub(".\b", "", r.stdout)
    for word in ("SYNOPSIS", "EXIT STATUS", "NO_COLOR", "SEE ALSO"):
        assert word in text
    r = subprocess.run(["man", "--warnings=w", "-l", page], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
