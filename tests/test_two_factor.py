"""Staff pass a second factor (TOTP app or a recovery code) before any admin page; wrong codes are throttled."""

import re
import time

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, REVIEWER_EMAIL
from requests_app.services import submit_request
from tests.conftest import answers
from tests.test_access_matrix import MATRIX
from tests.two_factor_support import password_only_login, totp_code

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ADMIN_ROWS = [row for row in MATRIX if row[2].startswith("/admin/")]
SECOND_STEP = "/admin/two-factor/"


@pytest.fixture
def staff(reviewer, abuse_desk, admin_user):
    return {"reviewer": reviewer, "abuse_desk": abuse_desk, "superuser": admin_user}


@pytest.mark.parametrize("role", ["reviewer", "abuse_desk", "superuser"])
def test_a_password_alone_reaches_no_admin_page(staff, account, customer, role):
    """Every admin URL of the access matrix, for every kind of staff: signed in, not verified."""
    request = submit_request(account, customer, answers())
    browser = password_only_login(Client(), staff[role])
    for name, method, url, _expected in ADMIN_ROWS:
        response = getattr(browser, method)(url.format(req=request.pk))
        assert response.status_code == 302, f"{name} as {role}"
        target = browser.get(response["Location"])
        assert target.status_code == 302 and target["Location"].startswith(SECOND_STEP), f"{name} as {role}"
    request.refresh_from_db()
    assert request.assignee is None


def enrolled(user, at: float) -> TOTPDevice:
    with time_machine.travel(at, tick=False):
        return two_factor.enrol_with_secret(user, SECRET)


def test_a_wrong_code_is_refused_and_throttled(reviewer):
    start = time.time()
    enrolled(reviewer, start)
    browser = password_only_login(Client(), reviewer)
    with time_machine.travel(start, tick=False) as clock:
        wrong = browser.post(SECOND_STEP, {"code": "000000" if totp_code(SECRET, start) != "000000" else "111111"})
        assert "That code is not right" in wrong.content.decode()
        assert browser.get("/admin/").status_code == 302

        # The right code, a second too soon after the wrong one, is refused as well.
        throttled = browser.post(SECOND_STEP, {"code": totp_code(SECRET, start)})
        assert "Too many wrong codes" in throttled.content.decode()
        assert browser.get("/admin/").status_code == 302

        clock.shift(2)
        accepted = browser.post(SECOND_STEP, {"code": totp_code(SECRET, start + 2), "next": "/admin/"})
        assert accepted.status_code == 302 and accepted["Location"] == "/admin/"
        assert browser.get("/admin/").status_code == 200


def test_a_code_is_used_once(reviewer):
    start = time.time()
    enrolled(reviewer, start)
    with time_machine.travel(start, tick=False):
        first, second = password_only_login(Client(), reviewer), password_only_login(Client(), reviewer)
        code = totp_code(SECRET, start)
        assert first.post(SECOND_STEP, {"code": code}).status_code == 302
        assert "not right" in second.post(SECOND_STEP, {"code": code}).content.decode()


def test_enrolment_shows_a_qr_code_and_gives_recovery_codes_that_work_once(reviewer):
    browser = password_only_login(Client(), reviewer)
    page = browser.get(SECOND_STEP).content.decode()
    assert "<svg" in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()

    done = browser.post(SECOND_STEP, {"code": totp_code(secret, time.time())}).content.decode()
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", done)
    assert len(codes) == two_factor.RECOVERY_CODES
    assert browser.get("/admin/").status_code == 200

    later = password_only_login(Client(), reviewer)
    assert "enter the six-digit code" in later.get(SECOND_STEP).content.decode().lower()
    assert later.post(SECOND_STEP, {"code": codes[0]}).status_code == 302
    assert later.get("/admin/").status_code == 200
    again = password_only_login(Client(), reviewer)
    assert "not right" in again.post(SECOND_STEP, {"code": codes[0]}).content.decode()


def test_a_superuser_resets_a_lost_device(reviewer, capsys):
    two_factor.enrol_with_secret(reviewer, SECRET)
    two_factor.new_recovery_codes(reviewer)
    call_command("reset_two_factor", reviewer.email)
    assert "Removed 2 device(s)" in capsys.readouterr().out
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    assert not StaticDevice.objects.filter(user=reviewer).exists()
    assert "Scan this QR code" in password_only_login(Client(), reviewer).get(SECOND_STEP).content.decode()


def test_reset_refuses_unknown_people_and_customers(customer, db):
    with pytest.raises(CommandError, match="No user"):
        call_command("reset_two_factor", "nobody@example.com")
    with pytest.raises(CommandError, match="not staff"):
        call_command("reset_two_factor", customer.email)


def test_next_never_leaves_the_site(reviewer):
    browser = password_only_login(Client(), reviewer)
    start = time.time()
    enrolled(reviewer, start)
    with time_machine.travel(start, tick=False):
        response = browser.post(SECOND_STEP, {"code": totp_code(SECRET, start), "next": "https://evil.example/"})
    assert response["Location"] == reverse("admin:index")


def test_demo_staff_sign_in_with_the_printed_key(db, settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    assert DEMO_TOTP_SECRET in capsys.readouterr().out
    browser = Client()
    response = browser.post("/admin/login/?next=/admin/", {"username": REVIEWER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 302
    assert browser.post(SECOND_STEP, {"code": totp_code(DEMO_TOTP_SECRET, time.time())}).status_code == 302
    assert browser.get("/admin/").status_code == 200


def test_new_recovery_codes_replace_the_old_ones(client, reviewer):
    old = two_factor.new_recovery_codes(reviewer)
    client.force_login(reviewer)
    assert "Make new recovery codes" in client.get("/admin/two-factor/recovery-codes/").content.decode()
    page = client.post("/admin/two-factor/recovery-codes/").content.decode()
    new = re.findall(r"<li><code>([a-z2-7]+)</code></li>", page)
    assert len(new) == two_factor.RECOVERY_CODES and not set(new) & set(old)
    assert "not right" in password_only_login(Client(), reviewer).post(SECOND_STEP, {"code": old[0]}).content.decode()
