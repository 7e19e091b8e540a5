import json
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from egress.selectors import egress_report


def find_account(given: str) -> Account:
    """An account by its ID (UUID), its number, or its exact name."""
    try:
        return Account.objects.get(reference=uuid.UUID(given))
    except (ValueError, Account.DoesNotExist):
        pass
    if given.isdigit() and (account := Account.objects.filter(pk=int(given)).first()):
        return account
    matches = list(Account.objects.filter(name=given)[:2])
    if len(matches) != 1:
        message = (
            _("Several accounts are named %(given)r; give the account ID.")
            if matches
            else _("No account has the ID, number or name %(given)r.")
        )
        raise CommandError(message % {"given": given})
    return matches[0]


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a str: translated when the parser is built
        return _("Show an account's port 25: desired state, actual state per address and target, owed changes.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("account", help=gettext_lazy("Account ID (UUID), number or exact name."))
        parser.add_argument("--json", action="store_true", help=gettext_lazy("Print the result as JSON."))

    def handle(self, *args, **options) -> None:
        report = egress_report(find_account(options["account"]))
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        desired = report["desired"]
        self.stdout.write(_("Account: %(name)s (%(reference)s)") % report["account"])
        self.stdout.write(
            _("Desired: %(state)s (source: %(source)s, since %(changed_at)s) %(reason)s")
            % {**desired, "changed_at": desired["changed_at"] or "—"}
        )
        for target in report["targets"]:
            if target["error"]:
                self.stdout.write(_("Target %(target)s: unreadable: %(error)s") % target)
                continue
            verdict = _("in sync") if target["in_sync"] else _("DRIFT")
            self.stdout.write(_("Target %(target)s: %(verdict)s") % {"target": target["target"], "verdict": verdict})
            for ip, state in target["addresses"].items():
                self.stdout.write(f"  {ip}: {state}")
        if not report["addresses"]:
            self.stdout.write(_("No active addresses."))
        for change in report["open_changes"]:
            self.stdout.write(
                _("Owed to %(target)s: %(status)s, %(attempts)d attempt(s), next %(next_attempt_at)s %(last_error)s")
                % change
            )
