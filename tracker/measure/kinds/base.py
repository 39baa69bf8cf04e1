"""What a KPI kind is: the one class each kind module implements.

A kind owns, in its own module: its Chinese label, its parameter checks, its default pacing,
whether its value accumulates, the SQL of its aggregate and — from the same predicate — the listing
of the rows that break it, its monthly series or distribution for the charts, how ``actual`` and
``detail`` are shaped from the row the database returns, its status rule, and what the demo
simulator must generate for it. The rest of tracker (``compile``, ``progress``, ``status``,
``pacing``, the reports, the dashboard, the monthly email, the simulator) asks the registry
(``tracker.measure.kinds``) and never branches on a kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tracker.kpispec.model import KPI, Kind, PacingMode, Source

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.engine import Connection

    from tracker.kpispec.model import Clause, Project
    from tracker.measure.compile import Base, Compiled, Ctx
    from tracker.measure.status import Facts
    from tracker.measure.types import Status
    from tracker.simulate.needs import Needs

NUMERIC_FIELDS = ("participants", "hours", "days", "words", "minutes", "copies")


class KpiKind:
    """One KPI kind. Subclasses set ``kind`` and ``label`` and override what differs."""

    kind: ClassVar[Kind]
    label: ClassVar[str]  # Chinese name, shown in spec tables and the demo summary
    needs_target: ClassVar[bool] = True  # a numeric target is required
    no_target: ClassVar[bool] = False  # a numeric target is forbidden (gates)
    reads_judgements: ClassVar[bool] = False  # measured from auditors' judgements, not records
    per_member: ClassVar[bool] = False  # judged member by member (per, by apply; the export says them)
    chart: ClassVar[str | None] = None  # the report's chart: "burnup" (cumulative by month) or
    #                                     "distribution" (members by count)
    by_month: ClassVar[bool] = False  # the value is what the months add up to (``monthly``): a
    #   month's change is news, what remains can be spread over the months left
    shortfall_per_month: ClassVar[bool] = True  # a shortfall can be told as so much per month left
    figure_counts_source: ClassVar[bool] = False  # the figure is made of the source's counted rows
    #   (``_records.counted_rows``), which the record list behind it shows
    own_records: ClassVar[str | None] = None  # otherwise: the record kind the figure is judged from
    #   (every current record of it); None: every current record of the KPI's source

    # -- the spec side
    def check(self, kpi: KPI) -> str | None:
        """The kind's own parameter rule, checked when the spec is read: an error message or None."""
        return None

    def spec_checks(self, kpi: KPI) -> list[tuple[str, str]]:
        """Further checks of the KPI inside its spec: (field, message) pairs."""
        return []

    def default_pacing(self, kpi: KPI) -> PacingMode:
        return PacingMode.none

    def cumulative(self, kpi: KPI) -> bool:
        """Whether the value accumulates over the period (forecast extrapolates it)."""
        return False

    def whole_units(self, kpi: KPI) -> bool:
        """Whether the value counts whole things (人, 场, 份 …): its expected value is shown rounded up,
        and a target of 1 is a one-off deliverable (due at the end unless the spec paces it)."""
        return False

    # -- the database side
    def compile(self, ctx: Ctx, clause: Clause, kpi: KPI, shared: dict[Any, Base] | None) -> Compiled:
        raise NotImplementedError

    def violations(self, conn: Connection, ctx: Ctx, clause: Clause, kpi: KPI,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """The records (or members) breaking a rule of the KPI, from the predicate its aggregate
        counts (as many as its ``violations`` figure: ``tests/test_measure_kinds.py`` checks it), in
        a fixed order; with ``limit``, only the first ``limit`` of them (the dashboard shows 20 and
        takes the total from the figure). Each row: kpi_id, table, id, record_id, date, what, person,
        reason (and name)."""
        return []

    def evidence(self, ctx: Ctx, clause: Clause, kpi: KPI) -> tuple[Source, Select[Any]] | None:
        """The records the figure rests on: (their source, a SELECT of their ids, column ``id``), from
        the predicate the aggregate counts; by default the counted rows (``_records.counted_rows``:
        filters, per-record bounds, per-person cap) of a kind whose figure is made of them
        (``figure_counts_source``), else None. ``tracker records --kpi`` and the web's record list."""
        if not self.figure_counts_source:
            return None
        from sqlalchemy import select

        from tracker.measure.kinds._records import counted_rows

        inner, counted, _ = counted_rows(ctx, kpi)
        return kpi.source, select(inner.c.id).where(counted)

    def monthly(self, ctx: Ctx, kpi: KPI) -> Select[Any] | None:
        """The value added month by month, as a statement of (month index, value) rows, for a kind
        that is ``by_month``; None for the others."""
        return None

    def distribution(self, ctx: Ctx, kpi: KPI) -> Select[Any] | None:
        """How many members have each count, as a statement of (count, members) rows, for a kind
        whose chart is a ``distribution``; None for the others."""
        return None

    def universe(self, kpi: KPI, values: dict[str, Any], project: Project | None = None) -> float | None:
        """All there is to count (a forecast never goes beyond it), where the kind knows it
        (``project``: the spec's project, whose area bounds a count of towns or districts)."""
        return None

    # -- shaping and judging
    def measure(self, kpi: KPI) -> str | None:
        """What ``actual`` measures when it is not in the unit of the target (``compliance_pct``)."""
        return None

    def shape(self, kpi: KPI, values: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
        """(actual, detail) from the named values the compiled statement returned."""
        return _num(values.get("actual")), {}

    def status(self, facts: Facts) -> Status:
        raise NotImplementedError

    def rule_text(self, kpi: KPI) -> str | None:
        """The KPI's rules besides its target, in Chinese (``tracker spec show``, the report's KPI
        table): by default its per-record rules (每条记录参与人数不少于 35 人，时长不少于 3 天或 24 小时)."""
        from tracker.measure.kinds._records import each_text

        text = each_text(kpi)
        return f"每条记录{text}" if text else None

    def measures_satisfaction(self, kpi: KPI) -> bool:
        """Whether the KPI is a satisfaction rate (the report's satisfaction chart shows its target)."""
        return False

    # -- the simulator side
    def simulation_needs(self, kpi: KPI, needs: Needs) -> None:
        """Fold what the KPI asks of the records into the demo simulator's needs
        (``tracker.simulate.needs``). By default: the records of its source and types, with its
        bounds, cap and levels."""
        needs.per_type(kpi)


def _num(v: Any) -> float | None:
    return None if v is None else float(v)
