"""The whole pipeline in one call (``tracker demo``): a fresh SQLite database, the specs, a simulated
year of records, every project's progress and the mid-term reports."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tracker import config
from tracker.simulate import DEFAULT_AS_OF, DEFAULT_SEED, SimulationSummary

if TYPE_CHECKING:
    from tracker.measure.types import ProjectProgress
    from tracker.workspace import Workspace

Update = Callable[[int, str | None], None]
"""``update(advance, description)``: a step moved on by ``advance`` items (description may change)."""
Step = Callable[[str, int], AbstractContextManager[Update]]
"""``step(description, total)``: a context manager around one stage, yielding its ``update``."""


@contextmanager
def _quiet(description: str, total: int) -> Iterator[Update]:
    yield lambda advance=1, description=None: None


@dataclass
class DemoResult:
    db_url: str
    out_dir: Path
    as_of: dt.date
    simulation: SimulationSummary
    progress: list[ProjectProgress]  # the worst first
    portfolio_files: list[Path] = field(default_factory=list)
    report_files: list[Path] = field(default_factory=list)  # per project: PDF and HTML
    seconds: float = 0.0

    @property
    def progress_json(self) -> Path:
        return self.out_dir / "progress.json"


def fresh_sqlite(path: Path) -> str:
    """Delete the SQLite database at ``path`` (with its WAL files) and return its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path.as_posix()}"


def simulate_with_steps(ws: Workspace, as_of: dt.date, scale: float, seed: int, codes: list[str] | None,
                        step: Step | None = None) -> SimulationSummary:
    from tracker.simulate import simulate

    step = step or _quiet
    n = len(codes) if codes is not None else len(ws.codes)
    with step("模拟运营记录", n) as update:
        def progress(code: str, i: int, total: int) -> None:
            if i:
                update(1, f"模拟运营记录 {code}" if code else "模拟运营记录")

        return simulate(ws, as_of, scale=scale, seed=seed, projects=codes, progress=progress)


def run_demo(out_dir: Path | None = None, as_of: dt.date | None = None, db_url: str | None = None, *,
             seed: int = DEFAULT_SEED, projects: list[str] | None = None, pdf: bool = True,
             specs: Path | None = None, step: Step | None = None,
             on_workspace: Callable[[Workspace], None] | None = None) -> DemoResult:
    """Simulate records up to ``as_of`` (default the 2024 mid-term date) for ``projects`` (default
    all) into ``db_url`` (default a fresh ``data/demo.db``), compute progress, and write
    ``progress.json``, the portfolio (XLSX, PDF) and every project's mid-term report into ``out_dir``
    (default ``data/demo/``)."""
    from tracker.measure.progress import compute_progress, portfolio_order
    from tracker.reports import render_portfolio
    from tracker.simulate.render import render_reports
    from tracker.workspace import open_workspace

    t0 = time.perf_counter()
    step = step or _quiet
    day = as_of or DEFAULT_AS_OF
    out_dir = out_dir or (config.data_dir() / "demo")
    specs = specs or config.specs_dir()
    db_url = db_url or fresh_sqlite(config.data_dir() / "demo.db")
    ws = open_workspace(db_url, specs)
    for c in projects or []:
        ws.spec(c)  # a precise Chinese error for an unknown code
    if on_workspace:
        on_workspace(ws)

    summary = simulate_with_steps(ws, day, 1.0, seed, projects or None, step)
    chosen = list(projects) if projects else ws.codes
    progress = []
    with step("计算进度", len(chosen)) as update:
        for code in chosen:
            progress.append(compute_progress(ws, code, day))
            update(1, None)
    progress.sort(key=portfolio_order)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = DemoResult(db_url, out_dir, day, summary, progress)
    result.progress_json.write_text(
        json.dumps([p.to_json() for p in sorted(progress, key=lambda p: p.project)], ensure_ascii=False,
                   indent=1), encoding="utf-8")

    with step("生成中期报告", len(progress) + 1) as update:
        files = render_portfolio(ws, "midterm", day, out_dir, progress=progress, codes=chosen, pdf=pdf)
        result.portfolio_files = [f for f in (files.xlsx, files.pdf) if f is not None]
        update(1, "生成中期报告 全市汇总")
        reports = render_reports(db_url, specs, sorted(chosen), "midterm", day, out_dir, pdf=pdf,
                                 done=lambda code: update(1, f"生成中期报告 {code}"), ws=ws)
        for files in reports.values():
            result.report_files.extend(f for f in (files.pdf, files.html) if f is not None)
    result.seconds = time.perf_counter() - t0
    return result
