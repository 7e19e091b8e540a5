"""A request's page: status, timeline, answers, what is missing, and withdrawal."""

from django.urls import reverse

from accounts.models import Account
from requests_app.models import Status
from requests_app.services import submit_request
from tests.conftest import marketing_answers


def test_page_shows_status_timeline_and_answers(customer_client, account, customer):
    request = submit_request(account, customer, marketing_answers(company_name="Acme <b>News</b>"))
    response = customer_client.get(reverse("request_detail", args=[request.pk]))
    body = response.content.decode()
    assert 'data-testid="request-status">Submitted<' in body
    assert "Request submitted." in body
    assert "https://example.com/unsubscribe" in body
    assert "Acme &lt;b&gt;News&lt;/b&gt;" in body


def test_missing_verifications_are_listed_until_recorded(customer_client, account, customer):
    request = submit_request(account, customer, marketing_answers())
    url = reverse("request_detail", args=[request.pk])
    body = customer_client.get(url).content.decode()
    assert "identity verification" in body and "payment method verification" in body

    account.record_verification("identity", None)
    body = customer_client.get(url).content.decode()
    assert "identity verification" not in body and "payment method verification" in body

    Account.objects.get(pk=account.pk).record_verification("payment", None)
    assert 'data-testid="missing-verifications"' not in customer_client.get(url).content.decode()


def test_withdrawing_closes_the_request_and_records_it(customer_client, account, customer):
    request = submit_request(account, customer, marketing_answers())
    response = customer_client.post(reverse("request_withdraw", args=[request.pk]))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    assert request.events.last().actor == customer
    assert b"Withdraw this request" not in customer_client.get(reverse("request_detail", args=[request.pk])).content


def test_withdrawing_twice_says_it_is_closed(customer_client, account, customer):
    request = submit_request(account, customer, marketing_answers())
    customer_client.post(reverse("request_withdraw", args=[request.pk]))
    response = customer_client.post(reverse("request_withdraw", args=[request.pk]), follow=True)
    assert "already closed" in response.content.decode()
    assert request.events.count() == 2


def test_withdraw_needs_post(customer_client, account, customer):
    """A GET only asks for confirmation (tests/test_customer_first_hour.py)."""
    request = submit_request(account, customer, marketing_answers())
    assert customer_client.get(reverse("request_withdraw", args=[request.pk])).status_code == 200
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
