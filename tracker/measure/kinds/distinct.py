"""``distinct``: the number of distinct values of a field (people, households, towns, locations,
groups …) over the counted records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, null, select

from tracker.kpispec.model import KPI, Field_, Kind
from tracker.measure.compile import Ctx, roster_members
from tracker.measure.kinds._records import RecordKind


class Distinct(RecordKind):
    kind = Kind.distinct
    label = "去重计数"

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return func.count(func.distinct(case((counted, value), else_=null())))

    def extra_aggs(self, ctx: Ctx, kpi: KPI) -> dict[str, ColumnElement[Any]]:
        """Distinct people of a roster population: the roster is all there is (``universe``)."""
        if kpi.field is Field_.person and kpi.where.population:
            roster = roster_members(ctx, kpi.where.population, "uv")
            return {"universe": select(func.count()).select_from(roster).scalar_subquery()}
        return {}

    def universe(self, kpi: KPI, values: dict[str, Any]) -> float | None:
        u = values.get("universe")
        return None if u is None else float(u)


KIND = Distinct()
