"""``distinct``: the number of distinct values of a field (people, households, towns, locations,
groups …) over the counted records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, case, func, null, select

from tracker.kpispec.model import KPI, Field_, Kind
from tracker.measure.compile import Ctx, roster_members
from tracker.measure.kinds._records import RecordKind, monthly_rows

if TYPE_CHECKING:
    from tracker.kpispec.model import Project
    from tracker.simulate.needs import Needs
import math


class Distinct(RecordKind):
    kind = Kind.distinct
    label = "去重计数"

    def whole_units(self, kpi: KPI) -> bool:
        return True
    by_month = True

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return func.count(func.distinct(case((counted, value), else_=null())))

    def extra_aggs(self, ctx: Ctx, kpi: KPI) -> dict[str, ColumnElement[Any]]:
        """Distinct people of a roster population: the roster is all there is (``universe``)."""
        if kpi.field is Field_.person and kpi.where.population:
            roster = roster_members(ctx, kpi.where.population, "uv")
            return {"universe": select(func.count()).select_from(roster).scalar_subquery()}
        return {}

    def universe(self, kpi: KPI, values: dict[str, Any], project: Project | None = None) -> float | None:
        """The roster of a population for distinct people; for distinct towns or districts, those of
        the project's area where the gazetteer knows it (narrowed to the districts and towns the KPI's
        ``where`` names)."""
        u = values.get("universe")
        if u is not None:
            return float(u)
        if project is not None and kpi.field in (Field_.town, Field_.district):
            from tracker.records.gazetteer import places_within

            places = places_within(tuple(project.area), kpi.field.value, districts=kpi.where.districts,
                                   towns=kpi.where.towns)
            return None if places is None else float(len(places))
        return None

    def monthly(self, ctx: Ctx, kpi: KPI) -> Select[Any]:
        """Each value counts in the month it first appears."""
        inner, counted, m = monthly_rows(ctx, kpi)
        first = (select(inner.c.v, func.min(m).label("m")).where(counted, inner.c.v.is_not(None))
                 .group_by(inner.c.v).subquery("first_seen"))
        return select(first.c.m, func.count()).group_by(first.c.m).order_by(first.c.m)

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        t = kpi.target or 0.0
        simple = {Field_.town: "towns", Field_.village: "villages", Field_.location: "locations",
                  Field_.household: "households"}
        for n, share in needs.per_type(kpi, sizes_roster=True, everywhere=True):
            f = kpi.field
            if f is Field_.person:
                n.people = max(n.people, math.ceil(t * share))
            elif f is Field_.group:
                n.groups = max(n.groups, math.ceil(t * share))
            elif f is Field_.district:
                if kpi.where.districts:
                    n.district_subsets.append((tuple(kpi.where.districts), int(t)))
                n.bump("districts", int(t))
            elif f in simple:
                n.bump(simple[f], int(t))


KIND = Distinct()
