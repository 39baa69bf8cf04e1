"""Hidden and struck-through rows are found in the sheet XML by a scan of its text
(``reader._marks``), with the same answer as reading it element by element (``_marks_parsed``):
on workbooks openpyxl writes and on XML written the ways other programs write it (a namespace
prefix, single quotes, self-closing rows and cells, hidden columns, cells without a style)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from tracker.records.reader import _marks, _marks_parsed

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _both(xml: bytes, header_row: int, struck: set[int]) -> tuple[list[int], list[int]]:
    fast = _marks(xml, header_row, struck)
    assert fast == _marks_parsed(io.BytesIO(xml), header_row, struck)
    return fast


def test_a_workbook_written_by_openpyxl(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["日期", "活动类型", "备注"])
    for i in range(30):
        ws.append(["2024-07-01", "培训", "x" if i % 3 else None])
    for r in (3, 8, 20):
        ws.row_dimensions[r].hidden = True
    ws.row_dimensions[1].hidden = True  # the header row: not a data row
    ws.row_dimensions[40].hidden = True  # no cells
    ws.cell(5, 2).font = Font(strike=True)
    ws.cell(8, 3).font = Font(strike=True)  # 备注 of row 8 is empty (i = 6): not filled, not counted
    ws.cell(41, 1).font = Font(strike=True)  # a styled empty cell
    ws.column_dimensions["C"].hidden = True
    wb.save(tmp_path / "m.xlsx")
    with zipfile.ZipFile(tmp_path / "m.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    strike_style = {int(c.style_id) for c in (ws.cell(5, 2),)}  # the cell format openpyxl gave the struck font
    assert _both(xml, 1, strike_style) == ([3, 8, 20], [5])


def test_xml_as_other_programs_write_it() -> None:
    xml = f"""<?xml version="1.0"?>
<x:worksheet xmlns:x="{NS}"><x:cols><x:col min="1" max="1" hidden="1"/></x:cols><x:sheetData>
<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>日期</x:t></x:is></x:c></x:row>
<x:row r='2' hidden='1'><x:c r='A2' s='3'><x:v>1</x:v></x:c></x:row>
<x:row r="3" hidden="true" spans="1:2"/>
<x:row r="4" hidden="1"><x:c r="A4" s="3"/><x:c r="B4"></x:c></x:row>
<x:row r="5"><x:c r="A5"><x:v>2</x:v></x:c><x:c r="B5" s="3" t="s"><x:v>0</x:v></x:c></x:row>
<x:row r="6"><x:c r="A6" s="13"><x:v>2</x:v></x:c><x:c s="3"/></x:row>
<x:row r="7" hidden="0"><x:c r="A7" s="3"><x:f>1+1</x:f><x:v>2</x:v></x:c></x:row>
</x:sheetData></x:worksheet>""".encode()
    assert _both(xml, 1, {3}) == ([2], [2, 5, 7])
    assert _both(xml, 1, set()) == ([2], [])
    assert _both(xml, 2, {3, 13}) == ([], [5, 6, 7])
