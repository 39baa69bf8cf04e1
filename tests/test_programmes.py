"""Programmes, not a year: the 2024 programme file, a code missing from its release table, specs of
several programmes side by side, funding caps and unknown funding, periods as start plus duration,
clause labels 5.1, and what ``spec validate`` says it checked per programme."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.errors import TrackerError
from tracker.kpispec.export import kpi_records
from tracker.kpispec.loader import SpecError, load_specs, parse_spec_text
from tracker.kpispec.model import add_months, duration_months
from tracker.kpispec.programme import programme_for_file, read_programme

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "kpi_specs"
EXAMPLE = (SPECS / "2024" / "B004E.yaml").read_text("utf-8")

OTHER_PROGRAMME = """\
programme_version: 1
key: testdistrict-2025
issuer: 测试区民政局
title: 测试区2025年政府购买社会工作服务项目
code_pattern: 'CS2025-\\d{2}'
categories: [{label: 社区治理类}, {label: 为老服务类}]
funding: {unit: 元, basis: cap}
"""

OTHER_SPEC = """\
spec_version: 1
project:
  code: CS2025-01
  name: 社区睦邻服务
  category: 社区治理类
  funding: {basis: unknown}
  area: [测试区]
  period: {start: 2025-03-01, duration: 1年}
activity_types:
  - {key: group, label: 小组活动, serves: group}
clauses:
  - clause: "5.1"
    text: 开展小组活动不少于10场
    kpis:
      - {key: groups, kind: count, label: 小组活动场次, where: {types: [group]}, target: 10, unit: 场}
  - clause: 6
    text: 服务对象满意度不低于90%
    kpis:
      - {key: satisfaction, kind: rate, measure: satisfaction, label: 满意度, target: 90, unit: "%"}
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_the_2024_programme_file_holds_what_was_hard_coded() -> None:
    prog = programme_for_file(SPECS / "2024" / "B004E.yaml")
    assert prog is not None and prog.key == "hangzhou-2024"
    assert prog.title == "2024年杭州市市级公益创投项目发布表"
    assert prog.matches("2024C002K") and not prog.matches("2025C002K") and not prog.matches("2024E001")
    assert prog.category_of_code("2024C002K") == "社会救助类"
    assert prog.category_labels() == ["助残惠童类", "为老服务类", "社会救助类", "其他社会公益服务类"]


def test_code_of_the_programme_missing_from_its_table_is_an_error_with_suggestion(tmp_path: Path) -> None:
    d = tmp_path / "specs"
    d.mkdir()
    (d / "B004Z.yaml").write_text(EXAMPLE.replace("code: 2024B004E", "code: 2024B004Z"), "utf-8")
    with pytest.raises(SpecError) as e:
        load_specs(d)
    assert "项目编号 2024B004Z 不在计划“2024年杭州市市级公益创投项目发布表”的发布表中" in str(e.value)
    assert "是否想写 “2024B004" in str(e.value)
    out = run_cli("spec", "validate", str(d))
    assert out.returncode == 1 and "2024B004Z" in out.stderr and "校验通过" not in out.stdout


def test_category_must_be_the_programmes_and_agree_with_the_code(tmp_path: Path) -> None:
    d = tmp_path / "specs"
    d.mkdir()
    (d / "B004E.yaml").write_text(EXAMPLE.replace("category: 为老服务类", "category: 助残惠童类"), "utf-8")
    with pytest.raises(SpecError) as e:
        load_specs(d)
    assert "项目编号 2024B004E 属于“为老服务类”，规格写的是“助残惠童类”" in str(e.value)
    (d / "B004E.yaml").write_text(EXAMPLE.replace("category: 为老服务类", "category: 养老服务类"), "utf-8")
    with pytest.raises(SpecError) as e:
        load_specs(d)
    assert "类别 “养老服务类” 不是计划" in str(e.value) and "是否想写 “为老服务类”" in str(e.value)


def test_two_programmes_side_by_side_and_per_programme_checks(tmp_path: Path) -> None:
    root = tmp_path / "kpi_specs"
    shutil.copytree(SPECS / "2024", root / "2024")
    other = root / "testdistrict-2025"
    other.mkdir()
    (other / "programme.yaml").write_text(OTHER_PROGRAMME, "utf-8")
    (other / "CS2025-01.yaml").write_text(OTHER_SPEC, "utf-8")
    # The copied 2024 programme file names 2024-hangzhou.txt, not beside it: the shipped table is read.
    loaded = load_specs(root)
    assert len(loaded) == 44
    spec = next(ls.spec for ls in loaded if ls.spec.code == "CS2025-01")
    assert spec.project.period.end == dt.date(2026, 2, 28)
    assert spec.project.funding.amount_wan is None
    rows = kpi_records([spec])
    assert [(r["clause"], r.get("clause_label"), r["id"]) for r in rows] == [
        (5, "5.1", "CS2025-01.5.1.groups"), (6, None, "CS2025-01.6.satisfaction")]
    out = run_cli("spec", "validate", str(root))
    assert out.returncode == 0, out.stderr
    kpis_2024 = sum(len(list(ls.spec.iter_kpis())) for ls in loaded if ls.spec.code != "CS2025-01")
    assert kpis_2024 == 665  # the 43 projects of 2024 (the two KPIs of CS2025-01 are listed above)
    assert out.stdout.strip().endswith(f"校验通过：44 个项目，{kpis_2024 + 2} 个指标。")
    assert ("计划 杭州市民政局 2024年杭州市市级公益创投项目发布表：43 个项目；已核对：编号格式与项目类别、"
            "条款号与条款原文、资助金额、项目周期（对照发布表）、条款中每个数量都有指标或说明") in out.stderr
    assert ("计划 测试区民政局 测试区2025年政府购买社会工作服务项目：1 个项目；已核对：编号格式与项目类别；"
            "未核对：条款号与条款原文、资助金额、项目周期（对照发布表）：计划未列出发布表") in out.stderr
    # A spec of the other programme with a code outside its pattern is named.
    (other / "CS2025-01.yaml").write_text(OTHER_SPEC.replace("code: CS2025-01", "code: CS25-1"), "utf-8")
    with pytest.raises(SpecError) as e:
        load_specs(root)
    assert "项目编号 “CS25-1” 不符合计划“测试区2025年政府购买社会工作服务项目”的编号格式" in str(e.value)


def test_spec_of_no_programme_says_nothing_was_checked(tmp_path: Path) -> None:
    d = tmp_path / "loose"
    d.mkdir()
    (d / "X.yaml").write_text(OTHER_SPEC.replace("code: CS2025-01", "code: 2099Z001"), "utf-8")
    out = run_cli("spec", "validate", str(d))
    assert out.returncode == 0, out.stderr
    assert "未归属任何计划的规格" in out.stderr and "已核对：无" in out.stderr


def test_periods_funding_and_clause_labels() -> None:
    assert duration_months("1年") == 12 and duration_months("18个月") == 18 and duration_months("一年") == 12
    assert duration_months("1.5年") == 18 and duration_months("两年") == 24 and duration_months("十二个月") == 12
    assert duration_months("很久") is None
    assert add_months(dt.date(2025, 3, 1), 12) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2024, 6, 1), 10) == dt.date(2025, 3, 31)
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 27)  # to 28 Feb, not 31 Feb

    def errs(text: str) -> str:
        spec, problems = parse_spec_text(text, "x.yaml")
        assert spec is None
        return "\n".join(map(str, problems))

    assert "无法识别服务期 “很久”" in errs(OTHER_SPEC.replace("duration: 1年", "duration: 很久"))
    assert "与服务期 1年（至 2026-02-28）不一致" in errs(
        OTHER_SPEC.replace("duration: 1年", "duration: 1年, end: 2026-03-31"))
    assert "分级条款号须加引号" in errs(OTHER_SPEC.replace('clause: "5.1"', "clause: 5.1"))
    assert "basis 为 amount 或 cap 时必须给出 amount_wan" in errs(
        OTHER_SPEC.replace("funding: {basis: unknown}", "funding: {basis: cap}"))
    spec, problems = parse_spec_text(OTHER_SPEC.replace("funding: {basis: unknown}",
                                                        "funding: {amount_wan: 28.5, basis: cap}"))
    assert problems == [] and spec is not None and spec.project.funding.amount_wan == 28.5


def test_2024_export_keeps_the_contract_shape_exactly() -> None:
    out = run_cli("spec", "export", "--format", "json", "--project", "2024B004E")
    rows = json.loads(out.stdout)
    assert all("clause_label" not in r and "draft" not in r for r in rows)
    assert [r["clause"] for r in rows] == [1, 1, 2, 2, 2, 3, 3, 4, 5]


def test_a_release_table_beside_the_programme_wins_else_the_shipped_one(tmp_path: Path) -> None:
    """``path`` names a file relative to programme.yaml; when it is not there, the table of that file
    name shipped with tracker is read; a name tracker does not ship stays the named (missing) path, and
    validation says which file is missing."""
    from tracker.config import RELEASE_TABLES_DIR

    shipped = RELEASE_TABLES_DIR / "2024-hangzhou.txt"
    prog = tmp_path / "programme.yaml"
    prog.write_text(OTHER_PROGRAMME + "release_tables:\n  - {path: 2024-hangzhou.txt, format: hangzhou-2024}\n"
                    "  - {path: tables/own.txt}\n", "utf-8")
    (tmp_path / "CS2025-01.yaml").write_text(OTHER_SPEC, "utf-8")
    paths = [p for p, _ in read_programme(prog).release_table_paths()]
    assert paths == [shipped, (tmp_path / "tables" / "own.txt").resolve()]
    with pytest.raises(TrackerError) as e:
        load_specs(tmp_path)
    assert f"发布表 {(tmp_path / 'tables' / 'own.txt').resolve()} 不存在" in str(e.value)
    (tmp_path / "2024-hangzhou.txt").write_text("x", "utf-8")  # the programme's own copy is read instead
    assert read_programme(prog).release_table_paths()[0][0] == (tmp_path / "2024-hangzhou.txt").resolve()
