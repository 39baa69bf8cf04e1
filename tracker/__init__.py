"""tracker: deliverable and KPI tracking for publicly funded social-service projects (公益创投).

The library is the product; the ``tracker`` command line and the web front end are shells over the
functions named here (docs/architecture.md, "The public API")::

    import tracker
    ws = tracker.open_workspace()                    # TRACKER_DB_URL, TRACKER_SPECS
    p = tracker.progress(ws, "2024B004E")           # as of today, capped to the period end
    tracker.progress_json(p), tracker.portfolio_csv(tracker.portfolio(ws))

Each name is imported when first used, so ``import tracker`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → the module that defines it
_API: dict[str, str] = {
    "TrackerError": "tracker.errors",
    "Workspace": "tracker.workspace",
    "open_workspace": "tracker.workspace",
    "default_as_of": "tracker.api",
    "progress": "tracker.api",
    "portfolio": "tracker.api",
    "violations": "tracker.api",
    "kpi_sql": "tracker.api",
    "log_record": "tracker.api",
    "current_user": "tracker.api",
    "progress_json": "tracker.outputs",
    "progress_csv": "tracker.outputs",
    "portfolio_json": "tracker.outputs",
    "portfolio_csv": "tracker.outputs",
    "import_file": "tracker.records.importer",
    "import_rows": "tracker.records.importer",
    "amend": "tracker.records.corrections",
    "void": "tracker.records.corrections",
    "record_judgement": "tracker.measure.judgements",
    "add_note": "tracker.reports.notes",
    "render_project_report": "tracker.reports.project",
    "render_portfolio": "tracker.reports.portfolio",
    "render_all": "tracker.reports.batch",
    "tick": "tracker.scheduling.tick",
    "run_demo": "tracker.simulate.demo",
}
__all__ = [
    "TrackerError",
    "Workspace",
    "add_note",
    "amend",
    "current_user",
    "default_as_of",
    "import_file",
    "import_rows",
    "kpi_sql",
    "log_record",
    "open_workspace",
    "portfolio",
    "portfolio_csv",
    "portfolio_json",
    "progress",
    "progress_csv",
    "progress_json",
    "record_judgement",
    "render_all",
    "render_portfolio",
    "render_project_report",
    "run_demo",
    "tick",
    "violations",
    "void",
]

if TYPE_CHECKING:
    from tracker.api import (
        current_user,
        default_as_of,
        kpi_sql,
        log_record,
        portfolio,
        progress,
        violations,
    )
    from tracker.errors import TrackerError
    from tracker.measure.judgements import record_judgement
    from tracker.outputs import portfolio_csv, portfolio_json, progress_csv, progress_json
    from tracker.records.corrections import amend, void
    from tracker.records.importer import import_file, import_rows
    from tracker.reports.batch import render_all
    from tracker.reports.notes import add_note
    from tracker.reports.portfolio import render_portfolio
    from tracker.reports.project import render_project_report
    from tracker.scheduling.tick import tick
    from tracker.simulate.demo import run_demo
    from tracker.workspace import Workspace, open_workspace


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
