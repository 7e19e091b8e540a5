"""Finding 6 of the security probe: sign-up said which addresses have accounts (staff included) to anyone,
40 probes in 2 s. Now a known and an unknown address get the same answer, byte for byte, and sign-up is
throttled per client address (the proxy's header read as for the log-in lock-out)."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD

SIGNUP = reverse("signup")
PER_REQUEST = {"date", "x-request-id"}  # the clock, and a fresh random id for the logs


def _header(name: str, value: str) -> tuple[str, str]:
    """django-csp writes the policy's directives in no fixed order: compare them as a set."""
    if name.lower() == "content-security-policy":
        return name, "; ".join(sorted(value.split("; ")))
    return name, value


def _attempt(email: str, **extra) -> tuple:
    """The whole answer as a prober sees it, but for what differs on every request whatever the address."""
    response = Client().post(SIGNUP, {"account_name": "Probe", "email": email, "password": PASSWORD}, **extra)
    headers = sorted(_header(k, v) for k, v in response.headers.items() if k.lower() not in PER_REQUEST)
    return response.status_code, headers, sorted(response.cookies.items()), response.content


@pytest.mark.parametrize("known", ["alice@acme.test", "ALICE@acme.test", "staff"])
def test_a_known_and_an_unknown_address_get_the_same_answer_byte_for_byte(
    customer, django_user_model, django_capture_on_commit_callbacks, known
):
    if known == "staff":
        known = django_user_model.objects.create_user("rita@provider.test", "pw-not-used", is_staff=True).email

    with django_capture_on_commit_callbacks(execute=True):
        assert _attempt(known) == _attempt("nobody-here@acme.test")
    assert User.objects.filter(email="nobody-here@acme.test").exists()
    assert {tuple(m.to) for m in mail.outbox} == {(known.lower(),), ("nobody-here@acme.test",)}


def test_sign_up_is_throttled_per_client_address(db, settings):
    settings.PORTAL_SIGNUP_RATE = "3/hour"
    answers = [_attempt(f"p{i}@probe.test", REMOTE_ADDR="203.0.113.9")[0] for i in range(5)]

    assert answers == [302, 302, 302, 429, 429]
    assert User.objects.filter(email__endswith="@probe.test").count() == 3
    assert _attempt("other@probe.test", REMOTE_ADDR="203.0.113.10")[0] == 302, "another client is not held up"


def test_the_throttled_page_says_when_to_try_again(db, settings):
    settings.PORTAL_SIGNUP_RATE = "1/hour"
    _attempt("first@probe.test")
    status, _headers, _cookies, content = _attempt("second@probe.test")

    assert status == 429
    assert "Try again in 60 minutes" in content.decode()


def test_behind_the_proxy_each_client_has_its_own_count(db, settings):
    settings.PORTAL_SIGNUP_RATE = "1/hour"
    settings.BEHIND_PROXY = True
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}

    assert _attempt("a@probe.test", HTTP_X_FORWARDED_FOR="198.51.100.1", **via_proxy)[0] == 302
    assert _attempt("b@probe.test", HTTP_X_FORWARDED_FOR="198.51.100.2", **via_proxy)[0] == 302
    forged = "192.0.2.77, 198.51.100.1"
    assert _attempt("c@probe.test", HTTP_X_FORWARDED_FOR=forged, **via_proxy)[0] == 429
