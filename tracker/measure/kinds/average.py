"""``average``: the mean of a numeric field per record ("平均每场次不少于20人"); a state, not a
running total, so it has no pacing and is judged on where it stands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Float, case, cast, func, null

from tracker.kpispec.model import KPI, Field_, Kind
from tracker.measure.kinds._records import RecordKind
from tracker.measure.kinds.base import NUMERIC_FIELDS

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs


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

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        for n, _share in needs.per_type(kpi):
            if kpi.field is Field_.participants:
                n.participants_avg = max(n.participants_avg or 0, kpi.target or 0.0)


KIND = Average()
