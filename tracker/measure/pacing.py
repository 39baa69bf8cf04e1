"""Pacing: what a KPI should have reached by a date (``expected``) and where it is heading
(``forecast``). Both are ``None`` where they mean nothing (rates, gates, per-person rules)."""

from __future__ import annotations

import datetime as dt
import itertools

from tracker.kpispec.model import KPI, PacingMode, Project


def is_cumulative(kpi: KPI) -> bool:
    """Whether the KPI's value accumulates over the period (its kind says): forecast extrapolates it."""
    from tracker.measure.kinds import kind_of

    return kind_of(kpi.kind).cumulative(kpi)


def period_days(project: Project) -> int:
    """Days in the period, both ends included."""
    return (project.period.end - project.period.start).days + 1


def elapsed_days(project: Project, as_of: dt.date) -> int:
    """Days of the period elapsed by the end of ``as_of`` (0 before the start, capped at the period)."""
    return max(0, min(period_days(project), (as_of - project.period.start).days + 1))


def _resolve(d: dt.date | str, project: Project) -> dt.date:
    if d == "midterm":
        return project.midterm_date
    if d == "end":
        return project.period.end
    assert isinstance(d, dt.date)
    return d


def expected(kpi: KPI, project: Project, as_of: dt.date) -> float | None:
    """Linear: target × elapsed days / period days; due: 0 before the due date, the target on and
    after it; milestones: piecewise linear from (period start, 0) through the points, flat after the
    last; none: ``None``."""
    if kpi.target is None:
        return None
    pacing = kpi.default_pacing()
    if pacing.mode is PacingMode.none:
        return None
    if pacing.mode is PacingMode.linear:
        return kpi.target * elapsed_days(project, as_of) / period_days(project)
    if pacing.mode is PacingMode.due:
        assert pacing.due is not None
        return float(kpi.target) if as_of >= _resolve(pacing.due, project) else 0.0
    points = [(project.period.start - dt.timedelta(days=1), 0.0)]
    points += sorted((_resolve(m.date, project), float(m.value)) for m in pacing.milestones or [])
    if as_of <= points[0][0]:
        return 0.0
    for (d0, v0), (d1, v1) in itertools.pairwise(points):
        if as_of <= d1:
            span = (d1 - d0).days
            return v0 + (v1 - v0) * ((as_of - d0).days / span if span else 1.0)
    return points[-1][1]


def forecast(kpi: KPI, project: Project, as_of: dt.date, actual: float | None,
             universe: float | None = None) -> float | None:
    """actual × period days / elapsed days, for cumulative kinds; ``None`` otherwise. Never beyond
    ``universe`` (all there is to count: the roster, the members of a coverage set, the towns of the
    project's area), nor below
    ``actual``."""
    if actual is None or not is_cumulative(kpi):
        return None
    days = elapsed_days(project, as_of)
    if days <= 0:
        return None
    fc = actual * period_days(project) / days
    if universe is not None:
        fc = max(actual, min(fc, universe))
    return fc
