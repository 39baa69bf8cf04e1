"""The columns of each record kind: English key, Chinese label, value type, database column.

docs/contracts.md section 3 fixes the keys and labels of roster, activity, survey, approval, expense and
deliverable; the other kinds (incident, staff, credential, assessment) follow the same pattern.
Headers may be the key or the label (compared after NFKC, so full-width brackets match).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from tracker.db.models import RECORD_TABLES, RecordBase

# value types
TEXT = "text"  # free text, kept as written (trimmed)
CODE = "code"  # an identifier (record_id, person_id …): NFKC, never a float
DATE = "date"
COUNT = "count"  # non-negative integer
NUMBER = "number"  # non-negative number
MONEY = "money"  # amount in yuan, two decimals
BOOL = "bool"  # 是/否
LEVEL = "level"  # 区县 < 市级 < 省级 < 国家级
EMPLOYMENT = "employment"  # 专职/兼职/志愿者
PHASE = "phase"  # 前测/中测/后测/单次
ID_NUMBER = "id_number"  # 身份证号: stored as a keyed hash and a masked form only
POPULATION = "population"
VOCAB = "vocab"  # a vocabulary of the project's spec (see Col.vocab)
DISTRICT = "district"  # 区县: a district of the project's area (tracker.records.gazetteer), canonical name
TOWN = "town"  # 乡镇街道: a town of the project's area, canonical name (乾潭 → 乾潭镇)
VILLAGE = "village"  # 村社: free text without spaces (no list of villages is shipped)
SATISFACTION = "satisfaction"  # 是否满意: 是/否 or the five-level scale, mapped by the spec's satisfaction


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    type: str = TEXT
    db: str | None = None  # database column; default: key
    required: bool = False
    vocab: str | None = None  # activity_types, respondent_types, deliverable_types …
    aliases: tuple[str, ...] = ()
    period: bool = False  # a date that must lie inside the project's period
    future_ok: bool = False

    @property
    def column(self) -> str:
        return self.db or self.key


@dataclass(frozen=True)
class KindDef:
    kind: str
    label: str
    columns: tuple[Col, ...]
    natural_key: str | None = None  # roster: person_id, staff: staff_id (the record's identity)
    detect_any: tuple[str, ...] = ()  # detection from headers needs one of these too
    extra: dict[str, str] = field(default_factory=dict)
    # What makes a row a record (when it has no record_id): the columns that define the event. Every
    # other column, and every column the table does not know (序号, unknown headers), is content: a
    # change there amends the record instead of adding one.
    identity: tuple[str, ...] = ()
    # Rows with equal identity are distinct records, numbered by occurrence (anonymous survey answers,
    # two equal payments on one day); otherwise a repeated identity is a duplicate row.
    repeats: bool = False

    @property
    def model(self) -> type[RecordBase]:
        return RECORD_TABLES[self.kind]

    def col(self, key: str) -> Col:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def identity_columns(self) -> list[str]:
        """The database columns of ``identity``."""
        return [self.col(k).column for k in self.identity]

    @property
    def required(self) -> list[Col]:
        return [c for c in self.columns if c.required]


_RID = Col("record_id", "记录编号", CODE)
_DATE = Col("date", "日期", DATE, required=True, period=True)
_PERSON = Col("person_id", "服务对象编号", CODE)
_NOTES = Col("notes", "备注")

KINDS: dict[str, KindDef] = {
    k.kind: k
    for k in (
        KindDef("roster", "服务对象名册", (
            Col("person_id", "服务对象编号", CODE, required=True),
            Col("name", "姓名"),
            Col("id_number", "身份证号", ID_NUMBER, db="id_hash", aliases=("身份证号码", "公民身份号码")),
            Col("population", "人群", POPULATION, aliases=("服务对象类型",)),
            Col("household", "户号", CODE),
            Col("district", "区县", DISTRICT, aliases=("区县（市）", "区、县（市）", "所属区县")),
            Col("town", "乡镇街道", TOWN, aliases=("乡镇（街道）", "镇街", "乡镇", "街道", "所属乡镇街道")),
            Col("village", "村社", VILLAGE, aliases=("村（社区）", "村社区")),
            Col("category", "类别"),
            Col("enrolled_on", "建档日期", DATE),
            Col("exit_on", "结案日期", DATE, aliases=("退出日期", "结案时间")),
            Col("birth_date", "出生日期", DATE),
        ), natural_key="person_id", identity=("person_id",)),
        KindDef("activity", "活动记录", (
            _RID, _DATE,
            Col("activity", "活动类型", VOCAB, db="activity_type", required=True, vocab="activity_types"),
            _PERSON,
            Col("participants", "参与人数", COUNT),
            Col("hours", "时长（小时）", NUMBER, aliases=("时长",)),
            Col("days", "天数", NUMBER),
            Col("district", "区县", DISTRICT, aliases=("区县（市）", "区、县（市）", "所属区县")),
            Col("town", "乡镇街道", TOWN, aliases=("乡镇（街道）", "镇街", "乡镇", "街道", "所属乡镇街道")),
            Col("village", "村社", VILLAGE, aliases=("村（社区）", "村社区")),
            Col("location", "地点"),
            Col("level", "级别", LEVEL),
            Col("group", "小组名称", db="group_name", aliases=("小组", "营期", "个案")),
            Col("time", "时间", aliases=("开始时间", "活动时间", "服务时间")),
            Col("session", "场次", COUNT, aliases=("当日场次", "当日次序", "次序")),
            Col("staff", "工作人员"),
            Col("requested_on", "需求登记日期", DATE, aliases=("需求日期", "受理日期", "申请日期", "派单日期")),
            _NOTES,
            Col("evidence", "佐证材料", aliases=("佐证",)),
        ), identity=("date", "activity", "person_id", "group", "location", "time", "session")),
        KindDef("survey", "满意度调查", (
            _RID, _DATE,
            Col("respondent_type", "调查对象类型", VOCAB, vocab="respondent_types"),
            _PERSON,
            Col("satisfied", "是否满意", SATISFACTION, aliases=("满意度", "满意程度", "总体满意度")),
            Col("score", "评分", NUMBER, aliases=("满意度得分", "满意度评分", "得分")),
        ), detect_any=("respondent_type", "satisfied", "score"),
            identity=("date", "respondent_type", "person_id", "satisfied", "score"), repeats=True),
        KindDef("deliverable", "成果", (
            _RID, _DATE,
            Col("deliverable", "成果类型", VOCAB, db="deliverable_type", required=True, vocab="deliverable_types"),
            Col("title", "标题"),
            _PERSON,
            Col("words", "字数", COUNT),
            Col("minutes", "时长（分钟）", NUMBER),
            Col("copies", "数量", COUNT),
            Col("level", "级别", LEVEL),
            Col("district", "区县", DISTRICT, aliases=("区县（市）", "区、县（市）", "所属区县")),
            Col("town", "乡镇街道", TOWN, aliases=("乡镇（街道）", "镇街", "乡镇", "街道", "所属乡镇街道")),
            Col("file", "文件"),
        ), identity=("date", "deliverable", "title", "person_id")),
        KindDef("approval", "审批记录", (
            _RID,
            Col("date", "审批日期", DATE, required=True),
            Col("activity", "活动类型", VOCAB, db="activity_type", vocab="approval_scopes"),
            Col("valid_from", "起始日期", DATE, future_ok=True),
            Col("valid_to", "截止日期", DATE, future_ok=True),
            Col("reference", "审批文号"),
            _NOTES,
        ), identity=("date", "activity", "reference")),
        KindDef("incident", "事件记录", (
            _RID, _DATE,
            Col("incident_type", "事件类型", VOCAB, required=True, vocab="incident_types"),
            Col("description", "事件描述"),
            _NOTES,
        ), identity=("date", "incident_type", "description")),
        KindDef("staff", "工作人员", (
            _RID,
            Col("staff_id", "工作人员编号", CODE, required=True),
            Col("name", "姓名"),
            Col("role", "岗位", aliases=("职务", "角色")),
            Col("employment", "用工性质", EMPLOYMENT, aliases=("用工形式", "聘用形式", "专兼职")),
            Col("works_with_children", "是否接触儿童", BOOL),
            Col("started_on", "入职日期", DATE),
            Col("left_on", "离职日期", DATE),
            Col("practice_since", "从业起始日期", DATE, aliases=("从业日期", "参加工作日期", "参加工作时间")),
            Col("experience_years", "工作年限", NUMBER, aliases=("从业年限", "工作经验（年）", "工作经验年限")),
        ), natural_key="staff_id", identity=("staff_id",)),
        KindDef("credential", "工作人员资质", (
            _RID,
            Col("staff_id", "工作人员编号", CODE, required=True),
            Col("credential", "资质类型", VOCAB, required=True, vocab="credentials"),
            Col("obtained_on", "取得日期", DATE),
            Col("expires_on", "有效期至", DATE, future_ok=True),
            Col("reference", "证书编号"),
        ), identity=("staff_id", "credential", "reference")),
        KindDef("assessment", "评估记录", (
            _RID, _DATE,
            Col("instrument", "评估工具", VOCAB, required=True, vocab="instruments"),
            _PERSON,
            Col("phase", "阶段", PHASE),
            Col("score", "评分", NUMBER),
            Col("passed", "是否合格", BOOL),
        ), identity=("date", "instrument", "person_id", "phase")),
        KindDef("expense", "经费支出", (
            _RID, _DATE,
            Col("category", "科目", required=True),
            Col("amount", "金额（元）", MONEY, required=True, aliases=("金额",)),
            Col("notes", "备注", aliases=("摘要",)),
        ), identity=("date", "category", "amount"), repeats=True),
    )
}

KIND_ALIASES: dict[str, str] = {**{k.label: k.kind for k in KINDS.values()}, "person": "roster",
                                "名册": "roster", "活动": "activity", "调查": "survey", "审批": "approval",
                                "事件": "incident", "资质": "credential", "评估": "assessment", "支出": "expense"}

PROJECT_HEADERS = ("project", "项目编号")
# not read: the error file's own columns, and the row numbers a spreadsheet renumbers whenever a row
# is inserted (they say nothing about the record)
IGNORED_HEADERS = ("错误说明", "原行号", "序号", "序", "行号", "No.", "NO", "编号序号")
VOCAB_LABELS = {"activity_types": "活动类型", "approval_scopes": "活动或成果类型", "respondent_types": "调查对象类型", "deliverable_types": "成果类型",
                "incident_types": "事件类型", "instruments": "评估工具", "credentials": "资质类型"}
PHASE_MAP = {"前测": "pre", "pre": "pre", "中测": "mid", "mid": "mid", "后测": "post", "post": "post",
             "单次": "single", "single": "single"}
EMPLOYMENT_MAP = {"专职": "专职", "全职": "专职", "兼职": "兼职", "志愿者": "志愿者", "志愿": "志愿者",
                  "志愿服务": "志愿者"}
PHASE_LABELS = {"pre": "前测", "mid": "中测", "post": "后测", "single": "单次"}
BOOL_MAP = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False, "true": True,
            "false": False, "1": True, "0": False, "满意": True, "不满意": False, "合格": True,
            "不合格": False, "√": True, "×": False, "有": True, "无": False}


def norm_header(h: object) -> str:
    if h.__class__ is str:
        return _norm_text(h)  # type: ignore[arg-type]
    return _norm_text(str(h if h is not None else ""))


_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=8192)
def _norm_text(h: str) -> str:
    """Header matching normalises the same few hundred names tens of thousands of times an import."""
    s = unicodedata.normalize("NFKC", h).strip()
    return _SPACE.sub("", s).rstrip("*").lower()


def resolve_kind(kind: str) -> str:
    k = kind.strip()
    if k in KINDS:
        return k
    if k in KIND_ALIASES:
        return KIND_ALIASES[k]
    from tracker.errors import TrackerError

    names = "、".join(f"{d.kind}（{d.label}）" for d in KINDS.values())
    raise TrackerError(f"未知的记录类型 “{kind}”；可选：{names}")


def header_index(kd: KindDef) -> dict[str, str]:
    """Normalised header → column key, for one kind (built once per kind definition; do not modify)."""
    hit = _INDEXES.get(id(kd))
    if hit is not None and hit[0] is kd:
        return hit[1]
    out: dict[str, str] = {}
    for c in kd.columns:
        for name in (c.key, c.label, *c.aliases):
            out[norm_header(name)] = c.key
    _INDEXES[id(kd)] = (kd, out)
    return out


_INDEXES: dict[int, tuple[KindDef, dict[str, str]]] = {}


def match_headers(kd: KindDef, headers: list[str]) -> dict[int, str]:
    """Position → column key for the headers this kind recognises."""
    idx = header_index(kd)
    out: dict[int, str] = {}
    seen: set[str] = set()
    for i, h in enumerate(headers):
        key = idx.get(norm_header(h))
        if key and key not in seen:
            out[i] = key
            seen.add(key)
    return out


def detect_kind(headers: list[str]) -> tuple[str | None, list[str]]:
    """The kind whose required columns are all present and which recognises the most headers.
    Returns (kind, candidates-with-equal-score) ; kind None when no kind fits or it is ambiguous."""
    scored: list[tuple[int, str]] = []
    for kd in KINDS.values():
        m = match_headers(kd, headers)
        keys = set(m.values())
        # headers another kind knows but this one does not count against it (日期 in a "roster")
        foreign = sum(1 for i, h in enumerate(headers) if i not in m and h and known_header(h))
        signature = not kd.detect_any or any(k in keys for k in kd.detect_any)
        if all(c.key in keys for c in kd.required) and signature and len(keys) - foreign > 0:
            scored.append((len(keys) - foreign, kd.kind))
    if not scored:
        return None, []
    scored.sort(reverse=True)
    best = [k for n, k in scored if n == scored[0][0]]
    return (best[0] if len(best) == 1 else None), best


def known_header(h: str) -> bool:
    n = norm_header(h)
    return any(n in header_index(kd) for kd in KINDS.values())


#: Words people swap in column names, tried first by ``suggest`` (建档时间 → 建档日期).
NEAR_WORDS = (("时间", "日期"), ("日期", "时间"), ("个案", "小组"), ("号码", "编号"), ("名字", "姓名"), ("人数", "参与人数"))


def suggest(kd: KindDef, name: str) -> str | None:
    """The column of ``kd`` a mistyped header or field name most likely meant (label or key)."""
    import difflib

    n = norm_header(name)
    names: dict[str, str] = {}
    for c in kd.columns:
        for x in (c.label, c.key, *c.aliases):
            names.setdefault(norm_header(x), c.label if not n.isascii() else c.key)
    for a, b in NEAR_WORDS:  # 建档时间 → 建档日期: the same name with a word people swap
        if a in n and n.replace(a, b) in names:
            return names[n.replace(a, b)]
    best = difflib.get_close_matches(n, list(names), n=1, cutoff=0.6)
    if best:
        return names[best[0]]
    # 调查日期 → 日期, 个案名称 → 小组名称: a known name inside it, or the same ending
    inside = [x for x in names if len(x) >= 2 and x in n]
    if inside:
        return names[max(inside, key=len)]
    return None


def unknown_field(kd: KindDef, name: str, how: str = "列") -> str:
    """The Chinese message for a field name ``kd`` does not know."""
    s = suggest(kd, name)
    hint = f"（是否想写“{s}”？）" if s else ""
    labels = "、".join(c.label for c in kd.columns)
    return f"“{kd.label}”没有{how}“{name}”{hint}；可用的{how}：{labels}"
