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
retired_at > K)``), and its import batch is published (``tracker.records.visibility``). Voided
rows are retired without a successor, so they never count; an amended row is retired and replaced
by its amended successor, which counts.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
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
    Expense,
    Incident,
    Person,
    Staff,
    StaffCredential,
    Survey,
)
from tracker.errors import TrackerError
from tracker.kpispec.model import (
    KPI,
    LEVELS,
    Bound,
    Clause,
    Field_,
    Source,
    Spec,
    Where,
)
from tracker.text import did_you_mean

if TYPE_CHECKING:
    from tracker.workspace import Workspace

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
FIELD_COLUMN = {Field_.person: "person_id", Field_.group: "group_name", Field_.project: "project_code"}
TABLES = {t.name: t for t in (Activity.__table__, Deliverable.__table__, Person.__table__, Survey.__table__,
                              Assessment.__table__, Approval.__table__, Incident.__table__, Staff.__table__,
                              StaffCredential.__table__, Expense.__table__)}
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
    from tracker.records.visibility import published

    if known_on is None:
        return and_(t.c.retired_at.is_(None), published(t.c))
    return and_(t.c.entered_at <= known_on, or_(t.c.retired_at.is_(None), t.c.retired_at > known_on),
                published(t.c, known_on))


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def sum_if(cond: ColumnElement[bool], value: Any = 1) -> ColumnElement[Any]:
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

    def _bound_parts(self, b: Bound) -> list[ColumnElement[bool]]:
        if b.any_of is not None:
            return [or_(*[and_(*self._bound_parts(x)) for x in b.any_of])]
        v = self.field(b.field)  # type: ignore[arg-type]
        parts: list[ColumnElement[bool]] = [v.is_not(None)]
        if b.min is not None:
            parts.append(v >= b.min)
        if b.max is not None:
            parts.append(v <= b.max)
        return parts

    def each_ok(self, kpi: KPI) -> ColumnElement[bool]:
        """A record inside every per-record rule of ``each`` (a missing value is outside); an
        ``any_of`` rule holds when any one of its bounds does."""
        parts = [p for b in kpi.each for p in self._bound_parts(b)]
        return and_(true(), *parts) if parts else true()

    def select(self, *cols: Any) -> Select[Any]:
        return select(*cols).select_from(self.from_())


def roster_members(ctx: Ctx, population: str, alias: str = "m") -> Any:
    """The roster of a population as of ``ctx``: one row per member (``member``), with the dates it
    entered (``enrolled``, 建档日期) and left (``exited``, 结案日期) the service, where known."""
    p = _alias("person", alias)
    return (select(p.c.person_id.label("member"), p.c.enrolled_on.label("enrolled"), p.c.exit_on.label("exited"))
            .where(p.c.project_code == ctx.code, visible(p, ctx.known_on), p.c.population == population,
                   or_(p.c.enrolled_on.is_(None), p.c.enrolled_on <= ctx.as_of))
            .subquery(f"{alias}_roster"))


def members_of(ctx: Ctx, kpi: KPI, b: Base, unit: ColumnElement[Any], conds: list[Any]) -> Any:
    """The units a per-member rule judges (``member``): the roster of ``where.population`` when the
    KPI goes by person, else every unit (group, town …) seen in the records."""
    if kpi.by is Field_.person and kpi.where.population:
        return roster_members(ctx, kpi.where.population)
    return (select(unit.label("member")).select_from(b.from_())
            .where(*b.base_conds(), *conds, unit.is_not(None)).distinct().subquery("m_units"))


def literal_table(rows: list[tuple[Any, ...]], cols: list[tuple[str, Any]], name: str) -> Any:
    """A small literal table of several columns (the slots of a period with their first and last day)."""
    if not rows:
        return select(*[cast(null(), t).label(c) for c, t in cols]).where(false()).subquery(name)
    # typed binds, not CAST: SQLite's CAST(… AS DATE) turns '2024-06-01' into the number 2024
    parts = [select(*[literal(v, t).label(c) for v, (c, t) in zip(r, cols, strict=True)]) for r in rows]
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery(name)


def literal_rows(values: list[Any], name: str, type_: Any) -> Any:
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


def compile_kpi(ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Source, Base] | None = None) -> Compiled:
    """One KPI to SQL, by its kind. With ``shared`` bases, simple KPIs put their aggregates on the
    shared scan."""
    from tracker.measure.kinds import kind_of

    return kind_of(kpi.kind).compile(ctx, clause, kpi, shared)


def shared_aggs(ctx: Ctx, clause: Clause, kpi: KPI, source: Source, shared: dict[Source, Base] | None,
                aggs: Any) -> Compiled:
    """A KPI whose aggregates ride on the one scan of ``source`` shared by the project's simple KPIs
    (``aggs(base, conds)`` gives them); standalone (``shared`` None) its filters read better in
    WHERE."""
    b = shared.setdefault(source, Base(ctx, source)) if shared is not None else Base(ctx, source)
    conds = b.where(kpi.where)
    c = Compiled(kpi_id=ctx.spec.kpi_id(clause, kpi), kpi=kpi, clause=clause, source=source, base=b)
    c.aggs = aggs(b, conds)
    if shared is None:
        c.stmt = b.select(*[e.label(n) for n, e in c.aggs.items()]).where(*b.base_conds())
    return c


def own_statement(ctx: Ctx, clause: Clause, kpi: KPI, stmt: Select[Any],
                  detail_stmt: Select[Any] | None = None) -> Compiled:
    """A KPI measured by a SELECT of its own."""
    return Compiled(kpi_id=ctx.spec.kpi_id(clause, kpi), kpi=kpi, clause=clause, stmt=stmt,
                    detail_stmt=detail_stmt)


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


COMPILED_KEPT = 96  # (spec, as-of, known-on) kept: every project of a portfolio and more; about 0.4 MB each
_COMPILED: OrderedDict[tuple[int, dt.date, dt.datetime | None], tuple[Spec, Any]] = OrderedDict()
_COMPILED_LOCK = threading.Lock()


def compile_project(ctx: Ctx) -> tuple[list[Compiled], list[tuple[Source, Select[Any], dict[str, tuple[Compiled, str]]]]]:
    """Every KPI of ``ctx.spec`` compiled (``compile_kpi`` with the shared scans) and the shared
    SELECTs (``shared_statements``), remembered for the same spec object, as-of date and known-on
    time: building the expressions is pure (a spec is immutable, no record is read) but costs more
    Python than running them on a small project, and every page view, report and email of a
    project asks for the same ones again. The statements are never changed once built."""
    key = (id(ctx.spec), ctx.as_of, ctx.known_on)
    with _COMPILED_LOCK:
        hit = _COMPILED.get(key)
        if hit is not None and hit[0] is ctx.spec:
            _COMPILED.move_to_end(key)
            return hit[1]
    shared: dict[Source, Base] = {}
    compiled = [compile_kpi(ctx, clause, kpi, shared) for clause, kpi in ctx.spec.iter_kpis()]
    value = (compiled, shared_statements(compiled, shared))
    with _COMPILED_LOCK:
        _COMPILED[key] = (ctx.spec, value)  # the spec is kept with it: its id is not reused meanwhile
        while len(_COMPILED) > COMPILED_KEPT:
            _COMPILED.popitem(last=False)
    return value


def find_kpi(spec: Spec, kpi_id: str) -> tuple[Clause, KPI]:
    for clause, kpi in spec.iter_kpis():
        if spec.kpi_id(clause, kpi) == kpi_id:
            return clause, kpi
    ids = [spec.kpi_id(c, k) for c, k in spec.iter_kpis()]
    raise TrackerError(f"项目 {spec.code} 中没有指标 {kpi_id}{did_you_mean(kpi_id, ids)}")


def render_sql(stmt: Select[Any], dialect: Dialect) -> str:
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def explain_sql(spec: Spec, kpi_id: str, as_of: dt.date, dialect: Dialect,
                known_on: dt.datetime | None = None) -> str:
    """The SQL a KPI compiles to for ``dialect``, with literal values."""
    clause, kpi = find_kpi(spec, kpi_id)
    c = compile_kpi(Ctx(spec, as_of, known_on), clause, kpi)
    text = render_sql(c.statement(), dialect)
    if c.detail_stmt is not None:
        text += ";\n\n-- 未覆盖成员明细\n" + render_sql(c.detail_stmt, dialect)
    return text + ";"


def kpi_sql(ws: Workspace, code: str, kpi_id: str, as_of: dt.date, known_on: dt.datetime | None = None) -> str:
    """The SQL a KPI compiles to on the workspace's database, with literal values (``tracker explain``)."""
    return explain_sql(ws.spec(code), kpi_id, as_of, ws.engine.dialect, known_on)


def code_of(kpi_id: str) -> str:
    return kpi_id.split(".", 1)[0]


