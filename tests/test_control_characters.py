"""Finding 3 of the security probe, its cause: single-line fields took CR/LF (an account name then broke
the Subject of abuse mails). Every single-line field now refuses control characters with a clear message:
the web forms, the customer API, the platform API and the admin. Multi-line fields keep their line breaks."""

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from abuse.models import RejectedReport
from accounts.models import Account, PlatformToken, Server, User
from common.single_line import as_single_line
from requests_app import review_forms
from requests_app.models import UnblockRequest
from tests.abuse_samples import report_json, reporter_with_token
from tests.conftest import PASSWORD, answers

MESSAGE = "Write this on one line"
HOSTILE = ["Evil\r\nBcc: victim@example.org", "tab\there", "nul\x00l", "del\x7f", "c1\x85x", "ls\u2028ps"]


@pytest.mark.parametrize("value", HOSTILE)
def test_sign_up_refuses_an_account_name_with_control_characters(client, db, value):
    response = client.post(
        reverse("signup"), {"account_name": value, "email": "new@initech.test", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert not User.objects.filter(email="new@initech.test").exists()
    assert not Account.objects.exists()


def test_the_request_form_refuses_them_in_single_line_fields_and_keeps_line_breaks_elsewhere(customer_client):
    data = answers(company_name="Acme\r\nInc", use_case_description="Line one.\r\nLine two.")
    response = customer_client.post(reverse("request_new"), data)
    assert MESSAGE in response.content.decode()
    assert not UnblockRequest.objects.exists()

    customer_client.post(reverse("request_new"), answers(use_case_description="Line one.\r\nLine two."))
    assert UnblockRequest.objects.get().use_case_description == "Line one.\r\nLine two."


def test_the_api_refuses_them_with_a_400_naming_the_field(api_client):
    response = api_client.post("/api/v1/requests/", answers(company_name="Acme\nInc", accept_aup=True), format="json")

    assert response.status_code == 400
    assert MESSAGE in response.json()["company_name"][0]
    assert not UnblockRequest.objects.exists()


def test_the_platform_api_refuses_them(account):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {PlatformToken.issue(name='cloud')[1]}")
    body = {"account": str(account.reference), "hostname": "vm\r\n.example.com", "addresses": ["203.0.113.10"]}

    response = api.put("/api/v1/platform/servers/vm-9/", body, content_type="application/json")

    assert response.status_code == 400
    assert MESSAGE in response.json()["hostname"][0]
    assert not Server.objects.filter(external_id="vm-9").exists()


def test_an_api_token_name_is_one_line(customer_client):
    response = customer_client.post(reverse("api_tokens"), {"name": "deploy\r\nscript"})
    assert MESSAGE in response.content.decode()


def test_the_admin_refuses_an_account_name_with_a_line_break(account, django_user_model):
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("root@provider.test", "pw-not-used"))
    url = reverse("admin:accounts_account_change", args=[account.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"name": "Acme\r\nBcc: x@example.org", **_empty_inlines()})

    response = staff.post(url, data)

    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    account.refresh_from_db()
    assert account.name == "Acme"


def _empty_inlines() -> dict:
    return {
        f"{prefix}-{key}": value
        for prefix in ("memberships", "servers")
        for key, value in {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0", "MIN_NUM_FORMS": "0", "MAX_NUM_FORMS": "9"}.items()
    }


def test_text_stored_before_the_rule_is_made_one_line_where_it_must_be():
    assert as_single_line("Evil\r\nBcc: victim@example.org\t") == "Evil Bcc: victim@example.org"


def test_the_reporter_api_refuses_them_and_keeps_the_report_raw(db):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")
    body = {**report_json(), "reference": "ref-1\r\nX-Injected: yes"}

    response = api.post("/api/v1/abuse/reports/", body, content_type="application/json")

    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert b"X-Injected" in bytes(RejectedReport.objects.get().raw)


def test_the_admin_refuses_a_staff_name_with_a_line_break(django_user_model):
    root = django_user_model.objects.create_superuser("root@provider.test", "pw-not-used")
    staff = Client()
    staff.force_login(root)
    url = reverse("admin:accounts_user_change", args=[root.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}
    data.update({"first_name": "Ann\nBcc: x@example.org", "last_name": "Sm\x85ith"})

    response = staff.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert MESSAGE in errors["first_name"][0] and MESSAGE in errors["last_name"][0]
    root.refresh_from_db()
    assert (root.first_name, root.last_name) == ("", "")


@pytest.mark.parametrize(
    "form_class",
    [
        review_forms.ReviewForm,
        review_forms.ConfirmForm,
        review_forms.ApproveForm,
        review_forms.RejectForm,
        review_forms.AskForm,
        review_forms.ReverseForm,
        review_forms.WithdrawForm,
        review_forms.AssignForm,
    ],
)
def test_a_single_line_field_of_any_review_form_refuses_them(db, form_class):
    """Today's review texts are multi-line (a Textarea); a single-line field added later refuses them too."""
    with_subject = type("WithSubject", (form_class,), {"subject": forms.CharField()})

    form = with_subject(data={"subject": "Re: spam\r\nBcc: x@example.org"})

    assert not form.is_valid() and MESSAGE in form.errors["subject"][0]
