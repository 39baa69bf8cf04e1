"""Reading operators' files: CSV (UTF-8, UTF-8 with BOM or GB18030, detected) and XLSX.

Files are read in chunks (bounded memory). Every cell comes out as text: ID and phone numbers are
never turned into numbers; Excel date cells become ``YYYY-MM-DD``; a numeric cell that lost digits
keeps its float form so that the checks can reject it.

XLSX: python-calamine (Rust) reads a sheet about twelve times faster than openpyxl but holds the
whole sheet in memory, so it reads sheets up to ``CALAMINE_MAX_XML`` bytes of sheet XML (a few
hundred thousand rows); a larger workbook is streamed by openpyxl in read-only mode.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tracker import limits
from tracker.errors import TrackerError
from tracker.records.columns import known_header

BLOCK = 1 << 20
HEADER_SCAN = 10  # the header may sit below a title row or two
CALAMINE_MAX_XML = 64 << 20  # uncompressed worksheet XML; about 55 MB of memory per 100,000 rows


#: Rows of the k-th sheet of an import are numbered ``k * ROW_SPAN + row`` inside the importer
#: (``sheet_row`` splits them); the first sheet's rows keep their own numbers.
ROW_SPAN = 1 << 21  # above Excel's 1,048,576 rows


def sheet_row(key: int) -> tuple[int, int]:
    """(sheet index, row number in that sheet) of an importer's row number."""
    return divmod(int(key), ROW_SPAN)


@dataclass
class Sheet:
    """One worksheet of a workbook: where its header is and what it says."""

    name: str
    header_row: int  # 1-based
    headers: list[str]
    total: int | None
    title: str = ""  # the text above the header (a merged title row), if any
    colmap: list[int] | None = None  # this sheet's column → the import's column (several sheets)
    hidden: list[int] = field(default_factory=list)  # data rows hidden in Excel (imported, reported)
    struck: list[int] = field(default_factory=list)  # data rows with struck-through cells (imported, reported)


@dataclass
class Source:
    path: Path
    fmt: str  # csv | xlsx
    sha256: str
    encoding: str | None
    headers: list[str]
    header_row: int  # 1-based row number of the header
    total_rows: int | None
    sep: str = ","
    sheet: str | None = None
    engine: str = "openpyxl"  # XLSX: calamine | openpyxl
    candidates: list[Sheet] = field(default_factory=list)  # XLSX: every visible sheet with something in it
    sheets: list[Sheet] = field(default_factory=list)  # XLSX: the sheets this import reads, in order
    hidden_sheets: list[str] = field(default_factory=list)  # XLSX: sheets hidden in Excel (not read)
    error_file: bool = False  # CSV: tracker's own error file (原行号 and 错误说明 columns), imported again

    def use(self, sheets: list[Sheet]) -> None:
        """Read these sheets (in this order): their headers become one list of columns, the first
        sheet's order first; a column only some sheets have is empty in the others."""
        union: list[str] = []
        for sh in sheets:
            seen: dict[str, int] = {}
            cmap = []
            for h in sh.headers:
                key = h.strip()
                nth = seen.get(key, 0)
                seen[key] = nth + 1
                # the n-th column of that name in this sheet is the n-th of that name overall
                at = [i for i, u in enumerate(union) if u.strip() == key]
                if key and nth < len(at):
                    cmap.append(at[nth])
                else:
                    union.append(h)
                    cmap.append(len(union) - 1)
            sh.colmap = cmap
        self.sheets = list(sheets)
        self.headers = union
        self.sheet = sheets[0].name
        self.header_row = sheets[0].header_row
        self.total_rows = None if any(sh.total is None for sh in sheets) else sum(sh.total or 0 for sh in sheets)

    def row_label(self, key: int) -> str:
        """第N行, with the sheet's name when the import reads several sheets."""
        k, row = sheet_row(key)
        if len(self.sheets) > 1 and k < len(self.sheets):
            return f"工作表“{self.sheets[k].name}”第{row}行"
        return f"第{row}行"

    def chunks(self, size: int = 50_000) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """(cells as text with columns 0..len(headers)-1, file row numbers), empty rows left out."""
        parts = self._csv_chunks(size) if self.fmt == "csv" else self._xlsx_chunks(min(size, 20_000))
        top, n = limits.limit("TRACKER_MAX_ROWS"), 0
        for raw, rows in parts:
            n += len(raw)
            if n > top:  # a workbook's declared dimension may understate its rows
                limits.check_rows(self.path.name, n)
            yield raw, rows

    # ------------------------------------------------------------------ CSV

    def _csv_chunks(self, size: int) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        ncol = len(self.headers)
        try:
            reader = pd.read_csv(
                self.path, encoding=self.encoding, sep=self.sep, header=None, names=list(range(ncol)),
                skiprows=self.header_row, dtype=str, keep_default_na=False, na_filter=False,
                skip_blank_lines=False, chunksize=size, engine="c", index_col=False,
            )
            first = self.header_row + 1
            for chunk in reader:
                rows = np.arange(first, first + len(chunk))
                first += len(chunk)
                chunk = chunk.fillna("")
                if self.error_file:
                    chunk = _unquote(chunk)
                yield _drop_empty(chunk, rows)
        except pd.errors.ParserError as e:
            raise TrackerError(f"CSV 格式错误：{_parser_detail(e, self.header_row)}。请检查该行的列数或引号") from None
        except UnicodeDecodeError:
            raise TrackerError("文件编码前后不一致，无法按 UTF-8 或 GB18030 读取：请在 Excel 中另存为“CSV UTF-8”") from None

    # ------------------------------------------------------------------ XLSX

    def _xlsx_rows(self, name: str | None, header_row: int) -> Iterator[tuple[int, tuple[Any, ...] | list[Any]]]:
        """(row number, cells) of the data rows of one sheet, below the header."""
        if self.engine == "calamine":
            wb = _open_calamine(self.path)
            try:
                sheet = wb.get_sheet_by_name(name) if name else wb.get_sheet_by_index(0)
                # iter_rows starts at row 1 but at the first used column: pad to column A, as openpyxl
                pad = [""] * sheet.start[1] if sheet.start else []
                for r, row in enumerate(sheet.iter_rows(), start=1):
                    if r > header_row:
                        yield r, (pad + row if pad else row)
            finally:
                wb.close()
            return
        wb = _open_workbook(self.path)
        try:
            ws = wb[name] if name else wb.worksheets[0]
            for r, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
                yield r, row
        finally:
            wb.close()

    def _sheet_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row key, cells in the import's columns) of every data row of every sheet read."""
        ncol = len(self.headers)
        parts = self.sheets or [Sheet(self.sheet or "", self.header_row, self.headers, self.total_rows)]
        for k, sh in enumerate(parts):
            cmap = sh.colmap
            width = len(sh.headers)
            base = k * ROW_SPAN
            plain = cmap is None or cmap == list(range(ncol))
            for r, row in self._xlsx_rows(sh.name or None, sh.header_row):
                if plain:
                    # most cells are text already: cell_text only for the others (numbers, dates)
                    cells = [v if v.__class__ is str else cell_text(v) for v in row[:ncol]]
                    if len(cells) < ncol:
                        cells += [""] * (ncol - len(cells))
                else:
                    cells = [""] * ncol
                    for j, v in enumerate(row[:width]):
                        cells[cmap[j]] = v if v.__class__ is str else cell_text(v)
                yield base + r, cells

    def _xlsx_chunks(self, size: int) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        ncol = len(self.headers)
        buf: list[list[str]] = []
        nums: list[int] = []
        for r, cells in self._sheet_rows():
            if not any(cells):
                continue
            buf.append(cells)
            nums.append(r)
            if len(buf) >= size:
                yield pd.DataFrame(buf, columns=list(range(ncol)), dtype=object), np.array(nums)
                buf, nums = [], []
        if buf:
            yield pd.DataFrame(buf, columns=list(range(ncol)), dtype=object), np.array(nums)


def _parser_detail(e: Exception, header_row: int) -> str:
    import re

    msg = str(e)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        line = int(m.group(2))  # pandas counts lines from the top of the file, skipped rows included
        return f"第{line}行有 {m.group(3)} 列，表头只有 {m.group(1)} 列"
    return "无法解析"


def _drop_empty(chunk: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    if chunk.shape[1] == 0:
        return chunk, rows
    nonempty = np.zeros(len(chunk), dtype=bool)
    for c in chunk.columns:
        nonempty |= (chunk[c].to_numpy(dtype=object) != "")
    if nonempty.all():
        return chunk.reset_index(drop=True), rows
    return chunk[nonempty].reset_index(drop=True), rows[nonempty]


def cell_text(v: Any) -> str:
    """One spreadsheet cell as text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, dt.datetime):
        if v.hour == v.minute == v.second == 0 and not v.microsecond:
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)  # 3.3010619500101002e+17: digits lost, rejected by the checks
    return str(v)


def _open_workbook(path: Path) -> Any:
    import zipfile

    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise TrackerError(f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 工作簿（{type(e).__name__}）") from None
    except Exception as e:  # openpyxl's InvalidFileException and friends
        raise TrackerError(f"无法读取 Excel 文件 {path.name}：{type(e).__name__}") from None


# ------------------------------------------------------------------ opening a file


def _scan(path: Path) -> tuple[str, str, str | None, int]:
    """(format, sha256, encoding, newline count), checking the bytes without holding the file."""
    size = path.stat().st_size
    if size == 0:
        raise TrackerError(f"文件 {path.name} 为空（0 字节），没有可导入的数据")
    h = hashlib.sha256()
    with path.open("rb") as f:
        head = f.read(BLOCK)
        if head.startswith(b"PK\x03\x04"):
            h.update(head)
            for block in iter(lambda: f.read(BLOCK), b""):
                h.update(block)
            return "xlsx", h.hexdigest(), None, 0
        if (path.suffix.lower() in (".xlsx", ".xlsm") and not head.startswith(b"PK\x03\x04")
                and _binary_share(head) <= 0.01):
            what = ("网页或 XML 文件" if head[:2048].lstrip().lower().startswith((b"<html", b"<!doctype", b"<?xml", b"<table"))
                    else "文本文件（可能是改了扩展名的 CSV）")
            raise TrackerError(f"{path.name} 不是 Excel 文件：扩展名是 {path.suffix}，内容却是{what}。"
                               "请在 Excel 或 WPS 中打开它，另存为“Excel 工作簿（.xlsx）”后再导入")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise TrackerError(f"{path.name} 是旧版 Excel（.xls）文件：请在 Excel 中另存为 .xlsx 或“CSV UTF-8”后再导入")
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise TrackerError(f"{path.name} 是 UTF-16 编码的文本：请在 Excel 中另存为“CSV UTF-8”后再导入")
        lower = head[:2048].lstrip().lower()
        if lower.startswith((b"<html", b"<!doctype", b"<?xml", b"<table")):
            raise TrackerError(f"{path.name} 实际是网页或 XML 文件（常见于系统导出的“.xls”）：请在 Excel 中打开并另存为 .xlsx")
        if _binary_share(head) > 0.01:
            raise TrackerError(f"{path.name} 不是 CSV 或 Excel 表格（含有二进制内容），无法导入")
        bom = head.startswith(codecs.BOM_UTF8)
        lines = 0
        dec = codecs.getincrementaldecoder("utf-8")("strict")
        ok = True
        block = head
        pos = 0
        while block:
            h.update(block)
            if b"\x00" in block:
                at = lines + block[:block.index(b"\x00")].count(b"\n") + 1
                raise TrackerError(f"{path.name} 第{at}行含有空字符（\\x00），无法导入：文件可能已损坏，"
                                   "请在 Excel 中打开后重新另存为“CSV UTF-8”")
            lines += block.count(b"\n")
            if ok:
                try:
                    dec.decode(block)
                except UnicodeDecodeError:
                    ok = False
                    if bom:
                        raise TrackerError(
                            f"{path.name} 标明为 UTF-8（带 BOM），但第{lines}行附近的内容不是 UTF-8：文件编码与标记不符。"
                            "请在 Excel 中重新另存为“CSV UTF-8”") from None
            pos += len(block)
            block = f.read(BLOCK)
        if ok:
            try:
                dec.decode(b"", final=True)
            except UnicodeDecodeError:
                ok = False
        if ok:
            return "csv", h.hexdigest(), "utf-8-sig", lines
    # not UTF-8: GB18030 (a superset of GBK/GB2312; never decode as gbk)
    dec = codecs.getincrementaldecoder("gb18030")("strict")
    with path.open("rb") as f:
        n = 0
        try:
            for block in iter(lambda: f.read(BLOCK), b""):
                text = dec.decode(block)
                if n == 0 and _control_share(text) > 0.01:
                    raise TrackerError(f"{path.name} 不是 CSV 或 Excel 表格（含有二进制内容），无法导入")
                n += 1
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            raise TrackerError(
                f"{path.name} 的编码无法识别（既不是 UTF-8 也不是 GB18030/GBK）：请在 Excel 中另存为“CSV UTF-8”或 .xlsx"
            ) from None
    return "csv", h.hexdigest(), "gb18030", lines


def _binary_share(b: bytes) -> float:
    if not b:
        return 0.0
    ctrl = sum(b.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    return ctrl / len(b)


def _control_share(t: str) -> float:
    if not t:
        return 0.0
    return sum(1 for ch in t if ord(ch) < 32 and ch not in "\t\r\n") / len(t)


def _pick_header(rows: list[list[str]]) -> int:
    """Index of the header row among the first rows: the one with the most recognised headers."""
    best, best_n = 0, 0
    for i, r in enumerate(rows[:HEADER_SCAN]):
        n = sum(1 for c in r if c and known_header(c))
        if n > best_n:
            best, best_n = i, n
    return best


def open_source(path: Path) -> Source:
    path = Path(path)
    if not path.exists():
        raise TrackerError(f"找不到文件 {path}")
    if path.is_dir():
        raise TrackerError(f"{path} 是目录，请指定要导入的文件")
    limits.check_file_size(path.name, path.stat().st_size)
    fmt, sha, enc, lines = _scan(path)
    if fmt == "xlsx":
        src = _open_xlsx(path, sha)
        limits.check_rows(path.name, src.total_rows)
        return src
    with path.open("r", encoding=enc, newline="") as f:
        head_text = "".join(line for _, line in zip(range(HEADER_SCAN + 1), f, strict=False))
    first_line = head_text.splitlines()[0] if head_text.strip() else ""
    sep = "\t" if first_line.count("\t") > first_line.count(",") else ","
    if csv.field_size_limit() < len(head_text):  # a long cell in the first lines: the checks name it
        csv.field_size_limit(len(head_text) + 1)
    try:
        head_rows = list(csv.reader(io.StringIO(head_text), delimiter=sep))
    except csv.Error:
        raise TrackerError(f"文件 {path.name} 的前几行无法按 CSV 读取（引号不成对或含有特殊字符）：请检查表头附近的内容") from None
    if not any(any(c.strip() for c in r) for r in head_rows):
        raise TrackerError(f"文件 {path.name} 为空：没有表头和数据行")
    hi = _pick_header(head_rows)
    headers = [c.strip() for c in head_rows[hi]]
    while headers and not headers[-1]:
        headers.pop()
    limits.check_rows(path.name, max(lines - hi - 1, 0))
    own = {"原行号", "错误说明"}
    return Source(path, "csv", sha, enc, headers, hi + 1, max(lines - hi - 1, 0), sep,
                  error_file=own <= {h.replace(" ", "") for h in headers})


def _unquote(chunk: pd.DataFrame) -> pd.DataFrame:
    """A CSV error file's cells as the user typed them: the apostrophe the error file put before a
    formula-like cell (``'=1+1``, against CSV injection) is taken off again."""
    from tracker.records.errorfile import is_formula_like

    for c in chunk.columns:
        col = chunk[c]
        hit = col.str.startswith("'")
        if hit.any():
            chunk[c] = [v[1:] if h and is_formula_like(v[1:]) else v for v, h in zip(col.tolist(), hit.tolist(), strict=True)]
    return chunk


def _sheet_xml_size(path: Path) -> int:
    """Bytes of worksheet XML, after the zip's declared sizes and ratios passed ``limits`` and no XML
    part declares a DTD (Excel never writes one; entities are a way to blow a parser up)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            limits.check_workbook(path.name, [(i.filename, i.compress_size, i.file_size) for i in infos])
            for i in infos:
                if i.filename.endswith((".xml", ".rels")) and i.file_size:
                    with z.open(i) as f:
                        head = f.read(4096)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise TrackerError(f"Excel 文件 {path.name} 的 {i.filename} 含有 DTD 声明（<!DOCTYPE/<!ENTITY），"
                                           "正常的 Excel 文件不会有：可能是恶意构造的文件，未导入。请用 Excel 重新另存后再试")
            return sum(i.file_size for i in infos if i.filename.startswith("xl/worksheets/"))
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
        raise TrackerError(f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 工作簿（{type(e).__name__}）") from None


def _open_calamine(path: Path) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as e:  # CalamineError, zip and XML errors
        raise TrackerError(f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 工作簿（{type(e).__name__}）") from None


def _sheet_of(name: str, rows: list[list[str]], height: int | None) -> Sheet | None:
    """A sheet's header (the row among the first with the most known column names) and the text
    above it; None for an empty sheet."""
    if not rows or not any(any(r) for r in rows):
        return None
    hi = _pick_header(rows)
    headers = list(rows[hi])
    two = _two_row_header(headers, rows[hi + 1]) if hi + 1 < len(rows) else None
    if two is not None:
        headers = two
    while headers and not headers[-1]:
        headers.pop()
    title = next((c for r in rows[:hi] for c in r if c), "")
    last = hi + (2 if two is not None else 1)  # the data start below the (last) header row
    return Sheet(name, last, headers, None if height is None else max(height - last, 0), title)


def _two_row_header(top: list[str], sub: list[str]) -> list[str] | None:
    """A two-row header as LibreOffice and Excel keep merged cells: 服务对象 merged over 编号 | 姓名
    (the merged cell's text in its first column only) and 序号 merged down over both rows. The
    combined names (服务对象编号, 服务对象姓名) when they are more recognisable than the top row's."""
    if not any(sub):
        return None
    width = max(len(top), len(sub))
    top = top + [""] * (width - len(top))
    sub = sub + [""] * (width - len(sub))
    out: list[str] = []
    parent = ""
    for t, c in zip(top, sub, strict=True):
        if t:
            parent = t
        if c and (t or parent):
            head = t or parent
            out.append(head + c if not known_header(c) or known_header(head + c) else c)
        else:
            out.append(t)
            if not t:
                parent = ""
    score = sum(1 for h in out if h and known_header(h))
    return out if score > sum(1 for h in top if h and known_header(h)) else None


def _choose_sheet(sheets: list[Sheet], path: Path) -> Sheet:
    """The first sheet whose header row has a known column name, else the first with anything in it."""
    for sh in sheets:
        if any(c and known_header(c) for c in sh.headers):
            return sh
    if not sheets:
        raise TrackerError(f"文件 {path.name} 为空：工作簿中没有表头和数据行")
    return sheets[0]


def _open_xlsx(path: Path, sha: str) -> Source:
    hidden: list[str] = []
    cands: list[Sheet] = []
    if _sheet_xml_size(path) <= CALAMINE_MAX_XML:
        engine = "calamine"
        wb = _open_calamine(path)
        try:
            from python_calamine import SheetTypeEnum, SheetVisibleEnum

            for m in wb.sheets_metadata:
                if m.typ != SheetTypeEnum.WorkSheet:
                    continue
                if m.visible != SheetVisibleEnum.Visible:
                    hidden.append(m.name)
                    continue
                sheet = wb.get_sheet_by_name(m.name)
                pad = [""] * sheet.start[1] if sheet.start else []  # from column A, as openpyxl
                top = zip(range(HEADER_SCAN), sheet.iter_rows(), strict=False)
                sh = _sheet_of(m.name, [[cell_text(v).strip() for v in pad + r] for _, r in top], sheet.total_height)
                if sh is not None:
                    cands.append(sh)
        except TrackerError:
            raise
        except Exception as e:
            raise TrackerError(f"无法读取 Excel 文件 {path.name}：{type(e).__name__}") from None
        finally:
            wb.close()
    else:  # openpyxl streams: only the first rows are read here
        engine = "openpyxl"
        wb = _open_workbook(path)
        try:
            for ws in wb.worksheets:
                if getattr(ws, "sheet_state", "visible") != "visible":
                    hidden.append(ws.title)
                    continue
                rows = [[cell_text(v).strip() for v in r]
                        for r in ws.iter_rows(min_row=1, max_row=HEADER_SCAN, values_only=True)]
                sh = _sheet_of(ws.title, rows, ws.max_row or None)
                if sh is not None:
                    cands.append(sh)
        finally:
            wb.close()
    first = _choose_sheet(cands, path)
    src = Source(path, "xlsx", sha, None, list(first.headers), first.header_row, first.total, sheet=first.name,
                 engine=engine, candidates=cands, hidden_sheets=hidden)
    return src


# ------------------------------------------------------------------ hidden and struck-through rows

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def mark_rows(src: Source) -> None:
    """Note, for each sheet read, its data rows that are hidden or have a struck-through cell (both
    are imported; the summary lists them). Read from the sheet XML (calamine does not say)."""
    if src.fmt != "xlsx" or not src.sheets:
        return
    import posixpath
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        with zipfile.ZipFile(src.path) as z:
            names = set(z.namelist())
            wbx = ET.fromstring(z.read("xl/workbook.xml"))
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = {r.get("Id"): r.get("Target", "") for r in rels}
            where: dict[str, str] = {}
            for sh in wbx.iter(f"{_NS}sheet"):
                t = target.get(sh.get(_REL) or "", "")
                where[sh.get("name", "")] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(
                    posixpath.join("xl", t))
            struck_xf: set[int] = set()
            if "xl/styles.xml" in names:
                st = ET.fromstring(z.read("xl/styles.xml"))
                fonts = st.find(f"{_NS}fonts")
                strike = [f.find(f"{_NS}strike") is not None and f.find(f"{_NS}strike").get("val", "1") not in ("0", "false")
                          for f in (fonts if fonts is not None else [])]
                xfs = st.find(f"{_NS}cellXfs")
                for i, xf in enumerate(xfs if xfs is not None else []):
                    fid = int(xf.get("fontId", "0") or 0)
                    if fid < len(strike) and strike[fid]:
                        struck_xf.add(i)
            for sh in src.sheets:
                part = where.get(sh.name)
                if not part or part not in names:
                    continue
                if 0 in struck_xf:  # the default style struck through: every cell counts, read them all
                    with z.open(part) as f:
                        sh.hidden, sh.struck = _marks_parsed(f, sh.header_row, struck_xf)
                else:
                    sh.hidden, sh.struck = _marks(z.read(part), sh.header_row, struck_xf)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, ET.ParseError):
        return  # the marks are a courtesy: the rows themselves were read


# a row's start tag (any namespace prefix), its number, hidden flag; a cell's start tag and style
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?row\s*>")
_ATTR_R = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")
_HIDDEN = re.compile(rb"""hidden\s*=\s*["'](?:1|true)["']""")  # a literal first: a fast scan
_FILLED = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\b(?:[^>]*[^/>])?>\s*<(?!/)")  # a cell with content (value, formula, text)


def _row_at(xml: bytes, pos: int) -> tuple[int, int, int] | None:
    """(row number, start of its content, end of its content) of the <row> holding ``pos``."""
    start = max(xml.rfind(b"<row", 0, pos), xml.rfind(b":row", 0, pos))
    if start < 0:
        return None
    tag = _ROW_TAG.match(xml, start if xml[start:start + 1] == b"<" else xml.rfind(b"<", 0, start))
    if tag is None or tag.group(1).endswith(b"/"):
        return None
    m = _ATTR_R.search(tag.group(1))
    end = _ROW_END.search(xml, tag.end())
    return (int(m.group(1)) if m else 0), tag.end(), (end.start() if end else len(xml))


def _marks(xml: bytes, header_row: int, struck_xf: set[int]) -> tuple[list[int], list[int]]:
    """(hidden rows, rows with a struck-through filled cell) below ``header_row`` of one sheet's XML,
    found with regular expressions over the bytes: only the few rows that may be marked are looked
    at (an element per cell cost about 75 µs a row; this is a scan of the text). A row counts when it
    has a filled cell, as in ``_marks_parsed``."""
    hidden: list[int] = []
    for h in _HIDDEN.finditer(xml):  # hidden="1" is rare: find it, then the row tag it belongs to
        tag = _ROW_TAG.match(xml, xml.rfind(b"<", 0, h.start()))
        if tag is None or tag.end() <= h.start() or not xml[h.start() - 1:h.start()].isspace():
            continue  # a hidden column (<col hidden="1">), not a row
        attrs = tag.group(1)
        if attrs.endswith(b"/"):
            continue  # <row … hidden="1"/>: no cells
        m = _ATTR_R.search(attrs)
        r = int(m.group(1)) if m else 0
        end = _ROW_END.search(xml, tag.end())
        if r > header_row and _FILLED.search(xml, tag.end(), end.start() if end else len(xml)):
            hidden.append(r)
    struck: set[int] = set()
    if struck_xf:
        styles = b"|".join(str(i).encode() for i in sorted(struck_xf))
        cell = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*?\ss\s*=\s*[\"'](?:" + styles + rb")[\"'](?:[^>]*[^/>])?>\s*<(?!/)")
        for m in cell.finditer(xml):
            where = _row_at(xml, m.start())
            if where is not None and where[0] > header_row and where[1] <= m.start() < where[2]:
                struck.add(where[0])
    return hidden, sorted(struck)


def _marks_parsed(f: Any, header_row: int, struck_xf: set[int]) -> tuple[list[int], list[int]]:
    """The same as ``_marks``, element by element (slow: for a style table that strikes the default)."""
    import xml.etree.ElementTree as ET

    hidden: list[int] = []
    struck: list[int] = []
    for _, el in ET.iterparse(f):
        if el.tag == f"{_NS}row":
            r = int(el.get("r", "0") or 0)
            if r > header_row:
                filled = [c for c in el if len(c)]
                if filled and el.get("hidden") in ("1", "true"):
                    hidden.append(r)
                if struck_xf and any(int(c.get("s", "0") or 0) in struck_xf for c in filled):
                    struck.append(r)
            el.clear()
    return hidden, struck
