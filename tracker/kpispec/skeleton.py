"""Write a new spec's skeleton from the release table: metadata and every clause verbatim.

The KPIs are left for a person to write (each clause gets a ``manual`` placeholder)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tracker.errors import TrackerError
from tracker.kpispec.release_table import ReleaseProject, release_tables

DISTRICTS = ("上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区", "临安区",
             "桐庐县", "淳安县", "建德市", "西湖风景名胜区")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def area_list(text: str) -> list[str]:
    found = [d for d in DISTRICTS if d in text]
    if "桐庐区" in text and "桐庐县" not in found:
        found.append("桐庐县")
    return found or [re.sub(r"\s+", "", text)]


def find_in_tables(code: str) -> ReleaseProject | None:
    """The project of this code in the release tables of a known programme (the 2024 table first)."""
    from tracker.kpispec.programme import known_programmes
    from tracker.kpispec.release_table import programme_tables

    p = release_tables().projects.get(code)
    if p is not None:
        return p
    for prog in known_programmes():
        tables = programme_tables(prog) if prog.matches(code) else None
        if tables and code in tables.projects:
            return tables.projects[code]
    return None


def skeleton(code: str) -> dict[str, Any]:
    p = find_in_tables(code)
    if p is None:
        raise TrackerError(f"发布表中没有项目 {code}")
    if p.period is None:
        raise TrackerError(f"发布表中 {code} 的项目周期“{p.period_text}”无法识别，请用 tracker spec draft 起草后手工填写")
    return {
        "spec_version": 1,
        "project": {
            "code": code,
            "name": p.name,
            "category": p.category,
            "funding": {"amount_wan": p.funding_wan} if p.funding_wan is not None else {"basis": "unknown"},
            "area": area_list(p.area_text),
            "period": {"start": p.period[0], "end": p.period[1]},
            "target_groups": p.target_groups,
            "service_scale": p.service_scale,
        },
        "activity_types": [],
        "clauses": [
            {"clause": c.number, "text": c.text,
             "kpis": [{"key": "todo", "kind": "manual", "label": "待拆分", "unit": "项"}]}
            for c in p.clauses
        ],
    }


def skeleton_yaml(code: str) -> str:
    return yaml.dump(skeleton(code), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)


def outside_table_yaml(code: str, clauses_text: str | None) -> str:
    """A draft for a project in no release table: metadata to fill in, clauses from the pasted text."""
    from tracker.kpispec.draft import draft_spec, draft_yaml
    from tracker.kpispec.programme import known_programmes
    from tracker.kpispec.release_generic import Line, split_numbered

    progs = [p for p in known_programmes() if p.matches(code)]
    prog = progs[0] if len(progs) == 1 else None
    notes = ["项目不在任何发布表中：name、category、funding、area、period 为占位内容，请照合同填写"]
    clauses = []
    if clauses_text and clauses_text.strip():
        lines = [Line(t, i) for i, t in enumerate(clauses_text.split("\n"), 1)]
        clauses, problems = split_numbered(lines)
        notes += problems
    import datetime as dt

    from tracker import clock

    today = clock.today()
    project = ReleaseProject(
        code=code, name="待填写项目名称", category_text="", header_name=None, header_funding_wan=None,
        funding_wan=None, summary="", target_groups="", service_scale="", area_text="", period_text="",
        period=(today.replace(day=1), dt.date(today.year + 1, today.month, 1) - dt.timedelta(days=1)),
        eligibility="", clauses=clauses, line=0,
        category_label=(prog.category_labels()[0] if prog else "待填写类别"),
    )
    if not clauses:
        notes.append("没有给出条款原文：clauses 中的第1条为占位，请把合同中的产出条款逐条填入")
    return draft_yaml(draft_spec(project, prog), notes)
