"""The Chromium that the browser tests share (tests/browser_fixtures.py) runs only while they do: the next
test that does not drive it runs without Playwright's event loop and with Django's async-safety check on."""

import asyncio
import os
from types import SimpleNamespace

import pytest

from tests import browser_fixtures
from tests.browser_fixtures import Chromium, require_chromium

pytestmark = pytest.mark.browser


def after_test_before(chromium: Chromium, monkeypatch, *fixturenames: str) -> None:
    """The teardown hook of a test whose next test asks for `fixturenames`."""
    monkeypatch.setattr(browser_fixtures, "CHROMIUM_OF_THIS_PROCESS", chromium)
    hook = browser_fixtures.pytest_runtest_teardown(SimpleNamespace(), SimpleNamespace(fixturenames=fixturenames))
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(None)


def test_chromium_runs_on_for_the_next_browser_test_and_stops_before_any_other(monkeypatch):
    require_chromium()
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    chromium = Chromium()
    browser = chromium.browser()
    assert asyncio.get_running_loop().is_running()
    assert os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] == "true"

    after_test_before(chromium, monkeypatch, "page", "browser", "db")
    assert chromium.browser() is browser and browser.is_connected()

    after_test_before(chromium, monkeypatch, "db")
    assert not browser.is_connected()
    with pytest.raises(RuntimeError, match="no running event loop"):
        asyncio.get_running_loop()
    assert asyncio.run(asyncio.sleep(0, "a test's own event loop")) == "a test's own event loop"
    assert "DJANGO_ALLOW_ASYNC_UNSAFE" not in os.environ
