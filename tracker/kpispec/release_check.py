"""Check a spec against its programme and the release table it was written from.

The programme (``programme.yaml``) gives the code pattern, categories and funding sources; its release
tables give clause numbers, verbatim texts, funding and period. A code that fits a programme with
release tables but is in none of them is an error with the nearest code as a suggestion (a typo in a
real code must not hide a changed target). What was checked is reported per programme
(``checks_run``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.kpispec.model import Spec, normalise_text
from tracker.kpispec.programme import Programme, programme_for
from tracker.kpispec.release_table import ReleaseProject, programme_tables

CHECK_PROGRAMME = "编号格式与项目类别"
CHECK_TABLE = "条款号与条款原文、资助金额、项目周期（对照发布表）"
CHECK_NUMBERS = "条款中每个数量都有指标或说明"


def release_project(spec: Spec, spec_file: Path, *roots: Path) -> tuple[Programme | None, ReleaseProject | None]:
    prog = programme_for(spec_file, spec.code, *roots)
    tables = programme_tables(prog) if prog else None
    return prog, (tables.projects.get(spec.code) if tables else None)


def release_problems(spec: Spec, path: Path, *, raw: Any = None, text: str | None = None,
                     roots: tuple[Path, ...] = ()) -> list[Any]:
    """Problems of ``spec`` (read from ``path``) against its programme and release table. ``raw`` is
    the parsed YAML with line numbers (or ``text``, parsed here) for the lines of the messages."""
    from tracker.kpispec.loader import Problem, _field_path, _line_of, _yaml

    if raw is None:
        raw = _yaml(text if text is not None else path.read_text("utf-8"), str(path))
    out: list[Problem] = []

    def add(loc: list[Any], msg: str) -> None:
        out.append(Problem(str(path), _line_of(raw, loc), _field_path(loc), msg))

    prog = programme_for(path, spec.code, *roots)
    if prog is None:
        return out
    p = spec.project
    if not prog.matches(p.code):
        add(["project", "code"], f"项目编号 “{p.code}” 不符合计划“{prog.title}”的编号格式 {prog.model.code_pattern}")
    labels = prog.category_labels()
    if p.category not in labels:
        close = difflib.get_close_matches(p.category, labels, n=1, cutoff=0.3)
        hint = f"（是否想写 “{close[0]}”？）" if close else ""
        add(["project", "category"], f"类别 “{p.category}” 不是计划“{prog.title}”的类别：{'、'.join(labels)}{hint}")
    elif (by_code := prog.category_of_code(p.code)) and by_code != p.category:
        add(["project", "category"], f"项目编号 {p.code} 属于“{by_code}”，规格写的是“{p.category}”")
    tables = programme_tables(prog)
    if tables is None:
        return out
    table = tables.projects.get(spec.code)
    if table is None:
        close = difflib.get_close_matches(spec.code, list(tables.projects), n=1, cutoff=0.6)
        hint = f"是否想写 “{close[0]}”？" if close else "请核对编号"
        add(["project", "code"], f"项目编号 {spec.code} 不在计划“{prog.title}”的发布表中（{hint}）")
        return out

    numbers = {c.number for c in table.clauses}
    for i, clause in enumerate(spec.clauses):
        if clause.correction:  # from a correction notice, not the table
            continue
        rc = table.clause(clause.clause)
        if rc is None:
            add(["clauses", i, "clause"],
                f"发布表中 {spec.code} 没有第{clause.label}条（共有：{', '.join(map(str, _sorted(numbers)))}）")
        elif normalise_text(rc.text) != normalise_text(clause.text):
            add(["clauses", i, "text"], f"与发布表第{clause.label}条原文不一致；原文为：{rc.text}")
    covered = {c.clause for c in spec.clauses}
    for n in _sorted(numbers - covered):
        add(["clauses"], f"发布表第{n}条没有对应的指标（每一条基本产出都须至少有一个指标）")
    if table.funding_wan is not None and p.funding.amount_wan is not None \
            and abs(p.funding.amount_wan - table.funding_wan) > 1e-9:
        add(["project", "funding", "amount_wan"], f"资助金额与发布表（{table.funding_wan:g} 万元）不一致")
    elif table.funding_wan is not None and p.funding.amount_wan is None:
        add(["project", "funding", "amount_wan"], f"发布表写明资助金额 {table.funding_wan:g} 万元，规格未填写")
    if table.period and (p.period.start, p.period.end) != table.period:
        add(["project", "period"], f"项目周期与发布表（{table.period[0]} 至 {table.period[1]}）不一致")
    return out


def _sorted(numbers: set[int | str]) -> list[int | str]:
    return sorted(numbers, key=lambda n: [int(x) for x in str(n).split(".")])


@dataclass
class ProgrammeReport:
    """What ``spec validate`` checked for the specs of one programme (or of none)."""

    title: str  # issuer and title; empty for specs of no programme
    directory: str
    codes: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def checks_run(loaded: list[Any], *roots: Path) -> list[ProgrammeReport]:
    """Per programme: the specs validated and the checks that ran on them."""
    reports: dict[str, ProgrammeReport] = {}
    for ls in loaded:
        prog = programme_for(ls.path, ls.spec.code, *roots)
        key = str(prog.path) if prog else ""
        if key not in reports:
            if prog is None:
                reports[key] = ProgrammeReport("", "",
                                               skipped=[CHECK_PROGRAMME, CHECK_TABLE, CHECK_NUMBERS])
            else:
                has_table = programme_tables(prog) is not None
                reports[key] = ProgrammeReport(
                    f"{prog.model.issuer} {prog.title}", str(prog.directory),
                    checks=[CHECK_PROGRAMME, *([CHECK_TABLE, CHECK_NUMBERS] if has_table else [])],
                    skipped=[] if has_table else [CHECK_TABLE + "：计划未列出发布表", CHECK_NUMBERS])
        reports[key].codes.append(ls.spec.code)
    return list(reports.values())
