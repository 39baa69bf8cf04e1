"""What goes into a message: the measured progress, a chart from ``tracker.reports.charts`` and the
PDF report from ``tracker.reports``, built once per (kind, project, period) within a tick however many
recipients it has. A project whose figures or report cannot be built raises; the caller records the
error on that project's rows and carries on with the others."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tracker.measure.types import ProjectProgress
from tracker.scheduling.compose import STATUS_ORDER, Attachment, cn_month
from tracker.scheduling.facts import MonthFacts, month_facts, records_dated
from tracker.workspace import Workspace


@dataclass
class ProjectContent:
    progress: ProjectProgress
    chart: bytes | None
    pdf: Attachment | None
    facts: MonthFacts | None = None  # the monthly email's "what to act on"


@dataclass
class DigestContent:
    progresses: list[ProjectProgress]
    chart: bytes | None
    failed: list[str]
    xlsx: Attachment | None = None  # the portfolio table for the bureau, one sheet per project
    recorded: dict[str, int] | None = None  # project → records dated in the month (0: silent)


def project_chart(p: ProjectProgress) -> bytes:
    """KPI statuses per release-table clause (no names, only counts)."""
    from tracker.reports.charts import status_stack

    clauses = sorted({k.clause for k in p.kpis})
    counts = {s: [sum(1 for k in p.kpis if k.clause == c and k.status == s) for c in clauses]
              for s in STATUS_ORDER}
    return status_stack("各条款指标状态", [f"第{c}条" for c in clauses], counts)


def digest_chart(ps: list[ProjectProgress]) -> bytes:
    from tracker.reports.charts import status_stack

    counts = {s: [Counter(k.status for k in p.kpis)[s] for p in ps] for s in STATUS_ORDER}
    return status_stack("各项目指标状态", [p.project for p in ps], counts)


def pdf_name(kind: str, code: str, period: str) -> str:
    """Short ASCII names: 2024B004E-2024-11.pdf, 2024B004E-midterm.pdf, 2024B004E-final.pdf."""
    return f"{code}-{period}.pdf" if kind == "monthly" else f"{code}-{kind}.pdf"


class ContentBuilder:
    """Builds and caches the content of the messages of one tick."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._projects: dict[tuple[str, str, str], ProjectContent] = {}
        self._digests: dict[str, DigestContent] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="tracker-mail-")

    def close(self) -> None:
        self._tmp.cleanup()

    def progress(self, code: str, as_of: dt.date) -> ProjectProgress:
        from tracker.measure.progress import compute_progress

        return compute_progress(self.ws, code, as_of)

    def project(self, kind: str, code: str, period: str, as_of: dt.date) -> ProjectContent:
        key = (kind, code, period)
        if key not in self._projects:
            from tracker.reports import render_project_report

            p = self.progress(code, as_of)
            which = "final" if kind == "final" or (kind == "monthly" and as_of >= p.period_end) else "midterm"
            out = Path(self._tmp.name) / f"{kind}-{code}-{period}"
            out.mkdir(parents=True, exist_ok=True)
            files = render_project_report(self.ws, code, which, as_of, out)
            pdf = Attachment(pdf_name(kind, code, period), Path(files.pdf).read_bytes())
            facts = None
            if kind == "monthly":
                start = dt.date(int(period[:4]), int(period[5:7]), 1)
                before = start - dt.timedelta(days=1)
                prev = self.progress(code, before) if before >= p.period_start else None
                facts = month_facts(self.ws, p, prev, max(start, p.period_start))
            self._projects[key] = ProjectContent(p, project_chart(p), pdf, facts)
        return self._projects[key]

    def digest(self, period: str, as_of: dt.date, codes: list[str]) -> DigestContent:
        """Every project running in the month; one that cannot be computed is named, not hidden."""
        if period not in self._digests:
            ps, failed = [], []
            for code in codes:
                try:
                    ps.append(self.progress(code, min(as_of, self.ws.spec(code).project.period.end)))
                except Exception:
                    failed.append(code)
            start = dt.date(int(period[:4]), int(period[5:7]), 1)
            with self.ws.engine.connect() as conn:
                recorded = {p.project: records_dated(conn, p.project, start, p.as_of) for p in ps}
            self._digests[period] = DigestContent(ps, digest_chart(ps) if ps else None, failed,
                                                  self._digest_xlsx(period, ps) if ps else None, recorded)
        return self._digests[period]

    def _digest_xlsx(self, period: str, ps: list[ProjectProgress]) -> Attachment:
        """The month's portfolio as XLSX (the mid-term layout: verdicts by the final rules, marked
        as a preview), built from the progress already computed for the digest."""
        from tracker.reports.portfolio import build_portfolio, write_xlsx

        rows = build_portfolio(self.ws, "midterm", progress=ps, codes=[p.project for p in ps])
        path = Path(self._tmp.name) / f"portfolio-{period}.xlsx"
        write_xlsx(rows, "midterm", path, None, title=f"全市公益创投项目月度进度汇总（{cn_month(period)}）")
        return Attachment(path.name, path.read_bytes(), "application",
                          "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
