"""The error file: the input rows with an added 错误说明 column (ID numbers and names masked)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from tracker import config
from tracker.records.privacy import mask_id, mask_name
from tracker.records.scrub import scrub_rows

ERROR_HEADER = "错误说明"


def default_error_path(source: Path, fmt: str) -> Path:
    suffix = ".xlsx" if fmt == "xlsx" else ".csv"
    target = source.with_name(f"{source.stem}.错误说明{suffix}")
    if os.access(source.parent, os.W_OK):
        return target
    d = config.data_dir() / "errors"
    d.mkdir(parents=True, exist_ok=True)
    return d / target.name


class ErrorWriter:
    """Streams rows out as they are checked; ``close(keep=False)`` deletes the file again."""

    def __init__(self, path: Path, headers: list[str], *, id_cols: set[int], name_cols: set[int],
                 replace_col: int | None = None):
        self.path = Path(path)
        self.fmt = "xlsx" if self.path.suffix.lower() == ".xlsx" else "csv"
        self.id_cols, self.name_cols = id_cols, name_cols
        self.replace_col = replace_col
        self.headers = list(headers) if replace_col is not None else [*headers, ERROR_HEADER]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # rows are spooled as CSV while checking; an XLSX error file is built only when it is kept
        self.tmp = self.path.with_name(self.path.name + (".part.csv" if self.fmt == "xlsx" else ".part"))
        self.fh = self.tmp.open("w", encoding="utf-8-sig", newline="")
        self.w = csv.writer(self.fh)
        self.w.writerow(self.headers)

    def write(self, cells: list[list[str]], messages: list[str]) -> None:
        cells = scrub_rows(cells)
        for row, msg in zip(cells, messages, strict=True):
            out = list(row)
            for j in self.id_cols:
                if j < len(out) and out[j]:
                    out[j] = mask_id(out[j])
            for j in self.name_cols:
                if j < len(out) and out[j]:
                    out[j] = mask_name(out[j])
            if self.replace_col is not None:
                out[self.replace_col] = msg
            else:
                out.append(msg)
            self.w.writerow(out)

    def close(self, keep: bool) -> Path | None:
        self.fh.close()
        if not keep:
            self.tmp.unlink(missing_ok=True)
            return None
        if self.fmt == "xlsx":
            from openpyxl import Workbook
            from openpyxl.styles import Font

            wb: Any = Workbook(write_only=True)
            ws = wb.create_sheet("错误说明")
            with self.tmp.open("r", encoding="utf-8-sig", newline="") as f:
                for i, row in enumerate(csv.reader(f)):
                    if i == 0:
                        from openpyxl.cell import WriteOnlyCell

                        cells = []
                        for v in row:
                            c = WriteOnlyCell(ws, value=v)
                            c.font = Font(bold=True)
                            cells.append(c)
                        ws.append(cells)
                    else:
                        ws.append(row)
            out = self.path.with_name(self.path.name + ".part.xlsx")
            wb.save(out)
            os.replace(out, self.path)
            self.tmp.unlink(missing_ok=True)
            return self.path
        os.replace(self.tmp, self.path)
        return self.path
