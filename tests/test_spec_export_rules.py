"""``tracker spec export --format json`` carries every rule of each KPI (docs/contracts.md section 6),
and every number a 2024 clause states can be found in the exported KPIs of its clause — as a target,
a per-record bound, a cap, a coverage count, a compliance share, a time limit … — or is explained in
the clause's ``not_targets``; the few left are listed below with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tracker.cli import _register, app
from tracker.kpispec.coverage import quantities
from tracker.kpispec.loader import load_specs

_register()
SPECS_2024 = Path(__file__).resolve().parent.parent / "kpi_specs" / "2024"
# (project, clause, number as written) a clause states that no exported KPI carries, with the reason.
EXCEPTIONS: dict[tuple[str, str, str], str] = {}


def _numbers(v: Any) -> set[float]:
    """Every number anywhere in an exported KPI (targets, bounds, caps, members' count …)."""
    if isinstance(v, bool):
        return set()
    if isinstance(v, int | float):
        return {float(v)}
    if isinstance(v, dict):
        return set().union(*(_numbers(x) for x in v.values())) if v else set()
    if isinstance(v, list):
        out = set().union(*(_numbers(x) for x in v)) if v else set()
        return out | {float(len(v))}  # a coverage set of 12 towns states "12"
    return set()


def _export(monkeypatch: Any) -> list[dict[str, Any]]:
    monkeypatch.setenv("TRACKER_SPECS", str(SPECS_2024))
    r = CliRunner().invoke(app, ["spec", "export", "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_export_carries_the_rules(monkeypatch: Any) -> None:
    rows = {r["id"]: r for r in _export(monkeypatch)}
    assert all("source" in r and "pacing" in r and "comparator" in r for r in rows.values())
    each = [r for r in rows.values() if r.get("each")]
    assert each and all({"field", "min", "max"} <= set(b) for r in each for b in r["each"])
    per_person = [r for r in rows.values() if r["kind"] == "per_person"]
    assert per_person and all({"per", "by", "population"} & set(r) for r in per_person)
    assert all("per" in r and "by" in r for r in per_person)
    assert any(r.get("cap_per_person") for r in rows.values())
    assert any(r.get("members") and r.get("min_each") for r in rows.values())
    assert any(r["pacing"]["mode"] == "due" and r["pacing"]["due"] for r in rows.values())
    # either/or bounds: "服务时长不少于3天（或24小时）" — `each` keeps the plain bounds, `any_of` the groups
    camps = rows["2024A002A.5.growth_camps"]
    assert camps["each"] == [{"field": "participants", "min": 35, "max": None}]
    assert camps["any_of"] == [[{"field": "days", "min": 3, "max": None}, {"field": "hours", "min": 24, "max": None}]]
    # a project-wide per-month rule: "开展每个月不少于1次"
    monthly = rows["2024A005.4.inclusion_monthly"]
    assert (monthly["kind"], monthly["per"], monthly["by"], monthly["target"]) == ("per_person", "month", "project", 1)


def test_export_carries_the_clause_shapes(monkeypatch: Any) -> None:
    """一户一档 (a deliverable per roster member, due at the end), 每家测评机构一份反馈报告 (only the
    members an activity served) and 三年以上工作经验 (a staff rule with a minimum experience)."""
    rows = {r["id"]: r for r in _export(monkeypatch)}
    files = rows["2024C001A.1.household_files"]
    assert (files["kind"], files["source"], files["target"], files["population"], files["where"]["types"],
            files["per"], files["by"], files["pacing"]) == (
        "per_person", "deliverable", 1, "destitute", ["household_file"], "period", "person",
        {"mode": "due", "due": "end"})
    assert rows["2024B006.2.feedback_each"]["members_served_by"] == ["onsite_assessment"]
    exp = rows["2024A005.2.aide_teacher_experience"]
    assert (exp["kind"], exp["rule"], exp["min_experience_years"], exp["target"]) == ("staff", "all_have", 3, None)
    assert "credential" not in exp and exp["where"] == {"types": ["inclusion_aide"]}


def test_every_number_of_a_clause_is_in_its_exported_kpis(monkeypatch: Any) -> None:
    rows = _export(monkeypatch)
    by_clause: dict[tuple[str, int], set[float]] = {}
    for r in rows:
        key = (r["project"], r.get("clause_label", r["clause"]))
        by_clause.setdefault(key, set()).update(_numbers({k: v for k, v in r.items() if k not in ("clause", "id")}))
    missing = []
    for loaded in load_specs(SPECS_2024):
        spec = loaded.spec
        for clause in spec.clauses:
            found = by_clause.get((spec.code, clause.label if not isinstance(clause.clause, int) else clause.clause),
                                  set())
            explained = " ".join(nt.value for nt in clause.not_targets)
            for q in quantities(clause.text):
                if q.value in found or q.text in explained or f"{q.value:g}" in explained:
                    continue
                if (spec.code, str(clause.clause), q.text) in EXCEPTIONS:
                    continue
                missing.append((spec.code, str(clause.clause), q.text))
    assert missing == [], missing
