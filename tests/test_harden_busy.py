"""A writer that finds the SQLite database locked by another one waits ``TRACKER_DB_BUSY_SECONDS``,
then says "数据库正忙" in Chinese (no traceback, exit 1); once the other writer is done it succeeds."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, SPECS, counts, workspace, write_csv

TRACKER = Path(sys.executable).parent / "tracker"
LOG = ["log", "activity", "--project", CODE, "--日期", "2024-07-01", "--活动类型", "培训", "--参与人数", "3"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_locked_database_gives_the_busy_message_after_the_timeout(env: dict[str, str], tmp_path: Path,
                                                                    db_url: str) -> None:
    e = {**os.environ, **env, "TRACKER_SPECS": str(SPECS), "TRACKER_DB_BUSY_SECONDS": "2"}
    run = lambda *a: subprocess.run([str(TRACKER), *a], env=e, capture_output=True, text=True, timeout=120)  # noqa: E731
    assert run("import", str(write_csv(tmp_path / "r.csv", ROSTER)), "--project", CODE).returncode == 0
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        for args in (LOG, ["import", str(write_csv(tmp_path / "a.csv", [["日期", "活动类型", "参与人数"],
                                                                         ["2024-07-02", "培训", "5"]])),
                           "--project", CODE]):
            t0 = time.monotonic()
            r = run(*args)
            waited = time.monotonic() - t0
            assert r.returncode == 1 and "Traceback" not in r.stderr + r.stdout
            assert "错误：数据库正忙：另一项导入正在写入，请稍后重试" in r.stderr, r.stderr
            assert 2 <= waited < 60
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run(*LOG).returncode == 0
    assert counts(workspace(db_url))["activity"] == 1
