"""Real townships (乡镇、街道) of Hangzhou's districts and counties, and the areas projects name.

Names come from the gazetteer the importer checks records against
(``tracker/data/gazetteer-hangzhou.yaml``: the divisions in force in 2024, after the 2021
re-division that created 临平区 and 钱塘区). Villages and communities (村社) are not listed: the simulator makes up neutral
names for them. Area codes are the GB/T 2260 codes used in 18-digit ID numbers.
"""

from __future__ import annotations

from tracker.records.gazetteer import gazetteer

# The one list of districts and towns: tracker/data/gazetteer-hangzhou.yaml (tracker.records.gazetteer).
DISTRICT_TOWNS: dict[str, tuple[str, ...]] = {d.name: d.towns for d in gazetteer().districts.values()}

# GB/T 2260 administrative codes (the first six digits of an ID number issued there).
AREA_CODES: dict[str, str] = {
    "上城区": "330102", "拱墅区": "330105", "西湖区": "330106", "滨江区": "330108", "萧山区": "330109",
    "余杭区": "330110", "富阳区": "330111", "临安区": "330112", "临平区": "330113", "钱塘区": "330114",
    "桐庐县": "330122", "淳安县": "330127", "建德市": "330182", "西湖风景名胜区": "330106",
}

WEST_FIVE: tuple[str, ...] = ("富阳区", "临安区", "桐庐县", "淳安县", "建德市")
URBAN: tuple[str, ...] = ("上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区")
MAIN_URBAN: tuple[str, ...] = ("上城区", "拱墅区", "西湖区", "滨江区")
ALL_DISTRICTS: tuple[str, ...] = URBAN + WEST_FIVE

_WHOLE_CITY = ("杭州市", "全杭州市", "市域范围内", "全市范围内", "市域", "杭州市全域")


def districts_for_area(area: list[str] | tuple[str, ...]) -> list[str]:
    """The districts/counties a project's ``area`` names, in a stable order.

    Whole-city wordings (杭州市, 市域范围内 …) give all thirteen; 主城区 the four central districts;
    "杭州市（西部五县市除外）" the eight urban districts.
    """
    out: list[str] = []
    for raw in area:
        a = raw.strip()
        if a in DISTRICT_TOWNS:
            found: tuple[str, ...] = (a,)
        elif "西部五县市除外" in a:
            found = URBAN
        elif a in _WHOLE_CITY or a.startswith("杭州市") or "全市" in a:
            found = ALL_DISTRICTS
        elif a == "主城区":
            found = MAIN_URBAN
        elif a == "西部五县市":
            found = WEST_FIVE
        else:
            found = tuple(d for d in DISTRICT_TOWNS if d.startswith(a.rstrip("区县市")))
        for d in found:
            if d not in out:
                out.append(d)
    return out or list(ALL_DISTRICTS)


def towns_for_area(area: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """Every (district, town) pair inside a project's area."""
    return [(d, t) for d in districts_for_area(area) for t in DISTRICT_TOWNS[d]]


def district_of_town(town: str) -> str | None:
    for d, towns in DISTRICT_TOWNS.items():
        if town in towns:
            return d
    return None
