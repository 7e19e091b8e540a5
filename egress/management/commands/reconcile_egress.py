import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from egress.reconcile import reconcile
from egress.targets import target_names


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a str: translated when the parser is built
        return _(
            "Read what each enforcement target allows, compare it with the database and repair drift both ways."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--target", action="append", help=gettext_lazy("Only this target (repeatable)."))
        parser.add_argument("--json", action="store_true", help=gettext_lazy("Print the result as JSON."))

    def handle(self, *args, **options) -> None:
        names = options["target"] or target_names()
        unknown = sorted(set(names) - set(target_names()))
        if unknown:
            raise CommandError(_("Unknown target(s): %(names)s") % {"names": ", ".join(unknown)})
        drifts = [reconcile(name) for name in names]
        if options["json"]:
            self.stdout.write(json.dumps({"targets": [drift.as_dict() for drift in drifts]}, indent=2))
        else:
            for drift in drifts:
                if drift.error:
                    self.stdout.write(_("%(target)s: failed: %(error)s") % drift.as_dict())
                    continue
                self.stdout.write(
                    _("%(target)s: %(added)d allowed, %(removed)d removed, %(settled)d pending change(s) settled")
                    % {
                        "target": drift.target,
                        "added": len(drift.added),
                        "removed": len(drift.removed),
                        "settled": drift.settled,
                    }
                )
        failed = [drift.target for drift in drifts if drift.error]
        if failed:
            raise CommandError(_("Reconciliation failed for: %(names)s") % {"names": ", ".join(failed)})
