"""The customer's revocation page (reason, redactable evidence, what next) and the abuse desk's admin."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from abuse import intake
from abuse.models import AbuseEvent, AbuseReport, EventKind, PolicyDecision, Reporter, Revocation, RevocationState
from abuse.revocations import reinstate, require_new_request, revoke
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from tests.abuse_samples import backdate_addresses, fbl_report, sample
from tests.conftest import CUSTOMER_IPS


@pytest.fixture(autouse=True)
def _targets(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root@provider.test", "pw-not-used")


def staff_client(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def revoked_by_arf(account, ordinal_target: int = 1, superuser=None) -> Revocation:
    """Port 25 open, then revoked because of the feedback-loop sample (its recipient is in the headers)."""
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    for i in range(1, ordinal_target + 1):
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
        (result,) = intake.ingest(fbl_report(number=i), reporter=Reporter.objects.get_or_create(name="ISP FBL")[0])
        revoke(account, [AbuseReport.objects.get(pk=result.report_id)], "1 spam report")
        revocation = Revocation.objects.get(account=account, ordinal=i)
        if i < ordinal_target:
            reinstate(revocation, superuser, "fixed")
    return revocation


def test_the_port25_page_links_a_revoked_customer_to_the_reports(customer_client, account):
    revoked_by_arf(account)

    page = customer_client.get("/").content.decode()

    assert 'data-testid="port25-state">Revoked' in page
    assert 'href="/abuse/"' in page


def test_the_revocation_page_shows_reason_evidence_and_what_next_but_never_the_recipient(customer_client, account):
    revoked_by_arf(account)

    page = customer_client.get("/abuse/").content.decode()

    assert "Abuse reports about 198.51.100.7: Spam (1)." in page
    assert "Subject: Black Friday: 70% off everything" in page
    assert "ISP FBL" in page and "What to do next" in page
    assert "c2b1a9@isp.example" not in page, "the complaining recipient stays unknown"
    assert 'name="note"' in page


def test_the_customer_answers_what_they_fixed(customer_client, customer, account):
    revocation = revoked_by_arf(account)

    response = customer_client.post("/abuse/", {"note": "Closed the open relay in Postfix (mynetworks)."})

    assert response.status_code == 302
    revocation.refresh_from_db()
    assert revocation.customer_note.startswith("Closed the open relay")
    assert AbuseEvent.objects.get(kind=EventKind.FIX_REPORTED).actor == customer
    assert "Closed the open relay" in customer_client.get("/abuse/").content.decode()


def test_an_empty_answer_is_refused(customer_client, account):
    revoked_by_arf(account)

    response = customer_client.post("/abuse/", {"note": ""})

    assert response.status_code == 200 and "This field is required." in response.content.decode()


def test_without_a_revocation_there_is_nothing_to_answer(customer_client, account):
    page = customer_client.get("/abuse/").content.decode()

    assert "No abuse reports affect your account." in page
    assert customer_client.post("/abuse/", {"note": "x"}).status_code == 404


def test_staff_without_an_account_get_404(abuse_desk):
    assert staff_client(abuse_desk).get("/abuse/").status_code == 404


def test_a_required_new_request_points_to_the_form(customer_client, account, abuse_desk):
    require_new_request(revoked_by_arf(account), abuse_desk, "Explain how your list was collected.")

    page = customer_client.get("/abuse/").content.decode()

    assert "Explain how your list was collected." in page
    assert 'href="/requests/new/"' in page


def test_a_final_revocation_says_so(customer_client, account, superuser):
    revoked_by_arf(account, 3, superuser)

    assert 'data-testid="abuse-final"' in customer_client.get("/abuse/").content.decode()


def test_the_desk_redacts_a_field_before_the_customer_sees_it(customer_client, account, abuse_desk):
    revocation = revoked_by_arf(account)
    report = revocation.decision.reports.get()
    received = bytes(report.raw)
    desk = staff_client(abuse_desk)

    response = desk.post(f"/admin/abuse/abusereport/{report.pk}/change/", {"redacted": ["original_headers"]})

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.redacted == ["original_headers"]
    assert bytes(report.raw) == received and b"Black Friday" in received, "the stored report stays as received"
    assert AbuseEvent.objects.get(kind=EventKind.REDACTED).actor == abuse_desk
    page = customer_client.get("/abuse/").content.decode()
    assert "Black Friday" not in page and "hidden by the abuse desk" in page


def test_the_desk_files_a_report_by_hand_and_a_second_time_it_is_a_duplicate(account, abuse_desk):
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    desk = staff_client(abuse_desk)
    form = {
        "source_ip": CUSTOMER_IPS[0],
        "category": "compromised",
        "occurred_at": (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "reference": "",
        "reported_domain": "",
        "original_mail_from": "",
        "evidence": "Phone call from a partner ISP: brute-force SSH from this address.",
    }
    assert desk.get("/admin/abuse/abusereport/add/").status_code == 200

    first = desk.post("/admin/abuse/abusereport/add/", form, follow=True)
    again = desk.post("/admin/abuse/abusereport/add/", form, follow=True)

    report = AbuseReport.objects.get()
    assert (report.account, report.filed_by, report.channel) == (account, abuse_desk, "staff")
    assert "matched" in first.content.decode() and "reported already" in again.content.decode()
    assert AbuseEvent.objects.get(kind=EventKind.FILED).report == report


def test_the_desk_reinstates_in_the_admin_within_its_authority(account, abuse_desk):
    first = revoked_by_arf(account)
    desk = staff_client(abuse_desk)
    assert "Reinstate" in desk.get(f"/admin/abuse/revocation/{first.pk}/change/").content.decode()

    desk.post(f"/admin/abuse/revocation/{first.pk}/reinstate/", {"note": "Fixed, verified with the customer."})
    first.refresh_from_db()
    assert first.state == RevocationState.REINSTATED

    second = _revoke_again(account)
    response = desk.post(f"/admin/abuse/revocation/{second.pk}/reinstate/", {"note": "again"})

    assert response.status_code == 403, "the page, like its submit, is for a support reviewer"
    second.refresh_from_db()
    assert second.state == RevocationState.ACTIVE


def _revoke_again(account) -> Revocation:
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="ok")
    (result,) = intake.ingest(fbl_report(number=99), reporter=None)
    revoke(account, [AbuseReport.objects.get(pk=result.report_id)], "again")
    return Revocation.objects.get(account=account, state=RevocationState.ACTIVE)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/abuse/abusereport/?matched=no",
        "/admin/abuse/rejectedreport/",
        "/admin/abuse/policydecision/?seen=no",
        "/admin/abuse/revocation/?waiting=yes",
        "/admin/abuse/abuseevent/",
        "/admin/abuse/reporter/",
        "/admin/abuse/reportertoken/",
    ],
)
def test_the_desk_lists_everything(abuse_desk, account, url):
    revoked_by_arf(account)
    intake.ingest(sample("not-arf.eml"), reporter=None)

    assert staff_client(abuse_desk).get(url).status_code == 200


def test_a_report_links_to_its_accounts_timeline(abuse_desk, account):
    report = revoked_by_arf(account).decision.reports.get()
    desk = staff_client(abuse_desk)

    page = desk.get(f"/admin/abuse/abusereport/{report.pk}/change/").content.decode()
    timeline = re.search(r'href="(/admin/abuse/abuseevent/\?[^"]+)"', page).group(1)
    response = desk.get(timeline)

    assert response.status_code == 200 and "Port 25 revoked" in response.content.decode()


@pytest.mark.parametrize("model", ["abuseevent", "policydecision", "revocation", "rejectedreport"])
def test_the_audit_trail_is_append_only_even_for_superusers(superuser, account, model):
    revoked_by_arf(account)
    intake.ingest(sample("not-arf.eml"), reporter=None)
    row = {"abuseevent": AbuseEvent, "policydecision": PolicyDecision, "revocation": Revocation}.get(model)
    pk = row.objects.first().pk if row else 1
    admin = staff_client(superuser)

    assert admin.get(f"/admin/abuse/{model}/add/").status_code == 403
    assert admin.post(f"/admin/abuse/{model}/{pk}/delete/", {"post": "yes"}).status_code == 403
    report = AbuseReport.objects.first()
    assert admin.get(f"/admin/abuse/abusereport/{report.pk}/delete/").status_code == 403


def test_the_desk_issues_a_reporter_token_that_is_shown_once_and_works(abuse_desk, db):
    reporter = Reporter.objects.create(name="Spamtrap network")
    desk = staff_client(abuse_desk)

    page = desk.post("/admin/abuse/reportertoken/add/", {"reporter": reporter.pk, "name": "prod"}, follow=True)

    raw = re.search(r"Token for Spamtrap network: prod: (\S+) ", page.content.decode()).group(1)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.post("/api/v1/abuse/reports/", {}, format="json").status_code == 400  # authenticated, invalid


def test_the_desk_marks_flags_as_seen(abuse_desk, account):
    warning = PolicyDecision.objects.create(account=account, outcome="warn", rule="2 complaints")

    staff_client(abuse_desk).post(
        "/admin/abuse/policydecision/", {"action": "acknowledge", "_selected_action": [warning.pk]}
    )

    warning.refresh_from_db()
    assert warning.acknowledged_by == abuse_desk
    assert AbuseEvent.objects.get(kind=EventKind.ACKNOWLEDGED).decision == warning
