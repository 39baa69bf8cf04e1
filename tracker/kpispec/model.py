"""The KPI spec format: one YAML file per project under ``kpi_specs/``.

The grammar lives in YAML values and structure, never in keys to be parsed. A spec is a project
(metadata), the vocabularies its records use (activity types, populations, deliverable types …) and
its release-table clauses, each clause holding the KPIs that measure it.

See ``docs/spec-format.md`` for the prose description with examples.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tracker.vocab import DEFAULT_SATISFIED, FIVE_LEVELS, at_least_level, canonical_answer, canonical_level
from tracker.vocab import LEVELS as _LEVELS

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
# Any programme's project code: letters, digits and - _ (a programme narrows it with its code_pattern).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,15}$"
# A clause label that is not a plain integer: 5.1, 5.1.2 (numbering styles (1), ①, 一、 give integers);
# a correction of clause 3 or 5.1 (from a correction notice) is 3a, 5.1a.
CLAUSE_LABEL_PATTERN = r"^\d+(?:(?:\.\d+)+[a-z]?|[a-z])$"
Key = Annotated[str, Field(pattern=KEY_PATTERN, max_length=48)]

# Ordered publication / activity levels: 区县 < 市级 < 省级 < 国家级 (tracker.vocab).
LEVELS = _LEVELS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Kind(StrEnum):
    count = "count"  # number of records (activities, deliverables, roster entries, assessments)
    sum = "sum"  # sum of a numeric field (participants → 人次, hours → 课时, words, copies …)
    average = "average"  # average of a numeric field per record ("平均每场次不少于20人")
    distinct = "distinct"  # distinct people, households, towns, locations, groups …
    per_person = "per_person"  # every member (of a roster population, or every group) ≥ n per period
    rate = "rate"  # satisfaction, participation, pass/match share, pre/post improvement (percent)
    coverage = "coverage"  # every member of a named set covered at least min_each times
    duration = "duration"  # months from first to last service, per case
    approval_gate = "approval_gate"  # every activity approved on or before its date
    zero_incident = "zero_incident"  # no incident of the given types
    staff = "staff"  # staff credentials: everyone has one / at least n have one
    headcount = "headcount"  # staff in post (by role, employment) on every day of the period so far
    expense = "expense"  # spending (by 科目): an amount, or percent of the funding, the budget or all spending
    timeliness = "timeliness"  # share of records done within N days (hours) of a reference date (percent)
    manual = "manual"  # an auditor's judgement, recorded with evidence


class Source(StrEnum):
    activity = "activity"
    deliverable = "deliverable"
    roster = "roster"
    survey = "survey"
    assessment = "assessment"


class Field_(StrEnum):
    """Record fields a KPI may sum, average, count distinct or constrain per record."""

    participants = "participants"  # activity: 参与人数 (a person-serving record counts 1)
    hours = "hours"  # activity: 时长（小时）
    days = "days"  # activity: 天数
    person = "person"  # activity/roster/survey: 服务对象编号
    household = "household"  # roster: 户号
    town = "town"  # 乡镇街道
    village = "village"  # 村社
    district = "district"  # 区县
    location = "location"  # 地点
    group = "group"  # activity: 小组/个案/营期 name, groups several sessions
    words = "words"  # deliverable: 字数
    minutes = "minutes"  # deliverable: 时长（分钟）
    copies = "copies"  # deliverable: 数量（册、份、个）
    project = "project"  # only as per_person's `by`: the project as a whole (每月开展不少于1次), not a field


class Comparator(StrEnum):
    ge = ">="
    le = "<="
    eq = "=="


class Per(StrEnum):
    period = "period"
    month = "month"  # calendar months
    week = "week"  # whole weeks counted from the period start
    quarter = "quarter"  # calendar quarters (按季)
    year = "year"  # service years counted from the period start (一年开展不少于48次)
    day = "day"  # every day of the period (一日三餐)


# The slot a per rule judges, in Chinese: 每人每月 …
PER_LABELS: dict[Per, str] = {Per.month: "月", Per.week: "周", Per.quarter: "季度", Per.year: "年", Per.day: "日"}


class RateMeasure(StrEnum):
    satisfaction = "satisfaction"  # satisfied answers / answers (survey)
    participation = "participation"  # distinct respondents of a type / roster size of a population
    passed = "pass"  # assessments passed / assessments (合格率, 匹配率, 态度转变积极)
    improvement = "improvement"  # people whose post score beats their pre score / people with both


class StaffRule(StrEnum):
    all_have = "all_have"  # every staff member in scope holds the credential (target null)
    count_with = "count_with"  # at least `target` staff members hold the credential


class PacingMode(StrEnum):
    linear = "linear"  # expected grows linearly from period start to period end
    due = "due"  # nothing expected before the due date, all of it after
    milestones = "milestones"  # piecewise linear through the given (date, value) points
    none = "none"  # no pacing (rates, gates, per-person rules)


# ---------------------------------------------------------------- project and vocabularies


class Funding(Strict):
    amount_wan: float | None = Field(default=None, gt=0, description="资助资金（万元）；未定时省略")
    basis: Literal["amount", "cap", "unknown"] | None = Field(
        default=None, description="amount：确定金额；cap：最高限额（不超过）；unknown：未定。缺省按计划文件")
    source: str | None = Field(default=None, description="资金来源，如 社区服务业资金")

    @model_validator(mode="after")
    def _known_or_unknown(self) -> Funding:
        if self.amount_wan is None and self.basis in ("amount", "cap"):
            raise ValueError("funding.basis 为 amount 或 cap 时必须给出 amount_wan")
        if self.amount_wan is not None and self.basis == "unknown":
            raise ValueError("funding.basis 为 unknown 时不应给出 amount_wan")
        return self


_DURATION = re.compile(r"^\s*(\d+(?:\.5)?|[一二两三四五六七八九十]+)\s*(个月|月|年|周年)\s*$")


def add_months(start: dt.date, months: int) -> dt.date:
    """The last day of a service period of ``months`` months starting on ``start``."""
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    day = min(start.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                          31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
    return dt.date(year, month, day) - dt.timedelta(days=1)


def duration_months(text: str) -> int | None:
    """``1年`` → 12, ``18个月`` → 18, ``一年`` → 12, ``1.5年`` → 18; None when unreadable."""
    m = _DURATION.match(str(text))
    if not m:
        return None
    digits = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    tok = m.group(1)
    if tok[0].isdigit():
        n = float(tok)
    elif tok == "十":
        n = 10.0
    elif tok.startswith("十"):
        n = 10.0 + digits.get(tok[1:], 0)
    elif "十" in tok:
        a, _, b = tok.partition("十")
        n = digits.get(a, 0) * 10.0 + digits.get(b, 0)
    else:
        n = float(digits.get(tok, 0))
    months = n * 12 if "年" in m.group(2) else n
    return int(months) if months and float(months).is_integer() else None


class Period(Strict):
    """Two dates, or a start and a duration (``{start: 2025-03-01, duration: 1年}``: end 2026-02-28)."""

    start: dt.date
    end: dt.date
    duration: str | None = Field(default=None, description="服务期，如 1年、18个月；给出时 end 可省略")

    @model_validator(mode="before")
    @classmethod
    def _end_from_duration(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("duration") is not None and isinstance(data.get("start"), dt.date):
            months = duration_months(data["duration"])
            if months is None:
                raise ValueError(f"无法识别服务期 “{data['duration']}”，应写如 1年、18个月")
            end = add_months(data["start"], months)
            if data.get("end") is not None and data["end"] != end:
                raise ValueError(f"项目周期的结束日期 {data['end']} 与服务期 {data['duration']}（至 {end}）不一致")
            data = {**data, "end": end}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError("项目周期的结束日期必须晚于开始日期")
        return self


class Project(Strict):
    code: Annotated[str, Field(pattern=CODE_PATTERN, description="项目编号；格式与类别由所属计划（programme.yaml）规定")]
    name: str = Field(min_length=2)
    category: str = Field(min_length=2, description="项目类别，须是所属计划列出的类别之一")
    funding: Funding
    area: list[str] = Field(min_length=1, description="实施区域：区、县（市）名，或“市域范围内”")
    period: Period
    midterm: dt.date | None = Field(default=None, description="中期评估日；缺省为周期中点")
    organisation: str | None = Field(default=None, description="承接社会组织（签约后填写）")
    target_groups: str | None = Field(default=None, description="主要服务对象（原文）")
    service_scale: str | None = Field(default=None, description="服务人数/人次（原文）")
    summary: str | None = Field(default=None, description="项目简介和目标（原文）")

    @property
    def midterm_date(self) -> dt.date:
        if self.midterm is not None:
            return self.midterm
        return self.period.start + (self.period.end - self.period.start) / 2


class ActivityType(Strict):
    key: Key
    label: str
    serves: Literal["person", "group"] = Field(
        description="person：一条记录服务一名对象（需服务对象编号）；group：一条记录是一场活动（需参与人数）"
    )
    hours: bool = Field(default=False, description="是否记录时长")
    population: Key | None = Field(default=None, description="serves=person 时，服务对象须在该名册人群中")


class Population(Strict):
    key: Key
    label: str
    expected: int | None = Field(default=None, ge=0, description="发布表给出的规模，如 约430人 → 430")
    expected_text: str | None = Field(default=None, description="发布表原文，如 约430人")
    unit: str = "人"


class Vocab(Strict):
    key: Key
    label: str


class BudgetLine(Strict):
    """One line of the approved budget (预算科目): the expense records of the same 科目 are set
    against it (科目 compared after NFKC and without spaces)."""

    category: str = Field(min_length=1, validation_alias=AliasChoices("category", "科目"),
                          description="预算科目，与经费支出记录的“科目”一致，如 人员经费")
    amount: float = Field(gt=0, validation_alias=AliasChoices("amount", "金额"), description="核定金额（元）")
    notes: str | None = Field(default=None, validation_alias=AliasChoices("notes", "说明"), description="说明")


def budget_key(category: str) -> str:
    """How a 科目 is compared: NFKC, no whitespace (全角括号 and 人员经费 / 人员 经费 match)."""
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", category or ""))


# ---------------------------------------------------------------- KPI building blocks


class Bound(Strict):
    """A per-record rule: a record outside [min, max] does not count and is a violation. With
    ``any_of`` (and no field of its own), a record meets the rule when it meets any one of the
    listed bounds: "服务时长不少于3天（或24小时）" is ``{any_of: [{field: days, min: 3}, {field: hours, min: 24}]}``."""

    field: Field_ | None = None
    min: float | None = None
    max: float | None = None
    any_of: list[Bound] | None = Field(default=None, description="择一条件：满足其中任一项即可，如 3天或24小时")

    @model_validator(mode="after")
    def _some_bound(self) -> Bound:
        if self.any_of is not None:
            if self.field is not None or self.min is not None or self.max is not None:
                raise ValueError("each 条目写了 any_of 就不能再写 field、min、max：择一的每个条件写在 any_of 的各项里，"
                                 "如 {any_of: [{field: days, min: 3}, {field: hours, min: 24}]}")
            if len(self.any_of) < 2:
                raise ValueError("any_of 至少需要两个择一的条件，如 [{field: days, min: 3}, {field: hours, min: 24}]；"
                                 "只有一个条件时直接写 {field, min, max}")
            if any(b.any_of is not None for b in self.any_of):
                raise ValueError("any_of 的各项须为 {field, min, max}，不能再嵌套 any_of")
            return self
        if self.field is None:
            raise ValueError("each 条目须给出 field（或用 any_of 列出择一的条件）")
        if self.min is None and self.max is None:
            raise ValueError("each 条目至少需要 min 或 max")
        return self

    @property
    def leaves(self) -> list[Bound]:
        """The plain bounds of this rule: itself, or the alternatives of ``any_of``."""
        return list(self.any_of) if self.any_of is not None else [self]


class Where(Strict):
    """Filters on the records a KPI looks at. Every key names a vocabulary the project declares."""

    types: list[Key] | None = Field(default=None, description="活动类型或成果类型的 key")
    population: Key | None = Field(default=None, description="名册人群 key")
    respondent_types: list[Key] | None = None
    instrument: Key | None = Field(default=None, description="评估工具 key（assessment）")
    level_at_least: Literal["区县", "市级", "省级", "国家级"] | None = Field(default=None, description=(
        "级别不低于：区县、市级、省级或国家级（“市级以上”写 市级，也可照写 市级以上、省级及以上）"))
    towns: list[str] | None = None
    districts: list[str] | None = None
    roles: list[str] | None = Field(default=None, description="工作人员岗位（staff、headcount），如 社工、督导")
    categories: list[str] | None = Field(default=None, description="经费支出的科目（expense），如 宣传费")
    employment: list[Literal["专职", "兼职", "志愿者"]] | None = Field(
        default=None, description="工作人员用工性质（staff、headcount）")

    @field_validator("level_at_least", mode="before")
    @classmethod
    def _level_spelling(cls, v: Any) -> Any:
        if isinstance(v, str):
            return at_least_level(v) or canonical_level(v) or v
        return v


class Milestone(Strict):
    date: dt.date | Literal["midterm", "end"]
    value: float = Field(ge=0)


class Pacing(Strict):
    mode: PacingMode = PacingMode.linear
    due: dt.date | Literal["midterm", "end"] | None = None
    milestones: list[Milestone] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Pacing:
        if self.mode is PacingMode.due and self.due is None:
            raise ValueError("pacing.mode 为 due 时必须给出 due（日期、midterm 或 end）")
        if self.mode is PacingMode.milestones and not self.milestones:
            raise ValueError("pacing.mode 为 milestones 时必须给出 milestones")
        return self


class Within(Strict):
    """How soon after its reference date a record must be done: ``{days: 3}`` or ``{hours: 24}``.
    Records carry dates, not times: a bound in hours allows whole days only (24小时 → 1天, 48小时 → 2天,
    under 24 hours → the same day)."""

    days: int | None = Field(default=None, ge=0, description="天数：服务日期不晚于参照日期后 N 天")
    hours: int | None = Field(default=None, ge=0, description="小时数：记录只有日期，按整天计（24小时 = 1天）")

    @model_validator(mode="after")
    def _one(self) -> Within:
        if (self.days is None) == (self.hours is None):
            raise ValueError("within 须给出 days 或 hours 其中之一，如 {days: 3} 或 {hours: 24}")
        return self

    @property
    def max_days(self) -> int:
        return self.days if self.days is not None else (self.hours or 0) // 24

    @property
    def text(self) -> str:
        return f"{self.days}天" if self.days is not None else f"{self.hours}小时"


class NotTarget(Strict):
    """A number in the clause text that is deliberately not a target, with the reason."""

    value: str = Field(description="原文中的数字或数量，如 8周岁、2024年、5-10人中的 10")
    reason: str


class KPI(Strict):
    key: Key
    kind: Kind
    label: str = Field(description="简短中文名，如 探访总人次")
    excerpt: str | None = Field(default=None, description="条款中此指标对应的原文片段（须为原文子串）")
    source: Source = Source.activity
    where: Where = Field(default_factory=Where)
    field: Field_ | None = Field(default=None, description="sum / average / distinct / coverage 的字段")
    each: list[Bound] = Field(default_factory=list, description="每条记录须满足的下限/上限")
    cap_per_person: int | None = Field(default=None, ge=1, description="每名对象最多计入的记录数")
    per: Per = Per.period
    by: Field_ = Field(default=Field_.person, description="per_person：按人（缺省）或按小组、镇街等；project：整个项目每期判定（每月开展不少于1次）")
    measure: RateMeasure | None = None
    members: list[str] | None = Field(default=None, description="coverage：须覆盖的集合")
    members_served_by: list[Key] | None = Field(default=None, description=(
        "per_person：只判定接受过这些类型活动的名册对象（如 每家实地测评机构各形成一份反馈报告）"))
    min_each: int = Field(default=1, ge=1)
    incident_types: list[Key] | None = None
    credential: Key | None = None
    rule: StaffRule | None = None
    min_experience_years: float | None = Field(default=None, gt=0, description=(
        "staff：工作经验不少于 N 年（从业起始日期或工作年限，按入项之日计），如 3年以上 写 3"))
    reference: Key | None = Field(default=None, description="timeliness：参照日期列，如 requested_on（需求登记日期）")
    against: Literal["funding", "budget", "spend"] | None = Field(default=None, description=(
        "expense：占比的分母——资助金额 funding、预算（所列科目的核定金额，无科目时为预算合计）budget、全部支出 spend；"
        "省略时 actual 为金额（unit 元 或 万元）"))
    within: Within | None = Field(default=None, description="timeliness：参照日期后多久内完成，{days: 3} 或 {hours: 24}")
    target: float | None = None
    comparator: Comparator = Comparator.ge
    unit: str
    pacing: Pacing | None = Field(default=None, description="缺省：计数类按周期线性；其余不适用")
    tolerance: float = Field(default=0.15, ge=0, le=1, description="低于应完成值多少仍算进度正常")
    compliance_target: float | None = Field(default=None, gt=0, le=100, description=(
        "per_person：局方接受的合规比例（%，对象·期中达到要求的比例）；缺省为 100，即每个对象每期都须达到"))
    notes: str | None = None
    draft: Literal["needs review"] | None = Field(
        default=None, description="起草器生成、尚待人工复核的指标；复核后删去此字段")
    draft_reason: str | None = Field(default=None, description="起草器的说明：为何需要复核")
    renamed_from: list[str] = Field(default_factory=list, description=(
        "改名前的 key（或 条款号.key、完整指标编号）：已有的评定、说明随指标迁移"))
    superseded_by: str | None = Field(default=None, description=(
        "被更正：取代本指标的指标 key（同一条款）或 条款号.key；本指标留在规格和历史中，不再计算、不计分"))
    correction: str | None = Field(default=None, description="更正依据，如 2024年9月5日更正公告")

    @field_validator("renamed_from", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _kind_needs(self, info: ValidationInfo) -> KPI:
        """The kind's own parameter rules (``tracker.measure.kinds``). A spec read back from the spec
        cache passed them when it was cached, under the same code (the cache key includes it): they
        are not run again, so reading specs does not import the kinds' SQL."""
        if info.context and info.context.get("cached"):
            return self
        from tracker.measure.kinds import kind_of

        impl = kind_of(self.kind)
        if impl.needs_target and self.target is None:
            raise ValueError(f"{self.kind.value} 类指标必须给出 target（数值）")
        if impl.no_target and self.target is not None:
            raise ValueError(f"{self.kind.value} 类指标没有数值目标，target 应省略或为 null")
        msg = impl.check(self)
        if msg:
            raise ValueError(msg)
        if (self.where.roles or self.where.employment) and self.kind not in (Kind.staff, Kind.headcount):
            raise ValueError("where.roles 和 where.employment 只适用于 staff 和 headcount 类指标")
        if self.members_served_by and self.kind is not Kind.per_person:
            raise ValueError("members_served_by 只适用于 per_person 类指标")
        if self.min_experience_years is not None and self.kind is not Kind.staff:
            raise ValueError("min_experience_years（工作经验年限）只适用于 staff 类指标")
        if self.field is Field_.project or any(b.field is Field_.project for e in self.each for b in e.leaves):
            raise ValueError("project 不是记录的字段，只能写在 per_person 的 by 里（by: project：按整个项目每期判定）")
        if self.where.categories and self.kind is not Kind.expense:
            raise ValueError("where.categories（经费科目）只适用于 expense 类指标")
        return self

    def default_pacing(self) -> Pacing:
        """The spec's pacing, else the kind's default (running totals linear, the rest none; a
        one-off deliverable, target 1 of whole units, due at the end)."""
        if self.pacing is not None:
            return self.pacing
        from tracker.measure.kinds import kind_of

        impl = kind_of(self.kind)
        mode = impl.default_pacing(self)
        if mode is PacingMode.due:  # a kind's own one-off: due at the end
            return Pacing(mode=PacingMode.due, due="end")
        if mode is PacingMode.linear and self.target is not None and self.target <= 1 and self.rule is None \
                and impl.whole_units(self):
            return Pacing(mode=PacingMode.due, due="end")  # a one-off deliverable: never a fraction of one
        return Pacing(mode=mode)


class Clause(Strict):
    clause: int | Annotated[str, Field(pattern=CLAUSE_LABEL_PATTERN)] = Field(
        description="发布表条款号：整数（1.、（1）、①、一、都记为整数；第1条之前的目标为 0），或带引号的分级编号 “5.1”")
    text: str = Field(min_length=2, description="发布表原文（去掉条款号和末尾标点）")
    kpis: list[KPI] = Field(min_length=1)
    not_targets: list[NotTarget] = Field(default_factory=list)
    superseded_by: int | Annotated[str, Field(pattern=CLAUSE_LABEL_PATTERN)] | None = Field(
        default=None, description="被更正：取代本条的条款号（如 3a）；本条留在规格和历史中，其指标不再计算、不计分")
    correction: str | None = Field(default=None, description=(
        "更正条款：更正依据（如 2024年9月5日更正公告）；这样的条款不在发布表中，不与发布表原文核对"))

    @model_validator(mode="before")
    @classmethod
    def _no_float_labels(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("clause"), float):
            raise ValueError(f"分级条款号须加引号，如 clause: \"{data['clause']}\"（否则 YAML 把它读成小数）")
        if isinstance(data, dict) and isinstance(data.get("clause"), int) and data["clause"] < 0:
            raise ValueError("条款号不能为负数")
        return data

    @property
    def number(self) -> int:
        """The integer the contract's ``clause`` field carries: the clause itself or its top level (5.1 → 5,
        3a → 3)."""
        return self.clause if isinstance(self.clause, int) else int(re.match(r"\d+", self.clause).group())  # type: ignore[union-attr]

    @property
    def label(self) -> str:
        return str(self.clause)


DEFAULT_INCIDENT_TYPES: tuple[Vocab, ...] = (
    Vocab(key="negative_publicity", label="负面舆情"),
    Vocab(key="liable_complaint", label="有责投诉"),
    Vocab(key="safety_accident", label="安全事故"),
)
DEFAULT_RESPONDENT_TYPES: tuple[Vocab, ...] = (Vocab(key="client", label="服务对象"),)


class Satisfaction(Strict):
    """How a project's survey answers count as satisfied (rate KPIs with measure: satisfaction)."""

    satisfied: list[str] = Field(default_factory=lambda: list(DEFAULT_SATISFIED), description=(
        "五级量表中计为满意的答案，缺省 非常满意、满意、基本满意；其余（及 否、不满意）计为不满意"))
    score_threshold: float | None = Field(default=None, gt=0, description=(
        "只有评分、没有“是否满意”的问卷：评分不低于该值计为满意，如 80（百分制）或 4（五分制）"))
    score_max: float | None = Field(default=None, gt=0, description="评分的满分，如 100 或 5；超过即为错误")

    @field_validator("satisfied")
    @classmethod
    def _five_levels(cls, v: list[str]) -> list[str]:
        out = []
        for a in v:
            c = canonical_answer(a)
            if c is None:
                raise ValueError(f"satisfaction.satisfied 中的 “{a}” 不是五级量表的答案（{'、'.join(FIVE_LEVELS)}）")
            out.append(c)
        if not out:
            raise ValueError("satisfaction.satisfied 不能为空")
        return out

    @model_validator(mode="after")
    def _threshold_within_max(self) -> Satisfaction:
        if self.score_threshold is not None and self.score_max is not None and self.score_threshold > self.score_max:
            raise ValueError(f"satisfaction.score_threshold（{self.score_threshold:g}）大于满分 score_max"
                             f"（{self.score_max:g}）")
        return self


class Spec(Strict):
    spec_version: Literal[1] = 1
    project: Project
    activity_types: list[ActivityType] = Field(default_factory=list)
    populations: list[Population] = Field(default_factory=list)
    deliverable_types: list[Vocab] = Field(default_factory=list)
    respondent_types: list[Vocab] = Field(default_factory=lambda: list(DEFAULT_RESPONDENT_TYPES))
    instruments: list[Vocab] = Field(default_factory=list, description="评估工具（前后测、考核、需求匹配）")
    incident_types: list[Vocab] = Field(default_factory=lambda: list(DEFAULT_INCIDENT_TYPES))
    credentials: list[Vocab] = Field(default_factory=list, description="工作人员资质，如 无犯罪记录证明")
    satisfaction: Satisfaction = Field(default_factory=Satisfaction, description="满意度：五级量表的计法、评分阈值")
    clauses: list[Clause] = Field(min_length=1)
    budget: list[BudgetLine] = Field(default_factory=list,
                                     description="核定预算：各科目及金额（元）；报告逐科目对照经费支出")

    @model_validator(mode="after")
    def _budget_fits(self) -> Spec:
        seen: set[str] = set()
        for line in self.budget:
            k = budget_key(line.category)
            if k in seen:
                raise ValueError(f"预算科目 “{line.category}” 重复：每个科目只写一行")
            seen.add(k)
        wan = self.project.funding.amount_wan
        total = round(sum(line.amount for line in self.budget), 2)
        if self.budget and wan is not None and total > round(wan * 10000, 2) + 0.005:
            raise ValueError(f"预算合计 {total:,.2f} 元超过资助金额 {wan * 10000:,.2f} 元：请核对 budget 各科目的金额")
        return self

    # ------------------------------------------------------------------ convenience

    @property
    def code(self) -> str:
        return self.project.code

    def kpi_id(self, clause: Clause, kpi: KPI) -> str:
        return f"{self.project.code}.{clause.clause}.{kpi.key}"

    def iter_kpis(self) -> list[tuple[Clause, KPI]]:
        """The KPIs in force: every KPI not superseded (itself or by its clause) by a correction."""
        return [(c, k) for c in self.clauses if c.superseded_by is None for k in c.kpis if k.superseded_by is None]

    def all_kpis(self) -> list[tuple[Clause, KPI]]:
        """Every KPI of the spec, superseded ones included (their history is kept)."""
        return [(c, k) for c in self.clauses for k in c.kpis]

    def superseded(self) -> list[tuple[Clause, KPI | None, str]]:
        """What a correction replaced: (clause, None, the correcting clause's label) for a whole clause,
        (clause, KPI, the correcting KPI's id) for one KPI."""
        out: list[tuple[Clause, KPI | None, str]] = []
        for c in self.clauses:
            if c.superseded_by is not None:
                out.append((c, None, str(c.superseded_by)))
                continue
            out += [(c, k, self._kpi_ref(c, k.superseded_by)) for k in c.kpis if k.superseded_by is not None]
        return out

    def _kpi_ref(self, clause: Clause, ref: str) -> str:
        return f"{self.code}.{ref}" if "." in ref else self.kpi_id(clause, next(k for k in clause.kpis if k.key == ref))

    @model_validator(mode="after")
    def _corrections(self) -> Spec:
        """A superseded clause or KPI names what replaces it, and that is in force."""
        labels = {str(c.clause): c for c in self.clauses}
        live = {self.kpi_id(c, k) for c, k in self.iter_kpis()}
        for c in self.clauses:
            if isinstance(c.clause, str) and c.clause[-1].isalpha() and not c.correction:
                raise ValueError(f"条款号 {c.clause} 带字母，只用于更正条款：请写 correction（更正依据）")
            if c.superseded_by is not None:
                by = labels.get(str(c.superseded_by))
                if by is None or by is c:
                    raise ValueError(f"第{c.label}条的 superseded_by 须是规格中另一条款的条款号（没有第{c.superseded_by}条）")
                if by.superseded_by is not None:
                    raise ValueError(f"第{c.label}条被第{by.label}条更正，但第{by.label}条本身也已被更正：请直接指向现行条款")
            for k in c.kpis:
                if k.superseded_by is None:
                    continue
                ref = k.superseded_by
                target = f"{self.code}.{ref}" if "." in ref else f"{self.code}.{c.clause}.{ref}"
                if target not in live or ref == k.key:
                    raise ValueError(f"指标 {self.kpi_id(c, k)} 的 superseded_by “{ref}” 须是现行的另一指标"
                                     "（同条款的 key，或 条款号.key）")
        return self

    def activity_type(self, key_or_label: str) -> ActivityType | None:
        for t in self.activity_types:
            if key_or_label in (t.key, t.label):
                return t
        return None


def normalise_text(s: str) -> str:
    """Whitespace-insensitive form used to compare clause texts."""
    return re.sub(r"\s+", "", s)
