"""Compiled statements are remembered per (spec, as-of, known-on) and never change a figure: the
same objects come back for the same key, other dates or a changed spec file are compiled afresh, and
the figures after writes are those of a fresh compile."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from fixtures.engine.factory import CODE, SPECS, add, d, person, workspace

from tracker.measure import compile as comp
from tracker.measure.progress import compute_progress
from tracker.workspace import open_workspace


def figures(ws, as_of: dt.date) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {k.key: (k.actual, k.violations, k.status) for k in compute_progress(ws, CODE, as_of).kpis}


def test_the_same_key_gives_the_same_statements_and_others_are_compiled_afresh(db_url: str) -> None:
    ws = workspace(db_url)
    spec = ws.spec(CODE)
    a = comp.compile_project(comp.Ctx(spec, d("2024-12-31")))
    assert comp.compile_project(comp.Ctx(spec, d("2024-12-31"))) is a
    other = comp.compile_project(comp.Ctx(spec, d("2024-11-30")))
    assert other is not a and other[0][0] is not a[0][0]
    known = comp.compile_project(comp.Ctx(spec, d("2024-12-31"), dt.datetime(2024, 10, 1, tzinfo=dt.UTC)))
    assert known is not a


def test_figures_after_writes_equal_a_fresh_compile(db_url: str) -> None:
    ws = workspace(db_url)
    person(ws, "P1")
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2024-07-01"))
    first = figures(ws, d("2024-12-31"))
    assert first["visits_total"][0] == 1
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2024-08-01"))
    add(ws, "activity", activity_type="lecture", participants=60, date=d("2024-08-02"))
    remembered = figures(ws, d("2024-12-31"))
    comp._COMPILED.clear()
    assert figures(ws, d("2024-12-31")) == remembered
    assert remembered["visits_total"][0] == 2 and remembered["big_lectures"][:2] == (1, 0)


def test_a_changed_spec_file_is_compiled_afresh(db_url: str, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    ws = open_workspace(db_url, specs)
    person(ws, "P1")
    for day in ("2024-07-01", "2024-08-01", "2024-09-01"):
        add(ws, "activity", activity_type="visit", person_id="P1", date=d(day))
    before = compute_progress(ws, CODE, d("2024-12-31"))
    target = next(k.target for k in before.kpis if k.key == "visits_total")
    path = next(p for p in specs.glob("*.yaml") if f"code: {CODE}" in p.read_text("utf-8"))
    text = path.read_text("utf-8")
    assert text.count("key: visits_total") == 1
    head, tail = text.split("key: visits_total", 1)
    old = f"target: {int(target)}"
    assert old in tail.split("\n")[0], tail.split("\n")[0]
    path.write_text(head + "key: visits_total" + tail.replace(old, "target: 3", 1), "utf-8")
    after = compute_progress(open_workspace(db_url, specs), CODE, d("2024-12-31"))  # the file read again
    k = next(k for k in after.kpis if k.key == "visits_total")
    assert (k.target, k.actual, k.status) == (3, 3, "met")
