"""Load and validate KPI specs. Every error names file, line and field, in Chinese.

A spec with any error never loads halfway: ``load_specs`` raises ``SpecError`` carrying every problem
of the run, and returns nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tracker import limits
from tracker.errors import TrackerError
from tracker.kpispec.model import KPI, Source, Spec
from tracker.text import did_you_mean


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}  [{self.field}]  {self.message}" if self.field else f"{where}  {self.message}"


class SpecError(TrackerError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = f"规格文件有 {len(problems)} 处错误，未加载任何规格："
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))


# ------------------------------------------------------------------ YAML with line numbers


class _LineDict(dict):
    """A mapping that remembers the line of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _LineList(list):
    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    own = [k for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
    loader.flatten_mapping(node)  # merged keys (<<: *anchor) come first; own keys override them
    d = _LineDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    seen_own: set[object] = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key_node in own:
            if key in seen_own:
                raise yaml.MarkedYAMLError(problem=f"重复的键 “{key}”", problem_mark=key_node.start_mark)
            seen_own.add(key)
        d[key] = loader.construct_object(value_node, deep=True)
        d.key_lines[str(key)] = key_node.start_mark.line + 1
    return d


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    lst = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    lst.line = node.start_mark.line + 1
    lst.item_lines = [child.start_mark.line + 1 for child in node.value]
    return lst


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> object:
    """Dates that are not real dates (2024-13-01) stay text, so validation can name them."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_FastLoader = type("_FastLoader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
for _cls in (_Loader, _FastLoader):
    _cls.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _line_of(raw: Any, loc: Iterable[Any]) -> int | None:
    """The line of the deepest node on the path ``loc`` that exists in the raw YAML."""
    node, line = raw, getattr(raw, "line", None)
    for part in loc:
        if isinstance(node, _LineDict) and isinstance(part, str) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, _LineList) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


# ------------------------------------------------------------------ pydantic errors in Chinese

_FIELD_NAMES_CACHE: dict[type, set[str]] = {}


def _fields_of(model: type) -> set[str]:
    if model not in _FIELD_NAMES_CACHE:
        _FIELD_NAMES_CACHE[model] = set(getattr(model, "model_fields", {}))
    return _FIELD_NAMES_CACHE[model]


def _all_field_names() -> set[str]:
    from tracker.kpispec import model as m

    names: set[str] = set()
    for cls in (m.Spec, m.Project, m.Funding, m.Period, m.ActivityType, m.Population, m.Vocab, m.Bound,
                m.Where, m.Milestone, m.Pacing, m.NotTarget, m.KPI, m.Clause, m.BudgetLine):
        names |= _fields_of(cls)
    return names


def _chinese(err: dict[str, Any]) -> str:
    t = err["type"]
    ctx = err.get("ctx") or {}
    inp = err.get("input")
    if t == "missing":
        return "缺少必填字段"
    if t == "extra_forbidden":
        return f"未知字段{did_you_mean(err['loc'][-1], _all_field_names())}"
    if t in ("enum", "literal_error"):
        expected = ctx.get("expected", "")
        choices = [c.strip().strip("'\"") for c in str(expected).replace(" or ", ",").split(",")]
        return f"取值 “{inp}” 无效，应为 {expected}{did_you_mean(inp, choices)}"
    if t in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return f"应为数字，实际为 “{inp}”"
    if t in ("date_from_datetime_parsing", "date_parsing", "date_type", "date_from_datetime_inexact"):
        return f"日期格式错误：“{inp}”，应为 YYYY-MM-DD"
    if t == "string_pattern_mismatch":
        return f"格式不符：“{inp}”，应匹配 {ctx.get('pattern')}"
    if t in ("string_type",):
        return f"应为文本，实际为 “{inp}”"
    if t in ("list_type",):
        return "应为列表（YAML 中以 - 开头的若干项）"
    if t in ("model_type", "dict_type", "model_attributes_type"):
        return "应为映射（键: 值）"
    if t == "too_short":
        return "至少需要一项"
    if t in ("greater_than", "greater_than_equal", "less_than_equal", "less_than"):
        return f"数值超出范围：{inp}（{t.replace('_', ' ')} {next(iter(ctx.values()), '')}）"
    if t == "value_error":
        return str(ctx.get("error", err.get("msg", "")))
    if t == "string_too_short":
        return "文本过短或为空"
    if t == "bool_parsing":
        return f"应为 true/false，实际为 “{inp}”"
    return f"{err.get('msg', t)}"


def _field_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after[_kind_needs(), KPI]",) or str(part).startswith("function-"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


# ------------------------------------------------------------------ semantic (cross-reference) checks


def _semantic_problems(spec: Spec, raw: Any, file: str) -> list[Problem]:
    problems: list[Problem] = []

    def add(loc: list[Any], msg: str) -> None:
        problems.append(Problem(file, _line_of(raw, loc), _field_path(loc), msg))

    def check_unique(items: list[Any], attr: str, loc: list[Any], what: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            v = getattr(item, attr)
            if v in seen:
                add([*loc, i, attr], f"{what} “{v}” 重复")
            seen.add(v)

    check_unique(spec.activity_types, "key", ["activity_types"], "活动类型")
    check_unique(spec.populations, "key", ["populations"], "人群")
    check_unique(spec.deliverable_types, "key", ["deliverable_types"], "成果类型")
    check_unique(spec.clauses, "clause", ["clauses"], "条款号")

    acts = {t.key for t in spec.activity_types}
    pops = {p.key for p in spec.populations}
    dels = {d.key for d in spec.deliverable_types}
    resp = {r.key for r in spec.respondent_types}
    inst = {i.key for i in spec.instruments}
    incs = {i.key for i in spec.incident_types}
    creds = {c.key for c in spec.credentials}

    for i, t in enumerate(spec.activity_types):
        if t.population and t.population not in pops:
            add(["activity_types", i, "population"],
                f"未声明的人群 “{t.population}”{did_you_mean(t.population, pops)}")

    ids: set[str] = set()
    for ci, clause in enumerate(spec.clauses):
        for ki, kpi in enumerate(clause.kpis):
            loc: list[Any] = ["clauses", ci, "kpis", ki]
            kid = spec.kpi_id(clause, kpi)
            if kid in ids:
                add([*loc, "key"], f"指标 id “{kid}” 重复")
            ids.add(kid)
            for old in kpi.renamed_from:
                if old in (kpi.key, kid, f"{clause.clause}.{kpi.key}"):
                    add([*loc, "renamed_from"], f"renamed_from “{old}” 就是本指标自己")
            if kpi.excerpt and _squash(kpi.excerpt) not in _squash(clause.text):
                add([*loc, "excerpt"], "excerpt 必须是本条款原文的片段")
            _check_refs(kpi, loc, add, acts, pops, dels, resp, inst, incs, creds)
    from tracker.kpispec.history import renames

    for old, new in renames(spec).items():
        if old in ids:
            add(["clauses"], f"指标 {new} 的 renamed_from 指向现存的指标 {old}：改名前的编号不能仍在使用")
    return problems


def _squash(s: str) -> str:
    return "".join(s.split())


def _check_refs(kpi: KPI, loc: list[Any], add: Any, acts: set[str], pops: set[str], dels: set[str],
                resp: set[str], inst: set[str], incs: set[str], creds: set[str]) -> None:
    w = kpi.where
    type_vocab, type_name = (dels, "成果类型") if kpi.source is Source.deliverable else (acts, "活动类型")
    for j, t in enumerate(w.types or []):
        if t not in type_vocab:
            add([*loc, "where", "types", j], f"项目未声明的{type_name} “{t}”{did_you_mean(t, type_vocab)}")
    for j, t in enumerate(kpi.members_served_by or []):
        if t not in acts:
            add([*loc, "members_served_by", j], f"项目未声明的活动类型 “{t}”{did_you_mean(t, acts)}")
    if w.population and w.population not in pops:
        add([*loc, "where", "population"], f"项目未声明的人群 “{w.population}”{did_you_mean(w.population, pops)}")
    for j, r in enumerate(w.respondent_types or []):
        if r not in resp:
            add([*loc, "where", "respondent_types", j], f"未声明的调查对象类型 “{r}”{did_you_mean(r, resp)}")
    if w.instrument and w.instrument not in inst:
        add([*loc, "where", "instrument"], f"未声明的评估工具 “{w.instrument}”{did_you_mean(w.instrument, inst)}")
    for j, r in enumerate(kpi.incident_types or []):
        if r not in incs:
            add([*loc, "incident_types", j], f"未声明的事件类型 “{r}”{did_you_mean(r, incs)}")
    if kpi.credential and kpi.credential not in creds:
        add([*loc, "credential"], f"未声明的资质 “{kpi.credential}”{did_you_mean(kpi.credential, creds)}")
    from tracker.measure.kinds import kind_of

    for field_name, msg in kind_of(kpi.kind).spec_checks(kpi):
        add([*loc, field_name], msg)


# ------------------------------------------------------------------ public API


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    path: Path
    sha256: str  # fingerprint of the file's bytes: the spec version shown in reports


class _TooBig(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _load_bounded(text: str, file: str) -> Any:
    """``yaml.load`` with the document's size checked between composing and constructing: aliases
    expanded (an "alias bomb" of a few lines expands to billions of nodes) and nesting depth, each
    node counted once with its expanded size remembered, so the check itself is linear."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        top, deepest = limits.limit("TRACKER_MAX_SPEC_NODES"), limits.limit("TRACKER_MAX_SPEC_DEPTH")
        sizes: dict[int, int] = {}
        depths: dict[int, int] = {}
        # iterative post-order walk (a deep document must not exhaust Python's stack)
        stack: list[tuple[yaml.Node, bool]] = [(node, False)]
        while stack:
            n, done = stack.pop()
            if id(n) in sizes:
                continue
            kids: list[yaml.Node] = []
            if isinstance(n, yaml.MappingNode):
                kids = [x for pair in n.value for x in pair]
            elif isinstance(n, yaml.SequenceNode):
                kids = list(n.value)
            if not done:
                if len(stack) > deepest * 64:
                    raise _TooBig(n.start_mark.line + 1, f"规格嵌套过深（超过 {deepest} 层）：请检查缩进")
                stack.append((n, True))
                stack.extend((k, False) for k in kids if id(k) not in sizes)
                continue
            sizes[id(n)] = 1 + sum(sizes[id(k)] for k in kids)
            depths[id(n)] = 1 + max((depths[id(k)] for k in kids), default=0)
            if sizes[id(n)] > top:
                raise _TooBig(n.start_mark.line + 1, f"规格展开后超过 {top:,} 个节点（多半是层层引用的锚点 &/别名 *，"
                                                     "即“别名炸弹”）：请不要嵌套使用别名")
            if depths[id(n)] > deepest:
                raise _TooBig(n.start_mark.line + 1, f"规格嵌套过深（超过 {deepest} 层）：请检查缩进")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_spec_text(text: str, file: str = "<spec>") -> tuple[Spec | None, list[Problem]]:
    """Parse one spec's YAML text. Returns the spec, or None and every problem found."""
    spec, _raw, problems = _parse(text, file)
    return spec, problems


def _yaml(text: str, file: str = "<spec>") -> Any:
    """The YAML document with line numbers, refused when it expands past the limits (alias bombs,
    nesting); raises ``_TooBig`` or a ``yaml.YAMLError``."""
    return _load_bounded(text, file)


def _parse(text: str, file: str) -> tuple[Spec | None, Any, list[Problem]]:
    if len(text) > limits.limit("TRACKER_MAX_SPEC_KB") << 10:
        return None, None, [Problem(file, None, "", f"规格文件超过 {limits.limit('TRACKER_MAX_SPEC_KB')} KB 的上限：请检查文件内容")]
    try:
        raw = _yaml(text, file)
    except _TooBig as e:
        return None, None, [Problem(file, e.line, "", e.message)]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark else None
        return None, None, [Problem(file, line, "", f"YAML 语法错误：{e.problem or e}")]
    except yaml.YAMLError as e:
        return None, None, [Problem(file, None, "", f"YAML 语法错误：{e}")]
    if not isinstance(raw, dict):
        return None, raw, [Problem(file, 1, "", "规格文件应为一个映射（project、activity_types、clauses …）")]
    places = _place_problems(raw, file)  # aliases written to their canonical names first
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as e:
        problems = [
            Problem(file, _line_of(raw, err["loc"]), _field_path(err["loc"]), _chinese(err))
            for err in e.errors()
        ]
        return None, raw, problems + places
    problems = _semantic_problems(spec, raw, file) + places
    return (None, raw, problems) if problems else (spec, raw, [])


def _place_problems(raw: Any, file: str) -> list[Problem]:
    """Town and district names of the KPIs (``where.towns``, ``where.districts``, and ``members``
    of a set covered by town or district) checked against the project's area in the gazetteer
    (``tracker.records.gazetteer``): an alias or spelling variant (乾潭, 梅城 镇, 建德市梅城镇) is
    replaced in ``raw`` by the canonical name (乾潭镇) before the spec is built, an unknown name is a
    problem with a suggestion. An area the gazetteer does not know is not checked."""
    from tracker.records.gazetteer import area_vocab

    project = raw.get("project") if isinstance(raw, dict) else None
    area = project.get("area") if isinstance(project, dict) else None
    if not isinstance(area, list) or not area or not all(isinstance(a, str) for a in area):
        return []
    vocab = area_vocab(tuple(area))
    if not vocab.known:
        return []
    problems: list[Problem] = []
    done: set[int] = set()  # a list shared through a YAML alias (members: *towns) is checked once

    def check(items: Any, loc: list[Any], what: str) -> None:
        if not isinstance(items, list) or id(items) in done:
            return
        done.add(id(items))
        seen: dict[str, int] = {}
        for j, v in enumerate(items):
            if not isinstance(v, str):
                continue
            name, msg = vocab.town(v) if what == "town" else vocab.district(v)
            if msg:
                problems.append(Problem(file, _line_of(raw, [*loc, j]), _field_path([*loc, j]), msg))
                continue
            if name in seen:
                problems.append(Problem(file, _line_of(raw, [*loc, j]), _field_path([*loc, j]),
                                        f"“{v}”即“{name}”，与第 {seen[name] + 1} 项重复"))
            seen[name] = j
            items[j] = name

    clauses = raw.get("clauses")
    for ci, clause in enumerate(clauses if isinstance(clauses, list) else []):
        kpis = clause.get("kpis") if isinstance(clause, dict) else None
        for ki, kpi in enumerate(kpis if isinstance(kpis, list) else []):
            if not isinstance(kpi, dict):
                continue
            loc: list[Any] = ["clauses", ci, "kpis", ki]
            where = kpi.get("where")
            if isinstance(where, dict):
                check(where.get("towns"), [*loc, "where", "towns"], "town")
                check(where.get("districts"), [*loc, "where", "districts"], "district")
            if kpi.get("field") in ("town", "district"):
                check(kpi.get("members"), [*loc, "members"], str(kpi["field"]))
    return problems


def spec_files(directory: Path) -> list[Path]:
    if directory.is_file():
        return [directory]
    from tracker.kpispec.programme import PROGRAMME_FILE

    return sorted(p for p in directory.rglob("*.yaml") if not p.name.startswith("_") and p.name != PROGRAMME_FILE)


def load_specs(directory: Path, *, release_check: bool = True) -> list[LoadedSpec]:
    """Load every spec under ``directory``; raise ``SpecError`` with all problems if any.

    A file whose bytes (and the release table's, and tracker's code) are unchanged since it last
    passed every check comes from the spec cache (``tracker.kpispec.cache``) without being parsed."""
    from tracker.kpispec import cache

    if not directory.exists():
        raise SpecError([Problem(str(directory), None, "", "规格目录或文件不存在")])
    files = spec_files(directory)
    if not files:
        raise SpecError([Problem(str(directory), None, "", "目录下没有任何 .yaml 规格文件")])
    release_sha = _context_sha256(directory, files) if release_check else None
    loaded: list[LoadedSpec] = []
    problems: list[Problem] = []
    release: list[Problem] = []
    codes: dict[str, Path] = {}
    for path in files:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        k = cache.key(sha, release_sha)
        spec = cache.get(k)
        if spec is None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(str(path), None, "", "文件不是 UTF-8 编码"))
                continue
            spec, raw, probs = _parse(text, str(path))
            problems.extend(probs)
            if spec is None:
                continue
            own: list[Problem] = []
            if release_check:
                from tracker.kpispec.release_check import release_problems

                own = release_problems(spec, path, raw=raw, roots=(directory,))
                release.extend(own)
            if not own:
                cache.put(k, spec)
        if spec.code in codes:
            problems.append(Problem(str(path), None, "project.code",
                                    f"项目编号 {spec.code} 已在 {codes[spec.code]} 中定义"))
            continue
        codes[spec.code] = path
        loaded.append(LoadedSpec(spec, path, sha))
    # Release-table problems are reported once the specs themselves are right.
    problems = problems or release
    if problems:
        raise SpecError(problems)
    return loaded


def _context_sha256(directory: Path, files: list[Path]) -> str:
    """A fingerprint of what the release-table check reads besides a spec: the release table and any
    other file beside the specs (a programme description, a release table kept with them)."""
    from tracker.config import release_table_path

    h = hashlib.sha256()
    specs = set(files)
    others = sorted(p for p in directory.rglob("*") if p.is_file() and p not in specs) if directory.is_dir() else []
    for path in [release_table_path(), *others]:
        try:
            h.update(f"{path}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            h.update(f"{path}\0missing".encode())
    return h.hexdigest()


def load_spec(directory: Path, code: str) -> LoadedSpec:
    loaded = load_specs(directory)
    for ls in loaded:
        if ls.spec.code == code:
            return ls
    raise TrackerError(f"未找到项目 {code} 的规格{did_you_mean(code, [ls.spec.code for ls in loaded])}")
