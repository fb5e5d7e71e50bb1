"""The occupancy timeline's month arithmetic across year ends (a December page once failed
with "month must be in 1..12")."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from billspree.core.timefmt import month_start

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("moment", "back", "expected"),
    [
        ((2026, 12, 4), -1, (2027, 1)),  # the month after December
        ((2026, 12, 31), 0, (2026, 12)),
        ((2026, 1, 15), 1, (2025, 12)),
        ((2026, 1, 15), 11, (2025, 2)),
        ((2026, 3, 29), 25, (2024, 2)),
        ((2026, 11, 30), -14, (2028, 1)),
    ],
)
def test_month_start_wraps_years_both_ways(moment, back, expected):
    start = month_start(datetime(*moment, 15, 30, tzinfo=BERLIN).date(), BERLIN, back)
    assert (start.year, start.month, start.day, start.hour, start.minute) == (*expected, 1, 0, 0)
    assert start.tzinfo is BERLIN
