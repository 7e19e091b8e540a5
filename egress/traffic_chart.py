"""The customer's port-25 traffic chart: connections per day per address, drawn on the server as SVG.

No script and no CDN: the SVG is part of the page (the CSP allows it), and a table beside it says the
same for screen readers and for anyone who prefers numbers.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import Account
from egress.selectors import blocks_since, daily_connections
from requests_app.selectors import declared_daily_volume

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 220, 56, 12, 12, 28
COLOURS = ("#1f5fa8", "#b35900", "#2e7d32", "#7b3fa0", "#00838f", "#6d4c41")  # distinguishable, AA on white


@dataclass(frozen=True)
class TrafficChart:
    days: list[date]
    series: dict[str, list[int]]  # address -> connections on each of `days`
    declared: int | None  # emails a day the approved request declared
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
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>', LEFT, y(0), WIDTH - RIGHT, y(0)
            ),
            format_html('<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>', LEFT - 6, y(0) + 4, 0),
            format_html('<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>', LEFT - 6, y(top) + 4, top),
            format_html('<text x="{}" y="{}" class="tick">{}</text>', LEFT, HEIGHT - 8, self.days[0].isoformat()),
            format_html(
                '<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>',
                WIDTH - RIGHT,
                HEIGHT - 8,
                self.days[-1].isoformat(),
            ),
        ]
        parts += [
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" class="blocked"><title>{}</title></rect>',
                round(x(i) - step / 2, 1),
                TOP,
                round(step, 1),
                plot_h,
                _("Port 25 closed on %(day)s") % {"day": day.isoformat()},
            )
            for i, day in enumerate(self.days)
            if day in self.blocked_days
        ]
        if self.declared:
            parts.append(
                format_html(
                    '<line x1="{}" y1="{}" x2="{}" y2="{}" class="declared"><title>{}</title></line>',
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
            '<svg viewBox="0 0 {} {}" class="traffic-chart" role="img" aria-labelledby="traffic-caption">{}</svg>',
            WIDTH,
            HEIGHT,
            mark_safe("".join(parts)),  # noqa: S308 - every part built by format_html above
        )

    def legend(self) -> SafeString:
        return format_html_join(
            "",
            '<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="{}"/>'
            "</svg>{}</li>",
            ((COLOURS[n % len(COLOURS)], address) for n, address in enumerate(self.series)),
        )


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
        declared=declared_daily_volume(account),
        blocked_days={decision.decided_at.astimezone(UTC).date() for decision in closed},
    )
