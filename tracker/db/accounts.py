"""Web accounts and what hangs off them: organisations' projects, server-side sessions, login
attempts, evidence files and background jobs.

A session row is keyed by the SHA-256 of its cookie token (the token itself is never stored), so a
copy of the database does not let anyone log in; logout or a password change sets ``revoked_at``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from tracker.db.models import utcnow

#: ``Account.role`` values.
ROLES: tuple[str, ...] = ("operator", "auditor", "admin")


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True)
    display_name: str | None = None
    role: str = Field(max_length=16, description="operator | auditor | admin")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    password_hash: str
    active: bool = True
    api_token_hash: str | None = Field(default=None, max_length=64, index=True,
                                       description="个人接口令牌的 SHA-256（令牌本身不保存）")
    created_at: dt.datetime = Field(default_factory=utcnow)
    password_changed_at: dt.datetime = Field(default_factory=utcnow)


class OrganisationProject(SQLModel, table=True):
    """承接组织: which organisation runs a project (one organisation per project)."""

    project_code: str = Field(foreign_key="project.code", primary_key=True, max_length=16)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    set_by: str = Field(default="system")
    set_at: dt.datetime = Field(default_factory=utcnow)


class WebSession(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64, description="cookie 令牌的 SHA-256")
    account_id: int = Field(foreign_key="account.id", index=True)
    csrf_token: str = Field(max_length=64)
    address: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None


class LoginAttempt(SQLModel, table=True):
    __table_args__ = (Index("ix_loginattempt_login_at", "login", "at"),
                      Index("ix_loginattempt_address_at", "address", "at"))
    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64)
    address: str = Field(max_length=64)
    ok: bool = False
    at: dt.datetime = Field(default_factory=utcnow)


class EvidenceFile(SQLModel, table=True):
    """An uploaded evidence file: the bytes live under the data directory by their SHA-256."""

    __table_args__ = (Index("ix_evidencefile_project", "project_code", "uploaded_at"),)
    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(foreign_key="project.code", max_length=16)
    sha256: str = Field(max_length=64)
    file_name: str
    content_type: str = Field(max_length=64)
    size: int
    attached_to: str = Field(default="project", max_length=16,
                             description="project | record | deliverable | judgement")
    attached_id: str | None = Field(default=None, max_length=128, description="记录编号、指标编号等")
    description: str | None = None
    uploaded_by: str
    uploaded_at: dt.datetime = Field(default_factory=utcnow)


class PendingUpload(SQLModel, table=True):
    """A file uploaded for import, checked (dry run) and waiting for the operator to confirm."""

    __table_args__ = (UniqueConstraint("token", name="uq_pendingupload_token"),)
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64)
    project_code: str = Field(foreign_key="project.code", max_length=16)
    account_id: int = Field(foreign_key="account.id")
    file_name: str
    sha256: str = Field(max_length=64)
    suffix: str = Field(max_length=8)
    kind: str | None = Field(default=None, max_length=32)
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    state: str = Field(default="checked", max_length=16, description="checked | imported | discarded | expired")
    batch_id: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class BackgroundJob(SQLModel, table=True):
    """Work done off the request (reports): its progress and result are read from here."""

    __table_args__ = (Index("ix_backgroundjob_state", "state", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, description="project_report | portfolio")
    project_code: str | None = Field(default=None, max_length=16)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    account_id: int = Field(foreign_key="account.id")
    state: str = Field(default="queued", max_length=16, description="queued | running | done | failed")
    progress: int = 0
    message: str | None = None
    result: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
