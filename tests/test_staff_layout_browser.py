"""The staff pages fit common desktop widths: no sideways scroll, no word broken inside a table cell.

Measured in Chromium at 1280, 1440 and 1920 px on pages full of what reviewers really read: finished
checks with long summaries and evidence, a timeline, 30 days of traffic, a conversation, the queue, the
abuse desk and the egress pages. A word is measured with a canvas in its own element's font, so the test
says "this cell is narrower than the word it holds", not "this looks odd".
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from abuse.models import AbuseReport
from egress.models import AccountEgress, BucketSize, TrafficCount
from requests_app import check_flow, review
from requests_app.models import Status, UnblockRequest
from tests.browser_fixtures import sign_in
from tests.conftest import CUSTOMER_IPS
from tests.review_fixtures import awaiting, finished_run
from tests.test_abuse_reinstatement import revocation_number
from verification.models import CheckResult

pytestmark = pytest.mark.browser

WIDTHS = (1280, 1440, 1920)

# Every visible table cell whose content box is narrower than the longest word of a text inside it, and
# the document's width. Text in a box that scrolls by itself (overflow-x: auto) is not broken: it scrolls.
MEASURE = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const canvas = document.createElement('canvas').getContext('2d');
  const scrollsItself = (el, cell) => {
    for (let e = el; e && e !== cell.parentElement; e = e.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) return true;
    }
    return false;
  };
  const narrow = [];
  for (const cell of document.querySelectorAll('td, th')) {
    if (!cell.getClientRects().length) continue;
    const style = getComputedStyle(cell);
    const room = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el.getClientRects().length || scrollsItself(el, cell) || el.closest('svg')) continue;
      const font = getComputedStyle(el);
      canvas.font = `${font.fontStyle} ${font.fontWeight} ${font.fontSize} ${font.fontFamily}`;
      for (const word of node.textContent.split(/\\s+/)) {
        const width = canvas.measureText(word).width;
        if (word && width > room + 1) {
          narrow.push(`${word.slice(0, 40)} (${Math.round(width)} px) in a cell of ${Math.round(room)} px`);
        }
      }
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, narrow: narrow.slice(0, 5)};
}"""

LONG_SUMMARY = (
    "Could not check the relay: the server at mail.customer-with-a-long-name.example answered "
    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"
)
EVIDENCE = {
    "host": "mail.customer-with-a-long-name.example",
    "tls_pass": False,
    "error": "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer (_ssl.c:1006)",
    "conversation": ["220 mail.customer-with-a-long-name.example ESMTP Postfix (Debian/GNU)", "250-PIPELINING"],
}

RESULTS = {
    "relay_probe": "pass",
    "reverse_dns": "warn",
    "ip_blocklists": "fail",
    "domain_blocklists": "error",
    "domain_auth": "pass",
    "unsubscribe_link": "fail",
    "template_content": "warn",
    "account_signals": "pass",
}


def full_request(account, customer, reviewer):
    """A request as reviewers meet it: finished checks, a question answered, traffic, a timeline."""
    request = awaiting(account, customer, company_name="Initrode International Holdings")
    run = finished_run(request, [], [])
    for position, (name, status) in enumerate(RESULTS.items()):
        CheckResult.objects.create(
            run=run, check_name=name, position=position, status=status, summary=LONG_SUMMARY, evidence=EVIDENCE
        )
    # The queue's columns as a finished run fills them (check_flow.finish).
    UnblockRequest.objects.filter(pk=request.pk).update(
        check_summary=check_flow.summarise_checks(list(run.results.all())), risk_score=85, check_failures=2
    )
    review.ask_for_information(
        request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, question="Which host names will send mail? " * 6
    )
    request = review.answer_question(request, customer, "Only mail.customer-with-a-long-name.example, nothing else.")
    review.assign(request.pk, reviewer, reviewer)
    today = timezone.now().astimezone(UTC).date()
    TrafficCount.objects.bulk_create(
        TrafficCount(
            size=BucketSize.DAY,
            start=datetime.combine(today - timedelta(days=day), time.min, tzinfo=UTC),
            target="default",
            ip=ip,
            account=account,
            connections=40 * day + 7,
        )
        for day in range(30)
        for ip in CUSTOMER_IPS[:2]
    )
    return request


def measured(page: Page, url: str) -> list[str]:
    page.goto(url)
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        result = page.evaluate(MEASURE)
        if result["scrollWidth"] > width:
            found.append(f"{url} at {width} px: the page is {result['scrollWidth']} px wide")
        found += [f"{url} at {width} px: {cell}" for cell in result["narrow"]]
    return found


def test_staff_pages_fit_desktop_widths(page, live_server, settings, admin_user, reviewer, customer, account):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    request = full_request(account, customer, reviewer)
    revocation = revocation_number(account, 1, admin_user)
    egress, report = AccountEgress.objects.get(account=account), AbuseReport.objects.get()
    sign_in(page, admin_user, live_server)
    found = []
    for url in [
        f"/admin/requests_app/unblockrequest/{request.pk}/change/",
        "/admin/requests_app/unblockrequest/",
        "/admin/requests_app/unblockrequest/dashboard/",
        "/admin/requests_app/requestevent/",
        "/admin/egress/accountegress/",
        f"/admin/egress/accountegress/{egress.pk}/change/",
        "/admin/egress/egresschange/",
        "/admin/egress/egresstarget/",
        "/admin/abuse/abusereport/",
        f"/admin/abuse/abusereport/{report.pk}/change/",
        "/admin/abuse/revocation/",
        f"/admin/abuse/revocation/{revocation.pk}/change/",
        "/admin/abuse/abuseevent/",
        "/admin/abuse/policydecision/",
    ]:
        found += measured(page, url)
    assert found == [], "\n".join(found)
