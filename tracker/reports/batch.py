"""Every project's report and the portfolio in one call (``tracker report --all``): a project whose
report cannot be made is set aside with its reason and the others are still written."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def workers_for(n_reports: int, pdf: bool, engine_url: str) -> int:
    """How many processes render the reports: ``TRACKER_REPORT_WORKERS`` when set, else one per core
    (at most 4), one for a handful of reports, without PDFs, or on an in-memory database."""
    raw = os.environ.get("TRACKER_REPORT_WORKERS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise TrackerError(f"TRACKER_REPORT_WORKERS 应为正整数，收到 “{raw}”")
        want = int(raw)
    else:
        want = min(4, os.cpu_count() or 1) if pdf and n_reports > 3 else 1
    if ":memory:" in engine_url or engine_url.rstrip("/").endswith("sqlite:"):
        return 1
    return max(1, min(want, n_reports))


_WS: Any = None  # the workspace a forked worker renders from (its own connections)


def _init_worker(ws: Any) -> None:
    global _WS
    _WS = ws
    ws.engine.dispose(close=False)  # never share the parent's connections


def _one(code: str, which: str, as_of: dt.date | None, out_dir: Path, known_on: dt.datetime | None,
         scheme: str | None, pdf: bool, ws: Any = None) -> tuple[str, ReportFiles | None, Any, str | None]:
    """One project's report: (code, files, its progress, None) or (code, None, None, why not)."""
    from tracker.measure.progress import compute_progress
    from tracker.reports.common import default_as_of
    from tracker.reports.project import render_project_report

    ws = ws or _WS
    try:
        d = as_of or default_as_of(ws.spec(code), which)  # type: ignore[arg-type]
        progress = compute_progress(ws, code, d, known_on)
        files = render_project_report(ws, code, which, d, out_dir, known_on, progress=progress, scheme=scheme,
                                      pdf=pdf)
    except TrackerError as e:
        return code, None, None, e.message
    return code, files, progress, None


def render_all(ws: Workspace, which: str, out_dir: Path, *, as_of: dt.date | None = None,
               known_on: dt.datetime | None = None, scheme: str | None = None, pdf: bool = True,
               on_done: Callable[[str, ReportFiles], None] | None = None,
               on_error: Callable[[str, str], None] | None = None, workers: int | None = None) -> ReportBatch:
    """Write every project's ``which`` report and the portfolio (``portfolio-<which>.xlsx``, ``.pdf``)
    into ``out_dir``. ``on_done(code, files)`` and ``on_error(code, message)`` follow each project.

    Each project's progress is computed once and reused by the portfolio. With more than one worker
    (``workers_for``) the reports are rendered by forked processes, one project at a time each; the
    files are the same as when rendered one by one."""
    from tracker.measure.progress import compute_progress
    from tracker.reports.common import aware, default_as_of
    from tracker.reports.portfolio import render_portfolio

    which = check_which(which)
    known_on = aware(known_on)
    out_dir.mkdir(parents=True, exist_ok=True)
    codes = ws.codes
    n = workers or workers_for(len(codes), pdf, str(ws.engine.url))
    batch = ReportBatch()
    progress: dict[str, Any] = {}

    def take(code: str, files: ReportFiles | None, prog: Any, why: str | None) -> None:
        if files is None:
            batch.failed[code] = why or ""
            if on_error:
                on_error(code, why or "")
            return
        batch.files[code] = files
        progress[code] = prog
        if on_done:
            on_done(code, files)

    if n > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(n, initializer=_init_worker, initargs=(ws,)) as pool:
            jobs = [(c, which, as_of, out_dir, known_on, scheme, pdf) for c in codes]
            for got in pool.imap_unordered(_one_star, jobs):
                take(*got)
    else:
        for code in codes:
            take(*_one(code, which, as_of, out_dir, known_on, scheme, pdf, ws))
    for c in codes:  # the portfolio counts every project, those whose report failed too
        if c not in progress:
            progress[c] = compute_progress(ws, c, as_of or default_as_of(ws.spec(c), which), known_on)  # type: ignore[arg-type]
    batch.portfolio = render_portfolio(ws, which, as_of, out_dir, known_on, progress=[progress[c] for c in codes],
                                       codes=codes, scheme=scheme, pdf=pdf)
    return batch


def _one_star(args: tuple[Any, ...]) -> tuple[str, ReportFiles | None, Any, str | None]:
    return _one(*args)
