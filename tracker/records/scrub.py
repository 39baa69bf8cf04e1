"""ID numbers and phone numbers wherever they hide: in free text, extra columns and code columns.

A 居民身份证 number that passes GB 11643 (18 characters with a valid check character, or an old
15-digit number with a valid area code and birth date) is masked (``330106********002X``) wherever
it appears in a cell that is stored; a mobile (``138****5678``) or landline phone number likewise,
except in a column declared a contact phone (``PHONE_HEADERS``). A code column (服务对象编号,
记录编号 …) holding an ID number is refused: an ID number must never be a record's identity.

Messages (:func:`scrub_message`) are scrubbed harder: every run shaped like an ID number is masked,
even one whose check character is wrong.

Everything works on a chunk's distinct cells and starts with one regular-expression scan over all of
them joined: a chunk without any run of digits long enough costs one C-level pass, and only the
cells with a hit are looked at one by one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np

from tracker.records.privacy import IdNumberError, mask_id, normalise_id_number, validate_id_number

_D = "0-9０-９"
_X = "XxＸｘ"
# an ID candidate: 15 or 18 characters (the last may be X) not inside a longer run of digits
_ID = rf"(?<![{_D}])[1-9１-９][{_D}]{{14}}(?:[{_D}]{{2}}[{_D}{_X}])?(?![{_D}{_X}])"
# mobile numbers (with optional +86, spaces or dashes) and landlines with an area code (0571-8888 6666)
_MOBILE = rf"(?<![{_D}])(?:\+?86[ -]?)?1[3-9][0-9][ -]?[0-9]{{4}}[ -]?[0-9]{{4}}(?![{_D}])"
_LANDLINE = rf"(?<![{_D}])0[1-9][0-9]{{1,2}}[ -]?[2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}(?![{_D}])"
_ANY = re.compile(rf"(?P<id>{_ID})|(?P<phone>{_MOBILE}|{_LANDLINE})")
_IDS = re.compile(rf"(?P<id>{_ID})")
_WHOLE_ID = re.compile(rf"\s*{_ID}\s*")

PHONE_HEADERS = ("联系电话", "电话", "手机", "手机号", "手机号码", "联系方式", "电话号码", "联系人电话")

CODE_IS_ID = ("填写的是身份证号，身份证号不能用作编号（会以明文出现在报告中）：请把身份证号填在“身份证号”列，"
              "{label}改用项目内自编的编号（如 P001）")


def is_id_number(s: str) -> bool:
    """A valid 18-character number, or an old 15-digit one (area code and birth date valid)."""
    v = normalise_id_number(s)
    if len(v) == 18:
        try:
            validate_id_number(v)
        except IdNumberError:
            return False
        return True
    if len(v) == 15 and v.isdigit() and v[0] != "0" and "11" <= v[:2] <= "91":
        try:
            dt.date(1900 + int(v[6:8]), int(v[8:10]), int(v[10:12]))
        except ValueError:
            return False
        return True
    return False


def mask_phone(s: str) -> str:
    """``138****5678``, ``0571-****6666``: a mobile's first three digits (after +86) or a landline's
    area code, and the last four; separators stay where they were."""
    digits = re.sub(r"\D", "", s)
    national = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    if national.startswith("1"):
        head = len(digits) - len(national) + 3
    else:
        m = re.match(r"0[0-9]{2,3}(?=[ -])", s)
        head = len(m.group(0)) if m else 3
    tail = len(digits) - 4
    out, k = [], 0
    for c in s:
        if c.isdigit():
            out.append(c if k < head or k >= tail else "*")
            k += 1
        else:
            out.append(c)
    return "".join(out)


def _replace(m: re.Match[str]) -> str:
    s = m.group(0)
    if m.lastgroup == "id":
        return mask_id(s) if is_id_number(s) else s
    return mask_phone(s)


def scrub_text(s: str, *, phones: bool = True) -> str:
    return (_ANY if phones else _IDS).sub(_replace, s)


def _hit_cells(cells: Sequence[str | None], pattern: re.Pattern[str]) -> list[int]:
    """Indexes of the cells in which ``pattern`` finds something (one scan over all of them)."""
    texts = [c or "" for c in cells]
    joined = "\n".join(texts)
    starts = [m.start() for m in pattern.finditer(joined)]
    if not starts:
        return []
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1)
    return sorted(set(np.searchsorted(ends, starts, side="right").tolist()))


def scrub_cells(cells: list[str | None], *, phones: bool = True) -> list[str | None]:
    """The cells with every ID number (and phone number) masked; the same list when there is none."""
    pattern = _ANY if phones else _IDS
    hits = _hit_cells(cells, pattern)
    if not hits:
        return cells
    out = list(cells)
    for i in hits:
        v = out[i]
        if v:
            out[i] = scrub_text(v, phones=phones)
    return out


def id_cells(cells: Sequence[str | None]) -> list[int]:
    """Indexes of the cells that are (only) an ID number: a code column must not hold one."""
    return [i for i in _hit_cells(cells, _IDS)
            if (v := cells[i]) and _WHOLE_ID.fullmatch(v) and is_id_number(v)]


def is_phone_header(header: str) -> bool:
    return any(h in header for h in PHONE_HEADERS)


def scrub_message(s: str) -> str:
    """A message (an error's 错误说明, printed, shown on a page, written in the error file) with every
    run shaped like an ID number masked, valid or not: a mistyped ID number quoted by a message is
    still someone's ID number. Phone numbers stay (a message never quotes one but the user's own)."""
    return _IDS.sub(lambda m: mask_id(m.group(0)), s) if s else s


def scrub_messages(messages: list[str]) -> list[str]:
    """Messages scrubbed as :func:`scrub_message` does; the same list when none holds an ID-shaped run."""
    hits = _hit_cells(messages, _IDS)
    if not hits:
        return messages
    out = list(messages)
    for i in hits:
        out[i] = scrub_message(out[i])
    return out
