"""Does a spec cover its release-table clauses? Every clause needs a KPI, and every number a clause
states must be a target (or a per-record bound, a cap …) of one of its KPIs, or be listed in the
clause's ``not_targets`` with a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracker.kpispec.model import Clause, Spec
from tracker.kpispec.release_table import ReleaseProject

_FULLWIDTH = str.maketrans("０１２３４５６７８９％．", "0123456789%.")
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
# Chinese numerals count only before a measure word; idioms such as 一对一、一人一策 are not quantities.
_COUNTERS = "个次场期名人户篇份本套支门家类项部件所组节天小时月年周批位例份册条"
_IDIOM = re.compile(r"一[^一，。；、\s]{1,3}一[^，。；、\s]{0,3}|一对一|进一步|第[一二三四五六七八九十\d]+|之一|统一|一线|一批|一体|一定|一起|一致|一般|唯一|逐一|一览")
_SUBITEM = re.compile(r"[（(]\d{1,2}[）)]|^\d{1,2}[.、]")
_ARABIC = re.compile(r"(\d+(?:\.\d+)?)\s*(万)?")
_CHINESE = re.compile(rf"([零一二两三四五六七八九十百千万]+)(?=[{_COUNTERS}])")


def cn_to_number(token: str) -> float | None:
    """Convert a Chinese numeral token (一万五千, 两, 十二) to a number."""
    if not token:
        return None
    total, section, digit = 0, 0, None
    for ch in token:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if unit == 10000:
                section = (section + (digit or 0)) * unit
                total += section
                section = 0
            else:
                section += (digit if digit is not None else 1) * unit
            digit = None
        else:
            return None
    return float(total + section + (digit or 0))


@dataclass(frozen=True)
class Quantity:
    value: float
    text: str  # as written, e.g. "1.5万", "两", "85%"


def quantities(text: str) -> list[Quantity]:
    """Every quantity stated in a clause text, normalised (1.5万 → 15000, 两 → 2, 85％ → 85)."""
    t = text.translate(_FULLWIDTH)
    t = "\n".join(_SUBITEM.sub(" ", line.strip()) for line in t.split("\n"))
    out: list[Quantity] = []
    for m in _ARABIC.finditer(t):
        v = float(m.group(1)) * (10000 if m.group(2) else 1)
        out.append(Quantity(v, m.group(0).strip()))
    t2 = _IDIOM.sub(" ", _ARABIC.sub(" ", t))
    for m in _CHINESE.finditer(t2):
        v = cn_to_number(m.group(1))
        if v is not None:
            out.append(Quantity(v, m.group(1)))
    return out


def _used_numbers(clause: Clause) -> set[float]:
    used: set[float] = set()
    for k in clause.kpis:
        for v in (k.target, k.cap_per_person, k.min_each if k.min_each != 1 else None, k.min_experience_years):
            if v is not None:
                used.add(float(v))
        if k.min_each == 1 and k.members is not None:
            used.add(1.0)
        for b in (leaf for e in k.each for leaf in e.leaves):
            used |= {float(x) for x in (b.min, b.max) if x is not None}
        if k.members:
            used.add(float(len(k.members)))
        if k.pacing and k.pacing.milestones:
            used |= {float(m.value) for m in k.pacing.milestones}
    return used


def uncovered(spec: Spec, release: ReleaseProject) -> list[str]:
    """Human-readable gaps: clauses without KPIs, numbers neither targeted nor explained."""
    gaps: list[str] = []
    by_number = {c.clause: c for c in spec.clauses}
    for rc in release.clauses:
        clause = by_number.get(rc.number)
        if clause is None or not clause.kpis:
            gaps.append(f"{spec.code} 第{rc.number}条没有指标")
            continue
        used = _used_numbers(clause)
        explained = " ".join(nt.value for nt in clause.not_targets)
        for q in quantities(rc.text):
            if q.value in used:
                continue
            if q.text in explained or _fmt(q.value) in explained:
                continue
            gaps.append(f"{spec.code} 第{rc.number}条中的数量 “{q.text}” 既不是指标目标，也未在 not_targets 中说明")
    return gaps


def _fmt(v: float) -> str:
    return f"{v:g}"
