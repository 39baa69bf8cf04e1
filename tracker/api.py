"""What the command line and a web front end call, with the defaults they share (``import tracker``
re-exports these; docs/architecture.md lists them).

Dates are Hangzhou calendar days; ``known_on`` moments are aware (a naive one is Hangzhou wall-clock
time, ``tracker.clock``). Errors meant for people are ``TrackerError`` with a Chinese message.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from typing import TYPE_CHECKING, Any

from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.measure.types import ProjectProgress
    from tracker.records.importer import ImportResult
    from tracker.workspace import Workspace


def default_as_of(ws: Workspace, code: str, as_of: dt.date | None = None) -> dt.date:
    """``as_of`` itself, or else today in Hangzhou but not after the end of the project's period."""
    if as_of is not None:
        return as_of
    from tracker import clock

    return min(clock.today(), ws.spec(code).project.period.end)


def progress(ws: Workspace, code: str, as_of: dt.date | None = None,
             known_on: dt.datetime | None = None) -> ProjectProgress:
    """Every KPI of project ``code`` as of ``as_of`` (default: ``default_as_of``), counting the
    records known on ``known_on`` (default: as they are now)."""
    from tracker.measure.progress import compute_progress

    return compute_progress(ws, code, default_as_of(ws, code, as_of), known_on)


def portfolio(ws: Workspace, as_of: dt.date | None = None,
              known_on: dt.datetime | None = None) -> list[ProjectProgress]:
    """Every project's progress, the worst first; each project as of ``as_of`` (default today) but
    not after the end of its period."""
    from tracker import clock
    from tracker.measure.progress import compute_portfolio

    return compute_portfolio(ws, as_of or clock.today(), known_on, cap_to_period=True)


def violations(ws: Workspace, code: str, kpi_id: str | None = None, as_of: dt.date | None = None,
               known_on: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The records breaking a rule of one KPI (or of every KPI of the project), names masked."""
    from tracker.measure.progress import list_violations

    return list_violations(ws, code, kpi_id, default_as_of(ws, code, as_of), known_on)


def kpi_sql(ws: Workspace, kpi_id: str, as_of: dt.date | None = None,
            known_on: dt.datetime | None = None) -> str:
    """The SQL KPI ``kpi_id`` (``CODE.clause.key``) compiles to on the workspace's database."""
    from tracker.measure.compile import code_of
    from tracker.measure.compile import kpi_sql as compiled

    code = code_of(kpi_id)
    return compiled(ws, code, kpi_id, default_as_of(ws, code, as_of), known_on)


def current_user() -> str:
    """Who is entering or correcting records when nobody says: ``TRACKER_USER``, else the login."""
    try:
        return os.environ.get("TRACKER_USER") or getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "operator"


class FieldError(TrackerError):
    """A record typed by hand names no field, or a field its kind does not have (``name``, with the
    column it most likely meant in ``suggestion``)."""

    def __init__(self, message: str, name: str | None = None, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.suggestion = suggestion


def check_fields(kind: str, fields: dict[str, Any]) -> None:
    """Every name in ``fields`` is a column of the record kind (its key, Chinese label or an alias),
    and there is at least one: else ``FieldError``."""
    from tracker.records.columns import KINDS, header_index, norm_header, suggest

    kd = KINDS[kind]
    cols = "、".join(f"{c.key}（{c.label}）" for c in kd.columns)
    if not fields:
        raise FieldError(f"请给出要登记的字段；可用字段：{cols}")
    known = header_index(kd)
    for name in fields:
        if norm_header(name) not in known:
            s = suggest(kd, name)
            raise FieldError(f"{kd.label}没有字段 “{name}”" + (f"（是否想写 “{s}”？）" if s else "") + f"；可用字段：{cols}",
                             name, s)


def log_record(ws: Workspace, project: str, kind: str, fields: dict[str, Any], *,
               entered_by: str | None = None, dry_run: bool = False) -> ImportResult:
    """Enter one record typed by hand (keys or Chinese column labels), through the import's checks;
    a field the kind does not have is refused first (``check_fields``)."""
    from tracker.records import import_rows

    check_fields(kind, fields)

    return import_rows(ws, project, kind, [fields], source_name=f"tracker log {kind}",
                       entered_by=entered_by or current_user(), dry_run=dry_run)
