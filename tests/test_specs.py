"""The 2024 portfolio specs: all 43 projects, every clause covered, every number accounted for, the
export in the contract's shape, and precise errors for broken specs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.kpispec.coverage import quantities, uncovered
from tracker.kpispec.export import kpi_records
from tracker.kpispec.loader import SpecError, load_specs, parse_spec_text
from tracker.kpispec.release_table import release_tables

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "kpi_specs"
EXAMPLE = (SPECS / "2024" / "B004E.yaml").read_text("utf-8")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)


@pytest.fixture(scope="module")
def portfolio():
    return load_specs(SPECS)


def test_every_release_project_has_exactly_one_spec(portfolio) -> None:
    codes = {ls.spec.code for ls in portfolio}
    assert codes == set(release_tables().projects)
    assert len(codes) == 43


def test_every_clause_and_every_number_is_covered(portfolio) -> None:
    rt = release_tables()
    gaps = [g for ls in portfolio for g in uncovered(ls.spec, rt.projects[ls.spec.code])]
    assert gaps == []


def test_spec_metadata_matches_release_table(portfolio) -> None:
    rt = release_tables()
    for ls in portfolio:
        p, r = ls.spec.project, rt.projects[ls.spec.code]
        assert (p.period.start, p.period.end) == r.period
        assert p.funding.amount_wan == r.funding_wan
        assert [c.clause for c in ls.spec.clauses] == [c.number for c in r.clauses]
    b004 = [ls.spec for ls in portfolio if ls.spec.code.startswith(("2024B004", "2024B006", "2024B007"))]
    assert {s.project.period.end.isoformat() for s in b004} == {"2025-03-31"}


def test_export_has_contract_shape(portfolio) -> None:
    rows = kpi_records([ls.spec for ls in portfolio])
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert {"project", "clause", "id", "kind", "comparator", "target", "unit", "text"} <= r.keys()
        assert r["comparator"] in (">=", "<=", "==")
        assert r["id"].startswith(f"{r['project']}.{r['clause']}.")
        assert r["target"] is None or isinstance(r["target"], int | float)
    by_id = {r["id"]: r for r in rows}
    v = by_id["2024B004E.2.visits_total"]
    assert (v["kind"], v["comparator"], v["target"], v["unit"]) == ("count", ">=", 15000, "人次")
    assert v["text"] == "留守独居等困难老人探访对象不少于1500人，每月上门不少于1次，总数不少于1.5万人次"
    assert by_id["2024B004E.4.satisfaction"]["target"] == 85
    assert by_id["2024B004E.4.satisfaction"]["unit"] == "%"
    assert by_id["2024B004E.5.prior_approval"]["target"] is None
    assert any(r["project"] == "2024A005" and r["clause"] == 0 for r in rows)


def test_cli_export_and_validate() -> None:
    out = run_cli("spec", "export", "--format", "json", "--project", "2024B004E")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["project"] for r in rows} == {"2024B004E"}
    ok = run_cli("spec", "validate")
    assert ok.returncode == 0, ok.stderr
    assert "校验通过：43 个项目" in ok.stdout
    assert "覆盖缺口" not in ok.stderr
    show = run_cli("spec", "show", "2024B004E")
    assert "探访总人次" in show.stdout and ">= 15000" in show.stdout
    bad = run_cli("spec", "show", "2024B004X")
    assert bad.returncode == 1 and "错误：未找到项目 2024B004X" in bad.stderr and "2024B004" in bad.stderr


# ---------------------------------------------------------------- bad specs


def _errors(text: str) -> list[str]:
    spec, problems = parse_spec_text(text, "bad.yaml")
    assert spec is None
    return [str(p) for p in problems]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def test_misspelt_kind_names_line_and_suggests() -> None:
    text = EXAMPLE.replace("kind: count\n        label: 探访总人次", "kind: cuont\n        label: 探访总人次")
    errs = _errors(text)
    assert len(errs) == 1
    assert f"bad.yaml:{_line_of(text, 'kind: cuont')}" in errs[0]
    assert "clauses[1].kpis[2].kind" in errs[0]
    assert "是否想写 “count”" in errs[0]


def test_missing_target_and_wrong_type_and_bad_date_reported_together() -> None:
    text = (EXAMPLE.replace("        target: 15000\n", "")
            .replace("target: 1000\n", "target: 很多\n")
            .replace("start: 2024-06-01", "start: 2024-13-01"))
    errs = _errors(text)
    joined = "\n".join(errs)
    assert "必须给出 target" in joined
    assert "应为数字，实际为 “很多”" in joined
    assert "日期格式错误" in joined
    assert len(errs) >= 3


def test_duplicate_kpi_id_and_undeclared_activity_type() -> None:
    text = EXAMPLE.replace("key: care_services", "key: visits_total").replace(
        "types: [care_service]", "types: [care_servce]")
    # same key in different clauses gives different ids: make a real duplicate inside clause 2
    text = text.replace("key: visit_people", "key: visits_monthly")
    errs = "\n".join(_errors(text))
    assert "2024B004E.2.visits_monthly” 重复" in errs
    assert "项目未声明的活动类型 “care_servce”" in errs and "是否想写 “care_service”" in errs


def test_unknown_field_suggests_known_one() -> None:
    text = EXAMPLE.replace("comparator", "comparator").replace("        unit: 人次\n", "        unti: 人次\n", 1)
    errs = "\n".join(_errors(text))
    assert "未知字段" in errs and "是否想写 “unit”" in errs


def test_malformed_any_of_names_file_line_and_what_is_wrong() -> None:
    """An either/or rule (``each: [{any_of: [...]}]``) with one alternative, with its own field beside
    any_of, or with an alternative lacking min/max: one precise Chinese error each, at its line."""
    where = "        where: {types: [home_visit]}\n        target: 15000\n"
    cases = [
        ("        each:\n          - any_of: [{field: hours, min: 1}]\n", "any_of 至少需要两个择一的条件",
         "clauses[1].kpis[2].each[0]"),
        ("        each:\n          - {field: days, any_of: [{field: days, min: 3}, {field: hours, min: 24}]}\n",
         "写了 any_of 就不能再写 field、min、max", "clauses[1].kpis[2].each[0]"),
        ("        each:\n          - any_of:\n              - {field: days, min: 3}\n              - {field: hours}\n",
         "each 条目至少需要 min 或 max", "clauses[1].kpis[2].each[0].any_of[1]"),
        ("        each:\n          - any_of: [{field: dayz, min: 3}, {field: hours, min: 24}]\n", "取值 “dayz” 无效",
         "clauses[1].kpis[2].each[0].any_of[0].field"),
    ]
    for each, message, path in cases:
        text = EXAMPLE.replace(where, where.replace("        target", each + "        target"), 1)
        errs = _errors(text)
        assert len(errs) == 1, errs
        line = _line_of(text, "- {field: hours}" if "{field: hours}\n" in each else "- any_of" if "- any_of" in each
                        else "- {field: days, any_of")
        assert f"bad.yaml:{line}" in errs[0] and path in errs[0] and message in errs[0], (errs[0], line)


def test_yaml_syntax_error_has_line() -> None:
    errs = _errors(EXAMPLE.replace("clauses:\n", "clauses:\n  - clause: [\n", 1))
    assert "YAML 语法错误" in errs[0] and "bad.yaml:" in errs[0]


def test_clause_not_in_release_table_and_text_mismatch(tmp_path: Path) -> None:
    d = tmp_path / "specs"
    d.mkdir()
    text = EXAMPLE.replace("- clause: 5", "- clause: 9").replace("服务对象满意度不低于85%", "服务对象满意度不低于80%")
    (d / "B004E.yaml").write_text(text, "utf-8")
    shutil.copy(SPECS / "2024" / "B001.yaml", d / "B001.yaml")
    with pytest.raises(SpecError) as e:
        load_specs(d)
    msg = str(e.value)
    assert "没有第9条" in msg
    assert "与发布表第4条原文不一致" in msg
    assert "发布表第5条没有对应的指标" in msg
    assert "未加载任何规格" in msg


def test_broken_spec_loads_nothing_and_cli_fails(tmp_path: Path) -> None:
    d = tmp_path / "specs"
    d.mkdir()
    shutil.copy(SPECS / "2024" / "B001.yaml", d / "B001.yaml")
    (d / "B004E.yaml").write_text(EXAMPLE.replace("kind: rate", "kind: rat"), "utf-8")
    with pytest.raises(SpecError):
        load_specs(d)
    out = run_cli("spec", "validate", str(d))
    assert out.returncode == 1
    assert "B004E.yaml:" in out.stderr and "“rate”" in out.stderr
    assert out.stdout == ""


def test_yaml_merge_keys_may_be_overridden_but_duplicates_are_errors() -> None:
    text = EXAMPLE.replace(
        "      - key: care_services\n        kind: count",
        "      - &care\n        key: care_services\n        kind: count",
    ).replace(
        "      - key: system_checkin\n",
        "      - <<: *care\n        key: care_again\n        label: 再计一次\n      - key: system_checkin\n",
    )
    spec, problems = parse_spec_text(text, "merge.yaml")
    assert problems == [] and spec is not None
    keys = [k.key for c in spec.clauses if c.clause == 3 for k in c.kpis]
    assert keys == ["care_services", "care_again", "system_checkin"]
    errs = _errors(EXAMPLE.replace("    text: 服务对象满意度不低于85%\n",
                                   "    text: 服务对象满意度不低于85%\n    text: 重复\n"))
    assert "重复的键 “text”" in errs[0]


# ---------------------------------------------------------------- the release tables


def test_release_table_parse_and_inconsistencies() -> None:
    rt = release_tables()
    assert len(rt.projects) == 43
    assert rt.projects["2024A005"].clauses[0].number == 0
    assert rt.projects["2024A005"].clauses[0].text == "目标服务群体：孤独症儿童及家庭不少于20户"
    assert "（2）开展适合精神障碍患者及家属的小组活动10场，每场人数5-10人。" in rt.projects["2024A008"].clause(2).text
    assert rt.projects["2024D005"].clause(5).text == "探索形成省级地方标准草案"
    assert rt.projects["2024A002B"].name == "特殊儿童家庭监护动力辅导（二）"
    assert "2024C002D" not in rt.projects
    issues = "\n".join(rt.issues)
    for expected in ("2024A002B：正文缺少“项目编号”标题行", "2024C001C：实施区域写作“桐庐区”",
                     "2024B004A：申报条件写“2025年3月31日", "2024D001：汇总表中的项目名称",
                     "2024D004：汇总表中的项目名称", "2024C002D：编号缺失", "2024D005：第5条的条款号前夹有 Word 书签"):
        assert expected in issues
    assert "2024D002：汇总表" not in issues  # names that agree are not reported


@pytest.mark.parametrize(("text", "values"), [
    ("总数不少于1.5万人次", [15000]),
    ("服务不少于1万人次", [10000]),
    ("提供特色专业化服务不少于两项", [2]),
    ("参与率不低于60％", [60]),
    ("形成一份不少于5000字的报告", [5000, 1]),
    ("一对一服务不少于50次，一人一策", [50]),
    ("每场人数5-10人", [5, 10]),
    ("（1）助残社工赋能，指导个案不少于5个", [5]),
])
def test_quantities_are_normalised(text: str, values: list[float]) -> None:
    assert sorted(q.value for q in quantities(text)) == sorted(values)


def test_per_person_field_must_be_numeric() -> None:
    text = EXAMPLE.replace("        per: month\n", "        per: month\n        field: town\n")
    errs = "\n".join(_errors(text))
    assert "per_person 的 field 表示按人累加的数值" in errs and "clauses[1].kpis[1].field" in errs


# ---------------------------------------------------------------- towns and districts against the gazetteer

TOWNS_KPI = "        where: {population: elders}\n        field: town\n"


def _kpi(spec, key: str):  # type: ignore[no-untyped-def]
    return next(k for c in spec.clauses for k in c.kpis if k.key == key)


def test_spec_towns_aliases_are_accepted_and_normalised() -> None:
    """乾潭 → 乾潭镇, 梅城 镇 → 梅城镇, 建德市大同镇 → 大同镇: the names the importer stores, so the KPI's
    filter and coverage set match the records."""
    text = EXAMPLE.replace(TOWNS_KPI, "        where: {population: elders, towns: [乾潭, 梅城 镇, 寿昌镇, 建德市大同镇],"
                                      " districts: [建德]}\n        field: town\n", 1)
    text += ("      - {key: town_set, kind: coverage, label: 覆盖乡镇, source: roster, field: town,"
             " members: [乾潭, 梅城镇, 新安江], target: 3, unit: 个}\n")
    spec, problems = parse_spec_text(text, "ok.yaml")
    assert problems == [] and spec is not None
    k = _kpi(spec, "towns_covered")
    assert k.where.towns == ["乾潭镇", "梅城镇", "寿昌镇", "大同镇"] and k.where.districts == ["建德市"]
    assert _kpi(spec, "town_set").members == ["乾潭镇", "梅城镇", "新安江街道"]


def test_spec_unknown_town_or_district_is_an_error_with_line_and_suggestion() -> None:
    text = EXAMPLE.replace(TOWNS_KPI, "        where: {population: elders, towns: [乾谭], districts: [桐庐县]}\n"
                                      "        field: town\n", 1)
    text += ("      - {key: town_set, kind: coverage, label: 覆盖乡镇, source: roster, field: town,"
             " members: [乾潭镇, 寿唱镇, 乾潭], target: 3, unit: 个}\n")
    errs = _errors(text)
    where_line, set_line = _line_of(text, "towns: [乾谭]"), _line_of(text, "key: town_set")
    assert f"bad.yaml:{where_line}  [clauses[0].kpis[0].where.towns[0]]  乡镇街道“乾谭”不是项目实施区域（建德市）内的乡镇、街道（是否想写 “乾潭镇”？）" in errs[0]
    assert f"bad.yaml:{where_line}" in errs[1] and "区县“桐庐县”（桐庐县）不在项目实施区域（建德市）内" in errs[1]
    assert f"bad.yaml:{set_line}" in errs[2] and "members[1]" in errs[2] and "是否想写 “寿昌镇”" in errs[2]
    assert f"bad.yaml:{set_line}" in errs[3] and "“乾潭”即“乾潭镇”，与第 1 项重复" in errs[3]
    assert len(errs) == 4


def test_spec_validate_names_the_file_and_line_of_an_unknown_town(tmp_path: Path) -> None:
    d = tmp_path / "specs"
    d.mkdir()
    text = EXAMPLE.replace(TOWNS_KPI, "        where: {population: elders, towns: [乾谭]}\n        field: town\n", 1)
    (d / "B004E.yaml").write_text(text, "utf-8")
    out = run_cli("spec", "validate", str(d))
    assert out.returncode == 1 and out.stdout == ""
    assert f"B004E.yaml:{_line_of(text, 'towns: [乾谭]')}" in out.stderr and "是否想写 “乾潭镇”" in out.stderr
