"""Every bad input of issue #3 is rejected with the database unchanged and a message naming the row
and column (or, for a file-level problem, what is wrong with the file); --skip-invalid takes the rest."""

from __future__ import annotations

import csv
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, counts, id_number, write_csv, write_xlsx

from tracker.db.models import Activity, Person
from tracker.errors import TrackerError
from tracker.records import import_file, import_rows

ACT = ["记录编号", "日期", "活动类型", "服务对象编号", "参与人数"]


@pytest.fixture
def ws(roster_ws):  # type: ignore[no-untyped-def]
    return roster_ws


def _rejects(ws, path: Path, row: int, column: str, fragment: str, kind: str | None = None) -> None:  # type: ignore[no-untyped-def]
    before = counts(ws)
    r = import_file(ws, path, CODE, kind)
    assert not r.committed and r.imported == 0
    assert counts(ws) == before
    hits = [e for e in r.invalid if e.row == row and e.column == column and fragment in e.message]
    assert hits, [str(e) for e in r.invalid]
    assert str(hits[0]).startswith(f"第{row}行 [{column}] ")
    assert r.error_file is not None and r.error_file.exists()


def _file_error(ws, path: Path, fragment: str, kind: str | None = None) -> None:  # type: ignore[no-untyped-def]
    before = counts(ws)
    with pytest.raises(TrackerError) as e:
        import_file(ws, path, CODE, kind)
    assert fragment in e.value.message, e.value.message
    assert counts(ws) == before


CASES = {
    "date_not_a_date": ([["R1", "明天", "培训", "", "10"]], 2, "日期", "不是日期"),
    "date_impossible": ([["R1", "2024-02-30", "培训", "", "10"]], 2, "日期", "不是真实存在的日期"),
    "date_future": ([["R1", "2099-01-01", "培训", "", "10"]], 2, "日期", "晚于今天"),
    "date_before_period": ([["R1", "2024-05-31", "培训", "", "10"]], 2, "日期", "不在项目周期"),
    "date_after_period": ([["R1", "2025-04-01", "培训", "", "10"]], 2, "日期", "不在项目周期"),
    "undeclared_type": ([["R1", "2024-07-01", "广场舞", "", "10"]], 2, "活动类型", "不在项目 2099B901 的规格中"),
    "not_on_roster": ([["R1", "2024-07-01", "上门探访", "P999", ""]], 2, "服务对象编号", "不在项目 2099B901 的服务对象名册中"),
    "wrong_population": ([["R1", "2024-07-01", "上门探访", "P003", ""]], 2, "服务对象编号", "不属于"),
    "person_missing": ([["R1", "2024-07-01", "上门探访", "", ""]], 2, "服务对象编号", "必须填写服务对象编号"),
    "participants_missing": ([["R1", "2024-07-01", "培训", "", ""]], 2, "参与人数", "必须填写参与人数"),
    "negative_count": ([["R1", "2024-07-01", "培训", "", "-3"]], 2, "参与人数", "不能为负数"),
    "fractional_count": ([["R1", "2024-07-01", "培训", "", "2.5"]], 2, "参与人数", "必须是整数"),
    "text_count": ([["R1", "2024-07-01", "培训", "", "三十人"]], 2, "参与人数", "不是数字"),
    "infinite_count": ([["R1", "2024-07-01", "培训", "", "inf"]], 2, "参与人数", "不是有限的数字"),
    "year_zero": ([["R1", "0000-01-01", "培训", "", "10"]], 2, "日期", "不是合理的日期"),
    "duplicate_rows": ([["", "2024-07-01", "培训", "", "10"], ["", "2024-07-02", "培训", "", "9"],
                        ["", "2024-07-01", "培训", "", "10"]], 4, "整行", "与第2行重复"),
    "record_id_reused_in_file": ([["R1", "2024-07-01", "培训", "", "10"], ["R1", "2024-07-01", "培训", "", "11"]],
                                 3, "记录编号", "与第2行相同，但内容不同"),
    "empty_required_type": ([["R1", "2024-07-01", "", "", "10"]], 2, "活动类型", "必填"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_bad_rows_rejected(ws, tmp_path: Path, case: str, fmt: str) -> None:
    rows, row, column, fragment = CASES[case]
    good = ["OK1", "2024-07-05", "上门探访", "P001", ""]
    writer = write_csv if fmt == "csv" else write_xlsx
    path = writer(tmp_path / f"{case}.{fmt}", [ACT, *rows, good])
    _rejects(ws, path, row, column, fragment)


def test_record_id_reused_against_database_amends_the_record(ws, tmp_path: Path) -> None:
    """A record id imported before with other content is the same record, changed: the import
    amends it (the old version stays in history) instead of adding a second one."""
    first = write_csv(tmp_path / "a.csv", [ACT, ["R7", "2024-07-01", "培训", "", "10"]])
    assert import_file(ws, first, CODE).imported == 1
    second = write_csv(tmp_path / "b.csv", [ACT, ["R7", "2024-07-01", "培训", "", "12"]])
    r = import_file(ws, second, CODE)
    assert (r.imported, r.changed, r.unchanged) == (0, 1, 0)
    assert [(c.label, c.old, c.new) for c in r.diff.changed_rows[0].changes] == [("参与人数", "10", "12")]
    assert (counts(ws)["activity"], counts(ws)["corrections"]) == (2, 1)  # the old version is kept, retired


def test_duplicate_rows_across_chunks(ws, tmp_path: Path) -> None:
    rows = [ACT] + [["", f"2024-07-{d:02d}", "培训", "", "10"] for d in range(1, 11)] + [["", "2024-07-03", "培训", "", "10"]]
    path = write_csv(tmp_path / "a.csv", rows)
    before = counts(ws)
    r = import_file(ws, path, CODE, chunk_size=4)
    assert [str(e) for e in r.invalid] == ["第12行 [整行] 与第4行重复"]
    assert counts(ws) == before


def test_bad_id_check_digit_and_float_mangled_id(ws, tmp_path: Path) -> None:
    good = id_number(birth="19470707", seq="063")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [ROSTER[0], ["P010", "钱七", wrong, "留守独居等困难老人", "", "", ""],
            ["P011", "孙八", "3.30106e+17", "留守独居等困难老人", "", "", ""],
            ["P012", "周九", good, "留守独居等困难老人", "", "", ""]]
    path = write_csv(tmp_path / "r.csv", rows)
    before = counts(ws)
    r = import_file(ws, path, CODE)
    msgs = [str(e) for e in r.invalid]
    assert msgs == ["第2行 [身份证号] 身份证号校验位错误，请核对号码",
                    "第3行 [身份证号] 身份证号被 Excel 转成了数字（科学计数法），末几位已丢失：请把该列设为“文本”格式后重新填写"]
    assert counts(ws) == before
    # no message carries the number in clear; the error file keeps the user's cells (to be corrected)
    # in clear, readable by its owner only, and its 错误说明 column names no number either
    assert all(wrong not in m and good not in m for m in msgs)
    with r.error_file.open(encoding="utf-8-sig", newline="") as f:
        got = list(csv.reader(f))
    assert [row[:3] for row in got[1:]] == [["P010", "钱七", wrong], ["P011", "孙八", "3.30106e+17"],
                                            ["P012", "周九", good]]
    assert all(wrong not in row[-1] and good not in row[-1] for row in got)
    assert stat.S_IMODE(r.error_file.stat().st_mode) == 0o600


def test_float_id_cell_in_xlsx_is_rejected(ws, tmp_path: Path) -> None:
    good = id_number(birth="19470707", seq="063")
    path = write_xlsx(tmp_path / "r.xlsx", [ROSTER[0], ["P012", "周九", float(good), "留守独居等困难老人", "", "", ""]])
    _rejects(ws, path, 2, "身份证号", "科学计数法")


def test_wrong_kind_and_missing_columns(ws, tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "roster2.csv", [ROSTER[0], ["P020", "吴十", "", "留守独居等困难老人", "", "", ""]])
    _file_error(ws, roster, "不是“活动记录”文件：缺少必填列 日期、活动类型；该文件看起来是“服务对象名册”，请使用 --kind roster",
                kind="activity")
    no_type = write_csv(tmp_path / "a.csv", [["日期", "服务对象编号"], ["2024-07-01", "P001"]])
    _file_error(ws, no_type, "缺少必填列 活动类型", kind="activity")
    _file_error(ws, no_type, "无法从表头判断记录类型")


def test_empty_files(ws, tmp_path: Path) -> None:
    (tmp_path / "zero.csv").write_bytes(b"")
    _file_error(ws, tmp_path / "zero.csv", "为空")
    header_only = write_csv(tmp_path / "h.csv", [ACT])
    _file_error(ws, header_only, "没有数据行")
    blank = write_xlsx(tmp_path / "blank.xlsx", [])
    _file_error(ws, blank, "为空")


def test_gbk_file_mislabelled_as_utf8(ws, tmp_path: Path) -> None:
    # a UTF-8 BOM in front of GBK bytes: the label lies, so nothing is guessed
    body = "\n".join(",".join(r) for r in [ACT, ["R1", "2024-07-01", "培训", "", "10"]]).encode("gbk")
    (tmp_path / "lie.csv").write_bytes(b"\xef\xbb\xbf" + body)
    _file_error(ws, tmp_path / "lie.csv", "文件编码与标记不符")
    # bytes that are neither UTF-8 nor GB18030
    (tmp_path / "bad.csv").write_bytes("日期,活动类型\n".encode() + b"\x81\x20\xff\xfe,x\n")
    _file_error(ws, tmp_path / "bad.csv", "编码无法识别")


def test_fifty_megabytes_of_garbage(ws, tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    with path.open("wb") as f:
        for _ in range(50):
            f.write(os.urandom(1 << 20))
    t = time.monotonic()
    _file_error(ws, path, "不是 CSV 或 Excel 表格")
    assert time.monotonic() - t < 30  # a guard against hanging, not a performance target
    renamed = path.rename(tmp_path / "garbage.xlsx")
    _file_error(ws, renamed, "不是 CSV 或 Excel 表格")
    zipped = tmp_path / "fake.xlsx"
    zipped.write_bytes(b"PK\x03\x04" + os.urandom(4096))
    _file_error(ws, zipped, "无法读取 Excel 文件")


def test_file_naming_another_project(ws, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["项目编号", *ACT], [CODE, "R1", "2024-07-01", "培训", "", "10"],
                                          ["2024B004E", "R2", "2024-07-02", "培训", "", "10"]])
    _rejects(ws, path, 3, "项目编号", "属于项目 2024B004E，与本次导入的项目 2099B901 不一致")


def test_unknown_project(ws, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [ACT, ["R1", "2024-07-01", "培训", "", "10"]])
    with pytest.raises(TrackerError, match="未找到项目"):
        import_file(ws, path, "2099B999")


def test_skip_invalid_imports_the_valid_rows(ws, tmp_path: Path) -> None:
    rows = [ACT, ["R1", "2024-07-01", "培训", "", "10"], ["R2", "2024-07-02", "培训", "", "-1"],
            ["R3", "2024-07-03", "上门探访", "P001", ""], ["R4", "2024-07-04", "上门探访", "P404", ""]]
    path = write_xlsx(tmp_path / "s.xlsx", rows)
    r = import_file(ws, path, CODE, skip_invalid=True)
    assert (r.imported, r.invalid_rows, r.committed) == (2, 2, True)
    with ws.session() as s:
        assert sorted(s.exec(select(Activity.record_id))) == ["R1", "R3"]
    # the error file is the input plus 错误说明, one message per bad row
    wb = load_workbook(r.error_file, read_only=True)
    got = [list(x) for x in wb.worksheets[0].iter_rows(values_only=True)]
    assert got[0] == [*ACT, "原行号", "错误说明"]
    assert [g[-2] for g in got[1:]] == [2, 3, 4, 5]
    assert [g[-1] for g in got[1:]] == [None, "[参与人数] 不能为负数（填写的是 -1）", None,
                                        "[服务对象编号] 服务对象编号“P404”不在项目 2099B901 的服务对象名册中（请先导入名册）"]
    # fixing the file and importing it again adds only the fixed rows
    fixed = write_csv(tmp_path / "fixed.csv", [ACT, *rows[1:2], ["R2", "2024-07-02", "培训", "", "1"], *rows[3:4],
                                                ["R4", "2024-07-04", "上门探访", "P002", ""]])
    r2 = import_file(ws, fixed, CODE)
    assert (r2.imported, r2.unchanged, r2.invalid_rows) == (2, 2, 0)


def test_error_file_path_and_csv_form(ws, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [ACT, ["R1", "2024-07-01", "培训", "", "x"]])
    out = tmp_path / "out" / "errors.csv"
    r = import_file(ws, path, CODE, error_file=out)
    assert r.error_file == out
    with out.open(encoding="utf-8-sig", newline="") as f:
        got = list(csv.reader(f))
    assert got == [[*ACT, "原行号", "错误说明"], ["R1", "2024-07-01", "培训", "", "x", "2", "[参与人数] “x”不是数字，请只填写数字"]]


def test_import_rows_rejects_the_same_way(ws) -> None:
    before = counts(ws)
    r = import_rows(ws, CODE, "activity", [{"日期": "2024-07-01", "活动类型": "培训", "参与人数": 5},
                                           {"日期": "2024-07-01", "活动类型": "上门探访", "服务对象编号": "nobody"}],
                    source_name="test")
    assert [str(e) for e in r.invalid] == [
        "第2行 [服务对象编号] 服务对象编号“nobody”不在项目 2099B901 的服务对象名册中（请先导入名册）"]
    assert counts(ws) == before
    with ws.session() as s:
        assert len(s.exec(select(Person)).all()) == 3


def test_exit_before_enrolment_is_rejected(ws, tmp_path: Path) -> None:
    """结案日期 before 建档日期 names the row and the column; an exit on or after enrolment imports."""
    head = ["服务对象编号", "姓名", "人群", "建档日期", "结案日期"]
    bad = write_csv(tmp_path / "exit.csv", [head, ["P030", "郑一", "留守独居等困难老人", "2024-08-01", "2024-07-31"]])
    _rejects(ws, bad, 2, "结案日期", "结案日期早于建档日期", kind="roster")
    good = write_csv(tmp_path / "exit_ok.csv", [head, ["P031", "郑二", "留守独居等困难老人", "2024-08-01", "2024-08-01"]])
    r = import_file(ws, good, CODE, "roster")
    assert r.committed and r.imported == 1
    with ws.session() as s:
        p = s.exec(select(Person).where(Person.person_id == "P031")).one()
    assert str(p.exit_on) == "2024-08-01"
