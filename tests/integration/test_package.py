# SPDX-License-Identifier: ISC
"""The Debian package (SPEC 15): built from a clean clone of this tree's
HEAD with `dpkg-buildpackage -us -uc -b`, lintian clean, its files and
conffiles as promised, and, unpacked into a scratch root (never installed
on this machine), a daemon whose shipped configuration passes -t and that
serves it, read back with the packaged llmproxyctl.

What is built is the committed HEAD: uncommitted changes are not in the
clone.  Without git metadata (a release tarball), the tree is copied
instead, build directories left out.  One build serves the whole module;
everything is written under pytest's temporary directory, nothing in the
source tree.
"""

import os
import re
import shutil
import subprocess

import pytest

import itlib
from itlib import SLOW, request

# A build from scratch takes a minute here, several on a busy machine.
pytestmark = pytest.mark.timeout(1800)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONF = "/etc/llmproxyd/llmproxyd.conf"


def _run(args, cwd=None, timeout=60, env=None):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def _source(dest):
    """Put a clean copy of the tree at dest: a clone of HEAD, or a copy."""
    rc, head, _ = _run(["git", "-C", TOP, "rev-parse", "HEAD"])
    if rc == 0:
        rc, out, err = _run(["git", "clone", "-q", "--no-hardlinks", TOP,
                             dest], timeout=300)
        assert rc == 0, err
        rc, out, err = _run(["git", "-C", dest, "checkout", "-q",
                             head.strip()])
        assert rc == 0, err
        return
    shutil.copytree(TOP, dest, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "build-*", "node_modules", "__pycache__",
        "autom4te.cache"))


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    for tool in ("dpkg-buildpackage", "dh", "lintian", "dpkg-deb", "git"):
        if shutil.which(tool) is None:
            pytest.fail("%s is not installed (scripts/lib.sh lists the "
                        "packages)" % tool, pytrace=False)
    work = str(tmp_path_factory.mktemp("deb"))
    parent = os.path.dirname(TOP)
    before = set(os.listdir(parent))
    src = os.path.join(work, "llmproxyd")
    _source(src)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAKE", "MFLAGS", "ASAN_", "UBSAN_",
                                "DEB_"))}
    env["DEB_BUILD_OPTIONS"] = "parallel=%d" % (os.cpu_count() or 1)
    rc, out, err = _run(["dpkg-buildpackage", "-us", "-uc", "-b"],
                        cwd=src, timeout=1500, env=env)
    log = out + err
    assert rc == 0, "dpkg-buildpackage failed:\n" + log[-6000:]
    debs = [f for f in os.listdir(work)
            if re.match(r"llmproxyd_[^_]+_[^_]+\.deb$", f)]
    changes = [f for f in os.listdir(work) if f.endswith(".changes")]
    assert len(debs) == 1 and len(changes) == 1, os.listdir(work)
    # dpkg-buildpackage writes beside the tree it builds: the clone's.
    new = [f for f in set(os.listdir(parent)) - before
           if re.match(r"llmproxyd.*\.(deb|changes|buildinfo)$", f)]
    return {"dir": work, "src": src, "log": log, "new_beside_top": new,
            "deb": os.path.join(work, debs[0]),
            "changes": os.path.join(work, changes[0])}


def test_built_from_a_clean_clone(package):
    # The unit tests ran in the package build (dh_auto_test: make check).
    assert re.search(r"(?m)^# PASS: +[1-9]\d*$", package["log"]), \
        package["log"][-3000:]
    assert re.search(r"(?m)^# FAIL: +0$", package["log"])
    # The build wrote nothing into the tree it was cloned from.
    rc, out, _ = _run(["git", "-C", TOP, "status", "--porcelain",
                       "--ignored", "--", "debian"])
    assert rc != 0 or out == "", out
    assert package["new_beside_top"] == []


def test_lintian_clean(package):
    rc, out, err = _run(["lintian", "-I", "--fail-on", "error,warning",
                         package["deb"], package["changes"]], timeout=600)
    tags = [ln for ln in out.splitlines() if re.match(r"[EW]: ", ln)]
    assert rc == 0 and not tags, out + err
    itlib.MEASURED["lintian info tags on the package (no E: or W:)"] = \
        len([ln for ln in out.splitlines() if re.match(r"[A-Z]: ", ln)])


def test_files_and_conffiles(package):
    rc, out, err = _run(["dpkg-deb", "-c", package["deb"]])
    assert rc == 0, err
    files = {ln.split()[-1].lstrip(".") for ln in out.splitlines()}
    unit_dir = "/lib/systemd/system" if \
        "/lib/systemd/system/llmproxyd.service" in files else \
        "/usr/lib/systemd/system"
    for f in ("/usr/sbin/llmproxyd", "/usr/bin/llmproxyctl",
              unit_dir + "/llmproxyd.service", unit_dir + "/llmproxyd.socket",
              CONF, "/usr/share/man/man8/llmproxyd.8.gz",
              "/usr/share/man/man5/llmproxyd.conf.5.gz",
              "/usr/share/man/man1/llmproxyctl.1.gz",
              "/usr/share/doc/llmproxyd/copyright"):
        assert f in files, (f, sorted(files))
    rc, out, err = _run(["dpkg-deb", "-f", package["deb"], "Package",
                         "Architecture", "Depends"])
    assert rc == 0 and "Package: llmproxyd\n" in out, out + err
    for lib in ("libcurl", "libevent", "libjansson", "libconfig"):
        assert lib in out, out
    rc, out, err = _run(["dpkg-deb", "-I", package["deb"], "conffiles"])
    assert rc == 0 and CONF in out.split(), out + err


def test_service_enabled_and_started_on_install(package):
    rc, out, err = _run(["dpkg-deb", "-I", package["deb"], "postinst"])
    assert rc == 0, err
    assert "deb-systemd-helper enable 'llmproxyd.service'" in out, out
    assert re.search(r"deb-systemd-invoke \S+ 'llmproxyd.service'", out)
    # The socket unit is opt-in: never enabled unless it already was.
    assert "deb-systemd-invoke $_dh_action 'llmproxyd.socket'" not in out


@pytest.fixture(scope="module")
def root(package, tmp_path_factory):
    """The package unpacked into a scratch directory."""
    r = str(tmp_path_factory.mktemp("root"))
    rc, out, err = _run(["dpkg-deb", "-x", package["deb"], r])
    assert rc == 0, err
    return r


def test_installed_config_checks(root):
    conf = root + CONF
    rc, out, err = _run([root + "/usr/sbin/llmproxyd", "-t", "-c", conf])
    assert rc == 0 and "configuration is valid" in out, out + err
    rc, out, err = _run([root + "/usr/bin/llmproxyctl", "check", conf])
    assert rc == 0 and "configuration is valid" in out, out + err
    with open(conf) as f:
        text = f.read()
    # Only the simulated provider, only on loopback.
    assert re.findall(r'(?m)^\s*listen = \[ "127\.0\.0\.1:\d+" \];', text)
    assert re.findall(r'(?m)^\s*type = "simulated";', text)
    assert not re.findall(r"(?m)^\s*base_url", text), text
    with open(root + "/lib/systemd/system/llmproxyd.service") as f:
        unit = f.read()
    assert "ExecStart=/usr/sbin/llmproxyd -c %s\n" % CONF in unit, unit


def test_installed_daemon_serves_shipped_config(root, tmp_path):
    """The packaged daemon on the packaged config (another port), read
    by the packaged llmproxyctl."""
    with open(root + CONF) as f:
        text = f.read()
    d = itlib.Daemon(root + "/usr/sbin/llmproxyd", str(tmp_path / "c.conf"),
                     text, args=("-l", "127.0.0.1:0"))
    try:
        r = request(d.port, "GET", "/status")
        assert [p["name"] for p in r.json()["providers"]] == ["demo"]
        r = request(d.port, "POST", "/demo/v1/chat/completions",
                    body=itlib.jbody({"model": "demo", "max_tokens": 2,
                                      "messages": [{"role": "user",
                                                    "content": "hi"}]}))
        assert r.status == 200, r.body
        rc, out, err = _run([root + "/usr/bin/llmproxyctl", "-u", d.url,
                             "status"], timeout=30 * SLOW)
        assert rc == 0 and re.search(r"(?m)^demo +0/4 ", out), out + err
        assert re.search(r"(?m)^demo +1 ", out), out
    finally:
        assert d.stop() == 0, d.stderr()
