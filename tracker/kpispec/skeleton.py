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


def skeleton(code: str) -> dict[str, Any]:
    rt = release_tables()
    p: ReleaseProject | None = rt.projects.get(code)
    if p is None:
        raise TrackerError(f"发布表中没有项目 {code}")
    assert p.period is not None
    return {
        "spec_version": 1,
        "project": {
            "code": code,
            "name": p.name,
            "category": p.category,
            "funding": {"amount_wan": p.funding_wan},
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
