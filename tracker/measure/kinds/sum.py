"""``sum``: the sum of a numeric field over the records (participants → 人次, hours → 课时, words,
copies …); a person-serving activity counts one participant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, null

from tracker.kpispec.model import KPI, Kind
from tracker.measure.kinds._records import RecordKind
from tracker.measure.kinds.base import NUMERIC_FIELDS


class Sum(RecordKind):
    kind = Kind.sum
    label = "求和"
    chart = "burnup"

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((counted, value), else_=null())), 0)

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        if kpi.field is None or kpi.field.value not in NUMERIC_FIELDS:
            return [("field", f"{self.kind.value} 只能用于数值字段：{', '.join(NUMERIC_FIELDS)}")]
        return []


KIND = Sum()
