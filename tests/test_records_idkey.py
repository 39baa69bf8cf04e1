"""The ID-hash key lives with the database: the same roster imported from two folders (two machines
against one PostgreSQL server) hashes alike and is recognised; an older ``data/id.key`` is taken
over; processes creating the key at the same instant agree; ``TRACKER_ID_KEY`` still wins."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, SPECS, id_number, workspace, write_csv

from tracker.db.connection import dispose_engines, make_engine
from tracker.db.models import Person
from tracker.db.settings import Setting, get_setting
from tracker.errors import TrackerError
from tracker.records import import_file
from tracker.records.privacy import KEY_SETTING, hash_id, id_key

TRACKER = Path(sys.executable).parent / "tracker"


def _env(db_url: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("TRACKER_ID_KEY", "TRACKER_DATA", "TRACKER_DB_URL")}
    return {**e, "TRACKER_DB_URL": db_url, "TRACKER_SPECS": str(SPECS)}


def _import(env: dict[str, str], cwd: Path, path: Path) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([str(TRACKER), "import", str(path), "--project", CODE], env=env, cwd=cwd,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return r


def _hmac(key: str, number: str) -> str:
    return hmac.new(key.encode(), number.encode(), hashlib.sha256).hexdigest()


def _stored_hashes(db_url: str) -> dict[str, str]:
    ws = workspace(db_url)
    with ws.session() as s:
        return {p.person_id: p.id_hash for p in s.execute(select(Person).where(Person.retired_at.is_(None))).scalars()}  # type: ignore[union-attr]


def test_same_roster_from_two_folders_agrees(db_url: str, tmp_path: Path) -> None:
    env = _env(db_url)
    roster = write_csv(tmp_path / "roster.csv", ROSTER)
    first = _import(env, tmp_path / "pc-a", roster)
    assert "新增 3 条，未变化 0 条，无效 0 条" in first.stdout
    second = _import(env, tmp_path / "pc-b", roster)  # another folder (another PC): no data/id.key there
    assert "新增 0 条，未变化 3 条，无效 0 条" in second.stdout, second.stdout + second.stderr
    assert "内容不同" not in second.stdout + second.stderr
    key = get_setting(make_engine(db_url), KEY_SETTING)
    assert key is not None and len(key) == 64 and int(key, 16) >= 0
    assert _stored_hashes(db_url) == {r[0]: _hmac(key, r[2]) for r in ROSTER[1:]}
    # nothing was written relative to either working directory
    assert not list((tmp_path / "pc-a").rglob("*")) and not list((tmp_path / "pc-b").rglob("*"))


def test_an_older_key_file_is_taken_over_once(db_url: str, tmp_path: Path) -> None:
    env = _env(db_url)
    old_key = "ab" * 32
    (tmp_path / "old" / "data").mkdir(parents=True)
    (tmp_path / "old" / "data" / "id.key").write_text(old_key + "\n")
    roster = write_csv(tmp_path / "roster.csv", ROSTER)
    r = _import(env, tmp_path / "old", roster)
    assert "已将身份证号哈希密钥从文件 data/id.key 迁入数据库" in r.stderr, r.stderr
    assert get_setting(make_engine(db_url), KEY_SETTING) == old_key
    assert _stored_hashes(db_url) == {row[0]: _hmac(old_key, row[2]) for row in ROSTER[1:]}
    again = _import(env, tmp_path / "old", roster)  # migrated once: no second notice
    assert "迁入" not in again.stderr and "未变化 3 条" in again.stdout
    elsewhere = _import(env, tmp_path / "new", roster)
    assert "新增 0 条，未变化 3 条" in elsewhere.stdout, elsewhere.stdout


def test_hashes_without_a_key_are_not_silently_rehashed(db_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A database whose roster was hashed with a key kept elsewhere (TRACKER_ID_KEY, or an older
    id.key in another folder): no new key is made, the user is asked for the old one."""
    monkeypatch.setenv("TRACKER_ID_KEY", "kept-elsewhere")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    ws = workspace(db_url)
    assert import_file(ws, write_csv(tmp_path / "r.csv", ROSTER), CODE).imported == 3
    monkeypatch.delenv("TRACKER_ID_KEY")
    with pytest.raises(TrackerError) as e:
        import_file(ws, write_csv(tmp_path / "r2.csv", ROSTER), CODE)
    assert "已有 3 条按身份证号哈希的服务对象记录" in e.value.message and "TRACKER_ID_KEY" in e.value.message
    assert get_setting(ws.engine, KEY_SETTING) is None  # and no key was stored


def test_environment_key_wins_and_stores_nothing(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_ID_KEY", "explicit")
    engine = make_engine(db_url)
    n = id_number()
    assert id_key(engine) == b"explicit" and hash_id(n, id_key(engine)) == _hmac("explicit", n)
    assert get_setting(engine, KEY_SETTING) is None


def test_processes_creating_the_key_at_once_agree(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.delenv("TRACKER_ID_KEY", raising=False)
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "nothing-here"))
    n = 6
    engines = [make_engine(db_url) for _ in range(n)]
    start = threading.Barrier(n)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            start.wait()
            keys.append(id_key(engines[i]))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(keys) == n and len(set(keys)) == 1
    with engines[0].connect() as c:
        rows = c.execute(select(Setting.__table__)).all()  # type: ignore[attr-defined]
    assert len(rows) == 1 and rows[0].value.encode() == keys[0]
    for e in engines:
        e.dispose()
    dispose_engines()
