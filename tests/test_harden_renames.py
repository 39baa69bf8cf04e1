"""History survives spec edits: a KPI key renamed without ``renamed_from`` fails ``spec validate``
(given a database) naming the judgements and notes left behind; with ``renamed_from`` the history
follows the KPI into progress and reports."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, SPECS

from tracker.db.connection import dispose_engines
from tracker.measure.judgements import record_judgement
from tracker.measure.progress import compute_progress
from tracker.reports.notes import add_note
from tracker.workspace import open_workspace

TRACKER = Path(sys.executable).parent / "tracker"
MANUAL = "      - {key: %s, kind: manual, label: 培训档案, unit: 项%s}\n"
ANCHOR = "      - {key: trainings, kind: count, label: 培训场次, where: {types: [training]}, target: 10, unit: 场}\n"


def _spec(d: Path, key: str, extra: str = "") -> Path:
    text = (SPECS / "B901.yaml").read_text("utf-8")
    assert ANCHOR in text
    d.mkdir(exist_ok=True)
    (d / "B901.yaml").write_text(text.replace(ANCHOR, ANCHOR + MANUAL % (key, extra)), "utf-8")
    return d


def _validate(env: dict[str, str], specs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TRACKER), "spec", "validate", str(specs)], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_a_renamed_kpi_keeps_its_history_only_when_it_says_so(env: dict[str, str], tmp_path: Path,
                                                              db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = _spec(tmp_path / "specs", "files")
    ws = open_workspace(db_url, specs)
    old = f"{CODE}.2.files"
    record_judgement(ws, old, "met", "档案齐全，见附件", "评估员甲")
    add_note(ws, CODE, "reason", "档案按月归集", "社工乙", old)
    as_of = dt.date(2024, 12, 1)
    assert {k.id: k.status for k in compute_progress(ws, CODE, as_of).kpis}[old] == "met"
    assert _validate(env, specs).returncode == 0

    # the key renamed, nothing said: refused, naming what would be lost
    _spec(specs, "training_files")
    r = _validate(env, specs)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"数据库中有 1 条评定记在指标 {old} 名下，但规格中已没有这个指标" in r.stderr
    assert f"数据库中有 1 条说明记在指标 {old} 名下" in r.stderr
    assert "请在新指标上写 renamed_from: files，历史会随指标迁移" in r.stderr
    # without a database the spec alone is fine
    assert _validate({k: v for k, v in env.items() if k != "TRACKER_DB_URL"} | {"TRACKER_DB_URL": ""},
                     specs).returncode == 0

    # renamed_from: the verdict and the note follow the KPI
    _spec(specs, "training_files", ", renamed_from: files")
    assert _validate(env, specs).returncode == 0
    dispose_engines()
    ws = open_workspace(db_url, specs)
    new = f"{CODE}.2.training_files"
    progress = {k.id: k for k in compute_progress(ws, CODE, as_of).kpis}
    assert old not in progress and progress[new].status == "met"
    from tracker.reports.query import explanations

    with ws.engine.connect() as conn:
        assert [e["kpi_id"] for e in explanations(conn, CODE, None)] == [new]
    assert _validate(env, specs).returncode == 0  # moved, nothing left behind
    from tracker.audit import verify

    assert verify(ws).ok, verify(ws)  # the move is in the audit chain


def test_renamed_from_cannot_name_a_kpi_still_in_use(tmp_path: Path) -> None:
    from tracker.kpispec.loader import SpecError, load_specs

    specs = _spec(tmp_path / "specs", "files", ", renamed_from: trainings")
    with pytest.raises(SpecError, match=r"renamed_from 指向现存的指标 2099B901\.2\.trainings"):
        load_specs(specs)
