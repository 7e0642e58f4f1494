# SPDX-License-Identifier: ISC
"""The status page at / and /ui (SPEC 15): its HTTP answers, and the page
itself in a real browser (Debian's headless Chromium, driven by
python3-selenium): live queue counts, the token prompt, no request to
another host, no horizontal scroll at phone width.

With LLMPROXYD_UI_SCREENSHOT=FILE.png, test_page_follows_the_queue saves
what the browser showed while requests were queued (the README's picture).
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import urllib.parse

import pytest

import itlib
from itlib import request, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Headless, and kept off the network: without the background-networking
# flags Chromium dials out (updates, sync) and this closed network
# refuses it.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-quic", "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions")
UI_WAIT_S = 15 * itlib.SLOW


def ui_get(port, target, headers=(), method="GET"):
    return request(port, method, target, headers)


# --- plain HTTP -------------------------------------------------------------

def test_page_answers(daemon):
    for target in ("/", "/ui", "/?x=1", "/ui?from=bookmark"):
        r = ui_get(daemon.port, target)
        assert r.status == 200, (target, r.status, r.body)
        assert r.header("Content-Type") == "text/html; charset=utf-8"
        assert r.header("Cache-Control") == "no-store"
        assert r.header("X-Content-Type-Options") == "nosniff"
        assert r.body.startswith(b"<!doctype html>"), r.body[:40]
        csp = r.header("Content-Security-Policy")
        assert csp is not None
        assert "default-src 'none'" in csp
        assert "connect-src 'self'" in csp
        assert "unsafe" not in csp
    head = ui_get(daemon.port, "/ui", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.header("Content-Security-Policy") == csp


def _inline_hashes(html, tag):
    """The CSP hash sources of each inline <tag> of an HTML page."""
    html = re.sub(rb"<!--.*?-->", b"", html, flags=re.S)
    return ["'sha256-%s'" % base64.b64encode(
        hashlib.sha256(m.group(1)).digest()).decode()
        for m in re.finditer(rb"<%s>(.*?)</%s>" % (tag, tag), html, re.S)]


def test_policy_allows_exactly_the_inline_blocks(daemon):
    r = ui_get(daemon.port, "/")
    policy = {}
    for part in r.header("Content-Security-Policy").split(";"):
        name, _, value = part.strip().partition(" ")
        policy[name] = value.split()
    scripts = _inline_hashes(r.body, b"script")
    styles = _inline_hashes(r.body, b"style")
    assert scripts and styles
    assert policy["script-src"] == scripts, (policy, scripts)
    assert policy["style-src"] == styles, (policy, styles)
    # Nothing in the page names another place to load from.
    text = r.body.decode("utf-8")
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""",
                         text, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text, re.I)


def test_other_methods_are_405(daemon, mock):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for target in ("/", "/ui"):
            body = b"{}" if method in ("POST", "PUT", "PATCH") else None
            r = request(daemon.port, method, target,
                        [("Content-Type", "application/json")], body)
            assert r.status == 405, (method, target, r.status)
            assert r.header("Allow") == "GET, HEAD"
            assert r.header("Content-Type") == "application/json"
            assert r.json()["error"]["code"] == "llmproxy_method_not_allowed"
    for target in ("/ui/", "/ui/x"):
        r = ui_get(daemon.port, target)
        assert r.status == 404 and r.json()["error"]["code"] == \
            "llmproxy_not_found", (target, r.status, r.body)
    assert mock.requests() == []


def test_host_and_origin_rules(daemon):
    r = ui_get(daemon.port, "/", [("Host", "evil.example:%d" % daemon.port)])
    assert r.status == 403, r.status
    r = ui_get(daemon.port, "/ui", [("Origin", "http://evil.example")])
    assert r.status == 403, r.status
    r = ui_get(daemon.port, "/", [("Host", "localhost:%d" % daemon.port)])
    assert r.status == 200


def test_page_needs_no_token_but_status_does(start_daemon):
    d = start_daemon([itlib.simulated_provider("demo")],
                     client_tokens=[itlib.CLIENT_TOKEN])
    for target in ("/", "/ui"):
        r = ui_get(d.port, target)
        assert r.status == 200, (target, r.status)
        assert itlib.CLIENT_TOKEN.encode() not in r.body
    assert ui_get(d.port, "/status").status == 401
    r = ui_get(d.port, "/status",
               [("Authorization", "Bearer " + itlib.CLIENT_TOKEN)])
    assert r.status == 200


def test_ui_is_a_reserved_provider_name(daemon_binary, tmp_path):
    for name in ("ui", "UI"):
        path = tmp_path / ("ui-%s.conf" % name)
        path.write_text(itlib.render_config(
            [itlib.simulated_provider(name)]))
        p = subprocess.run([daemon_binary, "-t", "-c", str(path)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, p
        assert "providers[0].name is reserved" in p.stderr, p.stderr


# --- in a real browser ------------------------------------------------------

class Browser:
    """A headless Chromium with its own profile and a performance log."""

    def __init__(self, width, height):
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            pytest.fail("python3-selenium is needed (scripts/test installs "
                        "it)", pytrace=False)
        for path in (CHROMIUM, CHROMEDRIVER):
            if not os.access(path, os.X_OK):
                pytest.fail("%s is needed (chromium, chromium-driver)"
                            % path, pytrace=False)
        self.profile = tempfile.TemporaryDirectory(prefix="llmproxyd-ui-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument("--user-data-dir=" + self.profile.name)
        opts.add_argument("--window-size=%d,%d" % (width, height))
        opts.set_capability("goog:loggingPrefs",
                            {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER),
                                       options=opts)
        self.driver.set_page_load_timeout(UI_WAIT_S)
        # Start from a blank page, and forget what Chromium's own pages
        # fetched before ours.
        self.driver.get("about:blank")
        self.driver.get_log("performance")

    def phone(self, width, height):
        """Emulate a phone's screen: the viewport meta tag applies."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 3,
            "mobile": True})

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def text(self, selector):
        """The text of the first element matching selector, or None."""
        return self.js("var e = document.querySelector(arguments[0]);"
                       "return e ? e.textContent : null;", selector)

    def field(self, provider, name):
        return self.text('[data-provider="%s"] [data-field="%s"]'
                         % (provider, name))

    def wait_text(self, selector, pred, what, timeout=UI_WAIT_S):
        return wait_until(lambda: (lambda t: t if t is not None and
                                   pred(t) else None)(self.text(selector)),
                          timeout, what, interval=0.05)

    def requested_urls(self):
        """Every URL the page asked for since the last call."""
        urls = []
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg["method"] == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
        return urls

    def console_errors(self):
        return [e for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE"]

    def close(self):
        try:
            self.driver.quit()
        finally:
            self.profile.cleanup()


@pytest.fixture
def browser():
    made = []

    def make(width=1100, height=800):
        b = Browser(width, height)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def _foreign(urls, port):
    """The URLs that would leave the daemon's own origin."""
    own = ("127.0.0.1", port)
    out = []
    for u in urls:
        p = urllib.parse.urlsplit(u)
        if p.scheme in ("data", "about", "chrome", "blob"):
            continue
        if (p.hostname, p.port) != own or p.scheme != "http":
            out.append(u)
    return out


def _queued_requests(port, n, delay_ms):
    """Send n requests that the mock holds delay_ms each; return the
    threads and a list their answers' statuses are appended to."""
    statuses = []

    def one(i):
        r = request(port, "POST", "/slow/v1/chat/completions",
                    [("Content-Type", "application/json"),
                     ("x-mock-delay-ms", str(delay_ms)),
                     ("x-mock-id", "ui-%d" % i)],
                    itlib.jbody({"model": "m", "messages": []}),
                    timeout=60 * itlib.SLOW)
        statuses.append(r.status)

    threads = [threading.Thread(target=one, args=(i,), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    return threads, statuses


@pytest.mark.timeout(120)
def test_page_follows_the_queue(start_daemon, mock, browser):
    d = start_daemon([
        itlib.proxy_provider("slow", mock.url, max_concurrent=1,
                             queue_max=10, requests_per_minute=600,
                             burst=5),
        itlib.simulated_provider("demo", tokens_per_minute=100000)])
    b = browser()
    b.driver.get(d.url + "/")
    b.wait_text("#state", lambda t: t == "live", "the page to go live")
    for name in ("slow", "demo"):
        b.wait_text('[data-provider="%s"] h2' % name, lambda t: True,
                    "a card for " + name)
    assert b.field("slow", "queued") == "0 / 10"
    assert b.field("slow", "in_flight") == "0 / 1"
    assert b.field("demo", "bucket_requests") == "off"

    threads, statuses = _queued_requests(d.port, 4, 2500)
    b.wait_text('[data-provider="slow"] [data-field="queued"]',
                lambda t: t == "3 / 10", "3 queued on the page")
    assert b.field("slow", "in_flight") == "1 / 1"
    if os.environ.get("LLMPROXYD_UI_SCREENSHOT"):
        b.driver.set_window_size(780, 420)
        b.driver.save_screenshot(os.environ["LLMPROXYD_UI_SCREENSHOT"])
    # Each answer lets the next one in: the count goes down as it happens.
    b.wait_text('[data-provider="slow"] [data-field="queued"]',
                lambda t: t == "2 / 10", "2 queued on the page")
    b.wait_text('[data-provider="slow"] [data-field="rps"]',
                lambda t: float(t) > 0, "a request rate above 0")
    b.wait_text('[data-provider="slow"] [data-field="queued"]',
                lambda t: t == "0 / 10", "the queue empty on the page",
                timeout=30 * itlib.SLOW)
    for t in threads:
        t.join(30 * itlib.SLOW)
    assert statuses == [200] * 4, statuses
    b.wait_text('[data-provider="slow"] [data-field="in_flight"]',
                lambda t: t == "0 / 1", "nothing in flight on the page")

    urls = b.requested_urls()
    assert d.url + "/" in urls and d.url + "/status" in urls, urls
    assert _foreign(urls, d.port) == [], urls
    assert b.console_errors() == []


def test_page_asks_for_the_token(start_daemon, browser):
    d = start_daemon([itlib.simulated_provider("demo")],
                     client_tokens=[itlib.CLIENT_TOKEN])
    b = browser()
    b.driver.get(d.url + "/ui")
    b.wait_text("#state", lambda t: t == "token needed", "a token prompt")
    assert b.js("return document.getElementById('token')"
                ".classList.contains('shown')")
    assert b.text('[data-provider="demo"]') is None

    def submit(token):
        box = b.driver.find_element("id", "token-input")
        box.clear()
        box.send_keys(token)
        b.driver.find_element("css selector",
                              "#token-form button").click()

    submit("jeton-\u00e9t\u00e9")
    b.wait_text("#token-why", lambda t: "visible ASCII" in t,
                "the prompt to say what a token looks like")
    assert b.js("return sessionStorage.length") == 0
    submit("not-the-token")
    b.wait_text("#token-why", lambda t: "refused" in t,
                "the prompt to say the token was refused")
    submit(itlib.CLIENT_TOKEN)
    b.wait_text("#state", lambda t: t == "live", "the page to go live")
    b.wait_text('[data-provider="demo"] [data-field="queued"]',
                lambda t: t.startswith("0 /"), "the demo card")
    # Kept for this tab only: not in localStorage, not in a cookie.
    store = b.js("return [sessionStorage.getItem('llmproxyd.token'),"
                 "localStorage.length, document.cookie]")
    assert store == [itlib.CLIENT_TOKEN, 0, ""], store
    b.driver.switch_to.new_window("tab")
    b.driver.get(d.url + "/ui")
    b.wait_text("#state", lambda t: t == "token needed",
                "a token prompt in a new tab")
    assert _foreign(b.requested_urls(), d.port) == []


def test_page_at_phone_width(start_daemon, mock, browser):
    long_name = "a-provider-with-a-rather-long-name-" + "x" * 29
    d = start_daemon([
        itlib.proxy_provider(long_name, mock.url, max_concurrent=100000,
                             queue_max=100000, requests_per_minute=1000000,
                             burst=100000, tokens_per_minute=150000000),
        itlib.simulated_provider("demo")])
    b = browser(390, 844)
    b.phone(390, 844)
    b.driver.get(d.url + "/")
    b.wait_text("#state", lambda t: t == "live", "the page to go live")
    b.wait_text('[data-provider="%s"] [data-field="bucket_tokens"]'
                % long_name, lambda t: "150.0M" in t, "the token bucket")
    widths = b.js("return [document.documentElement.scrollWidth,"
                  "document.documentElement.clientWidth, innerWidth,"
                  "Math.max.apply(null, Array.from("
                  "document.querySelectorAll('body *'), function (e) {"
                  "return e.getBoundingClientRect().right; }))]")
    scroll, client, inner, right = widths
    assert inner == 390, widths
    assert scroll <= client, "horizontal scroll at 390 px: %r" % (widths,)
    assert right <= client, "an element sticks out: %r" % (widths,)
    assert _foreign(b.requested_urls(), d.port) == []
    assert b.console_errors() == []
