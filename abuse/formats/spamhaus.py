"""Spamhaus SBL notifications: "IP/cidr: 198.51.100.7/32" lines under an SBL reference.

A listed range is more than one address: one report for each address of it our inventory held
at the time (none held: one report on the range's first address, unmatched).
"""

import ipaddress
import re

from django.utils.translation import gettext as _

from abuse.categories import category_of
from abuse.formats.mail import Mail, parse_date
from abuse.models import ReportFormat
from abuse.reports import ReportInput, Unreadable
from accounts.models import ServerAddress

NAME = ReportFormat.SPAMHAUS
CIDR = re.compile(r"^\s*IP/cidr:\s*([0-9A-Fa-f:.]+(?:/\d{1,3})?)", re.IGNORECASE | re.MULTILINE)
REFERENCE = re.compile(r"\b((?:SBL|CSS|XBL)\d+)\b")
LARGEST_RANGE = 4096  # addresses looked up in the inventory for one listed range
SUMMARY_CHARS = 4000


def recognises(mail: Mail) -> bool:
    text = mail.text()
    return CIDR.search(text) is not None and ("spamhaus" in mail.header("from").lower() or bool(REFERENCE.search(text)))


def parse(mail: Mail) -> list[ReportInput]:
    text = mail.text()
    reference = REFERENCE.search(mail.header("subject")) or REFERENCE.search(text)
    ref = reference.group(1) if reference else mail.header("message-id").strip()
    occurred_at = parse_date(mail.header("date"), mail.notes)
    if occurred_at is None:
        raise Unreadable(_("The Spamhaus notice has no readable Date."))
    category = category_of(NAME, re.sub(r"\d+", "", ref).lower() if reference else "sbl")
    reports = []
    for listed in CIDR.findall(text):
        try:
            network = ipaddress.ip_network(listed, strict=False)
        except ValueError:
            raise Unreadable(_("The listed range %(value)r is not an address or range.") % {"value": listed}) from None
        for ip in _addresses(network, occurred_at):
            reports.append(
                ReportInput(
                    category=category,
                    source_ip=ip,
                    occurred_at=occurred_at,
                    reference=f"{ref}:{ip}"[:255],
                    evidence={"listing": ref, "listed": str(network), "summary": text.strip()[:SUMMARY_CHARS]},
                    format=NAME,
                )
            )
    return reports


def _addresses(network, moment) -> list[str]:
    if network.num_addresses == 1:
        return [str(network.network_address)]
    if network.num_addresses <= LARGEST_RANGE:
        candidates = [str(ip) for ip in network]
        held = ServerAddress.objects.held_at(moment).filter(ip__in=candidates).values_list("ip", flat=True)
        if found := sorted(set(held), key=candidates.index):
            return found
    return [str(network.network_address)]
