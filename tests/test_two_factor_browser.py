"""A member of staff signs in to the admin in Chromium: password, then the app's code, computed by the test."""

import time

import pytest
import time_machine
from django.conf import settings
from playwright.sync_api import Page, expect

from accounts import two_factor
from tests.test_review_desk_browser import shoot
from tests.two_factor_support import totp_code

pytestmark = pytest.mark.browser

PASSWORD = "a long staff password 25"


def password_step(page: Page, email: str, url: str = "/admin/") -> None:
    page.goto(url)
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_staff_enrol_an_app_then_sign_in_with_its_codes(browser, page, live_server, django_user_model):
    nia = django_user_model.objects.create_user("nia@provider.test", PASSWORD, is_staff=True, is_superuser=True)
    csp = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    with time_machine.travel(time.time(), tick=True) as clock:
        password_step(page, "nia@provider.test")  # a password alone enrols no app
        expect(page.get_by_test_id("enrolment-not-issued")).to_be_visible()
        expect(page.locator(".two-factor-qr")).to_have_count(0)
        page.context.clear_cookies()

        # The link a superuser issued (manage.py issue_two_factor_enrolment), opened before signing in.
        link = two_factor.enrolment_url(two_factor.issue_enrolment(nia)).removeprefix(settings.PORTAL_BASE_URL)
        password_step(page, "nia@provider.test", link)
        expect(page.get_by_text("Scan this QR code")).to_be_visible()
        expect(page.locator(".two-factor-qr svg")).to_be_visible()
        shoot(page, "two-factor-enrol")
        secret = page.get_by_test_id("totp-secret").inner_text()
        page.get_by_role("textbox", name="Code").fill(totp_code(secret, time.time()))
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        page.get_by_role("link", name="I have saved them, continue").click()
        expect(page.get_by_role("heading", name="Reviewer's desk")).to_be_visible()
        assert csp == []  # the QR code is inline SVG: no script, no inline style

        other = browser.new_context(base_url=live_server.url).new_page()
        password_step(other, "nia@provider.test")
        other.goto("/admin/requests_app/unblockrequest/")  # no admin page before the second step
        expect(other.get_by_text("Enter the six-digit code")).to_be_visible()
        valid = {totp_code(secret, time.time(), steps) for steps in (-1, 0, 1, 2)}
        wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
        other.get_by_role("textbox", name="Code").fill(wrong)
        other.get_by_role("button", name="Verify").click()
        expect(other.get_by_test_id("code-error")).to_contain_text("not right")
        clock.shift(2)  # past the throttle's wait after one wrong code
        other.get_by_role("textbox", name="Code").fill(totp_code(secret, time.time(), steps_later=1))
        other.get_by_role("button", name="Verify").click()
        expect(other.locator("#changelist")).to_be_visible()
        other.context.close()
