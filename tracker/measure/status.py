"""Deciding a KPI's status from plain numbers (no database): ``met``, ``on_track``, ``behind``,
``missed`` or ``pending``.

Rules, in order:

* **manual**: the latest judgement as known on (``met`` / ``missed``); none yet → ``pending``.
* **gates** (``approval_gate``, ``zero_incident``; ``staff``/``all_have`` likewise): any violation →
  ``missed`` (an unapproved activity or an incident cannot be undone; a missing credential is
  ``behind`` until the period ends, since it can still be handed in). No violation and the period has
  ended → ``met``; no violation yet → ``on_track`` when there is something judged (activities under a
  gate, staff in scope, or — for zero_incident — simply the elapsed time), else ``pending``.
* **no value yet** (``actual`` is ``None``: a rate without answers, a per-person rule without a roster
  or without an elapsed month, an average without records) → ``pending``.
* **cumulative kinds** (count, sum, distinct, coverage, staff count_with) with ``>=``: target reached →
  ``met``; period ended → ``missed``; ``actual >= expected × (1 − tolerance)`` → ``on_track`` (also when
  there is no expected value), else ``behind``. With ``<=``: above the target → ``missed`` (it can only
  grow), else ``met`` at period end and ``on_track`` before. With ``==``: above → ``missed``, equal at
  the end → ``met``, before the end judged by pacing like ``>=``.
* **state kinds** (rate, average, per_person, duration): at period end ``met``/``missed`` by the
  comparator; before it, meeting the target → ``met`` for per_person and duration (every member has
  reached it) and ``on_track`` for rates and averages (they can still move); not meeting it →
  ``behind``, except a whole-period ``per_person`` rule (``per: period``), which is paced linearly:
  the least-served member at or above the pace (within the tolerance) is ``on_track``; its members
  below the target become violations only once the period is over (for duration: ``on_track`` while every case can still reach the target by period end,
  ``potential``).
"""

from __future__ import annotations

from tracker.measure.types import Status

GATES = {"approval_gate", "zero_incident"}
CUMULATIVE = {"count", "sum", "distinct", "coverage"}


def compare(comparator: str, actual: float, target: float) -> bool:
    if comparator == "<=":
        return actual <= target + 1e-9
    if comparator == "==":
        return abs(actual - target) < 1e-9
    return actual >= target - 1e-9


def decide_status(
    *,
    kind: str,
    comparator: str,
    target: float | None,
    actual: float | None,
    expected: float | None,
    tolerance: float = 0.15,
    period_ended: bool,
    violations: int = 0,
    evidence: int = 0,
    verdict: str | None = None,
    rule: str | None = None,
    potential: float | None = None,
) -> Status:
    if kind == "manual":
        if verdict in ("met", "missed"):
            return verdict  # type: ignore[return-value]
        return "pending"
    if kind in GATES or (kind == "staff" and rule == "all_have"):
        if violations > 0:
            if kind == "staff" and not period_ended:
                return "behind"
            return "missed"
        if period_ended:
            return "met"
        if kind == "zero_incident" or evidence > 0:
            return "on_track"
        return "pending"
    if actual is None or target is None:
        return "pending"
    cumulative = kind in CUMULATIVE or (kind == "staff" and rule == "count_with")
    if cumulative:
        if comparator == "<=":
            if actual > target + 1e-9:
                return "missed"
            return "met" if period_ended else "on_track"
        if comparator == "==" and actual > target + 1e-9:
            return "missed"
        if compare(comparator, actual, target):
            return "met"
        if period_ended:
            return "missed"
        if expected is None or actual >= expected * (1 - tolerance) - 1e-9:
            return "on_track"
        return "behind"
    ok = compare(comparator, actual, target)
    if period_ended:
        return "met" if ok else "missed"
    if ok:
        return "met" if kind in ("per_person", "duration") else "on_track"
    if kind == "duration" and potential is not None and potential >= target:
        return "on_track"
    if kind == "per_person" and expected is not None and actual >= expected * (1 - tolerance) - 1e-9:
        return "on_track"  # a whole-period rule, paced: every member is where the pace requires
    return "behind"
