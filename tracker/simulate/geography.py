"""Real townships (乡镇、街道) of Hangzhou's districts and counties, and the areas projects name.

Names follow the administrative divisions in force in 2024 (after the 2021 re-division that created
临平区 and 钱塘区). Villages and communities (村社) are not listed: the simulator makes up neutral
names for them. Area codes are the GB/T 2260 codes used in 18-digit ID numbers.
"""

from __future__ import annotations

DISTRICT_TOWNS: dict[str, tuple[str, ...]] = {
    "上城区": ("湖滨街道", "清波街道", "小营街道", "望江街道", "南星街道", "紫阳街道", "凯旋街道",
             "采荷街道", "闸弄口街道", "四季青街道", "笕桥街道", "彭埠街道", "九堡街道", "丁兰街道"),
    "拱墅区": ("米市巷街道", "湖墅街道", "小河街道", "和睦街道", "拱宸桥街道", "大关街道", "上塘街道",
             "祥符街道", "康桥街道", "半山街道", "武林街道", "天水街道", "朝晖街道", "潮鸣街道",
             "长庆街道", "石桥街道", "东新街道", "文晖街道"),
    "西湖区": ("北山街道", "西溪街道", "灵隐街道", "翠苑街道", "文新街道", "古荡街道", "转塘街道",
             "留下街道", "蒋村街道", "三墩镇", "双浦镇"),
    "滨江区": ("西兴街道", "长河街道", "浦沿街道"),
    "萧山区": ("城厢街道", "北干街道", "蜀山街道", "新塘街道", "靖江街道", "南阳街道", "闻堰街道",
             "宁围街道", "新街街道", "盈丰街道", "瓜沥镇", "党湾镇", "益农镇", "所前镇", "义桥镇",
             "衙前镇", "临浦镇", "楼塔镇", "河上镇", "戴村镇", "浦阳镇", "进化镇"),
    "余杭区": ("五常街道", "仓前街道", "余杭街道", "闲林街道", "中泰街道", "良渚街道", "仁和街道",
             "瓶窑镇", "径山镇", "黄湖镇", "鸬鸟镇", "百丈镇"),
    "临平区": ("临平街道", "南苑街道", "东湖街道", "星桥街道", "运河街道", "乔司街道", "崇贤街道",
             "塘栖镇"),
    "钱塘区": ("下沙街道", "白杨街道", "河庄街道", "义蓬街道", "新湾街道", "临江街道", "前进街道"),
    "富阳区": ("富春街道", "春江街道", "东洲街道", "鹿山街道", "银湖街道", "万市镇", "洞桥镇",
             "渌渚镇", "永昌镇", "里山镇", "常绿镇", "场口镇", "常安镇", "龙门镇", "新登镇", "胥口镇",
             "大源镇", "灵桥镇", "上官乡", "环山乡", "湖源乡", "春建乡", "新桐乡"),
    "临安区": ("锦城街道", "锦北街道", "锦南街道", "玲珑街道", "青山湖街道", "太湖源镇", "於潜镇",
             "天目山镇", "太阳镇", "潜川镇", "昌化镇", "龙岗镇", "河桥镇", "湍口镇", "清凉峰镇",
             "岛石镇", "板桥镇", "高虹镇"),
    "桐庐县": ("城南街道", "旧县街道", "桐君街道", "凤川街道", "富春江镇", "横村镇", "分水镇",
             "百江镇", "江南镇", "瑶琳镇", "合村乡", "莪山畲族乡", "钟山乡", "新合乡"),
    "淳安县": ("千岛湖镇", "文昌镇", "石林镇", "临岐镇", "威坪镇", "姜家镇", "梓桐镇", "汾口镇",
             "中洲镇", "大墅镇", "枫树岭镇", "里商乡", "金峰乡", "富文乡", "左口乡", "屏门乡", "瑶山乡",
             "王阜乡", "宋村乡", "鸠坑乡", "浪川乡", "界首乡", "安阳乡"),
    "建德市": ("新安江街道", "洋溪街道", "更楼街道", "梅城镇", "寿昌镇", "乾潭镇", "杨村桥镇",
             "下涯镇", "大洋镇", "三都镇", "大同镇", "李家镇", "航头镇", "大慈岩镇", "莲花镇", "钦堂乡"),
    "西湖风景名胜区": ("西湖街道",),
}

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
