"""Debian's Chromium driven by Playwright against the live server, for the browser tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from tests.parts import require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


def require_chromium() -> None:
    require(None if Path(CHROMIUM).exists() else f"needs {CHROMIUM} (Debian: chromium; scripts/test installs it)")


class Chromium:
    """One Chromium for a run of consecutive tests that use it, not one per module: a launch and a close
    cost about 2 s, and tests/parallel_workers.py runs the browser files one after another on one worker.

    It stops before a test that does not use it: while Playwright's sync API is started, an event loop runs
    in this thread, so that test's `asyncio.run` would fail and Django's async-safety check would be off.
    """

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._environment = pytest.MonkeyPatch()

    def browser(self) -> Browser:
        if self._browser is None or not self._browser.is_connected():
            self.stop()
            # The tests' own ORM calls (fixtures, assertions) are synchronous and safe under that loop.
            self._environment.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        return self._browser

    def stop(self) -> None:
        if self._playwright is not None:
            if self._browser is not None and self._browser.is_connected():
                self._browser.close()
            self._playwright.stop()
        self._playwright = self._browser = None
        self._environment.undo()


CHROMIUM_OF_THIS_PROCESS = Chromium()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """The process's Chromium; each test's browser contexts (cookies, storage) are closed after it."""
    require_chromium()
    browser = CHROMIUM_OF_THIS_PROCESS.browser()
    yield browser
    for context in browser.contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    result = yield
    if "browser" not in getattr(nextitem, "fixturenames", ()):
        CHROMIUM_OF_THIS_PROCESS.stop()
    return result


def pytest_unconfigure(config: pytest.Config) -> None:
    CHROMIUM_OF_THIS_PROCESS.stop()


@pytest.fixture
def _live_server_settings(settings):
    # The live server speaks plain http: secure cookies would never come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def page(browser, live_server, transactional_db, _live_server_settings) -> Page:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
    # ORM calls made under Playwright's event loop have connections of their own: close them.
    connections.close_all()


def sign_in(page: Page, user: User, live_server: LiveServer) -> Page:
    """Put a session of `user` (made by a test client) into the page's browser."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


@pytest.fixture
def signed_in_page(page, live_server, customer) -> Page:
    """The `customer` fixture's browser, signed in."""
    return sign_in(page, customer, live_server)
