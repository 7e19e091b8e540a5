"""Issue 23.8: customer API tokens were unlimited (61 for one user), and a staff member signed in with the
password only (no second factor) could mint one: a credential that never asks for the second factor."""

from django.test import Client
from django.urls import reverse

from accounts.models import CustomerToken
from tests.two_factor_support import password_only_login

URL = reverse("api_tokens")


def test_one_person_holds_at_most_the_configured_number_of_active_tokens(customer_client, customer, settings):
    settings.PORTAL_API_TOKENS_PER_USER = 3
    answers = [customer_client.post(URL, {"name": f"t{i}"}) for i in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 403]
    assert "You have 3 active tokens, the most one person may hold" in answers[-1].content.decode()
    assert CustomerToken.objects.filter(user=customer).count() == 3

    customer_client.post(reverse("api_token_revoke", args=[CustomerToken.objects.filter(user=customer).first().pk]))
    assert customer_client.post(URL, {"name": "after revoking one"}).status_code == 200


def test_staff_signed_in_with_the_password_only_cannot_mint_a_token(django_user_model):
    staff = django_user_model.objects.create_user("rita@provider.test", "pw-not-used", is_staff=True)
    browser = password_only_login(Client(), staff)

    response = browser.post(URL, {"name": "mine"})

    assert response.status_code == 403
    assert "confirm their sign-in with their second factor" in response.content.decode()
    assert not CustomerToken.objects.filter(user=staff).exists()


def test_staff_whose_second_factor_verified_the_session_may(django_user_model):
    staff = django_user_model.objects.create_user("rita@provider.test", "pw-not-used", is_staff=True)
    browser = Client()
    browser.force_login(staff)  # verified by a TOTP device (tests/two_factor_support.py)

    assert browser.post(URL, {"name": "mine"}).status_code == 200
    assert CustomerToken.objects.filter(user=staff).count() == 1
