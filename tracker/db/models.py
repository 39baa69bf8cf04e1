"""The database schema (SQLModel tables). Timestamps are aware UTC datetimes. Validation of input happens elsewhere, in plain models:
``table=True`` models do not validate.

Operator records are append-only. Every record row carries where it came from (who entered it, when,
from which file and row) and a system-time validity: ``entered_at`` (known from) and ``retired_at``
(known until, set when the record is amended or voided). A correction is itself a record
(``Correction``), and what a record said before stays queryable. "As known on K" means
``entered_at <= K AND (retired_at IS NULL OR retired_at > K)``. A large import stages its rows in
short transactions under a batch whose ``published_at`` is empty and publishes them in one: rows of a
batch not (yet) published are seen by no query (``tracker.records.visibility``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from tracker import clock

# Aware UTC timestamps everywhere (the one clock); SQLModel stores them as UTC and returns them aware.
utcnow = clock.now


# ------------------------------------------------------------------ projects, organisations, contacts


class Project(SQLModel, table=True):
    """A funded project, synchronised from its spec file (the specs are the source of truth)."""

    code: str = Field(primary_key=True, max_length=16)
    name: str
    category: str
    funding_wan: float | None = None  # None: the call does not state it (未定)
    funding_source: str | None = None
    area: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    period_start: dt.date
    period_end: dt.date
    midterm: dt.date
    organisation: str | None = None
    spec_path: str
    spec_sha256: str = Field(max_length=64)
    synced_at: dt.datetime = Field(default_factory=utcnow)


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    credit_code: str | None = Field(default=None, description="统一社会信用代码")


class Contact(SQLModel, table=True):
    """Who receives a project's progress: the NGO contact(s) and the bureau officer(s)."""

    id: int | None = Field(default=None, primary_key=True)
    project_code: str | None = Field(default=None, foreign_key="project.code", index=True,
                                     description="null：局方全局联系人（收取全市汇总）")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    role: str = Field(description="ngo | bureau")
    name: str
    email: str
    phone: str | None = None
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)


# ------------------------------------------------------------------ import batches and corrections


class ImportBatch(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(foreign_key="project.code", index=True)
    kind: str
    file_name: str
    file_sha256: str = Field(max_length=64, index=True)
    rows_total: int = 0
    rows_imported: int = 0
    rows_unchanged: int = 0
    rows_invalid: int = 0
    rows_changed: int = Field(default=0, description="内容有变化、作为更正写入的行")
    rows_retired: int = Field(default=0, description="台账中已删除、本批次退回的记录（--sync）")
    rows_corrected: int = Field(default=0, description="识别为此前已更正或作废的行")
    ledger: str | None = Field(default=None, max_length=200, index=True,
                               description="台账名称：同一台账的再次导入与它比较")
    sheets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    undone_at: dt.datetime | None = Field(default=None, description="tracker undo-batch 撤销的时间")
    published_at: dt.datetime | None = Field(
        default=None, description="发布时间：为空表示导入尚未完成（暂存的记录对任何查询都不可见）")
    owner: str | None = Field(default=None, max_length=200, description="暂存中的导入：主机:进程号:启动时刻")
    heartbeat_at: dt.datetime | None = Field(default=None, description="暂存中的导入最近一次写入的时间")
    entered_by: str
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None


class Correction(SQLModel, table=True):
    """An amendment or a voiding of a record: itself an append-only record."""

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(foreign_key="project.code", index=True)
    table_name: str
    old_id: int
    new_id: int | None = Field(default=None, description="amend：新记录的 id；void：空")
    action: str = Field(description="amend | void | import-amend | import-retire | undo")
    batch_id: int | None = Field(default=None, foreign_key="importbatch.id",
                                 description="导入批次造成或撤销的更正")
    reason: str
    author: str
    at: dt.datetime = Field(default_factory=utcnow)


# ------------------------------------------------------------------ operator records


class RecordBase(SQLModel):
    """Columns every operator record has: identity, provenance and system-time validity."""

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: every record table's composite indexes start with project_code, and one
    # index fewer is a measurably faster bulk import.
    project_code: str = Field(foreign_key="project.code", max_length=16)
    record_id: str | None = Field(default=None, max_length=64, description="记录编号（运营方的键）")
    dedupe_key: str = Field(max_length=64, description="记录的身份：记录编号，或记录类型的自然键的指纹")
    content_key: str | None = Field(default=None, max_length=32, description="整行内容的指纹（含备注等列）")
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    entered_at: dt.datetime = Field(default_factory=utcnow)
    entered_by: str = Field(default="system")
    source_file: str | None = None
    source_row: int | None = None
    batch_id: int | None = Field(default=None, foreign_key="importbatch.id")
    retired_at: dt.datetime | None = Field(default=None, description="被更正或作废的时间（系统时间）")
    supersedes: int | None = Field(default=None, description="更正时：被更正记录的 id")


#: Record tables whose identity index is ordered by a column of the identity before the dedupe key.
#: A dedupe key is a hash, so an index on it alone is in random order: every chunk of a large
#: import touches nearly every page of it (about 16k pages late in a 1M-row import). Ordered by date
#: first, a chunk of a ledger kept in date order touches a few pages. The date is part of every
#: activity's natural key, so equal dedupe keys have equal dates and the index is as unique as
#: before (a record id is unique on its own: ``uq_activity_record_id``). A lookup by identity then
#: gives the date too: ``tracker.records.insert.current_by_identity``.
IDENTITY_ORDER: dict[str, str] = {"activity": "date"}


def _record_indexes(table: str) -> tuple[Any, ...]:
    """Current rows are unique by record_id, and by dedupe_key when there is no record_id."""
    lead = IDENTITY_ORDER.get(table)
    identity = ("project_code", lead, "dedupe_key") if lead else ("project_code", "dedupe_key")
    name = f"uq_{table}_{lead}_dedupe" if lead else f"uq_{table}_dedupe"
    return (
        Index(f"uq_{table}_record_id", "project_code", "record_id", unique=True,
              sqlite_where=text("retired_at IS NULL AND record_id IS NOT NULL"),
              postgresql_where=text("retired_at IS NULL AND record_id IS NOT NULL")),
        Index(name, *identity, unique=True,
              sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),
    )


class Person(RecordBase, table=True):
    """服务对象名册（建档立卡）. ID numbers are kept only as a keyed hash and a masked form."""

    __table_args__ = (
        *_record_indexes("person"),
        Index("uq_person_person_id", "project_code", "person_id", unique=True,
              sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),
        Index("ix_person_project_population", "project_code", "population"),
    )
    person_id: str = Field(max_length=64, description="服务对象编号")
    population: str | None = Field(default=None, max_length=48, description="规格中的人群 key")
    name: str | None = Field(default=None, description="姓名（仅库内；任何输出均脱敏）")
    id_hash: str | None = Field(default=None, max_length=64, description="身份证号的带密钥哈希")
    id_masked: str | None = Field(default=None, max_length=18, description="330106********002X")
    birth_date: dt.date | None = None
    household: str | None = None
    district: str | None = None
    town: str | None = None
    village: str | None = None
    category: str | None = None
    enrolled_on: dt.date | None = None
    exit_on: dt.date | None = Field(default=None, description="结案日期：此后不再判定每人每期规则")


class Activity(RecordBase, table=True):
    __table_args__ = (
        *_record_indexes("activity"),
        Index("ix_activity_project_type_date", "project_code", "activity_type", "date"),
        Index("ix_activity_project_person", "project_code", "person_id"),
    )
    date: dt.date
    requested_on: dt.date | None = Field(default=None, description="需求登记日期：及时率的参照日期")
    activity_type: str = Field(max_length=48, description="规格中的活动类型 key")
    person_id: str | None = Field(default=None, max_length=64)
    participants: int | None = None
    hours: float | None = None
    days: float | None = None
    district: str | None = None
    town: str | None = None
    village: str | None = None
    location: str | None = None
    level: str | None = None
    group_name: str | None = Field(default=None, description="小组、营期或个案名称")
    time: str | None = Field(default=None, max_length=32, description="时间：同一天的两次服务以此区分")
    session: int | None = Field(default=None, description="场次：同一天的第几次")
    staff: str | None = None
    notes: str | None = None
    evidence: str | None = Field(default=None, description="签到表、照片等佐证文件")


class Survey(RecordBase, table=True):
    __table_args__ = (*_record_indexes("survey"), Index("ix_survey_project_date", "project_code", "date"))
    date: dt.date
    respondent_type: str = Field(max_length=48)
    person_id: str | None = Field(default=None, max_length=64)
    satisfied: bool | None = None
    score: float | None = None


class Deliverable(RecordBase, table=True):
    __table_args__ = (*_record_indexes("deliverable"),)
    date: dt.date
    deliverable_type: str = Field(max_length=48)
    title: str | None = None
    person_id: str | None = Field(default=None, max_length=64,
                                  description="服务对象编号：一户一档、一人一策等按对象的成果（可空）")
    words: int | None = None
    minutes: float | None = None
    copies: int | None = None
    level: str | None = None
    district: str | None = None
    town: str | None = None
    file: str | None = Field(default=None, description="成果文件（佐证）")


class Approval(RecordBase, table=True):
    __table_args__ = (*_record_indexes("approval"),)
    date: dt.date = Field(description="审批日期")
    activity_type: str | None = Field(default=None, max_length=48, description="空：覆盖全部活动类型")
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    reference: str | None = Field(default=None, description="审批文号")
    notes: str | None = None


class Incident(RecordBase, table=True):
    __table_args__ = (*_record_indexes("incident"),)
    date: dt.date
    incident_type: str = Field(max_length=48)
    description: str | None = None
    notes: str | None = None


class Staff(RecordBase, table=True):
    __table_args__ = (*_record_indexes("staff"),)
    staff_id: str = Field(max_length=64)
    name: str | None = None
    role: str | None = None
    employment: str | None = Field(default=None, description="用工性质：专职 | 兼职 | 志愿者")
    works_with_children: bool | None = Field(default=False, description="是否接触儿童；空白按否")
    started_on: dt.date | None = None
    left_on: dt.date | None = Field(default=None, description="离职日期：当天起不再在岗")
    practice_since: dt.date | None = Field(default=None, description="从业起始日期：工作经验从此日算起")
    experience_years: float | None = Field(default=None, description="工作年限（入项时，年）；有从业起始日期时以日期为准")


class StaffCredential(RecordBase, table=True):
    __table_args__ = (*_record_indexes("staffcredential"),)
    staff_id: str = Field(max_length=64)
    credential: str = Field(max_length=48)
    obtained_on: dt.date | None = None
    expires_on: dt.date | None = None
    reference: str | None = None


class Assessment(RecordBase, table=True):
    __table_args__ = (*_record_indexes("assessment"),
                      Index("ix_assessment_project_instrument", "project_code", "instrument"))
    date: dt.date
    instrument: str = Field(max_length=48)
    person_id: str | None = Field(default=None, max_length=64)
    phase: str = Field(default="single", description="pre | mid | post | single")
    score: float | None = None
    passed: bool | None = None


class Expense(RecordBase, table=True):
    __table_args__ = (*_record_indexes("expense"),)
    date: dt.date
    category: str = Field(description="科目")
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    notes: str | None = None


# ------------------------------------------------------------------ judgements and explanations


class Judgement(SQLModel, table=True):
    """An auditor's verdict on a ``manual`` KPI (the latest as known on a date counts)."""

    __table_args__ = (UniqueConstraint("kpi_id", "recorded_at", name="uq_judgement_kpi_time"),)
    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(foreign_key="project.code", index=True)
    kpi_id: str = Field(index=True)
    verdict: str = Field(description="met | missed")
    value: float | None = None
    evidence: str
    author: str
    recorded_at: dt.datetime = Field(default_factory=utcnow)


class Explanation(SQLModel, table=True):
    """The NGO's 未完成原因和改进措施 for a KPI, or its 下一步计划 for the project."""

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(foreign_key="project.code", index=True)
    kpi_id: str | None = Field(default=None, index=True)
    topic: str = Field(description="reason | remedy | plan")
    text: str
    author: str
    recorded_at: dt.datetime = Field(default_factory=utcnow)


RECORD_TABLES: dict[str, type[RecordBase]] = {
    "roster": Person,
    "activity": Activity,
    "survey": Survey,
    "deliverable": Deliverable,
    "approval": Approval,
    "incident": Incident,
    "staff": Staff,
    "credential": StaffCredential,
    "assessment": Assessment,
    "expense": Expense,
}


#: The modules that define the other tables: accounts and the web's sessions, jobs and files; the
#: audit chain; evaluations; the outbox; settings. A table in a new module under ``tracker/db/`` is
#: named here (``tests/test_migrations.py`` finds every ``table=True`` there and checks). They are not
#: imported with this module: a command that only reads records (``tracker progress``) would pay for
#: building thirteen tables it never touches. The code that uses one imports its module; whatever
#: needs the whole schema (Alembic, ``tracker audit verify``, the tests) calls ``all_tables()``.
TABLE_MODULES = ("tracker.db.accounts", "tracker.db.audit", "tracker.db.evaluation", "tracker.db.outbox",
                 "tracker.db.settings")


def all_tables() -> MetaData:
    """The metadata with every table of the schema defined (imports ``TABLE_MODULES``)."""
    import importlib

    for name in TABLE_MODULES:
        importlib.import_module(name)
    return SQLModel.metadata
