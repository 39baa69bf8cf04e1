"""Workbooks as NGO staff keep them: a sheet per month, a 统计 sheet, merged title rows, two-row
headers, 序号, 合计 and 制表人 footer lines, hidden and struck-through rows, dates without a year.

Every figure is counted by hand from the rows written here."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, counts

from tracker.db.models import Activity, ImportBatch
from tracker.errors import TrackerError
from tracker.records import import_file

HEAD = ["序号", "日期", "活动类型", "服务对象编号", "工作人员", "备注"]
# the project period is 2024-06-01 … 2025-03-31: ten months, June to March
MONTHS = [(2024, m) for m in range(6, 13)] + [(2025, m) for m in range(1, 4)]


def month_sheet(wb: Workbook, title: str, year: int, month: int, n: int, *, first: bool = False):  # type: ignore[no-untyped-def]
    """A month as staff keep it: a merged title row, the header, n visits numbered by 序号, a 合计
    line, a blank row that only has a border, a 制表人/审核人 line."""
    sh = wb.active if first else wb.create_sheet()
    sh.title = title
    sh.append([f"{year}年{month}月上门探访服务台账"])
    sh.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEAD))
    sh.append(HEAD)
    for d in range(1, n + 1):
        sh.append([d, dt.date(year, month, d), "上门探访", "P001" if d % 2 else "P002", "社工甲", ""])
    if n:
        sh.append(["合计", None, None, None, None, f"{n}次"])
        sh.append([])
        sh.cell(row=sh.max_row + 1, column=2).font = Font(bold=True)  # blank but formatted
        sh.append([None, "制表人：张三", None, "审核人：李四", None, None])
    return sh


def visits(ws) -> int:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        return s.execute(select(func.count()).select_from(Activity).where(Activity.retired_at.is_(None))).scalar_one()


def test_twelve_monthly_sheets_and_a_statistics_sheet(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    wb = Workbook()
    # ten months with 1, 2, …, 10 visits (55 in all), then April and May with a header only
    for i, (y, m) in enumerate(MONTHS):
        month_sheet(wb, f"{m}月", y, m, i + 1, first=i == 0)
    month_sheet(wb, "4月", 2025, 4, 0)
    month_sheet(wb, "5月", 2025, 5, 0)
    stats = wb.create_sheet("统计")
    stats.append(["月份", "次数"])
    for i, (_, m) in enumerate(MONTHS):
        stats.append([f"{m}月", i + 1])
    # quirks: a hidden row in 7月 (its 2nd visit, file row 4), a struck-through row in 8月 (row 5),
    # a date written without a year in 9月 (row 3: 9月1日 → 2024-09-01)
    wb["7月"].row_dimensions[4].hidden = True
    for c in wb["8月"][5]:
        c.font = Font(strike=True)
    wb["9月"]["B3"] = "9月1日"
    f = tmp_path / "2024年度上门探访台账.xlsx"
    wb.save(f)

    r = import_file(ws, f, CODE)
    assert (r.kind, r.imported, r.invalid_rows, r.footer_rows) == ("activity", 55, 0, 20)
    assert visits(ws) == 55
    read = [s for s in r.sheets if not s.skipped]
    assert [(s.name, s.header_row, s.rows, s.new) for s in read] == [
        *[(f"{m}月", 2, i + 1, i + 1) for i, (_, m) in enumerate(MONTHS)], ("4月", 2, 0, 0), ("5月", 2, 0, 0)]
    # 6月 has one visit (row 3): 合计 on row 4, the 制表人 line on row 6 (row 5 is blank)
    assert read[0].footers == [4, 6]
    assert read[1].hidden == [4] and read[2].struck == [5] and read[0].hidden == read[0].struck == []
    [skipped] = [s for s in r.sheets if s.skipped]
    assert skipped.name == "统计" and "没有可识别的列" in skipped.skipped
    lines = r.sheet_lines()
    assert lines[0] == "工作表“6月”（表头在第2行）：1 行，新增 1 条，未变化 0 条；跳过表尾的合计、签字等行 2 行（第4、6行）"
    assert "隐藏的行 1 行已导入（第4行）" in lines[1] and "有删除线的行 1 行已导入（第5行）" in lines[2]
    assert lines[-1].startswith("工作表“统计”未导入：")
    assert "跳过表尾的合计、签字等行 20 行" in r.summary()
    with ws.session() as s:
        # each sheet's rows keep their own row numbers; the batch names every sheet read
        assert s.execute(select(Activity.source_row).where(Activity.date == dt.date(2025, 3, 10))).scalar_one() == 12
        assert s.execute(select(Activity.date).where(Activity.date.between(dt.date(2024, 9, 1), dt.date(2024, 9, 1)))
                         ).scalar_one() == dt.date(2024, 9, 1)
        b = s.get(ImportBatch, r.batch_id)
        assert b.sheets[:3] == ["6月", "7月", "8月"] and len(b.sheets) == 12
        dates = s.execute(select(Activity.date)).scalars().all()
    per_month: dict[str, int] = {}
    for d in dates:
        per_month[f"{d.month:02d}"] = per_month.get(f"{d.month:02d}", 0) + 1
    assert per_month == {f"{m:02d}": i + 1 for i, (_, m) in enumerate(MONTHS)}

    # the same workbook again: all 55 unchanged, nothing new
    again = import_file(ws, f, CODE)
    assert (again.imported, again.unchanged) == (0, 55) and visits(ws) == 55

    # --sheet picks some (repeated or a comma list): 6月 and 7月 hold 1 + 2 visits
    dry = import_file(ws, f, CODE, dry_run=True, sheet=["6月,7月"])
    assert [s.name for s in dry.sheets] == ["6月", "7月"] and dry.unchanged == 3
    with pytest.raises(TrackerError, match="没有工作表“13月”"):
        import_file(ws, f, CODE, sheet=["13月"])
    with pytest.raises(TrackerError, match=r"无法从表头判断记录类型：文件 .*（工作表 统计）"):
        import_file(ws, f, CODE, sheet=["统计"])


def test_an_error_on_a_later_sheet_names_the_sheet(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    wb = Workbook()
    month_sheet(wb, "6月", 2024, 6, 2, first=True)
    month_sheet(wb, "7月", 2024, 7, 3)
    wb["7月"]["D4"] = "P999"  # not in the roster
    f = tmp_path / "台账.xlsx"
    wb.save(f)
    before = counts(ws)
    r = import_file(ws, f, CODE)
    assert r.invalid_rows == 1 and not r.committed and counts(ws) == before
    assert str(r.invalid[0]).startswith("工作表“7月”第4行 [服务对象编号]")
    # the error file: both sheets' rows in one sheet, 原行号 saying which sheet
    from openpyxl import load_workbook
    rows = list(load_workbook(r.error_file).worksheets[0].iter_rows(values_only=True))
    head = list(rows[0])
    at = head.index("原行号")
    labels = [x[at] for x in rows[1:]]
    data = [x for x in labels if x in {"工作表“6月”第3行", "工作表“6月”第4行", "工作表“7月”第3行", "工作表“7月”第4行",
                                        "工作表“7月”第5行"}]
    assert len(data) == 5 and labels.index("工作表“7月”第3行") > labels.index("工作表“6月”第4行")
    msgs = {x[at]: x[head.index("错误说明")] for x in rows[1:]}
    assert "P999" in msgs["工作表“7月”第4行"] and not msgs["工作表“7月”第3行"]
    # the 合计 and 制表人 lines are kept as the user wrote them (skipped again when it is imported)
    assert sum(1 for x in rows[1:] if x[0] == "合计") == 2


def test_two_row_merged_header(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A title row, then 服务对象 merged over 编号 | 姓名 and 序号/日期/活动类型 merged down two rows."""
    ws = roster_ws
    wb = Workbook()
    sh = wb.active
    sh.append(["上门探访记录"])
    sh.merge_cells("A1:F1")
    sh.append(["序号", "日期", "活动类型", "服务对象", None, "备注"])
    sh.append([None, None, None, "编号", "姓名", None])
    for col in "ABCF":
        sh.merge_cells(f"{col}2:{col}3")
    sh.merge_cells("D2:E2")
    sh.append([1, dt.date(2024, 7, 1), "上门探访", "P001", "张三", ""])
    sh.append([2, dt.date(2024, 7, 2), "上门探访", "P002", "李四", "复访"])
    sh.append(["合计", None, None, None, None, None])
    wb.save(tmp_path / "two.xlsx")
    r = import_file(ws, tmp_path / "two.xlsx", CODE)
    assert (r.imported, r.invalid_rows, r.footer_rows) == (2, 0, 1)
    assert r.sheets[0].header_row == 3
    with ws.session() as s:
        assert sorted(s.execute(select(Activity.person_id)).scalars()) == ["P001", "P002"]


def test_a_date_without_a_year_takes_the_project_year(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws  # project period 2024-06-01 … 2025-03-31
    wb = Workbook()
    sh = wb.active
    sh.append(["日期", "活动类型", "服务对象编号"])
    sh.append(["7月3日", "上门探访", "P001"])  # 2024 (July 2025 is after the period)
    sh.append(["1/5", "上门探访", "P001"])  # 2025 (January 2024 is before it)
    sh.append(["4月1日", "上门探访", "P001"])  # neither year falls inside the period
    wb.save(tmp_path / "a.xlsx")
    before = counts(ws)
    r = import_file(ws, tmp_path / "a.xlsx", CODE)
    assert [(e.row, e.column) for e in r.invalid] == [(4, "日期")] and counts(ws) == before
    assert "没有写年份，且项目周期（2024-06-01 至 2025-03-31）内没有4月1日" in r.invalid[0].message
    r = import_file(ws, tmp_path / "a.xlsx", CODE, skip_invalid=True)
    assert r.imported == 2
    with ws.session() as s:
        assert sorted(s.execute(select(Activity.date)).scalars()) == [dt.date(2024, 7, 3), dt.date(2025, 1, 5)]


def test_text_named_xlsx_and_an_old_xls(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    fake = tmp_path / "台账.xlsx"
    fake.write_text("日期,活动类型,服务对象编号\n2024-07-01,上门探访,P001\n", encoding="utf-8")
    with pytest.raises(TrackerError, match=r"台账.xlsx 不是 Excel 文件：.*文本文件.*另存为“Excel 工作簿（.xlsx）”"):
        import_file(ws, fake, CODE)
    old = tmp_path / "旧台账.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    with pytest.raises(TrackerError, match=r"旧版 Excel（.xls）.*另存为 .xlsx"):
        import_file(ws, old, CODE)
