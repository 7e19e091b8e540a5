"""One number, one scale: risk, 0-100, higher is riskier, the same figure on every page, in the API and the timeline."""

from django.urls import reverse

from requests_app import check_flow
from requests_app.services import submit_request
from tests.conftest import answers
from verification import services
from verification.models import CheckRun
from verification.outcome import Outcome, Verdict

# One failure (30) and one warning (10); the rest passed.
VERDICTS = {"relay_probe": Verdict.FAIL, "reverse_dns": Verdict.WARN}


def test_the_same_risk_everywhere(client, reviewer, customer_client, api_client, account, customer, admin_user):
    request = submit_request(account, customer, answers())
    run = check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)
    for result in run.results.all():
        verdict = VERDICTS.get(result.check_name, Verdict.PASS)
        services.record_result(run, result.check_name, Outcome(verdict, "said so", {}), 7)
    check_flow.finish(run, request.pk)
    run.refresh_from_db()
    request.refresh_from_db()

    assert run.risk == request.risk_score == 40
    assert "risk 40 of 100, higher is riskier" in request.events.last().message
    assert api_client.get(f"/api/v1/requests/{request.pk}/").json()["checks"]["risk"] == 40
    assert customer_client.get(reverse("request_checks", args=[request.pk])).json()["run"]["risk"] == 40

    client.force_login(reviewer)
    page = client.get(reverse("admin:requests_app_unblockrequest_change", args=[request.pk])).content.decode()
    assert "risk 40 of 100 (higher is riskier)" in page
    assert "each failure adds 30, each warning 10" in page
    queue = client.get(reverse("admin:requests_app_unblockrequest_changelist")).content.decode()
    assert '<span class="risk risk-medium">40</span>' in queue
    client.force_login(admin_user)
    runs = client.get(reverse("admin:verification_checkrun_changelist")).content.decode()
    assert '<td class="field-risk">40</td>' in runs
    assert "score" not in runs.lower()
