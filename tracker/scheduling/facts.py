"""What a director can act on this month, for the monthly email and the bureau's digest: what
changed since last month, what is needed per month to finish each behind KPI on time, new
violations, missing evidence, deliverables due in the next 60 days, and whether anything at all
was recorded in the month. Counts come from the engine and from SQL; nothing here names a person.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from tracker.db.models import RECORD_TABLES
from tracker.measure.kinds import kind_of
from tracker.measure.types import ProjectProgress
from tracker.records.visibility import visible

DUE_WITHIN_DAYS = 60


@dataclass
class MonthFacts:
    month_start: dt.date
    records_in_month: int = 0
    changes: list[str] = field(default_factory=list)  # "探访总人次：本月 +120 人次（累计 6,120）"
    needed: list[str] = field(default_factory=list)  # "探访总人次：还差 8,880 人次，剩余 4 个月，每月须完成 2,220 人次"
    new_violations: list[str] = field(default_factory=list)
    missing_evidence: list[str] = field(default_factory=list)
    due_soon: list[str] = field(default_factory=list)

    @property
    def silent(self) -> bool:
        return self.records_in_month == 0


def _num(v: float) -> str:
    v = round(float(v), 1)
    return f"{int(v):,}" if v.is_integer() else f"{v:,.1f}"


def months_left(as_of: dt.date, end: dt.date) -> int:
    """Whole months from the day after ``as_of`` to ``end`` (at least 1 while the period runs)."""
    if as_of >= end:
        return 0
    return max(1, (end.year - as_of.year) * 12 + end.month - as_of.month)


def records_dated(conn: Any, code: str, start: dt.date, end: dt.date) -> int:
    """Current records of the project dated in [start, end] (every kind with a date)."""
    n = 0
    for model in RECORD_TABLES.values():
        t = model.__table__
        if "date" not in t.c:
            continue
        n += conn.execute(select(func.count()).select_from(t).where(
            t.c.project_code == code, visible(t), t.c.date >= start, t.c.date <= end)).scalar_one()
    return int(n)


def month_facts(ws: Any, p: ProjectProgress, previous: ProjectProgress | None, month_start: dt.date) -> MonthFacts:
    from tracker.reports import query

    spec = ws.spec(p.project)
    facts = MonthFacts(month_start)
    prev = {k.id: k for k in previous.kpis} if previous else {}
    left = months_left(p.as_of, p.period_end)
    for k in p.kpis:
        unit = k.unit if k.unit and k.unit != "%" else ""
        before = prev.get(k.id)
        impl = kind_of(k.kind)
        # the first month of the period (no previous month): its change is all it has done
        if k.actual is not None and impl.by_month and (before is not None or previous is None):
            delta = float(k.actual) - float((before.actual or 0) if before is not None else 0)
            if delta:
                facts.changes.append(f"第{k.clause}条 {k.label}：本月 {'+' if delta > 0 else ''}{_num(delta)} {unit}"
                                     f"（累计 {_num(k.actual)}）".replace("  ", " "))
        if k.status in ("behind", "missed") and k.target is not None and k.actual is not None \
                and k.comparator == ">=" and impl.shortfall_per_month and not k.measure:
            gap = float(k.target) - float(k.actual)
            if gap > 0 and left:
                whole = float(k.target).is_integer() and float(k.actual).is_integer()
                per = math.ceil(gap / left) if whole else math.ceil(gap / left * 10) / 10
                facts.needed.append(f"第{k.clause}条 {k.label}：还差 {_num(gap)} {unit}，剩余 {left} 个月，"
                                    f"每月须完成 {_num(per)} {unit}".replace("  ", " "))
            elif gap > 0:
                facts.needed.append(f"第{k.clause}条 {k.label}：项目周期已结束，仍差 {_num(gap)} {unit}".replace("  ", " "))
        new_v = k.violations - (before.violations if before is not None else 0)
        if new_v > 0:
            facts.new_violations.append(f"第{k.clause}条 {k.label}：本月新增 {new_v} 条违规记录（累计 {k.violations} 条）")
    labels = {v.key: v.label for group in (spec.activity_types, spec.deliverable_types) for v in group}
    with ws.engine.connect() as conn:
        facts.records_in_month = records_dated(conn, p.project, month_start, p.as_of)
        for t, n in query.activities_without_evidence(conn, p.project, p.as_of, None):
            facts.missing_evidence.append(f"{labels.get(t, t)}：{n} 条活动记录没有签到表或照片")
        types = query.deliverable_types(conn, p.project, p.as_of, None, labels)
        for d in query.deliverables(conn, p.project, p.as_of, None, {t["type"] for t in types if t["itemised"]}):
            if not d["file"]:
                facts.missing_evidence.append(f"成果“{d['title'] or labels.get(d['deliverable_type'], '')}”"
                                              f"（{d['date']}）未提交文件")
    for t in types:
        if not t["itemised"] and t["without_file"]:
            facts.missing_evidence.append(f"{t['type_label']}：{t['without_file']} 份成果记录未提交文件")
    horizon = p.as_of + dt.timedelta(days=DUE_WITHIN_DAYS)
    by_id = {k.id: k for k in p.kpis}
    for c, kpi in spec.iter_kpis():
        pacing = getattr(kpi, "pacing", None)
        due = getattr(pacing, "due", None) if pacing is not None else None
        if due == "midterm":
            due = spec.project.midterm_date
        elif due == "end":
            due = spec.project.period.end
        if not isinstance(due, dt.date) or not (p.as_of < due <= horizon):
            continue
        kp = by_id.get(spec.kpi_id(c, kpi))
        if kp is not None and kp.status != "met":
            facts.due_soon.append(f"第{kp.clause}条 {kp.label}：须在 {due.isoformat()} 前完成"
                                  f"（目前 {_num(kp.actual) if kp.actual is not None else '—'}"
                                  f"{'' if kp.target is None else ' / ' + _num(kp.target)}）")
    if p.as_of < spec.project.midterm_date <= horizon:
        facts.due_soon.append(f"中期评估：{spec.project.midterm_date.isoformat()}（请提前准备自评报告与佐证材料）")
    if p.as_of < spec.project.period.end <= horizon:
        facts.due_soon.append(f"项目结项：{spec.project.period.end.isoformat()}（请提前准备终期自评报告与佐证材料）")
    return facts
