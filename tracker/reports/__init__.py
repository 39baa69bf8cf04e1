"""Mid-term and final compliance reports: per project (HTML + PDF) and for the whole
portfolio (XLSX + PDF). Templates, CSS and the scoring scheme ship in ``tracker/reports/assets/``; a
deployment overrides any of them with its own copy in ``reports/`` (``tracker.reports.common.asset``)."""

from __future__ import annotations

from tracker.reports.common import ReportFiles
from tracker.reports.portfolio import render_portfolio
from tracker.reports.project import render_project_report

__all__ = ["ReportFiles", "render_portfolio", "render_project_report"]
