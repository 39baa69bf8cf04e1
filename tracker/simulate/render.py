"""Write many mid-term reports at once, one process per core (the demo's longest step).

Each worker opens its own workspace on the same database (readers only), computes the project's
progress and renders its report. Forked workers drop the parent's pooled connections first.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.reports import ReportFiles

if TYPE_CHECKING:
    from tracker.workspace import Workspace


def _fresh_connections() -> None:
    from tracker.db import connection as engine_mod

    for e in list(engine_mod._ENGINES.values()):
        e.dispose(close=False)


_WORKSPACES: dict[tuple[str, str], Workspace] = {}


def _render_one(db_url: str, specs: str, code: str, which: str, as_of: dt.date, out_dir: str,
                pdf: bool) -> tuple[str, ReportFiles]:
    from tracker.reports import render_project_report
    from tracker.workspace import open_workspace

    ws = _WORKSPACES.get((db_url, specs))
    if ws is None:  # once per worker: loading every spec takes a while
        ws = _WORKSPACES[(db_url, specs)] = open_workspace(db_url, Path(specs))
    return code, render_project_report(ws, code, which, as_of, Path(out_dir), pdf=pdf)


def render_reports(db_url: str, specs: Path, codes: list[str], which: str, as_of: dt.date, out_dir: Path, *,
                   pdf: bool = True, workers: int | None = None,
                   done: Callable[[str], None] | None = None, ws: Workspace | None = None) -> dict[str, ReportFiles]:
    """Render every project's report into ``out_dir``; returns code → files (in code order).
    ``ws``, an open workspace on ``db_url``, is handed to forked workers instead of reloading specs."""
    if ws is not None:
        _WORKSPACES[(db_url, str(specs))] = ws
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    out: dict[str, ReportFiles] = {}
    args = [(db_url, str(specs), c, which, as_of, str(out_dir), pdf) for c in codes]
    if workers <= 1 or len(codes) < 3:
        for a in args:
            code, files = _render_one(*a)
            out[code] = files
            if done:
                done(code)
    else:
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_fresh_connections) as pool:
            futures = [pool.submit(_render_one, *a) for a in args]
            for f in as_completed(futures):
                code, files = f.result()
                out[code] = files
                if done:
                    done(code)
    return {c: out[c] for c in codes}
