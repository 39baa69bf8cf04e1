"""``average``: the mean of a numeric field per record ("平均每场次不少于20人"); a state, not a
running total, so it has no pacing and is judged on where it stands."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, func, null

from tracker.kpispec.model import KPI, Kind
from tracker.measure.kinds._records import RecordKind
from tracker.measure.kinds.base import NUMERIC_FIELDS


class Average(RecordKind):
    kind = Kind.average
    label = "平均"
    accumulates = False

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return func.avg(cast(case((counted, value), else_=null()), Float))

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        if kpi.field is None or kpi.field.value not in NUMERIC_FIELDS:
            return [("field", f"{self.kind.value} 只能用于数值字段：{', '.join(NUMERIC_FIELDS)}")]
        return []


KIND = Average()
