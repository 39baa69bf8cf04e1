"""``staff``: staff credentials and experience. ``all_have``: every staff member in scope holds a
valid one and, with ``min_experience_years``, has that many years of practice (a gate; what is
missing is behind until the period ends, since it can still be handed in or recorded, but missed as
soon as the member took part in an activity without it).
``count_with``: at least ``target`` staff members hold one (and have the experience: a running total).

Experience ("3年以上工作经验") is judged on the day the member started on the project (入职日期, else
the period start): whole years from 从业起始日期 (``practice_since``) to that day, else the 工作年限
(``experience_years``) recorded; neither recorded is lacking it.

Scope: staff on the project by ``as_of`` (for ``count_with``, still in post then: no 离职日期 on or
before it); of ``where.roles`` (岗位) and ``where.employment`` (专职/兼职/志愿者) when given; on a
clause about children, only those working with children (for ``all_have``); with ``where.types``,
only the staff named (by staff number or name, in the activity's 工作人员 column) on an activity of
those types dated by ``as_of``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Date, and_, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.engine import Connection

from tracker.kpispec.model import KPI, Clause, Kind, PacingMode, StaffRule
from tracker.measure.compile import Base, Compiled, Ctx, _alias, own_statement, sum_if, visible
from tracker.measure.kinds.base import KpiKind
from tracker.measure.sqlfuncs import months_between
from tracker.measure.status import Facts, cumulative_status, gate_status
from tracker.measure.types import Status
from tracker.records.privacy import mask_name

if TYPE_CHECKING:
    from tracker.simulate.needs import Needs

CHILD_WORDS = ("儿童", "未成年", "少年", "孩子", "青少年", "学生")


def concerns_children(clause: Clause, kpi: KPI) -> bool:
    text = (kpi.excerpt or "") + clause.text
    return any(w in text for w in CHILD_WORDS)


def staff_has_credential(ctx: Ctx, s: Any, credential: str) -> ColumnElement[bool]:
    c = _alias("staffcredential", "cred")
    return exists(select(c.c.id).where(
        c.c.project_code == ctx.code, visible(c, ctx.known_on), c.c.staff_id == s.c.staff_id,
        c.c.credential == credential, or_(c.c.obtained_on.is_(None), c.c.obtained_on <= ctx.as_of),
        or_(c.c.expires_on.is_(None), c.c.expires_on >= ctx.as_of)))


def experienced(ctx: Ctx, s: Any, years: float) -> ColumnElement[bool]:
    """The staff member had ``years`` of practice on the day it started on the project (入职日期, else
    the period start): whole months from 从业起始日期 to that day, else the 工作年限 recorded."""
    start = func.coalesce(s.c.started_on, literal(ctx.period_start, Date))
    return or_(and_(s.c.practice_since.is_not(None), months_between(s.c.practice_since, start) >= math.ceil(12 * years - 1e-9)),
               and_(s.c.practice_since.is_(None), func.coalesce(s.c.experience_years, 0) >= years - 1e-9))


def qualified(ctx: Ctx, s: Any, kpi: KPI) -> ColumnElement[bool]:
    """Holds the credential (valid on the as-of date) and has the experience the KPI asks for."""
    parts: list[ColumnElement[bool]] = []
    if kpi.credential:
        parts.append(staff_has_credential(ctx, s, kpi.credential))
    if kpi.min_experience_years is not None:
        parts.append(experienced(ctx, s, kpi.min_experience_years))
    return and_(true(), *parts)


def first_unqualified_activity(ctx: Ctx, s: Any, kpi: KPI) -> ColumnElement[Any]:
    """The date of the first activity (of ``where.types``, if given) dated by ``as_of`` that names the
    staff member (by staff number or name) on a day it held no valid credential, or at all when it
    lacks the experience; NULL if none."""
    a = _alias("activity", "ua")
    c = _alias("staffcredential", "uc")
    lacking: list[ColumnElement[bool]] = []
    if kpi.credential:
        valid_then = exists(select(c.c.id).where(
            c.c.project_code == ctx.code, visible(c, ctx.known_on), c.c.staff_id == s.c.staff_id,
            c.c.credential == kpi.credential, or_(c.c.obtained_on.is_(None), c.c.obtained_on <= a.c.date),
            or_(c.c.expires_on.is_(None), c.c.expires_on >= a.c.date)).correlate_except(c))  # s from two levels up
        lacking.append(not_(valid_then))
    if kpi.min_experience_years is not None:
        lacking.append(not_(experienced(ctx, s, kpi.min_experience_years)))
    conds = [a.c.project_code == ctx.code, visible(a, ctx.known_on), a.c.date <= ctx.as_of,
             or_(a.c.staff == s.c.staff_id, a.c.staff == s.c.name), or_(false(), *lacking)]
    if kpi.where.types:
        conds.append(a.c.activity_type.in_(kpi.where.types))
    return select(func.min(a.c.date)).where(*conds).scalar_subquery()


def named_on_activities(ctx: Ctx, s: Any, types: list[str]) -> ColumnElement[bool]:
    """The staff member is named on a visible activity of one of ``types`` dated by ``as_of``."""
    a = _alias("activity", "sa")
    return exists(select(a.c.id).where(
        a.c.project_code == ctx.code, visible(a, ctx.known_on), a.c.date <= ctx.as_of,
        a.c.activity_type.in_(types), or_(a.c.staff == s.c.staff_id, a.c.staff == s.c.name)))


def staff_scope(ctx: Ctx, clause: Clause, kpi: KPI, s: Any) -> list[ColumnElement[bool]]:
    """Staff on the project by ``as_of``; for ``all_have`` on a clause about children, only those
    working with children (``count_with`` counts every staff member holding the credential); with
    ``where.types``, only those named on activities of those types."""
    conds = [s.c.project_code == ctx.code, visible(s, ctx.known_on),
             or_(s.c.started_on.is_(None), s.c.started_on <= ctx.as_of)]
    if kpi.where.roles:
        conds.append(s.c.role.in_(kpi.where.roles))
    if kpi.where.employment:
        conds.append(s.c.employment.in_(kpi.where.employment))
    if kpi.rule is StaffRule.count_with:  # holders in post on the as-of date (a leaver's certificate is gone)
        conds.append(or_(s.c.left_on.is_(None), s.c.left_on > ctx.as_of))
    if kpi.rule is StaffRule.all_have and concerns_children(clause, kpi):
        conds.append(s.c.works_with_children == true())
    if kpi.where.types:
        conds.append(named_on_activities(ctx, s, kpi.where.types))
    return conds


def experience_text(ctx: Ctx, years: float, r: Any) -> str:
    """工作经验不足3年（从业起始日期 2022-03-01，入项时满 2 年）; 未登记从业起始日期或工作年限."""
    need = f"{years:g}年"
    start = r["started_on"] or ctx.period_start
    if r["practice_since"] is not None:
        ps = r["practice_since"]
        months = (start.year - ps.year) * 12 + start.month - ps.month - (1 if start.day < ps.day else 0)
        return f"工作经验不足{need}（从业起始日期 {ps}，入项时满 {max(months, 0) // 12} 年）"
    if r["experience_years"] is not None:
        return f"工作经验不足{need}（登记的工作年限 {float(r['experience_years']):g} 年）"
    return f"缺少工作经验记录：未登记从业起始日期或工作年限（要求{need}以上）"


class StaffKind(KpiKind):
    kind = Kind.staff
    label = "人员资质"

    def whole_units(self, kpi: KPI) -> bool:
        return kpi.rule is StaffRule.count_with
    own_records = "staff"
    needs_target = False

    def check(self, kpi: KPI) -> str | None:
        if kpi.rule is None or (kpi.credential is None and kpi.min_experience_years is None):
            return "staff 类指标必须给出 rule，以及 credential 或 min_experience_years（或两者）"
        if kpi.rule is StaffRule.count_with and kpi.target is None:
            return "staff/count_with 必须给出 target"
        return None

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        if kpi.rule is StaffRule.all_have and kpi.target is not None:
            return [("target", "staff/all_have 没有数值目标，target 应省略")]
        return []

    def cumulative(self, kpi: KPI) -> bool:
        return kpi.rule is StaffRule.count_with

    def default_pacing(self, kpi: KPI) -> PacingMode:
        return PacingMode.linear if kpi.rule is StaffRule.count_with else PacingMode.none

    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        s = _alias("staff", "s")
        has = qualified(ctx, s, kpi)
        if kpi.rule is StaffRule.all_have:
            lacking = sum_if(not_(has))
            acted = first_unqualified_activity(ctx, s, kpi).is_not(None)
            stmt = select(lacking.label("actual"), func.count().label("evidence"),
                          sum_if(or_(not_(has), acted)).label("violations"),
                          sum_if(acted).label("acted_without")).where(*staff_scope(ctx, clause, kpi, s))
        else:
            stmt = select(sum_if(has).label("actual"), func.count().label("evidence"),
                          literal(0).label("violations")).where(*staff_scope(ctx, clause, kpi, s))
        return own_statement(ctx, clause, kpi, stmt)

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        if kpi.rule is not StaffRule.all_have:
            return []
        s = _alias("staff", "s")
        has = qualified(ctx, s, kpi)
        cred = staff_has_credential(ctx, s, kpi.credential) if kpi.credential else true()
        exp = experienced(ctx, s, kpi.min_experience_years) if kpi.min_experience_years is not None else true()
        first = first_unqualified_activity(ctx, s, kpi)
        q = select(s.c.id, s.c.record_id, s.c.staff_id, s.c.name, cred.label("cred"), exp.label("exp"),
                   s.c.practice_since, s.c.experience_years, s.c.started_on, first.label("first")).where(
            *staff_scope(ctx, clause, kpi, s), or_(not_(has), first.is_not(None))
        ).order_by(s.c.staff_id, s.c.id).limit(limit)
        kid = ctx.spec.kpi_id(clause, kpi)
        label = next((c.label for c in ctx.spec.credentials if c.key == kpi.credential), kpi.credential)
        rows = []
        for r in conn.execute(q).mappings():
            missing = []
            if kpi.credential and not r["cred"]:
                missing.append(f"缺少有效的{label}")
            if kpi.min_experience_years is not None and not r["exp"]:
                missing.append(experience_text(ctx, kpi.min_experience_years, r))
            reasons = list(missing)
            if r["first"] is not None:
                short_exp = kpi.min_experience_years is not None and not r["exp"]
                what = []
                if kpi.credential and (not r["cred"] or not short_exp):
                    what.append(f"没有有效{label}")
                if short_exp:
                    what.append(f"工作经验不足{kpi.min_experience_years:g}年")
                reasons.append(f"{r['first']} 起在{'、'.join(what)}的情况下参与了活动")
            rows.append(dict(kpi_id=kid, table="staff", id=r["id"], record_id=r["record_id"], date=r["first"],
                             what=r["staff_id"], person=None, name=None if r["name"] is None else mask_name(r["name"]),
                             reason="；".join(reasons)))
        return rows

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        actual, detail = super().shape(kpi, values)
        if kpi.rule is StaffRule.all_have:
            detail.update(staff=int(values.get("evidence") or 0), lacking=int(values.get("actual") or 0),
                          acted_without=int(values.get("acted_without") or 0))
            if not values.get("evidence"):
                detail["reason"] = "尚未登记工作人员：请先导入在此指标范围内的工作人员名单"
        return actual, detail

    def measure(self, kpi: KPI) -> str | None:
        return "lacking_count" if kpi.rule is StaffRule.all_have else None

    def status(self, facts: Facts) -> Status:
        """all_have: anyone in scope who took part in an activity without a valid credential →
        missed (a finding: it happened); a credential still missing with no such activity → behind
        until the period ends (it can still be handed in), missed after; else the gate rule."""
        if facts.rule == "all_have":
            if facts.broken > 0:
                return "missed"
            return gate_status(facts, behind_until_end=True)
        return cumulative_status(facts)

    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        if kpi.credential:
            needs.credentials[kpi.credential] = int(kpi.target) if kpi.target is not None else None
        if kpi.min_experience_years is not None:
            needs.staff_experience = max(needs.staff_experience, kpi.min_experience_years)
        for role in kpi.where.roles or []:
            if role not in needs.staff_roles:
                needs.staff_roles.append(role)


KIND = StaffKind()
