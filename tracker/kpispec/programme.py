"""A programme: one funder's call (issuer, title, code pattern, categories, funding, release tables).

A ``programme.yaml`` sits in a specs directory (``kpi_specs/2024/programme.yaml``) and applies to every
spec below it. Several programmes and years live side by side, each in its own directory. A spec
outside any programme directory belongs to the known programme whose code pattern matches its code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tracker.errors import TrackerError

PROGRAMME_FILE = "programme.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    label: str = Field(min_length=2, description="项目类别，如 为老服务类")
    letter: str | None = Field(default=None, description="项目编号中代表该类别的字母（如 2024B… 的 B）")


class FundingRules(_Strict):
    unit: Literal["万元", "元"] = "万元"
    sources: list[str] = Field(default_factory=list, description="常见资金来源（起草时参考，不限制规格）")
    basis: Literal["amount", "cap", "unknown"] = Field(
        default="cap", description="发布表写的是资助金额（amount）、最高限额（cap）还是未定（unknown）")


class ReleaseTableRef(_Strict):
    path: str = Field(description="发布表文件，相对于 programme.yaml 所在目录；该处没有时，用 tracker 自带的同名发布表")
    format: Literal["auto", "hangzhou-2024"] = Field(
        default="auto", description="hangzhou-2024：2024年杭州市发布表的 Word 导出文本；auto：按扩展名读取通用版式")


class ProgrammeModel(_Strict):
    programme_version: Literal[1] = 1
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="计划的稳定标识，如 hangzhou-2024")
    issuer: str = Field(min_length=2, description="发布单位，如 杭州市民政局")
    title: str = Field(min_length=2, description="发布表标题")
    code_pattern: str = Field(description="项目编号的正则表达式")
    categories: list[Category] = Field(min_length=1)
    funding: FundingRules = Field(default_factory=FundingRules)
    release_tables: list[ReleaseTableRef] = Field(default_factory=list)

    @field_validator("code_pattern")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"code_pattern 不是有效的正则表达式：{e}") from None
        return v


@dataclass(frozen=True)
class Programme:
    model: ProgrammeModel
    path: Path  # the programme.yaml file

    @property
    def key(self) -> str:
        return self.model.key

    @property
    def title(self) -> str:
        return self.model.title

    @property
    def directory(self) -> Path:
        return self.path.parent

    def matches(self, code: str) -> bool:
        return re.fullmatch(self.model.code_pattern, code) is not None

    def category_labels(self) -> list[str]:
        return [c.label for c in self.model.categories]

    def category_of_code(self, code: str) -> str | None:
        """The category a code names through the pattern's ``(?P<category>…)`` group, if it has one."""
        m = re.fullmatch(self.model.code_pattern, code)
        letter = m.groupdict().get("category") if m else None
        return next((c.label for c in self.model.categories if letter and c.letter == letter), None)

    def release_table_paths(self) -> list[tuple[Path, str]]:
        """Each release table with its format: the file ``path`` names (relative to this programme
        file) when it exists, else the table of the same file name shipped with tracker, else the
        named path (whose absence the release-table check reports)."""
        return [(resolve_release_table(self.directory, r.path), r.format) for r in self.model.release_tables]


def resolve_release_table(directory: Path, path: str) -> Path:
    """A programme's release-table reference as a file: ``directory / path`` when it exists, else the
    shipped table of the same name (``tracker/kpispec/release_tables/``), else ``directory / path``."""
    from tracker.config import RELEASE_TABLES_DIR

    named = (directory / path).resolve()
    if named.exists():
        return named
    shipped = RELEASE_TABLES_DIR / Path(path).name
    return shipped if shipped.is_file() else named


def read_programme(path: Path) -> Programme:
    """Read one programme file; a bad file raises ``TrackerError`` naming the field."""
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise TrackerError(f"无法读取计划文件 {path}：{e}") from None
    try:
        model = ProgrammeModel.model_validate(raw)
    except ValidationError as e:
        lines = [f"  - [{'.'.join(str(p) for p in err['loc'])}] {err['msg']}" for err in e.errors()]
        raise TrackerError(f"计划文件 {path} 有错误：\n" + "\n".join(lines)) from None
    return Programme(model, path.resolve())


@cache
def _read_cached(path: Path, mtime: float) -> Programme:
    return read_programme(path)


def programme_at(path: Path) -> Programme:
    p = path.resolve()
    return _read_cached(p, p.stat().st_mtime)


def programme_for_file(spec_file: Path) -> Programme | None:
    """The programme of the nearest ``programme.yaml`` in the spec's directory or above it."""
    d = spec_file.resolve().parent
    for folder in (d, *d.parents):
        candidate = folder / PROGRAMME_FILE
        if candidate.is_file():
            return programme_at(candidate)
    return None


def known_programmes(*roots: Path) -> list[Programme]:
    """Programme files under the given roots, the configured specs directory and the repository's."""
    from tracker.config import REPO_DIR, specs_dir

    seen: dict[Path, Programme] = {}
    for root in (*roots, specs_dir(), REPO_DIR / "kpi_specs"):
        if not root.exists():
            continue
        base = root if root.is_dir() else root.parent
        for f in sorted(base.rglob(PROGRAMME_FILE)):
            if f.resolve() not in seen:
                seen[f.resolve()] = programme_at(f)
    return list(seen.values())


def programme_for(spec_file: Path, code: str, *roots: Path) -> Programme | None:
    """The spec's programme: the nearest programme file, else the one known programme matching its code."""
    own = programme_for_file(spec_file)
    if own is not None:
        return own
    matching = [p for p in known_programmes(*roots) if p.matches(code)]
    return matching[0] if len(matching) == 1 else None


def programme_for_table(table: Path, *roots: Path) -> Programme | None:
    """The known programme that lists this release table."""
    t = table.resolve()
    for p in known_programmes(*roots):
        if any(path == t for path, _ in p.release_table_paths()):
            return p
    return None
