"""``headcount``: 人员配备 — the staff in post (``where.roles``: 岗位, ``where.employment``: 专职/兼职/
志愿者) on every day of the period so far: ``actual`` is the fewest in post on any day from the
period start to the as-of date ("配备专职社工不少于3名"). A staff member is in post from 入职日期 (none:
from the start) until the day before 离职日期.

The number in post only changes on an entry or a leaving date, so it is counted on those days (and
the period's first day) only; each such day starting a stretch below the target is a violation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, and_, false, func, literal, or_, select, true, union
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, Clause, Kind, Per
from tracker.measure.compile import Base, Compiled, Ctx, _alias, own_statement, sum_if, visible
from tracker.measure.kinds.base import KpiKind, _num
from tracker.measure.status import Facts, state_status
from tracker.measure.types import Status


def staff_filters(ctx: Ctx, kpi: KPI, s: Any) -> list[Any]:
    """The staff a KPI is about: the project's, visible, of the roles and employment types named."""
    conds = [s.c.project_code == ctx.code, visible(s, ctx.known_on)]
    if kpi.where.roles:
        conds.append(s.c.role.in_(kpi.where.roles))
    if kpi.where.employment:
        conds.append(s.c.employment.in_(kpi.where.employment))
    return conds


def in_post(s: Any, day: Any) -> Any:
    return and_(or_(s.c.started_on.is_(None), s.c.started_on <= day), or_(s.c.left_on.is_(None), s.c.left_on > day))


def _last_day(ctx: Ctx) -> dt.date:
    return min(ctx.as_of, ctx.period_end)


def change_days(ctx: Ctx, kpi: KPI) -> Any:
    """The period's first day and every entry or leaving date after it, up to the as-of date."""
    start, last = ctx.period_start, _last_day(ctx)
    a, b = _alias("staff", "hs_in"), _alias("staff", "hs_out")
    parts = [select(literal(start, Date).label("day")),
             select(a.c.started_on.label("day")).where(*staff_filters(ctx, kpi, a), a.c.started_on > start,
                                                        a.c.started_on <= last),
             select(b.c.left_on.label("day")).where(*staff_filters(ctx, kpi, b), b.c.left_on > start,
                                                    b.c.left_on <= last)]
    return union(*parts).subquery("days")


def daily(ctx: Ctx, kpi: KPI) -> Any:
    """day, n: the number in post on each change day."""
    days = change_days(ctx, kpi)
    s = _alias("staff", "hs")
    return (select(days.c.day, func.count(s.c.id).label("n"))
            .select_from(days.outerjoin(s, and_(*staff_filters(ctx, kpi, s), in_post(s, days.c.day))))
            .group_by(days.c.day).subquery("daily"))


def _breaks(kpi: KPI, n: Any) -> Any:
    return n > (kpi.target or 0) if kpi.comparator.value == "<=" else n < (kpi.target or 0)


class Headcount(KpiKind):
    kind = Kind.headcount
    label = "人员配备"
    own_records = "staff"

    def check(self, kpi: KPI) -> str | None:
        if kpi.per not in (Per.period, Per.day):
            return "headcount 按日判定在岗人数（整个周期的每一天），per 只能省略或为 day"
        return None

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        d = daily(ctx, kpi)
        s = _alias("staff", "hc")
        last = _last_day(ctx)
        now = select(func.count(s.c.id)).where(*staff_filters(ctx, kpi, s), in_post(s, literal(last, Date)))
        agg = func.max(d.c.n) if kpi.comparator.value == "<=" else func.min(d.c.n)
        stmt = select(agg.label("actual"), now.scalar_subquery().label("evidence"),
                      sum_if(_breaks(kpi, d.c.n)).label("violations"), func.count().label("units")
                      ).select_from(d).where(true() if ctx.as_of >= ctx.period_start else false())
        return own_statement(ctx, clause, kpi, stmt)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        if ctx.as_of < ctx.period_start:
            return []
        d = daily(ctx, kpi)
        q = select(d.c.day, d.c.n).where(_breaks(kpi, d.c.n)).order_by(d.c.day).limit(limit)
        kid = ctx.spec.kpi_id(clause, kpi)
        who = "".join(kpi.where.employment or []) + "、".join(kpi.where.roles or []) or "工作人员"
        want = "不超过" if kpi.comparator.value == "<=" else "不少于"
        return [dict(kpi_id=kid, table="staff", id=None, record_id=None, date=r["day"], what=who, person=None,
                     reason=f"{r['day']} 起在岗{who} {r['n']} 名，要求{want} {kpi.target:g} 名")
                for r in conn.execute(q).mappings()]

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        units = int(values.get("units") or 0)
        actual = _num(values.get("actual")) if units else None
        detail: dict[str, Any] = {"in_post": int(values.get("evidence") or 0)}
        return actual, detail

    def status(self, facts: Facts) -> Status:
        return state_status(facts)


KIND = Headcount()
