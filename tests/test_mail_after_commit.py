"""Finding 3 of the security probe and #15's "mail that can fail without harm", with a real Celery worker,
a real SMTP server on loopback (aiosmtpd) and PostgreSQL and Redis as scripts/test starts them.

Before: mail was sent inside non-robust after-commit hooks. An SMTP server that refused answered 500
after the approval had committed; in the policy's grouped decisions a Subject Django refused (an account
name with CR/LF) dropped every later hook, the firewall dispatch included, which then waited for the
sweep. Now mail is a task queued by a robust hook and retried. The egress sweep is an hour away in these
tests, so a firewall that changes did so through the after-commit dispatch: measured by state, no sleeps.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from abuse import backlog, intake
from abuse.models import Category, Channel, Revocation
from abuse.reports import ReportInput
from accounts.models import Account
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from requests_app import review
from requests_app.models import Status
from tests.abuse_samples import backdate_addresses
from tests.conftest import CUSTOMER_IPS, OTHER_IPS, make_customer
from tests.harnesses.celery_workers import LogSince, SharedWorker, worker_env
from tests.harnesses.live_services import log_tail, wait_for
from tests.loopback import free_port
from tests.parts import first_missing, missing, need_postgres, need_redis
from tests.review_fixtures import awaiting
from tests.test_abuse_worker import allowed

pytestmark = [
    missing(first_missing(need_redis(), need_postgres("a database the worker shares"))),
    pytest.mark.django_db(transaction=True),
    pytest.mark.mail_through_worker,
]


class Mailbox:
    """An SMTP server's behaviour: refuse every sender with `refusal` (while set), else keep the mail."""

    def __init__(self, refusal: str | None = None) -> None:
        self.refusal = refusal
        self.received: list = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refusal:
            return self.refusal
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_on(port: int, mailbox: Mailbox) -> Iterator[None]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def shared_worker(django_db_setup, tmp_path_factory, smtp_port) -> Iterator[SharedWorker]:
    """A worker that sends mail to 127.0.0.1:`smtp_port`, retrying after 1 s, 2 s, 4 s…; no egress sweep."""
    env = {
        **worker_env(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTAL_MAIL_RETRY_SECONDS": "1",
        "PORTAL_EGRESS_SWEEP_SECONDS": "3600",
        "PORTAL_ABUSE_SWEEP_SECONDS": "3600",
    }
    worker = SharedWorker(tmp_path_factory.mktemp("mail-worker"), env, "--hostname", "mail@%h")
    yield worker
    worker.stop()


@pytest.fixture
def worker(shared_worker, transactional_db, settings) -> Iterator[LogSince]:
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_TAKE_IN_INTERVAL = 3600.0  # this process takes the reports in, all in one batch
    with shared_worker.serving() as log:
        yield log


def retried(log: LogSince) -> bool:
    return b"send_mail_task" in log.read_bytes() and b"retry: Retry in" in log.read_bytes()


@pytest.mark.parametrize(
    "refusal",
    ["421 4.3.2 Service not available, closing transmission channel", "451 4.3.0 Local error", None],
    ids=["421", "451", "nobody-listening"],
)
def test_an_approval_stands_and_opens_port_25_while_mail_fails_and_the_mail_follows(
    worker, smtp_port, django_user_model, refusal
):
    customer = make_customer("alice@acme.test", "Acme", "vm-acme-1", CUSTOMER_IPS)
    request = awaiting(customer.membership.account, customer)
    reviewer = django_user_model.objects.create_superuser("rita@provider.test", "pw-not-used")
    mailbox = Mailbox(refusal)

    with smtp_on(smtp_port, mailbox) if refusal else _nothing():
        opened = review.approve(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW)  # returns, no 500

        assert opened is True
        request.refresh_from_db()
        assert request.status == Status.APPROVED
        wait_for(lambda: allowed() == set(CUSTOMER_IPS), 30, log_tail(worker))
        wait_for(lambda: retried(worker), 60, log_tail(worker))
        assert mailbox.received == [], "nothing delivered while the server fails"
        mailbox.refusal = None

    with smtp_on(smtp_port, mailbox):  # the server is back (or there at last)
        wait_for(lambda: mailbox.received, 60, log_tail(worker))
    [message] = mailbox.received
    assert message["To"] == "alice@acme.test" and "Port 25 is open" in message["Subject"]


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _spam_trap_report(ip: str, number: int) -> None:
    report = ReportInput(
        category=Category.SPAMTRAP,
        source_ip=ip,
        occurred_at=timezone.now() - timedelta(minutes=5),
        reference=f"trap-{number}",
        evidence={"text": "Hit on a spam trap."},
    )
    intake.receive(report, raw=b"{}", channel=Channel.JSON, reporter=None)


def test_an_account_name_with_cr_lf_stalls_no_other_account_in_the_same_batch(worker, smtp_port):
    acme = make_customer("alice@acme.test", "Acme", "vm-acme-1", CUSTOMER_IPS).membership.account
    globex = make_customer("bob@globex.test", "Globex", "vm-globex-1", OTHER_IPS).membership.account
    # Stored before sign-up refused control characters (the form refuses it now: test_control_characters.py).
    Account.objects.filter(pk=globex.pk).update(name="Globex\r\nBcc: everyone@example.org")
    for account in (acme, globex):
        backdate_addresses(account, timezone.now() - timedelta(days=30))
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    wait_for(lambda: allowed() == {*CUSTOMER_IPS, *OTHER_IPS}, 30, log_tail(worker))
    mailbox = Mailbox()

    with smtp_on(smtp_port, mailbox):
        _spam_trap_report(OTHER_IPS[0], 1)
        _spam_trap_report(CUSTOMER_IPS[0], 2)
        backlog.match_and_weigh()  # one batch: both accounts decided in one transaction

        assert Revocation.objects.filter(account__in=[acme, globex]).count() == 2
        # Within 30 s while the sweep is an hour away: both closed by the after-commit dispatch.
        wait_for(lambda: allowed() == set(), 30, log_tail(worker))
        wait_for(lambda: len(mailbox.received) == 2, 60, log_tail(worker))

    assert sorted(m["To"] for m in mailbox.received) == ["alice@acme.test", "bob@globex.test"]
    assert all("\n" not in m["Subject"] and "\r" not in m["Subject"] for m in mailbox.received)
    assert not any(m["Bcc"] for m in mailbox.received)


def test_a_password_reset_is_looked_up_and_mailed_by_the_worker(worker, smtp_port):
    """Issue 23.6: the request only queues; the worker finds the account (or none) and mails the link."""
    make_customer("alice@acme.test", "Acme", "vm-acme-1", CUSTOMER_IPS)
    mailbox = Mailbox()

    with smtp_on(smtp_port, mailbox):
        for email in ("nobody@acme.test", "alice@acme.test"):
            assert Client().post(reverse("password_reset"), {"email": email}).status_code == 302
        wait_for(lambda: worker.read_bytes().count(b"mail_password_reset") >= 4, 60, log_tail(worker))
        wait_for(lambda: mailbox.received, 60, log_tail(worker))

    [message] = mailbox.received
    assert message["To"] == "alice@acme.test"
    assert "/accounts/password-reset/" in message.get_payload()
