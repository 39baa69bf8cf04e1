"""``per_person``: every member — of a roster population, or every group, town … seen — reaches
``target`` records (or hours, with a numeric ``field``) per period, month, week, quarter, service
year or day.

Judged over the member grid: each member × each elapsed slot of the time it was in the service
(from its enrolment to its exit). ``actual`` is the percent of those member-slots that meet the rule
(``measure: compliance_pct``); the target stays the per-member number. A whole-period minimum is
paced linearly and can only be broken once the period is over: that one rule decides both the
violation count and the listing (``below``)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, PER_LABELS, Clause, Field_, Kind, PacingMode, Per, Source, add_months
from tracker.measure.compile import (
    Base,
    Compiled,
    Ctx,
    _alias,
    literal_table,
    own_statement,
    roster_members,
    sum_if,
    visible,
)
from tracker.measure.kinds._records import out_of_bounds, rule_text
from tracker.measure.kinds.base import NUMERIC_FIELDS, KpiKind, _num
from tracker.measure.sqlfuncs import days_between, month_start, period_slot, py_month_index
from tracker.measure.status import Facts
from tracker.measure.types import Status

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs


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


#: What one member of a per-member rule is, by ``by``: 每人, 每组, 每个镇街 …
MEMBER_WORDS: dict[Field_, str] = {
    Field_.person: "每人", Field_.household: "每户", Field_.group: "每组", Field_.town: "每个镇街",
    Field_.village: "每个村社", Field_.district: "每个区县", Field_.location: "每个地点"}
#: Members that are places: a violation names the place in ``what`` (a place is not personal data).
PLACES = (Field_.town, Field_.village, Field_.district, Field_.location)


def per_person_reason(kpi: KPI, amount: str, when: str | None = None) -> str:
    """本月 0 次，规则为每月不少于 1 次 (per: month); 仅 3 小时，规则为每人不少于 6 小时 (no per; 每个地点 …
    by place); the project as a whole: 2024年7月 0 次，规则为项目每月不少于 1 次."""
    every = PER_LABELS.get(kpi.per) if kpi.per in PER_LABELS else None
    unit = kpi.unit if kpi.field else "次"
    each = MEMBER_WORDS.get(kpi.by, "每人")
    if kpi.by is Field_.project and every:
        return f"{when or '本' + every} {amount}，规则为项目每{every}{rule_text(kpi.comparator, kpi.target, unit)}"
    if every:
        who = "" if kpi.by is Field_.person else each
        return f"本{every} {amount}，规则为{who}每{every}{rule_text(kpi.comparator, kpi.target, unit)}"
    return f"仅 {amount}，规则为{each}{rule_text(kpi.comparator, kpi.target, unit)}"


def file_reason(ctx: Ctx, kpi: KPI, n: float) -> str:
    """一户一档: 没有“服务档案”（要求每人不少于 1 份）; 仅 1 份“个案计划”（要求每人不少于 2 份）."""
    if kpi.source is Source.assessment:
        labels = [i.label for i in ctx.spec.instruments if i.key == kpi.where.instrument]
    else:
        labels = [d.label for d in ctx.spec.deliverable_types if d.key in (kpi.where.types or [])]
    what = "或".join(f"“{x}”" for x in labels) or "记录"
    rule = f"要求每人{rule_text(kpi.comparator, kpi.target, kpi.unit)}"
    return f"没有{what}（{rule}）" if n == 0 else f"仅 {n:g} {kpi.unit}{what}（{rule}）"


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


def slot_name(ctx: Ctx, per: Per, slot: int) -> str | None:
    """A slot in Chinese, as a finding names it: 2024年7月, 2024年第3季度, 第3周（2024-06-15起）."""
    if per is Per.month:
        first = month_start(slot)
        return f"{first.year}年{first.month}月"
    if per is Per.week:
        return f"第{slot + 1}周（{slot_span(ctx, per, slot)[0]}起）"
    if per is Per.day:
        day = ctx.period_start + dt.timedelta(days=slot)
        return f"{day.year}年{day.month}月{day.day}日"
    return slot_text(ctx, per, slot)


def slot_span(ctx: Ctx, per: Per, slot: int) -> tuple[dt.date, dt.date]:
    """The first and last day of a slot (numbered as ``elapsed_slots`` numbers them)."""
    start = ctx.period_start
    if per is Per.month:
        nxt = month_start(slot + 1)
        return month_start(slot), nxt - dt.timedelta(days=1)
    if per is Per.week:
        return start + dt.timedelta(days=7 * slot), start + dt.timedelta(days=7 * slot + 6)
    if per is Per.quarter:
        y, i = divmod(slot, 4)
        return dt.date(y, 3 * i + 1, 1), _quarter_end(slot)
    if per is Per.year:
        first = add_months(start, 12 * slot) + dt.timedelta(days=1) if slot else start
        return first, add_months(start, 12 * (slot + 1))
    if per is Per.day:
        day = start + dt.timedelta(days=slot)
        return day, day
    return start, ctx.period_end


def slot_spans(ctx: Ctx, per: Per) -> list[tuple[int, dt.date, dt.date]]:
    """The elapsed slots with their first and last day: (slot, first, last)."""
    return [(s, *slot_span(ctx, per, s)) for s in elapsed_slots(ctx, per)]


def _slot_key(b: Base, ctx: Ctx, per: Per) -> ColumnElement[Any]:
    return period_slot(b.t.c.date, per.value, ctx.period_start)


@dataclass
class MemberGrid:
    """Every judged member-slot: each member (roster of where.population, or every group/town …
    seen) × each elapsed slot of the time it was in the service, from its enrolment (建档日期, else
    its first record, else the period start) to its exit (结案日期), with ``n``: the member's count of
    records in that slot (or the sum of ``field`` when the KPI has a numeric one, "督导不少于80学时/人").
    Records outside the per-record bounds add nothing."""

    base: Base
    conds: list[Any]
    ok: ColumnElement[bool]
    counts: Any  # subquery: member, slot, n, records
    members: Any  # subquery: member, since, until
    slots: Any  # subquery: slot, lo, hi
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
    fb = Base(ctx, kpi.source, "f")
    funit = fb.field(kpi.by)
    first = (fb.select(funit.label("member"), func.min(fb.t.c.date).label("first"))
             .where(*fb.base_conds(), *fb.where(kpi.where, population=not (kpi.by is Field_.person
                                                                            and kpi.where.population)),
                    funit.is_not(None))
             .group_by(funit).subquery("first_seen"))
    if kpi.by is Field_.project:  # the project as a whole: one member, judged from the period start
        members = literal_table([(ctx.code, ctx.period_start, None)],
                                [("member", String), ("since", Date), ("until", Date)], "members")
    elif kpi.by is Field_.person and kpi.where.population:
        roster = roster_members(ctx, kpi.where.population)
        members_q = (select(roster.c.member,
                            func.coalesce(roster.c.enrolled, first.c.first, literal(ctx.period_start, Date))
                            .label("since"), roster.c.exited.label("until"))
                     .select_from(roster.outerjoin(first, first.c.member == roster.c.member)))
        if kpi.members_served_by:  # 每家测评机构各一份: only the members an activity of these types served
            a = _alias("activity", "served")
            served = select(a.c.person_id).where(
                a.c.project_code == ctx.code, visible(a, ctx.known_on), a.c.date <= ctx.as_of,
                a.c.activity_type.in_(kpi.members_served_by), a.c.person_id.is_not(None))
            members_q = members_q.where(roster.c.member.in_(served))
        members = members_q.subquery("members")
    else:
        members = select(first.c.member, first.c.first.label("since"),
                         cast(null(), Date).label("until")).subquery("members")
    slots = literal_table(slot_spans(ctx, kpi.per), [("slot", Integer), ("lo", Date), ("hi", Date)], "slots")
    judged = and_(members.c.since <= slots.c.hi, or_(members.c.until.is_(None), members.c.until >= slots.c.lo))
    grid = members.join(slots, judged).outerjoin(
        counts, and_(counts.c.member == members.c.member, counts.c.slot == slots.c.slot))
    return MemberGrid(b, conds, ok, counts, members, slots, grid)


def _at_most(kpi: KPI) -> bool:
    return kpi.comparator.value == "<="


def due_on(ctx: Ctx, kpi: KPI) -> dt.date | None:
    """The due date of a whole-period minimum paced ``due`` (一户一档: every member's file by the
    end, by default, for records of a deliverable or an assessment); None for other pacing."""
    p = kpi.default_pacing()
    if kpi.per is not Per.period or _at_most(kpi) or p.mode is not PacingMode.due or p.due is None:
        return None
    if p.due == "end":
        return ctx.period_end
    if p.due == "midterm":
        return ctx.spec.project.midterm_date
    assert isinstance(p.due, dt.date)
    return p.due


def not_due(ctx: Ctx, kpi: KPI) -> bool:
    """A whole-period minimum paced ``due`` whose due date is still to come: nobody has broken it
    yet, except members who left the service without it."""
    due = due_on(ctx, kpi)
    return due is not None and ctx.as_of < due


def _paced(ctx: Ctx, kpi: KPI) -> bool:
    """A whole-period minimum before the period is over: judged against the pace, not broken yet
    (paced ``due``: judged as it stands, broken once due)."""
    return (kpi.per is Per.period and ctx.as_of < ctx.period_end and not _at_most(kpi)
            and due_on(ctx, kpi) is None)


def below(ctx: Ctx, kpi: KPI, n: ColumnElement[Any], until: ColumnElement[Any] | None = None) -> ColumnElement[bool]:
    """A member-slot breaking the rule. A whole-period minimum can only be broken once the period
    is over; paced ``due``, once it is due, or once the member left the service (``until``, its
    结案日期, on or before the as-of date) without it."""
    target = kpi.target or 0
    if not_due(ctx, kpi):
        if until is None:
            return false()
        return and_(until.is_not(None), until <= literal(ctx.as_of, Date), n < target)
    if _paced(ctx, kpi):
        return false()
    return n > target if _at_most(kpi) else n < target


def complies(ctx: Ctx, kpi: KPI, g: MemberGrid) -> ColumnElement[bool]:
    """A judged member-slot that meets the rule. A whole-period minimum before the period is over
    meets it when the member is on pace: at least target × (days since the member's start) / (days
    from its start to the period end), less the KPI's tolerance; paced ``due``, when it has it."""
    if not_due(ctx, kpi):
        return g.n >= (kpi.target or 0)
    if not _paced(ctx, kpi):
        return not_(below(ctx, kpi, g.n))
    start = func.coalesce(g.members.c.since, literal(ctx.period_start, Date))
    start = case((start < literal(ctx.period_start, Date), literal(ctx.period_start, Date)), else_=start)
    done = cast(days_between(literal(ctx.as_of, Date), start) + 1, Float)
    span = cast(days_between(literal(ctx.period_end, Date), start) + 1, Float)
    pace = literal(float(kpi.target or 0) * (1 - kpi.tolerance)) * done / span
    return cast(g.n, Float) >= pace - 1e-9


class PerPerson(KpiKind):
    figure_counts_source = True
    kind = Kind.per_person
    label = "每人频次"
    per_member = True
    chart = "distribution"

    def check(self, kpi: KPI) -> str | None:
        if kpi.by is Field_.project and kpi.per is Per.period:
            return ("by: project（整个项目）须配合 per: month、week、quarter、year 或 day（如每月开展不少于1次）；"
                    "整个周期的总数请用 count 或 sum")
        if kpi.by is Field_.person and not kpi.where.population:
            return "按人的 per_person 指标必须给出 where.population（对整个名册判定）"
        if kpi.members_served_by and kpi.by is not Field_.person:
            return "members_served_by 只适用于按人（by: person）判定的 per_person 指标"
        return None

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        if kpi.field is not None and kpi.field.value not in NUMERIC_FIELDS:
            return [("field", "per_person 的 field 表示按人累加的数值（如 hours），只能是："
                     f"{', '.join(NUMERIC_FIELDS)}；按小组、镇街判定请用 by")]
        return []

    def default_pacing(self, kpi: KPI) -> PacingMode:
        # "每人不少于2次" over the whole period: by mid-period each member should be half-way. A file,
        # plan or assessment every member must have ("一户一档", "每户前测"): due at the end.
        if kpi.per is not Per.period:
            return PacingMode.none
        if kpi.source in (Source.deliverable, Source.assessment):
            return PacingMode.due
        return PacingMode.linear

    def measure(self, kpi: KPI) -> str | None:
        return "compliance_pct"

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        """Over the judged member-slots: ``judged``, ``compliant`` (meeting the rule, or its pace),
        ``violations`` (breaking it, plus records outside the per-record bounds), ``smallest`` (the
        least count; the largest for ``<=``) and the members fully compliant."""
        g = member_grid(ctx, kpi)
        b, n = g.base, g.n
        bad_records = (b.select(func.count()).where(*b.base_conds(), *g.conds, not_(g.ok)).scalar_subquery()
                       if kpi.each else literal(0))
        ok = complies(ctx, kpi, g)
        cells = select(g.members.c.member.label("member"), n.label("n"), case((ok, 1), else_=0).label("ok"),
                       case((below(ctx, kpi, n, g.members.c.until), 1), else_=0).label("broken"),
                       func.coalesce(g.counts.c.records, 0).label("records")).select_from(g.grid).subquery("cells")
        extreme = func.max(cells.c.n) if _at_most(kpi) else func.min(cells.c.n)
        per_member = (select(cells.c.member, func.min(cells.c.ok).label("all_ok"),
                             func.min(case((cells.c.n >= (kpi.target or 0), 1), else_=0)).label("all_reached"),
                             func.count().label("cells"), func.sum(cells.c.ok).label("ok"),
                             func.sum(cells.c.broken).label("broken"), func.sum(cells.c.records).label("records"),
                             extreme.label("extreme"))
                      .group_by(cells.c.member).subquery("per_member"))
        pm = per_member.c
        stmt = select(
            (func.max(pm.extreme) if _at_most(kpi) else func.min(pm.extreme)).label("smallest"),
            func.coalesce(func.sum(pm.records), 0).label("evidence"),
            (func.coalesce(func.sum(pm.broken), 0) + bad_records).label("violations"),
            func.coalesce(func.sum(pm.broken), 0).label("missed"),
            func.coalesce(func.sum(pm.cells), 0).label("units"),
            func.coalesce(func.sum(pm.ok), 0).label("compliant"),
            func.count().label("members"),
            func.coalesce(func.sum(pm.all_ok), 0).label("members_compliant"),
            func.coalesce(func.min(pm.all_reached), 0).label("all_reached"),
            literal(1 if not_due(ctx, kpi) else 0).label("not_due"),
        ).select_from(per_member)
        return own_statement(ctx, clause, kpi, stmt)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        kid = ctx.spec.kpi_id(clause, kpi)
        g = member_grid(ctx, kpi)
        rows = out_of_bounds(conn, ctx, kid, g.base, g.conds, g.ok, kpi, limit) if kpi.each else []
        if limit is not None and len(rows) >= limit:
            return rows[:limit]
        q = (select(g.members.c.member, g.slots.c.slot, g.n.label("n"), g.members.c.until).select_from(g.grid)
             .where(below(ctx, kpi, g.n, g.members.c.until)).order_by(g.members.c.member, g.slots.c.slot)
             .limit(None if limit is None else limit - len(rows)))
        whole = kpi.by is Field_.project
        for member, slot, n, until in conn.execute(q):
            n = float(n)
            when = (slot_name if whole else slot_text)(ctx, kpi.per, int(slot))
            amount = f"{n:g} {kpi.unit.split('/')[0]}" if kpi.field else f"{n:g} 次"
            reason = (file_reason(ctx, kpi, n) if kpi.source in (Source.deliverable, Source.assessment)
                      and kpi.per is Per.period else per_person_reason(kpi, amount, when if whole else None))
            if until is not None and until <= ctx.as_of:
                reason += f"（{until} 已结案）"
            rows.append(dict(kpi_id=kid, table="roster" if kpi.by is Field_.person else kpi.by.value,
                             id=None, record_id=None, date=slot_span(ctx, kpi.per, int(slot))[1] if whole else None,
                             what=(f"{member} {when}" if when else str(member)) if kpi.by in PLACES else when,
                             person=None if whole else member, reason=reason))
        return rows

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        """actual: the percent of judged member-slots that meet the rule (``compliance_pct``)."""
        judged = int(values.get("units") or 0)
        compliant = int(values.get("compliant") or 0)
        actual = None if not judged else 100.0 * compliant / judged
        smallest = _num(values.get("smallest")) if judged else None
        detail = {"members": int(values.get("members") or 0),
                  "members_compliant": int(values.get("members_compliant") or 0),
                  "judged": judged, "missed": int(values.get("missed") or 0),
                  "below_pace": judged - compliant - int(values.get("missed") or 0),
                  "smallest": None if smallest is None else (int(smallest) if smallest.is_integer() else smallest),
                  "units": judged}
        if kpi.compliance_target is not None:
            detail["compliance_target"] = kpi.compliance_target
        if values.get("not_due"):
            detail["not_due"] = True  # paced due, not due yet: nobody behind (popped into the status facts)
        if judged and kpi.per is Per.period and not _at_most(kpi) and values.get("all_reached"):
            detail["all_reached"] = True  # every member already has the whole period's minimum
        return actual, detail

    def status(self, facts: Facts) -> Status:
        """``actual`` is the compliance percent; the bar is 100 (every judged member-slot complies)
        unless the spec sets ``compliance_target``. At the end: met at or above the bar, else
        missed. Before: a whole-period minimum every member already reached is met; at or above the
        bar on_track; below it, behind — except under the strict bar for a rule broken for good (a
        member-month or -week gone by without it, a ``<=`` rule exceeded): missed."""
        if facts.actual is None:
            return "pending"
        bar = facts.compliance_target if facts.compliance_target is not None else 100.0
        ok = facts.actual >= bar - 1e-9
        if facts.period_ended:
            return "met" if ok else "missed"
        if facts.reached:
            return "met"
        if ok or (facts.not_due and facts.broken == 0):
            return "on_track"
        if facts.compliance_target is None and facts.broken > 0:
            return "missed"
        return "behind"

    def rule_text(self, kpi: KPI) -> str | None:
        """项目每月不少于 1 次 / 每人每月不少于 1 次 / 每个小组不少于 2 期, then the per-record rules."""
        every = PER_LABELS.get(kpi.per)
        who = {"project": "项目", "person": "每人", "group": "每个小组", "household": "每户", "town": "每个乡镇街道",
               "village": "每个村社", "district": "每个区县", "location": "每个地点"}.get(kpi.by.value, "每个对象")
        unit = kpi.unit
        parts = [f"{who}{'每' + every if every else ''}{rule_text(kpi.comparator, kpi.target or 0, unit)}"]
        base = super().rule_text(kpi)
        return "；".join(parts + ([base] if base else []))

    def distribution(self, ctx: Ctx, kpi: KPI) -> Select[Any]:
        g = member_grid(ctx, kpi)
        cells = select(g.n.label("n")).select_from(g.grid).subquery("cells")
        return select(cells.c.n, func.count()).group_by(cells.c.n).order_by(cells.c.n)

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        from tracker.simulate.needs import due_of

        t = kpi.target or 0.0
        if kpi.source is Source.deliverable:  # 一户一档: a file per member (served by the types named)
            for n, _share in needs.per_type(kpi):
                if kpi.where.population:
                    n.files_for.append((kpi.where.population, tuple(kpi.members_served_by or ()), due_of(kpi)))
            return
        if kpi.by is Field_.project:  # 每月开展不少于1次: records of the type in every month (week)
            for n, share in needs.per_type(kpi, assessment="per_person"):
                k = 1 if kpi.field else math.ceil(t * share)
                n.bump("project_per_week" if kpi.per is Per.week else "project_per_month", k)
            return
        for n, _share in needs.per_type(kpi, assessment="per_person"):
            if kpi.where.districts:
                n.in_districts = tuple(kpi.where.districts)
            if kpi.field in (Field_.hours, Field_.days):
                if kpi.field is Field_.hours:
                    n.hours_per_person = max(n.hours_per_person, t)
                else:
                    n.days_per_person = max(n.days_per_person, t)
                n.whole_roster = n.whole_roster or bool(kpi.where.population)
                continue
            if kpi.by is Field_.group:
                n.bump("per_group", int(t))
            elif kpi.per is Per.month:
                n.bump("per_month", int(t))
            elif kpi.per is Per.week:
                n.bump("per_week", int(t))
            else:
                n.bump("per_period", int(t))
            if kpi.by is Field_.person and kpi.where.population:
                n.whole_roster = True


KIND = PerPerson()
