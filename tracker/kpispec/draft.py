"""Draft a spec from a release-table project: metadata, every clause verbatim, and per clause the KPIs
its language implies. Every drafted KPI carries ``draft: needs review``; what the drafter cannot read
becomes a ``manual`` KPI saying why. Nothing is invented: every target is a number the clause states.

The reading is by rules over the normalised clause text (full-width → half-width, traditional →
simplified): a quantity is a number (Arabic or Chinese, with 万/亿) and a measure word, with the
comparator words around it (不少于/不低于/至少/达到/≥ …, 不超过/不多于/以内/≤ …, 以上/及以上/余);
the measure word and the words before it decide the kind (人 → distinct people, 人次 → a count or a
sum of participants, 场/次/期 → a count, 篇/份/本 → deliverables, % → a rate, 个乡镇 → distinct towns …);
每场/每次 … make a per-record rule of the count before them, 每月/每周/每人 … a per-person rule.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from tracker import clock
from tracker.kpispec.coverage import cn_to_number
from tracker.kpispec.programme import Programme
from tracker.kpispec.release_table import ReleaseClause, ReleaseProject
from tracker.kpispec.skeleton import area_list
from tracker.kpispec.zh_normalise import normalise_with_map

NEEDS_REVIEW = "needs review"

_GE = r"不少于|不低于|不小于|至少|最少|达到|达|≥|>=|超过|多于|高于"
_LE = r"不超过|不多于|不高于|最多|≤|<=|控制在"
_NUM = r"\d+(?:\.\d+)?|[零一二两三四五六七八九十百千]+"
_UNITS = ("人次|场次|场\\(次\\)|个课时|个小时|课时|学时|小时|个月|分钟|万元|元|个工作日|工作日|天|日|%|名|人|户|家|位|次|场|期|节|篇|份|本|册|部"
          "|套|件|支|所|条|批|类|门|项|例|组|个|字|地|周岁|岁|周|月|年")
QTY = re.compile(
    rf"(?P<pre>{_GE}|{_LE})?\s*(?P<lo>{_NUM})\s*(?:(?P<range>[-~至到])\s*(?P<hi>{_NUM})\s*)?(?P<wan>万|亿)?\s*"
    rf"(?P<unit>{_UNITS})(?P<post>及以上|以上|以内|以下|余|多)?"
)
_PER = {"月": "month", "周": "week", "季度": "quarter", "季": "quarter", "年": "year", "天": "day", "日": "day"}
_SEP = re.compile(r"[,，;；。\n:：]")
_VERBS = re.compile(r"^(?:并|且|同时|需|须|应|要|其中|每年|全年|项目周期内|周期内|累计|共计|共|总计)?"
                    r"(?:开展|组织|举办|提供|完成|形成|制作|编写|编印|撰写|拍摄|发布|进行|实施|建立|培育|打造|招募|培训|落实)?")


@dataclass
class _Draft:
    code: str
    activity_types: list[dict[str, Any]] = field(default_factory=list)
    deliverable_types: list[dict[str, Any]] = field(default_factory=list)
    populations: list[dict[str, Any]] = field(default_factory=list)
    credentials: list[dict[str, Any]] = field(default_factory=list)
    instruments: list[dict[str, Any]] = field(default_factory=list)

    def activity(self, label: str, serves: str, hours: bool = False, population: str | None = None) -> str:
        key = f"act_{len(self.activity_types) + 1}"
        t: dict[str, Any] = {"key": key, "label": label or "活动", "serves": serves}
        if hours:
            t["hours"] = True
        if population:
            t["population"] = population
        self.activity_types.append(t)
        return key

    def deliverable(self, label: str) -> str:
        key = f"del_{len(self.deliverable_types) + 1}"
        self.deliverable_types.append({"key": key, "label": label or "成果"})
        return key

    def population(self, label: str) -> str:
        if not self.populations:
            self.populations.append({"key": "clients", "label": label or "服务对象"})
        return "clients"

    def credential(self, key: str, label: str) -> str:
        if not any(c["key"] == key for c in self.credentials):
            self.credentials.append({"key": key, "label": label})
        return key

    def instrument(self, key: str, label: str) -> str:
        if not any(c["key"] == key for c in self.instruments):
            self.instruments.append({"key": key, "label": label})
        return key


@dataclass
class _Qty:
    value: float
    hi: float | None
    unit: str
    comparator: str
    start: int  # in the normalised clause text
    end: int
    seg_start: int
    seg_end: int


#: Units of a record's length, and the field each is recorded in (an either/or of two: 3天（或24小时）).
_LENGTH_UNITS = {"天": "days", "小时": "hours", "个小时": "hours"}


def _plain(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _num(tok: str) -> float | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", tok):
        return float(tok)
    return cn_to_number(tok)


def _quantities(norm: str) -> list[_Qty]:
    out: list[_Qty] = []
    bounds = [0] + [m.end() for m in _SEP.finditer(norm)] + [len(norm) + 1]
    for m in QTY.finditer(norm):
        lo = _num(m.group("lo"))
        if lo is None:
            continue
        before = norm[max(0, m.start() - 1): m.start()]
        if before in ("第",) or re.match(r"[\d.]", before):
            continue
        after = norm[m.end(): m.end() + 1]
        unit = m.group("unit")
        if unit in ("年", "月", "日") and re.match(r"\d", m.group("lo")) and (after in "月日号-" or lo > 1900):
            continue  # a date
        if unit in ("年", "月") and not m.group("pre"):
            continue  # 2024年, 3月: dates, not quantities
        if re.match(r"[一二两三四五六七八九十]", m.group("lo")) and unit in ("次", "个", "项") and \
                re.match(r"[对体]", after):
            continue
        mult = 10000 if m.group("wan") == "万" else 1e8 if m.group("wan") == "亿" else 1
        hi = _num(m.group("hi")) if m.group("hi") else None
        pre, post = m.group("pre") or "", m.group("post") or ""
        comparator = "<=" if re.fullmatch(_LE, pre) or post in ("以内", "以下") else ">="
        seg_start = max(b for b in bounds if b <= m.start())
        seg_end = min(b for b in bounds if b > m.start()) - 1
        out.append(_Qty(lo * mult, hi * mult if hi is not None else None, unit, comparator, m.start(), m.end(),
                        seg_start, seg_end))
    return out


def _label(text: str) -> str:
    t = QTY.sub("", text)
    t = re.sub(r"[（(][^）)]*[）)]", "", t)
    t = re.sub(r"^[\s,，;；。、的]+|[\s,，;；。、的]+$", "", t)
    t = _VERBS.sub("", t, count=1)
    return t.strip()[:24] or "活动"


# A duty an auditor can check: a fragment of a clause without a number but with one of these verbs.
_DUTY = re.compile(r"建立|建设|制定|形成|设置|设计|培育|打造|整合|指导|遵守|确保|保障|做到|参加|落实|签订|配备|配置|"
                   r"提供|开展|组织|不得|禁止|不宜|须|需|应|归.*所有|杜绝|注重|健全|完善|总结|提炼|编制|探索|链接|对接")


class _ClauseDrafter:
    def __init__(self, d: _Draft, clause: ReleaseClause, project: ReleaseProject):
        self.d = d
        self.clause = clause
        self.project = project
        self.orig = clause.text
        self.norm, self.index = normalise_with_map(clause.text)
        self.kpis: list[dict[str, Any]] = []
        self.not_targets: list[dict[str, str]] = []
        self.counts: dict[str, int] = {}
        self.rule_spans: list[tuple[int, int]] = []

    def excerpt(self, start: int, end: int) -> str:
        a = self.index[start] if start < len(self.index) else len(self.orig)
        b = self.index[end - 1] + 1 if 0 < end <= len(self.index) else len(self.orig)
        text = self.orig[a:b].strip(" ，,；;。")
        from tracker.kpispec.release_generic import numbering
        from tracker.kpispec.zh_normalise import normalise

        nb = numbering(normalise(text))
        if nb:  # a sub-item's own number is not part of what it says: （1）上门探访… → 上门探访…
            _, idx = normalise_with_map(text)
            text = text[idx[nb[2]]:] if nb[2] < len(idx) else text
        return text.strip()

    def key(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}_{self.counts[kind]}"

    def add(self, kind: str, label: str, excerpt: str, unit: str, reason: str, **rules: Any) -> dict[str, Any]:
        k: dict[str, Any] = {"key": self.key(kind), "kind": kind, "label": label[:40]}
        if excerpt:
            k["excerpt"] = excerpt
        k.update({r: v for r, v in rules.items() if v is not None})
        k["unit"] = unit
        k["draft"] = NEEDS_REVIEW
        k["draft_reason"] = reason
        self.kpis.append(k)
        return k

    def run(self) -> dict[str, Any]:
        qs = _quantities(self.norm)
        last_count: dict[str, Any] | None = None
        last_deliverable: dict[str, Any] | None = None
        pending_each: list[dict[str, Any]] = []
        self.within: list[tuple[_Qty, str]] = []  # 3天内, 24小时内: the time limits of a timeliness rule
        self.timed = False  # a timeliness KPI (or the manual one standing for it) was drafted
        timely_rule = re.search(r"及时|响应|接到|受理|登记后|派单|需求后|申请后", self.norm)
        skip: set[int] = set()
        for i, q in enumerate(qs):
            if i in skip:
                continue
            seg = self.norm[q.seg_start:q.seg_end]
            before = self.norm[q.seg_start:q.start]
            ex = self.excerpt(q.seg_start, q.seg_end)
            value = int(q.value) if float(q.value).is_integer() else q.value
            unit = q.unit.replace("场(次)", "场（次）")
            if timely_rule and unit in ("天", "日", "小时", "个小时", "工作日", "个工作日") and (
                    q.comparator == "<=" or re.match(r"(?:\([^)]*\))?\)?内", self.norm[q.end:q.end + 12])):
                self.within.append((q, unit))
                continue
            per_rec = re.search(r"每(场|次|期|节|堂|课|轮|场次|次活动|期活动|个活动)[^每]*$", before)
            if unit in ("岁", "周岁"):
                self.not_targets.append({"value": self.excerpt(q.start, q.end),
                                         "reason": "起草器判断为年龄界限，不是产出指标（请复核）"})
                continue
            if unit in ("年", "月", "周", "日") and not re.search(r"持续|连续|跟踪|服务时间|服务期", before):
                self.not_targets.append({"value": self.excerpt(q.start, q.end),
                                         "reason": "起草器判断为时间或频次单位，不是指标目标（请复核）"})
                continue
            # ---- an either/or length of each record: 服务时长不少于3天（或24小时）
            nxt = qs[i + 1] if i + 1 < len(qs) else None
            if nxt is not None and last_count is not None and last_count["kind"] == "count" \
                    and unit in _LENGTH_UNITS and nxt.unit in _LENGTH_UNITS and nxt.unit != unit \
                    and re.fullmatch(r"\s*[（(]?\s*或\s*", self.norm[q.end:nxt.start]):
                last_count.setdefault("each", []).append(
                    {"any_of": [{"field": _LENGTH_UNITS[unit], "min": _plain(q.value)},
                                {"field": _LENGTH_UNITS[nxt.unit], "min": _plain(nxt.value)}]})
                skip.add(i + 1)
                continue
            # ---- per-record rules: 每场不少于30人, 每次不少于3小时, 每场5-10人, 每个成长营参与家庭不少于35户
            per_rec = per_rec or re.search(r"每个[^,，;；每]{0,4}(营|班|课|活动)[^每]*$", before)
            if per_rec and unit in ("人", "名", "户", "人次", "小时", "天", "分钟", "课时", "个课时", "个小时") \
                    and not re.search(r"每(人|户|名|位|个个案|个案|个小组|小组|月|周)", before) \
                    and not re.search(r"平均", before):
                fld = {"人": "participants", "名": "participants", "户": "participants", "人次": "participants",
                       "小时": "hours", "课时": "hours", "个课时": "hours", "个小时": "hours", "天": "days",
                       "分钟": "minutes"}[unit]
                lo, hi = _plain(q.value), _plain(q.hi) if q.hi is not None else None
                if fld == "minutes" and (last_count is None or last_count.get("source") != "deliverable"):
                    # an activity records hours: 每次课时不少于45分钟 → 0.75 hours
                    fld, lo, hi = "hours", _plain(round(q.value / 60, 4)), (
                        _plain(round(q.hi / 60, 4)) if q.hi is not None else None)
                b: dict[str, Any] = {"field": fld}
                if hi is not None:
                    b["min"], b["max"] = lo, hi
                elif q.comparator == "<=":
                    b["max"] = lo
                else:
                    b["min"] = lo
                if last_count is not None:
                    last_count.setdefault("each", []).append(b)
                else:  # 每节课不少于15分钟，总数不少于15节课: the rule comes before its count
                    pending_each.append(b)
                continue
            if unit == "字" and last_deliverable is not None:
                last_deliverable.setdefault("each", []).append({"field": "words", "min": _plain(q.value)})
                continue
            if unit == "字":  # 形成不少于1000字的调研报告: one report of at least that many words
                t = self.d.deliverable(_label(self.norm[q.end:q.seg_end]) or "报告")
                last_deliverable = self.add("count", _label(self.norm[q.end:q.seg_end]) or "报告", ex, "份",
                                            "起草器按“不少于…字的…”推定为1份成果，请核对",
                                            source="deliverable", where={"types": [t]}, target=1,
                                            each=[{"field": "words", "min": _plain(q.value)}],
                                            pacing={"mode": "due", "due": "end"})
                continue
            if unit == "分钟" and last_deliverable is not None:
                last_deliverable.setdefault("each", []).append(
                    {"field": "minutes", "max" if q.comparator == "<=" else "min": _plain(q.value)})
                continue
            # ---- caps: 单个服务对象不多于2次
            if q.comparator == "<=" and unit in ("次", "场") and last_count is not None and \
                    re.search(r"单个|每人|每名|每位|每户|最多可", before):
                last_count["cap_per_person"] = int(q.value)
                continue
            k = self.kind_for(q, seg, before, ex, value, unit)
            if k is not None and k["kind"] == "count" and pending_each:
                k.setdefault("each", []).extend(pending_each)
                pending_each = []
            if k is not None and k["kind"] in ("count", "sum", "per_person"):
                last_count = k
                if k.get("source") == "deliverable":
                    last_deliverable = k
            elif k is not None and k["kind"] == "distinct":
                last_count = k
        if self.within and not self.timed:
            # 接到需求后24小时内响应: every record within the limit
            q = self.within[0][0]
            self.timeliness(self.excerpt(q.seg_start, q.seg_end), 100, None,
                            "起草器按“…内”推定全部记录须在时限内完成（及时率100%），请核对目标和参照日期")
        if pending_each:  # a per-record rule with no count to hold it
            self.add("manual", "逐条要求", self.excerpt(0, len(self.norm)), "项",
                     f"读出了逐条要求 {pending_each}，但条款中没有可承载它的计数指标，请人工拆分")
        self.rules()
        self.judgements(qs)
        if not self.kpis:
            self.add("manual", _label(self.norm) or "待拆分", "", "项",
                     "起草器没有读出可计量的数量或规则，请人工拆分为指标")
        out: dict[str, Any] = {"clause": self.clause.number, "text": self.clause.text, "kpis": self.kpis}
        if self.not_targets:
            out["not_targets"] = self.not_targets
        return out

    def kind_for(self, q: _Qty, seg: str, before: str, ex: str, value: float, unit: str) -> dict[str, Any] | None:
        label = _label(seg)
        common = {"target": value, "comparator": q.comparator if q.comparator != ">=" else None}
        reason = "起草器按条款措辞推定的类型和目标，请核对适用的活动类型和记录"
        if unit == "%" and re.search(r"及时", seg) and self.within:
            return self.timeliness(ex, value, common["comparator"], "起草器按“…内…及时率”推定的及时率，请核对参照日期列")
        if unit == "%" and re.search(r"执行率|经费|资金|预算|支出|费用", seg):
            return self.expense_share(q, seg, before, ex, value, common)
        if unit == "%":
            measure = ("satisfaction" if "满意" in seg else "participation" if "参与率" in seg
                       else "pass" if re.search(r"合格|通过|达标|匹配|掌握|知晓|正确", seg)
                       else "improvement" if re.search(r"提升|提高|改善|好转|转变", seg) else None)
            if measure is None:
                return self.add("manual", label, ex, "%", "比率的分子分母无法从条款判断，请改为 rate 并给出 measure",
                                target=None)
            rules: dict[str, Any] = {"measure": measure}
            if measure == "satisfaction":
                rules["where"] = {"respondent_types": ["client"]}
                rules["source"] = None
            elif measure == "participation":
                rules["source"] = "survey"
                rules["where"] = {"population": self.d.population(
                    re.sub(r"\s+", "", self.project.target_groups)[:20])}
            else:
                rules["source"] = "assessment"
                rules["where"] = {"instrument": self.d.instrument("assessment", "评估")}
            return self.add("rate", label or "比率", ex, "%", reason, **rules, **common)
        if unit in ("万元", "元") and re.search(r"支出|使用|用于|花费|开支", seg):
            cats = self.categories(before)
            return self.add("expense", label or "经费支出", ex, unit, "起草器按“支出…元”推定的经费支出金额，请核对科目",
                            where={"categories": cats} if cats else None, **common)
        if unit in ("万元", "元"):
            return self.add("manual", label, ex, unit, "资金数额不是支出要求（如配套资金、资助标准），请人工评定")
        if unit == "个月":
            if re.search(r"持续|连续|跟踪|服务时间", seg):
                return self.add("duration", label or "服务持续时间", ex, "个月", reason, **common)
            return self.add("manual", label, ex, unit, "以月计的期限不是产出数量，请人工判断")
        if unit in ("人", "名", "人次") and re.search(r"平均每(场|次|期|场次)", before):
            t = self.d.activity(label, "group")
            return self.add("average", label or "平均每场人数", ex, "人", reason, where={"types": [t]},
                            field="participants", **common)
        if unit in ("天", "小时", "学时", "课时") and (re.search(r"每(人|位|名)", before)
                                                 or self.norm[q.end:q.end + 2] == "/人"):
            pop = self.d.population(re.sub(r"\s+", "", self.project.target_groups)[:20])
            t = self.d.activity(label, "person", hours=unit != "天", population=pop)
            return self.add("per_person", label or "每人时长", ex, f"{unit}/人", reason,
                            where={"types": [t], "population": pop}, field="days" if unit == "天" else "hours",
                            **common)
        per = re.search(r"每(月|周|季度|季|天|日)", before)
        per_member = re.search(r"每(人|户|名|位|个个案|个案|个小组|小组|个家庭|家|个服务对象)", before) or (
            # 探访对象不少于1000人，项目周期内上门探访不少于2次: each of those people twice
            re.match(r"(项目周期内|周期内)", before.strip())
            if re.search(r"\d+人(?!次)", self.norm[:q.seg_start]) or re.search(r"上门|探访|走访", before) else None)
        if per is None and per_member is not None:
            per = re.search(r"每(年)", before)  # 每人每年 (每年 alone is the whole period of a one-year project)
        if unit in ("次", "期", "场", "节") and (per or per_member):
            pop = self.d.population(re.sub(r"\s+", "", self.project.target_groups)[:20])
            by = "group" if per_member and per_member.group(1) in ("个个案", "个案", "个小组", "小组") else None
            if per_member and per_member.group(1) in ("项目周期内", "周期内"):
                by = None
            types = [self.d.activity(label, "group" if by else "person", population=None if by else pop)]
            where: dict[str, Any] = {"types": types}
            if not by:
                where["population"] = pop
            return self.add("per_person", label or "每人频次", ex, f"{unit}/{per.group(1)}" if per else unit,
                            reason, where=where, per=_PER[per.group(1)] if per else None,
                            by=by, **common)
        if unit in ("小时", "课时", "学时"):
            t = self.d.activity(label, "group", hours=True)
            return self.add("sum", label or "时长", ex, unit, reason, where={"types": [t]}, field="hours", **common)
        if unit == "人次":
            person = re.search(r"探访|上门|帮扶|走访|陪伴|喘息|个案|咨询|慰问|送餐|助餐|评估|陪聊|照护|代办", seg) or \
                (re.search(r"探访|上门|陪聊|照护|代办", self.norm) and re.search(r"总数|服务不少于", seg))
            t = self.d.activity(label, "person" if person else "group")
            if person:
                return self.add("count", label or "服务人次", ex, unit, reason, where={"types": [t]}, **common)
            return self.add("sum", label or "服务人次", ex, unit, reason, where={"types": [t]},
                            field="participants", **common)
        staff_role = re.search(r"社工|社会工作者|督导|工作人员|护理员|医护人员|教师|老师|心理咨询师|志愿者", seg)
        employment = re.search(r"专职|全职|兼职", seg)
        if unit in ("人", "名", "位") and staff_role and (
                employment or re.search(r"配备|配置|其中|在岗", seg)) and not re.search(r"招募|培训|培育|服务", before):
            # 配备5名全职社工，其中1名督导: staff in post on every day of the period
            emp = {"专职": "专职", "全职": "专职", "兼职": "兼职"}[employment.group()] if employment else None
            role = staff_role.group()
            where: dict[str, Any] = {"roles": [role]} if role != "志愿者" else {"employment": ["志愿者"]}
            if emp:
                where["employment"] = [emp]
            return self.add("headcount", label or "人员配备", ex, unit,
                            "起草器按“配备…名”推定的在岗人数（周期内每一天），请核对岗位名称与工作人员名单一致",
                            where=where, **common)
        if unit in ("人", "名", "位"):
            roster = "roster" if re.search(r"建档|建立档案|排摸|摸排|建立服务档案", seg) else None
            return self.add("distinct", label or "服务人数", ex, unit, reason, source=roster, field="person", **common)
        if unit == "户":
            return self.add("distinct", label or "服务户数", ex, unit, reason, field="household", **common)
        if unit == "家":
            return self.add("distinct", label or "服务机构数", ex, unit, reason, field="person", **common)
        after = self.norm[q.end:q.end + 6]
        if unit in ("个", "地"):
            place = re.match(r"(乡镇|镇街|街道|镇|社区|村社|村|区县|县\(市\)|县市|区|县)", after) or \
                re.search(r"(乡镇|镇街|街道|社区|村社|区县|县\(市\)|县市)[^,，;；]{0,4}$", before)
            if place:
                p = place.group(1)
                fld = "town" if p in ("乡镇", "镇街", "街道", "镇") else "village" if p in ("社区", "村社", "村") \
                    else "district"
                t = self.d.activity(label, "group")
                shown = unit + p if after.startswith(p) else unit
                return self.add("distinct", label or "覆盖地域数", ex, shown, reason, where={"types": [t]},
                                field=fld, **common)
        deliverable_word = re.search(r"(报告|成果|案例|视频|手册|作品|故事)[^,，;；]{0,4}$", before)
        if unit in ("例",) or (unit in ("个", "组") and re.search(r"个案|小组", seg) and not deliverable_word):
            t = self.d.activity(label, "group")
            return self.add("distinct", label or "个案/小组数", ex, unit, reason, where={"types": [t]}, field="group",
                            **common)
        if unit in ("篇", "份", "本", "册", "部", "套", "件") or (
                unit == "个" and (deliverable_word or re.search(r"视频|案例|报告|手册|课程|故事|作品|模式|品牌|标准|制度",
                                                                seg + after))):
            if unit in ("册", "本") and re.search(r"印刷|印制|发放", seg):
                t = self.d.deliverable(label)
                return self.add("sum", label or "印刷数量", ex, unit, reason, source="deliverable",
                                where={"types": [t]}, field="copies", **common)
            t = self.d.deliverable(label)
            return self.add("count", label or "成果", ex, unit, reason, source="deliverable", where={"types": [t]},
                            pacing={"mode": "due", "due": "end"}, **common)
        if unit == "项" and "服务" in seg:
            t = self.d.activity(label, "group")
            return self.add("distinct", label or "服务项数", ex, unit, reason, where={"types": [t]}, field="group",
                            **common)
        if unit in ("场", "次", "期", "节", "场次", "场（次）", "批", "类", "门", "项", "个", "支", "所", "条", "组", "天"):
            t = self.d.activity(label, "group")
            return self.add("count", label or "活动", ex, unit, reason, where={"types": [t]}, **common)
        return self.add("manual", label, ex, unit, f"数量“{self.excerpt(q.start, q.end)}”的单位无法归类，请人工拆分")

    @staticmethod
    def categories(before: str) -> list[str]:
        """The 科目 a money rule names before its comparator: 宣传费不超过… → [宣传费]."""
        m = re.search(r"([^\s,，;；。、:：的]{1,8}?(?:费|经费|支出))(?:的)?(?:支出|使用|开支)?(?:金额|比例|占比)?"
                      rf"(?:{_GE}|{_LE}|不得超过|不应超过|不超出|占)?[^,，;；。]*$", before)
        if not m:
            return []
        cat = re.sub(r"^(?:项目|其中|且|并|用于)", "", m.group(1))
        return [] if cat in ("经费", "资金", "支出", "总经费", "项目经费", "费用") else [cat]

    def expense_share(self, q: _Qty, seg: str, before: str, ex: str, value: float,
                      common: dict[str, Any]) -> dict[str, Any]:
        """资金执行率不低于90% → percent of the funding; 预算执行率 → of the budget; 宣传费不超过总经费10%
        → 宣传费 as a percent of the funding, at most; 人员经费占总支出不超过60% → a share of all spending."""
        against = "budget" if re.search(r"预算执行率|预算", seg) else \
            "spend" if re.search(r"占(?:总|全部|项目)?支出|总支出", seg) else "funding"
        cats = [] if "执行率" in seg and not re.search(r"[^资金项目预算]费", before) else self.categories(
            re.split(r"不超过|不高于|不得超过|不应超过|占|不低于|不少于|达到", before)[0] + "不超过")
        reason = {"funding": "起草器按条款推定为占资助金额的比例，请核对科目和分母",
                  "budget": "起草器按条款推定为预算执行率，请在规格中填写 budget 并核对科目",
                  "spend": "起草器按条款推定为占全部支出的比例，请核对科目"}[against]
        if re.search(r"不超过|不高于|不得超过|不应超过|控制在", before):  # 宣传费不超过总经费10%
            common = {**common, "comparator": "<="}
        return self.add("expense", _label(seg) or "资金执行率", ex, "%", reason, against=against,
                        where={"categories": cats} if cats else None, **common)

    def timeliness(self, ex: str, target: float, comparator: str | None, reason: str) -> dict[str, Any]:
        """A timeliness KPI from the first time limit read (3天内; 24小时内); the others are noted."""
        q, unit = self.within[0]
        self.timed = True
        if "工作日" in unit:
            return self.add("manual", "及时率", ex, "%", "按工作日计的时限尚不能从日期计量，请人工评定或改为自然日",
                            target=None)
        others = "、".join(self.excerpt(o.start, o.end) for o, _ in self.within[1:])
        if others:
            reason += f"；条款另有时限“{others}”，未计入"
        within = {"days": int(q.value)} if unit in ("天", "日") else {"hours": int(q.value)}
        after = re.sub(r"^(?:\([^)]*\))?\)?内", "", self.norm[q.end:q.seg_end])
        t = self.d.activity(_label(after) or "服务", "person")
        return self.add("timeliness", "及时率", ex, "%", reason, where={"types": [t]}, reference="requested_on",
                        within=within, target=target, comparator=comparator)

    def judgements(self, qs: list[_Qty]) -> None:
        """A part of the clause with no number and no rule read from it: a judgement for an auditor."""
        covered = [(q.seg_start, q.seg_end) for q in qs]
        covered += self.rule_spans
        for m in re.finditer(r"[^;；。\n①②③④⑤⑥⑦⑧⑨⑩,，]+", self.norm):
            a, b = m.start(), m.end()
            piece = m.group().strip(" ,，:：")
            if len(re.sub(r"[\s\d.、()（）]", "", piece)) < 6 or not _DUTY.search(piece):
                continue
            if any(x <= a and b <= y + 1 for x, y in covered) or any(x < b and a < y for x, y in self.rule_spans):
                continue
            if re.search(r"\d", piece) and QTY.search(piece):
                continue
            self.add("manual", _label(piece), self.excerpt(a, b), "项",
                     "条款中这一部分没有数量，起草为人工评定；请核对是否可计量")

    def rules(self) -> None:
        n = self.norm
        m = re.search(r"[^,，;；。]*(?:须|需|应|必须)?经[^,，;；。]*(?:审核|审批|审定|同意|备案)[^,，;；。]*", n)
        if m and re.search(r"方可|后|前|事先|事前|须经|需经|应经", m.group()):
            self.rule_spans.append((m.start(), m.end()))
            deliverable = re.search(r"发布|宣传|信息|推文|稿件|报道|出版", m.group())
            rules: dict[str, Any] = {}
            if deliverable:
                rules["source"] = "deliverable"
            self.add("approval_gate", "事前审核", self.excerpt(m.start(), m.end()), "项",
                     "起草器按“须经…审核”推定的事前审核，请核对适用的活动或成果", **rules)
        m = re.search(r"[^,，;；。]*(?:不得|杜绝|不发生|无|避免|严禁)[^,，;；。]*(?:舆情|投诉|安全事故|事故|责任事件)[^,，;；。]*", n)
        if m:
            self.rule_spans.append((m.start(), m.end()))
            types = [t for t, w in (("negative_publicity", "舆情"), ("liable_complaint", "投诉"),
                                    ("safety_accident", "事故")) if w in m.group()]
            self.add("zero_incident", "零事件", self.excerpt(m.start(), m.end()), "起", "起草器按“不得…”推定的零事件要求，请核对事件类型",
                     incident_types=types or ["negative_publicity"])
        m = re.search(r"[^,，;；。]*(?:支出|费用|经费|开支)[^,，;；。\d%]*不(?:得)?(?:超过|超出|突破)(?:核定)?预算[^,，;；。]*", n)
        if m:  # 支出不超过预算: spending within the approved budget, without a number
            self.rule_spans.append((m.start(), m.end()))
            cats = self.categories(re.split(r"不(?:得)?(?:超过|超出|突破)", m.group())[0] + "不超过")
            self.add("expense", "支出不超过预算", self.excerpt(m.start(), m.end()), "%",
                     "起草器按“不超过预算”推定为预算执行率不超过100%，请在规格中填写 budget 并核对科目",
                     against="budget", target=100, comparator="<=", where={"categories": cats} if cats else None)
        m = re.search(r"[^,，;；。]*无(?:违法)?犯罪记录[^,，;；。]*", n)
        if m:
            self.rule_spans.append((m.start(), m.end()))
            self.add("staff", "工作人员无犯罪记录证明", self.excerpt(m.start(), m.end()), "人",
                     "起草器按“无犯罪记录”推定的人员资质要求，请核对适用的工作人员", rule="all_have",
                     credential=self.d.credential("no_criminal_record", "无犯罪记录证明"))
        m = re.search(r"[^,，;；。]*(?:教师资格证|教师资格)[^,，;；。]*", n)
        if m:
            self.rule_spans.append((m.start(), m.end()))
            self.add("staff", "工作人员教师资格证", self.excerpt(m.start(), m.end()), "人",
                     "起草器按“教师资格证”推定的人员资质要求，请核对适用的工作人员", rule="all_have",
                     credential=self.d.credential("teacher_cert", "教师资格证"))
        m = re.search(r"(?:工作|从业|相关|专业)?经验(?:在)?([一二两三四五六七八九十\d.]+)年(?:及)?以上"
                      r"|([一二两三四五六七八九十\d.]+)年(?:及)?以上(?:的)?(?:相关|专业|工作|从业|社会工作)*(?:经验|经历)", n)
        years = _num(m.group(1) or m.group(2)) if m else None
        if m and years:  # 3年以上工作经验: a staff rule with a minimum experience
            self.rule_spans.append((m.start(), m.end()))
            self.add("staff", "工作人员工作经验", self.excerpt(m.start(), m.end()), "人",
                     "起草器按“N年以上工作经验”推定的人员经验要求，请用 where.roles 或 where.types 限定适用的岗位",
                     rule="all_have", min_experience_years=_plain(years))
        m = re.search(r"[^,，;；。]*(?:一户一档|一人[(（]?家?[)）]?一策|一人一档|各形成一份|各出具一份|逐[个家]出具)[^,，;；。]*", n)
        if m:  # 一户一档, 一人一策, 每家各形成一份反馈报告: a record of a type for every roster member
            self.rule_spans.append((m.start(), m.end()))
            what = re.search(r"一户一档|一人[(（]?家?[)）]?一策|一人一档案?|反馈报告|评估报告|报告|档案", m.group())
            label = {"一户一档": "一户一档服务档案"}.get(what.group(), what.group()) if what else "服务档案"
            self.add("per_person", f"每名服务对象一份{label}", self.excerpt(m.start(), m.end()), "份",
                     "起草器按“一户一档/一人一策/各形成一份”推定为名册内每个对象一份成果记录（填写服务对象编号），"
                     "请核对人群；只对接受过某类服务的对象判定时写 members_served_by",
                     source="deliverable", where={"types": [self.d.deliverable(label)],
                                                  "population": self.d.population("服务对象")}, target=1)


def draft_spec(project: ReleaseProject, programme: Programme | None = None) -> dict[str, Any]:
    """A draft spec (as a mapping, ready to dump as YAML) for one release-table project."""
    d = _Draft(project.code)
    clauses = [_ClauseDrafter(d, c, project).run() for c in project.clauses]
    if not clauses:
        clauses = [{"clause": 1, "text": "（发布表中没有读到条款，请照原文填写）",
                    "kpis": [{"key": "todo", "kind": "manual", "label": "待拆分", "unit": "项", "draft": NEEDS_REVIEW,
                              "draft_reason": "发布表中没有读到任何条款"}]}]
    funding: dict[str, Any] = {}
    if project.funding_wan is not None:
        funding["amount_wan"] = project.funding_wan
        basis = project.funding_basis or (programme.model.funding.basis if programme else "")
        if basis in ("amount", "cap"):
            funding["basis"] = basis
    else:
        funding["basis"] = "unknown"
    period: dict[str, Any]
    if project.period:
        period = {"start": project.period[0], "end": project.period[1]}
    else:
        today = clock.today()
        period = {"start": today, "end": dt.date(today.year + 1, today.month, 1)}
    category = project.category or "待填写类别"  # an unknown category fails validation: a person decides
    meta: dict[str, Any] = {
        "code": project.code,
        "name": project.name or project.code,
        "category": category,
        "funding": funding,
        "area": area_list(project.area_text) if project.area_text else ["待填写"],
        "period": period,
    }
    if project.target_groups:
        meta["target_groups"] = project.target_groups
    if project.service_scale:
        meta["service_scale"] = project.service_scale
    spec: dict[str, Any] = {"spec_version": 1, "project": meta}
    for name, items in (("populations", d.populations), ("activity_types", d.activity_types),
                        ("deliverable_types", d.deliverable_types), ("instruments", d.instruments),
                        ("credentials", d.credentials)):
        if items:
            spec[name] = items
    spec["clauses"] = clauses
    return spec


def draft_notes(project: ReleaseProject) -> list[str]:
    """What the drafter could not fill from the table (written as comments at the top of the draft)."""
    notes = []
    if not project.period:
        notes.append(f"项目周期“{project.period_text}”无法识别，period 暂填占位日期，请照发布表改正")
    if not project.category:
        notes.append("项目类别无法识别，请填写")
    if not project.area_text:
        notes.append("实施区域未读到，请填写 area")
    return notes


# ------------------------------------------------------------------ tables to draft files


def draft_yaml(spec: dict[str, Any], notes: list[str] | None = None) -> str:
    import yaml

    from tracker.kpispec.skeleton import _Dumper

    head = [f"# {spec['project']['code']} {spec['project']['name']}",
            "# 起草器生成的草稿：每个 draft: needs review 的指标都须人工复核，复核后删去 draft 和 draft_reason。"]
    head += [f"# 待补：{n}" for n in notes or []]
    body = yaml.dump(spec, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
    return "\n".join(head) + "\n" + body


@dataclass
class DraftRun:
    written: list[str]  # file paths
    issues: list[str]  # what the table reader could not read
    n_kpis: int
    n_manual: int


def table_for(path: Any, programme: Programme | None) -> Any:
    """Read a release table: in the format its programme gives it, else by its extension."""
    from pathlib import Path

    from tracker.kpispec.release_table import read_table

    p = Path(path).resolve()
    fmt = "auto"
    if programme:
        fmt = next((f for tp, f in programme.release_table_paths() if tp == p), "auto")
    return read_table(p, fmt, programme)


def draft_table(table_path: Any, out_dir: Any, programme: Programme | None = None) -> DraftRun:
    """Write one draft spec per project of the table into ``out_dir`` (``<code>.yaml``)."""
    from pathlib import Path

    from tracker.errors import TrackerError
    from tracker.kpispec.programme import PROGRAMME_FILE, programme_for_table

    table_path, out_dir = Path(table_path), Path(out_dir)
    programme = programme or programme_for_table(table_path, table_path.parent)
    tables = table_for(table_path, programme)
    if not tables.projects:
        raise TrackerError(f"发布表 {table_path.name} 中没有读到任何项目：" + "；".join(tables.issues[:5]))
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    n_kpis = n_manual = 0
    for code, project in tables.projects.items():
        spec = draft_spec(project, programme)
        target = out_dir / f"{code}.yaml"
        if target.exists():
            raise TrackerError(f"{target} 已存在：草稿不覆盖已有文件，请换一个输出目录或先移走它")
        target.write_text(draft_yaml(spec, draft_notes(project)), "utf-8")
        written.append(str(target))
        for c in spec["clauses"]:
            n_kpis += len(c["kpis"])
            n_manual += sum(1 for k in c["kpis"] if k["kind"] == "manual")
    if programme and not (out_dir / PROGRAMME_FILE).exists() and \
            programme.directory.resolve() not in (out_dir.resolve(), *out_dir.resolve().parents):
        text = programme.path.read_text("utf-8")
        for rel, _fmt in programme.model.release_tables and [(r.path, r.format) for r in programme.model.release_tables]:
            text = text.replace(rel, str((programme.directory / rel).resolve()))
        (out_dir / PROGRAMME_FILE).write_text(text, "utf-8")
    return DraftRun(written, tables.issues, n_kpis, n_manual)
