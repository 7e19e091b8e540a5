"""`manage.py egress_traffic ACCOUNT`: what the enforcement points counted, beside what was declared."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from egress.management.commands.egress_status import find_account
from egress.selectors import desired_egress, traffic_report


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a str: translated when the parser is built
        return _(
            "Show an account's port-25 traffic: connections and blocked attempts per address, target and "
            "bucket, over-rate events, and the declared daily volume beside the observed one."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument("account", help=gettext_lazy("Account ID (UUID), number or exact name."))
        parser.add_argument("--hours", type=int, default=24, help=gettext_lazy("How far back (default 24)."))
        parser.add_argument("--json", action="store_true", help=gettext_lazy("Print the result as JSON."))

    def handle(self, *args, **options) -> None:
        if options["hours"] < 1:
            raise CommandError(_("--hours must be at least 1."))
        account = find_account(options["account"])
        report = traffic_report(account, hours=options["hours"])
        report["declared_daily_volume"] = desired_egress(account).expected_daily_volume
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self._print(report)

    def _print(self, report: dict) -> None:
        write = self.stdout.write
        write(_("Account: %(name)s (%(reference)s)") % report["account"])
        declared = report["declared_daily_volume"]
        write(
            _("Declared: %(n)s emails a day") % {"n": declared}
            if declared is not None
            else _("Declared: nothing (no approved request said)")
        )
        for day in report["per_day"]:
            write(_("  %(day)s: %(connections)d connections, %(blocked)d blocked attempts") % day)
        write(_("Last %(hours)d hours, per %(bucket)s:") % report)
        if not report["addresses"]:
            write(_("  nothing counted"))
        for address in report["addresses"]:
            write(f"  {address['ip']} ({address['target']})")
            for bucket in address["buckets"]:
                write(
                    _("    %(start)s  %(connections)d connections, %(blocked)d blocked, %(over_rate)d over rate")
                    % bucket
                )
        for event in report["over_rate_events"]:
            write(
                _("Over the rate: %(ip)s at %(at)s via %(target)s, %(connections_in_minute)d connections that minute")
                % event
            )
