"""``zero_incident``: no incident of the given types (负面舆情, 有责投诉, 安全事故 …). The count and
the listing read the same rows (``incidents``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, Clause, Kind
from tracker.measure.compile import Base, Compiled, Ctx, _alias, own_statement, visible
from tracker.measure.kinds.base import KpiKind
from tracker.measure.status import Facts, gate_status
from tracker.measure.types import Status

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs


def incidents(ctx: Ctx, kpi: KPI) -> tuple[Any, list[Any]]:
    """(the incident table, the conditions selecting the incidents that break the KPI)."""
    t = _alias("incident", "i")
    return t, [t.c.project_code == ctx.code, visible(t, ctx.known_on), t.c.date <= ctx.as_of,
               t.c.incident_type.in_(kpi.incident_types or [])]


class ZeroIncident(KpiKind):
    kind = Kind.zero_incident
    label = "零事件"
    own_records = "incident"
    needs_target = False
    no_target = True

    def check(self, kpi: KPI) -> str | None:
        return None if kpi.incident_types else "zero_incident 类指标必须给出 incident_types"

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        _t, conds = incidents(ctx, kpi)
        n = func.count()
        return own_statement(ctx, clause, kpi, select(n.label("actual"), n.label("evidence"),
                                                      n.label("violations")).where(*conds))

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        t, conds = incidents(ctx, kpi)
        q = select(t.c.id, t.c.record_id, t.c.date, t.c.incident_type.label("what")).where(*conds).order_by(
            t.c.date, t.c.id).limit(limit)
        kid = ctx.spec.kpi_id(clause, kpi)
        return [dict(kpi_id=kid, table="incident", person=None, **r, reason="发生了不得发生的事件")
                for r in conn.execute(q).mappings()]

    def measure(self, kpi: KPI) -> str | None:
        return "incident_count"

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        """actual: how many incidents of the KPI's types happened (``incident_count``; the rule is 0)."""
        n = int(values.get("actual") or 0)
        return float(n), {"incidents": n, "incident_types": list(kpi.incident_types or [])}

    def status(self, facts: Facts) -> Status:
        return gate_status(facts, judged_without_evidence=True)  # elapsed time without one is progress

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        needs.incident_types.extend(t for t in (kpi.incident_types or []) if t not in needs.incident_types)


KIND = ZeroIncident()
