"""Headless Chromium for browser tests: Debian's chromium driven by Playwright for Python.

Every page opened through a BrowserSession reports, to the test, any uncaught script error,
any Content-Security-Policy violation and any write to `window.__xss` (what the hostile-input
payloads do if they ever run). The `browser_session` fixture (tests/conftest.py) fails the
test on any of them. Screenshots go to screenshots/ (ignored by git).
"""

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
# Field notes: Debian's chromium under Playwright, headless, with no network of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "screenshots"

requires_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"
)

# Runs before any script of every document, CSP or not (Playwright injects it).
WATCH_SCRIPT = """
(() => {
  const report = (kind, detail) => {
    try { window.__educaReport(kind, String(detail)); } catch (error) {}
  };
  document.addEventListener("securitypolicyviolation", (event) => {
    report("csp", event.violatedDirective + " blocked " + (event.blockedURI || "inline")
      + " in " + event.sourceFile + ":" + event.lineNumber);
  });
  Object.defineProperty(window, "__xss", {
    configurable: false,
    get() { return undefined; },
    set(value) { report("xss", value); },
  });
})();
"""

# Video players are third-party frames: answered locally, the tests need no network.
VIDEO_PLAYERS = re.compile(
    r"^https://(www\.youtube-nocookie\.com|www\.youtube\.com|player\.vimeo\.com)/"
)
VIDEO_STUB = "<!DOCTYPE html><title>player</title><p>video player</p>"


class BrowserSession:
    """One Chromium; each `new_page()` is a fresh context (its own cookies), watched."""

    def __init__(self, browser, base_url: str, screenshot_dir: Path):
        self.browser = browser
        self.base_url = base_url
        self.screenshot_dir = screenshot_dir
        self.problems: list[str] = []
        self._shots = 0

    def new_page(self, **context_options):
        """A page in a new context; `context_options` go to Playwright (viewport, ...)."""
        context = self.browser.new_context(**{"base_url": self.base_url, **context_options})
        context.add_init_script(WATCH_SCRIPT)
        context.expose_binding("__educaReport", self._report)
        context.route(VIDEO_PLAYERS, self._video_stub)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self._console)
        return page

    def screenshot(self, page, step: str) -> Path:
        """Save a full-page screenshot as NN-<step>.png in this test's folder."""
        self._shots += 1
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", step)
        path = self.screenshot_dir / f"{self._shots:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    def _report(self, source, kind, detail):
        self.problems.append(f"{kind}: {detail} (on {source['frame'].url})")

    def _console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    @staticmethod
    def _video_stub(route):
        route.fulfill(status=200, content_type="text/html", body=VIDEO_STUB)


def log_in(page, user, base_url: str) -> None:
    """Give the page's context a session of `user`, without going through the log-in form."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def screenshot_dir_for(node_id: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", node_id.replace("tests/", "", 1))
    return SCREENSHOTS / name
