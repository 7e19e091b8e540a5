"""The port-25 traffic chart (customer page, staff admin): connections per day per address as SVG.

Drawn on the server, no script and no CDN: the SVG is part of the page (the CSP allows it), and a
table beside it says the same for screen readers and for anyone who prefers numbers.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import Account
from egress.selectors import blocks_since, daily_connections, desired_egress

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 220, 56, 12, 12, 28
BLOCKED_FILL = mark_safe('fill="#c62828" fill-opacity="0.15"')  # also the legend's swatch
COLOURS = ("#1f5fa8", "#b35900", "#2e7d32", "#7b3fa0", "#00838f", "#6d4c41")  # distinguishable, AA on white


@dataclass(frozen=True)
class TrafficChart:
    days: list[date]
    series: dict[str, list[int]]  # address -> connections on each of `days`
    declared: int | None  # emails a day the opening of port 25 expects (its request's declaration)
    blocked_days: set[date] = field(default_factory=set)

    def rows(self) -> list[tuple[date, list[int], bool]]:
        """One row per day for the table: the day, each address's count (in `series` order), blocked that day."""
        return [
            (day, [counts[i] for counts in self.series.values()], day in self.blocked_days)
            for i, day in enumerate(self.days)
        ]

    def svg(self) -> SafeString:
        top = max([1, self.declared or 0, *(max(counts) for counts in self.series.values())])
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        step = plot_w / max(1, len(self.days) - 1)

        def x(i: int) -> float:
            return round(LEFT + i * step, 1)

        def y(value: float) -> float:
            return round(TOP + plot_h * (1 - value / (top * 1.1)), 1)

        parts = [
            format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#555"/>', LEFT, y(0), WIDTH - RIGHT, y(0)),
            _label(LEFT - 6, y(0) + 4, 0, "end"),
            _label(LEFT - 6, y(top) + 4, top, "end"),
            _label(LEFT, HEIGHT - 8, self.days[0].isoformat()),
            _label(WIDTH - RIGHT, HEIGHT - 8, self.days[-1].isoformat(), "end"),
        ]
        parts += [
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" {}><title>{}</title></rect>',
                round(x(i) - step / 2, 1),
                TOP,
                round(step, 1),
                plot_h,
                BLOCKED_FILL,
                _("Port 25 closed on %(day)s") % {"day": day.isoformat()},
            )
            for i, day in enumerate(self.days)
            if day in self.blocked_days
        ]
        if self.declared:
            parts.append(
                format_html(
                    '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#333" stroke-width="1.5" stroke-dasharray="6 4">'
                    "<title>{}</title></line>",
                    LEFT,
                    y(self.declared),
                    WIDTH - RIGHT,
                    y(self.declared),
                    _("Declared: %(n)d emails a day") % {"n": self.declared},
                )
            )
        for n, (address, counts) in enumerate(self.series.items()):
            points = " ".join(f"{x(i)},{y(value)}" for i, value in enumerate(counts))
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"><title>{}</title></polyline>',
                    points,
                    COLOURS[n % len(COLOURS)],
                    address,
                )
            )
        return format_html(
            # No width or height: the drawing scales to its container (CSS .traffic-chart), never past it.
            '<svg viewBox="0 0 {} {}" class="traffic-chart" role="img" aria-labelledby="traffic-caption">{}</svg>',
            WIDTH,
            HEIGHT,
            mark_safe("".join(parts)),  # noqa: S308 - every part built by format_html above
        )

    def legend(self) -> SafeString:
        swatch = '<li><svg class="swatch" viewBox="0 0 10 10" width="10" height="10" aria-hidden="true">'
        items = [
            format_html(swatch + '<rect width="10" height="10" fill="{}"/></svg>{}</li>', COLOURS[n % len(COLOURS)], ip)
            for n, ip in enumerate(self.series)
        ]
        if self.blocked_days:
            closed = _("port 25 closed")
            items.append(format_html(swatch + '<rect width="10" height="10" {}/></svg>{}</li>', BLOCKED_FILL, closed))
        return mark_safe("".join(items))  # noqa: S308 - every item built by format_html


def _label(x: float, y: float, text: object, anchor: str = "start") -> SafeString:
    return format_html('<text x="{}" y="{}" font-size="11" fill="#333" text-anchor="{}">{}</text>', x, y, anchor, text)


def traffic_chart(account: Account, days: int) -> TrafficChart:
    """The last `days` days (UTC) of the account's port-25 connections, its declared volume and its blocks."""
    today = timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    span = [first + timedelta(days=i) for i in range(days)]
    counted = daily_connections(account, since=first)
    series = {ip: [per_day.get(day, 0) for day in span] for ip, per_day in sorted(counted.items())}
    closed = blocks_since(account, datetime.combine(first, time.min, tzinfo=UTC))
    return TrafficChart(
        days=span,
        series=series,
        declared=desired_egress(account).expected_daily_volume,
        blocked_days={decision.decided_at.astimezone(UTC).date() for decision in closed},
    )
