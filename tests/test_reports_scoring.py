"""Scoring is configuration (scoring.yaml): the plain rule and the 100-point schemes, worked
by hand on progress figures built in the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "reports"))

from support import SPECS

from tracker.errors import TrackerError
from tracker.kpispec.loader import load_specs
from tracker.measure.types import KpiProgress, ProjectProgress
from tracker.reports.scoring import apply_scheme, describe_gap, load_scheme

SPEC = next(ls.spec for ls in load_specs(SPECS) if ls.spec.code == "2099B001")
# key → (kind, comparator, target, unit, actual, status)
FIGURES = {
    "towns_covered": ("distinct", ">=", 3, "个乡镇", 3, "met"),
    "visit_people": ("distinct", ">=", 20, "人", 20, "met"),
    "visits_monthly": ("per_person", ">=", 1, "次/月", 1, "met"),
    "visits_total": ("count", ">=", 200, "人次", 150, "missed"),
    "trainings": ("count", ">=", 10, "场", 10, "met"),
    "satisfaction": ("rate", ">=", 85, "%", 80, "missed"),
    "prior_approval": ("approval_gate", ">=", None, "项", 0, "met"),
    "report": ("count", ">=", 1, "份", 1, "met"),
    "experience": ("manual", ">=", None, "项", None, "met"),
}


def progress(overrides: dict[str, str] | None = None) -> ProjectProgress:
    kpis = []
    for c, k in SPEC.iter_kpis():
        kind, comp, target, unit, actual, status = FIGURES[k.key]
        status = (overrides or {}).get(k.key, status)
        kpis.append(KpiProgress(id=SPEC.kpi_id(c, k), clause=c.clause, key=k.key, label=k.label, kind=kind,
                                comparator=comp, target=target, unit=unit, text=c.text, actual=actual,
                                expected=None, forecast=None, status=status))  # type: ignore[arg-type]
    p = SPEC.project
    return ProjectProgress("2099B001", p.name, p.period.end, None, p.period.start, p.period.end,
                           p.midterm_date, kpis)


def test_plain_rule_passes_only_when_every_clause_is_met() -> None:
    name, plain = load_scheme(name="plain")
    r = apply_scheme(SPEC, progress(), 50.0, plain, name)
    # Clause 2 (visits_total missed) and clause 4 (satisfaction missed) fail: 4 of 6 met.
    assert (r.clauses_met, r.clauses_total, r.verdict, r.passed) == (4, 6, "不合格", False)
    assert r.failures == [
        "第2条 探访总人次：目标 200人次，实际 150人次，差 50人次（完成 75.0%）",
        "第4条 服务对象满意度：目标 85%，实际 80%，差 5 个百分点",  # a rate: 个百分点, no 完成率
    ]
    ok = apply_scheme(SPEC, progress({"visits_total": "met", "satisfaction": "met"}), 50.0, plain, name)
    assert (ok.clauses_met, ok.verdict, ok.passed, ok.failures) == (6, "合格", True, [])


def test_weighted_schemes_score_by_hand() -> None:
    # 项目实施 40: 6 KPIs (distinct×2, per_person, count×3), visits_total missed at 75% → (5 + 0.75)/6.
    # 项目成效 30: satisfaction missed at 80/85 → 30 × 0.941176 = 28.2.
    # 资金使用 15: execution 45% of the 90% for full marks → 7.5.
    # 项目管理 15: approval gate and manual, both met → 15.
    impl = round(40 * 5.75 / 6, 1)
    eff = round(30 * (80 / 85), 1)
    name, s60 = load_scheme(name="score_60")
    r = apply_scheme(SPEC, progress(), 45.0, s60, name)
    assert [(d.name, d.score) for d in r.dimensions] == [
        ("项目实施", impl), ("项目成效", eff), ("资金使用", 7.5), ("项目管理", 15.0)]
    assert r.total == round(impl + eff + 7.5 + 15, 1) == 89.0  # 38.3 + 28.2 + 7.5 + 15
    assert (r.verdict, r.passed) == ("合格", True)
    name, abc = load_scheme(name="abc")
    assert apply_scheme(SPEC, progress(), 45.0, abc, name).verdict == "A"  # 89.0 ≥ 85
    # Everything pending and nothing spent: 0 points → C, not passed.
    low = apply_scheme(SPEC, progress(dict.fromkeys(FIGURES, "pending")), None, abc, name)
    assert (low.total, low.verdict, low.passed) == (0.0, "C", False)
    # behind counts 0.5 (status_credit) for a KPI without a completion; pending counts 0:
    # 38.3 + 0 (satisfaction pending) + 15 (90% spent) + 7.5 (gate and manual behind) = 60.8 → B.
    mid = apply_scheme(SPEC, progress({"prior_approval": "behind", "experience": "behind",
                                       "satisfaction": "pending"}), 90.0, abc, name)
    assert [d.score for d in mid.dimensions] == [impl, 0.0, 15.0, 7.5]
    assert (mid.total, mid.verdict, mid.passed) == (60.8, "B", True)


def test_scheme_file_errors_are_chinese(tmp_path: Path) -> None:
    bad = tmp_path / "scoring.yaml"
    bad.write_text("use: x\nschemes:\n  x: {title: t, type: weighted, dimensions: "
                   "[{name: a, weight: 50, kinds: [count]}], grades: [{grade: A, min: 0}]}\n", "utf-8")
    with pytest.raises(TrackerError, match="权重之和须为 100"):
        load_scheme(bad)
    with pytest.raises(TrackerError, match="不在"):
        load_scheme(name="nope")


def test_gap_wording_for_caps_and_gates() -> None:
    k = KpiProgress(id="x.1.k", clause=1, key="k", label="单人体验次数", kind="per_person", comparator="<=",
                    target=2, unit="次", text="", actual=5, expected=None, forecast=None, status="missed")
    assert describe_gap(k) == "第1条 单人体验次数：目标 2次，实际 5次，超出 3次"
    g = KpiProgress(id="x.2.g", clause=2, key="g", label="事前审核", kind="approval_gate", comparator=">=",
                    target=None, unit="项", text="", actual=3, expected=None, forecast=None, status="missed",
                    violations=3)
    assert describe_gap(g) == "第2条 事前审核：违规 3 条"
