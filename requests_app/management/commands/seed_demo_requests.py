"""Demo data of the review desk: a request in each state, with its checks, conversation and traffic.

So that the queue, the request page and the egress pages show real content at first look. The
checks' results are recorded as the worker would record them (verification.services), with the
sentences the checks write; everything else goes through the same services staff and customers use.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.management.commands.seed_demo import DEMO_PASSWORD, REVIEWER_EMAIL
from accounts.models import Account, User
from accounts.services import record_server, register_customer
from common.demo_command import DemoDataCommand
from egress.models import BucketSize, TrafficCount
from requests_app import review
from requests_app.check_flow import finish, start_checks
from requests_app.models import UnblockRequest
from requests_app.services import submit_request
from verification import services
from verification.models import CheckRun
from verification.outcome import Outcome, Verdict

# (login, account, ip, domain, the state it ends in)
DEMO_REQUESTS = (
    ("waiting@demo.test", "Lindqvist Consulting AB", "203.0.113.31", "lindqvist-consulting.example.com", "review"),
    ("question@demo.test", "Okafor Family", "203.0.113.32", "okafor-family.example.net", "needs_info"),
    ("approved@demo.test", "Brightwater Bakery Ltd", "203.0.113.33", "brightwater-bakery.example.org", "approved"),
    ("rejected@demo.test", "Bulk Blast Marketing", "203.0.113.34", "bulk-blast.example.com", "rejected"),
)


def _outcomes(ip: str, domain: str) -> dict[str, Outcome]:
    """What the checks would say of a well-kept server whose SPF ends neutrally."""
    return {
        "relay_probe": Outcome(
            Verdict.PASS,
            f"Your mail server refuses to relay: it answered “454 4.7.1 Relay access denied” to "
            f"<relay-test@example.net>. ({ip})",
        ),
        "reverse_dns": Outcome(Verdict.PASS, f"Reverse DNS of {ip} is mail.{domain} and points back to it."),
        "ip_blocklists": Outcome(Verdict.PASS, f"{ip} is on none of the blocklists we check."),
        "domain_blocklists": Outcome(Verdict.PASS, f"{domain} is on none of the blocklists we check."),
        "domain_auth": Outcome(
            Verdict.WARN, f"The SPF record of {domain} authorises your server but ends neutrally; end it with “-all”."
        ),
    }


class Command(DemoDataCommand):
    @property
    def help(self) -> str:
        return _("Create demo requests in each state (review, question, approved, rejected). Idempotent.")

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        reviewer = User.objects.get(email=REVIEWER_EMAIL)
        for email, name, ip, domain, state in DEMO_REQUESTS:
            if User.objects.filter(email=email).exists():
                continue
            account = register_customer(email, DEMO_PASSWORD, name).membership.account
            record_server(account, f"demo-{ip}", f"mail.{domain}", [ip])
            account.record_verification("identity", None)
            account.record_verification("payment", None)
            request = self._checked(account, email, ip, domain, state)
            self._decide(request, reviewer, state, ip)
            self.stdout.write(f"  customer  {email:<22} (request #{request.pk}: {state})")

    def _checked(self, account: Account, email: str, ip: str, domain: str, state: str) -> UnblockRequest:
        """A request filed, its checks run and recorded as the worker would: awaiting review."""
        user = User.objects.get(email=email)
        marketing = state == "rejected"
        answers = {
            "company_name": account.name,
            "company_website": f"https://www.{domain}/" if marketing else "",
            "sending_domain": domain,
            "daily_volume": 9000 if marketing else 40,
            "use_case": "marketing" if marketing else "personal",
            "use_case_description": (
                "Promotional mail to purchased lists." if marketing else "Our own mail server for a few people."
            ),
            "optin_description": "Lists bought from partners." if marketing else "",
            "email_template": "<p>HUGE SALE!!! Click now</p>" if marketing else "",
            "unsubscribe_url": f"https://www.{domain}/unsubscribe" if marketing else "",
            "mail_software": "postfix",
            "mail_software_other": "",
            "mail_server_hostname": f"mail.{domain}",
            "mail_server_ip": ip,
            "threat_mitigation": "ClamAV and rspamd on all outbound mail; fail2ban on SASL log-ins.",
        }
        request = submit_request(account, user, answers)
        run = start_checks(request, CheckRun.Trigger.SUBMITTED, None)
        outcomes = _outcomes(ip, domain)
        for result in run.results.all():
            outcome = outcomes.get(result.check_name, Outcome(Verdict.PASS, _("Nothing to fix.")))
            services.record_result(run, result.check_name, outcome, 850)
        finish(run, request.pk)
        return UnblockRequest.objects.get(pk=request.pk)

    def _decide(self, request: UnblockRequest, reviewer: User, state: str, ip: str) -> None:
        if state == "needs_info":
            review.ask_for_information(
                request.pk,
                reviewer,
                expected_status=request.status,
                question="Which people will send mail through this server, and from which addresses?",
            )
        elif state == "approved":
            review.approve(request.pk, reviewer, expected_status=request.status, note="A small, well-kept server.")
            _traffic(request.account, ip)
        elif state == "rejected":
            review.reject(
                request.pk,
                reviewer,
                expected_status=request.status,
                reason=None,
                text="Purchased lists are not consent: we cannot open port 25 for this mail.",
            )


def _traffic(account: Account, ip: str) -> None:
    """Thirty days of port-25 connections, as the collector would have counted them."""
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    TrafficCount.objects.bulk_create(
        TrafficCount(
            size=BucketSize.DAY,
            start=today - timedelta(days=days),
            target="default",
            ip=ip,
            account=account,
            connections=25 + (days * 7) % 30,
        )
        for days in range(30)
    )
