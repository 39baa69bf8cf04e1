"""Shared fixtures. Every database test runs twice: on a real SQLite file and on a real PostgreSQL
server (``TRACKER_TEST_PG_URL``, started by ``scripts/start-postgres``; ``.ci/run`` does it). Without
that variable the PostgreSQL half is skipped locally and fails under CI."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tracker.db.connection import dispose_engines

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("TRACKER_TEST_PG_URL")
# Validated specs are cached by content (tracker.kpispec.cache), so every test and every xdist worker
# after the first reads the 43 specs without parsing them; the key changes with any edit of a spec or
# of tracker, so a shared cache is always right.
os.environ.setdefault("TRACKER_CACHE", str(Path(tempfile.gettempdir()) / f"tracker-test-cache-{os.getuid()}"))


def _pg_admin_url() -> str:
    assert PG_URL
    return make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False)


# ------------------------------------------------------------------ migrated template databases
# Every database test starts from a copy of a database migrated once, not from an Alembic run of its
# own: on SQLite a file copied per test (one template per test process), on PostgreSQL
# ``CREATE DATABASE … TEMPLATE`` of a template database named by a hash of the migration scripts, made
# once for everyone sharing the server (xdist workers, other checkouts, other developers) and only
# published, by a rename, once fully migrated. A changed schema gets a new name, so a new template.
# A PostgreSQL database a test has finished with is emptied (TRUNCATE) and given to the next test of
# the same process, unless the test changed more than its rows (``recycle_pg_database``).

MIGRATIONS = REPO / "tracker" / "db" / "migrations"


def migrations_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        h.update(path.relative_to(MIGRATIONS).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _migrate(url: str) -> None:
    from tracker.db.connection import make_engine
    from tracker.db.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


_PG_TEMPLATE: str | None = None


def pg_template() -> str:
    """The name of the migrated template database on the test server (made when missing)."""
    global _PG_TEMPLATE
    if _PG_TEMPLATE is not None:
        return _PG_TEMPLATE
    name = f"tracker_tpl_{migrations_digest()}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text("SELECT pg_advisory_lock(727275)"))  # one builder at a time, server-wide
            try:
                if c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                    building = f"{name}_build_{uuid.uuid4().hex[:8]}"
                    c.execute(text(f'CREATE DATABASE "{building}"'))
                    try:
                        _migrate(make_url(PG_URL).set(database=building).render_as_string(hide_password=False))
                        c.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
                    except BaseException:
                        c.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
                        raise
                    # nobody may connect to it: a connection would stop it being copied
                    c.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            finally:
                c.execute(text("SELECT pg_advisory_unlock(727275)"))
    finally:
        admin.dispose()
    _PG_TEMPLATE = name
    return name


def new_pg_database() -> str:
    """A fresh PostgreSQL database for one test, already migrated (a copy of the template); dropped by
    the caller's fixture."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    template = pg_template()
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            for attempt in range(20):
                try:
                    c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
                    break
                except OperationalError as e:  # another copy of the template being made at that instant
                    if "being accessed by other users" not in str(e) or attempt == 19:
                        raise
                    time.sleep(0.1 * (attempt + 1))
    finally:
        admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


# What a test may change of its database besides rows: when any of it differs from the template's,
# the database is dropped instead of emptied for the next test.
_SCHEMA_SQL = """SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
  SELECT 'c:' || table_name || '.' || column_name || ':' || data_type || ':' || coalesce(column_default, '')
         || is_nullable AS x FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'i:' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 'k:' || conrelid::regclass || conname || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 't:' || tgrelid::regclass || tgname FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'v:' || version_num FROM alembic_version
  UNION ALL SELECT 'q:' || sequencename FROM pg_sequences WHERE schemaname = 'public'
  UNION ALL SELECT 'f:' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'v:' || viewname FROM pg_views WHERE schemaname = 'public'
  UNION ALL SELECT 'l:' || count(*) FROM pg_largeobject_metadata
  UNION ALL SELECT 'r:' || array_to_string(setconfig, ';') FROM pg_db_role_setting
            WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) s"""
_PG_FREE: list[str] = []  # this process's databases emptied by a finished test, for the next one
_PG_SCHEMA: list[str] = []  # the template's schema fingerprint, read once per process


def _terminate(name: str) -> None:
    """End every connection to database ``name`` (a test's server or child process that lingers)."""
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
    finally:
        admin.dispose()


def pg_database_for_test() -> str:
    """A PostgreSQL database for one test, migrated and holding no row: one a finished test left
    emptied (``recycle_pg_database``), else a fresh copy of the template."""
    if _PG_FREE:
        return _PG_FREE.pop()
    url = new_pg_database()
    if not _PG_SCHEMA:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            _PG_SCHEMA.append(str(c.execute(text(_SCHEMA_SQL)).scalar()))
        engine.dispose()
    return url


def recycle_pg_database(url: str) -> None:
    """After a test: empty its database for the next test (every table truncated and every sequence
    restarted: a tenth of the cost of a fresh copy); a database whose schema, settings or large
    objects the test changed, or that cannot be emptied, is dropped instead."""
    dispose_engines()
    name = make_url(url).database
    assert name
    _terminate(name)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            if not _PG_SCHEMA or c.execute(text(_SCHEMA_SQL)).scalar() != _PG_SCHEMA[0]:
                raise LookupError("schema changed")
            tables = [r[0] for r in c.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
            c.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            for (seq,) in c.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).all():
                c.execute(text(f'ALTER SEQUENCE "{seq}" RESTART'))
    except Exception:
        engine.dispose()
        drop_pg_database(url)
        return
    engine.dispose()
    _PG_FREE.append(url)


@pytest.fixture(scope="session", autouse=True)
def _drop_emptied_pg_databases() -> Iterator[None]:
    yield
    while _PG_FREE:
        with contextlib.suppress(Exception):
            drop_pg_database(_PG_FREE.pop())


def drop_pg_database(url: str) -> None:
    dispose_engines()
    name = make_url(url).database
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file, made once per test process and copied by each test."""
    import sqlite3

    path = tmp_path_factory.mktemp("template") / "tracker.db"
    _migrate(f"sqlite:///{path}")
    con = sqlite3.connect(path)  # everything into the main file, which is all a test copies
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh database URL, once per backend, already migrated to the latest schema."""
    if request.param == "sqlite":
        path = tmp_path / "tracker.db"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
        yield url
        dispose_engines()
        return
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI 中必须设置 TRACKER_TEST_PG_URL（由 scripts/start-postgres 启动 PostgreSQL）")
        pytest.skip("未设置 TRACKER_TEST_PG_URL：跳过 PostgreSQL")
    url = pg_database_for_test()
    yield url
    recycle_pg_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no schema yet), once per backend: for the tests of migrating."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        dispose_engines()
        return
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI 中必须设置 TRACKER_TEST_PG_URL（由 scripts/start-postgres 启动 PostgreSQL）")
        pytest.skip("未设置 TRACKER_TEST_PG_URL：跳过 PostgreSQL")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    drop_pg_database(url)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> dict[str, str]:
    """Point the CLI and library at a fresh database and a scratch data directory."""
    values = {"TRACKER_DB_URL": db_url, "TRACKER_DATA": str(tmp_path / "data"),
              "TRACKER_SPECS": str(REPO / "kpi_specs"), "TRACKER_ID_KEY": "test-key-not-secret"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


@pytest.fixture
def roster_ws(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The records fixture project (tests/fixtures/records/B901.yaml) on a fresh database, with its
    three-person roster imported (tests/fixtures/records/records_support.py)."""
    import sys

    sys.path.insert(0, str(FIXTURES / "records"))
    from records_support import load_roster, workspace

    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    w = workspace(db_url)
    load_roster(w, tmp_path)
    return w


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives (tests/schedule_support.py)."""
    from schedule_support import LoopbackSmtp

    server = LoopbackSmtp()
    server.start()
    yield server
    server.stop()
