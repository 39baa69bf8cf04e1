"""Fast start: validated specs come from a content-keyed cache (a changed file is read again at once,
a corrupt entry is never trusted, an unwritable cache is no error), the database's schema is not
migrated again when it is current, and ``tracker --help`` loads none of the heavy libraries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.kpispec import cache
from tracker.kpispec.loader import SpecError, load_specs

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "kpi_specs"
HEAVY = ["pandas", "numpy", "sqlalchemy", "sqlmodel", "alembic", "matplotlib", "weasyprint", "openpyxl",
         "jinja2", "pydantic", "yaml", "python_calamine", "apscheduler"]


@pytest.fixture
def spec_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACKER_CACHE", str(tmp_path / "cache"))
    cache.clear_memory()
    d = tmp_path / "specs"
    d.mkdir()
    shutil.copy(SPECS / "2024" / "B004E.yaml", d / "B004E.yaml")
    shutil.copy(SPECS / "2024" / "B001.yaml", d / "B001.yaml")
    yield d
    cache.clear_memory()


def _entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "specs").glob("*.json"))


def test_second_load_comes_from_the_cache_and_equals_the_parsed_spec(spec_dir: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    first = {ls.spec.code: ls.spec for ls in load_specs(spec_dir)}
    assert len(_entries(tmp_path)) == 2
    cache.clear_memory()  # as a new process would: only the files remain

    import tracker.kpispec.loader as loader

    def no_parsing(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("a cached spec was parsed again")

    monkeypatch.setattr(loader, "_parse", no_parsing)
    again = {ls.spec.code: ls.spec for ls in load_specs(spec_dir)}
    assert again == first
    assert again["2024B004E"].project.funding.amount_wan == first["2024B004E"].project.funding.amount_wan


def test_a_changed_file_is_read_again_at_once(spec_dir: Path) -> None:
    before = {ls.spec.code: ls for ls in load_specs(spec_dir)}["2024B004E"]
    path = spec_dir / "B004E.yaml"
    old_name = before.spec.project.name
    path.write_text(path.read_text("utf-8").replace(f"name: {old_name}", f"name: {old_name}（改）"), "utf-8")
    after = {ls.spec.code: ls for ls in load_specs(spec_dir)}["2024B004E"]
    assert after.spec.project.name == old_name + "（改）"
    assert after.sha256 != before.sha256
    # and a broken edit is reported, not hidden behind the cached good version
    path.write_text(path.read_text("utf-8").replace("kind: rate", "kind: rat"), "utf-8")
    with pytest.raises(SpecError, match="rat"):
        load_specs(spec_dir)


def test_a_spec_with_a_release_table_problem_is_never_cached(spec_dir: Path, tmp_path: Path) -> None:
    path = spec_dir / "B004E.yaml"
    path.write_text(path.read_text("utf-8").replace("服务对象满意度不低于85%", "服务对象满意度不低于80%"), "utf-8")
    for _ in range(2):
        cache.clear_memory()
        with pytest.raises(SpecError, match="与发布表第4条原文不一致"):
            load_specs(spec_dir)
    assert len(_entries(tmp_path)) == 1  # B001 only
    # without the release check the same spec is valid, under another key
    assert {ls.spec.code for ls in load_specs(spec_dir, release_check=False)} == {"2024B001", "2024B004E"}
    assert len(_entries(tmp_path)) == 3


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "valid-json-wrong-shape"])
def test_a_corrupt_entry_is_ignored_and_rewritten(spec_dir: Path, tmp_path: Path, damage: str) -> None:
    good = {ls.spec.code: ls.spec for ls in load_specs(spec_dir)}
    for entry in _entries(tmp_path):
        data = entry.read_bytes()
        if damage == "truncate":
            entry.write_bytes(data[: len(data) // 2])
        elif damage == "flip":  # one changed byte in the payload: the digest no longer matches
            i = data.index(b'"name":"') + 9
            entry.write_bytes(data[:i] + bytes([data[i] ^ 1]) + data[i + 1:])
        elif damage == "garbage":
            entry.write_bytes(os.urandom(200))
        else:  # a matching digest over JSON that is not a spec
            import hashlib

            payload = json.dumps({"project": 1}).encode()
            entry.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    cache.clear_memory()
    assert {ls.spec.code: ls.spec for ls in load_specs(spec_dir)} == good
    cache.clear_memory()
    for entry in _entries(tmp_path):
        assert cache.get(entry.stem) is not None  # rewritten whole


def test_an_unwritable_cache_is_no_error(spec_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("TRACKER_CACHE", str(blocker / "cache"))
    assert len(load_specs(spec_dir)) == 2


def test_two_processes_filling_the_cache_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_CACHE", str(tmp_path / "cache"))
    env = dict(os.environ)
    code = ("from pathlib import Path; from tracker.kpispec.loader import load_specs; "
            f"print(len(load_specs(Path({str(SPECS)!r}))))")
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outs == ["43", "43"]
    entries = list((tmp_path / "cache" / "specs").iterdir())
    assert len(entries) == 43  # no temporary file left behind
    cache.clear_memory()
    for e in entries:
        assert cache.get(e.stem) is not None


def test_help_loads_no_heavy_library() -> None:
    code = ("import sys\nfrom tracker.cli import main\nsys.argv = ['tracker', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert "公益创投" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


def test_specs_from_a_warm_cache_load_no_sql(tmp_path: Path) -> None:
    """A spec read back from the cache is not checked by the kinds again (it was, under the same code),
    so ``spec validate`` with a warm cache imports neither SQLAlchemy nor the database models; the
    specs read back are the same."""
    code = ("import sys\nfrom pathlib import Path\nfrom tracker.kpispec.loader import load_specs\n"
            f"specs = load_specs(Path({str(SPECS)!r}))\n"
            "print(len(specs), sum(len(ls.spec.iter_kpis()) for ls in specs))\n"
            "print('LOADED', sorted(m for m in ['sqlalchemy', 'sqlmodel', 'tracker.measure.kinds.count'] if m in sys.modules))")
    env = {**os.environ, "TRACKER_CACHE": str(tmp_path / "cache")}
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert cold.stdout.splitlines()[0] == warm.stdout.splitlines()[0], (cold.stderr, warm.stderr)
    assert cold.stdout.startswith("43 ")  # the 43 projects, the same KPIs both times
    assert "tracker.measure.kinds.count" in cold.stdout  # parsing a file runs every kind's checks
    assert warm.stdout.strip().splitlines()[-1] == "LOADED []"


def test_a_current_database_is_not_migrated_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.db import migrate
    from tracker.db.connection import dispose_engines, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert not migrate.is_current(engine)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    import alembic.command

    def no_alembic(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("Alembic ran on a current database")

    monkeypatch.setattr(alembic.command, "upgrade", no_alembic)
    migrate.upgrade(engine)
    # a schema one revision behind (as after an upgrade of tracker) is migrated
    with engine.begin() as c:
        from sqlalchemy import text

        c.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    assert not migrate.is_current(engine)
    engine.dispose()
    dispose_engines()
