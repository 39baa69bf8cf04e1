"""What a project's KPIs ask of its records, per activity type, deliverable type and instrument.

The simulator reads every KPI of a spec and folds its target into the needs of the types it names:
how many records, how many distinct people, groups, towns or districts, per-record minimums, per-person
rules. Records generated to meet these needs (times a profile's pace) look like a project doing its job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tracker.kpispec.model import KPI, Field_, Kind, PacingMode, Per, RateMeasure, Source, Spec


@dataclass
class TypeNeeds:
    """Needs of one activity or deliverable type over the whole period (before scaling)."""

    count: float = 0.0
    people: float = 0.0
    groups: int = 0
    per_group: int = 0
    per_period: int = 0  # each person at least n records over the period
    per_month: int = 0
    per_week: int = 0
    whole_roster: bool = False
    participants_min: float | None = None
    participants_max: float | None = None
    participants_sum: float = 0.0
    participants_avg: float | None = None
    hours_min: float | None = None
    days_min: float | None = None
    words_min: float | None = None
    minutes_min: float | None = None
    minutes_max: float | None = None
    copies_sum: float = 0.0
    towns: int = 0
    districts: int = 0
    villages: int = 0
    locations: int = 0
    households: int = 0
    district_subsets: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    cover: dict[str, tuple[Field_, int]] = field(default_factory=dict)  # member -> (field, min_each)
    hours_per_person: float = 0.0  # per_person over the sum of hours (学时/人)
    days_per_person: float = 0.0  # per_person over the sum of days (天/人)
    in_districts: tuple[str, ...] | None = None  # records must take place in these districts
    cap: int | None = None
    duration_months: float | None = None
    levels: dict[str, int] = field(default_factory=dict)  # level -> how many at least at it
    due: str | None = None  # "midterm" | "end" | ISO date: one-off, dated before it

    def bump(self, name: str, value: float) -> None:
        setattr(self, name, max(getattr(self, name), value))

    def bound(self, f: Field_, lo: float | None, hi: float | None) -> None:
        for suffix, v, pick in (("min", lo, max), ("max", hi, min)):
            if v is None:
                continue
            attr = f"{f.value}_{suffix}"
            if not hasattr(self, attr):
                continue
            cur = getattr(self, attr)
            setattr(self, attr, v if cur is None else pick(cur, v))


@dataclass
class InstrumentNeeds:
    count: float = 0.0
    pass_target: float | None = None  # percent
    improvement: bool = False
    populations: set[str] = field(default_factory=set)
    per_person: bool = False
    due: str | None = None


@dataclass
class SurveyNeeds:
    satisfaction: dict[str, float] = field(default_factory=dict)  # respondent type -> target %
    participation: dict[str, tuple[str, float]] = field(default_factory=dict)  # type -> (population, %)


@dataclass
class ProjectNeeds:
    activity: dict[str, TypeNeeds]
    deliverable: dict[str, TypeNeeds]
    instruments: dict[str, InstrumentNeeds]
    surveys: SurveyNeeds
    roster_sizes: dict[str, int]  # population key -> size ("" for people outside any population)
    approval_gate: bool
    deliverable_gate: list[str]
    incident_types: list[str]
    staff_credentials: dict[str, int | None]  # credential -> None (all have) | count_with target
    all_types_district_rules: list[tuple[Field_, int, tuple[str, ...] | None]]


def _due(kpi: KPI) -> str | None:
    p = kpi.pacing
    if p is not None and p.mode is PacingMode.due and p.due is not None:
        return str(p.due)
    return None


def analyse(spec: Spec) -> ProjectNeeds:
    """Fold every KPI of ``spec`` into per-type needs."""
    act = {t.key: TypeNeeds() for t in spec.activity_types}
    dlv = {d.key: TypeNeeds() for d in spec.deliverable_types}
    instr = {i.key: InstrumentNeeds() for i in spec.instruments}
    surveys = SurveyNeeds()
    roster_need: dict[str, float] = {}
    gate = False
    dgate: list[str] = []
    incidents: list[str] = []
    creds: dict[str, int | None] = {}
    global_rules: list[tuple[Field_, int, tuple[str, ...] | None]] = []
    pop_of = {t.key: (t.population or "") for t in spec.activity_types if t.serves == "person"}

    for _clause, k in spec.iter_kpis():
        target = k.target or 0.0
        if k.kind is Kind.manual:
            continue
        if k.kind is Kind.approval_gate:
            if k.source is Source.deliverable:
                dgate.extend(k.where.types or list(dlv))
            else:
                gate = True
            continue
        if k.kind is Kind.zero_incident:
            incidents.extend(t for t in (k.incident_types or []) if t not in incidents)
            continue
        if k.kind is Kind.staff:
            if k.credential:
                creds[k.credential] = int(target) if k.target is not None else None
            continue
        if k.source is Source.roster:
            pop = k.where.population or ""
            if k.kind in (Kind.count, Kind.distinct) and (k.field in (None, Field_.person)):
                roster_need[pop] = max(roster_need.get(pop, 0), target)
            continue
        if k.source is Source.survey or k.measure is RateMeasure.satisfaction:
            rts = k.where.respondent_types or ["client"]
            if k.measure is RateMeasure.participation and k.where.population:
                for rt in rts:
                    surveys.participation[rt] = (k.where.population, target)
            elif k.measure is RateMeasure.satisfaction:
                for rt in rts:
                    surveys.satisfaction[rt] = max(surveys.satisfaction.get(rt, 0), target)
            continue
        if k.source is Source.assessment:
            name = k.where.instrument
            if name is None:
                continue
            need = instr.setdefault(name, InstrumentNeeds())
            if k.where.population:
                need.populations.add(k.where.population)
            if k.kind is Kind.rate and k.measure is RateMeasure.passed:
                need.pass_target = max(need.pass_target or 0, target)
            elif k.kind is Kind.rate and k.measure is RateMeasure.improvement:
                need.improvement = True
            elif k.kind is Kind.per_person:
                need.per_person = True
            else:
                need.count = max(need.count, target)
            if k.field is Field_.household:
                need.count = max(need.count, target)
            need.due = need.due or _due(k)
            continue

        table = dlv if k.source is Source.deliverable else act
        types = k.where.types or []
        if not types:
            # a rule over every activity (districts served, villages covered): every group type helps
            if k.kind in (Kind.distinct, Kind.coverage) and k.field in (Field_.district, Field_.town,
                                                                         Field_.village):
                subset = tuple(k.where.districts) if k.where.districts else None
                global_rules.append((k.field, int(target), subset))
            continue
        share = 1.0 / len(types)
        for tk in types:
            n = table.setdefault(tk, TypeNeeds())
            for b in k.each:
                n.bound(b.field, b.min, b.max)
            if k.cap_per_person:
                n.cap = k.cap_per_person if n.cap is None else min(n.cap, k.cap_per_person)
            due = _due(k)
            if due and k.kind is Kind.count:
                n.due = due
            if k.where.level_at_least:
                n.levels[k.where.level_at_least] = max(n.levels.get(k.where.level_at_least, 0), int(target))
            if k.kind is Kind.count:
                n.bump("count", math.ceil(target * share))
            elif k.kind is Kind.sum:
                if k.field is Field_.participants:
                    n.participants_sum = max(n.participants_sum, target * share)
                elif k.field is Field_.copies:
                    n.copies_sum = max(n.copies_sum, target * share)
                elif k.field is Field_.hours:
                    n.bump("count", math.ceil(target * share / 2))
            elif k.kind is Kind.average and k.field is Field_.participants:
                n.participants_avg = max(n.participants_avg or 0, target)
            elif k.kind is Kind.distinct:
                f = k.field
                if f is Field_.person:
                    n.people = max(n.people, math.ceil(target * share))
                elif f is Field_.group:
                    n.groups = max(n.groups, math.ceil(target * share))
                elif f is Field_.town:
                    n.bump("towns", int(target))
                elif f is Field_.district:
                    if k.where.districts:
                        n.district_subsets.append((tuple(k.where.districts), int(target)))
                    n.bump("districts", int(target))
                elif f is Field_.village:
                    n.bump("villages", int(target))
                elif f is Field_.location:
                    n.bump("locations", int(target))
                elif f is Field_.household:
                    n.bump("households", int(target))
            elif k.kind is Kind.per_person:
                if k.where.districts:
                    n.in_districts = tuple(k.where.districts)
                if k.field is Field_.hours:
                    n.hours_per_person = max(n.hours_per_person, target)
                    n.whole_roster = n.whole_roster or bool(k.where.population)
                    continue
                if k.field is Field_.days:
                    n.days_per_person = max(n.days_per_person, target)
                    n.whole_roster = n.whole_roster or bool(k.where.population)
                    continue
                if k.by is Field_.group:
                    n.bump("per_group", int(target))
                elif k.per is Per.month:
                    n.bump("per_month", int(target))
                elif k.per is Per.week:
                    n.bump("per_week", int(target))
                else:
                    n.bump("per_period", int(target))
                if k.by is Field_.person and k.where.population:
                    n.whole_roster = True
            elif k.kind is Kind.coverage and k.members and k.field:
                for m in k.members:
                    old = n.cover.get(m)
                    n.cover[m] = (k.field, max(k.min_each, old[1] if old else 0))
            elif k.kind is Kind.duration:
                n.duration_months = max(n.duration_months or 0, target)

    # roster sizes: stated, or implied by the activities that serve each population
    sizes: dict[str, int] = {}
    for p in spec.populations:
        implied = roster_need.get(p.key, 0.0)
        for tk, pk in pop_of.items():
            if pk != p.key:
                continue
            n = act[tk]
            implied = max(implied, n.people, n.households)
            if n.cap:
                implied = max(implied, math.ceil(n.count / n.cap * 1.15))
        for _rt, (pk, _pct) in surveys.participation.items():
            if pk == p.key:
                implied = max(implied, 40)
        for ineed in instr.values():
            if p.key in ineed.populations:
                implied = max(implied, ineed.count)
        default = 30 if p.unit in ("家", "个", "所") else 40
        sizes[p.key] = int(p.expected if p.expected is not None else max(implied, default))
        # a stated size smaller than what the activities need: the activities' need wins
        sizes[p.key] = max(sizes[p.key], int(implied))
    loose = [tk for tk, pk in pop_of.items() if pk == ""]
    if loose:
        sizes[""] = int(max([act[tk].people for tk in loose] + [60]))
    return ProjectNeeds(act, dlv, instr, surveys, sizes, gate, dgate, incidents, creds, global_rules)
