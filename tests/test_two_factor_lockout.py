"""Issue 23.8: whoever holds a staff password could keep that person's authenticator locked: django-otp
throttled the device, so wrong codes typed anywhere refused the right code everywhere (2^(n-1) s after n).
Now wrong codes hold off the client that typed them, and all clients together have a ceiling per person."""

import time

import time_machine
from django.test import Client

from accounts import two_factor
from tests.two_factor_support import password_only_login, totp_code

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SECOND_STEP = "/admin/two-factor/"


def wrong_code(at: float) -> str:
    return "000000" if totp_code(SECRET, at) != "000000" else "111111"


def browser_at(user, address: str) -> Client:
    return password_only_login(Client(REMOTE_ADDR=address), user)


def test_wrong_codes_from_one_client_do_not_lock_the_person_out_at_another(reviewer):
    start = time.time()
    with time_machine.travel(start, tick=False):
        two_factor.enrol_with_secret(reviewer, SECRET)
        thief = browser_at(reviewer, "198.51.100.66")
        for _ in range(10):
            thief.post(SECOND_STEP, {"code": wrong_code(start)})
        held_off = thief.post(SECOND_STEP, {"code": totp_code(SECRET, start)})
        assert "Too many wrong codes" in held_off.content.decode(), "the thief's client waits"

        owner = browser_at(reviewer, "203.0.113.5")
        accepted = owner.post(SECOND_STEP, {"code": totp_code(SECRET, start), "next": "/admin/"})

        assert accepted.status_code == 302 and accepted["Location"] == "/admin/"
        assert owner.get("/admin/").status_code == 200


def test_all_clients_together_have_a_ceiling_per_person_for_the_window_only(reviewer, settings):
    settings.PORTAL_TWO_FACTOR_CODE_RATE = "5/hour"
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        two_factor.enrol_with_secret(reviewer, SECRET)
        for n in range(5):
            browser_at(reviewer, f"198.51.100.{n}").post(SECOND_STEP, {"code": wrong_code(start)})
        owner = browser_at(reviewer, "203.0.113.5")

        refused = owner.post(SECOND_STEP, {"code": totp_code(SECRET, start)})
        assert "Too many wrong codes. Wait 3600 seconds" in refused.content.decode()

        clock.shift(3601)
        accepted = owner.post(SECOND_STEP, {"code": totp_code(SECRET, start + 3601), "next": "/admin/"})
        assert accepted.status_code == 302 and accepted["Location"] == "/admin/"
