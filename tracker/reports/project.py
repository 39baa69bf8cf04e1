"""The per-project compliance report (中期/终期): HTML and PDF, docs/contracts.md section 5.

``render_project_report`` gathers the engine's progress, the report's own SQL aggregates (fund use,
missing evidence, appendices), the NGO's explanations and the scoring verdict, renders
``project.html.j2`` (``tracker/reports/assets/``) and prints it to PDF.

Reproducibility: the ``.html`` file depends only on the records included, the as-of date, the
known-on moment, the spec and the templates. It carries no generation time: the time appears only in
the PDF (page footer and document metadata). Regenerating from the same records gives a
byte-identical ``.html``; the footer's record fingerprint shows which records were counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker import clock
from tracker.db.models import utcnow
from tracker.kpispec.model import PER_LABELS, Field_, Spec
from tracker.measure import progress as measure_progress
from tracker.measure.kinds import kind_of
from tracker.measure.types import MEASURE_LABELS, STATUS_LABELS, KpiProgress, ProjectProgress
from tracker.reports import charts, evaluation, query
from tracker.reports.common import (
    WHICH_CN,
    ReportFiles,
    aware,
    check_which,
    default_as_of,
    local,
    pacing_points,
    pdf_variant,
    render_template,
    templates_dir,
    write_pdf,
)
from tracker.reports.notes import TOPICS
from tracker.reports.scoring import (
    ScoreResult,
    apply_scheme,
    clause_results,
    describe_gap,
    load_scheme,
    superseded_rows,
)
from tracker.workspace import Workspace

VIOLATION_COLUMNS: list[tuple[str, str]] = [
    ("kpi_id", "指标"), ("date", "日期"), ("record_id", "记录编号"), ("what", "类型/时段"),
    ("person", "服务对象编号"), ("name", "姓名（脱敏）"), ("reason", "原因"), ("source", "来源（文件 行）"),
]
VIOLATIONS_SHOWN = 200  # the appendix lists at most this many; `tracker violations` lists them all


@dataclass
class Chart:
    title: str
    png: bytes


@dataclass
class BudgetRow:
    """One budget line against the expenses of its 科目 (``approved`` None: spent outside the budget)."""

    category: str
    approved: Decimal | None
    spent: Decimal
    count: int

    @property
    def rate(self) -> float | None:
        return float(self.spent / self.approved * 100) if self.approved else None

    @property
    def over(self) -> Decimal:
        """How much more was spent than approved (0 when within; all of it outside the budget)."""
        if self.approved is None:
            return self.spent
        return max(self.spent - self.approved, Decimal("0.00"))


@dataclass
class FundUse:
    funding: Decimal
    lines: list[query.ExpenseLine]
    spent: Decimal
    rate: float | None  # percent of the funding spent
    budget: list[BudgetRow] = field(default_factory=list)  # empty: the spec declares no budget

    @property
    def approved(self) -> Decimal:
        return sum((b.approved for b in self.budget if b.approved is not None), Decimal("0.00"))

    @property
    def budget_rate(self) -> float | None:
        return float(self.spent / self.approved * 100) if self.budget and self.approved else None

    @property
    def flagged(self) -> list[BudgetRow]:
        return [b for b in self.budget if b.over > 0]


def budget_rows(spec: Spec, lines: list[query.ExpenseLine]) -> list[BudgetRow]:
    """The spec's budget lines in their order, each with the expenses of its 科目; then the 科目 spent
    outside the budget, largest first. Empty when the spec declares no budget."""
    from tracker.kpispec.model import budget_key

    if not spec.budget:
        return []
    spent: dict[str, list[query.ExpenseLine]] = {}
    for x in lines:
        spent.setdefault(budget_key(x.category), []).append(x)
    rows = []
    for b in spec.budget:
        got = spent.pop(budget_key(b.category), [])
        rows.append(BudgetRow(b.category, Decimal(str(b.amount)).quantize(Decimal("0.01")),
                              sum((x.amount for x in got), Decimal("0.00")), sum(x.count for x in got)))
    for got in spent.values():
        rows.append(BudgetRow(got[0].category, None, sum((x.amount for x in got), Decimal("0.00")),
                              sum(x.count for x in got)))
    return rows


@dataclass
class ProjectReport:
    """Everything the template shows (also used by the portfolio and by tests)."""

    spec: Spec
    which: str
    as_of: dt.date
    known_on: dt.datetime | None
    progress: ProjectProgress
    spec_sha: str
    score: ScoreResult
    clauses: list[Any]
    funds: FundUse
    fingerprint: query.Fingerprint
    superseded: list[dict[str, str]] = field(default_factory=list)  # replaced by corrections, not counted
    charts: list[Chart] = field(default_factory=list)
    explanations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    plans: list[dict[str, Any]] = field(default_factory=list)
    not_on_track: list[KpiProgress] = field(default_factory=list)
    missing_deliverables: list[dict[str, Any]] = field(default_factory=list)
    missing_activity_evidence: list[tuple[str, int]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    deliverables: list[dict[str, Any]] = field(default_factory=list)  # itemised (types of ≤ query.DELIVERABLES_ITEMISED)
    deliverable_types: list[dict[str, Any]] = field(default_factory=list)  # per type: counts, itemised or not
    violations: list[dict[str, Any]] = field(default_factory=list)
    violations_total: int = 0
    violation_columns: list[tuple[str, str]] = field(default_factory=lambda: list(VIOLATION_COLUMNS))
    evidence: list[dict[str, Any]] = field(default_factory=list)  # the evidence appendix
    evaluation: Any = None  # tracker.reports.evaluation.EvaluationView
    evaluated: Any = None  # tracker.evaluation.scores.EvaluatedScore: the evaluators' scores


def _silent_month(report: ProjectReport) -> str | None:
    """The last elapsed month, as 2024年9月, for a report whose project recorded nothing in it."""
    if report.progress.silence != "quiet_last_month":
        return None
    month = measure_progress.last_elapsed_month(report.spec, report.as_of)
    return None if month is None else f"{month[0].year}年{month[0].month}月"


def _vocab_labels(spec: Spec) -> dict[str, str]:
    out: dict[str, str] = {}
    for group in (spec.activity_types, spec.deliverable_types, spec.respondent_types, spec.populations):
        for v in group:
            out[v.key] = v.label
    return out


def violation_line(v: dict[str, Any]) -> str:
    """One violation in a sentence: when, who (masked) or which record, what, the value and the rule,
    and where it came from: 2024-09 P020 张*丰 每人每月上门次数：本月 0 次，规则为每月不少于 1 次（来源：
    名册 名册.xlsx 工作表“名册” 第21行）."""
    when = v["date"].isoformat() if hasattr(v.get("date"), "isoformat") else (v.get("date") or "")
    slot = v.get("what") if not v.get("what_is_type") else None
    head = " ".join(str(x) for x in (when or slot, v.get("person"), v.get("name")) if x)
    subject = v.get("type_label") or v.get("kpi_label") or ""
    if v.get("record_id") and not v.get("person"):
        subject += f"（记录编号 {v['record_id']}）"
    source = v.get("source") or "无来源文件（网页或系统录入）"
    return f"{head} {subject}：{v.get('reason') or ''}（来源：{source}）".strip()


def _violation_table(rows: list[dict[str, Any]], kpi_labels: dict[str, str],
                     labels: dict[str, str], sources: dict[tuple[str, Any], str] | None = None) -> list[dict[str, Any]]:
    """The appendix rows: KPI ids as labels, vocabulary keys as labels, each with its sentence
    (``line``). Names come masked from the engine; they are masked here again as a second line of
    defence, and ID numbers never shown."""
    from tracker.records.privacy import mask_name

    out = []
    for r in rows:
        v = {key: r.get(key) for key, _ in VIOLATION_COLUMNS}
        if v["name"] and "*" not in str(v["name"]):
            v["name"] = mask_name(str(v["name"]))
        v["kpi"] = str(r.get("kpi_id"))
        v["kpi_label"] = kpi_labels.get(v["kpi"], v["kpi"]).split(" ", 1)[-1]
        v["kpi_id"] = kpi_labels.get(v["kpi"], v["kpi_id"])
        if v["what"] in labels:
            v["type_label"] = labels[v["what"]]
            v["what_is_type"] = True
            v["what"] = labels[v["what"]]
        if sources is not None:
            if r.get("table") and r.get("id") is not None:
                v["source"] = sources.get((str(r["table"]), int(r["id"])))
                if v["source"] is None:  # the kind's name, not its table's
                    from tracker.db.models import RECORD_TABLES

                    m = RECORD_TABLES.get(str(r["table"]))
                    v["source"] = sources.get((m.__table__.name, int(r["id"]))) if m is not None else None
            elif r.get("person"):
                v["source"] = sources.get(("roster", str(r["person"])))
        v["line"] = violation_line(v)
        out.append(v)
    return out


def build_project_report(ws: Workspace, code: str, which: str, as_of: dt.date | None = None,
                         known_on: dt.datetime | None = None, *, progress: ProjectProgress | None = None,
                         scheme: str | None = None, with_charts: bool = True) -> ProjectReport:
    which = check_which(which)
    ls = ws.loaded(code)
    spec = ls.spec
    as_of = as_of or default_as_of(spec, which)
    known_on = aware(known_on)
    eng = None
    if progress is None:
        eng = measure_progress
        progress = eng.compute_progress(ws, code, as_of, known_on)
    labels = _vocab_labels(spec)
    kpi_labels = {k.id: f"第{k.clause}条 {k.label}" for k in progress.kpis}
    with ws.engine.connect() as conn:
        lines = query.expenses_by_category(conn, code, as_of, known_on)
        monthly = query.monthly_activity(conn, code, as_of, known_on)
        sat = query.satisfaction_by_type(conn, code, as_of, known_on)
        no_evidence = query.activities_without_evidence(conn, code, as_of, known_on)
        dtypes = query.deliverable_types(conn, code, as_of, known_on, labels)
        delivs = query.deliverables(conn, code, as_of, known_on, {d["type"] for d in dtypes if d["itemised"]})
        appr = query.approvals(conn, code, as_of, known_on)
        expl = query.explanations(conn, code, known_on)
        fp = query.fingerprint(conn, code, as_of, known_on)
        evidence = query.evidence_files(conn, code, known_on)
    for e in evidence:
        if e["attached_to"] == "judgement" and e["attached_id"] in kpi_labels:
            e["attached_id"] = kpi_labels[e["attached_id"]]
    funding = (Decimal(str(spec.project.funding.amount_wan)) * 10000).quantize(Decimal("0.01"))
    spent = sum((x.amount for x in lines), Decimal("0.00"))
    rate = float(spent / funding * 100) if lines else None
    funds = FundUse(funding, lines, spent, rate, budget_rows(spec, lines))
    name, sch = load_scheme(name=scheme)
    score = apply_scheme(spec, progress, rate, sch, name)

    for d in delivs:
        d["type_label"] = labels.get(d["deliverable_type"], d["deliverable_type"])
    for a in appr:
        a["type_label"] = labels.get(a["activity_type"], a["activity_type"]) if a["activity_type"] else "全部活动"

    explanations: dict[str, list[dict[str, Any]]] = {}
    plans = []
    for e in expl:
        e = {**e, "topic_label": TOPICS.get(e["topic"], e["topic"])}
        if e["topic"] == "plan":
            plans.append(e)
        if e["kpi_id"] and e["topic"] != "plan":
            explanations.setdefault(e["kpi_id"], []).append(e)

    violations: list[dict[str, Any]] = []
    if eng is None:
        try:
            eng = measure_progress
        except Exception:
            eng = None
    if eng is not None and any(k.violations for k in progress.kpis):
        violations = list(eng.list_violations(ws, code, None, as_of, known_on))
    shown = violations[:VIOLATIONS_SHOWN]
    vrows = _violation_table(shown, kpi_labels, labels, evaluation.violation_sources(ws, shown, code))

    report = ProjectReport(
        spec=spec, which=which, as_of=as_of, known_on=known_on, progress=progress, spec_sha=ls.sha256,
        score=score, clauses=clause_results(spec, progress), funds=funds, fingerprint=fp,
        superseded=superseded_rows(spec),
        explanations=explanations, plans=plans,
        not_on_track=[k for k in progress.kpis if k.status in ("behind", "missed")],
        missing_deliverables=[d for d in delivs if not d["file"]],
        missing_activity_evidence=[(labels.get(t, t), n) for t, n in no_evidence],
        approvals=appr, deliverables=delivs, deliverable_types=dtypes, violations=vrows, violations_total=len(violations), evidence=evidence,
        evaluation=evaluation.evaluation_view(ws, code, which, known_on, kpi_labels),
    )
    report.evaluated = evaluation.evaluated_score(ws, report.evaluation, sch, score, known_on)
    if with_charts:
        report.charts = _charts(ws, spec, progress, as_of, known_on, monthly, sat, labels, eng)
    return report


def _charts(ws: Workspace, spec: Spec, progress: ProjectProgress, as_of: dt.date,
            known_on: dt.datetime | None, monthly: list[tuple[str, str, int]],
            sat: list[tuple[str, int, int]], labels: dict[str, str], eng: Any) -> list[Chart]:
    out: list[Chart] = []
    kpis = {spec.kpi_id(c, k): k for c, k in spec.iter_kpis()}
    p = spec.project
    for kp in progress.kpis:
        k = kpis.get(kp.id)
        if k is None or kind_of(k.kind).chart != "burnup" or kp.target is None or eng is None:
            continue
        if float(kp.target) <= 1:  # a single deliverable: the verdict table says all there is
            continue
        df = eng.monthly_series(ws, spec.code, kp.id, as_of, known_on)
        months = [_month_end(m) for m in df["month"]] if len(df) else []
        cum = [float(v) for v in df["cumulative"]] if len(df) else []
        title = f"第{kp.clause}条 {kp.label}：累计完成"
        out.append(Chart(title, charts.burnup(title, kp.unit, months, cum, float(kp.target),
                                              (p.period.start, p.period.end), p.midterm_date, as_of,
                                              pacing_points(spec, k))))
    if monthly:
        months = sorted({m for m, _, _ in monthly})
        types = sorted({t for _, t, _ in monthly}, key=lambda t: [a.key for a in spec.activity_types].index(t)
                       if spec.activity_type(t) else 99)
        grid = {(m, t): n for m, t, n in monthly}
        series = {labels.get(t, t): [grid.get((m, t), 0) for m in months] for t in types}
        out.append(Chart("每月活动记录数", charts.monthly_volume(months, series)))
    for kp in progress.kpis:
        k = kpis.get(kp.id)
        if k is None or kind_of(k.kind).chart != "distribution" or eng is None or kp.target is None:
            continue
        df = eng.per_person_distribution(ws, spec.code, kp.id, as_of, known_on)
        if len(df):
            every = PER_LABELS.get(k.per, "")  # 月, 周, 季度, 年, 日; "" for the whole period
            if k.by is Field_.project:  # the project as a whole: how many months had each count
                title, who, per = f"第{kp.clause}条 {kp.label}：项目各{every}实际数量的分布", f"{every}数", f"项目每{every}"
            else:
                per = None
                title = f"第{kp.clause}条 {kp.label}：{'各人各' + every if every else '每人'}实际数量的分布"
                who = f"人{every}数（每人每{every}计一次）" if every else "人数"
            out.append(Chart(title, charts.per_person(title, [int(c) for c in df["count"]],
                                                      [int(n) for n in df["people"]], float(kp.target), kp.unit,
                                                      who=who, every=every, per=per)))
    if sat:
        target = next((kp.target for kp in progress.kpis
                       if (k := kpis.get(kp.id)) is not None and kind_of(k.kind).measures_satisfaction(k)), None)
        out.append(Chart("各类调查对象满意率", charts.satisfaction(
            [labels.get(t, t) for t, _, _ in sat], [100.0 * s / n for _, n, s in sat],
            [n for _, n, _ in sat], target)))
    return out


def _month_end(m: Any) -> dt.date:
    """The last day of the month whose first day is ``m`` (the cumulative value holds from then)."""
    d = m.date() if hasattr(m, "date") and callable(m.date) else m
    if isinstance(d, str):
        d = dt.date.fromisoformat(d[:10])
    return clock.month_end(d)


def html_for(report: ProjectReport, directory: Path | None = None) -> str:
    p = report.spec.project
    ctx = {
        "r": report, "p": p, "which_cn": WHICH_CN[report.which], "status_labels": STATUS_LABELS,
        "measure_labels": MEASURE_LABELS, "silent_month": _silent_month(report),
        "known_on_text": (f"按 {local(report.known_on, '%Y-%m-%d')} 已录入的记录计算"
                          f"（截至北京时间 {local(report.known_on, '%H:%M:%S')}）") if report.known_on else None,
        "latest_entry": local(report.fingerprint.latest),
        "describe_gap": describe_gap, "topics": TOPICS, "ev": report.evaluation, "es": report.evaluated,
        "verdicts": {"met": "达标", "missed": "未达标"},
        "rules": kpi_rules_text(report.spec),
    }
    return render_template("project.html.j2", ctx, directory)


def kpi_rules_text(spec: Spec) -> dict[str, str]:
    """Each KPI's rules besides its target, in Chinese (每条记录…时长不少于 3 天或 24 小时; 项目每月不少于 1 次)."""
    from tracker.measure.kinds import rule_text

    return {spec.kpi_id(c, k): t for c, k in spec.iter_kpis() if (t := rule_text(k))}


def render_project_report(ws: Workspace, code: str, which: str, as_of: dt.date | None, out_dir: Path,
                          known_on: dt.datetime | None = None, *, progress: ProjectProgress | None = None,
                          scheme: str | None = None, pdf: bool = True,
                          generated_at: dt.datetime | None = None) -> ReportFiles:
    """Write ``<CODE>-midterm.html`` and ``.pdf`` (or ``-final``) into ``out_dir``."""
    report = build_project_report(ws, code, which, as_of, known_on, progress=progress, scheme=scheme)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = html_for(report)
    stem = f"{code}-{report.which}"
    files = ReportFiles(html=out_dir / f"{stem}.html", fingerprint=report.fingerprint.digest)
    files.html.write_text(html, encoding="utf-8")  # type: ignore[union-attr]
    if pdf:
        files.pdf = out_dir / f"{stem}.pdf"
        write_pdf(pdf_variant(html, generated_at or utcnow()), files.pdf, templates_dir())
    return files
