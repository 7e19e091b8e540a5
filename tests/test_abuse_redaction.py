"""Finding 2 of the security probe and #13's "what the customer may see": the reported customer never
learns who complained. Every address in the fixtures except the customer's own senders is searched for in
every page and API answer the customer can reach; the abuse desk still sees everything."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from abuse import intake
from abuse.models import AbuseReport, Category, Channel, Reporter
from abuse.reports import ReportInput
from abuse.revocations import revoke
from accounts.models import CustomerToken
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from tests.abuse_samples import backdate_addresses, report_json, sample

SAMPLE = "arf-complainant-everywhere.eml"
SENDERS = {
    "bounce-8812@news.acme-shop.example",
    "news@acme-shop.example",
    "help@acme-shop.example",
    "20261120095758.everywhere@news.acme-shop.example",  # the Message-ID: the customer's own
}
ADDRESS = re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")
HEADERS_OF_THE_PROBE = [
    "received-for",
    "received-bare",
    "resent-to",
    "apparently-to",
    "x-envelope-to",
    "x-original-recipient",
    "x-forwarded-to",
]


@pytest.fixture(autouse=True)
def _targets(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}


def _json_reports(account) -> list[dict]:
    spam = report_json(number=1)
    spam["evidence"] = {
        "recipient": "json-recipient@isp.example",
        "complaints": [{"by": "Nested.Complainant@isp.example", "note": "see json-text@isp.example"}],
    }
    trap = report_json(category="spamtrap", number=2)
    trap["evidence"] = "Hit on spam trap address trap-json@traps.example"
    return [spam, trap]


@pytest.fixture
def revoked(account, db):
    """Port 25 revoked on three reports: the hostile ARF sample, a JSON complaint, a spam-trap hit."""
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    reporter = Reporter.objects.create(name="ISP FBL")
    [result] = intake.ingest(sample(SAMPLE), reporter=reporter, channel=Channel.ARF)
    reports = [AbuseReport.objects.get(pk=result.report_id)]
    for body in _json_reports(account):
        evidence = body["evidence"] if isinstance(body["evidence"], dict) else {"text": body["evidence"]}
        report = ReportInput(
            category=body["category"],
            source_ip=body["source_ip"],
            occurred_at=timezone.now() - timedelta(minutes=5),
            reference=body["reference"],
            evidence=evidence,
        )
        result = intake.receive(report, raw=b"{}", channel=Channel.JSON, reporter=reporter)
        reports.append(AbuseReport.objects.get(pk=result.report_id))
    revoke(account, reports, "3 reports")
    return reports


def _fixture_addresses() -> set[str]:
    texts = [sample(SAMPLE).decode()] + [str(r["evidence"]) for r in _json_reports(None)]
    found = {m.replace("%40", "@").lower() for text in texts for m in ADDRESS.findall(text)}
    return found - SENDERS - {"fbl@isp.example", "fbl-bounces@isp.example", "abuse@provider.example"}


def _customer_answers(customer) -> dict[str, str]:
    browser = Client()
    browser.force_login(customer)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {CustomerToken.issue(user=customer, name='t')[1]}")
    pages = {url: browser.get(url) for url in ["/", "/abuse/", "/requests/new/", "/accounts/api-tokens/"]}
    pages |= {url: api.get(url) for url in ["/api/v1/port25/", "/api/v1/requests/"]}
    for url, response in pages.items():
        assert response.status_code == 200, url
    return {url: response.content.decode() for url, response in pages.items()}


def test_no_complainant_or_trap_address_reaches_any_customer_page_or_api_answer(customer, revoked):
    addresses = _fixture_addresses()
    assert {f"{name}@isp.example" for name in HEADERS_OF_THE_PROBE} <= addresses
    assert {"trap17@traps.isp.example", "trap-json@traps.example", "list-unsub@isp.example"} <= addresses

    answers = _customer_answers(customer)

    for url, body in answers.items():
        text = body.lower().replace("%40", "@").replace("&#x27;", "'")
        leaked = sorted(a for a in addresses if a in text)
        assert not leaked, f"{url} shows {leaked}"
    page = answers["/abuse/"]
    assert "Black Friday: 70% off everything" in page, "the customer still learns which mail it was"
    assert "news@acme-shop.example" in page and "20261120095758.everywhere@news.acme-shop.example" in page
    assert "[address hidden]" in page


def test_received_lines_lose_their_for_clause_and_other_headers_are_not_shown(customer, revoked):
    page = _customer_answers(customer)["/abuse/"]

    assert "by store1.isp.example with LMTP id 77aa" in page
    assert " for " not in re.sub(r"<[^>]+>", " ", page.split("Headers of the reported message")[1].split("</dd>")[0])
    for header in ["Resent-To", "Apparently-To", "X-Envelope-To", "X-Original-Recipient", "X-Forwarded-To", "Cc:"]:
        assert header not in page


def test_a_spam_trap_hit_shows_the_customer_no_evidence(customer, revoked):
    trap = next(r for r in revoked if r.category == Category.SPAMTRAP)
    page = _customer_answers(customer)["/abuse/"]

    assert "Spam-trap hit" in page
    assert "Hit on spam trap" not in page
    assert trap.evidence, "the desk keeps it"


def test_the_abuse_desk_sees_everything(revoked, django_user_model):
    desk = Client()
    desk.force_login(django_user_model.objects.create_superuser("root@provider.test", "pw-not-used"))

    pages = "".join(desk.get(f"/admin/abuse/abusereport/{r.pk}/change/").content.decode() for r in revoked)

    for address in ["received-for@isp.example", "x-envelope-to@isp.example", "json-recipient@isp.example"]:
        assert address in pages
    assert "trap-json@traps.example" in pages


SPELLINGS = [
    "jörg@müller.example",
    "jörg@xn--mller-kva.example",
    "jane\uff20isp.example",
    "jane\ufe6bisp.example",
    "https://isp.example/u?e=jane%2540isp.example",
    "jane=40isp.example",
]


def test_complainants_written_in_unicode_or_encoded_reach_no_customer_page(customer, account):
    """Issue 23.7, on the customer's pages: every spelling of the probe in a report's evidence is masked."""
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    report = ReportInput(
        category="spam",
        source_ip=account.servers.get().addresses.first().ip,
        occurred_at=timezone.now() - timedelta(minutes=5),
        reference="spellings-1",
        evidence={"complainants": SPELLINGS, "note": " and ".join(SPELLINGS)},
    )
    result = intake.receive(report, raw=b"{}", channel=Channel.JSON, reporter=Reporter.objects.create(name="FBL"))
    revoke(account, [AbuseReport.objects.get(pk=result.report_id)], "1 report")

    answers = _customer_answers(customer)

    assert "[address hidden]" in answers["/abuse/"]
    for url, body in answers.items():
        leaked = [s for s in ["jörg", "j&#xf6;rg", "xn--mller", "jane"] if s in body]
        assert not leaked, f"{url} shows {leaked}"
