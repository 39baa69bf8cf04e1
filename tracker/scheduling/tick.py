"""``tick(ws, as_of)``: plan every message due by ``as_of`` into the outbox, then send what is owed.

Idempotent by construction:

1. **Plan.** Every due (kind, project, period) × recipient is inserted with INSERT … ON CONFLICT DO
   NOTHING against the UNIQUE key (kind, project_code, period, recipient): repeating a tick, a
   restart or two schedulers at once cannot create a second row for the same message.
2. **Claim.** A row is sent only by the process whose ``UPDATE … SET state='sending', claimed_by=me
   WHERE id=… AND state IN ('pending','retry') AND next_attempt_at <= now`` changed it (rowcount 1).
   A ``sending`` claim older than the lease (a process that died mid-send) may be claimed again: that
   is the one case where a message can go twice, and only if the dead process had already handed it
   to the server.
3. **Send in order.** Oldest send date first; within one stream (kind, project, recipient) a later
   period waits while an earlier one is unsent, so catch-up after downtime arrives in order.
4. **Failures.** An SMTP failure sets ``retry`` with ``attempts``, ``last_error`` and an exponential
   backoff (``failed`` after ``retry_max`` attempts); a project whose figures or report fail is
   recorded the same way and the other projects go on. An unreachable server ends the sending part
   of the tick (the rest stay pending for the next tick).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from tracker import clock
from tracker.db.models import Contact, Project
from tracker.db.outbox import ALL_PROJECTS, Outbox
from tracker.scheduling.compose import digest_email, project_email
from tracker.scheduling.content import ContentBuilder
from tracker.scheduling.mailer import MailerUnavailable, SendError, SmtpMailer
from tracker.scheduling.plan import DueItem, ProjectDates, due_items
from tracker.scheduling.settings import (
    ScheduleSettings,
    SmtpSettings,
    schedule_settings,
    smtp_settings,
)
from tracker.workspace import Workspace

log = logging.getLogger("tracker.scheduling")


@dataclass(frozen=True)
class OutboxRow:
    """A snapshot of one outbox row, as ``tick`` and ``status`` report it."""

    id: int
    kind: str
    project_code: str
    period: str
    recipient: str
    send_on: dt.date
    state: str
    attempts: int
    last_error: str | None
    sent_at: dt.datetime | None
    subject: str | None

    @classmethod
    def of(cls, r: Outbox) -> OutboxRow:
        assert r.id is not None
        return cls(r.id, r.kind, r.project_code, r.period, r.recipient, r.send_on, r.state, r.attempts,
                   r.last_error, r.sent_at, r.subject)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def effective_as_of(settings: ScheduleSettings, now: dt.datetime | None = None) -> dt.date:
    """The last day whose send time (``settings.hour:minute`` Beijing time) has passed: a tick at
    02:00 on the 1st does not yet send what is due at 09:00 that day."""
    t = (now or clock.now()).astimezone(clock.TZ)
    return (t - dt.timedelta(hours=settings.hour, minutes=settings.minute)).date()


def project_dates(ws: Workspace) -> list[ProjectDates]:
    with Session(ws.engine) as s:
        rows = s.execute(select(Project.code, Project.period_start, Project.period_end, Project.midterm)
                         .where(Project.code.in_(ws.codes))).all()  # type: ignore[attr-defined]
    return [ProjectDates(*r) for r in rows]


# ------------------------------------------------------------------------------------------ plan


def plan(ws: Workspace, as_of: dt.date, settings: ScheduleSettings, *, kinds: set[str] | None = None,
         codes: set[str] | None = None) -> int:
    """Insert the outbox rows of everything due by ``as_of``; returns how many were new."""
    items = due_items(project_dates(ws), as_of, settings, kinds=kinds, codes=codes)
    if not items:
        return 0
    latest: dict[tuple[str, str], dt.date] = {}
    for i in items:
        latest[(i.kind, i.project_code)] = max(latest.get((i.kind, i.project_code), i.send_on), i.send_on)
    with Session(ws.engine) as s:
        contacts = s.execute(select(Contact).where(Contact.active == True)).scalars().all()  # noqa: E712
    by_project: dict[str | None, list[Contact]] = {}
    for c in contacts:
        by_project.setdefault(c.project_code, []).append(c)
    rows = []
    for i in items:
        if i.kind == "digest":
            recipients = [c for c in by_project.get(None, []) if c.role == "bureau"]
        else:
            recipients = by_project.get(i.project_code, [])
        for c in recipients:
            since = clock.local_date(c.created_at)
            if i.send_on < since and i.send_on != latest[(i.kind, i.project_code)]:
                continue  # due before this contact was added, and not the latest of its kind
            rows.append(_row(i, c))
    return _insert_ignore(ws, rows)


def _row(i: DueItem, c: Contact) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    return {"kind": i.kind, "project_code": i.project_code, "period": i.period, "recipient": c.email,
            "contact_id": c.id, "role": c.role, "send_on": i.send_on, "data_as_of": i.data_as_of,
            "state": "pending", "attempts": 0, "created_at": now,
            # due from the start of its send day (Beijing time): claimable at once by any tick that plans it
            "next_attempt_at": clock.start_of_day(i.send_on)}


def _insert_ignore(ws: Workspace, rows: list[dict[str, object]]) -> int:
    if not rows:
        return 0
    ins = pg_insert if ws.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = (ins(Outbox).on_conflict_do_nothing(index_elements=["kind", "project_code", "period", "recipient"])
            .returning(Outbox.id))
    n = 0
    with ws.engine.begin() as conn:
        for k in range(0, len(rows), 500):
            n += len(conn.execute(stmt, rows[k:k + 500]).all())  # rowcount is unreliable for executemany
    return n


# ------------------------------------------------------------------------------------------ send


def _claim(ws: Workspace, row_id: int, me: str, now: dt.datetime, lease: float) -> bool:
    stale = now - dt.timedelta(seconds=lease)
    with ws.engine.begin() as conn:
        res = conn.execute(
            update(Outbox)
            .where(Outbox.id == row_id,
                   or_(and_(Outbox.state.in_(("pending", "retry")),  # type: ignore[attr-defined]
                            Outbox.next_attempt_at <= now),
                       and_(Outbox.state == "sending", Outbox.claimed_at < stale)))  # type: ignore[operator]
            .values(state="sending", claimed_by=me, claimed_at=now))
        return res.rowcount == 1


def _finish(ws: Workspace, row_id: int, me: str, **values: object) -> None:
    with ws.engine.begin() as conn:
        conn.execute(update(Outbox).where(Outbox.id == row_id, Outbox.claimed_by == me).values(**values))


def _failed(ws: Workspace, r: Outbox, me: str, error: str, now: dt.datetime, settings: ScheduleSettings) -> str:
    attempts = r.attempts + 1
    state = "failed" if attempts >= settings.retry_max else "retry"
    delay = min(settings.retry_cap, settings.retry_base * 2 ** (attempts - 1))
    _finish(ws, r.id, me, state=state, attempts=attempts, last_error=error[:2000], claimed_by=None,  # type: ignore[arg-type]
            next_attempt_at=now + dt.timedelta(seconds=delay))
    log.warning("发送失败（第 %d 次）：%s %s %s → %s：%s", attempts, r.kind, r.project_code, r.period,
                r.recipient, error)
    return state


def tick(ws: Workspace, as_of: dt.date | None = None, *, now: dt.datetime | None = None,
         settings: ScheduleSettings | None = None, smtp: SmtpSettings | None = None,
         kinds: set[str] | None = None, codes: set[str] | None = None,
         send: bool = True, me: str | None = None,
         should_stop: Callable[[], bool] | None = None) -> list[OutboxRow]:
    """Plan everything due by ``as_of`` (default: today in Beijing) and send what is owed.

    Returns the rows this call tried to send, in the order it tried them, with their new state.
    ``now`` (aware) is the clock for claims and backoff; ``kinds``/``codes`` narrow a tick to some
    kinds or projects (``*`` is the digest's project code); ``send=False`` only plans;
    ``should_stop`` is asked before each message (a scheduler shutting down stops between messages).
    """
    settings = settings or schedule_settings()
    as_of = as_of or effective_as_of(settings, now)
    plan(ws, as_of, settings, kinds=kinds, codes=codes)
    smtp = smtp or smtp_settings()
    if not send or smtp is None:
        if smtp is None and send:
            log.warning("未配置 TRACKER_SMTP_HOST：消息已进入发件箱，待配置邮件服务器后发送")
        return []
    me = me or worker_id()
    clock_fixed = now is not None
    done: list[OutboxRow] = []
    content = ContentBuilder(ws)
    try:
        with SmtpMailer(smtp) as mailer:
            _send_owed(ws, as_of, settings, smtp, mailer, content, me, now, clock_fixed, kinds, codes, done,
                       should_stop or (lambda: False))
    finally:
        content.close()
    return done


def _candidates(ws: Workspace, as_of: dt.date, kinds: set[str] | None, codes: set[str] | None) -> list[Outbox]:
    q = select(Outbox).where(Outbox.state.in_(("pending", "retry", "sending")),  # type: ignore[attr-defined]
                             Outbox.send_on <= as_of)
    if kinds:
        q = q.where(Outbox.kind.in_(sorted(kinds)))  # type: ignore[attr-defined]
    if codes:
        q = q.where(Outbox.project_code.in_(sorted(codes)))  # type: ignore[attr-defined]
    with Session(ws.engine, expire_on_commit=False) as s:
        return list(s.execute(q.order_by(Outbox.send_on, Outbox.data_as_of, Outbox.id)).scalars().all())


def _send_owed(ws: Workspace, as_of: dt.date, settings: ScheduleSettings, smtp: SmtpSettings,
               mailer: SmtpMailer, content: ContentBuilder, me: str, now: dt.datetime | None,
               clock_fixed: bool, kinds: set[str] | None, codes: set[str] | None,
               done: list[OutboxRow], should_stop: Callable[[], bool]) -> None:
    blocked: set[tuple[str, str, str]] = set()  # streams with an earlier message still unsent
    active = _active_contacts(ws)
    for r in _candidates(ws, as_of, kinds, codes):
        if should_stop():
            return
        stream = (r.kind, r.project_code, r.recipient)
        if stream in blocked:
            continue
        t = now if clock_fixed else dt.datetime.now(dt.UTC)
        assert t is not None and r.id is not None
        if not _claim(ws, r.id, me, t, settings.lease):
            blocked.add(stream)  # not yet due for retry, or another process has it
            continue
        if r.contact_id is not None and r.contact_id not in active:
            _finish(ws, r.id, me, state="cancelled", last_error="联系人已删除", claimed_by=None)
            continue
        try:
            msg = _compose(ws, content, r, smtp.sender, active)
        except Exception as e:  # one project's figures or report failing must not stop the others
            log.exception("生成 %s %s %s 的邮件内容失败", r.kind, r.project_code, r.period)
            state = _failed(ws, r, me, f"生成邮件内容失败：{type(e).__name__}: {e}", t, settings)
            done.append(_snapshot(r, state, r.attempts + 1, str(e)))
            blocked.add(stream)
            continue
        try:
            mailer.send(msg, r.recipient)
        except MailerUnavailable as e:
            state = _failed(ws, r, me, str(e), t, settings)
            done.append(_snapshot(r, state, r.attempts + 1, str(e)))
            return  # the server is down: the rest wait for the next tick
        except SendError as e:
            state = _failed(ws, r, me, str(e), t, settings)
            done.append(_snapshot(r, state, r.attempts + 1, str(e)))
            blocked.add(stream)
            continue
        sent_at = dt.datetime.now(dt.UTC)
        _finish(ws, r.id, me, state="sent", attempts=r.attempts + 1, sent_at=sent_at, last_error=None,
                message_id=str(msg["Message-ID"]), subject=str(msg["Subject"]))
        log.info("已发送 %s %s %s → %s", r.kind, r.project_code, r.period, r.recipient)
        done.append(_snapshot(r, "sent", r.attempts + 1, None, sent_at, str(msg["Subject"])))


def _snapshot(r: Outbox, state: str, attempts: int, error: str | None, sent_at: dt.datetime | None = None,
              subject: str | None = None) -> OutboxRow:
    assert r.id is not None
    return OutboxRow(r.id, r.kind, r.project_code, r.period, r.recipient, r.send_on, state, attempts, error,
                     sent_at, subject)


def _active_contacts(ws: Workspace) -> dict[int, Contact]:
    with Session(ws.engine, expire_on_commit=False) as s:
        rows = s.execute(select(Contact).where(Contact.active == True)).scalars().all()  # noqa: E712
    return {c.id: c for c in rows if c.id is not None}


def _compose(ws: Workspace, content: ContentBuilder, r: Outbox, sender: str,
             active: dict[int, Contact]) -> EmailMessage:
    name = active.get(r.contact_id or -1)
    recipient_name = name.name if name else ""
    if r.kind == "digest":
        codes = [p.code for p in project_dates(ws)
                 if p.start <= r.data_as_of and p.end >= r.data_as_of.replace(day=1)]
        d = content.digest(r.period, r.data_as_of, sorted(codes))
        return digest_email(d.progresses, period=r.period, as_of=r.data_as_of, sender=sender,
                            recipient=r.recipient, recipient_name=recipient_name, chart=d.chart,
                            attachment=d.xlsx, failed=d.failed, recorded=d.recorded)
    c = content.project(r.kind, r.project_code, r.period, r.data_as_of)
    return project_email(c.progress, kind=r.kind, period=r.period, sender=sender, recipient=r.recipient,
                         recipient_name=recipient_name, chart=c.chart, pdf=c.pdf, facts=c.facts)


__all__ = ["ALL_PROJECTS", "OutboxRow", "plan", "tick"]


@dataclass
class TickReport:
    """One tick as the person running it sees it: this run's sent and failed emails, what the outbox
    still owes (pending, retry, sending) and has sent in all, and whether SMTP is not configured."""

    sent: list[OutboxRow]
    failed: list[OutboxRow]
    owed: int
    sent_total: int
    smtp_missing: bool


def tick_report(ws: Workspace, as_of: dt.date | None = None, *, codes: set[str] | None = None,
                send: bool = True) -> TickReport:
    """Run one tick (``tick``) and count its outcome against the outbox."""
    from tracker.scheduling.settings import smtp_settings
    from tracker.scheduling.status import outbox_counts

    rows = tick(ws, as_of, codes=codes, send=send)
    c = outbox_counts(ws)
    owed = c["pending"] + c["retry"] + c["sending"]
    return TickReport([r for r in rows if r.state == "sent"], [r for r in rows if r.state != "sent"], owed,
                      c["sent"], send and owed > 0 and smtp_settings() is None)
