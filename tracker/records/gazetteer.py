"""Hangzhou's districts and towns (``tracker/data/gazetteer-hangzhou.yaml``, the one list): the names
a record's 区县 and 乡镇街道 may take in a project's area, each written to its canonical name.

``area_vocab(spec.project.area)`` resolves the spec's area (区县 names, or wordings such as 主城区,
杭州市, 市域范围内) to districts and their towns. ``AreaVocab.town(cell)`` and ``.district(cell)``
return ``(canonical name, None)`` or ``(None, Chinese message)``: spaces, a leading 杭州市 and a
leading district are dropped, and a town may be written without its suffix (乾潭 → 乾潭镇,
梅城 镇 → 梅城镇, 建德市梅城镇 → 梅城镇). A name of another district, or no known name, is an error
with a suggestion. An area the gazetteer does not know (outside Hangzhou) is not checked: names are
only cleaned (and canonicalised where they are Hangzhou names without doubt).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from tracker import config
from tracker.text import did_you_mean

GAZETTEER_PATH = config.PACKAGE_DIR / "data" / "gazetteer-hangzhou.yaml"
TOWN_SUFFIXES = ("畲族乡", "街道", "镇", "乡")


def clean(s: object) -> str:
    """NFKC, no whitespace anywhere (梅城 镇 → 梅城镇)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(s if s is not None else "")))


def _stem(town: str) -> str:
    for suf in TOWN_SUFFIXES:
        if town.endswith(suf) and len(town) > len(suf) + 1:
            return town[: -len(suf)]
    return town


@dataclass(frozen=True)
class District:
    name: str
    aliases: tuple[str, ...]
    towns: tuple[str, ...]
    town_aliases: dict[str, str]


@dataclass(frozen=True)
class Gazetteer:
    city: str
    districts: dict[str, District]
    areas: dict[str, tuple[str, ...]]
    also_in: dict[str, tuple[str, ...]]  # district → towns of another district it may also name
    town_index: dict[str, tuple[tuple[str, str], ...]]  # cleaned spelling → ((district, town), …)
    district_index: dict[str, str]  # cleaned spelling → district

    def district_of(self, town: str) -> str | None:
        for d in self.districts.values():
            if town in d.towns:
                return d.name
        return None


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    raw: dict[str, Any] = yaml.safe_load(GAZETTEER_PATH.read_text("utf-8"))
    districts: dict[str, District] = {}
    for name, d in raw["districts"].items():
        districts[name] = District(name, tuple(d.get("aliases") or ()), tuple(d["towns"]),
                                   dict(d.get("town_aliases") or {}))
    every = tuple(districts)
    areas = {clean(k): every if v == "all" else tuple(v) for k, v in (raw.get("areas") or {}).items()}
    also_in = {k: tuple(v) for k, v in (raw.get("also_in") or {}).items()}
    tindex: dict[str, list[tuple[str, str]]] = {}

    def put(spelling: str, district: str, town: str) -> None:
        hits = tindex.setdefault(clean(spelling), [])
        if (district, town) not in hits:
            hits.append((district, town))

    dindex: dict[str, str] = {}
    for d in districts.values():
        for t in d.towns:
            put(t, d.name, t)
            put(_stem(t), d.name, t)
        for alias, t in d.town_aliases.items():
            put(alias, d.name, t)
        for spelling in (d.name, *d.aliases):
            dindex[clean(spelling)] = d.name
    return Gazetteer(raw.get("city", "杭州市"), districts, areas, also_in,
                     {k: tuple(v) for k, v in tindex.items()}, dindex)


@dataclass(frozen=True)
class AreaVocab:
    area: tuple[str, ...]
    known: bool  # the area names districts of the gazetteer: names are checked
    districts: tuple[str, ...]
    towns: tuple[str, ...]  # canonical, in the gazetteer's order

    @property
    def area_text(self) -> str:
        return "、".join(self.area)

    def district(self, cell: object) -> tuple[str | None, str | None]:
        g = gazetteer()
        c = clean(cell)
        if not c:
            return None, None
        d = g.district_index.get(c) or g.district_index.get(c.removeprefix(g.city).removeprefix("杭州"))
        if d is None:
            if not self.known:
                return c, None
            return None, (f"区县“{c}”不是项目实施区域（{self.area_text}）内的区、县（市）"
                          f"{did_you_mean(c, self.districts)}；可选：{'、'.join(self.districts)}")
        if self.known and d not in self.districts:
            return None, f"区县“{c}”（{d}）不在项目实施区域（{self.area_text}）内：请核对，或修改规格中的 project.area"
        return d, None

    def town(self, cell: object) -> tuple[str | None, str | None]:
        c = clean(cell)
        if not c:
            return None, None
        hits, named = self._lookup(c)
        if not self.known:
            found = {t for _, t in hits}
            return (found.pop() if len(found) == 1 else c), None
        inside = [(d, t) for d, t in hits if d in self.districts or t in self._also()]
        found_in = sorted({t for _, t in inside})
        if len(found_in) == 1:
            return found_in[0], None
        if len(found_in) > 1:
            return None, f"乡镇街道“{c}”不明确，可能是：{'、'.join(found_in)}：请写全称"
        if hits:
            where = "、".join(sorted({f"{d}{t}" for d, t in hits}))
            return None, (f"乡镇街道“{c}”是{where}，不在项目实施区域（{self.area_text}）内："
                          "请核对，或修改规格中的 project.area")
        what = f"{named}的" if named else "的"
        hint = did_you_mean(c, self.towns) or _closest_stem(c, self.towns)
        return None, (f"乡镇街道“{c}”不是项目实施区域（{self.area_text}）内{what}乡镇、街道{hint}"
                      f"：请写规范名称，如 {'、'.join(self.towns[:3])}")

    def _also(self) -> set[str]:
        g = gazetteer()
        return {t for d in self.districts for t in g.also_in.get(d, ())}

    @staticmethod
    def _lookup(c: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
        """Gazetteer hits for a cleaned cell, trying it whole and then without a leading 杭州市 and
        district (建德市梅城镇); hits are narrowed to the district it names, if any."""
        g = gazetteer()
        hits = g.town_index.get(c, ())
        if hits:
            return hits, None
        rest = c.removeprefix(g.city).removeprefix("杭州")
        for spelling in sorted(g.district_index, key=len, reverse=True):
            if rest.startswith(spelling) and len(rest) > len(spelling):
                d = g.district_index[spelling]
                sub = g.town_index.get(rest[len(spelling):], ())
                if sub:
                    mine = tuple(h for h in sub if h[0] == d or h[1] in g.also_in.get(d, ()))
                    return (mine or sub), d
        return g.town_index.get(rest, ()), None


def _closest_stem(c: str, towns: tuple[str, ...]) -> str:
    """A "did you mean" by the names without their suffix (乾谭 → 乾潭镇: one character of two
    differs), naming the town in full."""
    stems: dict[str, str] = {}
    for t in towns:
        stems.setdefault(_stem(t), t)
    close = difflib.get_close_matches(_stem(c), list(stems), n=1, cutoff=0.5)
    return f"（是否想写 “{stems[close[0]]}”？）" if close else ""


@lru_cache(maxsize=256)
def area_vocab(area: tuple[str, ...]) -> AreaVocab:
    """The districts and towns a project's ``area`` allows (``known`` False: an area outside the
    gazetteer, names not checked)."""
    g = gazetteer()
    out: list[str] = []
    known = True
    for raw in area:
        a = clean(raw)
        found = g.areas.get(a) or ((g.district_index[a],) if a in g.district_index else None)
        if found is None:
            known = False
            continue
        out.extend(d for d in found if d not in out)
    if not out:
        known = False
    towns = [t for d in out for t in g.districts[d].towns]
    towns += [t for d in out for t in g.also_in.get(d, ()) if t not in towns]
    return AreaVocab(tuple(area), known and bool(out), tuple(out), tuple(towns))


def places_within(area: tuple[str, ...], what: str, *, districts: list[str] | None = None,
                  towns: list[str] | None = None) -> tuple[str, ...] | None:
    """Every town (``what="town"``) or district (``"district"``) of the area, narrowed to the
    ``districts`` and ``towns`` a KPI's ``where`` names: all a distinct count of towns or districts
    can reach. None where the area is not in the gazetteer (nothing is known)."""
    v = area_vocab(tuple(area))
    if not v.known:
        return None
    if what == "district":
        return tuple(d for d in v.districts if not districts or d in districts)
    keep = set(area_vocab(tuple(districts)).towns) if districts else None
    return tuple(t for t in v.towns if (keep is None or t in keep) and (not towns or t in towns))
