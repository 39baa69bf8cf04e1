"""Generate one project's records for its whole period, as DataFrames keyed like docs/contracts.md §3.

Everything is drawn from a ``random.Random`` seeded with the seed and the project code, and the whole
period is generated before anything is cut at ``as_of``: a record has the same record number and
content whatever date the simulation stops at, so simulating further later only adds records.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tracker.clock import month_end
from tracker.kpispec.model import LEVELS, ActivityType, Field_, Spec
from tracker.simulate import geography as geo
from tracker.simulate import people as ppl
from tracker.simulate.needs import ProjectNeeds, TypeNeeds, analyse
from tracker.simulate.profiles import Profile, profile_for

KINDS: tuple[str, ...] = ("roster", "staff", "credential", "approval", "activity", "survey", "assessment",
                          "deliverable", "expense", "incident")

COLUMNS: dict[str, tuple[str, ...]] = {
    "roster": ("person_id", "name", "id_number", "town", "village", "category", "enrolled_on",
               "population", "district", "household"),
    "activity": ("record_id", "date", "activity", "person_id", "participants", "hours", "town", "location",
                 "level", "staff", "notes", "district", "village", "days", "group"),
    "survey": ("record_id", "date", "respondent_type", "person_id", "satisfied", "score"),
    "approval": ("record_id", "date", "activity", "valid_from", "valid_to", "reference", "notes"),
    "expense": ("record_id", "date", "category", "amount", "notes"),
    "deliverable": ("record_id", "date", "deliverable", "title", "words", "minutes", "copies", "file",
                    "level", "district", "town", "person_id"),
    "staff": ("record_id", "staff_id", "name", "role", "works_with_children", "started_on", "practice_since"),
    "credential": ("record_id", "staff_id", "credential", "obtained_on", "expires_on", "reference"),
    "assessment": ("record_id", "date", "instrument", "person_id", "phase", "score", "passed"),
    "incident": ("record_id", "date", "incident_type", "description", "notes"),
}

EXPENSE_CATEGORIES: tuple[tuple[str, float], ...] = (
    ("人员经费", 0.40), ("活动经费", 0.28), ("专家咨询费", 0.07), ("宣传费", 0.06), ("印刷费", 0.05),
    ("办公费", 0.05), ("交通费", 0.05), ("管理费", 0.04),
)
STAFF_ROLES: tuple[str, ...] = ("项目主管", "专职社工", "专职社工", "督导", "社工助理", "志愿者协调员", "财务",
                                "专职社工", "社工助理")
_LOCATION_KINDS = ("社区服务中心", "文化礼堂", "社会工作站", "居家养老服务中心", "党群服务中心", "小学",
                   "未成年人保护工作站", "老年活动中心", "邻里中心", "图书馆")


@dataclass
class Person:
    person_id: str
    population: str
    name: str
    id_number: str | None
    district: str
    town: str
    village: str
    household: str
    enrolled_on: dt.date


@dataclass
class ProjectData:
    """One project's generated records (full period) and what it was generated with."""

    code: str
    profile: Profile
    frames: dict[str, pd.DataFrame]
    violations: list[str] = field(default_factory=list)  # what breaches were injected, in Chinese

    def until(self, as_of: dt.date) -> dict[str, pd.DataFrame]:
        """The records known by ``as_of`` (dated, enrolled or started on or before it)."""
        out: dict[str, pd.DataFrame] = {}
        for kind, df in self.frames.items():
            col = {"roster": "enrolled_on", "staff": "started_on", "credential": "obtained_on"}.get(kind, "date")
            out[kind] = df[df[col] <= as_of].reset_index(drop=True) if len(df) else df
        return out


def project_seed(seed: int, code: str) -> str:
    return f"tracker-simulate:{seed}:{code}"


class _Gen:
    def __init__(self, spec: Spec, seed: int, scale: float, profile: Profile):
        self.spec = spec
        self.code = spec.code
        self.rng = random.Random(project_seed(seed, spec.code))
        self.scale = scale
        self.profile = profile
        self.needs: ProjectNeeds = analyse(spec)
        p = spec.project
        self.start, self.end, self.mid = p.period.start, p.period.end, p.midterm_date
        self.districts = geo.districts_for_area(p.area)
        self.towns = geo.towns_for_area(p.area)
        self.rows: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
        self.roster: dict[str, list[Person]] = {}
        self.villages: dict[str, list[str]] = {}
        self.violations: list[str] = []
        self.approval_day = self.start + dt.timedelta(days=self.rng.randint(2, 6))
        self.first_day = self.approval_day + dt.timedelta(days=self.rng.randint(3, 8))
        self.staff_in_post: list[tuple[dt.date, str]] = []  # (started_on, name), in the order hired

    # ------------------------------------------------------------------ small helpers

    def n(self, x: float) -> int:
        """A volume scaled by --scale (at least 1 when x is positive)."""
        return max(1, math.ceil(x * self.scale)) if x > 0 else 0

    def day_between(self, lo: dt.date, hi: dt.date) -> dt.date:
        if hi <= lo:
            return lo
        return lo + dt.timedelta(days=self.rng.randint(0, (hi - lo).days))

    def every_slot(self, dates: list[dt.date], n: TypeNeeds) -> list[dt.date]:
        """``dates`` and, appended, enough more that every month (or week from the period start) from
        the first activity day to the end has ``project_per_month`` (``project_per_week``) of them."""
        per, weekly = (n.project_per_week, True) if n.project_per_week else (n.project_per_month, False)
        if not per:
            return dates
        if weekly:
            spans = [(max(self.first_day, self.start + dt.timedelta(days=7 * w)),
                      min(self.end, self.start + dt.timedelta(days=7 * w + 6)))
                     for w in range((self.end - self.start).days // 7 + 1)]
        else:
            spans = [(m, min(month_end(m), self.end)) for m in _months(self.first_day, self.end)]
        out = list(dates)
        for lo, hi in spans:
            if lo > hi:
                continue
            have = sum(1 for d in dates if lo <= d <= hi)
            out.extend(self.day_between(lo, hi) for _ in range(per - have))
        return out

    def spread(self, k: int, lo: dt.date, hi: dt.date) -> list[dt.date]:
        """k dates spread evenly over [lo, hi] with some jitter, sorted."""
        if k <= 0:
            return []
        span = max((hi - lo).days, 1)
        out = []
        for i in range(k):
            centre = (i + 0.5) * span / k
            jitter = self.rng.uniform(-0.45, 0.45) * span / k
            out.append(lo + dt.timedelta(days=int(min(span, max(0, centre + jitter)))))
        return sorted(out)

    def due_date(self, due: str) -> dt.date:
        if due == "midterm":
            target = self.mid
        elif due == "end":
            target = self.end
        else:
            target = dt.date.fromisoformat(due)
        lo = max(self.first_day, target - dt.timedelta(days=45))
        return self.day_between(lo, target - dt.timedelta(days=3))

    def village(self, town: str) -> str:
        pool = self.villages.get(town)
        if pool is None:
            names: list[str] = []
            while len(names) < 8:
                v = ppl.village_name(self.rng, town)
                if v not in names:
                    names.append(v)
            pool = self.villages[town] = names
        return self.rng.choice(pool)

    def pick_town(self) -> tuple[str, str]:
        return self.rng.choice(self.towns)

    # ------------------------------------------------------------------ rosters

    def make_rosters(self) -> None:
        spec = self.spec
        pops = {p.key: p for p in spec.populations}
        monthly = {t.population for t in spec.activity_types
                   if t.population and (self.needs.activity[t.key].per_month or self.needs.activity[t.key].per_week)}
        ids: set[str] = set()
        for idx, (key, size) in enumerate(sorted(self.needs.roster_sizes.items())):
            p = pops.get(key)
            label = p.label if p else "服务对象"
            unit = p.unit if p else "人"
            group = ppl.age_group(key, label)
            is_org = unit in ("家", "个", "所")
            members: list[Person] = []
            # spread people across the area's towns: a few towns hold most of them
            town_pool = self.rng.sample(self.towns, k=min(len(self.towns), max(6, len(self.towns) // 2)))
            for i in range(self.n(size)):
                district, town = town_pool[i % len(town_pool)] if i < len(town_pool) else self.rng.choice(town_pool)
                pid = f"{self.code[4:]}-{chr(65 + idx)}{i + 1:05d}"
                male = self.rng.random() < (0.45 if group == "elder" else 0.5)
                if is_org:
                    name, idn = ppl.organisation_name(self.rng, town), None
                else:
                    name = ppl.chinese_name(self.rng, group, male)
                    while True:
                        born = ppl.birth_date(self.rng, group, self.start)
                        idn = ppl.id_number(self.rng, geo.AREA_CODES[district], born, male)
                        if idn not in ids:
                            ids.add(idn)
                            break
                if key in monthly:
                    enrolled = self.day_between(self.start, self.start + dt.timedelta(days=20))
                else:
                    enrolled = self.day_between(self.start, self.start + (self.end - self.start) * 0.55)
                household = f"{self.code[4:]}-H{idx}{i + 1:05d}"
                members.append(Person(pid, key, name, idn, district, town, self.village(town), household,
                                      enrolled))
            self.roster[key] = members

    def first_served(self, person: Person, when: dt.date) -> None:
        if when < person.enrolled_on:
            person.enrolled_on = max(self.start, when - dt.timedelta(days=self.rng.randint(0, 10)))

    def emit_roster(self) -> None:
        labels = {p.key: p.label for p in self.spec.populations}
        for key, members in self.roster.items():
            for p in members:
                self.rows["roster"].append({
                    "person_id": p.person_id, "name": p.name, "id_number": p.id_number, "town": p.town,
                    "village": p.village, "category": labels.get(key, "服务对象"), "enrolled_on": p.enrolled_on,
                    "population": key or None, "district": p.district, "household": p.household,
                })

    # ------------------------------------------------------------------ staff, approvals, expenses

    def make_staff(self) -> None:
        k = self.rng.randint(5, 8)
        children = self.spec.project.category == "助残惠童类"
        creds = [c.key for c in self.spec.credentials]
        missing_at = None
        if self.profile.violations and "no_criminal_record" in self.needs.staff_credentials:
            missing_at = 3
            self.violations.append("一名工作人员缺少无犯罪记录证明")
        # a staff rule scoped to a role nobody of the usual roles holds (助教教师): the first ones hold it
        roles = [r for r in self.needs.staff_roles if r not in STAFF_ROLES]
        k = max(k, len(roles) + 2)
        for i in range(k):
            sid = f"{self.code[4:]}-S{i + 1:02d}"
            name = ppl.chinese_name(self.rng, "adult", self.rng.random() < 0.4)
            started = self.start - dt.timedelta(days=self.rng.randint(0, 20)) if i < 4 else \
                self.day_between(self.start, self.mid)
            self.staff_in_post.append((started, name))
            role = roles[i] if i < len(roles) else STAFF_ROLES[i % len(STAFF_ROLES)]
            # years of practice before joining: more than any staff rule asks (3年以上工作经验)
            years = self.needs.staff_experience + 1 + i % 5  # not drawn: the random stream stays as it was
            self.rows["staff"].append({
                "record_id": sid, "staff_id": sid, "name": name, "role": role,
                "works_with_children": children and role != "财务",
                "started_on": started, "practice_since": started - dt.timedelta(days=math.ceil(years * 366)),
            })
            for c in creds:
                if c == "no_criminal_record" and i == missing_at:
                    continue
                # held before the person starts work: they are named only on activities from then on
                obtained = started - dt.timedelta(days=self.rng.randint(10, 200))
                self.rows["credential"].append({
                    "record_id": f"{sid}-{c}", "staff_id": sid, "credential": c, "obtained_on": obtained,
                    "expires_on": None, "reference": f"证明{self.rng.randint(100000, 999999)}",
                })

    def make_approvals(self) -> None:
        needs = self.needs
        if not needs.approval_gate and not needs.deliverable_gate:
            return
        n = self.rng.randint(20, 180)
        base = {"valid_from": self.start, "valid_to": self.end}
        if self.profile.per_type_approvals and needs.approval_gate:
            day = self.approval_day
            kinds: list[tuple[str | None, str]] = [(t.key, t.label) for t in self.spec.activity_types]
            if needs.deliverable_gate:  # approvals name activity types; deliverables need a plan-wide one
                kinds.append((None, "项目成果发布"))
            for j, (key, label) in enumerate(kinds):
                self.rows["approval"].append({
                    "record_id": f"{self.code[4:]}-AP{j + 1:02d}", "date": day, "activity": key,
                    "reference": f"杭民函〔2024〕{n + j}号", "notes": f"{label}实施方案审核通过", **base,
                })
        else:
            self.rows["approval"].append({
                "record_id": f"{self.code[4:]}-AP01", "date": self.approval_day, "activity": None,
                "reference": f"杭民函〔2024〕{n}号", "notes": "项目实施方案审核通过（覆盖全部活动）", **base,
            })

    def make_expenses(self) -> None:
        budget = (self.spec.project.funding.amount_wan or 20) * 10000 * self.scale  # 未定: a typical 20万
        months = _months(self.start, self.end)
        pace = min(self.profile.pace, 1.0) * 0.97
        i = 0
        for m in months:
            for cat, share in EXPENSE_CATEGORIES:
                if cat in ("印刷费", "专家咨询费") and self.rng.random() < 0.5:
                    continue
                amount = budget * share * pace / len(months) * self.rng.uniform(0.7, 1.3)
                i += 1
                last = min(month_end(m), self.end)
                self.rows["expense"].append({
                    "record_id": f"{self.code[4:]}-E{i:05d}", "date": self.day_between(m, last),
                    "category": cat, "amount": round(amount, 2), "notes": f"{m:%Y年%m月}{cat}",
                })

    def make_incidents(self) -> None:
        kinds = self.needs.incident_types
        if not kinds or not self.profile.violations:
            return
        kind = "liable_complaint" if "liable_complaint" in kinds else kinds[0]
        self.rows["incident"].append({
            "record_id": f"{self.code[4:]}-I01", "date": self.day_between(self.first_day, self.mid),
            "incident_type": kind, "description": "服务对象家属投诉上门时间多次变更，经核实为有责投诉",
            "notes": "已道歉并调整排班",
        })
        self.violations.append("一起有责投诉")

    # ------------------------------------------------------------------ activities

    def activity_row(self, t: ActivityType, date: dt.date, **kw: Any) -> dict[str, Any]:
        # only staff already in post on the day (the first four start before the project does)
        in_post = [name for started, name in self.staff_in_post if started <= date]
        row = {"date": date, "activity": t.key, "staff": self.rng.choice(in_post)}
        row.update(kw)
        return row

    def person_type(self, t: ActivityType, n: TypeNeeds) -> list[dict[str, Any]]:
        members = self.roster.get(t.population or "", [])
        if not members:
            return []
        rows: list[dict[str, Any]] = []
        want_people = self.n(max(n.people, n.groups, n.households))
        if n.whole_roster or n.per_month or n.per_week:
            want_people = len(members)
        count = self.n(n.count)
        if n.cap:
            want_people = max(want_people, math.ceil(count * self.profile.pace / n.cap))
        if want_people == 0:
            want_people = min(len(members), max(1, count // 2) if count else max(3, len(members) // 5))
        served = members[: min(len(members), math.ceil(want_people * max(1.0, min(self.profile.pace, 1.03))))]
        lo = self.first_day
        if n.hours_per_person:  # 学时/人: sessions of about three hours
            hours = lambda: max(n.hours_min or 0, self.rng.choice((2.5, 3.0, 3.0, 3.5)))  # noqa: E731
        elif t.hours:
            hours = lambda: (n.hours_min or 1.0) + self.rng.choice((0, 0.5, 1.0))  # noqa: E731
        else:
            hours = lambda: None  # noqa: E731
        days = (lambda: self.rng.choice((1, 1, 2))) if n.days_per_person else (lambda: None)
        min_each = max(n.per_period, n.per_group, 1,
                       math.ceil(n.hours_per_person * 1.05 / 3.0) if n.hours_per_person else 0,
                       math.ceil(n.days_per_person * 1.1) if n.days_per_person else 0)
        in_towns = [(d, tw) for d in (n.in_districts or ()) for tw in geo.DISTRICT_TOWNS.get(d, ())]

        per_person: dict[str, list[dt.date]] = {}
        if n.per_month or n.per_week:
            per = n.per_week or n.per_month
            for p in served:
                dates: list[dt.date] = []
                if n.per_week:  # the engine's weeks count from the period start
                    first = lo if self.needs.approval_gate else self.start
                    for w in range((self.end - self.start).days // 7 + 1):
                        w_lo = max(first, self.start + dt.timedelta(days=7 * w))
                        w_hi = min(self.end, self.start + dt.timedelta(days=7 * w + 6))
                        for _ in range(per if w_lo <= w_hi else 0):
                            dates.append(self.day_between(w_lo, w_hi))
                else:
                    for m in _months(max(lo, p.enrolled_on), self.end):
                        m_lo = max(m, lo, p.enrolled_on)
                        for _ in range(per + (1 if self.rng.random() < 0.08 else 0)):
                            dates.append(self.day_between(m_lo, min(month_end(m), self.end)))
                per_person[p.person_id] = dates
        else:
            per_each = min_each
            total = max(count, len(served) * per_each)
            target_total = math.ceil(total * (self.profile.pace if not n.cap else min(self.profile.pace, 1.0)))
            base, extra = divmod(max(target_total, len(served)), len(served))
            for i, p in enumerate(served):
                k = base + (1 if i < extra else 0)
                k = max(k, per_each if self.profile.pace >= 1 else 1)
                if n.cap:
                    k = min(k, n.cap)
                start = max(lo, p.enrolled_on) if (n.duration_months or per_each > 1) else lo
                per_person[p.person_id] = self.spread(k, start, self.end - dt.timedelta(days=5)) \
                    if (n.duration_months or per_each > 1 or k > 1) else [self.day_between(lo, self.end)]
        if n.project_per_month or n.project_per_week:  # the project as a whole, every month (week)
            have = [d for ds in per_person.values() for d in ds]
            for d in self.every_slot(have, n)[len(have):]:
                p = self.rng.choice(served)
                per_person.setdefault(p.person_id, []).append(d)
        by_id = {p.person_id: p for p in served}
        # behind projects skip some of the regular (monthly, weekly) visits
        thin = self.profile.thin if (n.per_month or n.per_week) else 1.0
        for pid, dates in per_person.items():
            p = by_id[pid]
            kept = [d for d in dates if thin >= 1 or self.rng.random() < thin] or dates[:1]
            if not kept:
                continue
            self.first_served(p, kept[0])
            group = f"{p.name[0]}某某个案（{pid}）" if (n.groups or n.per_group) else None
            for d in kept:
                district, town, village = p.district, p.town, p.village
                if in_towns and district not in (n.in_districts or ()):
                    district, town = self.rng.choice(in_towns)
                    village = self.village(town)
                rows.append(self.activity_row(t, d, person_id=pid, hours=hours(), days=days(), town=town,
                                              district=district, village=village, group=group,
                                              location=f"{village}（入户）"))
        if n.cap and self.profile.violations and served:
            p = served[0]  # over the cap already before the mid-term assessment
            early = self.mid - dt.timedelta(days=10)
            have = sum(1 for r in rows if r["person_id"] == p.person_id and r["date"] <= early)
            for _ in range(n.cap + 1 - have):
                rows.append(self.activity_row(t, self.day_between(self.first_day, early), person_id=p.person_id,
                                              town=p.town, district=p.district, village=p.village,
                                              location=f"{p.village}（入户）", hours=hours(), group=None))
            self.violations.append(f"{t.label}：一名服务对象超过每人{n.cap}次的上限")
        return rows

    def group_type(self, t: ActivityType, n: TypeNeeds) -> list[dict[str, Any]]:
        pace = self.profile.pace
        groups = self.n(n.groups) if n.groups else (1 if n.per_group else 0)
        cover: list[tuple[str, Field_]] = []  # round-robin: every member once, then again …
        for rep in range(max([k for _f, k in n.cover.values()] + [0])):
            cover.extend((m, f) for m, (f, k) in n.cover.items() if k > rep)
        p_min = n.participants_min or 0
        base_count = max(self.n(n.count), groups * max(n.per_group, 1), len(cover), n.towns, n.districts,
                         n.villages, n.locations)
        rule_count = base_count
        if n.participants_sum and not base_count:
            base_count = math.ceil(self.n(n.participants_sum) / max(p_min * 1.2, 30))
        if base_count == 0:
            base_count = self.rng.randint(3, 6)
        if n.due:
            sessions = base_count
            dates = [self.due_date(n.due) for _ in range(sessions)]
        else:
            sessions = max(1, round(base_count * pace)) if rule_count or n.participants_sum else base_count
            if pace >= 1:
                sessions = max(sessions, rule_count, len(cover))
            dates = self.spread(sessions, self.first_day, self.end - dt.timedelta(days=7))
            dates = sorted(self.every_slot(dates, n))
            sessions = len(dates)
        avg = max(p_min * 1.2, (n.participants_avg or 0) * 1.08, 18.0)
        if n.participants_sum:
            avg = max(avg, self.n(n.participants_sum) * 1.08 / max(sessions, 1))
        if n.participants_max:
            avg = min(avg, n.participants_max * 0.9)
        # where the sessions take place
        dist_cycle = self._district_cycle(n)
        town_cycle = self._town_cycle(n, dist_cycle)
        locations = [f"{self.village(tw)}{self.rng.choice(_LOCATION_KINDS)}" for _, tw in town_cycle[: max(n.locations + 2, 1)]]
        rows = []
        order = list(range(sessions))
        for i in order:
            date = dates[i]
            if cover and i < len(cover):
                member, f = cover[i]
                if f is Field_.district:
                    district, town = member, self.rng.choice(geo.DISTRICT_TOWNS.get(member, ("",)))
                else:
                    town, district = member, geo.district_of_town(member) or self.districts[0]
            else:
                district, town = town_cycle[i % len(town_cycle)]
            participants = max(int(p_min), round(self.rng.gauss(avg, avg * 0.12)), 3)
            if n.participants_max:
                participants = min(participants, int(n.participants_max))
            hours = None
            if t.hours:
                hours = max(n.hours_min or 0, self.rng.choice((1.5, 2.0, 2.0, 2.5, 3.0)))
                if n.hours_min and n.hours_min >= 6:
                    hours = n.hours_min + self.rng.choice((0, 0.5, 1.0))
            days = (n.days_min + self.rng.choice((0, 0, 1))) if n.days_min else None
            group = None
            if groups:
                group = f"{t.label}第{_cn_num(i % groups + 1)}组"
            location = locations[i % len(locations)] if n.locations else \
                f"{self.village(town)}{self.rng.choice(_LOCATION_KINDS)}"
            rows.append(self.activity_row(
                t, date, participants=participants, hours=hours, town=town, district=district,
                village=self.village(town), location=location, days=days, group=group,
                notes=f"签到表{participants}人"))
        if self.profile.violations and p_min >= 5 and rows:
            r = dict(rows[len(rows) // 3])
            r["participants"] = int(p_min) - self.rng.randint(2, 4)
            r["date"] = r["date"] + dt.timedelta(days=1)
            r["notes"] = f"签到表{r['participants']}人（因天气原因到场人数不足）"
            rows.append(r)
            self.violations.append(f"{t.label}：一场活动低于每场{int(p_min)}人的下限")
        return rows

    def _district_cycle(self, n: TypeNeeds) -> list[str]:
        rules = list(self.needs.all_types_district_rules)
        need = max([n.districts] + [k for f, k, _ in rules if f is Field_.district] + [0])
        order = list(self.districts)
        self.rng.shuffle(order)
        # subsets first (e.g. at least 3 of the five western counties)
        subset_rules = list(n.district_subsets) + [(s, k) for f, k, s in rules if f is Field_.district and s]
        head: list[str] = []
        for subset, k in subset_rules:
            inside = [d for d in order if d in subset and d not in head]
            head.extend(inside[: k + 1])
        rest = [d for d in order if d not in head]
        cycle = head + rest
        return cycle[: max(need + 1, len(head), 1)] if need else cycle

    def _town_cycle(self, n: TypeNeeds, districts: list[str]) -> list[tuple[str, str]]:
        rules = self.needs.all_types_district_rules
        need_towns = max([n.towns, n.villages] + [k for f, k, _ in rules if f in (Field_.town, Field_.village)] + [0])
        pairs: list[tuple[str, str]] = []
        # round-robin over districts so every district in the cycle appears early
        per_district = {d: list(geo.DISTRICT_TOWNS[d]) for d in districts}
        for towns in per_district.values():
            self.rng.shuffle(towns)
        depth = 0
        while len(pairs) < sum(len(v) for v in per_district.values()):
            for d in districts:
                if depth < len(per_district[d]):
                    pairs.append((d, per_district[d][depth]))
            depth += 1
        size = max(need_towns + 2, len(districts), 5)
        return pairs[: min(size, len(pairs))]

    def make_activities(self) -> None:
        rows: list[dict[str, Any]] = []
        for t in self.spec.activity_types:
            n = self.needs.activity.get(t.key, TypeNeeds())
            made = self.person_type(t, n) if t.serves == "person" else self.group_type(t, n)
            rows.extend(made)
        if self.needs.approval_gate and self.profile.violations and rows:
            t0 = next((r for r in rows if r.get("participants") is not None), rows[0])
            r = dict(t0)
            r["date"] = self.approval_day - dt.timedelta(days=self.rng.randint(1, 2))
            r["notes"] = "方案审核前先行开展"
            rows.append(r)
            if r.get("person_id"):
                person = next(p for ps in self.roster.values() for p in ps if p.person_id == r["person_id"])
                self.first_served(person, r["date"])
            self.violations.append("一次活动早于审批日期开展")
        rows.sort(key=lambda r: (r["date"], r["activity"], r.get("person_id") or "", r.get("town") or ""))
        for i, r in enumerate(rows):
            r["record_id"] = f"{self.code[4:]}-A{i + 1:06d}"
        self.rows["activity"] = rows

    # ------------------------------------------------------------------ surveys and assessments

    def make_surveys(self) -> None:
        needs = self.needs.surveys
        types = dict.fromkeys([*needs.participation, *needs.satisfaction])
        if not types:
            return
        main_pop = max(self.roster, key=lambda k: len(self.roster[k])) if self.roster else None
        wave1 = self.day_between(self.mid - dt.timedelta(days=35), self.mid - dt.timedelta(days=8))
        wave2 = self.day_between(self.end - dt.timedelta(days=40), self.end - dt.timedelta(days=10))
        rows = []
        for rt in types:
            if rt in needs.participation:
                pop, pct = needs.participation[rt]
                members = self.roster.get(pop, [])
                k = min(len(members), math.ceil(len(members) * min(100, pct + 8) / 100))
                chosen: list[Person | None] = list(self.rng.sample(members, k)) if members else []
            elif rt == "client" and main_pop is not None:
                members = [p for p in self.roster[main_pop] if p.enrolled_on < wave1] or self.roster[main_pop]
                k = min(len(members), max(30, min(200, self.n(len(members) * 0.15))))
                chosen = list(self.rng.sample(members, k))
            else:
                chosen = [None] * self.rng.randint(8, 15)
            for wave in (wave1, wave2):
                for p in chosen:
                    ok = self.rng.random() < self.profile.satisfaction
                    rows.append({"date": wave, "respondent_type": rt, "person_id": p.person_id if p else None,
                                 "satisfied": "是" if ok else "否",
                                 "score": self.rng.choice((4, 5, 5)) if ok else self.rng.choice((2, 3))})
        rows.sort(key=lambda r: (r["date"], r["respondent_type"], r["person_id"] or ""))
        for i, r in enumerate(rows):
            r["record_id"] = f"{self.code[4:]}-Q{i + 1:05d}"
        self.rows["survey"] = rows

    def make_assessments(self) -> None:
        rows: list[dict[str, Any]] = []
        for key, need in self.needs.instruments.items():
            members: list[Person] = [p for pop in sorted(need.populations) for p in self.roster.get(pop, [])]
            if not members:
                members = [p for ps in self.roster.values() for p in ps]
            k = len(members) if need.per_person or need.populations else 0
            if need.pass_target or need.improvement:
                k = max(k, 20, min(200, len(members) // 10))
            k = max(k, self.n(need.count))
            if key.endswith("_pre"):
                phase = "pre"
            elif key.endswith("_post"):
                phase = "post"
            else:
                phase = "single"
            pass_p = 1.0 if (need.pass_target or 0) >= 100 else min(1.0, (need.pass_target or 70) / 100 + 0.1)
            if need.due:
                dates = [self.due_date(need.due) for _ in range(k)]
            elif phase == "pre":
                dates = self.spread(k, self.first_day, self.start + (self.end - self.start) * 0.45)
            else:
                dates = self.spread(k, self.first_day, self.end - dt.timedelta(days=10))
            pace = self.profile.pace if phase == "single" and not need.populations else 1.0
            keep = max(1, round(k * min(pace, 1.05))) if k else 0
            for i in range(keep):
                p = members[i % len(members)] if members else None
                d = dates[i % len(dates)]
                if p is not None:
                    self.first_served(p, d)
                ok = self.rng.random() < pass_p
                score = round(self.rng.uniform(70, 98) if ok else self.rng.uniform(40, 69), 1)
                phases = ("pre", "post") if need.improvement else (phase,)
                for ph in phases:
                    dd = d if ph != "post" or not need.improvement else self.day_between(
                        self.end - dt.timedelta(days=40), self.end - dt.timedelta(days=5))
                    rows.append({"date": dd, "instrument": key, "person_id": p.person_id if p else None,
                                 "phase": ph, "score": score if ph != "pre" or not need.improvement else score - 12,
                                 "passed": "是" if ok else "否"})
            if (need.pass_target or 0) >= 100 and self.profile.violations and rows:
                rows[-1]["passed"] = "否"
                self.violations.append("一名服务对象需求匹配未达成")
        rows.sort(key=lambda r: (r["date"], r["instrument"], r["person_id"] or "", r["phase"]))
        for i, r in enumerate(rows):
            r["record_id"] = f"{self.code[4:]}-T{i + 1:05d}"
        self.rows["assessment"] = rows

    # ------------------------------------------------------------------ deliverables

    def make_deliverables(self) -> None:
        rows: list[dict[str, Any]] = []
        labels = {d.key: d.label for d in self.spec.deliverable_types}
        for key, n in self.needs.deliverable.items():
            label = labels.get(key, key)
            cover: list[str] = []
            for m, (_f, k) in n.cover.items():
                cover.extend([m] * k)
            count = max(self.n(n.count) if n.count > 3 else int(n.count), len(cover), sum(n.levels.values()))
            if count == 0:
                count = 1 if n.copies_sum else self.rng.randint(1, 3)
            if not n.due and count >= 3:
                count = max(count, round(count * self.profile.pace))
            if n.due:
                dates = sorted(self.due_date(n.due) for _ in range(count))
            else:
                dates = self.spread(count, self.first_day + dt.timedelta(days=20), self.end - dt.timedelta(days=7))
            levels: list[str] = []
            for lvl, k in sorted(n.levels.items(), key=lambda kv: -LEVELS.index(kv[0])):
                levels.extend([lvl] * (k - len(levels)) if k > len(levels) else [])
            # spread the high-level ones over the period rather than first
            level_at = {round(i * count / max(len(levels), 1)): lv for i, lv in enumerate(levels)}
            is_text = any(w in label for w in ("报告", "方案", "指南", "手册", "汇编", "读物", "案例", "体系",
                                               "机制", "建议", "标准", "集"))
            is_video = any(w in label for w in ("视频", "微电影", "短剧", "影像"))
            for i, d in enumerate(dates):
                words = minutes = copies = None
                if n.words_min:
                    words = int(n.words_min * self.rng.uniform(1.05, 1.6))
                elif is_text:
                    words = self.rng.randint(3000, 12000)
                if n.minutes_min or n.minutes_max:
                    lo = n.minutes_min or 0.5
                    hi = n.minutes_max or lo * 1.6
                    minutes = round(self.rng.uniform(max(lo, min(hi, lo * 1.02)), hi), 1)
                elif is_video:
                    minutes = round(self.rng.uniform(3, 12), 1)
                if n.copies_sum:
                    copies = math.ceil(self.n(n.copies_sum) * 1.1 / count)
                level = level_at.get(i) or (self.rng.choice(("区县", "区县", "市级")) if n.levels else None)
                if cover and i < len(cover):
                    town = cover[i]
                    district = geo.district_of_town(town)
                else:
                    district, town = self.pick_town()
                ext = "mp4" if is_video or minutes else ("pdf" if is_text or words else "jpg")
                title = label if count == 1 else f"{label}（{i + 1}）"
                rows.append({"date": d, "deliverable": key, "title": title, "words": words, "minutes": minutes,
                             "copies": copies, "file": f"{self.code}/{key}-{i + 1:02d}.{ext}", "level": level,
                             "district": district, "town": town})
        rows.extend(self.member_files(labels))
        rows.sort(key=lambda r: (r["date"], r["deliverable"], r["title"]))
        for i, r in enumerate(rows):
            r["record_id"] = f"{self.code[4:]}-D{i + 1:04d}"
        self.rows["deliverable"] = rows

    def member_files(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        """一户一档: one file per roster member (of those an activity of the named types served), dated
        a few weeks after its enrolment (or first service) and before it is due."""
        rows: list[dict[str, Any]] = []
        served_on: dict[tuple[str, str], dt.date] = {}
        for r in self.rows["activity"]:
            if r.get("person_id"):
                key = (r["activity"], r["person_id"])
                served_on[key] = min(served_on.get(key, r["date"]), r["date"])
        for key, n in self.needs.deliverable.items():
            for pop, types, due in n.files_for:
                last = self.due_date(due) if due else self.end - dt.timedelta(days=7)
                for p in self.roster.get(pop, []):
                    firsts = [served_on[(t, p.person_id)] for t in types if (t, p.person_id) in served_on]
                    if types and not firsts:
                        continue
                    start = max([p.enrolled_on, *firsts])
                    day = min(start + dt.timedelta(days=self.rng.randint(3, 30)), max(last, start), self.end)
                    rows.append({"date": day, "deliverable": key, "title": f"{labels.get(key, key)}（{p.person_id}）",
                                 "file": f"{self.code}/{key}-{p.person_id}.pdf", "person_id": p.person_id})
        return rows

    # ------------------------------------------------------------------ all

    def run(self) -> ProjectData:
        self.make_staff()
        self.make_rosters()
        self.make_approvals()
        self.make_activities()
        self.make_surveys()
        self.make_assessments()
        self.make_deliverables()
        self.make_expenses()
        self.make_incidents()
        self.emit_roster()  # last: first services may move enrolment dates earlier
        frames = {k: pd.DataFrame(self.rows[k], columns=list(COLUMNS[k])) for k in KINDS}
        for k in ("activity", "survey", "assessment", "deliverable", "expense", "incident", "approval"):
            frames[k] = frames[k].astype({"date": "object"})
        return ProjectData(self.code, self.profile, frames, self.violations)


def generate_project(spec: Spec, *, seed: int = 2024, scale: float = 1.0,
                     profile: Profile | None = None) -> ProjectData:
    """Every record of one project over its whole period (cut it with ``ProjectData.until``)."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    return _Gen(spec, seed, scale, profile or profile_for(spec.code)).run()


# ---------------------------------------------------------------------- dates


def _months(lo: dt.date, hi: dt.date) -> list[dt.date]:
    out = []
    m = lo.replace(day=1)
    while m <= hi:
        out.append(max(m, lo))
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


_CN = "零一二三四五六七八九十"


def _cn_num(i: int) -> str:
    if i <= 10:
        return _CN[i]
    if i < 20:
        return "十" + _CN[i - 10]
    if i < 100:
        return _CN[i // 10] + "十" + (_CN[i % 10] if i % 10 else "")
    return str(i)
