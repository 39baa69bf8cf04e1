"""``coverage``: how many members of a named set (towns, districts …) are covered at least
``min_each`` times; the detail lists the uncovered ones in the spec's order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, func, literal, not_, select
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, Clause, Kind, PacingMode
from tracker.measure.compile import Base, Compiled, Ctx, literal_rows, own_statement, sum_if
from tracker.measure.kinds._records import out_of_bounds
from tracker.measure.kinds.base import KpiKind, _num
from tracker.measure.status import Facts, cumulative_status
from tracker.measure.types import Status

if TYPE_CHECKING:
    from tracker.kpispec.model import Project
    from tracker.simulate.needs import Needs


class Coverage(KpiKind):
    figure_counts_source = True
    kind = Kind.coverage
    label = "覆盖"

    def whole_units(self, kpi: KPI) -> bool:
        return True

    def check(self, kpi: KPI) -> str | None:
        if not kpi.members or kpi.field is None:
            return "coverage 类指标必须给出 members（集合）和 field（按哪个字段覆盖）"
        return None

    def cumulative(self, kpi: KPI) -> bool:
        return True

    def default_pacing(self, kpi: KPI) -> PacingMode:
        return PacingMode.linear

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        b = Base(ctx, kpi.source)
        assert kpi.field is not None
        v = b.field(kpi.field)
        ok = b.each_ok(kpi)
        conds = [*b.base_conds(), *b.where(kpi.where)]
        counts = (b.select(cast(v, String).label("member"), sum_if(ok).label("n"))
                  .where(*conds, v.is_not(None)).group_by(v).subquery("counts"))
        members = literal_rows(list(kpi.members or []), "member", String)
        joined = members.outerjoin(counts, counts.c.member == members.c.member)
        n = func.coalesce(counts.c.n, 0)
        bad = b.select(func.count()).where(*conds, not_(ok)).scalar_subquery() if kpi.each else literal(0)
        stmt = select(sum_if(n >= kpi.min_each).label("actual"), func.coalesce(func.sum(counts.c.n), 0)
                      .label("evidence"), bad.label("violations"), func.count().label("units")
                      ).select_from(joined)
        detail = select(members.c.member, n.label("n")).select_from(joined).order_by(members.c.member)
        return own_statement(ctx, clause, kpi, stmt, detail)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        if not kpi.each:
            return []
        b = Base(ctx, kpi.source)
        return out_of_bounds(conn, ctx, ctx.spec.kpi_id(clause, kpi), b, b.where(kpi.where), b.each_ok(kpi), kpi,
                             limit)

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        order = {m: i for i, m in enumerate(kpi.members or [])}
        members = sorted(values.get("members_detail", []), key=lambda mn: order.get(mn[0], len(order)))
        return _num(values.get("actual")), {"members": len(members),
                                            "uncovered": [m for m, n in members if n < kpi.min_each],
                                            "counts": {m: n for m, n in members}}

    def universe(self, kpi: KPI, values: dict[str, Any], project: Project | None = None) -> float | None:
        return float(len(kpi.members or []))

    def status(self, facts: Facts) -> Status:
        return cumulative_status(facts)

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        for n, _share in needs.per_type(kpi, everywhere=True):
            if kpi.members and kpi.field:
                for m in kpi.members:
                    old = n.cover.get(m)
                    n.cover[m] = (kpi.field, max(kpi.min_each, old[1] if old else 0))


KIND = Coverage()
