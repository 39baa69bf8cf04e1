"""What is due by a date: pure calendar arithmetic over the projects' periods.

- ``monthly``: one email per project-month from the project's first month to its last; the email for
  month M (data as of M's last day, or the period end) goes out on day ``settings.day`` of month M+1.
- ``midterm``: the mid-term report on the project's mid-term date (data as of that date).
- ``final``: the final report the day after the period ends (data as of the end date).
- ``digest``: the bureau's monthly portfolio digest for every month in which some project ran, sent
  with the monthly emails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tracker.clock import month_end
from tracker.db.outbox import ALL_PROJECTS
from tracker.scheduling.settings import ScheduleSettings

KIND_ORDER = {"monthly": 0, "midterm": 1, "final": 2, "digest": 3}


@dataclass(frozen=True, order=True)
class DueItem:
    send_on: dt.date
    kind_rank: int
    project_code: str
    period: str
    kind: str
    data_as_of: dt.date


@dataclass(frozen=True)
class ProjectDates:
    code: str
    start: dt.date
    end: dt.date
    midterm: dt.date


def next_month(d: dt.date) -> dt.date:
    return (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def months(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of every month from start's month to end's month."""
    out, m = [], start.replace(day=1)
    while m <= end:
        out.append(m)
        m = next_month(m)
    return out


def period_label(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def project_items(p: ProjectDates, settings: ScheduleSettings) -> list[DueItem]:
    items = []
    for m in months(p.start, p.end):
        send = next_month(m).replace(day=settings.day)
        items.append(DueItem(send, KIND_ORDER["monthly"], p.code, period_label(m), "monthly",
                             min(month_end(m), p.end)))
    items.append(DueItem(p.midterm, KIND_ORDER["midterm"], p.code, p.midterm.isoformat(), "midterm",
                         p.midterm))
    items.append(DueItem(p.end + dt.timedelta(days=1), KIND_ORDER["final"], p.code, p.end.isoformat(),
                         "final", p.end))
    return items


def digest_items(projects: list[ProjectDates], settings: ScheduleSettings) -> list[DueItem]:
    ms = sorted({m for p in projects for m in months(p.start, p.end)})
    return [DueItem(next_month(m).replace(day=settings.day), KIND_ORDER["digest"], ALL_PROJECTS,
                    period_label(m), "digest", month_end(m)) for m in ms]


def due_items(projects: list[ProjectDates], as_of: dt.date, settings: ScheduleSettings,
              *, kinds: set[str] | None = None, codes: set[str] | None = None) -> list[DueItem]:
    """Everything whose send date is on or before ``as_of``, oldest first."""
    items: list[DueItem] = []
    for p in projects:
        if codes is None or p.code in codes:
            items += project_items(p, settings)
    if codes is None or ALL_PROJECTS in codes:
        items += digest_items(projects, settings)
    return sorted(i for i in items if i.send_on <= as_of and (kinds is None or i.kind in kinds))


def upcoming(projects: list[ProjectDates], after: dt.date, settings: ScheduleSettings,
             limit: int = 10) -> list[DueItem]:
    """The next items due after ``after`` (for ``tracker schedule status``)."""
    items = [i for p in projects for i in project_items(p, settings)] + digest_items(projects, settings)
    return sorted(i for i in items if i.send_on > after)[:limit]
