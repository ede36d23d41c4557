"""Weekly armed windows of rules: whether a rule is armed at a wall-clock instant."""

from __future__ import annotations

from datetime import datetime
from datetime import time as Time
from zoneinfo import ZoneInfo

from watchfloor.config import Schedule

_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class WeeklySchedule:
    """A rule's schedule made ready to be asked many times a second.

    Windows are read in local wall-clock time of the schedule's time zone: a
    window from 22:00 to 06:00 is armed from 22:00 to 06:00 on the clocks of
    the site, however many real hours that is on the nights the clocks
    change. A window whose end is at or before its start runs past midnight
    into the next day (an end equal to the start makes a 24-hour window), and
    its ``days`` are the days it starts on. Start is inclusive, end exclusive.

    On the day clocks go forward, a window that starts inside the skipped
    hour is armed from the first local time after it (03:00 in Europe/Paris),
    and one that ends inside it ends there. On the day they go back, local
    times of the repeated hour that fall in a window are armed both times.

    Example:
        >>> from datetime import UTC
        >>> night = WeeklySchedule(Schedule.model_validate({
        ...     "timezone": "Europe/Paris",
        ...     "windows": [{"days": ["fri"], "start": "22:00", "end": "06:00"}],
        ... }))
        >>> night.armed(datetime(2026, 1, 3, 4, 0, tzinfo=UTC))  # Sat 05:00 local
        True

    Args:
        schedule: The schedule of a rule, as the site file gives it.
    """

    __slots__ = ("_windows", "_zone")

    def __init__(self, schedule: Schedule) -> None:
        self._zone = ZoneInfo(schedule.timezone)
        windows: list[tuple[frozenset[int], Time, Time, bool]] = []
        for window in schedule.windows:
            days = frozenset(_WEEKDAYS[day] for day in window.days)
            # A time zone on a window's times would make comparisons with local
            # times fail; the schedule's own zone is what they are read in.
            start = window.start.replace(tzinfo=None)
            end = window.end.replace(tzinfo=None)
            windows.append((days, start, end, end <= start))
        self._windows = tuple(windows)

    def armed(self, when: datetime) -> bool:
        """Whether the schedule is armed at ``when``.

        Args:
            when: A timezone-aware instant (any zone; UTC inside Watchfloor).

        Raises:
            ValueError: ``when`` has no time zone.
        """
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(
                f"time {when.isoformat()} has no time zone; give a timezone-aware "
                "UTC datetime"
            )
        local = when.astimezone(self._zone)
        day = local.weekday()
        previous_day = (day - 1) % 7
        clock = local.time()
        for days, start, end, overnight in self._windows:
            if overnight:
                if (day in days and clock >= start) or (
                    previous_day in days and clock < end
                ):
                    return True
            elif day in days and start <= clock < end:
                return True
        return False


def is_armed(schedule: Schedule | None, when: datetime) -> bool:
    """Whether a rule with this schedule is armed at ``when``.

    See :class:`WeeklySchedule` for how windows, midnight and daylight-saving
    changes are read. Callers that ask every frame should build a
    :class:`WeeklySchedule` once instead.

    Args:
        schedule: The rule's schedule; None means always armed.
        when: A timezone-aware instant.

    Raises:
        ValueError: ``when`` has no time zone.

    Example:
        >>> from datetime import UTC
        >>> is_armed(None, datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
        True
    """
    if schedule is None:
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(
                f"time {when.isoformat()} has no time zone; give a timezone-aware "
                "UTC datetime"
            )
        return True
    return WeeklySchedule(schedule).armed(when)
