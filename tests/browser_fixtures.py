"""Debian's Chromium driven by Playwright against the live server, for the browser tests."""

from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from playwright.sync_api import Browser, Page, sync_playwright
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


@pytest.fixture(scope="module")
def browser() -> Browser:
    require(None if Path(CHROMIUM).exists() else f"needs {CHROMIUM} (Debian: chromium; scripts/test installs it)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # (fixtures, assertions) are still synchronous and safe.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


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
