"""Demo data of the abuse desk: an open account whose last re-check found its address on a blocklist, and
an account whose port 25 a spam-trap report closed (revoked by the policy, as a reporter's report would)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from abuse import intake
from abuse.models import Channel, Reporter
from abuse.reports import ReportInput
from accounts.management.commands.seed_demo import DEMO_PASSWORD
from accounts.models import Membership, User
from accounts.services import record_server, register_customer
from common.demo_command import DemoDataCommand
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from verification import recheck
from verification.models import FindingKind, RecheckFinding

OPEN_EMAIL = "open@demo.test"
LISTED_IP = "203.0.113.25"
ZONE = "bl.spamcop.net"
DOMAIN = "demo-newsletter.example.net"
REVOKED_EMAIL = "revoked@demo.test"
REVOKED_IP = "203.0.113.35"


class Command(DemoDataCommand):
    @property
    def help(self) -> str:  # argparse needs a str: translated when the parser is built
        return _(
            "Create a demo customer whose port 25 is open and whose address a re-check found listed, and one "
            "revoked after a spam-trap report. Idempotent."
        )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if not User.objects.filter(email=OPEN_EMAIL).exists():
            register_customer(OPEN_EMAIL, DEMO_PASSWORD, "Demo Newsletter GmbH")
        account = Membership.objects.get(user__email=OPEN_EMAIL).account
        record_server(account, "demo-vm-2", "mx.demo-newsletter.example.net", [LISTED_IP])
        set_desired_state(
            account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="Demo: port 25 open.", sending_domain=DOMAIN
        )
        recheck.watch({LISTED_IP: (account.pk, DOMAIN)})
        if not RecheckFinding.objects.current().filter(ip=LISTED_IP).exists():
            now = timezone.now()
            RecheckFinding.objects.create(
                ip=LISTED_IP,
                account=account,
                kind=FindingKind.LISTED,
                source=ZONE,
                summary=f"{ZONE}: listed",
                detail={"codes": ["127.0.0.2"], "delist_url": "https://www.spamcop.net/bl.shtml"},
                first_seen=now,
                last_seen=now,
            )
        self.stdout.write(
            f"  customer  {OPEN_EMAIL}       (port 25 open; a re-check found {LISTED_IP} on {ZONE}: /abuse/)"
        )
        if not User.objects.filter(email=REVOKED_EMAIL).exists():
            _revoked()
        self.stdout.write(f"  customer  {REVOKED_EMAIL}    (revoked after a spam-trap report: /abuse/)")


def _revoked() -> None:
    """An account open on port 25 whose address hit a spam trap: the policy revokes it once this commits."""
    account = register_customer(REVOKED_EMAIL, DEMO_PASSWORD, "Compromised Webshop GmbH").membership.account
    record_server(account, "demo-vm-3", "shop.compromised-webshop.example.com", [REVOKED_IP])
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="Demo: port 25 open.")
    reporter, _created = Reporter.objects.get_or_create(name="Demo spam-trap network")
    report = ReportInput(
        category="spamtrap",
        source_ip=REVOKED_IP,
        occurred_at=timezone.now(),  # the address is held from now on: the report must fall after that
        reference="demo-spamtrap-1",
        reported_domain="compromised-webshop.example.com",
        evidence={"summary": "Mail to a spam-trap address that never signed up for anything."},
    )
    intake.accept(report, raw=b'{"demo": "spam-trap report"}', channel=Channel.JSON, reporter=reporter)
