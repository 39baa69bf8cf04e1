"""The audit trail's table: an append-only, hash-chained log of every write (``tracker.audit``).

Each entry holds the hash of its content and the hash of the entry before it; its own hash covers
both, so altering, deleting or inserting an entry breaks the chain from that point on. ``content`` is
kept as the exact canonical JSON text that ``content_hash`` was computed over.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_entity", "entity", "entity_id"),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False},
                     description="1, 2, 3 …（无空缺）")
    at: str = Field(max_length=32, description="UTC 时间，ISO 8601（参与哈希的原文）")
    actor: str = Field(description="账户或操作人")
    action: str = Field(max_length=48)
    entity: str = Field(max_length=48, description="表名或对象类型")
    entity_id: str = Field(max_length=64)
    content: str = Field(sa_column=Column(Text, nullable=False), description="规范化 JSON")
    content_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)
