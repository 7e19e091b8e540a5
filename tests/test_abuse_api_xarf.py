"""The reporters' API with XARF v4 (validated against the v4 schema) and raw mail in every format."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from abuse.models import AbuseReport, RejectedReport
from tests.abuse_samples import reporter_with_token, sample

XARF = "/api/v1/abuse/xarf/"
MAIL = "/api/v1/abuse/arf/"


@pytest.fixture
def api(db) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")
    return client


def document(**changes) -> dict:
    doc = json.loads(sample("xarf4-spamtrap.json"))
    doc.update(changes)
    return {key: value for key, value in doc.items() if value is not None}


def post(api: APIClient, body: object):
    return api.post(XARF, json.dumps(body), content_type="application/json")


def test_a_valid_xarf_report_is_accepted_and_stored_as_sent(api):
    response = post(api, document())

    assert response.status_code == 202, response.json()
    report = AbuseReport.objects.get(pk=response.json()["report"])
    assert (report.format, report.channel, report.category) == ("xarf4", "xarf", "spamtrap")
    assert (report.source_ip, report.reference) == ("198.51.100.7", "6f1c2b7e-3d4a-4b8e-9c21-5a7d0e9f4b13")
    assert report.occurred_at == datetime(2026, 11, 20, 10, 15, 42, tzinfo=UTC)
    assert json.loads(bytes(report.raw)) == document()


def test_the_same_xarf_report_again_is_a_duplicate(api):
    assert post(api, document()).status_code == 202

    response = post(api, document())

    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert AbuseReport.objects.get().deliveries == 2


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"timestamp": None}, "timestamp", "required"),
        ({"reporter": None}, "reporter", "required"),
        ({"source_port": None}, "source_port", "required"),
        ({"smtp_from": None}, "smtp_from", "required"),
        ({"source_identifier": 7}, "source_identifier", "not of type 'string'"),
        ({"source_identifier": "mail.acme-shop.example"}, "source_identifier", "not an IP address"),
        ({"category": "weather"}, "category", "is not one of"),
        ({"timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        ({"timestamp": (timezone.now() + timedelta(days=2)).isoformat()}, "timestamp", "in the future"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_schema_error_is_a_400_naming_the_field(api, changes, field, words):
    response = post(api, document(**changes))

    assert response.status_code == 400, response.json()
    answer = response.json()
    assert answer["status"] == "rejected"
    assert words in " ".join(answer["errors"][field]), answer["errors"]
    kept = RejectedReport.objects.get(pk=answer["rejected"])
    assert (kept.channel, json.loads(bytes(kept.raw))) == ("xarf", document(**changes))
    assert not AbuseReport.objects.exists()


def test_every_failing_field_is_listed_at_once(api):
    response = post(api, document(timestamp=None, reporter=None, source_port=None))

    assert {"timestamp", "reporter", "source_port"} <= set(response.json()["errors"])


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"[" * 5000 + b"]" * 5000])
def test_a_body_that_is_no_xarf_object_is_a_400_and_kept(api, body):
    response = api.post(XARF, body, content_type="application/json")

    assert response.status_code == 400
    assert bytes(RejectedReport.objects.get().raw) == body


def test_a_raw_mail_in_any_format_goes_to_the_mail_endpoint(api):
    response = api.post(MAIL, sample("x-arf-login-attack.eml"), content_type="message/rfc822")

    assert response.status_code == 202, response.json()
    assert AbuseReport.objects.get(pk=response.json()["report"]).format == "x-arf"


def test_a_mail_about_several_sources_answers_each(api):
    response = api.post(MAIL, sample("spamcop-digest.eml"), content_type="message/rfc822")

    assert response.status_code == 202
    assert [r["source_ip"] for r in response.json()["results"]] == ["198.51.100.7", "198.51.100.8"]
    assert "account" not in json.dumps(response.json())


V3 = {
    "Version": "3",
    "ReporterInfo": {"ReporterOrg": "Old Trapnet", "ReporterOrgEmail": "abuse@old-trapnet.example"},
    "Report": {
        "ReportClass": "Activity",
        "ReportType": "Spam",
        "Date": "2026-11-20T10:15:42Z",
        "Source": {"IP": "198.51.100.7", "Port": 25},
        "SourceType": "IPv4",
        "SmtpMailFromAddress": "bounce@news.acme-shop.example",
        "AdditionalInfo": {"Protocol": "smtp"},
    },
}


def test_a_legacy_xarf_v3_report_is_converted_by_the_package(api):
    response = post(api, V3)

    assert response.status_code == 202, response.json()
    report = AbuseReport.objects.get()
    assert (report.source_ip, report.category, report.format) == ("198.51.100.7", "spam", "xarf4")
    assert report.original_mail_from == "bounce@news.acme-shop.example"


def test_an_unknown_v3_report_type_is_a_400_not_a_crash(api):
    response = post(api, {**V3, "Report": {**V3["Report"], "ReportType": "Weather"}})

    assert response.status_code == 400
    assert "Weather" in json.dumps(response.json()["errors"])


def test_a_private_source_through_the_api_is_kept_unmatched_and_never_waits_for_matching(api):
    response = post(api, document(source_identifier="10.20.0.5"))

    assert (response.status_code, response.json()["status"]) == (202, "unmatched")
    report = AbuseReport.objects.get()
    assert report.account_id is None and report.matched_at is not None
    assert not AbuseReport.objects.waiting().exists()
