"""KPI specs compiled to SQLAlchemy Core SELECTs that run unchanged on SQLite and PostgreSQL.

Every KPI becomes aggregates the database computes: ``actual`` (the measured value), ``evidence`` (how
many records the figure rests on) and ``violations`` (records or members breaking a rule of the KPI),
plus a few kind-specific columns (``num``/``den`` for rates, ``units`` for per-person rules, …).
No Python loop ever walks over records.

Simple KPIs (count/sum/average/distinct without a per-person cap, satisfaction and pass rates) are
*shareable*: their aggregates are conditional (``SUM(CASE WHEN … THEN … END)``) over one scan of the
project's records of that source, so one SELECT per source and project computes them all. The other
kinds compile to one SELECT each (with subqueries). ``kpi_sql`` prints a KPI's own statement with its
literal values, the way ``tracker explain`` shows it.

Visibility: a record is seen when its date is on or before ``as_of`` and it is current (``retired_at
IS NULL``) or, given ``known_on``, it was known then (``entered_at <= K AND (retired_at IS NULL OR
retired_at > K)``). Voided rows are retired without a successor, so they never count; an amended row
is retired and replaced by its amended successor, which counts.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from tracker.db.models import (
    Activity,
    Approval,
    Assessment,
    Deliverable,
    Incident,
    Judgement,
    Person,
    Staff,
    StaffCredential,
    Survey,
)
from tracker.errors import TrackerError
from tracker.kpispec.model import (
    KPI,
    LEVELS,
    Clause,
    Field_,
    Kind,
    Per,
    RateMeasure,
    Source,
    Spec,
    StaffRule,
    Where,
)
from tracker.measure.sqlfuncs import days_between, month_index, months_between, py_month_index

SOURCE_TABLES = {
    Source.activity: Activity.__table__,
    Source.deliverable: Deliverable.__table__,
    Source.roster: Person.__table__,
    Source.survey: Survey.__table__,
    Source.assessment: Assessment.__table__,
}
# The column a KPI's where.types filters on, per source.
TYPE_COLUMN = {Source.activity: "activity_type", Source.deliverable: "deliverable_type"}
# Spec field → column name in the record tables.
FIELD_COLUMN = {Field_.person: "person_id", Field_.group: "group_name"}
TABLES = {t.name: t for t in (Activity.__table__, Deliverable.__table__, Person.__table__, Survey.__table__,
                              Assessment.__table__, Approval.__table__, Incident.__table__, Staff.__table__,
                              StaffCredential.__table__)}
CHILD_WORDS = ("儿童", "未成年", "少年", "孩子", "青少年", "学生")


@functools.cache
def _alias(table_name: str, name: str) -> Any:
    """Aliases are immutable and reusable across statements; building their column collections is
    the costly part of compiling, so each (table, name) is built once."""
    return TABLES[table_name].alias(name)


@dataclass(frozen=True)
class Ctx:
    """What every compiled query is relative to: a project's spec, the event date and system time."""

    spec: Spec
    as_of: dt.date
    known_on: dt.datetime | None = None

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def period_start(self) -> dt.date:
        return self.spec.project.period.start

    @property
    def period_end(self) -> dt.date:
        return self.spec.project.period.end


def visible(t: Any, known_on: dt.datetime | None) -> ColumnElement[bool]:
    """The documented visibility condition (see docs/architecture.md, ``tracker.records.visibility``)."""
    if known_on is None:
        return t.c.retired_at.is_(None)
    return and_(t.c.entered_at <= known_on, or_(t.c.retired_at.is_(None), t.c.retired_at > known_on))


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def _sum_if(cond: ColumnElement[bool], value: Any = 1) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((cond, value), else_=0)), 0)


# ------------------------------------------------------------------ one source's records


class Base:
    """The records of one source of one project visible as of ``ctx``, with an optional join to the
    roster (``Person``) for population filters and person fields (household, …)."""

    def __init__(self, ctx: Ctx, source: Source, alias: str = "r"):
        self.ctx = ctx
        self.source = source
        self.t = _alias(SOURCE_TABLES[source].name, alias)
        self.p = _alias("person", f"{alias}_p") if source is not Source.roster else self.t
        self.uses_person = False
        person_serving = [a.key for a in ctx.spec.activity_types if a.serves == "person"]
        self.person_types = person_serving

    # -- columns
    def _person_col(self, name: str) -> ColumnElement[Any]:
        if self.source is Source.roster:
            return self.t.c[name]
        if "person_id" not in self.t.c:
            raise TrackerError(f"{self.source.value} 记录没有服务对象编号，无法按 {name} 统计")
        self.uses_person = True
        return self.p.c[name]

    def column(self, name: str) -> ColumnElement[Any]:
        if name in self.t.c:
            return self.t.c[name]
        if name in Person.__table__.c:
            return self._person_col(name)
        raise TrackerError(f"{self.source.value} 记录没有字段 {name}")

    def field(self, f: Field_) -> ColumnElement[Any]:
        if f is Field_.participants and self.source is Source.activity:
            # A person-serving activity row is one participant, whatever the column says.
            if self.person_types:
                return case((self.t.c.activity_type.in_(self.person_types), 1),
                            else_=self.t.c.participants)
            return self.t.c.participants
        return self.column(FIELD_COLUMN.get(f, f.value))

    @property
    def date(self) -> ColumnElement[Any] | None:
        for name in ("date", "enrolled_on", "started_on"):
            if name in self.t.c:
                return self.t.c[name]
        return None

    # -- conditions
    def base_conds(self) -> list[ColumnElement[bool]]:
        conds = [self.t.c.project_code == self.ctx.code, visible(self.t, self.ctx.known_on)]
        d = self.date
        if d is not None:
            if self.source is Source.roster:
                conds.append(or_(d.is_(None), d <= self.ctx.as_of))
            else:
                conds.append(d <= self.ctx.as_of)
        return conds

    def join_conds(self) -> ColumnElement[bool]:
        return and_(self.p.c.project_code == self.t.c.project_code,
                    self.p.c.person_id == self.t.c.person_id, visible(self.p, self.ctx.known_on))

    def from_(self) -> Any:
        if self.uses_person and self.source is not Source.roster:
            return self.t.outerjoin(self.p, self.join_conds())
        return self.t

    def where(self, w: Where, *, population: bool = True) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if w.types and self.source in TYPE_COLUMN:
            conds.append(self.t.c[TYPE_COLUMN[self.source]].in_(w.types))
        if w.population and population:
            conds.append(self._person_col("population") == w.population)
        if w.respondent_types and "respondent_type" in self.t.c:
            conds.append(self.t.c.respondent_type.in_(w.respondent_types))
        if w.instrument and "instrument" in self.t.c:
            conds.append(self.t.c.instrument == w.instrument)
        if w.level_at_least:
            conds.append(self.column("level").in_(LEVELS[LEVELS.index(w.level_at_least):]))
        if w.towns:
            conds.append(self.column("town").in_(w.towns))
        if w.districts:
            conds.append(self.column("district").in_(w.districts))
        return conds

    def each_ok(self, kpi: KPI) -> ColumnElement[bool]:
        """A record inside every per-record bound (a missing value is outside)."""
        parts: list[ColumnElement[bool]] = []
        for b in kpi.each:
            v = self.field(b.field)
            parts.append(v.is_not(None))
            if b.min is not None:
                parts.append(v >= b.min)
            if b.max is not None:
                parts.append(v <= b.max)
        return and_(true(), *parts) if parts else true()

    def select(self, *cols: Any) -> Select[Any]:
        return select(*cols).select_from(self.from_())


def roster_members(ctx: Ctx, population: str, alias: str = "m") -> Any:
    """The roster of a population as of ``ctx``: one row per member (``member``)."""
    p = _alias("person", alias)
    return (select(p.c.person_id.label("member"))
            .where(p.c.project_code == ctx.code, visible(p, ctx.known_on), p.c.population == population,
                   or_(p.c.enrolled_on.is_(None), p.c.enrolled_on <= ctx.as_of))
            .subquery(f"{alias}_roster"))


def _literal_rows(values: list[Any], name: str, type_: Any) -> Any:
    """A small literal table (the months of a period, the members of a named set)."""
    if not values:
        return select(cast(null(), type_).label(name)).where(false()).subquery(f"{name}_set")
    parts = [select(cast(literal(v), type_).label(name)) for v in values]
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery(f"{name}_set")


# ------------------------------------------------------------------ compiled KPIs


@dataclass
class Compiled:
    """One KPI compiled. Either ``aggs`` over a shared scan of ``source`` (shareable) or ``stmt``."""

    kpi_id: str
    kpi: KPI
    clause: Clause
    source: Source | None = None
    where: list[ColumnElement[bool]] = field(default_factory=list)
    aggs: dict[str, ColumnElement[Any]] = field(default_factory=dict)
    base: Base | None = None
    stmt: Select[Any] | None = None
    detail_stmt: Select[Any] | None = None
    empty: bool = False  # nothing to compute (a manual KPI is read from Judgement)

    def statement(self) -> Select[Any]:
        if self.stmt is not None:
            return self.stmt
        assert self.base is not None
        return self.base.select(*[e.label(n) for n, e in self.aggs.items()]).where(*self.base.base_conds())


def _simple_aggs(b: Base, kpi: KPI, conds: list[ColumnElement[bool]]) -> dict[str, ColumnElement[Any]]:
    ok = b.each_ok(kpi)
    sel = and_(true(), *conds)
    counted = and_(sel, ok)
    aggs: dict[str, ColumnElement[Any]] = {}
    if kpi.kind is Kind.count:
        aggs["actual"] = _sum_if(counted)
    elif kpi.kind is Kind.sum:
        aggs["actual"] = func.coalesce(func.sum(case((counted, b.field(kpi.field))), else_=null()), 0)
    elif kpi.kind is Kind.average:
        aggs["actual"] = func.avg(cast(case((counted, b.field(kpi.field)), else_=null()), Float))
    elif kpi.kind is Kind.distinct:
        aggs["actual"] = func.count(func.distinct(case((counted, b.field(kpi.field)), else_=null())))
    aggs["evidence"] = _sum_if(counted)
    aggs["violations"] = _sum_if(and_(sel, not_(ok))) if kpi.each else literal(0)
    return aggs


def _rate_aggs(b: Base, kpi: KPI, conds: list[ColumnElement[bool]]) -> dict[str, ColumnElement[Any]]:
    col = b.t.c.satisfied if kpi.measure is RateMeasure.satisfaction else b.t.c.passed
    answered = and_(true(), *conds, col.is_not(None))
    num = _sum_if(and_(answered, col == true()))
    den = _sum_if(answered)
    return {"num": num, "den": den, "evidence": den, "violations": literal(0),
            "actual": case((den > 0, 100.0 * num / cast(den, Float)), else_=null())}


def _capped(ctx: Ctx, kpi: KPI) -> Select[Any]:
    """count/sum/average/distinct with ``cap_per_person``: ROW_NUMBER per person over the records
    inside the bounds, by date then id; only the first k count, the rest are violations."""
    b = Base(ctx, kpi.source)
    ok = b.each_ok(kpi)
    ok_i = case((ok, 1), else_=0)
    value = b.field(kpi.field) if kpi.field else literal(1)
    rn = func.row_number().over(partition_by=[b.t.c.person_id, ok_i], order_by=[b.t.c.date, b.t.c.id])
    conds = b.where(kpi.where)
    inner = (b.select(b.t.c.id, b.t.c.person_id.label("person"), ok_i.label("ok"), value.label("v"),
                      rn.label("rn"))
             .where(*b.base_conds(), *conds).subquery("capped"))
    counted = and_(inner.c.ok == 1, or_(inner.c.person.is_(None), inner.c.rn <= kpi.cap_per_person))
    if kpi.kind is Kind.count:
        actual: ColumnElement[Any] = _sum_if(counted)
    elif kpi.kind is Kind.sum:
        actual = func.coalesce(func.sum(case((counted, inner.c.v), else_=null())), 0)
    elif kpi.kind is Kind.average:
        actual = func.avg(cast(case((counted, inner.c.v), else_=null()), Float))
    else:
        actual = func.count(func.distinct(case((counted, inner.c.v), else_=null())))
    return select(actual.label("actual"), _sum_if(counted).label("evidence"),
                  _sum_if(not_(counted)).label("violations")).select_from(inner)


def _slots(ctx: Ctx, per: Per) -> list[int]:
    """The elapsed slots of the period as of ``as_of``: calendar months (month index) whose last day
    is on or before as_of, or whole weeks (counted from the period start)."""
    end = min(ctx.as_of, ctx.period_end)
    if per is Per.month:
        out = []
        for m in range(py_month_index(ctx.period_start), py_month_index(ctx.period_end) + 1):
            nxt = dt.date((m + 1) // 12, (m + 1) % 12 + 1, 1)
            if nxt - dt.timedelta(days=1) <= end:
                out.append(m)
        return out
    if per is Per.week:
        weeks = ((end - ctx.period_start).days + 1) // 7
        return list(range(max(weeks, 0)))
    return [0]


def _slot_key(b: Base, ctx: Ctx, per: Per) -> ColumnElement[Any]:
    if per is Per.month:
        return month_index(b.t.c.date)
    if per is Per.week:
        return days_between(b.t.c.date, ctx.period_start) / 7
    return literal(0)


def _members(ctx: Ctx, kpi: KPI, b: Base, unit: ColumnElement[Any], conds: list[Any]) -> Any:
    if kpi.by is Field_.person and kpi.where.population:
        return roster_members(ctx, kpi.where.population)
    return (select(unit.label("member")).select_from(b.from_())
            .where(*b.base_conds(), *conds, unit.is_not(None)).distinct().subquery("m_units"))


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
    counts = (b.select(unit.label("member"), key.label("slot"), _sum_if(ok, amount).label("n"),
                       _sum_if(ok).label("records"))
              .where(*b.base_conds(), *conds, unit.is_not(None))
              .group_by(*([unit] if kpi.per is Per.period else [unit, key])).subquery("counts"))
    ub = Base(ctx, kpi.source, "u")
    members = _members(ctx, kpi, ub, ub.field(kpi.by), ub.where(kpi.where))
    slots = _literal_rows(_slots(ctx, kpi.per), "slot", Integer)
    grid = members.join(slots, true()).outerjoin(
        counts, and_(counts.c.member == members.c.member, counts.c.slot == slots.c.slot))
    return MemberGrid(b, conds, ok, counts, members, slots, grid)


def _per_person(ctx: Ctx, kpi: KPI) -> Select[Any]:
    """Judged over the member grid: actual = the smallest count (or sum), violations = member-slots
    below target plus records outside the per-record bounds."""
    g = member_grid(ctx, kpi)
    b, n = g.base, g.n
    target = kpi.target or 0
    bad_records = (b.select(func.count()).where(*b.base_conds(), *g.conds, not_(g.ok)).scalar_subquery()
                   if kpi.each else literal(0))
    below = (n < target) if kpi.comparator.value != "<=" else (n > target)
    if kpi.per is Per.period and ctx.as_of < ctx.period_end and kpi.comparator.value != "<=":
        below = false()  # a whole-period minimum can only be broken once the period is over
    return select(
        func.min(n).label("actual") if kpi.comparator.value != "<=" else func.max(n).label("actual"),
        func.coalesce(func.sum(g.counts.c.records), 0).label("evidence"),
        (_sum_if(below) + bad_records).label("violations"),
        func.count().label("units"),
        func.count(func.distinct(g.members.c.member)).label("members"),
    ).select_from(g.grid)


def _participation(ctx: Ctx, kpi: KPI) -> Select[Any]:
    b = Base(ctx, kpi.source)
    assert kpi.where.population
    r = roster_members(ctx, kpi.where.population, "pr")
    conds = b.where(kpi.where, population=False)
    num = (b.select(func.count(func.distinct(b.t.c.person_id)))
           .where(*b.base_conds(), *conds,
                  b.t.c.person_id.in_(select(r.c.member))).scalar_subquery())
    den = select(func.count()).select_from(roster_members(ctx, kpi.where.population, "pd")).scalar_subquery()
    inner = select(num.label("num"), den.label("den")).subquery("part")
    return select(case((inner.c.den > 0, 100.0 * inner.c.num / cast(inner.c.den, Float)), else_=null())
                  .label("actual"), inner.c.num.label("evidence"), literal(0).label("violations"),
                  inner.c.num, inner.c.den).select_from(inner)


def _improvement(ctx: Ctx, kpi: KPI) -> Select[Any]:
    """Persons whose post score beats their pre score / persons with both (averages where a person
    has several pre or post scores)."""
    b = Base(ctx, Source.assessment)
    pre = func.avg(case((b.t.c.phase == "pre", cast(b.t.c.score, Float)), else_=null()))
    post = func.avg(case((b.t.c.phase == "post", cast(b.t.c.score, Float)), else_=null()))
    conds = b.where(kpi.where)
    per = (b.select(b.t.c.person_id, pre.label("pre"), post.label("post"))
           .where(*b.base_conds(), *conds, b.t.c.person_id.is_not(None),
                  b.t.c.score.is_not(None))
           .group_by(b.t.c.person_id).subquery("prepost"))
    both = and_(per.c.pre.is_not(None), per.c.post.is_not(None))
    num = _sum_if(and_(both, per.c.post > per.c.pre))
    den = _sum_if(both)
    return select(case((den > 0, 100.0 * num / cast(den, Float)), else_=null()).label("actual"),
                  den.label("evidence"), literal(0).label("violations"), num.label("num"),
                  den.label("den")).select_from(per)


def _coverage(ctx: Ctx, kpi: KPI) -> tuple[Select[Any], Select[Any]]:
    b = Base(ctx, kpi.source)
    v = b.field(kpi.field)
    ok = b.each_ok(kpi)
    conds = [*b.base_conds(), *b.where(kpi.where)]
    counts = (b.select(cast(v, String).label("member"), _sum_if(ok).label("n"))
              .where(*conds, v.is_not(None)).group_by(v).subquery("counts"))
    members = _literal_rows(list(kpi.members or []), "member", String)
    joined = members.outerjoin(counts, counts.c.member == members.c.member)
    n = func.coalesce(counts.c.n, 0)
    bad = b.select(func.count()).where(*conds, not_(ok)).scalar_subquery() if kpi.each else literal(0)
    stmt = select(_sum_if(n >= kpi.min_each).label("actual"), func.coalesce(func.sum(counts.c.n), 0)
                  .label("evidence"), bad.label("violations"), func.count().label("units")
                  ).select_from(joined)
    detail = select(members.c.member, n.label("n")).select_from(joined).order_by(members.c.member)
    return stmt, detail


def _duration(ctx: Ctx, kpi: KPI) -> Select[Any]:
    """Months from first to last service per case; cases are the roster of where.population (a case
    never served lasts 0 months) or every person/group served. Violations only at period end."""
    b = Base(ctx, kpi.source)
    by = kpi.by
    unit = b.field(by)
    conds = b.where(kpi.where, population=not (by is Field_.person and kpi.where.population))
    ok = b.each_ok(kpi)
    per = (b.select(unit.label("member"), func.min(b.t.c.date).label("first"),
                    func.max(b.t.c.date).label("last"), func.count().label("n"))
           .where(*b.base_conds(), *conds, ok, unit.is_not(None)).group_by(unit).subquery("cases"))
    ub = Base(ctx, kpi.source, "u")
    members = _members(ctx, kpi, ub, ub.field(by), ub.where(kpi.where))
    joined = members.outerjoin(per, per.c.member == members.c.member)
    months = func.coalesce(months_between(per.c.first, per.c.last), 0)
    ended = ctx.as_of >= ctx.period_end
    potential = months_between(func.coalesce(per.c.first, literal(ctx.as_of)), literal(ctx.period_end))
    return select(func.min(months).label("actual"), func.coalesce(func.sum(per.c.n), 0).label("evidence"),
                  (_sum_if(months < (kpi.target or 0)) if ended else literal(0)).label("violations"),
                  func.count().label("units"), func.min(potential).label("potential")).select_from(joined)


def approval_compliant(ctx: Ctx, a: Any) -> ColumnElement[bool]:
    """An activity (or a deliverable) is compliant when an approval covering its type (or every
    type) and its date was itself dated on or before it."""
    ap = _alias("approval", "ap")
    kind = a.c.deliverable_type if "deliverable_type" in a.c else a.c.activity_type
    return exists(select(ap.c.id).where(
        ap.c.project_code == ctx.code, visible(ap, ctx.known_on),
        or_(ap.c.activity_type.is_(None), ap.c.activity_type == kind),
        or_(ap.c.valid_from.is_(None), ap.c.valid_from <= a.c.date),
        or_(ap.c.valid_to.is_(None), ap.c.valid_to >= a.c.date),
        ap.c.date <= a.c.date))


def _approval_gate(ctx: Ctx, kpi: KPI) -> Select[Any]:
    b = Base(ctx, kpi.source)
    bad = not_(approval_compliant(ctx, b.t))
    conds = b.where(kpi.where)
    return (b.select(_sum_if(bad).label("actual"), func.count().label("evidence"),
                     _sum_if(bad).label("violations"))
            .where(*b.base_conds(), *conds))


def _zero_incident(ctx: Ctx, kpi: KPI) -> Select[Any]:
    t = _alias("incident", "i")
    n = func.count()
    return select(n.label("actual"), n.label("evidence"), n.label("violations")).where(
        t.c.project_code == ctx.code, visible(t, ctx.known_on), t.c.date <= ctx.as_of,
        t.c.incident_type.in_(kpi.incident_types or []))


def concerns_children(clause: Clause, kpi: KPI) -> bool:
    text = (kpi.excerpt or "") + clause.text
    return any(w in text for w in CHILD_WORDS)


def staff_has_credential(ctx: Ctx, s: Any, credential: str) -> ColumnElement[bool]:
    c = _alias("staffcredential", "cred")
    return exists(select(c.c.id).where(
        c.c.project_code == ctx.code, visible(c, ctx.known_on), c.c.staff_id == s.c.staff_id,
        c.c.credential == credential, or_(c.c.obtained_on.is_(None), c.c.obtained_on <= ctx.as_of),
        or_(c.c.expires_on.is_(None), c.c.expires_on >= ctx.as_of)))


def staff_scope(ctx: Ctx, clause: Clause, kpi: KPI, s: Any) -> list[ColumnElement[bool]]:
    """Staff on the project by ``as_of``; for ``all_have`` on a clause about children, only those
    working with children (``count_with`` counts every staff member holding the credential)."""
    conds = [s.c.project_code == ctx.code, visible(s, ctx.known_on),
             or_(s.c.started_on.is_(None), s.c.started_on <= ctx.as_of)]
    if kpi.rule is StaffRule.all_have and concerns_children(clause, kpi):
        conds.append(s.c.works_with_children == true())
    return conds


def _staff(ctx: Ctx, clause: Clause, kpi: KPI) -> Select[Any]:
    s = _alias("staff", "s")
    assert kpi.credential
    has = staff_has_credential(ctx, s, kpi.credential)
    if kpi.rule is StaffRule.all_have:
        lacking = _sum_if(not_(has))
        return select(lacking.label("actual"), func.count().label("evidence"),
                      lacking.label("violations")).where(*staff_scope(ctx, clause, kpi, s))
    return select(_sum_if(has).label("actual"), func.count().label("evidence"),
                  literal(0).label("violations")).where(*staff_scope(ctx, clause, kpi, s))


def _manual(ctx: Ctx, kpi_id: str) -> Select[Any]:
    j = Judgement.__table__
    q = select(j.c.verdict, j.c.value.label("actual"), j.c.evidence.label("text"), j.c.author,
               j.c.recorded_at).where(j.c.kpi_id == kpi_id)
    if ctx.known_on is not None:
        q = q.where(j.c.recorded_at <= ctx.known_on)
    return q.order_by(j.c.recorded_at.desc(), j.c.id.desc()).limit(1)


def compile_kpi(ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Source, Base] | None = None) -> Compiled:
    """One KPI to SQL. With ``shared`` bases, simple KPIs put their aggregates on the shared scan."""
    kid = ctx.spec.kpi_id(clause, kpi)
    c = Compiled(kpi_id=kid, kpi=kpi, clause=clause)
    k = kpi.kind
    simple = k in {Kind.count, Kind.sum, Kind.average, Kind.distinct} and kpi.cap_per_person is None
    rate_simple = k is Kind.rate and kpi.measure in {RateMeasure.satisfaction, RateMeasure.passed}
    if k is Kind.approval_gate and shared is not None:
        b = shared.setdefault(kpi.source, Base(ctx, kpi.source))
        conds = b.where(kpi.where)
        bad = and_(true(), *conds, not_(approval_compliant(ctx, b.t)))
        c.source, c.base = kpi.source, b
        c.aggs = {"actual": _sum_if(bad), "evidence": _sum_if(and_(true(), *conds)), "violations": _sum_if(bad)}
        return c
    if simple or rate_simple:
        src = kpi.source
        if rate_simple:
            src = Source.survey if kpi.measure is RateMeasure.satisfaction else Source.assessment
        b = shared.setdefault(src, Base(ctx, src)) if shared is not None else Base(ctx, src)
        conds = b.where(kpi.where)
        c.source, c.base = src, b
        c.aggs = _simple_aggs(b, kpi, conds) if simple else _rate_aggs(b, kpi, conds)
        if shared is None:  # standalone: the filters read better in WHERE
            c.stmt = (b.select(*[e.label(n) for n, e in c.aggs.items()]).where(*b.base_conds()))
        return c
    if k in {Kind.count, Kind.sum, Kind.average, Kind.distinct}:
        c.stmt = _capped(ctx, kpi)
    elif k is Kind.per_person:
        c.stmt = _per_person(ctx, kpi)
    elif k is Kind.rate:
        c.stmt = _participation(ctx, kpi) if kpi.measure is RateMeasure.participation else _improvement(ctx, kpi)
    elif k is Kind.coverage:
        c.stmt, c.detail_stmt = _coverage(ctx, kpi)
    elif k is Kind.duration:
        c.stmt = _duration(ctx, kpi)
    elif k is Kind.approval_gate:
        c.stmt = _approval_gate(ctx, kpi)
    elif k is Kind.zero_incident:
        c.stmt = _zero_incident(ctx, kpi)
    elif k is Kind.staff:
        c.stmt = _staff(ctx, clause, kpi)
    elif k is Kind.manual:
        c.stmt = _manual(ctx, kid)
    else:  # pragma: no cover - the spec model lists every kind
        raise TrackerError(f"未支持的指标类型 {k}")
    return c


def shared_statements(compiled: list[Compiled], shared: dict[Source, Base]) -> list[tuple[Source, Select[Any], dict[str, tuple[Compiled, str]]]]:
    """One SELECT per source for all shareable KPIs; returns (source, stmt, column → (KPI, name))."""
    out = []
    for src, b in shared.items():
        cols = []
        mapping: dict[str, tuple[Compiled, str]] = {}
        for i, c in enumerate(compiled):
            if c.source is not src or c.stmt is not None:
                continue
            for name, e in c.aggs.items():
                label = f"k{i}_{name}"
                cols.append(e.label(label))
                mapping[label] = (c, name)
        if cols:
            out.append((src, b.select(*cols).where(*b.base_conds()), mapping))
    return out


def find_kpi(spec: Spec, kpi_id: str) -> tuple[Clause, KPI]:
    for clause, kpi in spec.iter_kpis():
        if spec.kpi_id(clause, kpi) == kpi_id:
            return clause, kpi
    import difflib

    ids = [spec.kpi_id(c, k) for c, k in spec.iter_kpis()]
    close = difflib.get_close_matches(kpi_id, ids, n=1, cutoff=0.6)
    hint = f"（是否想写 “{close[0]}”？）" if close else ""
    raise TrackerError(f"项目 {spec.code} 中没有指标 {kpi_id}{hint}")


def render_sql(stmt: Select[Any], dialect: Dialect) -> str:
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def kpi_sql(ws: Any, code: str, kpi_id: str, as_of: dt.date, known_on: dt.datetime | None = None) -> str:
    """The SQL a KPI compiles to on the workspace's database, with literal values (``tracker explain``)."""
    spec = ws.spec(code)
    clause, kpi = find_kpi(spec, kpi_id)
    c = compile_kpi(Ctx(spec, as_of, known_on), clause, kpi)
    text = render_sql(c.statement(), ws.engine.dialect)
    if c.detail_stmt is not None:
        text += ";\n\n-- 未覆盖成员明细\n" + render_sql(c.detail_stmt, ws.engine.dialect)
    return text + ";"


def code_of(kpi_id: str) -> str:
    return kpi_id.split(".", 1)[0]


