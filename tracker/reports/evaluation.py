"""What a report shows of the evaluation process: the signed submission (who evaluated, when, the
verdict), the NGO's narrative, the auditors' verdicts on manual KPIs with their evidence, where each
violation came from, the mid-term findings followed up at the final, and the audit chain head.

``render_signed_report`` regenerates the report of an approved mid-term/final evaluation exactly as
signed: as of the evaluation date, counting only what was known at signing time, with the signing
time as its generation time, so the HTML and the PDF come out byte-identical whenever it is run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tracker import audit, clock
from tracker.db.evaluation import EvaluatorScore, Submission, SubmissionEvent
from tracker.db.models import RECORD_TABLES, Judgement
from tracker.errors import TrackerError


@dataclass
class EvaluationView:
    submission: Any | None = None  # tracker.evaluation.SubmissionInfo
    evaluators: list[str] = field(default_factory=list)
    evaluation_date: dt.date | None = None
    narrative: list[tuple[str, str]] = field(default_factory=list)
    review: list[dict[str, Any]] = field(default_factory=list)  # return/approve comments
    midterm_findings: list[dict[str, Any]] = field(default_factory=list)  # at the final
    judgements: dict[str, dict[str, Any]] = field(default_factory=dict)  # kpi id → latest verdict
    chain_seq: int = 0
    chain_hash: str = ""
    # the submission as known on the report's moment (a signed report never shows a later unlock)
    state: str = ""
    state_label: str = ""
    round: int = 0
    locked: bool = False
    photos: list[dict[str, Any]] = field(default_factory=list)  # caption, src (a data: URI) or None


#: A thumbnail fits in this box (pixels); it is printed about 5.4 cm wide.
THUMB_BOX = (640, 480)


def thumbnail(path: Path) -> str | None:
    """A small JPEG of the photo at ``path`` as a data: URI (None: unreadable). The same file gives
    the same bytes, so a signed report stays byte-identical."""
    import base64

    from tracker.files import thumbnail_jpeg

    data = thumbnail_jpeg(path, THUMB_BOX)
    if data is None:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def report_photos(ws: Any, code: str, chosen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from tracker import files
    from tracker.errors import NotFound

    out = []
    for item in chosen or []:
        try:
            row, path = files.evidence_file(ws, code, int(item["evidence"]))
        except (NotFound, KeyError, TypeError, ValueError):
            out.append({"caption": item.get("caption") or "", "src": None})
            continue
        out.append({"caption": item.get("caption") or row.file_name, "src": thumbnail(path),
                    "date": clock.local_date(row.uploaded_at)})
    return out


def _aware(v: dt.datetime | None) -> dt.datetime | None:
    return None if v is None else clock.utc(v)


def _events(conn: Any, sub_id: int, known_on: dt.datetime | None) -> list[dict[str, Any]]:
    t = SubmissionEvent.__table__.c
    q = select(t.action, t.actor, t.role, t.comment, t.kpi_comments, t.at).where(t.submission_id == sub_id)
    if known_on is not None:
        q = q.where(t.at <= known_on)
    return [dict(r._mapping) for r in conn.execute(q.order_by(t.id))]


def _submission_row(conn: Any, code: str, kind: str) -> Any:
    t = Submission.__table__.c
    return conn.execute(select(Submission.__table__).where(t.project_code == code, t.kind == kind)).mappings().first()


def evaluation_view(ws: Any, code: str, which: str, known_on: dt.datetime | None, kpi_labels: dict[str, str]
                    ) -> EvaluationView:
    from tracker import evaluation as ev
    from tracker.evaluation import NARRATIVE_SECTIONS

    out = EvaluationView()
    with ws.engine.connect() as conn:
        row = _submission_row(conn, code, which)
        if row is not None and (known_on is None or _aware(row["created_at"]) <= known_on):
            out.submission = ev.get_submission(ws, row["id"])
            events = _events(conn, row["id"], known_on)
            moves = [e for e in events if e["action"] in ev.ACTIONS]
            out.state = {"submit": "submitted", "return": "returned"}.get(moves[-1]["action"], "approved") \
                if moves else "draft"
            out.state_label = ev.STATES[out.state]
            out.round = sum(1 for e in moves if e["action"] == "submit")
            locking = [e["action"] for e in moves if e["action"] in ("approve", "unlock", "relock")]
            out.locked = which in ("midterm", "final") and bool(locking) and locking[-1] != "unlock"
            narrative = dict(row["narrative"] or {})
            out.narrative = [(k, narrative.get(k, "")) for k in NARRATIVE_SECTIONS]
            out.photos = report_photos(ws, code, narrative.get("photos") or [])
            for e in events:
                if e["action"] in ("return", "approve", "unlock") and (e["comment"] or e["kpi_comments"]):
                    out.review.append({**e, "kpi_comments": [(kpi_labels.get(k, k), v)
                                                             for k, v in (e["kpi_comments"] or {}).items()]})
            approved = [e for e in events if e["action"] == "approve"]
            if approved:
                out.evaluation_date = clock.local_date(approved[-1]["at"])
            names = [e["actor"] for e in events if e["action"] in ("approve", "return")]
            st = EvaluatorScore.__table__.c
            q = select(st.evaluator).where(st.submission_id == row["id"])
            if known_on is not None:
                q = q.where(st.at <= known_on)
            names += [n for (n,) in conn.execute(q.order_by(st.id))]
            out.evaluators = list(dict.fromkeys(names))
        if which == "final":
            mid = _submission_row(conn, code, "midterm")
            if mid is not None:
                for e in _events(conn, mid["id"], known_on):
                    if e["action"] in ("return", "approve") and (e["comment"] or e["kpi_comments"]):
                        out.midterm_findings.append({**e, "kpi_comments": [
                            (kpi_labels.get(k, k), v) for k, v in (e["kpi_comments"] or {}).items()]})
        j = Judgement.__table__.c
        q = select(j.kpi_id, j.verdict, j.value, j.evidence, j.author, j.recorded_at).where(j.project_code == code)
        if known_on is not None:
            q = q.where(j.recorded_at <= known_on)
        for r in conn.execute(q.order_by(j.recorded_at, j.id)).mappings():
            out.judgements[r["kpi_id"]] = dict(r)
        h = audit.head_at(conn, known_on) if known_on is not None else audit.head(conn)
        if h is not None:
            out.chain_seq, out.chain_hash = h.seq, h.hash
    return out


def violation_sources(ws: Any, rows: list[dict[str, Any]], code: str | None = None) -> dict[tuple[str, Any], str]:
    """Where the records behind violations came from, in words: (table, id) → "台账.xlsx 工作表“探访”
    第12行" (never a database id). A violation of a person (a missed month: no record to point at)
    points at the person's row of the roster: ("roster", person id) → its source."""
    from tracker.db.models import Person
    from tracker.records.listing import record_sources

    names = {k: m.__table__.name for k, m in RECORD_TABLES.items()}
    refs: list[tuple[str, int]] = []
    people: set[str] = set()
    for r in rows:
        table = names.get(str(r.get("table")), str(r.get("table")))
        if r.get("id") is not None:
            refs.append((table, int(r["id"])))
        elif table == "person" and r.get("person"):
            people.add(str(r["person"]))
    code = code or (str(rows[0]["kpi_id"]).split(".")[0] if rows else "")
    person_ids: dict[int, str] = {}
    if people:
        p = Person.__table__
        with ws.engine.connect() as conn:
            for rid, pid in conn.execute(select(p.c.id, p.c.person_id).where(
                    p.c.project_code == code, p.c.retired_at.is_(None), p.c.person_id.in_(sorted(people)))):
                person_ids[int(rid)] = str(pid)
                refs.append(("person", int(rid)))
    out: dict[tuple[str, Any], str] = {}
    for (table, rid), src in record_sources(ws, code, refs).items():
        text = "更正后的记录" if src.file == "tracker amend" else src.text()
        if table == "person" and rid in person_ids:
            out[("roster", person_ids[rid])] = "服务对象名册 " + text
        out[(table, rid)] = text
    return out


def render_signed_report(ws: Any, sub_id: int, out_dir: Path, *, pdf: bool = True) -> Any:
    """The report of an approved mid-term/final evaluation, exactly as signed (byte-identical)."""
    from tracker import evaluation as ev
    from tracker.reports.project import render_project_report

    sub = ev.get_submission(ws, sub_id)
    if sub.kind not in ("midterm", "final"):
        raise TrackerError("只有中期、终期评估有签署版报告")
    if sub.state != "approved" or sub.approved_at is None:
        raise TrackerError(f"{sub.title}尚未批准（目前{sub.state_label}），还没有签署版报告")
    return render_project_report(ws, sub.project_code, sub.kind, sub.period_end, out_dir, known_on=sub.approved_at,
                                 pdf=pdf, generated_at=sub.approved_at)


def evaluated_score(ws: Any, view: EvaluationView, scheme: Any, pre: Any, known_on: dt.datetime | None) -> Any:
    """The evaluators' combined scores beside the pre-score (None: no weighted scheme or no submission)."""
    from tracker.evaluation.scores import combine, scores_of

    if view.submission is None or scheme.type != "weighted":
        return None
    with ws.engine.connect() as conn:
        rows = scores_of(conn, view.submission.id, known_on)
    return combine(scheme, pre, rows) if rows else None
