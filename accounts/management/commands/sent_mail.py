"""`manage.py sent_mail`: the mail the portal kept as .eml files (PORTAL_MAIL_FOLDER), oldest first."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from common.mail_files import sent_mail


class Command(BaseCommand):
    help = "List the mail kept as .eml files (PORTAL_MAIL_FOLDER), oldest first, or print one with --show N."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--show", type=int, metavar="N", help="print the text of message N of the list")

    def handle(self, *args: object, show: int | None = None, **options: object) -> None:
        folder = Path(getattr(settings, "EMAIL_FILE_PATH", "") or "")
        kept = sent_mail(folder) if str(folder) not in ("", ".") else []
        if not kept:
            self.stdout.write(f"No mail kept in {folder or 'any folder'} (set PORTAL_MAIL_FOLDER to keep it).")
            return
        if show is not None:
            path, message = kept[show - 1]
            body = message.get_body(preferencelist=("plain",))
            self.stdout.write(f"{path}\nTo: {message['To']}\nSubject: {message['Subject']}\n\n")
            self.stdout.write(body.get_content() if body else "")
            return
        for n, (path, message) in enumerate(kept, 1):
            self.stdout.write(f"{n:>3}  {message['Date']}  {message['To']}  {message['Subject']}  ({path.name})")
