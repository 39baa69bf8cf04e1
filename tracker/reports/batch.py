"""Every project's report and the portfolio in one call (``tracker report --all``): a project whose
report cannot be made is set aside with its reason and the others are still written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.errors import TrackerError
from tracker.reports.common import ReportFiles, check_which

if TYPE_CHECKING:
    from tracker.workspace import Workspace


@dataclass
class ReportBatch:
    files: dict[str, ReportFiles] = field(default_factory=dict)  # code → the project's report
    portfolio: ReportFiles | None = None
    failed: dict[str, str] = field(default_factory=dict)  # code → why its report was not made

    def raise_for_failures(self) -> None:
        if self.failed:
            raise TrackerError(f"{len(self.failed)} 个项目的报告未能生成："
                               + "；".join(f"{c}：{m}" for c, m in self.failed.items()))


def render_all(ws: Workspace, which: str, out_dir: Path, *, as_of: dt.date | None = None,
               known_on: dt.datetime | None = None, scheme: str | None = None, pdf: bool = True,
               on_done: Callable[[str, ReportFiles], None] | None = None,
               on_error: Callable[[str, str], None] | None = None) -> ReportBatch:
    """Write every project's ``which`` report and the portfolio (``portfolio-<which>.xlsx``, ``.pdf``)
    into ``out_dir``. ``on_done(code, files)`` and ``on_error(code, message)`` follow each project."""
    from tracker.reports.portfolio import render_portfolio
    from tracker.reports.project import render_project_report

    which = check_which(which)
    batch = ReportBatch()
    for code in ws.codes:
        try:
            files = render_project_report(ws, code, which, as_of, out_dir, known_on, scheme=scheme, pdf=pdf)
        except TrackerError as e:
            batch.failed[code] = e.message
            if on_error:
                on_error(code, e.message)
            continue
        batch.files[code] = files
        if on_done:
            on_done(code, files)
    batch.portfolio = render_portfolio(ws, which, as_of, out_dir, known_on, scheme=scheme, pdf=pdf)
    return batch
