"""The portfolio report for the bureau: every project in one table, charts by category and district,
as PDF (``portfolio-<which>.pdf``) and XLSX (``portfolio-<which>.xlsx``: a summary sheet and one
formatted sheet per project with its KPI rows)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker.db.models import utcnow
from tracker.kpispec.model import Spec
from tracker.measure import progress as measure_progress
from tracker.measure.types import STATUS_LABELS, ProjectProgress
from tracker.reports import charts, query
from tracker.reports.common import (
    WHICH_CN,
    ReportFiles,
    aware,
    check_which,
    default_as_of,
    local,
    pdf_variant,
    render_template,
    templates_dir,
    write_pdf,
)
from tracker.reports.scoring import ScoreResult, apply_scheme, load_scheme
from tracker.workspace import Workspace


@dataclass
class PortfolioRow:
    spec: Spec
    progress: ProjectProgress
    score: ScoreResult
    spent: Decimal
    rate: float | None

    @property
    def counts(self) -> dict[str, int]:
        return self.progress.counts()

    @property
    def met_share(self) -> float | None:
        n = len(self.progress.kpis)
        return 100.0 * self.counts["met"] / n if n else None


def _progress_for(ws: Workspace, which: str, as_of: dt.date | None,
                  known_on: dt.datetime | None, codes: list[str]) -> list[ProjectProgress]:
    eng = measure_progress
    if as_of is not None and set(codes) == set(ws.codes):
        return list(eng.compute_portfolio(ws, as_of, known_on))
    return [eng.compute_progress(ws, c, as_of or default_as_of(ws.spec(c), which), known_on)  # type: ignore[arg-type]
            for c in codes]


def build_portfolio(ws: Workspace, which: str, as_of: dt.date | None = None,
                    known_on: dt.datetime | None = None, *, progress: list[ProjectProgress] | None = None,
                    codes: list[str] | None = None, scheme: str | None = None) -> list[PortfolioRow]:
    which = check_which(which)
    known_on = aware(known_on)
    codes = codes or ws.codes
    if progress is None:
        progress = _progress_for(ws, which, as_of, known_on, codes)
    name, sch = load_scheme(name=scheme)
    rows = []
    with ws.engine.connect() as conn:
        for pp in sorted(progress, key=lambda x: x.project):
            spec = ws.spec(pp.project)
            lines = query.expenses_by_category(conn, pp.project, pp.as_of, known_on)
            spent = sum((x.amount for x in lines), Decimal("0.00"))
            funding = Decimal(str(spec.project.funding.amount_wan)) * 10000
            rate = float(spent / funding * 100) if lines else None
            rows.append(PortfolioRow(spec, pp, apply_scheme(spec, pp, rate, sch, name), spent, rate))
    return rows


def _group_counts(rows: list[PortfolioRow], key: Any) -> tuple[list[str], dict[str, list[int]]]:
    acc: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUS_LABELS, 0))
    for r in rows:
        for g in key(r):
            for s, n in r.counts.items():
                acc[g][s] += n
    groups = sorted(acc)
    return groups, {s: [acc[g][s] for g in groups] for s in STATUS_LABELS}


def portfolio_charts(rows: list[PortfolioRow]) -> list[tuple[str, bytes]]:
    out = []
    if not rows:
        return out
    g, c = _group_counts(rows, lambda r: [r.spec.project.category])
    out.append(("按项目类别的指标状态", charts.status_stack("按项目类别的指标状态", g, c)))
    g, c = _group_counts(rows, lambda r: r.spec.project.area)
    out.append(("按实施区域的指标状态", charts.status_stack("按实施区域（区、县市）的指标状态", g, c)))
    return out


# ------------------------------------------------------------------ XLSX


def write_xlsx(rows: list[PortfolioRow], which: str, path: Path, known_on: dt.datetime | None,
               title: str | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True, name="Noto Sans CJK SC")
    fill = PatternFill("solid", fgColor="E6E6E6")
    thin = Side(style="thin", color="888888")
    border = Border(top=thin, bottom=thin, left=thin, right=thin)
    wrap = Alignment(wrap_text=True, vertical="top")

    def sheet(ws: Any, headers: list[tuple[str, float, str | None]], data: list[list[Any]]) -> None:
        ws.append([h for h, _, _ in headers])
        for cell in ws[1]:
            cell.font, cell.fill, cell.border = bold, fill, border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for row in data:
            ws.append(row)
        for i, (_, width, fmt) in enumerate(headers, start=1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = width
            for cell in ws[letter][1:]:
                cell.border = border
                cell.alignment = wrap
                if fmt:
                    cell.number_format = fmt
        ws.freeze_panes = "B2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(data) + 1}"

    wb = Workbook()
    summary = wb.active
    summary.title = "汇总"
    headers = [("项目编号", 12, None), ("项目名称", 36, None), ("项目类别", 14, None), ("实施区域", 18, None),
               ("资助金额（万元）", 11, "#,##0.0"), ("统计截至", 12, "yyyy-mm-dd"), ("指标数", 8, "0"),
               ("达标", 7, "0"), ("进度正常", 9, "0"), ("进度滞后", 9, "0"), ("未达标", 8, "0"),
               ("待评定", 8, "0"), ("达标占比", 10, "0.0%"), ("条款达标", 10, None),
               ("支出（元）", 14, "#,##0.00"), ("执行率", 9, "0.0%"),
               ("评定" if which == "final" else "按终期规则预评", 12, None)]
    data = []
    for r in rows:
        c = r.counts
        p = r.spec.project
        data.append([p.code, p.name, p.category, "、".join(p.area), p.funding.amount_wan, r.progress.as_of,
                     len(r.progress.kpis), c["met"], c["on_track"], c["behind"], c["missed"], c["pending"],
                     (r.met_share / 100) if r.met_share is not None else None,
                     f"{r.score.clauses_met}/{r.score.clauses_total}", float(r.spent),
                     (r.rate / 100) if r.rate is not None else None, r.score.verdict])
    sheet(summary, headers, data)

    kpi_headers = [("条款", 6, "0"), ("指标编号", 30, None), ("指标", 24, None), ("条款原文", 48, None),
                   ("比较", 6, None), ("目标", 10, "#,##0.##"), ("单位", 8, None), ("实际", 10, "#,##0.##"),
                   ("应完成", 10, "#,##0.##"), ("预测", 10, "#,##0.##"), ("完成率", 9, "0.0%"),
                   ("状态", 10, None), ("违规", 7, "0"), ("佐证", 7, "0")]
    for r in rows:
        ws_ = wb.create_sheet(r.spec.code[:31])
        kd = [[k.clause, k.id, k.label, k.text, k.comparator, k.target, k.unit, k.actual, k.expected, k.forecast,
               (k.completion / 100) if k.completion is not None else None, STATUS_LABELS[k.status],
               k.violations, k.evidence] for k in r.progress.kpis]
        sheet(ws_, kpi_headers, kd)

    info = wb.create_sheet("说明")
    info.append(["报告", title or f"全市公益创投项目{WHICH_CN[which]}汇总"])
    info.append(["记录口径", f"按 {local(known_on, '%Y-%m-%d %H:%M:%S')} 已录入的记录计算" if known_on
                 else "按生成时已录入的全部记录计算"])
    info.append(["评分方案", rows[0].score.title if rows else "—"])
    info.column_dimensions["A"].width = 12
    info.column_dimensions["B"].width = 60
    wb.save(path)


# ------------------------------------------------------------------ entry point


def render_portfolio(ws: Workspace, which: str, as_of: dt.date | None, out_dir: Path,
                     known_on: dt.datetime | None = None, *, progress: list[ProjectProgress] | None = None,
                     codes: list[str] | None = None, scheme: str | None = None, pdf: bool = True,
                     generated_at: dt.datetime | None = None) -> ReportFiles:
    """Write ``portfolio-<which>.xlsx`` and ``.pdf`` into ``out_dir``. Without ``as_of`` each project
    is taken as of its own mid-term date (midterm) or period end (final)."""
    which = check_which(which)
    known_on = aware(known_on)
    rows = build_portfolio(ws, which, as_of, known_on, progress=progress, codes=codes, scheme=scheme)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(xlsx=out_dir / f"portfolio-{which}.xlsx")
    write_xlsx(rows, which, files.xlsx, known_on)  # type: ignore[arg-type]
    if pdf:
        ctx = {"rows": rows, "which": which, "which_cn": WHICH_CN[which], "as_of": as_of,
               "charts": portfolio_charts(rows), "status_labels": STATUS_LABELS,
               "known_on_text": (f"按 {local(known_on, '%Y-%m-%d')} 已录入的记录计算"
                                 f"（截至北京时间 {local(known_on, '%H:%M:%S')}）") if known_on else None,
               "totals": _totals(rows)}
        html = render_template("portfolio.html.j2", ctx)
        files.pdf = out_dir / f"portfolio-{which}.pdf"
        write_pdf(pdf_variant(html, generated_at or utcnow()), files.pdf, templates_dir())
    return files


def _totals(rows: list[PortfolioRow]) -> dict[str, Any]:
    t: dict[str, Any] = dict.fromkeys(STATUS_LABELS, 0)
    for r in rows:
        for s, n in r.counts.items():
            t[s] += n
    t["kpis"] = sum(len(r.progress.kpis) for r in rows)
    t["funding"] = sum(r.spec.project.funding.amount_wan for r in rows)
    t["passed"] = sum(1 for r in rows if r.score.passed)
    t["met_share"] = 100.0 * t["met"] / t["kpis"] if t["kpis"] else None
    return t
