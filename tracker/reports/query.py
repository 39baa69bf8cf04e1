"""SQL aggregates the reports need beyond the engine's progress figures.

Every query respects the as-of date (records dated on or before it) and the system-time view: with
``known_on`` the records as known on that moment, otherwise the current records. Counting and summing
happen in the database; Python only formats the grouped rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.engine import Connection

from tracker import clock
from tracker.db.models import (
    RECORD_TABLES,
    Activity,
    Approval,
    Deliverable,
    Expense,
    Explanation,
    Judgement,
    RecordBase,
    Survey,
)
from tracker.records.visibility import visible


def _scope(table: type[RecordBase], code: str, as_of: dt.date, known_on: dt.datetime | None) -> ColumnElement[bool]:
    t = table.__table__.c  # type: ignore[attr-defined]
    cond = and_(t.project_code == code, visible(table, known_on))
    if "date" in t:
        cond = and_(cond, t.date <= as_of)
    return cond


def month_expr(conn: Connection, col: Any) -> Any:
    """``YYYY-MM`` of a date column, in the dialect at hand."""
    if conn.dialect.name == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.strftime("%Y-%m", col)


@dataclass
class ExpenseLine:
    category: str
    amount: Decimal
    count: int


def expenses_by_category(conn: Connection, code: str, as_of: dt.date,
                         known_on: dt.datetime | None) -> list[ExpenseLine]:
    t = Expense.__table__.c  # type: ignore[attr-defined]
    q = (select(t.category, func.sum(t.amount), func.count())
         .where(_scope(Expense, code, as_of, known_on))
         .group_by(t.category).order_by(func.sum(t.amount).desc(), t.category))
    return [ExpenseLine(c, Decimal(str(a or 0)).quantize(Decimal("0.01")), int(n))
            for c, a, n in conn.execute(q)]


def monthly_activity(conn: Connection, code: str, as_of: dt.date,
                     known_on: dt.datetime | None) -> list[tuple[str, str, int]]:
    """(month ``YYYY-MM``, activity type key, records) for every month with activity."""
    t = Activity.__table__.c  # type: ignore[attr-defined]
    m = month_expr(conn, t.date)
    q = (select(m, t.activity_type, func.count()).where(_scope(Activity, code, as_of, known_on))
         .group_by(m, t.activity_type).order_by(m, t.activity_type))
    return [(str(a), str(b), int(n)) for a, b, n in conn.execute(q)]


def satisfaction_by_type(conn: Connection, code: str, as_of: dt.date,
                         known_on: dt.datetime | None) -> list[tuple[str, int, int]]:
    """(respondent type key, answers, satisfied answers)."""
    t = Survey.__table__.c  # type: ignore[attr-defined]
    q = (select(t.respondent_type, func.count(), func.sum(case((t.satisfied.is_(True), 1), else_=0)))
         .where(_scope(Survey, code, as_of, known_on), t.satisfied.is_not(None))
         .group_by(t.respondent_type).order_by(t.respondent_type))
    return [(str(r), int(n), int(s or 0)) for r, n, s in conn.execute(q)]


def activities_without_evidence(conn: Connection, code: str, as_of: dt.date,
                                known_on: dt.datetime | None) -> list[tuple[str, int]]:
    """(activity type key, activities with no sign-in sheet or photo recorded)."""
    t = Activity.__table__.c  # type: ignore[attr-defined]
    q = (select(t.activity_type, func.count())
         .where(_scope(Activity, code, as_of, known_on), or_(t.evidence.is_(None), t.evidence == ""))
         .group_by(t.activity_type).order_by(t.activity_type))
    return [(str(a), int(n)) for a, n in conn.execute(q)]


def deliverables(conn: Connection, code: str, as_of: dt.date, known_on: dt.datetime | None,
                 types: set[str] | None = None) -> list[dict[str, Any]]:
    """The deliverables one by one (of ``types`` only, when given), by date."""
    t = Deliverable.__table__.c  # type: ignore[attr-defined]
    q = (select(t.record_id, t.date, t.deliverable_type, t.title, t.words, t.minutes, t.copies, t.level, t.file)
         .where(_scope(Deliverable, code, as_of, known_on)).order_by(t.date, t.id))
    if types is not None:
        q = q.where(t.deliverable_type.in_(sorted(types)))
    return [dict(r._mapping) for r in conn.execute(q)]


# a deliverable type with more records than this (一户一档: one file per household, hundreds of them) is
# given in reports and emails by its counts, not file by file: the records page lists every one
DELIVERABLES_ITEMISED = 30


def deliverable_types(conn: Connection, code: str, as_of: dt.date, known_on: dt.datetime | None,
                      labels: dict[str, str]) -> list[dict[str, Any]]:
    """The deliverables per type, in order of the first one entered: its label, how many, how many
    with a file and without one, for how many service users, and whether reports list them one by
    one (at most ``DELIVERABLES_ITEMISED``; a type of hundreds, such as 一户一档, is given by its counts)."""
    t = Deliverable.__table__.c  # type: ignore[attr-defined]
    has_file = and_(t.file.is_not(None), t.file != "")
    q = (select(t.deliverable_type, func.count(), func.sum(case((has_file, 1), else_=0)),
                func.count(func.distinct(t.person_id)), func.min(t.id).label("first"))
         .where(_scope(Deliverable, code, as_of, known_on)).group_by(t.deliverable_type).order_by("first"))
    return [{"type": k, "type_label": labels.get(k, k), "count": int(n), "with_file": int(f or 0),
             "without_file": int(n) - int(f or 0), "people": int(p), "itemised": int(n) <= DELIVERABLES_ITEMISED}
            for k, n, f, p, _ in conn.execute(q)]


def approvals(conn: Connection, code: str, as_of: dt.date, known_on: dt.datetime | None) -> list[dict[str, Any]]:
    t = Approval.__table__.c  # type: ignore[attr-defined]
    q = (select(t.record_id, t.date, t.activity_type, t.valid_from, t.valid_to, t.reference)
         .where(_scope(Approval, code, as_of, known_on)).order_by(t.date, t.id))
    return [dict(r._mapping) for r in conn.execute(q)]


def explanations(conn: Connection, code: str, known_on: dt.datetime | None) -> list[dict[str, Any]]:
    t = Explanation.__table__.c  # type: ignore[attr-defined]
    q = select(t.id, t.kpi_id, t.topic, t.text, t.author, t.recorded_at).where(t.project_code == code)
    if known_on is not None:
        q = q.where(t.recorded_at <= known_on)
    return [dict(r._mapping) for r in conn.execute(q.order_by(t.recorded_at, t.id))]


ATTACHED_LABELS = {"project": "项目", "record": "记录", "deliverable": "成果", "judgement": "评定"}
CONTENT_LABELS = {"image/jpeg": "照片", "image/png": "照片", "application/pdf": "PDF"}


def evidence_files(conn: Connection, code: str, known_on: dt.datetime | None) -> list[dict[str, Any]]:
    """The evidence files uploaded for the project (by ``known_on``), oldest first: file name, type,
    size, what it is attached to, description, uploader, time, SHA-256. ID numbers and phone numbers
    in names and descriptions are masked."""
    from tracker.db.accounts import EvidenceFile
    from tracker.records.scrub import scrub_text

    t = EvidenceFile.__table__.c  # type: ignore[attr-defined]
    q = select(t.id, t.file_name, t.content_type, t.size, t.attached_to, t.attached_id, t.description,
               t.uploaded_by, t.uploaded_at, t.sha256).where(t.project_code == code)
    if known_on is not None:
        q = q.where(t.uploaded_at <= known_on)
    out = []
    for r in conn.execute(q.order_by(t.uploaded_at, t.id)):
        e = dict(r._mapping)
        e["file_name"] = scrub_text(e["file_name"])
        e["description"] = scrub_text(e["description"]) if e["description"] else None
        e["type_label"] = CONTENT_LABELS.get(e["content_type"], e["content_type"])
        e["attached_label"] = ATTACHED_LABELS.get(e["attached_to"], e["attached_to"])
        out.append(e)
    return out


def _ts(v: dt.datetime) -> str:
    return clock.utc(v).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class Fingerprint:
    digest: str  # sha256 hex over the included rows
    rows: int
    latest: dt.datetime | None  # the latest entered_at / recorded_at among them

    @property
    def short(self) -> str:
        return self.digest[:16]


def fingerprint(conn: Connection, code: str, as_of: dt.date, known_on: dt.datetime | None) -> Fingerprint:
    """A hash over (table, id, entered_at) of every record the report rests on.

    The rows are those of the project dated on or before ``as_of`` (undated ones such as staff
    always) as visible ``known_on``, plus auditors' judgements and the NGO's explanations recorded by
    then. The same records give the same fingerprint; any added, amended or voided row changes it.
    """
    h = hashlib.sha256()
    n = 0
    latest: dt.datetime | None = None
    tables: list[tuple[str, Any, Any, ColumnElement[bool]]] = []
    for record_kind, model in sorted(RECORD_TABLES.items()):
        c = model.__table__.c  # type: ignore[attr-defined]
        tables.append((record_kind, c.id, c.entered_at, _scope(model, code, as_of, known_on)))
    for name, model in (("judgement", Judgement), ("explanation", Explanation)):
        c = model.__table__.c  # type: ignore[attr-defined]
        cond = c.project_code == code
        if known_on is not None:
            cond = and_(cond, c.recorded_at <= known_on)
        tables.append((name, c.id, c.recorded_at, cond))
    for name, id_col, at_col, cond in tables:
        for rid, at in conn.execute(select(id_col, at_col).where(cond).order_by(id_col)):
            h.update(f"{name}:{rid}:{_ts(at)}\n".encode())
            n += 1
            at = clock.utc(at)
            latest = at if latest is None or at > latest else latest
    return Fingerprint(h.hexdigest(), n, latest)
