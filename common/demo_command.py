"""The demo data commands' one guard: they create log-ins with a published password, so they refuse to run
outside DEBUG unless told `--force`."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class DemoDataCommand(BaseCommand):
    """A management command that loads demo data; its `handle` runs only under DEBUG or with `--force`."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help=_("Run even when DEBUG is off."))

    def execute(self, *args: Any, **options: Any) -> str | None:
        if not settings.DEBUG and not options.get("force"):
            raise CommandError(_("This command creates log-ins with a published password; use --force outside DEBUG."))
        return super().execute(*args, **options)
