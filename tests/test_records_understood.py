"""Say what was understood: the import names the record kind, the sheet and header row, the columns
mapped to each field and those kept as extra attributes (with a "did you mean" for near misses);
an uncertain kind is refused, asking for --kind; mistyped options and commands get a suggestion."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, SPECS, counts, write_csv

from tracker.errors import TrackerError
from tracker.records import import_file


def test_the_summary_says_what_was_read(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    wb = Workbook()
    sh = wb.active
    sh.title = "七月"
    sh.append(["2024年7月活动台账"])
    sh.append(["序号", "日期", "活动类型", "参与人数", "小组名称", "个案名称", "时长"])
    sh.append([1, dt.date(2024, 7, 1), "培训", 12, "第一期", "甲", 2])
    wb.save(tmp_path / "七月.xlsx")
    r = import_file(ws, tmp_path / "七月.xlsx", CODE)
    assert r.imported == 1
    assert r.understood == [
        "记录类型：活动记录（按表头判断；如不对，请用 --kind 指定）",
        "工作表“七月”，表头在第2行",
        "识别的列：日期、活动类型、参与人数、小组名称、时长（小时）（列“时长”）",
        "未识别、作为附加信息保存的列：个案名称",
        "不读取的列：序号",
    ]


def test_near_misses_get_a_did_you_mean(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    f = write_csv(tmp_path / "名册.csv", [["服务对象编号", "姓名", "人群", "建档时间"], ["P010", "赵六", "老年人", "2024-06-05"]])
    r = import_file(ws, f, CODE, kind="roster", dry_run=True)
    assert r.understood[0] == "记录类型：服务对象名册（按 --kind 指定）"
    assert r.understood[1] == "表头在第1行"
    assert r.understood[3] == ("未识别、作为附加信息保存的列：建档时间（是否想写“建档日期”？）；"
                               "如是拼写不同，请把表头改为建议的列名后重新导入")


def test_a_group_name_headed_as_a_case_name(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = write_csv(tmp_path / "a.csv", [["日期", "活动类型", "服务对象编号", "个案名称"], ["2024-07-01", "上门探访", "P001", "甲"]])
    r = import_file(roster_ws, f, CODE, dry_run=True)
    assert r.imported == 1 and r.understood[-1].startswith("未识别、作为附加信息保存的列：个案名称（是否想写“小组名称”？）")


def test_a_survey_headed_like_a_roster_asks_for_the_kind(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """调查日期 is not a known column: by its other headers the file is a roster (服务对象编号, 姓名),
    but read as the survey's 日期 it is a survey. Nothing is guessed and nothing written."""
    ws = roster_ws
    rows = [["调查日期", "服务对象编号", "姓名", "是否满意"]] + [
        ["2024-07-01", f"S{i:03d}", f"受访者{i}", "是"] for i in range(1, 21)]
    f = write_csv(tmp_path / "满意度.csv", rows)
    before = counts(ws)
    with pytest.raises(TrackerError) as e:
        import_file(ws, f, CODE)
    msg = e.value.message
    assert "无法确定" in msg and "“调查日期”像是“日期”" in msg and "--kind survey" in msg and "--kind roster" in msg
    assert counts(ws) == before
    # told it is a survey: the near miss is named, nothing written
    with pytest.raises(TrackerError, match="列“调查日期”是否就是“日期”？请把表头改为“日期”"):
        import_file(ws, f, CODE, kind="survey")
    assert counts(ws) == before
    # renamed as suggested (and with the 调查对象类型 a survey needs): 20 answers, no person added
    rows = [["日期", "调查对象类型", *rows[0][1:]]] + [[r[0], "服务对象", *r[1:]] for r in rows[1:]]
    r = import_file(ws, write_csv(tmp_path / "满意度.csv", rows), CODE)
    assert (r.kind, r.imported) == ("survey", 20), r.invalid[:2]
    after = counts(ws)
    assert after["survey"] == before["survey"] + 20 and after["roster"] == before["roster"]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=env)


def test_mistyped_options_and_commands_are_chinese_with_a_suggestion(tmp_path: Path) -> None:
    env = {**os.environ, "TRACKER_DB_URL": f"sqlite:///{tmp_path / 't.db'}", "TRACKER_SPECS": str(SPECS)}
    p = _cli("import", "x.csv", "--project", CODE, "--dryrun", env=env)
    assert p.returncode == 2 and "没有选项 --dryrun（是否想写 “--dry-run”？）" in p.stderr and "--sheet" in p.stderr
    p = _cli("improt", "x.csv", env=env)
    assert p.returncode == 2 and "没有命令 “improt”（是否想写 “import”？）" in p.stderr
