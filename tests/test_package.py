"""A real package: templates, CSS, the scoring scheme, the release table and the migrations are
package data, so a non-editable install renders reports from any directory; a deployment's own copy
of a file in ``reports/`` is used instead of the shipped one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tracker.errors import TrackerError
from tracker.reports.common import ASSETS, asset, jinja_env, templates_dir
from tracker.reports.scoring import load_scheme, scoring_path

REPO = Path(__file__).resolve().parent.parent


def test_shipped_files_are_inside_the_package() -> None:
    import tracker
    from tracker import config

    package = Path(tracker.__file__).resolve().parent
    for name in ("project.html.j2", "portfolio.html.j2", "report.css", "scoring.yaml"):
        assert (ASSETS / name).is_file() and ASSETS.is_relative_to(package), name
    assert config.release_table_path().is_file() and config.release_table_path().is_relative_to(package)


def test_the_bureaus_copy_in_reports_wins_file_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_REPORTS", raising=False)
    monkeypatch.delenv("TRACKER_SCORING", raising=False)
    monkeypatch.chdir(tmp_path)
    assert scoring_path() == ASSETS / "scoring.yaml"  # no reports/ here: the shipped scheme
    own = tmp_path / "reports"
    own.mkdir()
    (own / "scoring.yaml").write_text("use: nope\nschemes: {}\n", "utf-8")
    assert scoring_path().resolve() == (own / "scoring.yaml").resolve()
    with pytest.raises(TrackerError):  # the bureau's copy is the one read: its error is reported
        load_scheme()
    (own / "report.css").write_text("body { color: red; }", "utf-8")
    assert templates_dir().resolve() == own.resolve()  # the stylesheet the PDF links to
    assert asset("project.html.j2") == ASSETS / "project.html.j2"  # not copied: the shipped one
    assert jinja_env().get_template("project.html.j2") is not None
    (own / "portfolio.html.j2").write_text("<html><head></head><body>自定义 {{ 1 + 1 }}</body></html>", "utf-8")
    assert jinja_env().get_template("portfolio.html.j2").render().endswith("自定义 2</body></html>")
    monkeypatch.setenv("TRACKER_REPORTS", str(tmp_path / "elsewhere"))
    assert scoring_path() == ASSETS / "scoring.yaml"  # TRACKER_REPORTS names the override directory


def _source_copy(dest: Path) -> Path:
    """The files a build reads (pyproject, README, the package), copied without caches, so a stale
    ``build/`` or ``*.egg-info`` in the checkout cannot leak into the wheel."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "tracker", dest / "tracker", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def test_a_non_editable_install_renders_reports_from_another_directory(tmp_path: Path) -> None:
    """Build a wheel of this checkout offline (no build isolation, no index: the test environment's
    setuptools), install it (not editable, no dependencies) into a fresh virtual environment whose
    dependencies come from the test environment's site-packages, and run ``tracker demo --out`` from
    an unrelated directory: the reports come out."""
    import setuptools

    assert tuple(int(x) for x in setuptools.__version__.split(".")[:2]) >= (70, 1), \
        "setuptools >= 70.1 builds wheels by itself: run make setup (pyproject's dev extras)"
    src = _source_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    quiet = {"check": True, "timeout": 300, "capture_output": True, "text": True}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(dist), str(src)], **quiet)
    wheel = next(dist.glob("tracker-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for data in ("tracker/reports/assets/project.html.j2", "tracker/reports/assets/portfolio.html.j2",
                 "tracker/reports/assets/report.css", "tracker/reports/assets/scoring.yaml",
                 "tracker/kpispec/release_tables/2024-hangzhou.txt", "tracker/db/migrations/env.py",
                 "tracker/db/migrations/script.py.mako", "tracker/db/migrations/versions/0001_initial_schema.py",
                 "tracker/web/templates/base.html", "tracker/web/static/style.css"):
        assert data in names, data
    # every file of the package that is not Python source ships too (a new data file needs its
    # pattern in pyproject's package-data)
    for f in sorted((src / "tracker").rglob("*")):
        if f.is_file() and f.suffix not in (".py", ".pyc"):
            assert f.relative_to(src).as_posix() in names, f"{f.relative_to(src)} 不在 wheel 中：请加入 package-data"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], **quiet)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          **quiet).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], **quiet)
    # the dependencies from the test environment (its .pth files are not read from a plain path entry,
    # so its editable tracker stays out of the way)
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", "utf-8")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "PYTHON"))}
    env.update(TRACKER_SPECS=str(REPO / "kpi_specs"), TRACKER_DATA=str(work / "data"),
               TRACKER_CACHE=str(work / "cache"), TRACKER_ID_KEY="test-key-not-secret")
    where = subprocess.run([str(py), "-c", "import tracker; print(tracker.__file__)"], cwd=work, env=env,
                           **quiet).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout
    out = work / "out"
    r = subprocess.run([str(venv / "bin" / "tracker"), "demo", "--out", str(out), "--projects", "2024B004E"],
                       cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("2024B004E-midterm.html", "2024B004E-midterm.pdf", "portfolio-midterm.xlsx",
                 "portfolio-midterm.pdf", "progress.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 1000, name
    html = (out / "2024B004E-midterm.html").read_text("utf-8")
    assert "农村困难老人探访项目" in html and "中期" in html
    assert (work / "data" / "demo.db").is_file()  # the database went into the data directory, migrated
    text = subprocess.run(["pdftotext", str(out / "2024B004E-midterm.pdf"), "-"], **quiet).stdout
    assert "2024B004E" in text
