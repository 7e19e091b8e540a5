"""The customer API: who may call it, what a request must contain, what one may do with it."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from egress.models import AccountEgress, EgressSource, EgressState
from requests_app.models import RequestEvent, Status, UnblockRequest
from requests_app.services import submit_request
from tests.conftest import CUSTOMER_IPS, OTHER_IPS, answers, marketing_answers

LIST_URL = "/api/v1/requests/"
PORT25_URL = "/api/v1/port25/"


def detail_url(pk: int) -> str:
    return f"/api/v1/requests/{pk}/"


def withdraw_url(pk: int) -> str:
    return f"/api/v1/requests/{pk}/withdraw/"


def file_request(api_client: APIClient, data: dict):
    return api_client.post(LIST_URL, data, format="json")


def assert_refused(response, field: str) -> None:
    """The answer is 400, names `field` with a non-empty message, and nothing was filed."""
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert errors[field] and all(str(message).strip() for message in errors[field])
    assert not UnblockRequest.objects.exists()


def file_directly(user: User, **overrides) -> UnblockRequest:
    return submit_request(user.membership.account, user, answers(**overrides))


# --- authentication -------------------------------------------------------------------------


def test_token_authentication_lists_requests(api_client):
    response = api_client.get(LIST_URL)

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_session_authentication_lists_requests(customer_client):
    response = customer_client.get(LIST_URL)

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_session_authentication_files_a_request(customer_client, customer):
    response = customer_client.post(LIST_URL, answers(), content_type="application/json")

    assert response.status_code == 201, response.content
    assert UnblockRequest.objects.get().created_by == customer


def test_session_post_without_csrf_token_is_refused(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)

    response = client.post(LIST_URL, answers(), content_type="application/json")

    assert response.status_code == 403
    assert not UnblockRequest.objects.exists()


@pytest.mark.parametrize("url", [LIST_URL, PORT25_URL])
def test_anonymous_caller_is_refused(db, url):
    response = APIClient().get(url)

    assert response.status_code in (401, 403)


def test_anonymous_caller_cannot_file(db):
    response = APIClient().post(LIST_URL, answers(), format="json")

    assert response.status_code in (401, 403)
    assert not UnblockRequest.objects.exists()


def test_invalid_token_is_refused(customer):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert api.get(LIST_URL).status_code in (401, 403)


# --- listing --------------------------------------------------------------------------------


def test_list_shows_only_own_requests(api_client, customer, other_customer):
    own = file_directly(customer)
    file_directly(other_customer, company_name="Globex", mail_server_ip=OTHER_IPS[0])

    response = api_client.get(LIST_URL)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [own.pk]


# --- filing ---------------------------------------------------------------------------------


def test_personal_request_is_created_and_stored(api_client, account, customer):
    response = file_request(api_client, answers())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == Status.SUBMITTED
    assert "accept_aup" not in body
    stored = UnblockRequest.objects.get(pk=body["id"])
    assert stored.account == account
    assert stored.created_by == customer
    assert stored.status == Status.SUBMITTED
    assert stored.company_website == "https://example.com"
    assert stored.sending_domain == "example.com"
    assert stored.daily_volume == 20
    assert stored.mail_server_ip == CUSTOMER_IPS[0]
    assert stored.aup_accepted_at is not None


def test_created_request_has_a_submitted_event(api_client, customer):
    response = file_request(api_client, answers())

    assert response.status_code == 201
    events = list(RequestEvent.objects.filter(request_id=response.json()["id"]))
    assert [(e.from_status, e.to_status) for e in events] == [("", Status.SUBMITTED)]
    assert events[0].actor == customer
    assert [e["to_status"] for e in response.json()["events"]] == [Status.SUBMITTED]


def test_created_request_is_readable_by_its_id(api_client):
    pk = file_request(api_client, answers()).json()["id"]

    response = api_client.get(detail_url(pk))

    assert response.status_code == 200
    assert response.json()["id"] == pk
    assert response.json()["company_name"] == "Acme"


def test_marketing_request_with_all_answers_is_created(api_client):
    response = file_request(api_client, marketing_answers())

    assert response.status_code == 201, response.content
    stored = UnblockRequest.objects.get()
    assert stored.unsubscribe_url == "https://example.com/unsubscribe"
    assert stored.optin_description.startswith("Double opt-in")
    assert "Unsubscribe" in stored.email_template


@pytest.mark.parametrize(
    "website",
    [
        "ftp://example.com/",
        "http://localhost",
        "http://10.0.0.1",
        "http://0x7f000001",
        "http://[::ffff:127.0.0.1]",
        "https://private.example.com",
        "https://mixed.example.com",
        "https://user:secret@example.com",
        "example.com",
    ],
)
def test_company_website_must_be_a_public_web_address(api_client, website):
    assert_refused(file_request(api_client, answers(company_website=website)), "company_website")


def test_a_website_that_does_not_resolve_is_the_checks_to_report(api_client):
    response = file_request(api_client, answers(company_website="https://does-not-exist.example.com"))
    assert response.status_code == 201, response.content


def test_unsubscribe_url_must_be_public(api_client):
    data = marketing_answers()
    data["unsubscribe_url"] = "https://private.example.com/unsubscribe"

    assert_refused(file_request(api_client, data), "unsubscribe_url")


@pytest.mark.parametrize("volume", [0, -5, 10**9, "abc"])
def test_daily_volume_must_be_a_sensible_number(api_client, volume):
    assert_refused(file_request(api_client, answers(daily_volume=volume)), "daily_volume")


def test_daily_volume_at_the_maximum_is_accepted(api_client, settings):
    data = marketing_answers(daily_volume=settings.PORTAL_MAX_DAILY_VOLUME)

    assert file_request(api_client, data).status_code == 201


def test_use_case_must_be_one_of_the_choices(api_client):
    assert_refused(file_request(api_client, answers(use_case="spam")), "use_case")


@pytest.mark.parametrize("ip", [OTHER_IPS[0], "203.0.113.99", "not-an-ip"])
def test_sending_ip_must_belong_to_own_servers(api_client, other_customer, ip):
    assert_refused(file_request(api_client, answers(mail_server_ip=ip)), "mail_server_ip")


def test_sending_ipv6_in_another_spelling_is_accepted_and_normalised(api_client):
    response = file_request(api_client, answers(mail_server_ip="2001:0db8:0:0::7"))

    assert response.status_code == 201, response.content
    assert response.json()["mail_server_ip"] == "2001:db8::7"
    assert UnblockRequest.objects.get().mail_server_ip == "2001:db8::7"


@pytest.mark.parametrize("domain", ["exa mple.com", "localhost", "a..b", "mail.internal", "-bad.example.com"])
def test_sending_domain_must_be_a_public_name(api_client, domain):
    assert_refused(file_request(api_client, answers(sending_domain=domain)), "sending_domain")


def test_sending_domain_is_stored_lower_case_without_trailing_dot(api_client):
    response = file_request(api_client, answers(sending_domain="Example.COM."))

    assert response.status_code == 201
    assert UnblockRequest.objects.get().sending_domain == "example.com"


def test_mail_server_hostname_must_be_a_public_name(api_client):
    assert_refused(file_request(api_client, answers(mail_server_hostname="localhost")), "mail_server_hostname")


def test_oversize_template_is_refused(api_client, settings):
    settings.PORTAL_MAX_TEMPLATE_BYTES = 1000

    assert_refused(file_request(api_client, marketing_answers(email_template="x" * 1001)), "email_template")


def test_template_counts_bytes_not_characters(api_client, settings):
    settings.PORTAL_MAX_TEMPLATE_BYTES = 1000

    # 600 characters, 1200 bytes in UTF-8.
    assert_refused(file_request(api_client, marketing_answers(email_template="é" * 600)), "email_template")


def test_template_at_the_size_limit_is_accepted(api_client, settings):
    settings.PORTAL_MAX_TEMPLATE_BYTES = 1000

    response = file_request(api_client, marketing_answers(email_template="x" * 1000))

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("field", ["email_template", "unsubscribe_url", "optin_description"])
def test_marketing_requires_each_of_its_answers(api_client, field):
    data = marketing_answers()
    data[field] = ""

    assert_refused(file_request(api_client, data), field)


def test_marketing_reports_every_missing_answer_at_once(api_client):
    data = marketing_answers(email_template="", unsubscribe_url="", optin_description="  ")

    response = file_request(api_client, data)

    assert response.status_code == 400
    assert {"email_template", "unsubscribe_url", "optin_description"} <= response.json().keys()
    assert not UnblockRequest.objects.exists()


def test_transactional_requires_a_template(api_client):
    assert_refused(file_request(api_client, answers(use_case="transactional", email_template="")), "email_template")


def test_transactional_with_template_does_not_need_unsubscribe(api_client):
    response = file_request(api_client, answers(use_case="transactional", email_template="Your receipt #42"))

    assert response.status_code == 201, response.content
    assert UnblockRequest.objects.get().email_template == "Your receipt #42"


def test_personal_above_the_volume_limit_requires_a_template(api_client, settings):
    settings.PORTAL_PERSONAL_VOLUME_LIMIT = 200

    assert_refused(file_request(api_client, answers(daily_volume=201)), "email_template")


def test_personal_at_the_volume_limit_needs_no_template(api_client, settings):
    settings.PORTAL_PERSONAL_VOLUME_LIMIT = 200

    assert file_request(api_client, answers(daily_volume=200)).status_code == 201


def test_personal_above_the_volume_limit_with_a_template_is_accepted(api_client, settings):
    settings.PORTAL_PERSONAL_VOLUME_LIMIT = 200

    response = file_request(api_client, answers(daily_volume=201, email_template="Hi, lunch on Friday?"))

    assert response.status_code == 201, response.content
    assert UnblockRequest.objects.get().email_template == "Hi, lunch on Friday?"


def test_small_personal_request_drops_answers_it_does_not_ask_for(api_client):
    data = answers(
        email_template="<p>an unasked template</p>",
        unsubscribe_url="https://example.com/unsubscribe",
        optin_description="nobody asked",
    )

    response = file_request(api_client, data)

    assert response.status_code == 201, response.content
    stored = UnblockRequest.objects.get()
    assert stored.email_template == ""
    assert stored.unsubscribe_url == ""
    assert stored.optin_description == ""
    assert response.json()["email_template"] == ""


def test_other_mail_software_must_be_named(api_client):
    data = answers(mail_software="other", mail_software_other="")

    assert_refused(file_request(api_client, data), "mail_software_other")


def test_other_mail_software_name_is_stored(api_client):
    response = file_request(api_client, answers(mail_software="other", mail_software_other="Stalwart"))

    assert response.status_code == 201
    assert UnblockRequest.objects.get().mail_software_other == "Stalwart"


def test_other_software_name_is_dropped_for_listed_software(api_client):
    response = file_request(api_client, answers(mail_software="postfix", mail_software_other="Stalwart"))

    assert response.status_code == 201
    assert UnblockRequest.objects.get().mail_software_other == ""


@pytest.mark.parametrize("value", [False, "missing"])
def test_acceptable_use_policy_must_be_accepted(api_client, value):
    data = answers(accept_aup=value)
    if value == "missing":
        del data["accept_aup"]

    assert_refused(file_request(api_client, data), "accept_aup")


@pytest.mark.parametrize(
    "field", ["company_name", "company_website", "sending_domain", "daily_volume", "mail_server_ip"]
)
def test_required_answer_missing_is_refused(api_client, field):
    data = answers(use_case="forwarding")  # a company's use case: the website is required too
    del data[field]

    assert_refused(file_request(api_client, data), field)


def test_status_sent_by_the_client_is_ignored(api_client):
    response = file_request(api_client, answers(status=Status.APPROVED))

    assert response.status_code == 201
    assert UnblockRequest.objects.get().status == Status.SUBMITTED


# --- when filing is not allowed ---------------------------------------------------------------


def test_second_open_request_conflicts(api_client):
    assert file_request(api_client, answers()).status_code == 201

    response = file_request(api_client, answers(company_name="Acme again"))

    assert response.status_code == 409
    assert "open request" in response.json()["detail"]
    assert UnblockRequest.objects.count() == 1


def test_new_request_allowed_after_withdrawing_the_open_one(api_client):
    first = file_request(api_client, answers()).json()["id"]
    assert api_client.post(withdraw_url(first)).status_code == 200

    response = file_request(api_client, answers())

    assert response.status_code == 201
    assert UnblockRequest.objects.count() == 2


def test_filing_when_port25_is_already_open_conflicts(api_client, account):
    AccountEgress.objects.create(account=account, desired=EgressState.ALLOWED, source=EgressSource.STAFF)

    response = file_request(api_client, answers())

    assert response.status_code == 409
    assert "already open" in response.json()["detail"]
    assert not UnblockRequest.objects.exists()


# --- withdrawing ----------------------------------------------------------------------------


def test_withdraw_closes_the_request(api_client, customer):
    pk = file_request(api_client, answers()).json()["id"]

    response = api_client.post(withdraw_url(pk))

    assert response.status_code == 200
    assert response.json()["status"] == Status.WITHDRAWN
    assert UnblockRequest.objects.get(pk=pk).status == Status.WITHDRAWN
    last = RequestEvent.objects.filter(request_id=pk).last()
    assert (last.from_status, last.to_status, last.actor) == (Status.SUBMITTED, Status.WITHDRAWN, customer)


def test_withdraw_twice_conflicts(api_client):
    pk = file_request(api_client, answers()).json()["id"]
    assert api_client.post(withdraw_url(pk)).status_code == 200

    response = api_client.post(withdraw_url(pk))

    assert response.status_code == 409
    assert "already closed" in response.json()["detail"]
    assert RequestEvent.objects.filter(request_id=pk).count() == 2


def test_withdraw_needs_post(api_client):
    pk = file_request(api_client, answers()).json()["id"]

    assert api_client.get(withdraw_url(pk)).status_code == 405
    assert UnblockRequest.objects.get(pk=pk).status == Status.SUBMITTED


def test_requests_cannot_be_edited_or_deleted(api_client):
    pk = file_request(api_client, answers()).json()["id"]

    assert api_client.patch(detail_url(pk), {"company_name": "Evil"}, format="json").status_code == 405
    assert api_client.delete(detail_url(pk)).status_code == 405
    assert UnblockRequest.objects.get(pk=pk).company_name == "Acme"


# --- port-25 status -------------------------------------------------------------------------


def test_port25_status_of_a_new_account_is_blocked(api_client, account):
    response = api_client.get(PORT25_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["account"] == str(account.reference)
    assert body["state"] == "blocked"
    assert body["label"] == "Blocked"
    assert body["open_request"] is None
    assert body["missing_verifications"] == ["identity verification", "payment method verification"]


def test_port25_status_is_pending_while_a_request_is_open(api_client):
    pk = file_request(api_client, answers()).json()["id"]

    body = api_client.get(PORT25_URL).json()

    assert body["state"] == "pending"
    assert body["open_request"] == pk


def test_port25_status_is_blocked_again_after_withdrawing(api_client):
    pk = file_request(api_client, answers()).json()["id"]
    api_client.post(withdraw_url(pk))

    body = api_client.get(PORT25_URL).json()

    assert body["state"] == "blocked"
    assert body["open_request"] is None


def test_port25_status_is_open_when_egress_is_allowed(api_client, account):
    AccountEgress.objects.create(account=account, desired=EgressState.ALLOWED, source=EgressSource.REQUEST)

    body = api_client.get(PORT25_URL).json()

    assert body["state"] == "open"
    assert body["open_request"] is None


def test_port25_status_is_revoked_after_abuse_with_the_reason(api_client, account):
    AccountEgress.objects.create(
        account=account, desired=EgressState.BLOCKED, source=EgressSource.ABUSE, reason="Spam reported by Spamhaus."
    )

    body = api_client.get(PORT25_URL).json()

    assert body["state"] == "revoked"
    assert body["reason"] == "Spam reported by Spamhaus."


def test_port25_status_lists_only_missing_verifications(api_client, account):
    account.record_verification("identity", by=None)

    assert api_client.get(PORT25_URL).json()["missing_verifications"] == ["payment method verification"]

    account.record_verification("payment", by=None)

    assert api_client.get(PORT25_URL).json()["missing_verifications"] == []


def test_port25_status_is_per_account(api_client, other_customer):
    other_account = other_customer.membership.account
    AccountEgress.objects.create(account=other_account, desired=EgressState.ALLOWED, source=EgressSource.STAFF)

    body = api_client.get(PORT25_URL).json()

    assert body["state"] == "blocked"
    assert body["account"] != str(other_account.reference)
