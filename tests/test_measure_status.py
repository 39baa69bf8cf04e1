"""Pacing and status as plain functions, with hand-worked numbers."""

from __future__ import annotations

import datetime as dt

from tracker.kpispec.model import KPI, Funding, Period, Project
from tracker.measure.pacing import elapsed_days, expected, forecast, period_days
from tracker.measure.status import decide_status

P = Project(code="2099A001", name="测试项目", category="为老服务类", funding=Funding(amount_wan=1),
            area=["西湖区"], period=Period(start=dt.date(2024, 6, 1), end=dt.date(2025, 3, 31)),
            midterm=dt.date(2024, 11, 15))


def k(**kw) -> KPI:  # type: ignore[no-untyped-def]
    base = dict(key="x", kind="count", label="x", target=100, unit="次")
    base.update(kw)
    return KPI.model_validate(base)


def test_linear_due_milestones_none() -> None:
    assert period_days(P) == 304
    assert elapsed_days(P, dt.date(2024, 9, 30)) == 122 and elapsed_days(P, dt.date(2024, 5, 1)) == 0
    assert expected(k(), P, dt.date(2024, 9, 30)) == 100 * 122 / 304
    assert expected(k(), P, dt.date(2026, 1, 1)) == 100
    due = k(pacing={"mode": "due", "due": "midterm"})
    assert expected(due, P, dt.date(2024, 11, 14)) == 0 and expected(due, P, dt.date(2024, 11, 15)) == 100
    ms = k(pacing={"mode": "milestones", "milestones": [{"date": "2024-06-30", "value": 30},
                                                         {"date": "end", "value": 100}]})
    assert expected(ms, P, dt.date(2024, 6, 15)) == 30 * 15 / 30  # (06-15 − 05-31) / (06-30 − 05-31)
    assert expected(ms, P, dt.date(2024, 6, 30)) == 30
    assert expected(ms, P, dt.date(2025, 3, 31)) == 100
    assert expected(k(kind="rate", measure="satisfaction", unit="%"), P, dt.date(2024, 9, 30)) is None
    assert forecast(k(), P, dt.date(2024, 9, 30), 30) == 30 * 304 / 122
    assert forecast(k(kind="rate", measure="satisfaction", unit="%"), P, dt.date(2024, 9, 30), 90) is None


def s(**kw) -> str:  # type: ignore[no-untyped-def]
    base = dict(kind="count", comparator=">=", target=100, actual=50, expected=50, period_ended=False)
    base.update(kw)
    return decide_status(**base)


def test_cumulative_status() -> None:
    assert s(actual=100) == "met"
    assert s(actual=43, expected=50) == "on_track"  # 43 ≥ 50 × 0.85 = 42.5
    assert s(actual=42, expected=50) == "behind"
    assert s(actual=42, expected=50, tolerance=0.2) == "on_track"
    assert s(actual=99, period_ended=True) == "missed"
    assert s(comparator="<=", actual=101) == "missed" and s(comparator="<=", actual=80) == "on_track"
    assert s(comparator="<=", actual=80, period_ended=True) == "met"


def test_state_gate_manual_status() -> None:
    assert s(kind="rate", actual=None, expected=None) == "pending"
    assert s(kind="rate", target=85, actual=90, expected=None) == "on_track"
    assert s(kind="rate", target=85, actual=80, expected=None) == "behind"
    assert s(kind="rate", target=85, actual=80, expected=None, period_ended=True) == "missed"
    # per_person: actual is the percent of judged member-periods meeting the rule (target stays 2)
    assert s(kind="per_person", target=2, actual=None, expected=None) == "pending"  # nothing judged yet
    assert s(kind="per_person", target=2, actual=100, expected=None, reached=True) == "met"
    assert s(kind="per_person", target=2, actual=100, expected=None) == "on_track"
    assert s(kind="per_person", target=2, actual=80, expected=None) == "behind"  # someone below the pace
    assert s(kind="per_person", target=1, actual=80, expected=None, violations=3, broken=2) == "missed"
    assert s(kind="per_person", target=1, actual=80, expected=None, broken=2, compliance_target=75) == "on_track"
    assert s(kind="per_person", target=1, actual=70, expected=None, broken=2, compliance_target=75) == "behind"
    assert s(kind="per_person", target=2, actual=99, expected=None, period_ended=True) == "missed"
    assert s(kind="per_person", target=2, actual=80, expected=None, period_ended=True,
             compliance_target=80) == "met"
    assert s(kind="approval_gate", target=None, actual=1, violations=1) == "missed"
    assert s(kind="approval_gate", target=None, actual=0, evidence=0) == "pending"
    assert s(kind="approval_gate", target=None, actual=0, evidence=3) == "on_track"
    assert s(kind="approval_gate", target=None, actual=0, evidence=3, period_ended=True) == "met"
    # no evidence is not compliance: nothing under the gate stays pending after the period too
    assert s(kind="approval_gate", target=None, actual=0, evidence=0, period_ended=True) == "pending"
    assert s(kind="staff", rule="all_have", target=None, actual=0, evidence=0, period_ended=True) == "pending"
    assert s(kind="zero_incident", target=None, actual=0, evidence=0, period_ended=True) == "met"
    assert s(kind="zero_incident", target=None, actual=0) == "on_track"
    assert s(kind="staff", rule="all_have", target=None, actual=1, violations=1) == "behind"
    assert s(kind="staff", rule="all_have", target=None, actual=1, violations=1, period_ended=True) == "missed"
    assert s(kind="manual", target=None, actual=None) == "pending"
    assert s(kind="manual", target=None, actual=None, verdict="met") == "met"
    assert s(kind="duration", target=6, actual=2, potential=7) == "on_track"
    assert s(kind="duration", target=6, actual=2, potential=5) == "behind"


def test_whole_period_per_person_rules_are_paced_linearly() -> None:
    import datetime as dt

    from tracker.kpispec.model import KPI, Period, Project
    from tracker.measure.pacing import expected

    project = Project.model_validate({
        "code": "2099C001", "name": "测试项目", "category": "社会救助类", "funding": {"amount_wan": 10},
        "area": ["富阳区"], "period": {"start": "2024-06-01", "end": "2025-05-31"}})
    assert isinstance(project.period, Period)
    whole = KPI.model_validate({"key": "visits_each", "kind": "per_person", "label": "每人上门", "target": 2,
                                "unit": "次", "where": {"population": "p"}})
    monthly = KPI.model_validate({**whole.model_dump(), "per": "month"})
    # 2024-11-30 is day 183 of 365: 2 × 183 / 365
    assert expected(whole, project, dt.date(2024, 11, 30)) == 2 * 183 / 365
    assert expected(monthly, project, dt.date(2024, 11, 30)) is None
