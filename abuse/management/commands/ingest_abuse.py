import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abuse import intake
from abuse.mailfiles import messages_in
from abuse.models import Reporter


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a str: translated when the parser is built
        return _(
            "Take in abuse reports (ARF, X-ARF, Microsoft, SpamCop, Spamhaus, XARF v4) from .eml files, "
            "mboxes, Maildirs or .json XARF files."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "files", nargs="+", type=Path, help=gettext_lazy("An .eml file, an mbox, a Maildir or a .json XARF file.")
        )
        parser.add_argument("--json", action="store_true", help=gettext_lazy("Print one JSON object per message."))
        parser.add_argument(
            "--reporter",
            default="Mail feed",
            help=gettext_lazy("Name of the reporter the reports come from (created if new)."),
        )

    def handle(self, *args, **options) -> None:
        missing = [str(path) for path in options["files"] if not path.exists()]
        if missing:
            raise CommandError(_("No such file or folder: %(paths)s") % {"paths": ", ".join(missing)})
        reporter, _created = Reporter.objects.get_or_create(name=options["reporter"])
        for path in options["files"]:
            for label, raw in messages_in(path):
                for result in intake.ingest(raw, reporter=reporter):
                    self._print(label, result, options["json"])

    def _print(self, label: str, result: intake.Result, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({"file": label, **result.as_dict()}))
            return
        line = f"{label}: {result.status}"
        if result.source_ip:
            line += f" {result.source_ip}"
        if result.account:
            line += " " + _("account %(account)s") % {"account": result.account}
        if result.reason:
            line += f" ({result.reason})"
        self.stdout.write(line)
