"""The documents stay true to the code (in the manner of sqlite-utils' documentation tests):

- every command of ``tracker`` and every one of its options is named in README.md or docs/;
- every KPI kind has its row in docs/spec-format.md;
- every function docs/architecture.md names (a code span ``name(params) -> …``) exists, and takes
  the documented parameters in that order; parameters the document leaves out must have defaults
  (keyword arguments may be added freely).

Adding a command, an option, a kind or a documented function without its documentation fails here,
with the name of what is missing.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def _doc_text() -> str:
    return "\n".join(p.read_text("utf-8") for p in [REPO / "README.md", *sorted(DOCS.glob("*.md"))])


def _commands() -> list[tuple[str, Any]]:
    """(path, click command) for every command and group of ``tracker``, depth first."""
    import typer

    from tracker.cli import _register, app

    _register()
    root = typer.main.get_command(app)
    out: list[tuple[str, Any]] = []

    def walk(path: str, cmd: Any) -> None:
        out.append((path, cmd))
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(None):  # type: ignore[arg-type]
                sub = cmd.get_command(None, name)  # type: ignore[arg-type]
                if sub is not None and not getattr(sub, "hidden", False):
                    walk(f"{path} {name}", sub)

    walk("tracker", root)
    return out


COMMANDS = _commands()


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_and_option_is_documented(path: str, cmd: Any) -> None:
    text = _doc_text()
    words = path.split()
    if len(words) >= 3 and words[1] == "log":  # ``tracker log <kind>``: the kinds are documented as record kinds
        assert "tracker log" in text and words[2] in text, path
    elif len(words) > 1:
        # a command is named as ``tracker a b`` or in a ``tracker a b|c`` list
        head, last = " ".join(words[:-1]), words[-1]
        pattern = rf"{re.escape(head)} (?:[\w-]+\|)*{re.escape(last)}(?![\w-])"
        assert re.search(pattern, text), f"{path} 未在 README.md 或 docs/ 中出现"
    missing = [opt for p in cmd.params for opt in getattr(p, "opts", [])
               if opt.startswith("--") and opt != "--help" and opt not in text]
    assert not missing, f"{path} 的选项未写入文档：{missing}"


def test_every_kpi_kind_has_a_row_in_spec_format() -> None:
    from tracker.kpispec.model import Kind

    text = (DOCS / "spec-format.md").read_text("utf-8")
    missing = [k.value for k in Kind if not re.search(rf"^\|\s*`{k.value}`", text, re.M)]
    assert not missing, f"docs/spec-format.md 缺少这些指标类型的行：{missing}"


# ------------------------------------------------------------------ signatures in docs/architecture.md

_SPAN = re.compile(r"`([^`\n]+)`")
_CALL = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\((.*)\)(?:\s*->\s*.+)?$")
_HEADING = re.compile(r"^#{2,4} .*?`(tracker(?:\.\w+)*)`")


def _split_params(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _documented() -> list[tuple[int, str, str, list[str]]]:
    """(line, module, dotted name, parameter texts) of every signature in docs/architecture.md."""
    out = []
    module = line_module = "tracker"
    for n, line in enumerate((DOCS / "architecture.md").read_text("utf-8").splitlines(), 1):
        h = _HEADING.match(line)
        if h:
            module = line_module = h[1]
            continue
        if not line.startswith((" ", "\t")):  # a new bullet or paragraph; continuation lines keep theirs
            line_module = module
        for span in _SPAN.findall(line):
            if re.fullmatch(r"tracker(?:\.\w+)+", span):
                line_module = span  # "`tracker.records.privacy`: `hash_id(s) -> str`"
                continue
            m = _CALL.match(span)
            if not m or m[1].startswith("tracker ") or " " in m[1]:
                continue
            name = m[1]
            if name.startswith("tracker."):
                out.append((n, "", name, _split_params(m[2])))
            else:
                out.append((n, line_module, name, _split_params(m[2])))
    return out


def _resolve(module: str, name: str) -> Any:
    """The object ``name`` names, relative to ``module`` (or absolute when ``module`` is empty)."""
    parts = name.split(".")
    if not module:
        for i in range(len(parts) - 1, 0, -1):
            try:
                obj: Any = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for p in parts[i:]:
                obj = getattr(obj, p)
            return obj
        raise ImportError(name)
    obj = importlib.import_module(module)
    for p in parts:
        obj = getattr(obj, p)
    return obj


DOCUMENTED = _documented()


def test_architecture_names_functions() -> None:
    names = {name for _, _, name, _ in DOCUMENTED}
    assert len(DOCUMENTED) >= 30 and {"open_workspace", "progress", "render_all", "tick"} <= names


@pytest.mark.parametrize("line,module,name,params", DOCUMENTED,
                         ids=[f"{n}:{name}" for n, _, name, _ in DOCUMENTED])
def test_every_documented_function_exists_with_that_signature(line: int, module: str, name: str,
                                                              params: list[str]) -> None:
    where = f"docs/architecture.md:{line} `{name}`"
    try:
        obj = _resolve(module, name)
    except (ImportError, AttributeError) as e:
        pytest.fail(f"{where}: 不存在（在 {module or '绝对路径'} 中）：{e}")
    sig = inspect.signature(obj)
    real = [p for p in sig.parameters.values() if p.name != "self"]
    doc_names = [re.split(r"[:=]", p, maxsplit=1)[0].strip() for p in params]
    star = "*" in doc_names
    doc_names = [d for d in doc_names if d not in ("*", "**kwargs") and not d.startswith("**")]
    by_name = {p.name: p for p in real}
    unknown = [d for d in doc_names if d not in by_name]
    accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in real)
    assert not unknown or accepts_kwargs, f"{where}: 没有这些参数：{unknown}（实际为 {sig}）"
    positional = [p.name for p in real if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    doc_positional = [d for d in doc_names if d in positional]
    assert doc_positional == [p for p in positional if p in doc_positional], f"{where}: 参数顺序与实际 {sig} 不同"
    assert doc_positional == positional[:len(doc_positional)], f"{where}: 文档漏写了前面的参数（实际为 {sig}）"
    if star:
        kwonly = {p.name for p in real if p.kind is p.KEYWORD_ONLY}
        after_star = doc_names[[re.split(r"[:=]", p, maxsplit=1)[0].strip() for p in params].index("*"):]
        assert set(after_star) <= kwonly, f"{where}: * 之后的参数在实际中不是仅限关键字（实际为 {sig}）"
    for p in real:
        if p.name not in doc_names and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            assert p.default is not p.empty, f"{where}: 必填参数 {p.name} 未写入文档（实际为 {sig}）"
