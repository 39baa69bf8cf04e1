"""Plausible people: Chinese names, birth dates fitting a population, valid 18-digit ID numbers.

ID numbers follow GB 11643: six-digit area code, birth date, three-digit sequence (odd for men,
even for women) and an ISO 7064 MOD 11-2 check character. Everything draws from the ``random.Random``
it is given, so a seed fixes the output.
"""

from __future__ import annotations

import datetime as dt
import random

# Common surnames, roughly weighted by frequency in Zhejiang.
_SURNAMES = ("王李张陈刘杨黄吴赵周徐孙朱胡沈马郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
             "程苏魏吕丁任钟方姚金邵汪俞楼钱应孔严陆章")
_SURNAME_WEIGHTS = [max(1, 30 - i // 2) for i in range(len(_SURNAMES))]

_ELDER_MALE = "根富福德金水明荣发财兴华国宝生林海才昌松贵"
_ELDER_FEMALE = "秀英凤兰珍芳玉花娟梅桂香彩月琴仙翠美菊娥"
_YOUNG_MALE = "浩宇轩然泽睿博文子杰俊涛晨阳昊天一鸣辰逸嘉豪铭"
_YOUNG_FEMALE = "欣怡梓涵雨萱诗琪思语可馨佳悦紫晴若彤依婷雅琳心"
_ADULT_MALE = "伟强磊军勇斌超刚健平建峰辉鹏飞亮志华明东海波"
_ADULT_FEMALE = "丽静敏燕艳娟霞婷慧红玲萍芳洁琳莉颖雪梅晶"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

AGE_RANGES: dict[str, tuple[int, int]] = {"elder": (60, 95), "child": (3, 17), "adult": (22, 59)}


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def is_valid_id(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return number[17] == check_char(number[:17])


def age_group(key: str, label: str) -> str:
    """elder / child / adult, from a population's key and label."""
    text = f"{key} {label}"
    if any(w in text for w in ("老", "elder", "供养", "destitute", "特困")):
        return "elder"
    if any(w in text for w in ("儿童", "child", "少年", "学生", "未成年")):
        return "child"
    return "adult"


def birth_date(rng: random.Random, group: str, on: dt.date) -> dt.date:
    lo, hi = AGE_RANGES[group]
    age = rng.randint(lo, hi)
    # elders: more people in their seventies than their nineties
    if group == "elder" and rng.random() < 0.5:
        age = rng.randint(lo + 5, min(hi, lo + 25))
    anniversary = dt.date(on.year - age, on.month, 28 if (on.month, on.day) == (2, 29) else on.day)
    return anniversary - dt.timedelta(days=rng.randint(0, 364))


def id_number(rng: random.Random, area_code: str, born: dt.date, male: bool) -> str:
    seq = rng.randint(0, 499) * 2 + 1 if male else rng.randint(1, 499) * 2
    first17 = f"{area_code}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def chinese_name(rng: random.Random, group: str, male: bool) -> str:
    surname = rng.choices(_SURNAMES, weights=_SURNAME_WEIGHTS, k=1)[0]
    pool = {
        ("elder", True): _ELDER_MALE, ("elder", False): _ELDER_FEMALE,
        ("child", True): _YOUNG_MALE, ("child", False): _YOUNG_FEMALE,
        ("adult", True): _ADULT_MALE, ("adult", False): _ADULT_FEMALE,
    }[(group, male)]
    n = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(pool) for _ in range(n))


_ORG_WORDS = ("阳光", "邻里", "春晖", "和美", "同心", "善行", "暖心", "向善", "益家", "乐龄", "锦绣", "睦邻",
              "安康", "明德", "清源", "启航", "微光", "众乐", "守望", "嘉禾")
_ORG_KINDS = ("社会工作服务中心", "公益服务中心", "志愿者协会", "养老服务中心", "社区发展基金会",
              "居家养老服务站", "慈善服务社", "社会组织服务中心")


def organisation_name(rng: random.Random, town: str) -> str:
    prefix = town.removesuffix("街道").removesuffix("镇").removesuffix("乡")
    return f"{prefix}{rng.choice(_ORG_WORDS)}{rng.choice(_ORG_KINDS)}"


_VILLAGE_WORDS = ("东", "西", "南", "北", "新", "联", "和", "平", "安", "丰", "兴", "华", "山", "溪", "塘",
                  "桥", "湖", "石", "林", "园", "庄", "岭", "坞", "湾", "春", "青", "金", "玉", "龙", "凤")


def village_name(rng: random.Random, town: str) -> str:
    """A neutral 村 or 社区 name for a town (街道 → 社区, 镇/乡 → 村)."""
    stem = "".join(rng.choice(_VILLAGE_WORDS) for _ in range(2))
    return f"{stem}社区" if town.endswith("街道") else f"{stem}村"
