"""The one clock: Hangzhou's time zone, "today", "now", and the one rule for a naive datetime.

- Dates people write (periods, activity dates, ``--as-of``) are calendar days in Hangzhou
  (``Asia/Shanghai``, UTC+8, no daylight saving).
- Moments the system records (``entered_at``, ``recorded_at``, outbox times) are aware UTC
  datetimes; :func:`now` gives one.
- A moment a person gives (``known_on``, ``--as-known-on``, a note's time) without an offset is a
  wall-clock time in Hangzhou: :func:`known_on` turns it into aware UTC. A bare date given as a
  moment means the end of that day in Hangzhou (:func:`end_of_day`).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)


def now() -> dt.datetime:
    """The present moment, aware, in UTC (what the database stores)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date in Hangzhou."""
    return dt.datetime.now(TZ).date()


def local_date(moment: dt.datetime) -> dt.date:
    """The Hangzhou calendar day of a moment (a naive one is read as Hangzhou wall-clock time)."""
    return utc(moment).astimezone(TZ).date()


def aware(moment: dt.datetime) -> dt.datetime:
    """The rule for a naive datetime: it is a wall-clock time in Hangzhou. Aware ones are kept as
    they are."""
    return moment.replace(tzinfo=TZ) if moment.utcoffset() is None else moment


def utc(moment: dt.datetime) -> dt.datetime:
    """A moment as aware UTC, a naive one read by the rule of :func:`aware`."""
    return aware(moment).astimezone(dt.UTC)


def known_on(moment: dt.datetime | None) -> dt.datetime | None:
    """A ``known_on`` moment as aware UTC (None stays None: the records as they are now)."""
    return None if moment is None else utc(moment)


def end_of_day(day: dt.date) -> dt.datetime:
    """The last moment of ``day`` in Hangzhou (aware, in Hangzhou's zone): "known by the end of that day"."""
    return dt.datetime.combine(day, dt.time(23, 59, 59, 999999), TZ)


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in Hangzhou, aware UTC."""
    return dt.datetime.combine(day, dt.time(0, 0), TZ).astimezone(dt.UTC)


def at_local(day: dt.date, hour: int, minute: int) -> dt.datetime:
    """``hour:minute`` Beijing time on ``day``, aware (in Hangzhou's zone)."""
    return dt.datetime.combine(day, dt.time(hour, minute), TZ)


def local_text(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as Hangzhou wall-clock text, ``—`` for none. (Moments read from the database are
    aware: the columns store UTC and give it back with its offset.)"""
    if moment is None:
        return "—"
    return utc(moment).astimezone(TZ).strftime(fmt)


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    nxt = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)
