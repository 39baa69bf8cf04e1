"""Vectorised parsing of one column of raw cells (strings, "" when empty) into typed values.

Each parser returns the parsed values and, per bad cell, a Chinese reason. Cells are read as text
(IDs and phone numbers stay strings); full-width digits and letters are NFKC-normalised first.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from tracker.records.columns import BOOL_MAP, LEVEL_MAP, PHASE_MAP

Bad = dict[int, str]  # position in the chunk → reason

_SCI = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")
_INT_FLOAT = re.compile(r"^\d+\.0+$")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_RE = re.compile(r"^\d{4,5}(?:\.\d+)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
DATE_HINT = "（可写作 2024-06-01、2024/6/1、2024.6.1 或 2024年6月1日）"


def clean(s: pd.Series) -> pd.Series:
    """NFKC (only where a cell is not plain ASCII) and trim."""
    s = s.astype(object).where(s.notna(), "")
    vals = s.tolist()
    out = [unicodedata.normalize("NFKC", v).strip() if not v.isascii() else v.strip() for v in vals]
    return pd.Series(out, index=s.index, dtype=object)


def trim(s: pd.Series) -> pd.Series:
    s = s.astype(object).where(s.notna(), "")
    return pd.Series([v.strip() for v in s.tolist()], index=s.index, dtype=object)


def _show(v: str) -> str:
    return v if len(v) <= 30 else v[:30] + "…"


def parse_code(s: pd.Series, bad: Bad, what: str) -> pd.Series:
    """An identifier: text; a float-mangled number (1.23E+17) is rejected, ``1001.0`` becomes ``1001``."""
    vals = s.tolist()
    out: list[str | None] = []
    for i, v in enumerate(vals):
        if not v:
            out.append(None)
        elif _SCI.match(v):
            bad[i] = f"{what}“{_show(v)}”被 Excel 转成了科学计数法，位数已丢失：请把该列设为“文本”格式后重新填写"
            out.append(None)
        elif _INT_FLOAT.match(v):
            out.append(v.split(".")[0])
        else:
            out.append(v)
    return pd.Series(out, index=s.index, dtype=object)


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


def parse_date(s: pd.Series, bad: Bad, label: str) -> pd.Series:
    """Dates as ``datetime64[s]`` (NaT when empty or bad)."""
    d = pd.to_datetime(s.where(s != "", None), format="%Y-%m-%d", errors="coerce")
    rest = d.isna().to_numpy() & (s != "").to_numpy()
    if rest.any():
        d = d.astype("datetime64[s]").copy()
        for i in np.flatnonzero(rest):
            v = s.iat[i]
            r = _one_date(v)
            if isinstance(r, dt.date):
                d.iat[i] = pd.Timestamp(r)
            elif r == "invalid":
                bad[i] = f"“{_show(v)}”不是真实存在的日期"
            else:
                bad[i] = f"“{_show(v)}”不是日期{DATE_HINT}"
    return d.astype("datetime64[s]")


def _numeric(s: pd.Series, bad: Bad, label: str) -> pd.Series:
    t = s.str.replace(",", "", regex=False) if len(s) else s
    num = pd.to_numeric(t.where(t != "", None), errors="coerce").astype("float64")
    badmask = num.isna().to_numpy() & (s != "").to_numpy()
    for i in np.flatnonzero(badmask):
        bad[i] = f"“{_show(s.iat[i])}”不是数字，请只填写数字"
    neg = (num < 0).to_numpy()
    for i in np.flatnonzero(neg):
        bad[i] = f"不能为负数（填写的是 {s.iat[i]}）"
    return num.where(~neg)


def parse_number(s: pd.Series, bad: Bad, label: str) -> pd.Series:
    return _numeric(s, bad, label)


def parse_count(s: pd.Series, bad: Bad, label: str) -> pd.Series:
    """Non-negative integers (``12.0`` is 12; ``12.5`` is rejected). Returns object values (int or None)."""
    num = _numeric(s, bad, label)
    arr = num.to_numpy()
    frac = ~np.isnan(arr) & (np.floor(arr) != arr)
    for i in np.flatnonzero(frac):
        bad[i] = f"必须是整数（填写的是 {s.iat[i]}）"
    out = [None if (x != x or f) else int(x) for x, f in zip(arr.tolist(), frac.tolist(), strict=True)]
    return pd.Series(out, index=s.index, dtype=object)


def parse_money(s: pd.Series, bad: Bad, label: str) -> pd.Series:
    out: list[Decimal | None] = []
    for i, v in enumerate(s.tolist()):
        if not v:
            out.append(None)
            continue
        t = v.replace(",", "").removeprefix("¥").removesuffix("元").strip()
        try:
            d = Decimal(t)
        except InvalidOperation:
            bad[i] = f"“{_show(v)}”不是金额，请只填写数字（元）"
            out.append(None)
            continue
        if not d.is_finite():
            bad[i] = f"“{_show(v)}”不是金额"
        elif d < 0:
            bad[i] = "金额不能为负数"
        elif d != d.quantize(Decimal("0.01")):
            bad[i] = "金额最多保留两位小数（精确到分）"
        out.append(d.quantize(Decimal("0.01")) if i not in bad else None)
    return pd.Series(out, index=s.index, dtype=object)


def parse_map(s: pd.Series, bad: Bad, mapping: dict[str, object], what: str,
              options: str | None = None) -> pd.Series:
    keyed = s.str.lower() if len(s) else s
    out = keyed.map(lambda v: mapping.get(v) if v else None)
    missing = out.isna().to_numpy() & (s != "").to_numpy()
    if missing.any():
        opts = options or "、".join(dict.fromkeys(str(k) for k in mapping if not str(k).isascii()))
        for i in np.flatnonzero(missing):
            bad[i] = f"{what}“{_show(s.iat[i])}”无效，可选：{opts}"
    return out.astype(object).where(out.notna(), None)


def parse_bool(s: pd.Series, bad: Bad, label: str) -> pd.Series:
    return parse_map(s, bad, BOOL_MAP, label, "是、否")


def parse_level(s: pd.Series, bad: Bad, label: str) -> pd.Series:
    return parse_map(s, bad, LEVEL_MAP, label, "区县、市级、省级、国家级")


def parse_phase(s: pd.Series, bad: Bad, label: str) -> pd.Series:
    return parse_map(s, bad, PHASE_MAP, label, "前测、中测、后测、单次")
