"""The port-25 page says first, and plainly, what state the account's port is in."""

import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from egress.models import AccountEgress, EgressSource, EgressState
from requests_app.services import submit_request
from tests.conftest import answers

URL = reverse("port25")


def state_of(response) -> str:
    return response.context["status"].state


def test_new_account_is_blocked_and_offered_a_request(customer_client):
    response = customer_client.get(URL)
    assert state_of(response) == "blocked"
    body = response.content.decode()
    assert 'data-testid="port25-state">Blocked<' in body
    assert reverse("request_new") in body
    assert "587" in body and "nc -vz" in body


def test_open_request_makes_it_pending_with_a_link(customer_client, account, customer):
    request = submit_request(account, customer, answers())
    response = customer_client.get(URL)
    assert state_of(response) == "pending"
    assert reverse("request_detail", args=[request.pk]) in response.content.decode()


def test_allowed_egress_is_open(customer_client, account):
    AccountEgress.objects.create(account=account, desired=EgressState.ALLOWED, source=EgressSource.REQUEST)
    assert state_of(customer_client.get(URL)) == "open"


def test_blocked_by_abuse_is_revoked_with_the_reason(customer_client, account):
    AccountEgress.objects.create(
        account=account, desired=EgressState.BLOCKED, source=EgressSource.ABUSE, reason="3 spam-trap hits"
    )
    response = customer_client.get(URL)
    assert state_of(response) == "revoked"
    assert "3 spam-trap hits" in response.content.decode()


def test_reason_is_escaped(customer_client, account):
    AccountEgress.objects.create(
        account=account, desired=EgressState.BLOCKED, source=EgressSource.ABUSE, reason="<script>x()</script>"
    )
    body = customer_client.get(URL).content.decode()
    assert "<script>x()</script>" not in body
    assert "&lt;script&gt;" in body


def test_staff_without_account_gets_404(client, django_user_model):
    staff = django_user_model.objects.create_user("staff@example.com", "pw", is_staff=True)
    client.force_login(staff)
    assert client.get(URL).status_code == 404


@pytest.mark.parametrize("tz", ["Asia/Tokyo", "America/New_York"])
def test_times_are_shown_in_the_viewers_time_zone(customer_client, account, customer, tz):
    request = submit_request(account, customer, answers())
    customer_client.cookies["tz"] = tz
    body = customer_client.get(URL).content.decode()
    local = timezone.localtime(request.created_at, timezone=zoneinfo.ZoneInfo(tz))
    assert date_format(local, "DATETIME_FORMAT") in body


def test_unknown_time_zone_cookie_falls_back_to_utc(customer_client):
    customer_client.cookies["tz"] = "Mars/Olympus_Mons"
    assert customer_client.get(URL).status_code == 200
