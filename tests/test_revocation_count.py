"""A revocation is counted once, from its business record (abuse.Revocation), by the review dashboard and
by /metrics alike: a staff block, a temporary block, or blocking an account closed already is none."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from abuse import intake
from abuse.models import AbuseReport
from abuse.reports import ReportInput
from abuse.revocations import revoke
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from operations.review_dashboard import review_dashboard
from tests.conftest import CUSTOMER_IPS
from tests.test_metrics import scrape, value


def _reported(ip: str) -> AbuseReport:
    report = ReportInput(category="spamtrap", source_ip=ip, occurred_at=timezone.now())
    return AbuseReport.objects.get(pk=intake.receive(report, raw=b"{}", channel="json", reporter=None).report_id)


def test_the_dashboard_and_the_metrics_count_each_revocation_once(client, account, other_customer):
    other = other_customer.membership.account
    for each in (account, other):
        set_desired_state(each, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    with transaction.atomic():
        revoke(account, [_reported(CUSTOMER_IPS[0])], "spam-trap hit")  # a revocation for abuse reports
    # None of these is a revocation:
    set_desired_state(account, EgressState.BLOCKED, source=EgressSource.ABUSE, reason="closed already")
    set_desired_state(other, EgressState.BLOCKED, source=EgressSource.STAFF, reason="by hand")
    set_desired_state(other, EgressState.ALLOWED, source=EgressSource.STAFF, reason="checked")
    until = timezone.now() + timedelta(hours=1)
    set_desired_state(other, EgressState.BLOCKED, source=EgressSource.TRAFFIC, reason="burst", until=until)
    with transaction.atomic():
        revoke(other, [], "traffic burst", reason="a burst on port 25")  # a revocation for traffic

    figures, samples = review_dashboard(), scrape(client)

    assert (figures["revocations"], figures["traffic_blocks"]) == (2, 1)
    assert value(samples, "portal_revocations_total", source="abuse") == 1
    assert value(samples, "portal_revocations_total", source="traffic") == 1
    assert not any(name == "portal_revocations_total" and ("source", "staff") in labels for name, labels in samples)
