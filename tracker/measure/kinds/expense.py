"""``expense``: 经费支出 — the expense records (of ``where.categories``, the 科目, compared without
spaces) dated by the as-of date: their total in 元 or 万元 (``unit``), or, with ``against``, a percent
of the funding (资金执行率; 宣传费不超过总经费10%), of the budget (the approved amount of the listed
科目, or of the whole ``budget:``; 支出不超过预算) or of all spending (a share). A denominator the spec
does not give (funding unknown, no budget line of those 科目) leaves the value pending, with the
reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, case, cast, func, literal, null, select, true

from tracker.kpispec.model import KPI, Clause, Kind, PacingMode, Spec, budget_key
from tracker.measure.compile import Base, Compiled, Ctx, _alias, own_statement, sum_if, visible
from tracker.measure.kinds.base import KpiKind, _num
from tracker.measure.status import Facts, cumulative_status, state_status
from tracker.measure.types import Status

UNITS = {"元": 1, "万元": 10000}


def denominator(spec: Spec, kpi: KPI) -> tuple[float | None, str | None]:
    """(the amount in 元 a percent is of, or None with the reason)."""
    if kpi.against == "funding":
        wan = spec.project.funding.amount_wan
        return (wan * 10000, None) if wan is not None else (None, "资助金额未定，无法计算占资助金额的比例：请在规格中填写 funding")
    if kpi.against == "budget":
        if not spec.budget:
            return None, "规格中没有核定预算（budget），无法计算预算执行率：请填写 budget"
        wanted = {budget_key(c) for c in kpi.where.categories or []}
        lines = [b for b in spec.budget if not wanted or budget_key(b.category) in wanted]
        if not lines:
            return None, f"核定预算中没有科目 {'、'.join(kpi.where.categories or [])}：请核对 where.categories 与 budget"
        return sum(b.amount for b in lines), None
    return None, None


class ExpenseKind(KpiKind):
    kind = Kind.expense
    label = "经费支出"
    own_records = "expense"

    def check(self, kpi: KPI) -> str | None:
        if kpi.against is None and kpi.unit not in UNITS:
            return "expense 类指标的金额单位应为 元 或 万元（占比请给出 against 和单位 %）"
        if kpi.against is not None and kpi.unit != "%":
            return "expense 类指标给出 against 时是百分比，单位应为 %"
        return None

    def cumulative(self, kpi: KPI) -> bool:
        return kpi.against != "spend"  # spending only grows; a share of all spending moves either way

    def default_pacing(self, kpi: KPI) -> PacingMode:
        return PacingMode.linear if self.cumulative(kpi) and kpi.comparator.value == ">=" else PacingMode.none

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        e = _alias("expense", "e")
        cats = [budget_key(c) for c in kpi.where.categories or []]
        mine = func.replace(e.c.category, " ", "").in_(cats) if cats else true()
        amount = cast(e.c.amount, Float)
        spend = func.coalesce(func.sum(case((mine, amount), else_=0.0)), 0.0)
        den, reason = denominator(ctx.spec, kpi)
        if kpi.against == "spend":
            total = func.coalesce(func.sum(amount), 0.0)
            actual: Any = case((total > 0, 100.0 * spend / total), else_=null())
        elif kpi.against is not None:
            actual = 100.0 * spend / den if den else literal(None, Float)
        else:
            actual = spend / UNITS[kpi.unit]
        stmt = select(actual.label("actual"), sum_if(mine).label("evidence"), literal(0).label("violations"),
                      spend.label("spent"), *([literal(reason).label("reason")] if reason else [])).where(
            e.c.project_code == ctx.code, visible(e, ctx.known_on), e.c.date <= ctx.as_of)
        return own_statement(ctx, clause, kpi, stmt)

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        detail: dict[str, Any] = {"spent": round(float(values.get("spent") or 0), 2)}
        if values.get("reason"):
            detail["reason"] = values["reason"]
        return _num(values.get("actual")), detail

    def status(self, facts: Facts) -> Status:
        if facts.rule == "spend":  # a share of all spending (``against``, passed as the KPI's rule)
            return state_status(facts)
        return cumulative_status(facts)


KIND = ExpenseKind()
