"""What count, sum, average and distinct share: the records a KPI looks at, each either counted or
not (outside a per-record bound, or over the per-person cap), as one subquery. The aggregate, the
listing of the rows that do not count and the monthly series all read it, so the cap and the bounds
are written once."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, case, func, literal, not_, or_, select, true
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, Bound, Clause, Field_, PacingMode
from tracker.measure.compile import Base, Compiled, Ctx, own_statement, shared_aggs, sum_if
from tracker.measure.kinds.base import KpiKind
from tracker.measure.status import Facts, cumulative_status, state_status
from tracker.measure.types import Status


def monthly_rows(ctx: Ctx, kpi: KPI) -> tuple[Any, ColumnElement[bool], ColumnElement[int]]:
    """(the counted-rows subquery, its ``counted`` flag, each row's month index) for a monthly series."""
    from tracker.measure.sqlfuncs import month_index

    inner, counted, _ = counted_rows(ctx, kpi)
    return inner, counted, month_index(inner.c.date)


def counted_rows(ctx: Ctx, kpi: KPI) -> tuple[Any, ColumnElement[bool], str]:
    """(subquery, counted, table name): the records the KPI looks at with columns id, date, v (the
    value), ok (1 inside the bounds), person and rn (order within the person, for the cap); and
    the condition under which a row counts."""
    b = Base(ctx, kpi.source)
    ok = b.each_ok(kpi)
    ok_i = case((ok, 1), else_=0)
    value = b.field(kpi.field) if kpi.field else literal(1)
    conds = b.where(kpi.where)
    date = b.date if b.date is not None else literal(ctx.as_of)
    cols = [b.t.c.id.label("id"), date.label("date"), value.label("v"), ok_i.label("ok")]
    if "person_id" in b.t.c:
        cols.append(b.t.c.person_id.label("person"))
        if kpi.cap_per_person:
            cols.append(func.row_number().over(partition_by=[b.t.c.person_id, ok_i],
                                               order_by=[b.t.c.date, b.t.c.id]).label("rn"))
    inner = b.select(*cols).where(*b.base_conds(), *conds).subquery("rows")
    counted: ColumnElement[bool] = inner.c.ok == 1
    if kpi.cap_per_person and "rn" in inner.c:
        counted = and_(counted, or_(inner.c.person.is_(None), inner.c.rn <= kpi.cap_per_person))
    return inner, counted, b.t.element.name  # the table, not its alias


#: A record field as a violation names it: (Chinese label, unit).
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "participants": ("参与人数", "人"), "hours": ("时长", "小时"), "days": ("天数", "天"),
    "person": ("服务对象编号", ""), "household": ("户号", ""), "town": ("乡镇街道", ""), "village": ("村社", ""),
    "district": ("区县", ""), "location": ("地点", ""), "group": ("小组名称", ""), "words": ("字数", "字"),
    "minutes": ("时长", "分钟"), "copies": ("数量", ""),
}
#: A comparator in words: 不少于 1 次.
COMPARATOR_WORDS = {">=": "不少于", "<=": "不多于", "==": "等于"}


def rule_text(comparator: Any, target: float, unit: str = "") -> str:
    """``>= 1`` → 不少于 1 次 (the unit as the spec writes it, without a /月 part)."""
    op = COMPARATOR_WORDS.get(getattr(comparator, "value", comparator), str(comparator))
    return f"{op} {target:g}{' ' + unit.split('/')[0] if unit else ''}"


#: Fields that measure how long a record lasted: an either/or of them reads 时长不少于 3 天或 24 小时.
_LENGTH_FIELDS = {"days", "hours", "minutes"}


def _amount(v: float, unit: str) -> str:
    return f"{v:g}{' ' + unit if unit else ''}"


def bound_text(b: Bound) -> str:
    """每条记录的要求 in words: 参与人数不少于 20 人, 时长在 1–3 小时之间; an either/or rule: 时长不少于
    3 天或 24 小时 (lengths), else its bounds joined by 或."""
    if b.any_of is not None:
        alts = b.any_of
        if all(x.max is None and x.field is not None and x.field.value in _LENGTH_FIELDS for x in alts):
            return "时长不少于 " + "或 ".join(_amount(x.min or 0, FIELD_LABELS[x.field.value][1]) for x in alts)
        return "或".join(bound_text(x) for x in alts)
    label, unit = FIELD_LABELS.get(b.field.value, (b.field.value, ""))  # type: ignore[union-attr]
    if b.min is not None and b.max is not None:
        return f"{label}在 {b.min:g}–{b.max:g}{' ' + unit if unit else ''} 之间"
    if b.min is not None:
        return f"{label}不少于 {_amount(b.min, unit)}"
    return f"{label}不多于 {_amount(b.max or 0, unit)}"


def each_text(kpi: KPI) -> str | None:
    """All per-record rules of a KPI in words (spec show, reports, the export's ``each_text``), or None."""
    return "，".join(bound_text(b) for b in kpi.each) or None


def _value_text(b: Bound, v: Any) -> str:
    label, unit = FIELD_LABELS.get(b.field.value, (b.field.value, ""))  # type: ignore[union-attr]
    if v is None:
        return f"{label}未填写"
    v = float(v)
    return f"{label} {v:g}{' ' + unit if unit else ''}"


def _breaks(b: Bound, values: dict[str, Any]) -> bool:
    if b.any_of is not None:
        return all(_breaks(x, values) for x in b.any_of)
    v = values.get(b.field.value)  # type: ignore[union-attr]
    return v is None or (b.min is not None and float(v) < b.min) or (b.max is not None and float(v) > b.max)


def _broken_text(b: Bound, values: dict[str, Any]) -> str:
    if b.any_of is None:
        return _value_text(b, values.get(b.field.value))  # type: ignore[union-attr]
    what = "时长不足" if all(x.field is not None and x.field.value in _LENGTH_FIELDS for x in b.any_of) else "择一条件均不满足"
    return f"{what}（{'、'.join(_value_text(x, values.get(x.field.value)) for x in b.any_of)}）"  # type: ignore[union-attr]


def bounds_reason(kpi: KPI, values: dict[str, Any] | None = None) -> str:
    """Why a record is outside its bounds, with the value that broke each broken bound:
    参与人数 15 人，规则为每场（条）参与人数不少于 20 人; an either/or rule broken: 时长不足（天数 2 天、
    时长 20 小时），规则为每条记录时长不少于 3 天或 24 小时."""
    rules = each_text(kpi) or ""
    if values is None:
        return f"不满足每条记录的要求：{rules}"
    broken = [_broken_text(b, values) for b in kpi.each if _breaks(b, values)]
    return f"{'，'.join(broken) or '不满足要求'}，规则为每条记录{rules}"


def bounded_fields(kpi: KPI) -> list[Field_]:
    """The record fields the per-record rules read, once each, in order."""
    out: list[Field_] = []
    for b in kpi.each:
        for x in b.leaves:
            if x.field is not None and x.field not in out:
                out.append(x.field)
    return out


def bound_values(conn: Connection, b: Base, kpi: KPI, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The values of the bounded fields of the records ``ids`` (the value a violation names)."""
    if not kpi.each or not ids:
        return {}
    out: dict[int, dict[str, Any]] = {}
    cols = [b.field(f).label(f.value) for f in bounded_fields(kpi)]
    for i in range(0, len(ids), 500):
        for r in conn.execute(b.select(b.t.c.id, *cols).where(b.t.c.id.in_(ids[i:i + 500]))).mappings():
            out[int(r["id"])] = dict(r)
    return out


def record_what(t: Any) -> Any:
    """The type column of a record table (activity or deliverable type), else NULL."""
    if "activity_type" in t.c:
        return t.c.activity_type
    if "deliverable_type" in t.c:
        return t.c.deliverable_type
    return literal(None)


def out_of_bounds(conn: Connection, ctx: Ctx, kid: str, b: Base, conds: list[Any], ok: ColumnElement[bool],
                  kpi: KPI, limit: int | None = None) -> list[dict[str, Any]]:
    """The records outside the per-record bounds, as violation rows (the same predicate the
    aggregates count: ``base_conds``, the KPI's filters, ``NOT ok``); the first ``limit`` of them."""
    person = b.t.c.person_id if "person_id" in b.t.c else literal(None)
    date = b.date if b.date is not None else literal(None)
    fields = [b.field(f).label("f_" + f.value) for f in bounded_fields(kpi)]
    q = (b.select(b.t.c.id, b.t.c.record_id, date.label("date"), record_what(b.t).label("what"),
                  person.label("person"), *fields)
         .where(*b.base_conds(), *conds, not_(ok)).order_by(date, b.t.c.id).limit(limit))
    out = []
    for r in conn.execute(q).mappings():
        row = {k: v for k, v in r.items() if not k.startswith("f_")}
        values = {k[2:]: v for k, v in r.items() if k.startswith("f_")}
        out.append(dict(kpi_id=kid, table=b.t.element.name, **row, reason=bounds_reason(kpi, values)))
    return out


class RecordKind(KpiKind):
    """A figure over records: each kind gives its aggregate of the counted rows' values."""

    figure_counts_source = True

    needs_field: ClassVar[bool] = True  # sum, average, distinct name the field they read
    accumulates: ClassVar[bool] = True  # average does not

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        raise NotImplementedError

    def extra_aggs(self, ctx: Ctx, kpi: KPI) -> dict[str, ColumnElement[Any]]:
        """Further named values beside actual/evidence/violations (none by default)."""
        return {}

    def check(self, kpi: KPI) -> str | None:
        if self.needs_field and kpi.field is None:
            return f"{self.kind.value} 类指标必须给出 field"
        return None

    def cumulative(self, kpi: KPI) -> bool:
        return self.accumulates

    def default_pacing(self, kpi: KPI) -> PacingMode:
        return PacingMode.linear if self.accumulates else PacingMode.none

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        if kpi.cap_per_person is None:  # conditional aggregates on the shared scan of the source
            def aggs(b: Base, conds: list[Any]) -> dict[str, ColumnElement[Any]]:
                ok = b.each_ok(kpi)
                sel = and_(true(), *conds)
                counted = and_(sel, ok)
                value = b.field(kpi.field) if self.needs_field and kpi.field else literal(1)
                return {"actual": self.aggregate(counted, value), "evidence": sum_if(counted),
                        "violations": sum_if(and_(sel, not_(ok))) if kpi.each else literal(0),
                        **self.extra_aggs(ctx, kpi)}
            return shared_aggs(ctx, clause, kpi, kpi.source, shared, aggs)
        inner, counted, _ = counted_rows(ctx, kpi)
        stmt = select(self.aggregate(counted, inner.c.v).label("actual"), sum_if(counted).label("evidence"),
                      sum_if(not_(counted)).label("violations"),
                      *[e.label(n) for n, e in self.extra_aggs(ctx, kpi).items()]).select_from(inner)
        return own_statement(ctx, clause, kpi, stmt)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """The rows that do not count: outside a bound, or over the cap."""
        if not (kpi.each or kpi.cap_per_person):
            return []
        kid = ctx.spec.kpi_id(clause, kpi)
        inner, counted, table = counted_rows(ctx, kpi)
        src = Base(ctx, kpi.source).t
        q = (select(inner.c.id, inner.c.date, inner.c.ok, src.c.record_id, record_what(src).label("what"),
                    inner.c.person if "person" in inner.c else literal(None).label("person"))
             .select_from(inner.join(src, src.c.id == inner.c.id)).where(not_(counted))
             .order_by(inner.c.date, inner.c.id).limit(limit))
        got = list(conn.execute(q).mappings())
        values = bound_values(conn, Base(ctx, kpi.source), kpi, [int(r["id"]) for r in got if r["ok"] == 0])
        rows = []
        for r in got:
            reason = (bounds_reason(kpi, values.get(int(r["id"]), {})) if r["ok"] == 0
                      else f"超过每名对象最多计入 {kpi.cap_per_person} 次，规则为每名服务对象最多计入 {kpi.cap_per_person} 次")
            rows.append(dict(kpi_id=kid, table=table, id=r["id"], record_id=r["record_id"], date=r["date"],
                             what=r["what"], person=r["person"], reason=reason))
        return rows

    def status(self, facts: Facts) -> Status:
        return cumulative_status(facts) if self.accumulates else state_status(facts)
