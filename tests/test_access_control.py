"""Who may see and act on what: an account sees only its own requests, anonymous callers nothing.

Every customer page and API endpoint is listed once below; a new URL goes into
ACCOUNT_URLS (no object in the path) or REQUEST_URLS (one request in the path)
and is then checked for anonymous callers, staff without an account and, for
REQUEST_URLS, for another account.
"""

from dataclasses import dataclass

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import CustomerToken
from requests_app.models import RequestEvent, Status, UnblockRequest
from requests_app.services import submit_request
from tests.conftest import PASSWORD, answers


@dataclass(frozen=True)
class Endpoint:
    name: str  # URL name
    method: str  # "get" or "post"
    api: bool  # True: REST API (401/403), False: page (login redirect)

    def url(self, pk: int | None = None) -> str:
        return reverse(self.name, kwargs={"pk": pk} if pk is not None else None)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.name}"


ACCOUNT_URLS = [
    Endpoint("port25", "get", api=False),
    Endpoint("request_new", "get", api=False),
    Endpoint("request_new", "post", api=False),
    Endpoint("api-port25", "get", api=True),
    Endpoint("api-request-list", "get", api=True),
    Endpoint("api-request-list", "post", api=True),
]

REQUEST_URLS = [
    Endpoint("request_detail", "get", api=False),
    Endpoint("request_withdraw", "post", api=False),
    Endpoint("api-request-detail", "get", api=True),
    Endpoint("api-request-withdraw", "post", api=True),
]


@pytest.fixture
def request_of_a(customer) -> UnblockRequest:
    return submit_request(customer.membership.account, customer, answers())


def client_for(user, endpoint: Endpoint, client):
    """The way a person reaches `endpoint`: a session for pages, a token for the API."""
    if endpoint.api:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {CustomerToken.issue(user=user, name='t')[1]}")
        return api
    client.force_login(user)
    return client


def call(http_client, endpoint: Endpoint, pk: int | None = None):
    method = getattr(http_client, endpoint.method)
    if endpoint.method == "post" and endpoint.api:
        return method(endpoint.url(pk), {}, format="json")
    return method(endpoint.url(pk))


def assert_unchanged(unblock_request: UnblockRequest) -> None:
    unblock_request.refresh_from_db()
    assert unblock_request.status == Status.SUBMITTED
    assert RequestEvent.objects.filter(request=unblock_request).count() == 1


# --- another account --------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", REQUEST_URLS, ids=str)
def test_other_account_gets_404_for_a_request_it_does_not_own(client, other_customer, request_of_a, endpoint):
    response = call(client_for(other_customer, endpoint, client), endpoint, request_of_a.pk)

    assert response.status_code == 404
    assert_unchanged(request_of_a)


@pytest.mark.parametrize("endpoint", REQUEST_URLS, ids=str)
def test_owner_reaches_own_request(client, customer, request_of_a, endpoint):
    """The control for the 404s above: the same URLs work for the owner."""
    response = call(client_for(customer, endpoint, client), endpoint, request_of_a.pk)

    assert response.status_code in (200, 302)


def test_other_account_gets_404_for_a_request_that_does_not_exist(client, other_customer, request_of_a):
    client.force_login(other_customer)

    assert client.get(reverse("request_detail", kwargs={"pk": request_of_a.pk + 1000})).status_code == 404


def test_request_is_absent_from_other_accounts_page(client, customer, other_customer, request_of_a):
    link = reverse("request_detail", kwargs={"pk": request_of_a.pk})
    client.force_login(customer)
    assert link in client.get(reverse("port25")).content.decode()

    client.force_login(other_customer)
    page = client.get(reverse("port25"))

    assert page.status_code == 200
    assert link not in page.content.decode()
    assert page.context["status"].open_request is None
    assert list(page.context["requests"]) == []


def test_request_is_absent_from_other_accounts_api_list(customer, other_customer, request_of_a):
    endpoint = Endpoint("api-request-list", "get", api=True)
    own = call(client_for(customer, endpoint, None), endpoint).json()["results"]
    assert [item["id"] for item in own] == [request_of_a.pk]

    response = call(client_for(other_customer, endpoint, None), endpoint)

    assert response.status_code == 200
    assert response.json()["results"] == []
    assert response.json()["count"] == 0


def test_other_accounts_open_request_does_not_block_filing(client, other_customer, request_of_a):
    api = client_for(other_customer, Endpoint("api-request-list", "post", api=True), client)

    response = api.post(reverse("api-request-list"), answers(mail_server_ip="198.51.100.8"), format="json")

    assert response.status_code == 201, response.content
    assert UnblockRequest.objects.get(pk=response.json()["id"]).account == other_customer.membership.account


# --- anonymous callers ------------------------------------------------------------------------


def _anonymous_call(client, endpoint: Endpoint, pk: int | None):
    return call(APIClient() if endpoint.api else client, endpoint, pk)


def _assert_anonymous_refused(response, endpoint: Endpoint, pk: int | None) -> None:
    if endpoint.api:
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={endpoint.url(pk)}"


@pytest.mark.parametrize("endpoint", ACCOUNT_URLS, ids=str)
def test_anonymous_is_sent_to_login_or_refused(client, db, endpoint):
    _assert_anonymous_refused(_anonymous_call(client, endpoint, None), endpoint, None)


@pytest.mark.parametrize("endpoint", REQUEST_URLS, ids=str)
def test_anonymous_is_sent_to_login_or_refused_for_a_request(client, request_of_a, endpoint):
    _assert_anonymous_refused(_anonymous_call(client, endpoint, request_of_a.pk), endpoint, request_of_a.pk)
    assert_unchanged(request_of_a)


# --- staff without a customer account ---------------------------------------------------------


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(email="reviewer@provider.test", password=PASSWORD, is_staff=True)


@pytest.mark.parametrize("endpoint", ACCOUNT_URLS, ids=str)
def test_staff_without_account_gets_404(client, staff_user, endpoint):
    response = call(client_for(staff_user, endpoint, client), endpoint)

    assert response.status_code == 404
    assert not UnblockRequest.objects.exists()


@pytest.mark.parametrize("endpoint", REQUEST_URLS, ids=str)
def test_staff_without_account_gets_404_for_a_request(client, staff_user, request_of_a, endpoint):
    response = call(client_for(staff_user, endpoint, client), endpoint, request_of_a.pk)

    assert response.status_code == 404
    assert_unchanged(request_of_a)
