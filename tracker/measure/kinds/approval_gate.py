"""``approval_gate``: every activity (or deliverable) approved on or before its date by an
approval covering its type (or every type). ``actual`` is the percent of the records under the gate
so covered (``measure: covered_pct``); the count of unapproved records (the violations) and their
listing come from one predicate (``unapproved``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, exists, literal, not_, or_, select, true
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, Clause, Kind, Source
from tracker.measure.compile import Base, Compiled, Ctx, _alias, shared_aggs, sum_if, visible
from tracker.measure.kinds.base import KpiKind
from tracker.measure.status import Facts, gate_status
from tracker.measure.types import Status

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs


def approval_compliant(ctx: Ctx, a: Any) -> ColumnElement[bool]:
    """An activity (or a deliverable) is compliant when an approval covering its type (or every
    type) and its date was itself dated on or before it."""
    ap = _alias("approval", "ap")
    record_type = a.c.deliverable_type if "deliverable_type" in a.c else a.c.activity_type
    return exists(select(ap.c.id).where(
        ap.c.project_code == ctx.code, visible(ap, ctx.known_on),
        or_(ap.c.activity_type.is_(None), ap.c.activity_type == record_type),
        or_(ap.c.valid_from.is_(None), ap.c.valid_from <= a.c.date),
        or_(ap.c.valid_to.is_(None), ap.c.valid_to >= a.c.date),
        ap.c.date <= a.c.date))


def unapproved(ctx: Ctx, b: Base, conds: list[Any]) -> ColumnElement[bool]:
    """A record under the gate (the KPI's filters) with no approval before it."""
    return and_(true(), *conds, not_(approval_compliant(ctx, b.t)))


class ApprovalGate(KpiKind):
    kind = Kind.approval_gate
    label = "事前审核"
    own_records = "approval"
    needs_target = False
    no_target = True

    def check(self, kpi: KPI) -> str | None:
        if kpi.source not in (Source.activity, Source.deliverable):
            return "approval_gate 只能用于活动（activity）或成果（deliverable）"
        return None

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        def aggs(b: Base, conds: list[Any]) -> dict[str, ColumnElement[Any]]:
            bad = unapproved(ctx, b, conds)
            return {"evidence": sum_if(and_(true(), *conds)), "violations": sum_if(bad)}
        return shared_aggs(ctx, clause, kpi, kpi.source, shared, aggs)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        b = Base(ctx, kpi.source)
        deliverable = kpi.source is Source.deliverable
        what = b.t.c.deliverable_type if deliverable else b.t.c.activity_type
        person = literal(None) if deliverable else b.t.c.person_id
        q = (b.select(b.t.c.id, b.t.c.record_id, b.t.c.date, what.label("what"), person.label("person"))
             .where(*b.base_conds(), unapproved(ctx, b, b.where(kpi.where))).order_by(b.t.c.date, b.t.c.id)
             .limit(limit))
        reason = "发布前没有覆盖该成果的审核" if deliverable else "活动开展前没有覆盖该活动的审批"
        kid = ctx.spec.kpi_id(clause, kpi)
        return [dict(kpi_id=kid, table="deliverable" if deliverable else "activity", **r, reason=reason)
                for r in conn.execute(q).mappings()]

    def measure(self, kpi: KPI) -> str | None:
        return "covered_pct"

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        """actual: the percent of the records under the gate covered by a prior approval
        (``covered_pct``); the uncovered ones are the violations."""
        records, uncovered = int(values.get("evidence") or 0), int(values.get("violations") or 0)
        detail: dict[str, Any] = {"records": records, "covered": records - uncovered, "uncovered": uncovered}
        if not records:
            detail["reason"] = ("尚无成果记录：请先登记成果" if kpi.source is Source.deliverable
                                else "尚无活动记录：请先登记活动")
            return None, detail
        return 100.0 * (records - uncovered) / records, detail

    def status(self, facts: Facts) -> Status:
        return gate_status(facts)

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        if kpi.source is Source.deliverable:
            needs.deliverable_gate.extend(kpi.where.types or list(needs.deliverable))
        else:
            needs.approval_gate = True


KIND = ApprovalGate()
