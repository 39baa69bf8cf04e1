"""``rate``: a percentage — satisfaction (satisfied answers / answers), pass (assessments passed /
assessments: 合格率, 匹配率), participation (distinct respondents on the roster / roster size) or
improvement (people whose post score beats their pre score / people with both). No answers yet →
no value (pending), never 0% or 100%."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, literal, null, select, true

from tracker.kpispec.model import KPI, Clause, Kind, RateMeasure, Source
from tracker.measure.compile import Base, Compiled, Ctx, own_statement, roster_members, shared_aggs, sum_if
from tracker.measure.kinds.base import KpiKind, _num
from tracker.measure.status import Facts, state_status
from tracker.measure.types import Status

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs


def _percent(num: Any, den: Any) -> ColumnElement[Any]:
    return case((den > 0, 100.0 * num / cast(den, Float)), else_=null())


def _answer_col(b: Base, kpi: KPI) -> Any:
    return b.t.c.satisfied if kpi.measure is RateMeasure.satisfaction else b.t.c.passed


def _answered(b: Base, kpi: KPI, conds: list[Any]) -> ColumnElement[bool]:
    """The answers a satisfaction or pass rate is a share of (its denominator): the KPI's records
    with an answer."""
    return and_(true(), *conds, _answer_col(b, kpi).is_not(None))


def _answers(kpi: KPI) -> Any:
    def aggs(b: Base, conds: list[Any]) -> dict[str, ColumnElement[Any]]:
        col = _answer_col(b, kpi)
        answered = _answered(b, kpi, conds)
        num = sum_if(and_(answered, col == true()))
        den = sum_if(answered)
        return {"num": num, "den": den, "evidence": den, "violations": literal(0), "actual": _percent(num, den)}
    return aggs


def _participation(ctx: Ctx, kpi: KPI) -> Any:
    b = Base(ctx, kpi.source)
    assert kpi.where.population
    r = roster_members(ctx, kpi.where.population, "pr")
    conds = b.where(kpi.where, population=False)
    num = (b.select(func.count(func.distinct(b.t.c.person_id)))
           .where(*b.base_conds(), *conds,
                  b.t.c.person_id.in_(select(r.c.member))).scalar_subquery())
    den = select(func.count()).select_from(roster_members(ctx, kpi.where.population, "pd")).scalar_subquery()
    inner = select(num.label("num"), den.label("den")).subquery("part")
    return select(_percent(inner.c.num, inner.c.den).label("actual"), inner.c.num.label("evidence"),
                  literal(0).label("violations"), inner.c.num, inner.c.den).select_from(inner)


def _improvement(ctx: Ctx, kpi: KPI) -> Any:
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
    num = sum_if(and_(both, per.c.post > per.c.pre))
    den = sum_if(both)
    return select(_percent(num, den).label("actual"), den.label("evidence"), literal(0).label("violations"),
                  num.label("num"), den.label("den")).select_from(per)


class Rate(KpiKind):
    figure_counts_source = True
    kind = Kind.rate
    shortfall_per_month = False  # a percentage is not made up by doing so much more a month
    label = "比率"

    def check(self, kpi: KPI) -> str | None:
        if kpi.measure is None:
            return "rate 类指标必须给出 measure（satisfaction/participation/pass/improvement）"
        if kpi.measure is RateMeasure.participation and not kpi.where.population:
            return "参与率（participation）必须给出 where.population 作为分母名册"
        return None

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        return [("unit", "rate 类指标的单位应为 “%”")] if kpi.unit != "%" else []

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        if kpi.measure is RateMeasure.satisfaction:
            return shared_aggs(ctx, clause, kpi, Source.survey, shared, _answers(kpi))
        if kpi.measure is RateMeasure.passed:
            return shared_aggs(ctx, clause, kpi, Source.assessment, shared, _answers(kpi))
        if kpi.measure is RateMeasure.participation:
            return own_statement(ctx, clause, kpi, _participation(ctx, kpi))
        return own_statement(ctx, clause, kpi, _improvement(ctx, kpi))

    def evidence(self, ctx: Ctx, clause: Clause, kpi: KPI) -> tuple[Source, Any] | None:
        """Satisfaction and pass rates: the answers (surveys, assessments) they are a share of."""
        if kpi.measure not in (RateMeasure.satisfaction, RateMeasure.passed):
            return super().evidence(ctx, clause, kpi)
        source = Source.survey if kpi.measure is RateMeasure.satisfaction else Source.assessment
        b = Base(ctx, source)
        conds = b.where(kpi.where)
        return source, b.select(b.t.c.id.label("id")).where(*b.base_conds(), _answered(b, kpi, conds))

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        return _num(values.get("actual")), {"numerator": int(values.get("num") or 0),
                                            "denominator": int(values.get("den") or 0)}

    def status(self, facts: Facts) -> Status:
        return state_status(facts)

    def measures_satisfaction(self, kpi: KPI) -> bool:
        return kpi.measure is RateMeasure.satisfaction

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        needs.per_type(kpi, assessment={RateMeasure.passed: "pass", RateMeasure.improvement: "improvement"}
                       .get(kpi.measure, "count"))  # type: ignore[arg-type]


KIND = Rate()
