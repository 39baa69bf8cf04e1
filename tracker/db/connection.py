"""Connecting to the database: SQLite by default (WAL, foreign keys on, busy timeout), PostgreSQL
through psycopg. The schema is created and migrated with Alembic on first use."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from tracker import config
from tracker.errors import TrackerError

_ENGINES: dict[str, Engine] = {}
_MIGRATED: set[str] = set()
_LOCK = threading.Lock()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={busy_ms()}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def busy_ms() -> int:
    """How long a writer waits for another one (SQLite) before "数据库正忙" (``TRACKER_DB_BUSY_SECONDS``,
    default 30)."""
    raw = os.environ.get("TRACKER_DB_BUSY_SECONDS", "").strip()
    try:
        seconds = float(raw) if raw else 30.0
    except ValueError:
        raise TrackerError(f"环境变量 TRACKER_DB_BUSY_SECONDS 的值 “{raw}” 不是数字：请写等待的秒数，如 30") from None
    return max(int(seconds * 1000), 0)


def make_engine(url: str) -> Engine:
    try:
        u = make_url(url)
    except Exception:  # ArgumentError, or ValueError for a broken host part
        raise TrackerError("数据库地址（TRACKER_DB_URL）格式无效：应写成 sqlite:///路径/tracker.db 或 "
                           "postgresql://用户@主机:端口/库名") from None
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
            parent = Path(u.database).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                raise TrackerError(f"无法创建数据库文件所在的目录 {parent}（路径中有同名文件，或没有写权限）："
                                   "请检查 TRACKER_DB_URL") from None
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_ms() / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif u.get_backend_name() == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        engine = create_engine(u, pool_pre_ping=True)
    else:
        raise TrackerError(f"不支持的数据库：{u.get_backend_name()}（支持 sqlite 与 postgresql）")
    return engine


def get_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The engine for ``url`` (default ``TRACKER_DB_URL``), migrated to the latest schema."""
    url = url or config.db_url()
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = make_engine(url)
        if migrate and url not in _MIGRATED:
            from tracker.db.migrate import upgrade

            try:
                upgrade(engine)
            except TrackerError:
                raise
            except Exception as e:  # connection refused, bad credentials, a read-only file …
                from tracker.failures import explain

                why = explain(e) or "请检查 TRACKER_DB_URL 与数据库服务是否在运行"
                raise TrackerError(f"无法连接或初始化数据库 {make_url(url).render_as_string(hide_password=True)}：{why}") from e
            _MIGRATED.add(url)
    return engine


def dispose_engines() -> None:
    with _LOCK:
        for e in _ENGINES.values():
            e.dispose()
        _ENGINES.clear()
        _MIGRATED.clear()

