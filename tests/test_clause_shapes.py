"""The spec side of the newer clause shapes: what a spec may say and the precise messages when it
says it wrong. Their figures are worked by hand in tests/test_measure_kinds.py."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tracker.kpispec.model import KPI


def _kpi(**kw: Any) -> KPI:
    return KPI.model_validate({"key": "k", "label": "指标", "unit": "%", "target": 90, **kw})


def test_timeliness_needs_a_reference_date_column_and_a_bound() -> None:
    k = _kpi(kind="timeliness", reference="requested_on", within={"hours": 24})
    assert k.within is not None and (k.within.max_days, k.within.text) == (1, "24小时")
    assert _kpi(kind="timeliness", reference="requested_on", within={"hours": 12}).within.max_days == 0  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="必须给出 reference"):
        _kpi(kind="timeliness", within={"days": 3})
    with pytest.raises(ValidationError, match="没有日期列 served_on；可作参照的日期列：requested_on（需求登记日期）"):
        _kpi(kind="timeliness", reference="served_on", within={"days": 3})
    with pytest.raises(ValidationError, match="days 或 hours 其中之一"):
        _kpi(kind="timeliness", reference="requested_on", within={"days": 3, "hours": 24})


@pytest.mark.parametrize(("per", "day", "slot"), [
    ("year", "2024-03-15", 0), ("year", "2025-03-14", 0), ("year", "2025-03-15", 1), ("year", "2026-03-15", 2),
    ("quarter", "2024-03-31", 2024 * 4), ("quarter", "2024-04-01", 2024 * 4 + 1),
    ("quarter", "2024-12-31", 2024 * 4 + 3), ("week", "2024-03-21", 0), ("week", "2024-03-22", 1),
    ("day", "2024-03-15", 0), ("day", "2024-04-15", 31), ("month", "2024-04-15", 2024 * 12 + 3)])
def test_period_slots_in_sql_match_the_elapsed_slots(db_url: str, per: str, day: str, slot: int) -> None:
    """A period from 2024-03-15: the database puts a date in the slot ``elapsed_slots`` numbers."""
    import datetime as dt

    from sqlalchemy import Date, create_engine, literal, select

    from tracker.kpispec.loader import load_spec
    from tracker.kpispec.model import Per
    from tracker.measure.compile import Ctx
    from tracker.measure.kinds.per_person import elapsed_slots
    from tracker.measure.sqlfuncs import period_slot

    start = dt.date(2024, 3, 15)
    date = dt.date.fromisoformat(day)
    eng = create_engine(db_url)
    try:
        with eng.connect() as c:
            assert c.execute(select(period_slot(literal(date, Date), per, start))).scalar_one() == slot
    finally:
        eng.dispose()
    from pathlib import Path
    spec = load_spec(Path(__file__).parent / "fixtures" / "engine" / "specs", "2099A001").spec
    project = spec.project.model_copy(update={"period": spec.project.period.model_copy(
        update={"start": start, "end": dt.date(2027, 3, 14)})})
    ctx = Ctx(spec.model_copy(update={"project": project}), as_of=dt.date(2027, 3, 14))
    assert slot in elapsed_slots(ctx, Per(per))  # numbered alike: at the period's end the slot is over
