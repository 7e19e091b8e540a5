"""Times as people read them: no microseconds, the viewer's zone, durations in two units at most."""

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from common.display_time import ago, duration, moment
from common.read_only_admin import html_table

AT = datetime(2026, 11, 28, 22, 43, 23, 290435, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (45, "45 s"), (205.818893, "3 min"), (7_800, "2 h 10 min"), (7_200, "2 h"), (273_600, "3 d 4 h")],
)
def test_durations_read_as_words(seconds, words):
    assert duration(timedelta(seconds=seconds)) == words


def test_a_moment_is_in_the_viewers_zone_to_the_minute():
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        assert moment(AT) == "28 Nov 2026, 23:43 CET"
    assert moment(AT) == "28 Nov 2026, 22:43 UTC"


def test_ago_counts_from_now():
    with time_machine.travel(AT + timedelta(minutes=3, seconds=20), tick=False):
        assert ago(AT) == "3 min ago"


def test_admin_tables_show_moments_not_raw_datetimes():
    table = str(html_table(["when"], [(AT,)]))
    assert "28 Nov 2026, 22:43 UTC" in table and ".290435" not in table
