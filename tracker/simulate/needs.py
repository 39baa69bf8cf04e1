"""What a project's KPIs ask of its records, per activity type, deliverable type and instrument.

The simulator reads every KPI of a spec and folds its target into the needs of the types it names:
how many records, how many distinct people, groups, towns or districts, per-record minimums, per-person
rules. Records generated to meet these needs (times a profile's pace) look like a project doing its job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tracker.kpispec.model import KPI, Field_, PacingMode, RateMeasure, Source, Spec


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
    project_per_month: int = 0  # the project as a whole: at least n records of the type every month
    project_per_week: int = 0  # … every week (counted from the period start)
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
    # one record per roster member (一户一档): (population, activity types that served the member, due)
    files_for: list[tuple[str, tuple[str, ...], str | None]] = field(default_factory=list)

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
    staff_experience: float = 0.0  # years of practice every staff member must have had on joining
    staff_roles: tuple[str, ...] = ()  # roles (岗位) a staff rule is scoped to: someone holds each


def due_of(kpi: KPI) -> str | None:
    """The date a one-off KPI is due by (its pacing ``due``), if any."""
    p = kpi.pacing
    if p is not None and p.mode is PacingMode.due and p.due is not None:
        return str(p.due)
    return None


class Needs:
    """The needs of one spec while its KPIs are folded in. Each kind says what its KPIs need
    (``KpiKind.simulation_needs``, in its module); the rules every kind shares are here."""

    def __init__(self, spec: Spec) -> None:
        self.activity = {t.key: TypeNeeds() for t in spec.activity_types}
        self.deliverable = {d.key: TypeNeeds() for d in spec.deliverable_types}
        self.instruments = {i.key: InstrumentNeeds() for i in spec.instruments}
        self.surveys = SurveyNeeds()
        self.roster_need: dict[str, float] = {}
        self.approval_gate = False
        self.deliverable_gate: list[str] = []
        self.incident_types: list[str] = []
        self.credentials: dict[str, int | None] = {}
        self.staff_experience = 0.0
        self.staff_roles: list[str] = []
        self.global_rules: list[tuple[Field_, int, tuple[str, ...] | None]] = []

    def per_type(self, k: KPI, *, sizes_roster: bool = False, assessment: str = "count",
                 everywhere: bool = False) -> list[tuple[TypeNeeds, float]]:
        """Fold in what every kind's KPI of a record source needs, and return the per-type needs left
        for the kind itself to fill, each with its share of the target (empty when the KPI is about
        the roster, a survey or an assessment, or names no type).

        ``sizes_roster``: a roster KPI of people sets the population's size; ``assessment``: what an
        assessment KPI needs of its instrument (``count``, ``pass``, ``improvement``, ``per_person``);
        ``everywhere``: a KPI over districts, towns or villages with no type is met by every group type.
        """
        target = k.target or 0.0
        if k.source is Source.roster:
            if sizes_roster and k.field in (None, Field_.person):
                pop = k.where.population or ""
                self.roster_need[pop] = max(self.roster_need.get(pop, 0), target)
            return []
        if k.source is Source.survey or k.measure is RateMeasure.satisfaction:
            rts = k.where.respondent_types or ["client"]
            if k.measure is RateMeasure.participation and k.where.population:
                for rt in rts:
                    self.surveys.participation[rt] = (k.where.population, target)
            elif k.measure is RateMeasure.satisfaction:
                for rt in rts:
                    self.surveys.satisfaction[rt] = max(self.surveys.satisfaction.get(rt, 0), target)
            return []
        if k.source is Source.assessment:
            name = k.where.instrument
            if name is None:
                return []
            need = self.instruments.setdefault(name, InstrumentNeeds())
            if k.where.population:
                need.populations.add(k.where.population)
            if assessment == "pass":
                need.pass_target = max(need.pass_target or 0, target)
            elif assessment == "improvement":
                need.improvement = True
            elif assessment == "per_person":
                need.per_person = True
            else:
                need.count = max(need.count, target)
            if k.field is Field_.household:
                need.count = max(need.count, target)
            need.due = need.due or due_of(k)
            return []
        table = self.deliverable if k.source is Source.deliverable else self.activity
        types = k.where.types or []
        if not types:
            if everywhere and k.field in (Field_.district, Field_.town, Field_.village):
                subset = tuple(k.where.districts) if k.where.districts else None
                self.global_rules.append((k.field, int(target), subset))
            return []
        out = []
        for tk in types:
            n = table.setdefault(tk, TypeNeeds())
            for b in k.each:  # an either/or rule: records are made to meet its first alternative
                first = b.leaves[0]
                if first.field is not None:
                    n.bound(first.field, first.min, first.max)
            if k.cap_per_person:
                n.cap = k.cap_per_person if n.cap is None else min(n.cap, k.cap_per_person)
            if k.where.level_at_least:
                n.levels[k.where.level_at_least] = max(n.levels.get(k.where.level_at_least, 0), int(target))
            out.append((n, 1.0 / len(types)))
        return out


def analyse(spec: Spec) -> ProjectNeeds:
    """Fold every KPI of ``spec`` into per-type needs."""
    from tracker.measure.kinds import kind_of

    needs = Needs(spec)
    act, instr, surveys, roster_need = needs.activity, needs.instruments, needs.surveys, needs.roster_need
    pop_of = {t.key: (t.population or "") for t in spec.activity_types if t.serves == "person"}
    for _clause, k in spec.iter_kpis():
        kind_of(k.kind).simulation_needs(k, needs)

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
    return ProjectNeeds(act, needs.deliverable, instr, surveys, sizes, needs.approval_gate, needs.deliverable_gate,
                        needs.incident_types, needs.credentials, needs.global_rules, needs.staff_experience,
                        tuple(needs.staff_roles))
