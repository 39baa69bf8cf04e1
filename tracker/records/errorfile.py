"""The error file: the input rows with 原行号 and 错误说明 added.

It is meant to be corrected and imported again, so it keeps the input's cells as they were, names
and ID numbers included (masked ones could not be corrected): it holds nothing the input did not,
is written next to the input (or where ``--error-file`` says), and is created readable by its owner
only (mode 0600). Through the web only the uploading organisation's accounts may download it, and it
is deleted 30 days after the upload (``tracker.uploads``). Only the 错误说明 text is tracker's own,
and it never carries an ID number in clear (``tracker.records.scrub.scrub_message``): messages are
printed and shown on pages too, where everything keeps masking. Its own columns are skipped when it
is imported again. In an XLSX error file date cells are dates again; a cell that Excel would run as a formula (it begins
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written as text in XLSX and, in CSV,
prefixed with an apostrophe (OWASP's advice against CSV injection); plain numbers such as ``-3``
stay as they are.

The file is first written to a temporary file created exclusively (``O_EXCL | O_NOFOLLOW``, a
random name) in the target folder, then renamed over the target: a planted symbolic link is never
followed, and the temporary file is removed on every way out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import secrets
from pathlib import Path
from typing import IO, Any

from tracker import config
from tracker.errors import TrackerError
from tracker.records.scrub import scrub_message

ERROR_HEADER = "错误说明"
ROW_HEADER = "原行号"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$")


def default_error_path(source: Path, fmt: str) -> Path:
    suffix = ".xlsx" if fmt == "xlsx" else ".csv"
    target = source.with_name(f"{source.stem}.错误说明{suffix}")
    if os.access(source.parent, os.W_OK):
        return target
    d = config.data_dir() / "errors"
    d.mkdir(parents=True, exist_ok=True)
    return d / target.name


def is_formula_like(v: str) -> bool:
    return v.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(v)


def neutralise(v: str) -> str:
    """A CSV cell Excel will not run as a formula (OWASP: a leading apostrophe)."""
    return "'" + v if is_formula_like(v) else v


def create_private(path: Path, suffix: str, *, what: str = "错误文件",
                   option: str = "--error-file") -> tuple[Path, IO[bytes]]:
    """A new temporary file beside ``path``: created exclusively, never through a symbolic link,
    mode 0600. Returns (its path, a binary file object). ``what`` and ``option`` name the file in
    the message when it cannot be created."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(10):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        except OSError as e:
            why = ("路径中有一个是文件而不是目录" if isinstance(e, NotADirectoryError) else
                   "目录不存在或不能在其中建文件" if isinstance(e, FileNotFoundError) else
                   "没有写权限" if isinstance(e, PermissionError) else
                   "文件系统是只读的" if e.errno == 30 else "磁盘空间不足" if e.errno == 28 else "无法创建文件")
            raise TrackerError(f"无法在 {path.parent} 写入{what}（{why}）：请用 {option} 指定可写的位置") from None
        return tmp, os.fdopen(fd, "wb")
    raise TrackerError(f"无法在 {path.parent} 创建临时文件：请稍后重试")


class ErrorWriter:
    """Streams rows out as they are checked; ``close(keep=False)`` (or any failure) deletes the
    temporary file again. ``date_cols``: positions of date columns (dates again in XLSX). The cells
    are written as given; a 错误说明 is scrubbed of ID numbers once more."""

    def __init__(self, path: Path, headers: list[str], *, date_cols: set[int] | None = None,
                 replace_cols: dict[str, int] | None = None):
        self.path = Path(path)
        if self.path.is_dir():
            raise TrackerError(f"错误文件路径 {self.path} 是一个文件夹：请给出文件名，如 {self.path / '错误说明.xlsx'}")
        self.fmt = "xlsx" if self.path.suffix.lower() == ".xlsx" else "csv"
        self.date_cols = date_cols or set()
        replace = dict(replace_cols or {})  # an error file imported again: its own columns are reused
        self.headers = list(headers)
        for name in (ROW_HEADER, ERROR_HEADER):
            if name not in replace:
                replace[name] = len(self.headers)
                self.headers.append(name)
        self.row_col, self.msg_col = replace[ROW_HEADER], replace[ERROR_HEADER]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TrackerError(f"无法创建错误文件所在的文件夹 {self.path.parent}（{e.strerror}）") from None
        # rows are spooled as CSV while checking; an XLSX error file is built only when it is kept
        self.tmp, raw = create_private(self.path, ".part")
        self.fh = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        self.w = csv.writer(self.fh)
        self.w.writerow(self.headers)

    def write(self, cells: list[list[str]], messages: list[str], rows: list[int] | None = None) -> None:
        width = len(self.headers)
        for k, (row, msg) in enumerate(zip(cells, messages, strict=True)):
            out = ["" if v is None else str(v) for v in row]  # the user's own cells, unmasked
            if len(out) < width:
                out += [""] * (width - len(out))
            out[self.row_col] = str(rows[k]) if rows is not None else ""
            out[self.msg_col] = scrub_message(msg) if msg else ""
            self.w.writerow(out)

    def note(self, text: str) -> None:
        """A last line holding only a 错误说明 (the count of errors not listed)."""
        out = [""] * len(self.headers)
        out[self.msg_col] = scrub_message(text)
        self.w.writerow(out)

    def close(self, keep: bool) -> Path | None:
        try:
            self.fh.close()
            if not keep:
                return None
            if self.fmt == "xlsx":
                return self._xlsx()
            self._csv()
            return self.path
        finally:
            self.tmp.unlink(missing_ok=True)

    def _rows(self) -> Any:
        with self.tmp.open("r", encoding="utf-8-sig", newline="") as f:
            yield from csv.reader(f)

    def _csv(self) -> None:
        out, fh = create_private(self.path, ".csv.part")
        try:
            with io.TextIOWrapper(fh, encoding="utf-8-sig", newline="") as text:
                w = csv.writer(text)
                for i, row in enumerate(self._rows()):
                    w.writerow(row if i == 0 else [neutralise(v) for v in row])
            os.replace(out, self.path)
        finally:
            out.unlink(missing_ok=True)

    def _xlsx(self) -> Path:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        wb: Any = Workbook(write_only=True)
        ws = wb.create_sheet("错误说明")
        bold = Font(bold=True)
        for i, row in enumerate(self._rows()):
            cells = []
            for j, v in enumerate(row):
                c = WriteOnlyCell(ws, value=self._xlsx_value(j, v) if i else v)
                if i == 0:
                    c.font = bold
                elif isinstance(c.value, dt.datetime):
                    c.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(c.value, dt.date):
                    c.number_format = "yyyy-mm-dd"
                elif isinstance(c.value, str) and c.value.startswith(FORMULA_START):
                    c.data_type = "s"  # text, never a formula
                elif j == self.row_col and v.isdigit():
                    c.value = int(v)
                cells.append(c)
            ws.append(cells)
        out, fh = create_private(self.path, ".xlsx.part")
        try:
            with fh:
                wb.save(fh)
            os.replace(out, self.path)
        finally:
            out.unlink(missing_ok=True)
        return self.path

    def _xlsx_value(self, j: int, v: str) -> Any:
        if j in self.date_cols:
            try:
                if _ISO_DATE.match(v):
                    return dt.date.fromisoformat(v)
                if _ISO_DATETIME.match(v):
                    return dt.datetime.fromisoformat(v)
            except ValueError:
                return v
        return v
