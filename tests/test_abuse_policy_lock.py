"""The policy's lock, on PostgreSQL: while it decides about an account (FOR NO KEY UPDATE of the
account's row), a new report of that account is still taken in; a FOR UPDATE lock would hold every
insert that refers to the account until the decision commits."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from abuse import backlog, intake, notifications, policy
from abuse.models import PolicyOutcome
from abuse.reports import ReportInput
from accounts.models import ServerAddress
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from tests.conftest import make_customer
from tests.parts import missing, need_postgres

IP = "203.0.113.40"


def report(reference: str) -> ReportInput:
    return ReportInput(category="spam", source_ip=IP, occurred_at=timezone.now(), reference=reference)


@missing(need_postgres("row locks"))
@pytest.mark.django_db(transaction=True)
def test_a_report_is_taken_in_while_the_policy_decides_about_its_account(settings, monkeypatch):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_REVOKE_AFTER, settings.PORTAL_ABUSE_WARN_AFTER = 3, 1
    account = make_customer("lock@t.test", "Lock", "vm-lock", [IP]).membership.account
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    ServerAddress.objects.update(assigned_at=timezone.now() - timedelta(days=7))
    intake.receive(report("first"), raw=b"{}", channel="json", reporter=None)
    _matched, to_warn = backlog.match_and_weigh()
    taken_in: dict[str, object] = {}

    def take_in_another_report() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # Foreign keys checked (the account's row locked FOR KEY SHARE) by the insert, as they
                    # would be at its commit; the transaction is rolled back, for its own weighing after
                    # the commit would wait for the policy's lock, rightly.
                    cursor.execute("SET LOCAL lock_timeout = '5s'")
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                taken_in["report"] = intake.accept(report("second"), raw=b"{}", channel="json").report_id
                transaction.set_rollback(True)
        except Exception as exc:  # handed to the test's thread
            taken_in["error"] = exc
        finally:
            connection.close()

    mail_warnings = notifications.warned

    def warned_while_the_lock_is_held(warnings: list) -> None:
        other = threading.Thread(target=take_in_another_report)
        other.start()
        other.join(60)
        mail_warnings(warnings)

    monkeypatch.setattr(notifications, "warned", warned_while_the_lock_is_held)

    [decision] = policy.decide_each(to_warn)

    assert decision.outcome == PolicyOutcome.WARN
    assert "error" not in taken_in, taken_in
    assert taken_in["report"]
