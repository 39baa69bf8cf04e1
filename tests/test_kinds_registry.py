"""The KPI kinds behind their registry: every kind is complete, and the SQL each compiles to is a
reviewed snapshot.

Every kind has an implementation module, a fixture KPI (tests/fixtures/engine/specs/X001.yaml) whose
figures tests/test_measure_kinds.py works out by hand, a row in docs/spec-format.md, a Chinese
label, and a place in every weighted scoring scheme (or an explicit ``excluded_kinds`` entry).

SQL snapshots: for one fixture KPI of each kind, the SQL it compiles to on SQLite and on
PostgreSQL is kept under tests/snapshots/sql/. After a deliberate compiler change, regenerate them
with ``TRACKER_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_kinds_registry.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy.dialects import postgresql, sqlite

from tracker.kpispec.loader import load_spec
from tracker.kpispec.model import Kind, Spec
from tracker.measure.compile import explain_sql
from tracker.measure.kinds import kind_of, registry

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = ROOT / "tests" / "fixtures" / "engine" / "specs"
SNAPSHOTS = ROOT / "tests" / "snapshots" / "sql"
AS_OF = dt.date(2024, 9, 30)
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.psycopg.dialect()}


def _fixture() -> Spec:
    return load_spec(FIXTURE_DIR, "2099A001").spec


def _first_of_each_kind(spec: Spec) -> dict[Kind, str]:
    out: dict[Kind, str] = {}
    for clause, kpi in spec.iter_kpis():
        out.setdefault(kpi.kind, spec.kpi_id(clause, kpi))
    return out


def test_every_kind_has_an_implementation_module() -> None:
    reg = registry()
    assert set(reg) == set(Kind)
    for kind, impl in reg.items():
        assert impl.kind is kind
        assert type(impl).__module__ == f"tracker.measure.kinds.{kind.value}"  # one module per kind
        assert type(impl).status is not type(impl).__mro__[-2].status, kind  # its own status rule
        assert type(impl).compile is not type(impl).__mro__[-2].compile, kind  # and its own SQL


def test_every_kind_has_a_chinese_label() -> None:
    for kind in Kind:
        assert re.search(r"[\u4e00-\u9fff]", kind_of(kind).label), kind


def test_every_kind_has_a_hand_worked_fixture_kpi() -> None:
    spec = _fixture()
    tests = (ROOT / "tests" / "test_measure_kinds.py").read_text(encoding="utf-8")
    keys_by_kind: dict[Kind, set[str]] = {}
    for _clause, kpi in spec.iter_kpis():
        keys_by_kind.setdefault(kpi.kind, set()).add(kpi.key)
    for kind in Kind:
        keys = keys_by_kind.get(kind, set())
        assert keys, f"no fixture KPI of kind {kind.value} in X001.yaml"
        assert any(f'"{k}"' in tests for k in keys), f"no hand-worked test reads a {kind.value} KPI"


def test_every_kind_has_a_row_in_the_spec_format() -> None:
    doc = (ROOT / "docs" / "spec-format.md").read_text(encoding="utf-8")
    table = doc.split("## Kinds", 1)[1].split("\n## ", 1)[0]
    rows = {m[1] for m in re.finditer(r"^\| `([a-z_]+)` \|", table, re.M)}
    assert rows == {k.value for k in Kind}


def test_every_weighted_scheme_places_every_kind() -> None:
    data = yaml.safe_load((ROOT / "tracker" / "reports" / "assets" / "scoring.yaml").read_text(encoding="utf-8"))
    weighted = {n: s for n, s in data["schemes"].items() if s["type"] == "weighted"}
    assert weighted
    for name, scheme in weighted.items():
        placed = [k for d in scheme["dimensions"] for k in d.get("kinds", [])] + scheme.get("excluded_kinds", [])
        assert sorted(placed) == sorted(k.value for k in Kind), name  # each kind exactly once


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("kind", [k.value for k in Kind])
def test_sql_snapshot(kind: str, dialect: str) -> None:
    spec = _fixture()
    kpi_id = _first_of_each_kind(spec)[Kind(kind)]
    body = explain_sql(spec, kpi_id, AS_OF, DIALECTS[dialect])
    assert explain_sql(spec, kpi_id, AS_OF, DIALECTS[dialect]) == body  # deterministic
    sql = f"-- {kpi_id} as of {AS_OF}\n{body}\n"
    path = SNAPSHOTS / f"{kind}.{dialect}.sql"
    if os.environ.get("TRACKER_UPDATE_SNAPSHOTS") == "1":
        path.write_text(sql, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with TRACKER_UPDATE_SNAPSHOTS=1 and review it"
    assert sql == path.read_text(encoding="utf-8"), (
        f"{kpi_id} compiles to different SQL on {dialect}; if the change is meant, regenerate with "
        "TRACKER_UPDATE_SNAPSHOTS=1 and review the diff")


#: Clause shapes a kind compiles differently from its first fixture KPI: snapshot name → KPI id.
SHAPES = {
    "per_person.roster_files": "2099A001.21.household_files",  # 一户一档: a deliverable per member, due
    "staff.experience": "2099A001.22.supervisor_qualified",  # 督导: a credential and 5 years, by role
    "count.any_of": "2099A001.11.camps",  # 3天（或24小时）: an either/or per-record bound
    "per_person.per_project": "2099A001.11.inclusion_monthly",  # 每月开展不少于1次: the project as a whole
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_sql_snapshot_of_clause_shapes(shape: str, dialect: str) -> None:
    spec = _fixture()
    kpi_id = SHAPES[shape]
    body = explain_sql(spec, kpi_id, AS_OF, DIALECTS[dialect])
    sql = f"-- {kpi_id} as of {AS_OF}\n{body}\n"
    path = SNAPSHOTS / f"{shape}.{dialect}.sql"
    if os.environ.get("TRACKER_UPDATE_SNAPSHOTS") == "1":
        path.write_text(sql, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with TRACKER_UPDATE_SNAPSHOTS=1 and review it"
    assert sql == path.read_text(encoding="utf-8"), (
        f"{kpi_id} compiles to different SQL on {dialect}; if the change is meant, regenerate with "
        "TRACKER_UPDATE_SNAPSHOTS=1 and review the diff")


def test_charts_and_monthly_series_are_the_kinds_own() -> None:
    """A kind that is by_month or draws a burn-up has its own monthly statement; a distribution chart
    has its own distribution statement; the others have none."""
    from tracker.measure.kinds.base import KpiKind

    for kind, impl in registry().items():
        has_monthly = type(impl).monthly is not KpiKind.monthly
        has_distribution = type(impl).distribution is not KpiKind.distribution
        assert has_monthly == (impl.by_month or impl.chart == "burnup"), kind
        assert has_distribution == (impl.chart == "distribution"), kind
        assert impl.own_records is None or impl.own_records in {"staff", "incident", "approval", "expense"}, kind


KIND_NAMES = "|".join(k.value for k in Kind)
BRANCH = re.compile(rf"\bKind\.(?:{KIND_NAMES})\b|\.kind\s*(?:==|!=|not in|in|is not|is)\s*[(\[{{]?\s*"
                    rf"[\"'](?:{KIND_NAMES})[\"']")


def test_no_kind_branches_outside_the_kind_modules() -> None:
    """Adding a kind is one module: nothing outside tracker/measure/kinds/ and the spec model names
    a KPI kind to decide something."""
    offenders = []
    for path in sorted((ROOT / "tracker").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("tracker/measure/kinds/") or rel == "tracker/kpispec/model.py":
            continue
        for no, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if BRANCH.search(line):
                offenders.append(f"{rel}:{no}: {line.strip()}")
    assert offenders == []


def test_the_branch_pattern_sees_a_branch() -> None:
    assert BRANCH.search("if kpi.kind is Kind.manual:") and BRANCH.search('k.kind in ("count", "sum")')
    assert BRANCH.search("k.kind != 'rate'") and not BRANCH.search("kd.kind == 'activity'")
