"""XLSX files read the same way by both readers: python-calamine (sheets up to
``CALAMINE_MAX_XML``) and openpyxl's streaming reader (larger sheets)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, counts

from tracker.db.models import Activity
from tracker.errors import TrackerError
from tracker.records import import_file, reader


@pytest.fixture
def ws(roster_ws):  # type: ignore[no-untyped-def]
    return roster_ws


@pytest.fixture(params=["calamine", "openpyxl"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "openpyxl":
        monkeypatch.setattr(reader, "CALAMINE_MAX_XML", 0)  # every workbook counts as large
    return str(request.param)


def _workbook(path: Path) -> Path:
    """A hidden sheet first; on the visible one a title in B2, the header in row 4 from column B,
    real date cells, a date with a time, numbers as numbers, an empty row, a float-mangled ID."""
    wb = Workbook()
    hidden = wb.active
    hidden.title = "旧表"
    hidden.append(["日期", "活动类型", "参与人数"])
    hidden.append([dt.date(2024, 7, 9), "培训", 99])
    hidden.sheet_state = "hidden"
    sh = wb.create_sheet("活动记录")
    sh["B2"] = "2024年7月活动记录（杭州某社会组织）"
    rows = [
        ["日期", "活动类型", "服务对象编号", "参与人数", "时长（小时）", "备注"],
        [dt.date(2024, 7, 1), "培训", None, 12, 1.5, "第一场"],
        [dt.datetime(2024, 7, 2, 9, 30), "上门探访", "P001", None, 1, None],
        [None, None, None, None, None, None],
        ["2024/7/3", "培训", "", 8.0, 2, "文本日期"],
        [dt.date(2024, 7, 4), "上门探访", 3.30106195e17, None, 1, "编号被转成数字"],
        [dt.date(2024, 7, 5), "培训", None, 2.5, 1, "人数不是整数"],
    ]
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            sh.cell(row=4 + i, column=2 + j, value=v)
    wb.save(path)
    return path


def test_both_readers_find_the_sheet_header_rows_and_values(ws, tmp_path: Path, engine: str) -> None:
    path = _workbook(tmp_path / "活动.xlsx")
    src = reader.open_source(path)
    assert (src.engine, src.sheet, src.header_row) == (engine, "活动记录", 4)
    # both count columns from A, so the error file keeps the sheet's layout
    assert src.headers == ["", "日期", "活动类型", "服务对象编号", "参与人数", "时长（小时）", "备注"]

    before = counts(ws)
    r = import_file(ws, path, CODE)
    assert not r.committed and counts(ws) == before
    assert [str(e) for e in r.invalid] == [
        "第9行 [服务对象编号] 服务对象编号“3.30106195e+17”被 Excel 转成了科学计数法，位数已丢失：请把该列设为“文本”格式后重新填写",
        "第10行 [参与人数] 必须是整数（填写的是 2.5）",
    ]
    r = import_file(ws, path, CODE, skip_invalid=True)
    assert r.committed and (r.imported, r.invalid_rows, r.rows_total) == (3, 2, 5)
    with ws.session() as s:
        got = s.execute(select(Activity.source_row, Activity.date, Activity.activity_type, Activity.person_id,
                               Activity.participants, Activity.hours, Activity.notes)
                        .order_by(Activity.source_row)).all()
    assert [tuple(g) for g in got] == [
        (5, dt.date(2024, 7, 1), "training", None, 12, 1.5, "第一场"),
        (6, dt.date(2024, 7, 2), "home_visit", "P001", None, 1.0, None),
        (8, dt.date(2024, 7, 3), "training", None, 8, 2.0, "文本日期"),
    ]


def test_a_broken_workbook_is_a_clear_error(ws, tmp_path: Path) -> None:
    """Caught when the archive is opened, before either reader."""
    good = _workbook(tmp_path / "好.xlsx").read_bytes()
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(good[: len(good) // 2])  # cut in the middle, as a failed download would
    with pytest.raises(TrackerError) as e:
        import_file(ws, bad, CODE)
    assert "无法读取 Excel 文件 坏.xlsx" in e.value.message


def test_a_workbook_with_only_hidden_or_empty_sheets_is_empty(ws, tmp_path: Path, engine: str) -> None:
    wb = Workbook()
    wb.active.title = "空表"
    h = wb.create_sheet("隐藏")
    h.append(["日期", "活动类型"])
    h.sheet_state = "hidden"
    wb.save(tmp_path / "空.xlsx")
    with pytest.raises(TrackerError) as e:
        import_file(ws, tmp_path / "空.xlsx", CODE)
    assert "为空" in e.value.message
