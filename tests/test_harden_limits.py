"""Bounded work: each limit (tracker.limits) refuses a hostile input within seconds, with a Chinese
message, leaving nothing behind (no rows, no batch, no error or temporary file)."""

from __future__ import annotations

import sys
import time
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, counts, write_csv, write_xlsx

from tracker.errors import TrackerError
from tracker.kpispec.loader import parse_spec_text
from tracker.records import import_file, import_rows

ACT = ["记录编号", "日期", "活动类型", "参与人数", "备注"]


def _rows(n: int) -> list[list[object]]:
    return [ACT] + [[f"A{i}", "2024-07-01", "培训", 10, f"第{i}场"] for i in range(n)]


def _refused(ws, path: Path, match: str, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    before = counts(ws)
    files = sorted(p.name for p in path.parent.iterdir())
    t0 = time.monotonic()
    with pytest.raises(TrackerError, match=match):
        import_file(ws, path, CODE)
    assert time.monotonic() - t0 < seconds
    assert counts(ws) == before
    assert sorted(p.name for p in path.parent.iterdir()) == files  # no error file, no temporary file


def test_file_size_and_row_count(roster_ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "in"
    d.mkdir()
    big = write_csv(d / "big.csv", _rows(30_000))  # about 1 MB
    monkeypatch.setenv("TRACKER_MAX_FILE_MB", "1")
    assert big.stat().st_size > 1 << 20
    _refused(roster_ws, big, r"超过导入上限 1 MB：请把文件拆成几份分别导入")
    monkeypatch.delenv("TRACKER_MAX_FILE_MB")
    monkeypatch.setenv("TRACKER_MAX_ROWS", "1000")
    _refused(roster_ws, write_csv(d / "rows.csv", _rows(1001)), r"约有 1,001 行，超过一次导入的上限 1,000 行")
    _refused(roster_ws, write_xlsx(d / "rows.xlsx", _rows(1001)), r"约有 1,001 行，超过一次导入的上限 1,000 行")
    assert import_file(roster_ws, write_csv(d / "ok.csv", _rows(1000)), CODE).imported == 1000


def test_file_size_limit_must_be_a_number(roster_ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_MAX_FILE_MB", "很多")
    with pytest.raises(TrackerError, match="环境变量 TRACKER_MAX_FILE_MB 的值 “很多” 不是数字"):
        import_file(roster_ws, write_csv(tmp_path / "a.csv", _rows(2)), CODE)


def _bomb(path: Path, sheet_mb: int) -> Path:
    """A workbook whose sheet XML is ``sheet_mb`` MB of one repeated row (compresses about 1000:1)."""
    src = write_xlsx(path.with_name("seed.xlsx"), _rows(1))
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, tail = data.split(b"</sheetData>")
                row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
                with zout.open(item.filename, "w") as f:
                    f.write(head)
                    block = row * ((1 << 20) // len(row))
                    for _ in range(sheet_mb):
                        f.write(block)
                    f.write(b"</sheetData>" + tail)
            else:
                zout.writestr(item, data)
    src.unlink()
    return path


def test_workbook_bomb_is_refused_before_it_is_inflated(roster_ws, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "in"
    d.mkdir()
    bomb = _bomb(d / "bomb.xlsx", 64)
    assert bomb.stat().st_size < 1 << 20  # 64 MB of XML in well under 1 MB
    _refused(roster_ws, bomb, r"压缩比异常（[\d,]+ 倍，上限 200 倍），可能是恶意构造的文件", seconds=5)
    monkeypatch.setenv("TRACKER_MAX_XLSX_MB", "32")
    _refused(roster_ws, bomb, r"解压后有 64 MB，超过上限 32 MB", seconds=5)


def test_dtd_entities_in_a_workbook_are_refused(roster_ws, tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    src = write_xlsx(tmp_path / "seed.xlsx", _rows(3))
    evil = d / "dtd.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                dtd = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
                if data.startswith(b"<?xml"):
                    decl, rest = data.split(b"?>", 1)
                    data = decl + b"?>" + dtd + rest
                else:
                    data = dtd + data
            zout.writestr(item, data)
    _refused(roster_ws, evil, r"含有 DTD 声明（<!DOCTYPE/<!ENTITY）")


def test_long_cells_and_codes(roster_ws, tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    huge = "长" * 200_000
    # in the first lines (the header is read there) and further down
    _refused(roster_ws, write_csv(d / "head.csv", [ACT, ["A1", "2024-07-01", "培训", 10, huge]]),
             r"第2行 \[备注\] 的单元格有 200,000 个字符")
    rows = _rows(40)
    rows[30][4] = huge
    _refused(roster_ws, write_csv(d / "cell.csv", rows), r"第31行 \[备注\] 的单元格有 200,000 个字符，超过上限 32,767")
    rows = _rows(40)
    rows[30][0] = "R" * (1 << 20)  # a 1 MB 记录编号
    _refused(roster_ws, write_csv(d / "rid.csv", rows), r"第31行 \[记录编号\] 的单元格有 1,048,576 个字符")
    rows = _rows(3)
    rows[2][0] = "R" * 5000  # within the cell limit, but an index entry must fit a page
    before = counts(roster_ws)
    r = import_file(roster_ws, write_csv(d / "code.csv", rows), CODE)
    assert [e.message for e in r.invalid] == ["记录编号过长（5,000 个字符，上限 100）：编号应简短，如 P001、2024-0001"]
    assert r.invalid[0].row == 3 and counts(roster_ws) == before


def test_nul_bytes_are_refused(roster_ws, tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    p = write_csv(d / "nul.csv", _rows(5))
    data = p.read_bytes().replace("第3场".encode(), "第3\x00场".encode())
    p.write_bytes(data)
    _refused(roster_ws, p, r"nul.csv 第5行含有空字符（\\x00），无法导入")
    # rows that do not come from a file (tracker log, the web)
    before = counts(roster_ws)
    with pytest.raises(TrackerError, match=r"第1行 \[备注\] 含有空字符"):
        import_rows(roster_ws, CODE, "activity", [{"日期": "2024-07-01", "活动类型": "培训", "参与人数": 3,
                                                   "备注": "a\x00b"}], source_name="tracker log activity")
    assert counts(roster_ws) == before


def _bomb_yaml(levels: int = 9) -> str:
    lines = ['spec_version: 1', 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * 9) + "]")
    lines.append(f"project: {{code: 2099X001, area: *a{levels - 1}}}")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_and_depth_are_refused_fast() -> None:
    text = _bomb_yaml()
    assert len(text) < 1100  # 9^9 = 387 million strings once expanded
    t0 = time.monotonic()
    spec, problems = parse_spec_text(text, "bomb.yaml")
    assert time.monotonic() - t0 < 0.5
    assert spec is None and len(problems) == 1 and "别名炸弹" in problems[0].message
    spec, problems = parse_spec_text("a: " + "[" * 100 + "]" * 100 + "\n", "deep.yaml")
    assert spec is None and "规格嵌套过深（超过 40 层）" in problems[0].message
    # merge keys and a few aliases, as the committed specs use them, still load
    from tracker.kpispec.loader import load_specs

    assert len(load_specs(Path(__file__).resolve().parent.parent / "kpi_specs")) == 43
