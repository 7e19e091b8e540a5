"""Resetting a forgotten password by email, without telling strangers which addresses have accounts."""

import re

from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import TestCase
from django.urls import reverse

from tests.conftest import PASSWORD

RESET = reverse("password_reset")
SENT = reverse("password_reset_done")
NEW_PASSWORD = "a quite different passphrase"


def reset_link(message) -> str:
    """The path of the reset link in the email."""
    match = re.search(r"https?://testserver(/accounts/password-reset/[^/\s]+/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def request_reset(client, email: str):
    """Ask for a reset; the worker's part (the lookup and the mail, queued after the commit) runs too."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(RESET, {"email": email}, follow=True)


def test_reset_page_asks_for_email(client, db):
    response = client.get(RESET)
    assert response.status_code == 200
    assert 'data-field="email"' in response.content.decode()


def test_reset_sends_one_email_with_link_to_the_user(client, customer):
    response = request_reset(client, "alice@acme.test")

    assert response.redirect_chain == [(SENT, 302)]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@acme.test"]
    assert reset_link(message).startswith("/accounts/password-reset/")


def test_reset_email_typed_in_other_case_reaches_the_user(client, customer):
    request_reset(client, "ALICE@acme.test")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@acme.test"]


def test_following_link_and_setting_new_password_lets_user_sign_in_with_it(client, customer):
    request_reset(client, "alice@acme.test")

    form_page = client.get(reset_link(mail.outbox[0]), follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert done.redirect_chain == [(reverse("password_reset_complete"), 302)]

    client.logout()
    assert client.post(reverse("login"), {"username": "alice@acme.test", "password": NEW_PASSWORD}).status_code == 302
    assert int(client.session[SESSION_KEY]) == customer.pk
    customer.refresh_from_db()
    assert not customer.check_password(PASSWORD)


def test_reset_link_works_only_once(client, customer):
    request_reset(client, "alice@acme.test")
    link = reset_link(mail.outbox[0])
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = client.get(link, follow=True)

    assert not again.context["validlink"]
    assert "This link has expired or was already used." in again.content.decode()


def test_weak_new_password_is_refused(client, customer):
    request_reset(client, "alice@acme.test")
    form_page = client.get(reset_link(mail.outbox[0]), follow=True)

    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"})

    assert response.status_code == 200
    assert "This password is too short." in response.content.decode()
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_unknown_email_sends_nothing_but_shows_the_same_page(client, customer):
    known = request_reset(client, "alice@acme.test")
    mail.outbox.clear()

    unknown = request_reset(client, "nobody@nowhere.test")

    assert mail.outbox == []
    assert unknown.redirect_chain == known.redirect_chain == [(SENT, 302)]
    assert "Check your email" in unknown.content.decode()
    assert unknown.content == known.content
