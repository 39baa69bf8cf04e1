"""``manual``: an auditor's judgement, recorded with evidence (``tracker judge``): the latest one
as known on decides; none yet → pending."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tracker.db.models import Judgement
from tracker.kpispec.model import KPI, Clause, Kind
from tracker.measure.compile import Base, Compiled, Ctx, own_statement
from tracker.measure.kinds.base import KpiKind, _num
from tracker.measure.status import Facts, verdict_status
from tracker.measure.types import Status

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs


class Manual(KpiKind):
    kind = Kind.manual
    label = "人工评定"
    needs_target = False
    reads_judgements = True  # the project's latest judgements are read in one query

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        kid = ctx.spec.kpi_id(clause, kpi)
        j = Judgement.__table__  # type: ignore[attr-defined]
        q = select(j.c.verdict, j.c.value.label("actual"), j.c.evidence.label("text"), j.c.author,
                   j.c.recorded_at).where(j.c.kpi_id == kid)
        if ctx.known_on is not None:
            q = q.where(j.c.recorded_at <= ctx.known_on)
        return own_statement(ctx, clause, kpi, q.order_by(j.c.recorded_at.desc(), j.c.id.desc()).limit(1))

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        verdict = values.get("verdict")
        if not verdict:
            return _num(values.get("actual")), {}
        at = values.get("recorded_at")
        return _num(values.get("actual")), {"verdict": verdict, "evidence": values.get("text"),
                                            "author": values.get("author"),
                                            "recorded_at": at.isoformat() if at else None}

    def status(self, facts: Facts) -> Status:
        return verdict_status(facts)

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        """Judged by auditors: the simulator generates nothing for it."""


KIND = Manual()
