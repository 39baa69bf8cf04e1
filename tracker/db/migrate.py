"""Alembic, driven from code: ``upgrade(engine)`` brings any database to the latest schema.

Migrations live in ``tracker/db/migrations/versions``. The first use of a database runs them; a
PostgreSQL advisory lock (or SQLite's write lock) keeps two processes from migrating at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r'^revision(?:\s*:\s*str)?\s*=\s*["\']([^"\']+)["\']', re.M)
_DOWN = re.compile(r'^down_revision(?:\s*:[^=]+)?=\s*(.+)$', re.M)


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """APScheduler creates and owns its job-store table; migrations leave it alone."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revisions() -> set[str] | None:
    """The head revisions of the migration scripts, read from their text (no Alembic import), or
    None when a script cannot be read that way."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text("utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None or down is None:
            return None
        revisions.add(rev[1])
        downs.update(re.findall(r'["\']([^"\']+)["\']', down[1]))
    return revisions - downs


def is_current(engine: Engine) -> bool:
    """Whether the database is already at the latest schema (one query, no Alembic)."""
    heads = head_revisions()
    if not heads:
        return False
    try:
        with engine.connect() as conn:
            got = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # no table yet, or no database: let Alembic create it
        return False
    return got == heads


def upgrade(engine: Engine) -> None:
    if is_current(engine):
        return
    from alembic import command

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
