"""A person with their own mail server gives their name and no company website; companies still give one."""

from django.urls import reverse

from requests_app.models import UnblockRequest
from tests.conftest import answers, marketing_answers

URL = reverse("request_new")
API = "/api/v1/requests/"


def form(client, data):
    return client.post(URL, {k: v for k, v in data.items() if v is not False})


def test_a_person_files_with_their_name_and_no_website(customer_client, account):
    response = form(customer_client, answers(company_name="Alice Liddell", company_website=""))
    assert response.status_code == 302
    request = UnblockRequest.objects.get(account=account)
    assert (request.company_name, request.company_website) == ("Alice Liddell", "")


def test_a_company_must_give_its_website(customer_client, account):
    response = form(customer_client, marketing_answers(company_website=""))
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["company_website"])
    assert "reviewers compare it with your sending domain" in errors
    assert not UnblockRequest.objects.exists()


def test_the_form_says_why_it_asks(customer_client):
    page = customer_client.get(URL).content.decode()
    assert "Company name, or your own name" in page
    assert "Not needed for a personal mail server" in page
    assert "the checks look up its SPF, DMARC and MX" in page


def test_the_api_follows_the_same_rules(api_client, account):
    personal = api_client.post(API, answers(company_name="Alice Liddell", company_website=""), format="json")
    assert personal.status_code == 201, personal.json()
    UnblockRequest.objects.filter(pk=personal.json()["id"]).update(status="withdrawn")
    company = api_client.post(API, marketing_answers(company_website=""), format="json")
    assert company.status_code == 400
    assert "company_website" in company.json()
