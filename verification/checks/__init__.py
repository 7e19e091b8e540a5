"""The checks, in the order the customer sees them. Each is `run(subject, deadline) -> Outcome`."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from verification.checks import (
    account_signals,
    dnsbl,
    domain_auth,
    relay_probe,
    reverse_dns,
    template_content,
    unsubscribe_link,
)
from verification.outcome import CheckSubject, Deadline, Outcome


def _always(subject: CheckSubject) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    name: str
    label: Promise
    run: Callable[[CheckSubject, Deadline], Outcome]
    applies: Callable[[CheckSubject], bool] = _always
    # A failure the customer must fix before a person reviews the request.
    blocking: bool = False

    @property
    def timeout(self) -> float:
        """Seconds this check may take; the pipeline records `error` when it takes longer."""
        if self.name == "relay_probe":
            return settings.PORTAL_SMTP_PROBE_DEADLINE
        return settings.PORTAL_CHECK_TIMEOUT


CHECKS = (
    Check("relay_probe", _("Open relay test of your mail server"), relay_probe.check, blocking=True),
    Check("reverse_dns", _("Reverse DNS of the sending IP"), reverse_dns.check),
    Check("ip_blocklists", _("Blocklists: sending IP"), dnsbl.check_ip),
    Check("domain_blocklists", _("Blocklists: your domains"), dnsbl.check_domains),
    Check("domain_auth", _("SPF, DMARC and MX of the sending domain"), domain_auth.check, blocking=True),
    Check(
        "unsubscribe_link",
        _("Unsubscribe link"),
        unsubscribe_link.check,
        applies=unsubscribe_link.applies,
        blocking=True,
    ),
    Check("template_content", _("Example email"), template_content.check, applies=template_content.applies),
    Check("account_signals", _("Account history"), account_signals.check),
)
BY_NAME = {check.name: check for check in CHECKS}


def check_label(name: str) -> str:
    """The check's name as people read it ("Reverse DNS of the sending IP"); a retired check keeps its code."""
    return str(BY_NAME[name].label) if name in BY_NAME else name


def applicable(subject: CheckSubject) -> list[Check]:
    return [check for check in CHECKS if check.applies(subject)]
