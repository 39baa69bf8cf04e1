"""The spec side of the newer clause shapes: what a spec may say and the precise messages when it
says it wrong. Their figures are worked by hand in tests/test_measure_kinds.py."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tracker.kpispec.model import KPI


def _kpi(**kw: Any) -> KPI:
    return KPI.model_validate({"key": "k", "label": "指标", "unit": "%", "target": 90, **kw})


def test_timeliness_needs_a_reference_date_column_and_a_bound() -> None:
    k = _kpi(kind="timeliness", reference="requested_on", within={"hours": 24})
    assert k.within is not None and (k.within.max_days, k.within.text) == (1, "24小时")
    assert _kpi(kind="timeliness", reference="requested_on", within={"hours": 12}).within.max_days == 0  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="必须给出 reference"):
        _kpi(kind="timeliness", within={"days": 3})
    with pytest.raises(ValidationError, match="没有日期列 served_on；可作参照的日期列：requested_on（需求登记日期）"):
        _kpi(kind="timeliness", reference="served_on", within={"days": 3})
    with pytest.raises(ValidationError, match="days 或 hours 其中之一"):
        _kpi(kind="timeliness", reference="requested_on", within={"days": 3, "hours": 24})


@pytest.mark.parametrize(("per", "day", "slot"), [
    ("year", "2024-03-15", 0), ("year", "2025-03-14", 0), ("year", "2025-03-15", 1), ("year", "2026-03-15", 2),
    ("quarter", "2024-03-31", 2024 * 4), ("quarter", "2024-04-01", 2024 * 4 + 1),
    ("quarter", "2024-12-31", 2024 * 4 + 3), ("week", "2024-03-21", 0), ("week", "2024-03-22", 1),
    ("day", "2024-03-15", 0), ("day", "2024-04-15", 31), ("month", "2024-04-15", 2024 * 12 + 3)])
def test_period_slots_in_sql_match_the_elapsed_slots(db_url: str, per: str, day: str, slot: int) -> None:
    """A period from 2024-03-15: the database puts a date in the slot ``elapsed_slots`` numbers."""
    import datetime as dt

    from sqlalchemy import Date, create_engine, literal, select

    from tracker.kpispec.loader import load_spec
    from tracker.kpispec.model import Per
    from tracker.measure.compile import Ctx
    from tracker.measure.kinds.per_person import elapsed_slots
    from tracker.measure.sqlfuncs import period_slot

    start = dt.date(2024, 3, 15)
    date = dt.date.fromisoformat(day)
    eng = create_engine(db_url)
    try:
        with eng.connect() as c:
            assert c.execute(select(period_slot(literal(date, Date), per, start))).scalar_one() == slot
    finally:
        eng.dispose()
    from pathlib import Path
    spec = load_spec(Path(__file__).parent / "fixtures" / "engine" / "specs", "2099A001").spec
    project = spec.project.model_copy(update={"period": spec.project.period.model_copy(
        update={"start": start, "end": dt.date(2027, 3, 14)})})
    ctx = Ctx(spec.model_copy(update={"project": project}), as_of=dt.date(2027, 3, 14))
    assert slot in elapsed_slots(ctx, Per(per))  # numbered alike: at the period's end the slot is over


def test_staff_import_reads_employment_and_leaving_date(roster_ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sys
    from pathlib import Path

    from sqlmodel import select

    from tracker.db.models import Staff
    from tracker.records import import_file

    sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
    from records_support import CODE, write_csv

    head = ["工作人员编号", "姓名", "岗位", "用工性质", "入职日期", "离职日期"]
    bad = write_csv(tmp_path / "bad.csv", [head, ["S1", "张一", "社工", "全职", "2024-06-01", ""],
                                           ["S2", "李二", "督导", "临时工", "2024-06-01", ""]])
    r = import_file(roster_ws, bad, CODE, "staff")
    assert not r.committed and [(e.row, e.column) for e in r.invalid] == [(3, "用工性质")]
    assert "专职、兼职、志愿者" in r.invalid[0].message
    good = write_csv(tmp_path / "good.csv", [head, ["S1", "张一", "社工", "全职", "2024-06-01", "2024-08-15"],
                                            ["S2", "李二", "督导", "志愿者", "", ""]])
    assert import_file(roster_ws, good, CODE, "staff").imported == 2
    with roster_ws.session() as s:
        got = sorted((x.staff_id, x.employment, str(x.left_on)) for x in s.exec(select(Staff)))
    assert got == [("S1", "专职", "2024-08-15"), ("S2", "志愿者", "None")]


def test_headcount_rules() -> None:
    k = _kpi(kind="headcount", where={"roles": ["社工"], "employment": ["专职"]}, target=3, unit="名")
    assert k.where.employment == ["专职"]
    with pytest.raises(ValidationError, match="per 只能省略或为 day"):
        _kpi(kind="headcount", per="month", target=3, unit="名")
    with pytest.raises(ValidationError, match="只适用于 staff 和 headcount"):
        _kpi(kind="count", where={"roles": ["社工"]}, target=3, unit="名")
    with pytest.raises(ValidationError):
        _kpi(kind="headcount", where={"employment": ["临时工"]}, target=3, unit="名")


def _spec_with(clauses: str) -> tuple[object, list[object]]:
    from tracker.kpispec.loader import parse_spec_text

    head = ("spec_version: 1\nproject: {code: 2099A009, name: 更正测试, category: 为老服务类, funding: {amount_wan: 5},"
            " area: [西湖区], period: {start: 2024-06-01, end: 2025-03-31}}\n"
            "activity_types: [{key: meal, label: 助餐, serves: group}]\nclauses:\n")
    return parse_spec_text(head + clauses)


_K = "    kpis: [{key: meals, kind: count, label: 助餐, where: {types: [meal]}, target: %d, unit: 人次}]\n"


@pytest.mark.parametrize(("clauses", "message"), [
    ("  - {clause: 9, text: 助餐不少于500人次, superseded_by: 9b,\n" + _K % 500
     + "  - {clause: 9a, text: 助餐不少于300人次, correction: 更正公告,\n" + _K % 300, "没有第9b条"),
    ("  - {clause: 9a, text: 助餐不少于300人次,\n" + _K % 300, "带字母，只用于更正条款"),
    ("  - {clause: 9, text: 助餐不少于500人次, superseded_by: 9a,\n" + _K % 500
     + "  - {clause: 9a, text: 助餐不少于300人次, correction: 更正公告, superseded_by: 9,\n" + _K % 300,
     "本身也已被更正"),
    ("  - clause: 9\n    text: 助餐不少于500人次\n    kpis:\n"
     "      - {key: meals, kind: count, label: 助餐, target: 500, unit: 人次, superseded_by: meals_new}\n",
     "须是现行的另一指标"),
])
def test_a_correction_names_what_replaces_it(clauses: str, message: str) -> None:
    text = clauses.replace(",\n    kpis:", ", kpis:").replace("}]\n", "}]}\n") if "{clause" in clauses else clauses
    spec, problems = _spec_with(text)
    assert spec is None and any(message in str(p) for p in problems), [str(p) for p in problems]


def test_a_correction_clause_is_not_checked_against_the_release_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """2024B004E's clause 1 replaced by a corrected 1a (4 towns instead of 5): the spec still validates
    against the 2024 table; a corrected text without `correction` would not."""
    import shutil
    from pathlib import Path

    import yaml

    from tracker.kpispec.loader import load_specs

    root = Path(__file__).resolve().parent.parent / "kpi_specs" / "2024"
    shutil.copy(root / "programme.yaml", tmp_path / "programme.yaml")
    data = yaml.safe_load((root / "B004E.yaml").read_text("utf-8"))
    first = data["clauses"][0]
    fixed = {**first, "clause": "1a", "text": first["text"].replace("不少于5个", "不少于4个"),
             "correction": "2024年9月更正公告", "kpis": [{**first["kpis"][0], "target": 4,
                                                          "excerpt": "覆盖不少于4个乡镇"}]}
    first["superseded_by"] = "1a"
    data["clauses"].insert(1, fixed)
    (tmp_path / "B004E.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    [ls] = load_specs(tmp_path)  # raises on any problem, the release-table comparison included
    spec = ls.spec
    assert [k.target for c, k in spec.iter_kpis() if k.key == "towns_covered"] == [4]
    del fixed["correction"]
    fixed["clause"] = 1
    data["clauses"] = [fixed, *data["clauses"][2:]]
    (tmp_path / "B004E.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    from tracker.errors import TrackerError

    with pytest.raises(TrackerError, match="与发布表第1条原文不一致"):
        load_specs(tmp_path)
