"""Parsing the raw cells (strings, "" when empty) of one column into typed values.

A column is handled as its distinct cells: ``factor`` gives a code per row into the list of distinct
cells, each distinct cell is cleaned, parsed and checked once, and values and reasons reach every
row through the codes. A chunk of 50,000 rows has a few dozen dates, three activity types and a
few thousand person ids, so the work per row is one hash lookup, not a parse.

Each parser takes the distinct (cleaned) cells and returns one value per distinct cell; the Chinese
reason for a bad cell goes into ``Problems`` with the check that found it (``stage``), so that rows
can be reported check by check, each check in row order. Cells are read as text (IDs and phone
numbers stay strings); full-width digits and letters are NFKC-normalised first.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from tracker.errors import TrackerError
from tracker.records.columns import BOOL_MAP, EMPLOYMENT_MAP, PHASE_MAP
from tracker.vocab import FIVE_LEVELS, canonical_answer, canonical_level, level_error

_SCI = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")
_INT_FLOAT = re.compile(r"^\d+\.0+$")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_RE = re.compile(r"^\d{4,5}(?:\.\d+)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2199, 12, 31)
DATE_HINT = "（可写作 2024-06-01、2024/6/1、2024.6.1 或 2024年6月1日）"


class Problems:
    """Reasons for bad distinct cells: index of the distinct cell → reason, and → the check that
    found it first (0, 1, …). A later check may replace a reason but not move the cell."""

    __slots__ = ("msg", "stage")

    def __init__(self) -> None:
        self.msg: dict[int, str] = {}
        self.stage: dict[int, int] = {}

    def put(self, i: int, msg: str, stage: int = 0) -> None:
        if i not in self.msg:
            self.stage[i] = stage
        self.msg[i] = msg

    def put_first(self, i: int, msg: str, stage: int = 0) -> None:
        """Only when the cell has no reason yet."""
        if i not in self.msg:
            self.stage[i] = stage
            self.msg[i] = msg

    def __contains__(self, i: int) -> bool:
        return i in self.msg


# ------------------------------------------------------------------ distinct cells


class BadCell(TrackerError):
    """A cell no check should see: longer than ``TRACKER_MAX_CELL`` or holding a NUL character. The
    whole input is refused (``tracker.records.pipeline`` names the row and column)."""

    def __init__(self, position: int, column: Any, length: int, nul: bool):
        super().__init__("有单元格含有空字符（\\x00）" if nul else f"有单元格长达 {length:,} 个字符，超过上限"
                         + "：请检查文件后重新导入")
        self.position, self.column, self.length, self.nul = position, column, length, nul


def _check_distinct(s: pd.Series, codes: np.ndarray, cells: list[Any]) -> None:
    """On the distinct cells only (one C-level pass): a too long cell or a NUL."""
    from tracker.limits import limit

    texts = [c for c in cells if isinstance(c, str)]
    if not texts:
        return
    top = limit("TRACKER_MAX_CELL")
    if max(map(len, texts)) <= top and "\x00" not in "\x01".join(texts):
        return
    for k, c in enumerate(cells):
        if isinstance(c, str) and (len(c) > top or "\x00" in c):
            raise BadCell(int(np.flatnonzero(codes == k)[0]), s.name, len(c), "\x00" in c)


def factor(s: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """(code per row, distinct cells in order of first appearance); missing cells (None, NaN) are "".
    A cell longer than ``TRACKER_MAX_CELL`` or holding a NUL raises ``BadCell``."""
    codes, uniq = pd.factorize(s.to_numpy(dtype=object))
    cells = uniq.tolist()
    _check_distinct(s, codes, cells)
    missing = codes < 0
    if missing.any():
        try:
            k = cells.index("")
        except ValueError:
            k = len(cells)
            cells.append("")
        codes = np.where(missing, k, codes)
    return codes.astype(np.intp, copy=False), cells


def merge(codes: np.ndarray, cells: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """The same column with equal distinct cells (strings) merged into one."""
    if len(set(cells)) == len(cells):
        return codes, cells
    c2, u2 = pd.factorize(np.array(cells, dtype=object))
    return c2[codes].astype(np.intp, copy=False), u2.tolist()


def clean_cells(cells: list[str]) -> list[str]:
    """NFKC (only where a cell is not plain ASCII) and trim."""
    return [unicodedata.normalize("NFKC", v).strip() if not v.isascii() else v.strip() for v in cells]


def trim_cells(cells: list[str]) -> list[str]:
    return [v.strip() for v in cells]


def clean(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A raw column as (codes, distinct cleaned cells)."""
    codes, cells = factor(s)
    return merge(codes, clean_cells(cells))


def trim(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A raw column as (codes, distinct trimmed cells): free text keeps its full-width characters."""
    codes, cells = factor(s)
    return merge(codes, trim_cells(cells))


def _show(v: str) -> str:
    return v if len(v) <= 30 else v[:30] + "…"


# ------------------------------------------------------------------ parsers (one value per distinct cell)


def parse_code(cells: list[str], bad: Problems, what: str) -> list[str | None]:
    """An identifier: text; a float-mangled number (1.23E+17) is rejected, ``1001.0`` becomes ``1001``."""
    out: list[str | None] = []
    for i, v in enumerate(cells):
        if not v:
            out.append(None)
        elif _SCI.match(v):
            bad.put(i, f"{what}“{_show(v)}”被 Excel 转成了科学计数法，位数已丢失：请把该列设为“文本”格式后重新填写")
            out.append(None)
        elif _INT_FLOAT.match(v):
            out.append(v.split(".")[0])
        else:
            out.append(v)
    return out


def _one_date(v: str) -> dt.date | str | None:
    m = _DATE_RE.match(v) or _COMPACT_RE.match(v)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return "invalid"
    if _SERIAL_RE.match(v):  # an Excel date serial (days since 1899-12-30)
        n = float(v)
        if 1 <= n < 2958466:
            return _EXCEL_EPOCH + dt.timedelta(days=int(n))
    return None


def parse_date(cells: list[str], bad: Problems, label: str) -> np.ndarray:
    """Dates as ``datetime64[D]`` (NaT when empty or bad), one per distinct cell."""
    s = pd.Series(cells, dtype=object)
    d = pd.to_datetime(s.where(s != "", None), format="%Y-%m-%d", errors="coerce")
    rest = d.isna().to_numpy() & (s != "").to_numpy()
    if rest.any():
        d = d.astype("datetime64[s]").copy()
        for i in np.flatnonzero(rest).tolist():
            v = cells[i]
            r = _one_date(v)
            if isinstance(r, dt.date):
                d.iat[i] = pd.Timestamp(r)
            elif r == "invalid":
                bad.put(i, f"“{_show(v)}”不是真实存在的日期")
            else:
                bad.put(i, f"“{_show(v)}”不是日期{DATE_HINT}")
    days = d.astype("datetime64[s]").to_numpy(dtype="datetime64[D]")
    # a year Python's dates cannot hold (0000) or no record can have (before 1900, after 2199)
    odd = ~np.isnat(days) & ((days < np.datetime64(EARLIEST)) | (days > np.datetime64(LATEST)))
    for i in np.flatnonzero(odd).tolist():
        bad.put(i, f"“{_show(cells[i])}”不是合理的日期：年份应在 {EARLIEST.year} 至 {LATEST.year} 之间")
    days[odd] = np.datetime64("NaT")
    return days


def date_values(days: np.ndarray) -> list[Any]:
    """``datetime64[D]`` as Python values: ``datetime.date``, None for NaT (numpy's own conversion)."""
    out = days.astype(object)
    out[np.isnat(days)] = None
    return out.tolist()


def _numeric(cells: list[str], bad: Problems, label: str) -> np.ndarray:
    s = pd.Series(cells, dtype=object)
    t = s.str.replace(",", "", regex=False) if len(s) else s
    num = pd.to_numeric(t.where(t != "", None), errors="coerce").astype("float64")
    badmask = num.isna().to_numpy() & (s != "").to_numpy()
    for i in np.flatnonzero(badmask).tolist():
        bad.put(i, f"“{_show(cells[i])}”不是数字，请只填写数字", 0)
    inf = np.isinf(num.to_numpy())  # "inf", "1e999": no quantity
    for i in np.flatnonzero(inf).tolist():
        bad.put(i, f"“{_show(cells[i])}”不是有限的数字，请只填写数字", 0)
    num = num.where(~inf)
    neg = (num < 0).to_numpy()
    for i in np.flatnonzero(neg).tolist():
        bad.put(i, f"不能为负数（填写的是 {cells[i]}）", 1)
    return num.where(~neg).to_numpy()


def parse_number(cells: list[str], bad: Problems, label: str) -> list[float | None]:
    """Non-negative numbers (floats), None when empty or bad."""
    return [None if x != x else x for x in _numeric(cells, bad, label).tolist()]


def parse_count(cells: list[str], bad: Problems, label: str) -> list[int | None]:
    """Non-negative integers (``12.0`` is 12; ``12.5`` is rejected)."""
    arr = _numeric(cells, bad, label)
    frac = ~np.isnan(arr) & (np.floor(arr) != arr)
    for i in np.flatnonzero(frac).tolist():
        bad.put(i, f"必须是整数（填写的是 {cells[i]}）", 2)
    return [None if (x != x or f) else int(x) for x, f in zip(arr.tolist(), frac.tolist(), strict=True)]


def parse_money(cells: list[str], bad: Problems, label: str) -> list[Decimal | None]:
    out: list[Decimal | None] = []
    for i, v in enumerate(cells):
        if not v:
            out.append(None)
            continue
        t = v.replace(",", "").removeprefix("¥").removesuffix("元").strip()
        try:
            d = Decimal(t)
        except InvalidOperation:
            bad.put(i, f"“{_show(v)}”不是金额，请只填写数字（元）")
            out.append(None)
            continue
        if not d.is_finite():
            bad.put(i, f"“{_show(v)}”不是金额")
        elif d < 0:
            bad.put(i, "金额不能为负数")
        elif d != d.quantize(Decimal("0.01")):
            bad.put(i, "金额最多保留两位小数（精确到分）")
        out.append(d.quantize(Decimal("0.01")) if i not in bad else None)
    return out


def parse_map(cells: list[str], bad: Problems, mapping: dict[str, object], what: str,
              options: str | None = None) -> list[Any]:
    out: list[Any] = []
    opts = None
    for i, v in enumerate(cells):
        x = mapping.get(v.lower()) if v else None
        if x is None and v:
            if opts is None:
                opts = options or "、".join(dict.fromkeys(str(k) for k in mapping if not str(k).isascii()))
            bad.put(i, f"{what}“{_show(v)}”无效，可选：{opts}")
        out.append(x)
    return out


def parse_bool(cells: list[str], bad: Problems, label: str) -> list[Any]:
    return parse_map(cells, bad, BOOL_MAP, label, "是、否")


def parse_level(cells: list[str], bad: Problems, label: str) -> list[Any]:
    """区县、市级、省级、国家级 and their usual spellings (tracker.vocab); 市级以上 is refused as a
    filter, not a level."""
    out: list[Any] = []
    for i, v in enumerate(cells):
        x = canonical_level(v) if v else None
        if x is None and v:
            bad.put(i, level_error(_show(v)))
        out.append(x)
    return out


def parse_satisfaction(cells: list[str], bad: Problems, satisfied: list[str]) -> list[Any]:
    """是否满意: the five-level scale (非常满意 … 非常不满意, and spellings such as 很满意, 比较满意),
    satisfied when the answer is in ``satisfied`` (the spec's ``satisfaction.satisfied``), or 是/否."""
    out: list[Any] = []
    for i, v in enumerate(cells):
        if not v:
            out.append(None)
            continue
        answer = canonical_answer(v)
        x = (answer in satisfied) if answer else BOOL_MAP.get(v.lower())
        if x is None:
            bad.put(i, f"是否满意“{_show(v)}”无效，可选：{'、'.join(FIVE_LEVELS)}，或 是、否")
        out.append(x)
    return out


def parse_employment(cells: list[str], bad: Problems, label: str) -> list[Any]:
    return parse_map(cells, bad, EMPLOYMENT_MAP, label, "专职、兼职、志愿者（全职记为专职）")


def parse_phase(cells: list[str], bad: Problems, label: str) -> list[Any]:
    return parse_map(cells, bad, PHASE_MAP, label, "前测、中测、后测、单次")
