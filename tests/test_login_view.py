"""Signing in with an email address and password, and signing out."""

from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.conftest import PASSWORD

LOGIN = reverse("login")
LOGOUT = reverse("logout")


def test_login_page_asks_for_email_and_password(client, db):
    response = client.get(LOGIN)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="username"' in content
    assert "Email address" in content
    assert 'type="password"' in content


def test_login_with_email_and_password_signs_in_and_shows_port25_page(client, customer):
    response = client.post(LOGIN, {"username": "alice@acme.test", "password": PASSWORD}, follow=True)

    assert response.redirect_chain == [(reverse("port25"), 302)]
    assert int(client.session[SESSION_KEY]) == customer.pk
    assert 'data-testid="port25-state"' in response.content.decode()


def test_login_email_is_case_insensitive(client, customer):
    response = client.post(LOGIN, {"username": "Alice@ACME.test", "password": PASSWORD})

    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == customer.pk


def test_wrong_password_shows_error_and_does_not_sign_in(client, customer):
    response = client.post(LOGIN, {"username": "alice@acme.test", "password": "wrong password entirely"})

    assert response.status_code == 200
    assert "Please enter a correct email address and password." in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert SESSION_KEY not in client.session


def test_unknown_email_shows_the_same_error(client, db):
    response = client.post(LOGIN, {"username": "nobody@nowhere.test", "password": PASSWORD})

    assert response.status_code == 200
    assert "Please enter a correct email address and password." in response.content.decode()


def test_login_redirects_to_next(client, customer):
    target = reverse("request_new")
    response = client.post(
        f"{LOGIN}?next={target}", {"username": "alice@acme.test", "password": PASSWORD, "next": target}
    )

    assert response.status_code == 302
    assert response.url == target


def test_login_page_keeps_next_in_the_form(client, db):
    target = reverse("request_new")
    response = client.get(LOGIN, {"next": target})
    assert f'name="next" value="{target}"' in response.content.decode()


def test_login_ignores_next_pointing_to_another_site(client, customer):
    response = client.post(
        LOGIN, {"username": "alice@acme.test", "password": PASSWORD, "next": "https://evil.example.net/"}
    )

    assert response.status_code == 302
    assert response.url == reverse("port25")


def test_anonymous_visitor_of_port25_page_is_sent_to_login_with_next(client, db):
    response = client.get(reverse("port25"))
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next=/"


def test_signed_in_user_visiting_login_is_redirected(customer_client):
    response = customer_client.get(LOGIN)
    assert response.status_code == 302
    assert response.url == reverse("port25")


def test_logout_requires_post(customer_client):
    response = customer_client.get(LOGOUT)

    assert response.status_code == 405
    assert SESSION_KEY in customer_client.session


def test_logout_by_post_signs_out_and_redirects_to_login(customer_client):
    response = customer_client.post(LOGOUT)

    assert response.status_code == 302
    assert response.url == LOGIN
    assert SESSION_KEY not in customer_client.session
    assert customer_client.get(reverse("port25")).status_code == 302


def test_signed_in_pages_offer_sign_out_as_a_post_form(customer_client):
    content = customer_client.get(reverse("port25")).content.decode()
    assert f'<form method="post" action="{LOGOUT}"' in content
