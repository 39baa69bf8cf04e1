"""Small text helpers shared by every output: numbers as people read them, terminal display width
(CJK characters take two columns) and the "did you mean" hint of error messages."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable


def fmt_num(v: float | None) -> str:
    """A figure for people: at most two decimals, thousands separated, ``—`` for none
    (1234.5 → 1,234.5; 12.0 → 12)."""
    if v is None:
        return "—"
    v = round(float(v), 2)
    if v.is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def display_width(s: str) -> int:
    """Columns a string takes in a terminal: wide and full-width characters (汉字, （）) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def pad(s: str, width: int, right: bool = False) -> str:
    """``s`` padded with spaces to ``width`` display columns (aligned right with ``right``)."""
    fill = " " * max(0, width - display_width(s))
    return fill + s if right else s + fill


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``（是否想写 “…”？）`` naming the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"（是否想写 “{close[0]}”？）" if close else ""
