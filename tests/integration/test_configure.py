# SPDX-License-Identifier: ISC
"""configure's floors are what the code needs (SPEC 1): a library older
than the first version with a function the code calls, or a C library
without arc4random_uniform, stops configure with a message naming it,
rather than a build that fails later or a daemon that misbehaves.

Each case runs the source tree's configure in a scratch directory, with a
pkg-config file of the library's that claims an older version placed
first on PKG_CONFIG_PATH, or with autoconf's cache answer for a function
forced to "no"."""

import os
import re
import subprocess

import pytest

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _configure(tmp_path, env_extra):
    configure = os.path.join(SRC, "configure")
    if not os.access(configure, os.X_OK):
        pytest.fail("no %s: run autoreconf -fi (scripts/test does)"
                    % configure, pytrace=False)
    env = dict(os.environ)
    env.update(env_extra)
    build = tmp_path / "build"
    build.mkdir()
    return subprocess.run([configure], cwd=str(build), env=env,
                          capture_output=True, text=True, timeout=300)


def _older_pc(tmp_path, module, version):
    """A copy of module's .pc file that says it is version."""
    pcdir = subprocess.run(["pkg-config", "--variable=pcfiledir", module],
                           capture_output=True, text=True,
                           check=True).stdout.strip()
    with open(os.path.join(pcdir, module + ".pc")) as f:
        text = f.read()
    text = re.sub(r"(?m)^Version:.*$", "Version: " + version, text)
    fake = tmp_path / "pc"
    fake.mkdir()
    (fake / (module + ".pc")).write_text(text)
    return str(fake)


@pytest.mark.parametrize("module,version", [
    ("libcurl", "7.84.0"),              # no CURLOPT_PROTOCOLS_STR
    ("libevent", "2.1.11-stable"),      # EV_CLOSED misreported on epoll
    ("hiredis", "0.13.3"),              # older than the 0.14 rlink uses
])
def test_configure_refuses_a_library_below_its_floor(tmp_path, module,
                                                     version):
    pc = _older_pc(tmp_path, module, version)
    r = _configure(tmp_path, {"PKG_CONFIG_PATH": pc})
    assert r.returncode != 0, \
        "configure accepted %s %s:\n%s" % (module, version, r.stdout[-2000:])
    assert module in r.stderr, r.stderr[-2000:]


@pytest.mark.parametrize("func", ["arc4random_uniform", "explicit_bzero"])
def test_configure_refuses_a_libc_without(tmp_path, func):
    r = _configure(tmp_path, {"ac_cv_func_" + func: "no"})
    assert r.returncode != 0, "configure accepted a C library without %s" \
        % func
    assert func in r.stderr and "glibc" in r.stderr, r.stderr[-2000:]
