"""Tables of the evaluation process: submissions (a month, or the mid-term / final self-assessment),
their review transitions, and the evaluators' scores (``tracker.evaluation``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from tracker.db.models import utcnow


class Submission(SQLModel, table=True):
    """One period an NGO submits for review: ``kind`` month (``period`` YYYY-MM), midterm or final."""

    __table_args__ = (Index("uq_submission_period", "project_code", "kind", "period", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(foreign_key="project.code", max_length=16)
    kind: str = Field(max_length=16, description="month | midterm | final")
    period: str = Field(max_length=16, description="YYYY-MM，或 midterm / final")
    period_start: dt.date
    period_end: dt.date = Field(description="评估截止日期（as of）")
    state: str = Field(default="draft", max_length=16, description="draft | submitted | returned | approved")
    narrative: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    round: int = Field(default=0, description="第几次提交")
    created_by: str
    created_at: dt.datetime = Field(default_factory=utcnow)
    submitted_at: dt.datetime | None = None
    approved_by: str | None = None
    approved_at: dt.datetime | None = Field(default=None, description="签署时间：签署版报告按此时已知的记录生成")
    locked: bool = Field(default=False, description="批准后锁定期内记录；审核人可解锁")


class SubmissionEvent(SQLModel, table=True):
    """One transition of a submission: who moved it, when, why, and per-KPI comments."""

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    action: str = Field(max_length=16, description="create | submit | return | approve | unlock | relock")
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    actor: str
    role: str = Field(max_length=16)
    comment: str = ""
    kpi_comments: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: dt.datetime = Field(default_factory=utcnow)


class EvaluatorScore(SQLModel, table=True):
    """An evaluator's score of one dimension of the scoring scheme, for a mid-term/final submission."""

    __table_args__ = (Index("ix_evaluatorscore_submission", "submission_id", "dimension"),)
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    evaluator: str
    chair: bool = False
    dimension: str
    score: float
    comment: str = ""
    evidence: str = ""
    at: dt.datetime = Field(default_factory=utcnow)
