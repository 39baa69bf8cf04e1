"""Vocabularies: towns and districts against the project's area (the gazetteer), the five-level
satisfaction scale and score-only surveys, the usual spellings of levels; figures counted by hand."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, SPECS, write_csv

from tracker.kpispec.loader import parse_spec_text
from tracker.measure.progress import compute_progress
from tracker.records import import_file
from tracker.records.gazetteer import area_vocab, gazetteer
from tracker.records.template import write_template
from tracker.workspace import open_workspace

AS_OF = dt.date(2025, 1, 10)

EXTRA = """
  - clause: 3
    text: 覆盖乡镇街道
    kpis:
      - {key: towns, kind: distinct, label: 覆盖乡镇街道数, where: {types: [training]}, field: town, target: 6, unit: 个}
      - {key: towns_listed, kind: coverage, label: 指定乡镇覆盖, where: {types: [training]}, field: town,
         members: [乾潭镇, 梅城镇, 寿昌镇, 新安江街道, 下涯镇, 大同镇, 李家镇], target: 7, unit: 个}
  - clause: 4
    text: 服务对象满意度不低于80%
    kpis:
      - {key: satisfaction, kind: rate, measure: satisfaction, label: 满意度, target: 80, unit: "%"}
  - clause: 5
    text: 在市级以上媒体发表调研报告
    kpis:
      - {key: city_reports, kind: count, source: deliverable, label: 市级以上报告,
         where: {types: [report], level_at_least: 市级以上}, target: 3, unit: 篇}
"""


def _spec_dir(tmp_path: Path, satisfaction: str = "") -> Path:
    d = tmp_path / "specs"
    d.mkdir(parents=True, exist_ok=True)
    text = (SPECS / "B901.yaml").read_text("utf-8") + EXTRA
    if satisfaction:
        text = text.replace("\nclauses:\n", f"\nsatisfaction: {satisfaction}\n\nclauses:\n", 1)
    (d / "B901.yaml").write_text(text, "utf-8")
    return d


@pytest.fixture
def env_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))


def _kpis(ws, as_of: dt.date = AS_OF) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {k.key: k for k in compute_progress(ws, CODE, as_of).kpis}


TRAININGS = ["乾潭", "乾潭镇", "梅城 镇", "建德市梅城镇", "梅城镇", "寿昌", "寿昌镇", "新安江街道",
             "杭州市建德市下涯镇", "大同镇"]


def test_town_spellings_count_as_one_town(db_url: str, tmp_path: Path, env_key: None) -> None:
    """Ten trainings in ten spellings of six towns: 乾潭镇 ×2, 梅城镇 ×3, 寿昌镇 ×2, 新安江街道,
    下涯镇, 大同镇. Distinct towns 6 (not 10); of the seven listed towns all but 李家镇 are covered."""
    ws = open_workspace(db_url, _spec_dir(tmp_path))
    rows = [["日期", "活动类型", "参与人数", "乡镇街道"]]
    rows += [[f"2024-07-{i + 1:02d}", "培训", 10, t] for i, t in enumerate(TRAININGS)]
    r = import_file(ws, write_csv(tmp_path / "t.csv", rows), CODE)
    assert (r.imported, r.invalid_rows) == (10, 0), r.invalid
    k = _kpis(ws)
    assert k["towns"].actual == 6  # type: ignore[attr-defined]
    cov = k["towns_listed"]
    assert cov.actual == 6 and cov.detail["uncovered"] == ["李家镇"]  # type: ignore[attr-defined]
    assert cov.detail["counts"]["梅城镇"] == 3 and cov.detail["counts"]["乾潭镇"] == 2  # type: ignore[attr-defined]


def test_unknown_or_foreign_towns_are_errors_with_suggestions(db_url: str, tmp_path: Path, env_key: None) -> None:
    ws = open_workspace(db_url, _spec_dir(tmp_path))
    rows = [["日期", "活动类型", "参与人数", "乡镇街道", "区县"],
            ["2024-07-01", "培训", 10, "乾谭镇", "建德市"],
            ["2024-07-02", "培训", 10, "千岛湖镇", ""],
            ["2024-07-03", "培训", 10, "乾潭", "淳安县"],
            ["2024-07-04", "培训", 10, "寿昌", "建得市"],
            ["2024-07-05", "培训", 10, "梅城", "建德"]]
    r = import_file(ws, write_csv(tmp_path / "t.csv", rows), CODE)
    assert r.imported == 0 and r.invalid_rows == 4 and not r.committed
    got = {(e.row, e.column): e.message for e in r.invalid}
    assert "是否想写 “乾潭镇”" in got[(2, "乡镇街道")]
    assert "淳安县千岛湖镇，不在项目实施区域（建德市）内" in got[(3, "乡镇街道")]
    assert "不在项目实施区域（建德市）内" in got[(4, "区县")]
    assert "是否想写 “建德市”" in got[(5, "区县")]
    assert (6, "乡镇街道") not in got and (6, "区县") not in got  # 梅城 → 梅城镇, 建德 → 建德市


def test_gazetteer_is_one_file_with_the_thirteen_districts() -> None:
    g = gazetteer()
    assert len([d for d in g.districts if d != "西湖风景名胜区"]) == 13
    assert len(g.districts["建德市"].towns) == 16 and "乾潭镇" in g.districts["建德市"].towns
    assert area_vocab(("市域范围内",)).districts == tuple(g.districts)
    jd = area_vocab(("建德市",))
    assert jd.town("建德市 乾潭镇") == ("乾潭镇", None) and jd.town("梅城") == ("梅城镇", None)
    assert area_vocab(("西湖区",)).town("西湖街道") == ("西湖街道", None)  # run by the scenic area
    outside = area_vocab(("测试县",))
    assert not outside.known and outside.town("甲 镇") == ("甲镇", None)  # outside Hangzhou: cleaned only


def test_template_offers_the_area_towns_as_a_dropdown(tmp_path: Path) -> None:
    spec, problems = parse_spec_text((SPECS / "B901.yaml").read_text("utf-8"))
    assert spec is not None, problems
    out = write_template(spec, "activity", tmp_path / "t.xlsx")
    wb = load_workbook(out)
    sheet = wb.worksheets[0]
    headers = [c.value for c in sheet[1]]
    letter = sheet.cell(row=1, column=headers.index("乡镇街道") + 1).column_letter
    dv = [d for d in sheet.data_validations.dataValidation if str(d.sqref).startswith(f"{letter}2:")]
    assert len(dv) == 1 and dv[0].type == "list"
    ref = dv[0].formula1.split("!")[1].replace("$", "")
    options = [c.value for row in wb["选项"][ref] for c in row]
    assert options == list(gazetteer().districts["建德市"].towns)
    assert sheet.cell(row=2, column=headers.index("乡镇街道") + 1).value == "新安江街道"  # the example row


SURVEY = ["日期", "调查对象类型", "是否满意"]
ANSWERS = ["非常满意"] * 3 + ["满意"] * 4 + ["基本满意"] * 2 + ["不满意", "非常不满意", "很满意"]


def _survey(tmp_path: Path, cells: list[str], header: str = "是否满意") -> Path:
    rows = [["日期", "调查对象类型", header]] + [[f"2024-08-{i + 1:02d}", "服务对象", c] for i, c in enumerate(cells)]
    return write_csv(tmp_path / f"s{len(cells)}.csv", rows)


def test_five_level_answers_default_mapping(db_url: str, tmp_path: Path, env_key: None) -> None:
    """12 answers: 非常满意 3 + 满意 4 + 基本满意 2 + 很满意 (= 非常满意) 1 satisfied = 10 → 83.33 %."""
    ws = open_workspace(db_url, _spec_dir(tmp_path))
    r = import_file(ws, _survey(tmp_path, ANSWERS), CODE)
    assert (r.imported, r.invalid_rows) == (12, 0), r.invalid
    k = _kpis(ws)["satisfaction"]
    assert k.detail["numerator"] == 10 and k.detail["denominator"] == 12  # type: ignore[attr-defined]
    assert k.actual == pytest.approx(100 * 10 / 12)  # type: ignore[attr-defined]


def test_five_level_mapping_set_in_the_spec(db_url: str, tmp_path: Path, env_key: None) -> None:
    """Only 非常满意 and 满意 count: 3 + 4 + 1 (很满意) = 8 of 12 → 66.67 %; an unknown answer is an error."""
    ws = open_workspace(db_url, _spec_dir(tmp_path, "{satisfied: [非常满意, 满意]}"))
    bad = import_file(ws, _survey(tmp_path, [*ANSWERS[:2], "还行吧"]), CODE)
    assert bad.imported == 0 and "是否满意“还行吧”无效，可选：非常满意、满意、基本满意、不满意、非常不满意" in str(bad.invalid[0])
    r = import_file(ws, _survey(tmp_path, ANSWERS), CODE)
    assert r.imported == 12
    k = _kpis(ws)["satisfaction"]
    assert (k.detail["numerator"], k.detail["denominator"]) == (8, 12)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("conf", "scores", "num"), [
    ("{score_threshold: 80, score_max: 100}", ["95", "80", "79.5", "60", "100", "85"], 4),  # ≥ 80 of 100
    ("{score_threshold: 4, score_max: 5}", ["5", "4", "3", "4.5", "2"], 3),  # ≥ 4 of 5
])
def test_score_only_survey_with_declared_threshold(db_url: str, tmp_path: Path, env_key: None, conf: str,
                                                   scores: list[str], num: int) -> None:
    ws = open_workspace(db_url, _spec_dir(tmp_path, conf))
    r = import_file(ws, _survey(tmp_path, scores, header="满意度得分"), CODE)
    assert (r.imported, r.invalid_rows) == (len(scores), 0), r.invalid
    k = _kpis(ws)["satisfaction"]
    assert (k.detail["numerator"], k.detail["denominator"]) == (num, len(scores))  # type: ignore[attr-defined]
    assert k.actual == pytest.approx(100 * num / len(scores))  # type: ignore[attr-defined]


def test_score_only_survey_without_threshold_or_above_full_mark(db_url: str, tmp_path: Path, env_key: None) -> None:
    ws = open_workspace(db_url, _spec_dir(tmp_path))
    r = import_file(ws, _survey(tmp_path, ["90", "70"], header="评分"), CODE)
    assert r.imported == 0 and r.invalid_rows == 2
    assert "satisfaction.score_threshold" in r.invalid[0].message
    ws2 = open_workspace(db_url, _spec_dir(tmp_path / "b", "{score_threshold: 4, score_max: 5}"))
    r = import_file(ws2, _survey(tmp_path, ["4", "6"], header="评分"), CODE)
    assert r.imported == 0 and [str(e) for e in r.invalid] == ["第3行 [评分] 评分超过满分 5（规格 satisfaction.score_max）"]


def test_spec_refuses_an_unknown_satisfied_answer(tmp_path: Path) -> None:
    spec, problems = parse_spec_text((_spec_dir(tmp_path, "{satisfied: [超满意]}") / "B901.yaml").read_text("utf-8"))
    assert spec is None and any("不是五级量表的答案" in str(p) for p in problems)


def test_level_spellings_and_the_at_least_filter(db_url: str, tmp_path: Path, env_key: None) -> None:
    """Reports at 区县级, 区级, 市级, 省级, 全国 → 区县, 区县, 市级, 省级, 国家级: 市级以上 counts 3."""
    ws = open_workspace(db_url, _spec_dir(tmp_path))
    assert ws.spec(CODE).clauses[4].kpis[0].where.level_at_least == "市级"  # written 市级以上 in the spec
    rows = [["日期", "成果类型", "标题", "级别"]]
    levels = ["区县级", "区级", "市级", "省级", "全国"]
    rows += [[f"2024-09-{i + 1:02d}", "调研报告", f"报告{i}", lv] for i, lv in enumerate(levels)]
    r = import_file(ws, write_csv(tmp_path / "d.csv", rows), CODE)
    assert (r.imported, r.invalid_rows) == (5, 0), r.invalid
    assert _kpis(ws)["city_reports"].actual == 3  # type: ignore[attr-defined]
    bad = import_file(ws, write_csv(tmp_path / "d2.csv", [rows[0], ["2024-09-20", "调研报告", "又一篇", "市级以上"],
                                                        ["2024-09-21", "调研报告", "再一篇", "乡级"]]), CODE)
    assert bad.imported == 0
    msgs = [e.message for e in bad.invalid]
    assert "不是一个级别，而是筛选条件" in msgs[0] and "level_at_least: 市级" in msgs[0]
    assert msgs[1].startswith("级别“乡级”无效，可选：区县、市级、省级、国家级")

