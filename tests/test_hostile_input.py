"""Hostile input: oversized, unicode, header injection, markup, traversal. Refused or neutralised, never a 5xx."""

import json

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from rest_framework.response import Response

from requests_app import review
from requests_app.models import Status, UnblockRequest
from tests.conftest import answers
from tests.review_fixtures import awaiting

SCRIPT = "<script>alert('x')</script>"
TEXT_FIELDS = ["company_name", "use_case_description", "threat_mitigation", "mail_software_other"]


def post_json(api_client, data: dict) -> Response:
    return api_client.post(reverse("api-request-list"), json.dumps(data), content_type="application/json")


def test_oversized_body_is_refused_with_400(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    response = post_json(api_client, answers(use_case_description="x" * 200_000))
    assert response.status_code == 400
    # Issue 23.8: the API's answer was Django's HTML page; now JSON with the reason, like every API error.
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is over 100000 bytes."}
    assert not UnblockRequest.objects.exists()


@pytest.mark.parametrize(("field", "limit"), [("company_name", 200), ("mail_software_other", 100)])
def test_oversized_field_is_refused_with_its_limit(api_client, field, limit):
    response = post_json(api_client, answers(mail_software="other", **{field: "x" * (limit + 1)}))
    assert response.status_code == 400
    assert str(limit) in " ".join(response.json()[field])


def test_idn_domains_are_stored_in_their_ascii_form(api_client, loopback_dns):
    loopback_dns.resolver.add("xn--bcher-kva.example.com. 60 IN A 93.184.215.14")
    response = post_json(
        api_client,
        answers(
            sending_domain="BÜCHER.example.com",
            mail_server_hostname="bücher.example.com",
            company_website="https://bücher.example.com/",
        ),
    )
    assert response.status_code == 201, response.json()
    request = UnblockRequest.objects.get()
    assert request.sending_domain == request.mail_server_hostname == "xn--bcher-kva.example.com"


@pytest.mark.parametrize("domain", ["exa\u200bmple.com", "example.com\x00.evil", "ex ample.com", "-bad.example.com"])
def test_invisible_and_control_characters_in_names_are_refused(api_client, domain):
    assert post_json(api_client, answers(sending_domain=domain)).status_code == 400


def test_markup_is_escaped_on_the_customer_page_and_in_the_admin(customer_client, reviewer_client, account, customer):
    request = awaiting(account, customer, mail_software="other", **dict.fromkeys(TEXT_FIELDS, SCRIPT))
    customer_page = customer_client.get(reverse("request_detail", args=[request.pk])).content.decode()
    admin_page = reviewer_client.get(reverse("admin:requests_app_unblockrequest_change", args=[request.pk]))
    for page in (customer_page, admin_page.content.decode()):
        assert SCRIPT not in page
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_header_injection_in_staff_text_stays_in_the_body(account, customer, reviewer):
    request = awaiting(account, customer)
    with TestCase.captureOnCommitCallbacks(execute=True):
        review.ask_for_information(
            request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, question="Hi\r\nBcc: evil@example.org\r\n"
        )
    message = mail.outbox[0]
    assert message.to == [customer.email] and not message.bcc
    assert "\n" not in message.subject and "Bcc" not in message.message()["Subject"]
    assert "Bcc: evil@example.org" in message.body


@pytest.mark.parametrize("email", ["a@example.com\r\nBcc: evil@example.org", "a@example.com\nX: y"])
def test_header_injection_in_sign_up_email_is_refused(client, db, email):
    response = client.post(reverse("signup"), {"account_name": "A", "email": email, "password": "long enough pw 123"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors


@pytest.mark.parametrize(
    "path", ["/static/../portal/settings.py", "/static/%2e%2e/portal/settings.py", "/static/..%2fportal%2fsettings.py"]
)
def test_static_files_cannot_reach_outside_their_folder(client, db, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"SECRET_KEY" not in b"".join(getattr(response, "streaming_content", [response.content]))


@pytest.mark.parametrize("path", ["/api/v1/requests/a%2Fb/", "/api/v1/nothing-here/", "/api/v1/requests/1.exe/"])
def test_api_paths_that_match_nothing_answer_json_404(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_pages_that_match_nothing_answer_the_html_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
