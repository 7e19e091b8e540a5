"""Finding 6 of issue 23: e-mail enumeration by timing. Sign-up hashed a password only for an unknown
address (54 ms against 489 ms); password reset sent its mail inside the request (251 ms against 48 ms
with a 200 ms relay) and took 25 of 25 posts from one client.

Asserted by the work done, not by the clock: the same number of password hashes, no user lookup and no
mail inside the reset request (one task queued after the commit, for any address), and the sixth reset
from one client or for one address within the hour refused, the refusal the same for either address."""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import PASSWORD

KNOWN, UNKNOWN = "alice@acme.test", "nobody-here@acme.test"


class CountingHasher(MD5PasswordHasher):
    """The tests' hasher, counting the passwords it hashes."""

    algorithm = "counting_md5"
    hashed = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.hashed += 1
        return super().encode(password, salt)


def hashes_in_sign_up(email: str) -> int:
    CountingHasher.hashed = 0
    response = Client().post(reverse("signup"), {"account_name": "Probe", "email": email, "password": PASSWORD})
    assert response.status_code == 302
    return CountingHasher.hashed


def test_sign_up_hashes_the_password_once_whether_the_address_is_known_or_not(customer, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]

    assert hashes_in_sign_up(KNOWN) == hashes_in_sign_up(UNKNOWN) == 1


def reset(email: str, remote: str = "203.0.113.9"):
    return Client().post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=remote)


@pytest.mark.parametrize("email", [KNOWN, UNKNOWN])
def test_the_reset_request_looks_nothing_up_and_sends_nothing_it_queues_one_task(
    customer, django_capture_on_commit_callbacks, email
):
    with django_capture_on_commit_callbacks() as queued, CaptureQueriesContext(connection) as queries:
        response = reset(email)

    assert response.status_code == 302
    assert mail.outbox == [], "no mail inside the request"
    assert not [q["sql"] for q in queries if "accounts_user" in q["sql"]], "no lookup of the address"
    assert len(queued) == 1
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()  # the worker's part: the lookup, and the mail task for a known address
    assert [m.to for m in mail.outbox] == ([[KNOWN]] if email == KNOWN else [])


def test_the_sixth_reset_from_one_client_is_refused(db, settings):
    settings.PORTAL_PASSWORD_RESET_RATE = "5/hour"
    answers = [reset(f"p{i}@probe.test").status_code for i in range(6)]

    assert answers == [302] * 5 + [429]
    refused = reset("another@probe.test").content.decode()
    assert "Too many password resets were asked for this address or from your network" in refused
    assert "Try again in 60 minutes" in refused
    assert reset("p0@probe.test", remote="203.0.113.10").status_code == 302, "another client is not held up"


def test_the_sixth_reset_for_one_address_is_refused_whoever_asks(customer, settings):
    settings.PORTAL_PASSWORD_RESET_ADDRESS_RATE = "5/hour"
    for email in (KNOWN, UNKNOWN):
        answers = [reset(email.upper() if i % 2 else email, remote=f"198.51.100.{i}").status_code for i in range(6)]
        assert answers == [302] * 5 + [429], email

    assert reset(KNOWN, remote="198.51.100.99").content == reset(UNKNOWN, remote="198.51.100.98").content
