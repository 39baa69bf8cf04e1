"""Fixed vocabularies shared by the specs and the importer: activity/publication levels and the
five-level satisfaction scale, with the spellings people write for them.

Levels are ordered 区县 < 市级 < 省级 < 国家级. "市级以上" is not a level a record has but a filter
on the records a KPI counts: a spec writes it ``where: {level_at_least: 市级}`` (the spec accepts
``市级以上`` there too and reads it as that).
"""

from __future__ import annotations

import re
import unicodedata

LEVELS: tuple[str, ...] = ("区县", "市级", "省级", "国家级")

# spelling (compared after NFKC, without spaces and brackets' content kept) → canonical level
LEVEL_SPELLINGS: dict[str, str] = {
    "区县": "区县", "区县级": "区县", "县区级": "区县", "区级": "区县", "县级": "区县", "县市级": "区县",
    "县市区级": "区县", "区县市级": "区县", "县(市、区)级": "区县", "区、县(市)级": "区县", "区(县、市)级": "区县",
    "县(市)级": "区县", "街道级": "区县", "镇街级": "区县",
    "市级": "市级", "地市级": "市级", "设区市级": "市级", "杭州市级": "市级", "市本级": "市级",
    "省级": "省级", "浙江省级": "省级",
    "国家级": "国家级", "全国": "国家级", "全国性": "国家级", "中央级": "国家级",
}

# "… 以上" / "… 及以上": filters, not levels (spec: where.level_at_least)
_AT_LEAST = re.compile(r"^(.+?)(?:及)?以上$")

FIVE_LEVELS: tuple[str, ...] = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
DEFAULT_SATISFIED: tuple[str, ...] = ("非常满意", "满意", "基本满意")
SATISFACTION_SPELLINGS: dict[str, str] = {
    "十分满意": "非常满意", "很满意": "非常满意", "比较满意": "满意", "较满意": "满意", "一般": "基本满意",
    "较不满意": "不满意", "比较不满意": "不满意", "很不满意": "非常不满意", "十分不满意": "非常不满意",
}


def _norm(s: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(s if s is not None else ""))).lower()


_LEVELS_NORM = {_norm(k): v for k, v in LEVEL_SPELLINGS.items()}


def canonical_level(s: object) -> str | None:
    """The canonical level of a spelling (区级 → 区县, 全国 → 国家级), or None."""
    return _LEVELS_NORM.get(_norm(s))


def at_least_level(s: object) -> str | None:
    """The level of a filter spelling such as 市级以上 / 省级及以上 (→ 市级 / 省级), or None."""
    m = _AT_LEAST.match(_norm(s))
    return canonical_level(m[1]) if m else None


def level_error(s: object) -> str:
    """The Chinese message for a cell that is not a level."""
    floor = at_least_level(s)
    if floor:
        return (f"级别“{s}”不是一个级别，而是筛选条件：请填写这条记录的实际级别"
                f"（{'、'.join(LEVELS[LEVELS.index(floor):])}）；"
                f"“{floor}以上”的指标在规格中写 where: {{level_at_least: {floor}}}")
    return f"级别“{s}”无效，可选：{'、'.join(LEVELS)}（也可写 区级、县级、区县级）"


def canonical_answer(s: object) -> str | None:
    """One of the five levels for a spelling of it (很满意 → 非常满意), or None."""
    n = _norm(s)
    if n in FIVE_LEVELS:
        return n
    return SATISFACTION_SPELLINGS.get(n)
