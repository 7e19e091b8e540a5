"""Source IP to account as the inventory stood at the report's time: addresses move between accounts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from abuse import intake
from abuse.backlog import match_and_weigh
from abuse.models import AbuseReport, Channel
from abuse.reports import ReportInput
from accounts.models import Account, ServerAddress
from accounts.services import delete_server, record_server
from tests.conftest import make_customer

IP = "203.0.113.50"


@pytest.fixture
def moved(db) -> tuple[Account, Account]:
    """IP was Acme's from 10 days ago until 2 days ago, then Globex's."""
    acme = make_customer("a@acme.test", "Acme", "vm-acme", [IP]).membership.account
    globex = make_customer("b@globex.test", "Globex", "vm-globex", ["203.0.113.51"]).membership.account
    record_server(globex, "vm-globex", "vm-globex.example.com", ["203.0.113.51", IP])
    now = timezone.now()
    ServerAddress.objects.filter(server__account=acme, ip=IP).update(
        assigned_at=now - timedelta(days=10), released_at=now - timedelta(days=2)
    )
    ServerAddress.objects.filter(server__account=globex).update(assigned_at=now - timedelta(days=2))
    return acme, globex


def report_at(days_ago: float, ip: str = IP) -> intake.Result:
    report = ReportInput(
        category="spam",
        source_ip=ip,
        occurred_at=timezone.now() - timedelta(days=days_ago),
        evidence={"n": days_ago},
    )
    return intake.accept(report, raw=b"{}", channel=Channel.JSON)


def test_a_report_from_before_the_move_is_about_the_old_holder(moved):
    acme, _globex = moved

    result = report_at(5)

    assert (result.status, result.account) == (intake.ACCEPTED, str(acme.reference))
    report = AbuseReport.objects.get()
    assert report.account == acme and report.address.released_at is not None


def test_a_report_from_after_the_move_is_about_the_new_holder(moved):
    _acme, globex = moved

    assert report_at(1).account == str(globex.reference)


def test_a_report_from_before_anyone_held_the_address_is_unmatched_and_listed(moved):
    result = report_at(20)

    assert (result.status, result.account) == (intake.UNMATCHED, None)
    assert AbuseReport.objects.get().account is None


def test_the_moment_of_the_move_belongs_to_the_new_holder(moved):
    _acme, globex = moved
    moment = ServerAddress.objects.get(server__account=globex, ip=IP).assigned_at
    report = ReportInput(category="spam", source_ip=IP, occurred_at=moment)

    assert intake.accept(report, raw=b"{}", channel=Channel.JSON).account == str(globex.reference)


def test_a_deleted_server_is_still_held_to_account_for_its_past(db):
    account = make_customer("c@initech.test", "Initech", "vm-init", ["2001:db8::50"]).membership.account
    ServerAddress.objects.update(assigned_at=timezone.now() - timedelta(days=3))
    delete_server(account.servers.get())
    ServerAddress.objects.update(released_at=timezone.now() - timedelta(days=1))

    assert report_at(2, ip="2001:db8::50").account == str(account.reference)
    assert report_at(0.5, ip="2001:db8::50").status == intake.UNMATCHED


def test_the_worker_matches_a_batch_by_the_same_rule(moved):
    acme, globex = moved
    for days_ago in (20, 5, 1):
        report = ReportInput(category="spam", source_ip=IP, occurred_at=timezone.now() - timedelta(days=days_ago))
        intake.receive(report, raw=b"{}", channel=Channel.JSON, reporter=None)

    assert match_and_weigh()[0] == 3

    matched = AbuseReport.objects.order_by("occurred_at").values_list("account", flat=True)
    assert list(matched) == [None, acme.pk, globex.pk]
    assert AbuseReport.objects.unmatched().count() == 1
