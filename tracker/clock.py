"""The one clock: Hangzhou's time zone, "today", "now", and the one rule for a naive datetime.

- Dates people write (periods, activity dates, ``--as-of``) are calendar days in Hangzhou
  (``Asia/Shanghai``, UTC+8, no daylight saving).
- Moments the system records (``entered_at``, ``recorded_at``, outbox times) are aware UTC
  datetimes; :func:`now` gives one.
- A moment a person gives (``known_on``, ``--as-known-on``, a note's time) without an offset is a
  wall-clock time in Hangzhou: :func:`known_on` turns it into aware UTC. A bare date given as a
  moment means the end of that day in Hangzhou (:func:`end_of_day`).
- A date typed by a person (command line, web form, query string) may be written as in the import
  files: ``2024-06-01``, ``2024/6/1``, ``2024.6.1`` or ``2024年6月1日`` (:func:`parse_date`); a
  moment as a date (known by the end of that day) or ``2024-11-15T18:00`` (:func:`parse_known_on`).
"""

from __future__ import annotations

import datetime as dt
import re
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


def stored(moment: dt.datetime) -> dt.datetime:
    """A moment read back from the database as aware UTC: the columns hold UTC, and SQLite gives it
    back naive."""
    return moment.astimezone(dt.UTC) if moment.utcoffset() is not None else moment.replace(tzinfo=dt.UTC)


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


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(text: str, option: str = "--as-of") -> dt.date:
    """A date a person typed; a bad one raises ``TrackerError`` naming ``option`` (the option or field)."""
    from tracker.errors import TrackerError

    m = _DATE.match(text.strip())
    try:
        if not m:
            raise ValueError(text)
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise TrackerError(f"{option} 的值 “{text}” 不是日期：请写成 YYYY-MM-DD，如 2024-11-15（也可写 2024/11/15、2024年11月15日）") from None


def parse_known_on(text: str, option: str = "--as-known-on") -> dt.datetime:
    """A moment a person typed: a bare date is the end of that day in Hangzhou; a moment without an
    offset is Hangzhou wall-clock time (``aware``)."""
    from tracker.errors import TrackerError

    s = text.strip()
    if _DATE.match(s):
        return end_of_day(parse_date(s, option))
    try:
        v = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise TrackerError(f"{option} 的值 “{text}” 不是日期或时间：请写成 2024-11-15 或 2024-11-15T18:00") from None
    return aware(v)
