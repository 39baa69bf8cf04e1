"""The outbox: one row per message the scheduler owes someone.

A message is identified by ``(kind, project_code, period, recipient)`` and that key is UNIQUE, so a
repeated tick, a restart or two schedulers at once can plan the same message any number of times and
the table still holds it once. A row moves ``pending → sending → sent``; a failed send goes to
``retry`` (with ``attempts``, ``last_error`` and a backed-off ``next_attempt_at``) and after too many
attempts to ``failed``; a message for a contact removed before it went out becomes ``cancelled``.
Only the process that moved a row to ``sending`` (``claimed_by``) sends it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from tracker.db.models import utcnow

#: ``kind`` values: the monthly progress email, the mid-term and final reports, the bureau's digest.
OUTBOX_KINDS: tuple[str, ...] = ("monthly", "midterm", "final", "digest")
#: ``state`` values.
OUTBOX_STATES: tuple[str, ...] = ("pending", "sending", "sent", "retry", "failed", "cancelled")
#: ``project_code`` of a message about every project (the bureau's monthly digest).
ALL_PROJECTS = "*"


class Outbox(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("kind", "project_code", "period", "recipient", name="uq_outbox_message"),
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="monthly | midterm | final | digest")
    project_code: str = Field(max_length=16, description="项目编号；全市汇总为 *")
    period: str = Field(max_length=16, description="monthly/digest：YYYY-MM；midterm/final：报告日期")
    recipient: str = Field(max_length=254, description="收件人邮箱（小写）")
    contact_id: int | None = Field(default=None, description="Contact.id（收件人来自联系人表）")
    role: str = Field(default="ngo", max_length=16, description="ngo | bureau")
    send_on: dt.date = Field(description="应发送日期（北京时间）")
    data_as_of: dt.date = Field(description="邮件中数据的截止日期")
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    message_id: str | None = Field(default=None, max_length=255)
    subject: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
