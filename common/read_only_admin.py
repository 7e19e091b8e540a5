"""Admin building blocks for records staff read but never edit (audit logs, histories, evidence)."""

from datetime import datetime

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from common.display_time import moment


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records nobody edits through the admin, superusers included."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _cell(value: object) -> object:
    return moment(value) if isinstance(value, datetime) else value


def html_table(headers: list, rows: list[tuple]) -> SafeString | str:
    """A small table of related rows for a read-only field; every cell escaped."""
    if not rows:
        return _("None")
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((_cell(cell),) for cell in row)),) for row in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)
