"""Signals: SIGTERM and Ctrl-C (SIGINT) roll an import back, stop its reader worker and say so in
Chinese (exit 143 / 130); the worker dies with its parent even under ``kill -9``. Real processes."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
import contextlib

from records_support import CODE, ROSTER, SPECS, counts, workspace, write_csv

from tracker.db.models import Activity
from tracker.records import staging
from tracker.records.visibility import visible

TRACKER = Path(sys.executable).parent / "tracker"
ROWS = 600_000  # long enough to be caught in the middle (the import takes several seconds)


def _big_activities(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["日期", "活动类型", "服务对象编号", "参与人数", "备注"])
        for i in range(ROWS):
            w.writerow([f"2024-{7 + i % 6:02d}-{1 + i % 28:02d}", "培训", "", 5 + i % 40, f"第{i}场"])
    return path


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for_worker(proc: subprocess.Popen[str], timeout: float = 60) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        kids = _children(proc.pid)
        if kids:
            time.sleep(1.0)  # let it read and write a few chunks
            return kids[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no reader worker started")


@pytest.fixture
def big_import(env: dict[str, str], tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    environ = {**os.environ, **env, "TRACKER_SPECS": str(SPECS)}
    r = subprocess.run([str(TRACKER), "import", str(write_csv(tmp_path / "r.csv", ROSTER)), "--project", CODE],
                       env=environ, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    big = _big_activities(tmp_path / "big.csv")

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([str(TRACKER), "import", str(big), "--project", CODE], env=environ,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return start


@pytest.mark.parametrize("sig, code, words", [(signal.SIGTERM, 143, "收到终止信号"),
                                              (signal.SIGINT, 130, "收到中断（Ctrl-C）")])
def test_a_stop_signal_rolls_back_stops_the_worker_and_says_so(big_import, db_url: str, sig: int, code: int,
                                                              words: str) -> None:
    proc = big_import()
    worker = _wait_for_worker(proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"错误：已中止：{words}，本次操作已回滚，未写入任何内容" in err
    assert "Traceback" not in err + out
    for _ in range(50):
        if not _alive(worker):
            break
        time.sleep(0.1)
    assert not _alive(worker)
    c = counts(workspace(db_url))
    assert c["activity"] == 0 and c["batches"] == 1  # the roster's batch only


def test_the_worker_dies_with_its_parent_under_kill_9(big_import, db_url: str) -> None:
    proc = big_import()
    worker = _wait_for_worker(proc)
    proc.kill()
    proc.communicate(timeout=30)
    t0 = time.monotonic()
    while _alive(worker) and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    assert not _alive(worker), "the reader worker outlived its parent"
    # what the killed import staged is seen by nothing, and the next import clears it away
    ws = workspace(db_url)
    with ws.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Activity).where(visible(Activity))).scalar_one() == 0
    staging.clear_abandoned(ws.engine)
    assert counts(ws)["activity"] == 0
