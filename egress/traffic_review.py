"""An account's port-25 traffic as staff read it: the chart and its table, per address, and events.

One panel for the account's egress page and the reviewer's request page, so both say the same.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from accounts.models import Account
from common.read_only_admin import html_table
from egress.selectors import over_rate_events, traffic_decisions, traffic_per_address
from egress.traffic_chart import traffic_chart


@dataclass(frozen=True)
class TrafficEventRow:
    at: datetime
    what: str
    details: str


def traffic_events(account: Account, *, since: datetime) -> list[TrafficEventRow]:
    """Over-rate sightings and the decisions the traffic policy took, newest first."""
    rows = [
        TrafficEventRow(
            e.observed_at,
            _("Over the rate"),
            _("%(ip)s opened %(n)d new connections in a minute (seen by %(target)s)")
            % {"ip": e.ip, "n": e.connections, "target": e.target},
        )
        for e in over_rate_events(account, since=since)
    ]
    for d in traffic_decisions(account, since=since):
        what = _("Port 25 %(state)s") % {"state": d.get_to_state_display().lower()}
        if d.until:
            what = _("%(what)s until %(until)s") % {"what": what, "until": d.until.strftime("%Y-%m-%d %H:%M UTC")}
        rows.append(TrafficEventRow(d.decided_at, what, d.reason))
    return sorted(rows, key=lambda row: row.at, reverse=True)


def traffic_panel(account: Account, days: int = 30) -> SafeString:
    """The staff panel of the account's last `days` days of port-25 traffic."""
    chart = traffic_chart(account, days)
    first: date = chart.days[0]
    since = datetime.combine(first, time.min, tzinfo=UTC)
    caption = format_html(
        '<p id="traffic-caption">{}</p>',
        _("New port-25 connections per day (UTC), the last %(days)d days; the tables below say the same.")
        % {"days": days},
    )
    if chart.series:
        drawing = format_html('{}<ul class="legend">{}</ul>', chart.svg(), chart.legend())
        headers = [_("day (UTC)"), *chart.series, _("port 25")]
        counted = [(d, *counts, _("closed") if closed else "—") for d, counts, closed in chart.rows() if any(counts)]
        per_day = html_table(headers, counted)
    else:
        drawing, per_day = _("Nothing counted."), ""
    per_address = html_table(
        [_("address"), _("new connections"), _("blocked attempts"), _("over-rate minutes"), _("last day counted")],
        [
            (r["ip"], r["connections"], r["blocked"], r["over_rate"], r["last_day"].astimezone(UTC).date())
            for r in traffic_per_address(account, since=first)
        ],
    )
    events = html_table(
        [_("when"), _("what"), _("details")],
        [(e.at, e.what, e.details) for e in traffic_events(account, since=since)],
    )
    declared = chart.declared
    return format_html(
        '<div class="traffic-panel" data-testid="traffic-panel">{}{}{}<p>{}</p>'
        "<h3>{}</h3>{}<h3>{}</h3>{}</div>",
        caption,
        drawing,
        per_day,
        _("Declared: %(n)d emails a day.") % {"n": declared} if declared else _("No daily volume declared."),
        _("Per address"),
        per_address,
        _("Traffic events"),
        events,
    )
