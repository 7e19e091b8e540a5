"""Issue 23's forged-mail and forged-hop attacks replayed end to end: a real Dovecot holds the abuse
mailbox, a real Celery worker (with beat) polls it, weighs the accounts and applies the (simulated)
firewall. The forgeries revoke nobody; a properly signed report of the configured reporter revokes
the customer it names."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from abuse.models import AbuseReport, MailboxMessage, Reporter, Revocation
from accounts.models import ServerAddress
from egress.models import EgressSource, EgressState, SimulatedAllowance
from egress.services import set_desired_state
from tests.abuse_fixtures import fbl_mail, framing_report
from tests.conftest import CUSTOMER_IPS, OTHER_IPS, make_customer
from tests.harnesses.celery_workers import TARGETS, celery_worker, worker_env
from tests.harnesses.dovecot_server import MISSING, Dovecot
from tests.harnesses.live_services import log_tail, wait_for
from tests.parts import first_missing, missing, need_postgres, need_redis

pytestmark = [
    missing(first_missing(MISSING, need_redis(), need_postgres("a database the worker shares"))),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def dovecot():
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def feed_worker(dovecot, loopback_dns, tmp_path, settings):
    """The worker with beat, polling the mailbox every second; DKIM keys from the tests' DNS."""
    settings.PORTAL_EGRESS_TARGETS = TARGETS
    env = {
        **worker_env(),
        **{name: str(value) for name, value in dovecot.settings().items()},
        "PORTAL_ABUSE_IMAP_POLL_SECONDS": "1",
        "PORTAL_DNS_NAMESERVERS": loopback_dns.nameserver,
        "PORTAL_ABUSE_INSTANT_CATEGORIES": "spamtrap,malware,compromised",
        "PORTAL_EGRESS_TARGETS": json.dumps(TARGETS),
    }
    beat = ["--beat", "--schedule", str(tmp_path / "beat-schedule")]
    with celery_worker(tmp_path / "worker.log", env, *beat, "--hostname", "feed@%h") as log:
        yield log


def allowed() -> set[str]:
    return set(SimulatedAllowance.objects.values_list("ip", flat=True))


def test_forged_mail_and_forged_hops_revoke_nobody_and_a_signed_report_revokes(
    feed_worker, dovecot, bigmail_signer, attacker_signer
):
    Reporter.objects.create(name="Bigmail feedback loop", signing_domains="bigmail.example")
    victim = make_customer("victim@acme.test", "Victim", "vm-victim", CUSTOMER_IPS).membership.account
    spammer = make_customer("spam@spam.test", "Spammer", "vm-spam", OTHER_IPS).membership.account
    ServerAddress.objects.update(assigned_at=timezone.now() - timedelta(days=1))  # reports name whole seconds
    for account in (victim, spammer):
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="Request approved.")
    wait_for(lambda: allowed() == {*CUSTOMER_IPS, *OTHER_IPS}, 30, log_tail(feed_worker))
    framed, now = CUSTOMER_IPS[0], timezone.now()

    forgeries = [
        fbl_mail(framed, sender="fbl-noreply@bigmail.example", number=1),  # the probe's repro: unsigned
        attacker_signer.sign(fbl_mail(framed, number=2)),  # signed, by a domain that is no reporter's
        bigmail_signer.sign(fbl_mail("192.0.2.200", number=3)).replace(b"192.0.2.200", framed.encode()),
        *(bigmail_signer.sign(framing_report(framed, number, now)) for number in range(10)),  # forged hops
    ]
    dovecot.deliver(*forgeries, bigmail_signer.sign(fbl_mail(OTHER_IPS[0], number=4)))

    wait_for(lambda: OTHER_IPS[0] not in allowed(), 60, log_tail(feed_worker))
    wait_for(lambda: MailboxMessage.objects.count() == len(forgeries) + 1, 30, log_tail(feed_worker))

    assert set(CUSTOMER_IPS) <= allowed(), "the victim's port 25 stays open"
    assert list(Revocation.objects.values_list("account", flat=True)) == [spammer.pk]
    assert AbuseReport.objects.filter(account=victim, unverified=True).count() == 3, "kept for the desk"
    assert AbuseReport.objects.filter(source_ip="198.51.100.23").count() == 10, "the real sender, not the framed one"
    assert dovecot.count("INBOX") == 0
