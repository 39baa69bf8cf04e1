"""``per_person``: every member — of a roster population, or every group, town … seen — reaches
``target`` records (or hours, with a numeric ``field``) per period, month, week, quarter, service
year or day.

Judged over the member grid (member × elapsed slot). A whole-period minimum is paced linearly and
can only be broken once the period is over: that one rule decides both the violation count and
the listing (``below``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, false, func, literal, not_, select, true
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, PER_LABELS, Clause, Field_, Kind, PacingMode, Per, add_months
from tracker.measure.compile import Base, Compiled, Ctx, literal_rows, members_of, own_statement, sum_if
from tracker.measure.kinds._records import out_of_bounds
from tracker.measure.kinds.base import NUMERIC_FIELDS, KpiKind, _num
from tracker.measure.sqlfuncs import month_start, period_slot, py_month_index
from tracker.measure.status import Facts, state_status
from tracker.measure.types import Status


def elapsed_slots(ctx: Ctx, per: Per) -> list[int]:
    """The elapsed slots of the period as of ``as_of``, numbered as ``period_slot`` numbers them:
    calendar months whose last day is on or before as_of; whole weeks from the period start;
    calendar quarters and service years (12 months from the period start) whose last day — or the
    period's end, for one the period cuts short — is on or before as_of; every day up to as_of."""
    end = min(ctx.as_of, ctx.period_end)
    start = ctx.period_start
    if per is Per.month:
        out = []
        for m in range(py_month_index(start), py_month_index(ctx.period_end) + 1):
            nxt = dt.date((m + 1) // 12, (m + 1) % 12 + 1, 1)
            if nxt - dt.timedelta(days=1) <= end:
                out.append(m)
        return out
    if per is Per.week:
        weeks = ((end - start).days + 1) // 7
        return list(range(max(weeks, 0)))
    if per is Per.quarter:
        first, last = _quarter(start), _quarter(ctx.period_end)
        return [q for q in range(first, last + 1) if min(_quarter_end(q), ctx.period_end) <= end]
    if per is Per.year:
        out, k = [], 0
        while True:
            first_day = add_months(start, 12 * k) + dt.timedelta(days=1) if k else start
            if first_day > ctx.period_end:
                return out
            if min(add_months(start, 12 * (k + 1)), ctx.period_end) <= end:
                out.append(k)
            k += 1
    if per is Per.day:
        return list(range(max((end - start).days + 1, 0)))
    return [0]


def _quarter(d: dt.date) -> int:
    return d.year * 4 + (d.month - 1) // 3


def _quarter_end(q: int) -> dt.date:
    y, i = divmod(q, 4)
    return dt.date(y + 1, 1, 1) - dt.timedelta(days=1) if i == 3 else dt.date(y, 3 * i + 4, 1) - dt.timedelta(days=1)


def slot_text(ctx: Ctx, per: Per, slot: int) -> str | None:
    """A slot as the listing of violations names it: 2024-07, 第3周, 2024年第3季度, 第1年, 2024-07-01."""
    if per is Per.month:
        return month_start(slot).strftime("%Y-%m")
    if per is Per.week:
        return f"第{slot + 1}周"
    if per is Per.quarter:
        return f"{slot // 4}年第{slot % 4 + 1}季度"
    if per is Per.year:
        first = add_months(ctx.period_start, 12 * slot) + dt.timedelta(days=1) if slot else ctx.period_start
        return f"第{slot + 1}年（{first}起）"
    if per is Per.day:
        return str(ctx.period_start + dt.timedelta(days=slot))
    return None


def _slot_key(b: Base, ctx: Ctx, per: Per) -> ColumnElement[Any]:
    return period_slot(b.t.c.date, per.value, ctx.period_start)


@dataclass
class MemberGrid:
    """Every member (roster of where.population, or every group/town … seen) × every elapsed slot,
    with ``n``: the member's count of records in that slot (or the sum of ``field`` when the KPI has
    a numeric one, "督导不少于80学时/人"). Records outside the per-record bounds add nothing."""

    base: Base
    conds: list[Any]
    ok: ColumnElement[bool]
    counts: Any  # subquery: member, slot, n, records
    members: Any
    slots: Any
    grid: Any

    @property
    def n(self) -> ColumnElement[Any]:
        return func.coalesce(self.counts.c.n, 0)


def member_grid(ctx: Ctx, kpi: KPI) -> MemberGrid:
    b = Base(ctx, kpi.source)
    unit = b.field(kpi.by)
    conds = b.where(kpi.where, population=not (kpi.by is Field_.person and kpi.where.population))
    ok = b.each_ok(kpi)
    key = _slot_key(b, ctx, kpi.per)
    amount = func.coalesce(b.field(kpi.field), 0) if kpi.field else 1
    counts = (b.select(unit.label("member"), key.label("slot"), sum_if(ok, amount).label("n"),
                       sum_if(ok).label("records"))
              .where(*b.base_conds(), *conds, unit.is_not(None))
              .group_by(*([unit] if kpi.per is Per.period else [unit, key])).subquery("counts"))
    ub = Base(ctx, kpi.source, "u")
    members = members_of(ctx, kpi, ub, ub.field(kpi.by), ub.where(kpi.where))
    slots = literal_rows(elapsed_slots(ctx, kpi.per), "slot", Integer)
    grid = members.join(slots, true()).outerjoin(
        counts, and_(counts.c.member == members.c.member, counts.c.slot == slots.c.slot))
    return MemberGrid(b, conds, ok, counts, members, slots, grid)


def _at_most(kpi: KPI) -> bool:
    return kpi.comparator.value == "<="


def below(ctx: Ctx, kpi: KPI, n: ColumnElement[Any]) -> ColumnElement[bool]:
    """A member-slot breaking the rule. A whole-period minimum can only be broken once the period
    is over."""
    if kpi.per is Per.period and ctx.as_of < ctx.period_end and not _at_most(kpi):
        return false()
    target = kpi.target or 0
    return n > target if _at_most(kpi) else n < target


class PerPerson(KpiKind):
    kind = Kind.per_person
    label = "每人频次"
    chart = "distribution"

    def check(self, kpi: KPI) -> str | None:
        if kpi.by is Field_.person and not kpi.where.population:
            return "按人的 per_person 指标必须给出 where.population（对整个名册判定）"
        return None

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        if kpi.field is not None and kpi.field.value not in NUMERIC_FIELDS:
            return [("field", "per_person 的 field 表示按人累加的数值（如 hours），只能是："
                     f"{', '.join(NUMERIC_FIELDS)}；按小组、镇街判定请用 by")]
        return []

    def default_pacing(self, kpi: KPI) -> PacingMode:
        # "每人不少于2次" over the whole period: by mid-period each member should be half-way.
        return PacingMode.linear if kpi.per is Per.period else PacingMode.none

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        """actual = the smallest count (or sum; the largest for ``<=``), violations = member-slots
        breaking the rule plus records outside the per-record bounds."""
        g = member_grid(ctx, kpi)
        b, n = g.base, g.n
        bad_records = (b.select(func.count()).where(*b.base_conds(), *g.conds, not_(g.ok)).scalar_subquery()
                       if kpi.each else literal(0))
        stmt = select(
            func.max(n).label("actual") if _at_most(kpi) else func.min(n).label("actual"),
            func.coalesce(func.sum(g.counts.c.records), 0).label("evidence"),
            (sum_if(below(ctx, kpi, n)) + bad_records).label("violations"),
            func.count().label("units"),
            func.count(func.distinct(g.members.c.member)).label("members"),
        ).select_from(g.grid)
        return own_statement(ctx, clause, kpi, stmt)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI) -> list[dict[str, Any]]:
        kid = ctx.spec.kpi_id(clause, kpi)
        g = member_grid(ctx, kpi)
        rows = out_of_bounds(conn, ctx, kid, g.base, g.conds, g.ok, kpi) if kpi.each else []
        q = (select(g.members.c.member, g.slots.c.slot, g.n.label("n")).select_from(g.grid)
             .where(below(ctx, kpi, g.n)).order_by(g.members.c.member, g.slots.c.slot))
        for member, slot, n in conn.execute(q):
            n = float(n)
            when = slot_text(ctx, kpi.per, int(slot))
            amount = f"{n:g} {kpi.unit}" if kpi.field else f"{n:g} 次"
            rows.append(dict(kpi_id=kid, table="roster" if kpi.by is Field_.person else kpi.by.value,
                             id=None, record_id=None, date=None, what=when, person=member,
                             reason=f"{'当' + PER_LABELS[kpi.per] if kpi.per in PER_LABELS else ''}仅 {amount}，要求 "
                                    f"{kpi.comparator.value} {kpi.target:g}"))
        return rows

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        units = int(values.get("units") or 0)
        actual = None if not units else _num(values.get("actual"))
        return actual, {"members": int(values.get("members") or 0), "units": units}

    def status(self, facts: Facts) -> Status:
        s = state_status(facts, met_early=True)
        if s == "behind" and facts.expected is not None and facts.actual is not None \
                and facts.actual >= facts.expected * (1 - facts.tolerance) - 1e-9:
            return "on_track"  # a whole-period rule, paced: every member is where the pace requires
        return s




KIND = PerPerson()
