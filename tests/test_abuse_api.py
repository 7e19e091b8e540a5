"""The reporters' API: token auth, one report, batches, duplicates, raw ARF, clear 4xx (and nothing lost)."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from abuse import intake
from abuse.backlog import match_and_weigh
from abuse.models import AbuseReport, RejectedReport, ReporterToken
from accounts.models import CustomerToken
from tests.abuse_samples import backdate_addresses, fbl_report, report_json, reporter_with_token, sample
from tests.conftest import CUSTOMER_IPS

REPORTS = "/api/v1/abuse/reports/"
BATCH = "/api/v1/abuse/reports/batch/"
ARF = "/api/v1/abuse/arf/"


@pytest.fixture
def reporter(db):
    return reporter_with_token()


@pytest.fixture
def api(reporter) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter[1]}")
    return client


def post_json(client: APIClient, url: str, body: object):
    return client.post(url, json.dumps(body), content_type="application/json")


# --- authentication ------------------------------------------------------------------------


def test_without_a_token_the_answer_is_401_and_says_how_to_authenticate(db):
    response = post_json(APIClient(), REPORTS, report_json())

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert not AbuseReport.objects.exists() and not RejectedReport.objects.exists()


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer", "Bearer a b"])
def test_a_wrong_token_is_401(reporter, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert post_json(client, REPORTS, report_json()).status_code == 401


def test_a_revoked_token_is_401(api, reporter):
    ReporterToken.objects.update(revoked_at=timezone.now())

    assert post_json(api, REPORTS, report_json()).status_code == 401


def test_an_inactive_reporter_is_401(api, reporter):
    reporter[0].__class__.objects.update(active=False)

    response = post_json(api, REPORTS, report_json())

    assert response.status_code == 401
    assert "inactive" in response.json()["detail"]


def test_a_customer_token_is_not_a_reporter_token(customer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {CustomerToken.issue(user=customer, name='x')[1]}")

    assert post_json(client, REPORTS, report_json()).status_code == 401


# --- one report ----------------------------------------------------------------------------


def test_a_report_is_accepted_kept_as_sent_and_matched_by_the_worker(api, reporter, account):
    body = report_json()
    response = post_json(api, REPORTS, body)

    assert response.status_code == 202
    report = AbuseReport.objects.get()
    assert response.json() == {"status": "accepted", "source_ip": CUSTOMER_IPS[0], "report": report.pk}
    assert (report.reporter, report.category, report.reference) == (reporter[0], "spam", "ref-1")
    assert json.loads(bytes(report.raw)) == body
    assert ReporterToken.objects.get().last_used_at is not None
    assert list(AbuseReport.objects.waiting()) == [report]

    assert match_and_weigh() == (1, [account.pk]), "matched, and the account may be due a warning"

    report.refresh_from_db()
    assert report.account == account and report.matched_at is not None
    assert not AbuseReport.objects.waiting().exists()


def test_an_ipv6_report_is_matched_whatever_its_spelling(api, account):
    response = post_json(api, REPORTS, report_json(ip="2001:0DB8:0:0::0007"))
    match_and_weigh()

    assert (response.status_code, response.json()["source_ip"]) == (202, CUSTOMER_IPS[1])
    assert AbuseReport.objects.get().account == account


def test_an_address_nobody_holds_is_kept_and_listed_as_unmatched(api, db):
    response = post_json(api, REPORTS, report_json(ip="203.0.113.99"))
    match_and_weigh()

    assert response.status_code == 202
    assert list(AbuseReport.objects.unmatched()) == [AbuseReport.objects.get(account=None)]


def test_the_same_report_twice_counts_once(api, account):
    first = post_json(api, REPORTS, report_json())
    again = post_json(api, REPORTS, {**report_json(), "evidence": "resent"})

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "duplicate"
    assert again.json()["report"] == first.json()["report"]
    assert AbuseReport.objects.get().deliveries == 2


def test_the_same_incident_from_another_reporter_counts_once(api, account):
    """Same message, same address and time: the fingerprint matches although the reporter differs."""
    body = {**report_json(), "message_id": "<m1@news.acme-shop.example>"}
    post_json(api, REPORTS, body)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token('Blocklist operator')[1]}")

    response = post_json(other, REPORTS, {**body, "reference": "their-own-id"})

    assert response.json()["status"] == "duplicate"
    assert AbuseReport.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"source_ip": "300.1.2.3"}, "source_ip", "not an IP address"),
        ({"category": "bulk"}, "category", "not a valid choice"),
        ({"time": "yesterday"}, "time", "wrong format"),
        ({"time": "2099-01-01T00:00:00Z"}, "time", "in the future"),
        ({"evidence": [1, 2]}, "evidence", "object or a text"),
        ({"source_ip": None}, "source_ip", "may not be null"),
    ],
)
def test_an_invalid_report_is_400_with_the_field_and_kept_raw(api, db, change, field, message):
    body = {**report_json(), **change}

    response = post_json(api, REPORTS, body)

    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "rejected"
    assert message in " ".join(answer["errors"][field])
    assert answer["reason"].startswith(f"{field}: ")
    kept = RejectedReport.objects.get(pk=answer["rejected"])
    assert json.loads(bytes(kept.raw)) == body and kept.reason == answer["reason"]


@pytest.mark.parametrize(("body", "reason"), [(b"{not json", "not JSON"), (b"[1, 2]", "JSON object")])
def test_a_body_that_is_not_a_report_object_is_400_and_kept(api, db, body, reason):
    response = api.post(REPORTS, body, content_type="application/json")

    assert response.status_code == 400
    assert reason in response.json()["reason"]
    assert bytes(RejectedReport.objects.get().raw) == body


def test_a_body_above_the_size_limit_is_413_and_its_head_kept(api, db, settings):
    settings.PORTAL_ABUSE_MAX_REPORT_BYTES = 1000
    body = json.dumps({**report_json(), "evidence": "x" * 5000}).encode()

    response = api.post(REPORTS, body, content_type="application/json")

    assert response.status_code == 413
    kept = RejectedReport.objects.get()
    assert bytes(kept.raw) == body[:1000] and "1000 bytes" in kept.reason


# --- batches ---------------------------------------------------------------------------------


def test_a_batch_answers_each_report_in_order(api, account):
    reports = [
        report_json(number=1),
        report_json(number=2),
        report_json(number=1),  # again
        report_json(ip="203.0.113.99", number=3),
        {**report_json(number=4), "category": "bulk"},
        "not an object",
    ]
    response = post_json(api, BATCH, {"reports": reports})

    assert response.status_code == 200
    answer = response.json()
    assert [r["status"] for r in answer["results"]] == [
        "accepted",
        "accepted",
        "duplicate",
        "accepted",
        "rejected",
        "rejected",
    ]
    assert answer["counts"] == {"accepted": 3, "duplicate": 1, "unmatched": 0, "rejected": 2}
    assert "category" in answer["results"][4]["errors"]
    assert AbuseReport.objects.count() == 3 and RejectedReport.objects.count() == 2
    assert match_and_weigh() == (3, [account.pk])
    assert AbuseReport.objects.filter(account=account).count() == 2 and AbuseReport.objects.unmatched().count() == 1


def test_a_batch_counts_again_what_was_received_before_or_earlier_in_it(api, account):
    first = post_json(api, REPORTS, report_json(number=1)).json()["report"]
    same_reference = {**report_json(number=2), "evidence": {"subject": "other"}}  # another fingerprint
    reports = [report_json(number=1), report_json(number=2), same_reference, report_json(ip="10.0.0.9", number=3)]

    answer = post_json(api, BATCH, {"reports": reports}).json()

    assert [r["status"] for r in answer["results"]] == ["duplicate", "accepted", "duplicate", "unmatched"]
    second = answer["results"][1]["report"]
    assert answer["results"][0]["report"] == first and answer["results"][2]["report"] == second
    deliveries = dict(AbuseReport.objects.values_list("pk", "deliveries"))
    assert deliveries[first] == 2 and deliveries[second] == 2 and len(deliveries) == 3


def test_a_batch_stored_meanwhile_by_another_request_is_taken_one_by_one(api, account, monkeypatch):
    """The look-up of what was received before misses a report another request stored after it:
    the INSERT meets the unique constraint, and the batch is taken one report at a time."""
    stored = post_json(api, REPORTS, report_json(number=1)).json()["report"]
    monkeypatch.setattr(intake, "_keys_received_before", lambda reports, reporter: set())

    answer = post_json(api, BATCH, {"reports": [report_json(number=2), report_json(number=1)]}).json()

    assert [r["status"] for r in answer["results"]] == ["accepted", "duplicate"]
    assert answer["results"][1]["report"] == stored
    assert AbuseReport.objects.count() == 2 and AbuseReport.objects.get(pk=stored).deliveries == 2


def test_a_batch_costs_the_same_queries_whatever_its_size(api, account):
    post_json(api, BATCH, {"reports": [report_json(number=0)]})  # the token's "last used" written
    with CaptureQueriesContext(connection) as small:
        post_json(api, BATCH, {"reports": [report_json(number=n) for n in range(1, 3)]})
    with CaptureQueriesContext(connection) as large:
        answer = post_json(api, BATCH, {"reports": [report_json(number=n) for n in range(3, 33)]}).json()

    assert answer["counts"]["accepted"] == 30
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize(
    ("body", "reason"),
    [({"reports": {"a": 1}}, "Expected"), ([report_json()], "Expected"), ({"reports": [report_json()] * 3}, "At most")],
)
def test_a_malformed_or_oversized_batch_is_400_and_kept(api, db, settings, body, reason):
    settings.PORTAL_ABUSE_MAX_BATCH = 2

    response = post_json(api, BATCH, body)

    assert response.status_code == 400
    assert reason in response.json()["reason"]
    assert RejectedReport.objects.count() == 1 and not AbuseReport.objects.exists()


def test_a_reporter_over_its_rate_gets_429_and_when_to_retry(api, account, settings):
    settings.PORTAL_ABUSE_API_RATE = "3/day"  # a fixed window: a day's end falls within the test far less often

    statuses = [post_json(api, REPORTS, report_json(number=n)).status_code for n in range(4)]

    assert statuses == [202, 202, 202, 429]
    assert 0 < int(post_json(api, REPORTS, report_json(number=9))["Retry-After"]) <= 86400
    assert AbuseReport.objects.count() == 3


def test_reporters_are_throttled_each_on_their_own(api, account, settings):
    settings.PORTAL_ABUSE_API_RATE = "1/day"
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token('Blocklist operator')[1]}")

    assert post_json(api, REPORTS, report_json(number=1)).status_code == 202
    assert post_json(other, REPORTS, report_json(number=2)).status_code == 202
    assert post_json(api, REPORTS, report_json(number=3)).status_code == 429


# --- raw ARF ---------------------------------------------------------------------------------


def test_a_raw_arf_message_is_accepted_as_sent(api, account):
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    raw = fbl_report(number=7)

    response = api.post(ARF, raw, content_type="message/rfc822")

    assert response.status_code == 202, response.json()
    assert "account" not in response.json()
    report = AbuseReport.objects.get()
    assert bytes(report.raw) == raw and report.reference == "<fbl-7@isp.example>"
    assert api.post(ARF, raw, content_type="message/rfc822").json()["status"] == "duplicate"
    match_and_weigh()
    assert AbuseReport.objects.get().account == account


def test_a_raw_message_that_is_not_arf_is_400_and_kept(api, db):
    response = api.post(ARF, sample("not-arf.eml"), content_type="message/rfc822")

    assert response.status_code == 400
    assert response.json()["reason"].startswith("Not a report format we read")
    assert bytes(RejectedReport.objects.get().raw) == sample("not-arf.eml")


def test_the_schema_documents_the_reporter_api(client, db):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    for path in (REPORTS, BATCH, ARF):
        operation = schema["paths"][path]["post"]
        assert {name for requirement in operation["security"] for name in requirement} == {"reporterToken"}
    assert "message/rfc822" in schema["paths"][ARF]["post"]["requestBody"]["content"]
