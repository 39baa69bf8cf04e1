"""``timeliness``: 及时率 — the percent of records done within ``within`` (N days, or hours counted
in whole days) of their reference date column (``reference``, e.g. 需求登记日期 → the service date).
A record without its reference date, or done before it, cannot be shown to be timely: it counts in
the denominator, not the numerator, and is listed with the reason. No records yet → no value."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, literal, not_, true
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, Clause, Kind, Source
from tracker.measure.compile import SOURCE_TABLES, Base, Compiled, Ctx, shared_aggs, sum_if
from tracker.measure.kinds._records import record_what
from tracker.measure.kinds.base import KpiKind, _num
from tracker.measure.kinds.rate import _percent
from tracker.measure.sqlfuncs import days_between
from tracker.measure.status import Facts, state_status
from tracker.measure.types import Status
from tracker.records.columns import DATE, KINDS

KIND_OF_SOURCE = {Source.activity: "activity", Source.deliverable: "deliverable", Source.roster: "roster",
                  Source.survey: "survey", Source.assessment: "assessment"}


def reference_columns(source: Source) -> dict[str, str]:
    """The date columns a record of ``source`` may be timed from: column → Chinese label."""
    kd = KINDS[KIND_OF_SOURCE[source]]
    table = SOURCE_TABLES[source]
    return {c.column: c.label for c in kd.columns
            if c.type == DATE and c.column in table.c and c.column not in ("date",)}


def timely(b: Base, kpi: KPI) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    """(days from the reference date to the record's date, the record is timely)."""
    assert kpi.reference and kpi.within and b.date is not None
    ref = b.t.c[kpi.reference]
    days = days_between(b.date, ref)
    return days, and_(ref.is_not(None), days >= 0, days <= kpi.within.max_days)


class Timeliness(KpiKind):
    kind = Kind.timeliness
    label = "及时率"

    def check(self, kpi: KPI) -> str | None:
        if kpi.reference is None or kpi.within is None:
            return "timeliness 类指标必须给出 reference（参照日期列）和 within（如 {days: 3}）"
        cols = reference_columns(kpi.source)
        if kpi.reference not in cols:
            names = "、".join(f"{k}（{v}）" for k, v in cols.items()) or "无"
            return f"{kpi.source.value} 记录没有日期列 {kpi.reference}；可作参照的日期列：{names}"
        return None

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        return [("unit", "timeliness 类指标的单位应为 “%”")] if kpi.unit != "%" else []

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        def aggs(b: Base, conds: list[Any]) -> dict[str, ColumnElement[Any]]:
            sel = and_(true(), *conds)
            _days, ok = timely(b, kpi)
            num, den = sum_if(and_(sel, ok)), sum_if(sel)
            return {"actual": _percent(num, den), "evidence": den, "violations": sum_if(and_(sel, not_(ok))),
                    "num": num, "den": den}
        return shared_aggs(ctx, clause, kpi, kpi.source, shared, aggs)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        assert kpi.reference and kpi.within
        b = Base(ctx, kpi.source)
        days, ok = timely(b, kpi)
        ref = b.t.c[kpi.reference]
        person = b.t.c.person_id if "person_id" in b.t.c else literal(None)
        q = (b.select(b.t.c.id, b.t.c.record_id, b.date.label("date"), record_what(b.t).label("what"),
                      person.label("person"), ref.label("ref"), days.label("days"))
             .where(*b.base_conds(), *b.where(kpi.where), not_(ok)).order_by(b.date, b.t.c.id).limit(limit))
        label = reference_columns(kpi.source)[kpi.reference]
        kid = ctx.spec.kpi_id(clause, kpi)
        rows = []
        for r in conn.execute(q).mappings():
            if r["ref"] is None:
                reason = f"未填写{label}，无法判断是否及时：请补填"
            elif r["days"] < 0:
                reason = f"日期早于{label}（{r['ref']}）：请核对"
            else:
                reason = f"距{label}（{r['ref']}）{r['days']}天，要求{kpi.within.text}内"
            rows.append(dict(kpi_id=kid, table=b.t.name, id=r["id"], record_id=r["record_id"], date=r["date"],
                             what=r["what"], person=r["person"], reason=reason))
        return rows

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        return _num(values.get("actual")), {"numerator": int(values.get("num") or 0),
                                            "denominator": int(values.get("den") or 0)}

    def status(self, facts: Facts) -> Status:
        return state_status(facts)


KIND = Timeliness()
