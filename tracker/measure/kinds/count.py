"""``count``: the number of records (activities, deliverables, roster entries, assessments) inside
the KPI's filters and bounds, at most ``cap_per_person`` per person."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, func, select

from tracker.kpispec.model import KPI, Kind
from tracker.measure.compile import Ctx, sum_if
from tracker.measure.kinds._records import RecordKind, monthly_rows

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs


class Count(RecordKind):
    kind = Kind.count
    label = "计数"

    def whole_units(self, kpi: KPI) -> bool:
        return True
    by_month = True
    needs_field = False
    chart = "burnup"

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return sum_if(counted)

    def monthly(self, ctx: Ctx, kpi: KPI) -> Select[Any]:
        _inner, counted, m = monthly_rows(ctx, kpi)
        return select(m.label("m"), func.count()).where(counted).group_by(m).order_by(m)

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        from tracker.simulate.needs import due_of

        due = due_of(kpi)
        for n, share in needs.per_type(kpi, sizes_roster=True):
            if due:
                n.due = due
            n.bump("count", math.ceil((kpi.target or 0.0) * share))


KIND = Count()
