"""Times as people read them: a moment in the viewer's time zone to the minute, a duration in words.

Not `str(datetime)` (microseconds, UTC) nor `str(timedelta)` (`0:03:25.818893`).
"""

from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.translation import gettext as _

NOTHING = "\u2013"  # an en dash: no value


def moment(value: datetime | None) -> str:
    """`3 Dec 2026, 14:05 CET` (portal/formats): in the zone the viewer's browser reported (common.viewer_timezone)."""
    if value is None:
        return NOTHING
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def duration(value: timedelta | None) -> str:
    """`45 s`, `3 min`, `2 h 10 min`, `3 d 4 h`: two units at most, the larger first."""
    if value is None:
        return NOTHING
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours} if hours else _("%(d)d d") % {"d": days}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes} if minutes else _("%(h)d h") % {"h": hours}
    if minutes:
        return _("%(m)d min") % {"m": minutes}
    return _("%(s)d s") % {"s": seconds}


def ago(value: datetime | None) -> str:
    """`3 min ago`."""
    if value is None:
        return NOTHING
    return _("%(duration)s ago") % {"duration": duration(timezone.now() - value)}
