"""Words, not dumps: the timeline says statuses as people read them and names the checks instead of repeating them;
the customer reads each check's sentence, not a key: value dump of its evidence; staff keep the raw evidence."""

from django.urls import reverse

from requests_app import check_flow
from requests_app.services import submit_request
from tests.conftest import answers
from verification import services
from verification.models import CheckRun
from verification.outcome import Outcome, Verdict

EVIDENCE = {"tls_pass": False, "decided_by": None, "error_raw": "ConnectionResetError: [Errno 104] Connection reset"}
SENTENCE = "Your mail server closed the connection half-way; make sure it is reachable, then re-run the checks."


def finished(account, customer):
    request = submit_request(account, customer, answers())
    run = check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)
    for result in run.results.all():
        verdict = Verdict.FAIL if result.check_name == "relay_probe" else Verdict.PASS
        services.record_result(run, result.check_name, Outcome(verdict, SENTENCE, EVIDENCE), 7)
    check_flow.finish(run, request.pk)
    request.refresh_from_db()
    return request


def test_the_timeline_names_statuses_and_checks_and_does_not_repeat_them(client, reviewer, account, customer):
    request = finished(account, customer)
    (done,) = request.events.filter(to_status="awaiting_review")
    assert "found something to fix: Open relay test of your mail server." in done.message
    assert SENTENCE not in done.message

    client.force_login(reviewer)
    body = client.get(reverse("admin:requests_app_unblockrequest_change", args=[request.pk])).content.decode()
    assert "Running automated checks → Awaiting review" in body
    assert "checking → awaiting_review" not in body


def test_the_customer_reads_sentences_and_staff_keep_the_raw_evidence(
    customer_client, client, reviewer, account, customer
):
    request = finished(account, customer)
    body = customer_client.get(reverse("request_detail", args=[request.pk])).content.decode()
    assert SENTENCE in body
    for dump in ("Tls pass", "Decided by: none", "Errno"):
        assert dump not in body

    client.force_login(reviewer)
    staff = client.get(reverse("admin:requests_app_unblockrequest_change", args=[request.pk])).content.decode()
    assert "Raw evidence" in staff and "[Errno 104]" in staff
