"""Staff pass a second factor (TOTP app or a recovery code) before any admin page; wrong codes are throttled."""

import re
import time

import pytest
import time_machine
from django.conf import settings
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


def issued_link(user) -> str:
    """The path and query of an enrolment link a superuser issued for `user`."""
    url = two_factor.enrolment_url(two_factor.issue_enrolment(user))
    return url.removeprefix(settings.PORTAL_BASE_URL)


def test_enrolment_shows_a_qr_code_and_gives_recovery_codes_that_work_once(reviewer):
    link = issued_link(reviewer)
    browser = password_only_login(Client(), reviewer)
    page = browser.get(link).content.decode()
    assert "<svg" in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()

    done = browser.post(link, {"code": totp_code(secret, time.time())}).content.decode()
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", done)
    assert len(codes) == two_factor.RECOVERY_CODES
    assert browser.get("/admin/").status_code == 200

    later = password_only_login(Client(), reviewer)
    assert "enter the six-digit code" in later.get(SECOND_STEP).content.decode().lower()
    assert later.post(SECOND_STEP, {"code": codes[0]}).status_code == 302
    assert later.get("/admin/").status_code == 200
    again = password_only_login(Client(), reviewer)
    assert "not right" in again.post(SECOND_STEP, {"code": codes[0]}).content.decode()


def test_a_superuser_resets_a_lost_device_and_gets_a_new_link(reviewer, capsys):
    two_factor.enrol_with_secret(reviewer, SECRET)
    two_factor.new_recovery_codes(reviewer)
    call_command("reset_two_factor", reviewer.email)
    out = capsys.readouterr().out
    assert "Removed 2 device(s)" in out
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()
    assert not StaticDevice.objects.filter(user=reviewer).exists()
    link = re.search(r"http://\S+", out).group(0).removeprefix(settings.PORTAL_BASE_URL)
    assert "Scan this QR code" in password_only_login(Client(), reviewer).get(link).content.decode()


def test_a_password_alone_enrols_no_app(reviewer):
    """A stolen password of staff who never enrolled must not let the thief add their own app."""
    browser = password_only_login(Client(), reviewer)
    page = browser.get(SECOND_STEP).content.decode()
    assert 'data-testid="enrolment-not-issued"' in page and "two-factor-qr" not in page
    assert browser.post(SECOND_STEP, {"code": "123456"}).status_code == 200
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    assert browser.get("/admin/").status_code == 302


def test_an_enrolment_link_is_for_one_person_one_app_and_a_limited_time(reviewer, abuse_desk, settings):
    settings.PORTAL_TWO_FACTOR_ENROLMENT_HOURS = 24
    start = time.time()
    with time_machine.travel(start, tick=False):
        link = issued_link(reviewer)
    not_issued = 'data-testid="enrolment-not-issued"'
    with time_machine.travel(start + 3600, tick=False):
        assert not_issued in password_only_login(Client(), abuse_desk).get(link).content.decode()
        assert not_issued in password_only_login(Client(), reviewer).get(link + "x").content.decode()
        assert "Scan this QR code" in password_only_login(Client(), reviewer).get(link).content.decode()
    with time_machine.travel(start + 25 * 3600, tick=False):
        assert not_issued in password_only_login(Client(), reviewer).get(link).content.decode()
    replaced, newer = link, issued_link(reviewer)
    assert not_issued in password_only_login(Client(), reviewer).get(replaced).content.decode()
    browser = password_only_login(Client(), reviewer)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', browser.get(newer).content.decode()).group(1)
    assert browser.post(newer, {"code": totp_code(secret, time.time())}).status_code == 200
    assert browser.get("/admin/").status_code == 200
    assert "enter the six-digit code" in password_only_login(Client(), reviewer).get(newer).content.decode().lower()


def test_a_link_opened_before_signing_in_leads_through_the_password_to_the_qr_code(reviewer):
    reviewer.set_password("a long staff password 25")
    reviewer.save()
    link = issued_link(reviewer)
    browser = Client()
    to_login = browser.get(link)
    assert to_login.status_code == 302 and to_login["Location"].startswith("/admin/login/")
    signed_in = browser.post(to_login["Location"], {"username": reviewer.email, "password": "a long staff password 25"})
    assert signed_in.status_code == 302 and signed_in["Location"] == link
    assert "Scan this QR code" in browser.get(link).content.decode()


def test_superusers_enrol_through_the_command_too(admin_user, capsys):
    call_command("issue_two_factor_enrolment", admin_user.email)
    link = re.search(r"http://\S+", capsys.readouterr().out).group(0).removeprefix(settings.PORTAL_BASE_URL)
    assert "Scan this QR code" in password_only_login(Client(), admin_user).get(link).content.decode()
    two_factor.enrol_with_secret(admin_user, SECRET)
    with pytest.raises(CommandError, match="already"):
        call_command("issue_two_factor_enrolment", admin_user.email)


def test_a_superuser_issues_a_link_from_the_users_page(admin_user, reviewer, customer):
    superuser = Client()
    superuser.force_login(admin_user)
    changelist = reverse("admin:accounts_user_changelist")
    assert "issue_two_factor_enrolment" in superuser.get(changelist).content.decode()
    chosen = {"action": "issue_two_factor_enrolment", "_selected_action": [reviewer.pk, customer.pk]}
    page = superuser.post(changelist, chosen, follow=True).content.decode()
    assert f"No enrolment for {customer.email}: not staff." in page
    link = re.search(r"Enrolment link for [^:]+: (http://\S+?)(?:&lt;|<|\s)", page).group(1).replace("&amp;", "&")
    link = link.removeprefix(settings.PORTAL_BASE_URL)
    assert "Scan this QR code" in password_only_login(Client(), reviewer).get(link).content.decode()


def test_staff_who_are_not_superusers_cannot_issue_links(reviewer, django_user_model):
    from django.contrib.auth.models import Permission

    reviewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    browser = Client()
    browser.force_login(django_user_model.objects.get(pk=reviewer.pk))
    page = browser.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "issue_two_factor_enrolment" not in page


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
