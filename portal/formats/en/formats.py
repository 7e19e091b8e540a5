"""Dates as the portal shows them in English: to the minute, 24-hour, with the zone's name.

`3 Dec 2026, 14:05 CET` instead of Django's `Dec. 3, 2026, 2:05 p.m.` (whose full stops doubled
at the end of a sentence). Templates' `date` filter and the admin convert to the viewer's zone first.
"""

DATETIME_FORMAT = "j M Y, H:i T"
DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
