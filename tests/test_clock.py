"""The one clock: Hangzhou's zone, the rule for naive moments, and no second definition anywhere."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from tracker import clock
from tracker.errors import TrackerError

UTC = dt.UTC


def test_naive_moment_is_hangzhou_wall_clock() -> None:
    # 2024-11-15 18:00 in Hangzhou (UTC+8) is 10:00 UTC
    assert clock.utc(dt.datetime(2024, 11, 15, 18, 0)) == dt.datetime(2024, 11, 15, 10, 0, tzinfo=UTC)
    assert clock.known_on(dt.datetime(2024, 11, 15, 18, 0)) == dt.datetime(2024, 11, 15, 10, 0, tzinfo=UTC)
    assert clock.known_on(None) is None


def test_aware_moment_keeps_its_offset() -> None:
    m = dt.datetime(2024, 11, 15, 18, 0, tzinfo=UTC)
    assert clock.utc(m) == m
    assert clock.utc(m).utcoffset() == dt.timedelta(0)


def test_day_bounds_in_hangzhou() -> None:
    # the end of 15 Nov in Hangzhou is 15:59:59.999999 UTC; its start is 16:00 UTC the day before
    assert clock.end_of_day(dt.date(2024, 11, 15)) == dt.datetime(2024, 11, 15, 15, 59, 59, 999999, tzinfo=UTC)
    assert clock.start_of_day(dt.date(2024, 11, 15)) == dt.datetime(2024, 11, 14, 16, 0, tzinfo=UTC)


def test_local_date_and_text() -> None:
    # 17:30 UTC on 14 Nov is 01:30 on 15 Nov in Hangzhou
    m = dt.datetime(2024, 11, 14, 17, 30, tzinfo=UTC)
    assert clock.local_date(m) == dt.date(2024, 11, 15)
    assert clock.local_text(m) == "2024-11-15 01:30"
    assert clock.local_text(None) == "—"


def test_now_is_aware_utc_and_today_is_hangzhou() -> None:
    n = clock.now()
    assert n.utcoffset() == dt.timedelta(0)
    assert clock.today() in {(n + dt.timedelta(hours=8)).date(), (clock.now() + dt.timedelta(hours=8)).date()}


def test_one_zone_definition() -> None:
    src = Path(clock.__file__).parent
    offenders = []
    for p in src.rglob("*.py"):
        if p.name == "clock.py" or "migrations" in p.parts:
            continue
        text = p.read_text(encoding="utf-8")
        if re.search(r"ZoneInfo\(|\"Asia/Shanghai\"|tzinfo=(?!None)", text):
            offenders.append(str(p.relative_to(src)))
    assert offenders == []


def test_aware_keeps_the_wall_clock() -> None:
    assert clock.aware(dt.datetime(2024, 11, 15, 18, 0)).isoformat() == "2024-11-15T18:00:00+08:00"
    m = dt.datetime(2024, 11, 15, 10, 0, tzinfo=UTC)
    assert clock.aware(m) is m


def test_dates_people_type_in_every_written_form() -> None:
    for text in ("2024-06-01", "2024/6/1", "2024.6.1", "2024年6月1日", " 2024 - 06 - 01 "):
        assert clock.parse_date(text) == dt.date(2024, 6, 1), text
    for bad in ("2024-13-01", "2024-02-30", "6/1/2024", "", "明天"):
        with pytest.raises(TrackerError, match=f"as_of 的值 “{re.escape(bad)}” 不是日期"):
            clock.parse_date(bad, "as_of")
    # a bare date as a moment: the end of that day in Hangzhou = 15:59:59.999999 UTC
    end = clock.parse_known_on("2024年11月15日")
    assert end.astimezone(dt.UTC).replace(microsecond=0) == dt.datetime(2024, 11, 15, 15, 59, 59, tzinfo=dt.UTC)
    assert clock.parse_known_on("2024-11-15T18:00") == dt.datetime(2024, 11, 15, 18, 0, tzinfo=clock.TZ)
    assert clock.parse_known_on("2024-11-15T10:00Z") == dt.datetime(2024, 11, 15, 18, 0, tzinfo=clock.TZ)
    with pytest.raises(TrackerError, match="不是日期或时间"):
        clock.parse_known_on("下午六点")
