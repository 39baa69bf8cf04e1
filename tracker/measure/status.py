"""Deciding a KPI's status from plain numbers (no database): ``met``, ``on_track``, ``behind``,
``missed`` or ``pending``.

Each kind module states its rule (``KpiKind.status``) with the shared rules below:

* **manual**: the latest judgement as known on (``met`` / ``missed``); none yet → ``pending``.
* **gates** (``approval_gate``, ``zero_incident``; ``staff``/``all_have`` likewise): any violation →
  ``missed`` (an unapproved activity or an incident cannot be undone; a missing credential is
  ``behind`` until the period ends, since it can still be handed in — but ``missed`` as soon as the
  person took part in an activity without it). No violation and the period has
  ended → ``met``; no violation yet → ``on_track`` when there is something judged (activities under a
  gate, staff in scope, or — for zero_incident — simply the elapsed time), else ``pending``.
* **no value yet** (``actual`` is ``None``: a rate without answers, a per-person rule without a roster
  or without an elapsed month, an average without records) → ``pending``.
* **cumulative kinds** (count, sum, distinct, coverage, staff count_with) with ``>=``: target reached →
  ``met``; period ended → ``missed``; ``actual >= expected × (1 − tolerance)`` → ``on_track`` (also when
  there is no expected value), else ``behind``. With ``<=``: above the target → ``missed`` (it can only
  grow), else ``met`` at period end and ``on_track`` before. With ``==``: above → ``missed``, equal at
  the end → ``met``, before the end judged by pacing like ``>=``.
* **state kinds** (rate, average, duration): at period end ``met``/``missed`` by the comparator;
  before it, meeting the target → ``met`` for duration and ``on_track`` for rates and averages (they
  can still move); not meeting it → ``behind`` (for duration: ``on_track`` while every case can
  still reach the target by period end, ``potential``).
* **per_person** (``actual`` is the percent of judged member-periods that meet the rule; the bar is
  100, or the spec's ``compliance_target``): nothing judged → ``pending``; at period end ``met`` at
  or above the bar, else ``missed``. Before it: a whole-period minimum every member already reached
  → ``met``; at or above the bar → ``on_track``; below it → ``behind``, except under the strict bar
  (no ``compliance_target``) once a member-period has broken the rule for good (a month or week gone
  by without it, a ``<=`` rule exceeded): ``missed``. A whole-period minimum before the end is
  judged on each member's linear pace from its own start (within the tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.measure.types import Status


@dataclass(frozen=True)
class Facts:
    """What a status rule is decided from."""

    comparator: str
    target: float | None
    actual: float | None
    expected: float | None
    tolerance: float
    period_ended: bool
    violations: int = 0
    evidence: int = 0
    verdict: str | None = None
    rule: str | None = None
    potential: float | None = None
    compliance_target: float | None = None  # per-member rules: the share of member-periods accepted
    reached: bool = False  # per-member rules: every member already has the whole period's minimum
    broken: int = 0  # per-member rules: member-periods that broke the rule for good
    not_due: bool = False  # per-member rules paced due: the due date is still to come


def compare(comparator: str, actual: float, target: float) -> bool:
    if comparator == "<=":
        return actual <= target + 1e-9
    if comparator == "==":
        return abs(actual - target) < 1e-9
    return actual >= target - 1e-9


def verdict_status(f: Facts) -> Status:
    """manual: the latest judgement as known on; none yet → pending."""
    if f.verdict in ("met", "missed"):
        return f.verdict  # type: ignore[return-value]
    return "pending"


def gate_status(f: Facts, *, behind_until_end: bool = False, judged_without_evidence: bool = False) -> Status:
    """Gates: any violation → missed (or behind until the period ends, when it can still be put
    right). No evidence (nothing under the gate: no activity, no staff) → pending, even after the
    period: no evidence is not compliance. Otherwise met once the period is over, on_track before.
    ``judged_without_evidence``: elapsed time alone is what is judged (zero incidents)."""
    if f.violations > 0:
        return "behind" if behind_until_end and not f.period_ended else "missed"
    if not judged_without_evidence and f.evidence <= 0:
        return "pending"
    return "met" if f.period_ended else "on_track"


def cumulative_status(f: Facts) -> Status:
    """A value that accumulates (count, sum, distinct, coverage, staff count_with)."""
    actual, target = f.actual, f.target
    if actual is None or target is None:
        return "pending"
    if f.comparator == "<=":
        if actual > target + 1e-9:
            return "missed"
        return "met" if f.period_ended else "on_track"
    if f.comparator == "==" and actual > target + 1e-9:
        return "missed"
    if compare(f.comparator, actual, target):
        return "met"
    if f.period_ended:
        return "missed"
    if f.expected is None or actual >= f.expected * (1 - f.tolerance) - 1e-9:
        return "on_track"
    return "behind"


def state_status(f: Facts, *, met_early: bool = False) -> Status:
    """A value that can move either way (rate, average) or a rule over every member (per_person,
    duration: ``met_early``, meeting it before the end is already met)."""
    actual, target = f.actual, f.target
    if actual is None or target is None:
        return "pending"
    ok = compare(f.comparator, actual, target)
    if f.period_ended:
        return "met" if ok else "missed"
    if ok:
        return "met" if met_early else "on_track"
    return "behind"


def decide_status(*, kind: str, comparator: str, target: float | None, actual: float | None,
                  expected: float | None, tolerance: float = 0.15, period_ended: bool,
                  violations: int = 0, evidence: int = 0, verdict: str | None = None,
                  rule: str | None = None, potential: float | None = None,
                  compliance_target: float | None = None, reached: bool = False, broken: int = 0) -> Status:
    """The status by the rule of the KPI's kind."""
    from tracker.measure.kinds import kind_of

    facts = Facts(comparator, target, actual, expected, tolerance, period_ended, violations, evidence,
                  verdict, rule, potential, compliance_target, reached, broken)
    return kind_of(kind).status(facts)
