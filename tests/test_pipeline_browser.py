"""The request page follows its checks live in Chromium: results appear without a reload."""

import pytest
from playwright.sync_api import expect

from requests_app import check_flow
from requests_app.services import submit_request
from tests.conftest import answers
from verification import services
from verification.models import CheckRun
from verification.outcome import Outcome, Verdict

pytestmark = pytest.mark.browser


def test_results_appear_while_the_checks_run(signed_in_page, account, customer):
    request = submit_request(account, customer, answers())
    run = check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)
    signed_in_page.goto(f"/requests/{request.pk}/")
    checks = signed_in_page.get_by_test_id("checks")
    expect(checks).to_contain_text("0 of 6 checks done")
    signed_in_page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    services.record_result(run, "relay_probe", Outcome(Verdict.FAIL, "Your mail server is an open relay."), 5)
    expect(checks.locator("[data-check=relay_probe]")).to_contain_text("Your mail server is an open relay.")
    expect(checks).to_contain_text("1 of 6 checks done")

    for result in run.results.exclude(check_name="relay_probe"):
        services.record_result(run, result.check_name, Outcome(Verdict.PASS, "Fine."), 5)
    check_flow.finish(run, request.pk)
    expect(signed_in_page.get_by_test_id("request-status")).to_have_text("Awaiting review")
    expect(checks).to_contain_text("6 of 6 checks done")
    # A re-run waits out the interval: the page says how long instead of offering the button.
    expect(checks.get_by_role("button", name="Re-run the checks")).to_be_hidden()
    expect(checks.get_by_test_id("rerun-wait")).to_contain_text("you can re-run them in 5 minutes")
    assert signed_in_page.evaluate("window.loadedOnce") is True
