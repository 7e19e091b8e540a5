"""`manage.py simulate_traffic TARGET ADDRESS COUNT`: feed the `simulated` firewall traffic (demos, tests)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_ipv46_address
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from egress.adapters.http import canonical
from egress.adapters.simulated import simulate_connections


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a str: translated when the parser is built
        return _(
            "Count new port-25 connections from an address on a simulated target, as its firewall would: "
            "connections if the address is allowed there, blocked attempts if not. The collector reads them."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument("target", help=gettext_lazy("A target with the simulated backend."))
        parser.add_argument("address", help=gettext_lazy("The source address (IPv4 or IPv6)."))
        parser.add_argument("count", type=int, help=gettext_lazy("How many new connections."))
        parser.add_argument(
            "--over-rate", action="store_true", help=gettext_lazy("Also put the source in the over-rate set.")
        )

    def handle(self, *args, **options) -> None:
        target, address, count = options["target"], options["address"], options["count"]
        configured = settings.PORTAL_EGRESS_TARGETS.get(target)
        if configured is None or configured.get("backend", "simulated") != "simulated":
            raise CommandError(_("%(target)r is not a target with the simulated backend.") % {"target": target})
        try:
            validate_ipv46_address(address)
        except ValidationError:
            raise CommandError(_("%(address)r is not an IP address.") % {"address": address}) from None
        if count < 0:
            raise CommandError(_("The count cannot be negative."))
        allowed = simulate_connections(target, canonical(address), count, over_rate=options["over_rate"])
        what = _("connections") if allowed else _("blocked attempts")
        self.stdout.write(_("%(target)s: %(count)d %(what)s from %(address)s counted.") % {**options, "what": what})
