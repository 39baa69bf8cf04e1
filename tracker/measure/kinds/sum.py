"""``sum``: the sum of a numeric field over the records (participants → 人次, hours → 课时, words,
copies …); a person-serving activity counts one participant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Float, Select, case, cast, func, null, select

from tracker.kpispec.model import KPI, Field_, Kind
from tracker.measure.compile import Ctx
from tracker.measure.kinds._records import RecordKind, monthly_rows
from tracker.measure.kinds.base import NUMERIC_FIELDS

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs
import math


class Sum(RecordKind):
    kind = Kind.sum
    label = "求和"

    def whole_units(self, kpi: KPI) -> bool:
        return kpi.field is not None and kpi.field.value in ("participants", "copies", "words")
    by_month = True
    chart = "burnup"

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((counted, value), else_=null())), 0)

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        if kpi.field is None or kpi.field.value not in NUMERIC_FIELDS:
            return [("field", f"{self.kind.value} 只能用于数值字段：{', '.join(NUMERIC_FIELDS)}")]
        return []

    def monthly(self, ctx: Ctx, kpi: KPI) -> Select[Any]:
        inner, counted, m = monthly_rows(ctx, kpi)
        return select(m.label("m"), func.sum(cast(inner.c.v, Float))).where(counted).group_by(m).order_by(m)

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        t = kpi.target or 0.0
        for n, share in needs.per_type(kpi):
            if kpi.field is Field_.participants:
                n.participants_sum = max(n.participants_sum, t * share)
            elif kpi.field is Field_.copies:
                n.copies_sum = max(n.copies_sum, t * share)
            elif kpi.field is Field_.hours:
                n.bump("count", math.ceil(t * share / 2))


KIND = Sum()
