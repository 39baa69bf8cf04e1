"""``duration``: months from first to last service, per case. Cases are the roster of
``where.population`` (a case never served lasts 0 months) or every person/group served; the
figure is the shortest. Cases below the target are violations once the period is over; before it a
case is on track while it can still reach the target by the period end (``potential``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, Clause, Field_, Kind
from tracker.measure.compile import Base, Compiled, Ctx, members_of, own_statement, sum_if
from tracker.measure.kinds._records import rule_text
from tracker.measure.kinds.base import KpiKind, _num
from tracker.measure.sqlfuncs import months_between
from tracker.measure.status import Facts, state_status
from tracker.measure.types import Status

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs


def _cases(ctx: Ctx, kpi: KPI) -> tuple[Any, Any, Any, ColumnElement[Any]]:
    """(cases joined to their services, the cases, the per-case services, months served)."""
    b = Base(ctx, kpi.source)
    by = kpi.by
    unit = b.field(by)
    conds = b.where(kpi.where, population=not (by is Field_.person and kpi.where.population))
    ok = b.each_ok(kpi)
    per = (b.select(unit.label("member"), func.min(b.t.c.date).label("first"),
                    func.max(b.t.c.date).label("last"), func.count().label("n"))
           .where(*b.base_conds(), *conds, ok, unit.is_not(None)).group_by(unit).subquery("cases"))
    ub = Base(ctx, kpi.source, "u")
    members = members_of(ctx, kpi, ub, ub.field(by), ub.where(kpi.where))
    joined = members.outerjoin(per, per.c.member == members.c.member)
    months = func.coalesce(months_between(per.c.first, per.c.last), 0)
    return joined, members, per, months


def _short(ctx: Ctx, kpi: KPI, months: ColumnElement[Any]) -> ColumnElement[bool] | None:
    """A case breaking the rule: shorter than the target, judged once the period is over."""
    if ctx.as_of < ctx.period_end:
        return None
    return months < (kpi.target or 0)


class Duration(KpiKind):
    figure_counts_source = True
    kind = Kind.duration
    label = "持续时间"

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        joined, _members, per, months = _cases(ctx, kpi)
        short = _short(ctx, kpi, months)
        potential = months_between(func.coalesce(per.c.first, literal(ctx.as_of)), literal(ctx.period_end))
        stmt = select(func.min(months).label("actual"), func.coalesce(func.sum(per.c.n), 0).label("evidence"),
                      (sum_if(short) if short is not None else literal(0)).label("violations"),
                      func.count().label("units"), func.min(potential).label("potential")).select_from(joined)
        return own_statement(ctx, clause, kpi, stmt)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        joined, members, _per, months = _cases(ctx, kpi)
        short = _short(ctx, kpi, months)
        if short is None:
            return []
        kid = ctx.spec.kpi_id(clause, kpi)
        q = (select(members.c.member, months.label("m")).select_from(joined).where(short).order_by(members.c.member)
             .limit(limit))
        return [dict(kpi_id=kid, table="roster" if kpi.by is Field_.person else kpi.by.value, id=None,
                     record_id=None, date=None, what=None, person=member,
                     reason=f"仅持续 {int(m)} 个月，规则为持续{rule_text(kpi.comparator, kpi.target, '个月')}")
                for member, m in conn.execute(q)]

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        units = int(values.get("units") or 0)
        return (None if not units else _num(values.get("actual"))), {"cases": units}

    def status(self, facts: Facts) -> Status:
        s = state_status(facts, met_early=True)
        if s == "behind" and facts.potential is not None and facts.target is not None \
                and facts.potential >= facts.target:
            return "on_track"
        return s

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        for n, _share in needs.per_type(kpi):
            n.duration_months = max(n.duration_months or 0, kpi.target or 0.0)


KIND = Duration()
