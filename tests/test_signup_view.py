"""The sign-up page: a new visitor gets a login, an account it owns, and the port-25 page."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Account, Membership, User
from tests.conftest import PASSWORD

SIGNUP = reverse("signup")


def signup_data(**overrides) -> dict:
    data = {"account_name": "Initech", "email": "peter@initech.test", "password": PASSWORD}
    data.update(overrides)
    return data


def field_errors(response, field: str) -> str:
    """The HTML of the error paragraphs inside the wrapper of `field` (see templates/_field.html)."""
    match = re.search(rf'data-field="{field}">(.*?)</div>', response.content.decode(), re.DOTALL)
    assert match, f"no wrapper for {field}"
    return "".join(re.findall(r'<p class="error"[^>]*>(.*?)</p>', match.group(1), re.DOTALL))


def test_signup_page_shows_the_form(client, db):
    response = client.get(SIGNUP)
    assert response.status_code == 200
    for field in ("account_name", "email", "password"):
        assert f'data-field="{field}"' in response.content.decode()


def test_signup_creates_user_and_account_it_owns(client, db):
    response = client.post(SIGNUP, signup_data())

    user = User.objects.get(email="peter@initech.test")
    assert user.check_password(PASSWORD)
    assert user.membership.role == Membership.Role.OWNER
    assert user.membership.account.name == "Initech"
    assert response.status_code == 302


def test_signup_says_to_check_the_mailbox_and_mails_the_sign_in_link(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP, signup_data(), follow=True)

    assert response.redirect_chain == [(reverse("signup_sent"), 302)]
    assert not response.wsgi_request.user.is_authenticated
    assert 'data-testid="signup-sent"' in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["peter@initech.test"] and reverse("login") in message.body


def test_the_new_customer_signs_in_and_sees_port_25_blocked(client, db):
    client.post(SIGNUP, signup_data())
    response = client.post(reverse("login"), {"username": "peter@initech.test", "password": PASSWORD}, follow=True)

    assert response.wsgi_request.user.email == "peter@initech.test"
    assert 'data-testid="port25-state"' in response.content.decode()
    assert "Blocked" in response.content.decode()


def test_signup_stores_email_in_lower_case(client, db):
    client.post(SIGNUP, signup_data(email="Peter@Initech.TEST"))
    assert User.objects.filter(email="peter@initech.test").exists()


def test_duplicate_email_in_other_case_creates_nothing_and_mails_the_owner(
    client, customer, django_capture_on_commit_callbacks
):
    users, accounts = User.objects.count(), Account.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP, signup_data(email="ALICE@Acme.test", account_name="Acme again"))

    assert response.status_code == 302 and response.url == reverse("signup_sent")
    assert (User.objects.count(), Account.objects.count()) == (users, accounts)
    assert not response.wsgi_request.user.is_authenticated
    [message] = mail.outbox
    assert message.to == ["alice@acme.test"] and "tried to create an account" in message.body
    assert customer.check_password(PASSWORD), "the owner's password is untouched"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt!pw", "This password is too short. It must contain at least 10 characters."),
        ("password1234", "This password is too common."),
        ("73918264550193", "This password is entirely numeric."),
        ("peter@initech.test", "The password is too similar to the email address."),
    ],
    ids=["short", "common", "numeric", "like-email"],
)
def test_weak_password_refused_with_validator_message_next_to_password_field(client, db, password, message):
    response = client.post(SIGNUP, signup_data(password=password))

    assert response.status_code == 200
    assert escape(message) in field_errors(response, "password")
    assert not User.objects.exists()
    assert not Account.objects.exists()


def test_password_is_not_sent_back_to_the_browser(client, db):
    response = client.post(SIGNUP, signup_data(password="Sh0rt!pw"))
    assert "Sh0rt!pw" not in response.content.decode()


@pytest.mark.parametrize("email", ["not-an-email", "peter@", "@initech.test", ""])
def test_invalid_email_refused_next_to_email_field(client, db, email):
    response = client.post(SIGNUP, signup_data(email=email))

    assert response.status_code == 200
    assert field_errors(response, "email")
    assert not User.objects.exists()


def test_missing_account_name_refused(client, db):
    response = client.post(SIGNUP, signup_data(account_name=""))

    assert field_errors(response, "account_name")
    assert not User.objects.exists()


def test_signed_in_user_visiting_signup_is_redirected_to_port25_page(customer_client):
    response = customer_client.get(SIGNUP)
    assert response.status_code == 302
    assert response.url == reverse("port25")


def test_signed_in_user_posting_signup_creates_nothing(customer_client):
    users = User.objects.count()
    response = customer_client.post(SIGNUP, signup_data())
    assert response.status_code == 302
    assert User.objects.count() == users
