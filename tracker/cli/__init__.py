"""The ``tracker`` command line: a thin shell over the library.

Each command group lives in its own module and registers itself on ``app``. Errors meant for people
(``TrackerError``) print in Chinese on stderr with exit status 1; usage errors exit with 2. Any
other exception is said in Chinese too (``tracker.failures``; what is not recognised leaves its
traceback in a log file, not on the terminal); Ctrl-C exits 130 and SIGTERM 143, after the rollback.
"""

from __future__ import annotations

import contextlib
import sys

import typer

from tracker.errors import TrackerError

app = typer.Typer(
    name="tracker",
    help="公益创投项目基本产出（KPI）跟踪：规格校验、记录导入、进度计算、中期/终期报告。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


def _register() -> None:
    """Each command group registers itself on ``app`` when imported."""
    from tracker.cli import demo, evaluation, ledger, progress, records, report, schedule, spec, web  # noqa: F401


def main() -> None:
    from tracker.failures import install_signal_handlers

    install_signal_handlers()
    _quiet_pool()
    try:
        _register()
        # Outside standalone mode click returns the code of a ``typer.Exit`` instead of raising it.
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except TrackerError as e:
        typer.echo(f"错误：{e.message}", err=True)
        sys.exit(e.exit_code)
    except typer.Abort:
        typer.echo("已取消。", err=True)
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.TyperException as e:  # click usage errors: say them in Chinese, exit 2
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        if type(e).__name__ == "NoArgsIsHelpError":  # a bare group: its help is the message
            typer.echo(message, err=True)
        else:
            typer.echo(f"用法错误：{_usage_in_chinese(message, e)}\n运行 tracker --help 或 tracker <命令> --help 查看用法。",
                       err=True)
        sys.exit(getattr(e, "exit_code", 2))
    except SystemExit:
        raise
    except BaseException as e:  # the safety net: never a traceback on the terminal
        _unexpected(e)


def _quiet_pool() -> None:
    """SQLAlchemy's pool logs a failed reset (a connection cut by a signal mid-statement) with a
    traceback on stderr; the server rolls back on its own and the person gets the Chinese message."""
    import logging

    pool = logging.getLogger("sqlalchemy.pool")
    pool.addHandler(logging.NullHandler())
    pool.propagate = False


def _unexpected(e: BaseException) -> None:
    from tracker.failures import explain, interruption, unexpected_message

    stop = interruption(e)
    if stop is not None:
        e = stop
    code = stop.exit_code if stop is not None else 1
    try:
        message = explain(e)
    except Exception:
        message = None
    with contextlib.suppress(Exception):
        typer.echo(f"错误：{message or unexpected_message(e)}", err=True)
    sys.exit(code)


_USAGE_PATTERNS = (
    (r"No such option: (\S+)(?: Did you mean (\S+)\?)?", lambda m: f"没有选项 {m[1]}" + (f"（是否想写 {m[2]}？）" if m[2] else "")),
    (r"No such command '([^']+)'\.", lambda m: f"没有命令 “{m[1]}”"),
    (r"Missing option '([^']+)'.*", lambda m: f"缺少选项 {m[1]}"),
    (r"Missing argument '([^']+)'.*", lambda m: f"缺少参数 {m[1]}"),
    (r"Invalid value for '([^']+)': (.*)", lambda m: f"参数 {m[1]} 的值无效：{m[2]}"),
    (r"Got unexpected extra arguments? \((.*)\)", lambda m: f"多余的参数：{m[1]}"),
    (r"Option '([^']+)' requires an argument\.", lambda m: f"选项 {m[1]} 需要一个值"),
)


def _usage_in_chinese(message: str, e: BaseException | None = None) -> str:
    """Click's usage message in Chinese; a mistyped option or command names the closest one."""
    import re

    from tracker.text import did_you_mean

    ctx = getattr(e, "ctx", None)
    name = getattr(e, "option_name", None)
    if name and ctx is not None and type(e).__name__ == "NoSuchOption":
        opts = [o for p in ctx.command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]
        return f"没有选项 {name}{did_you_mean(name, opts)}；可用的选项：{'、'.join(opts)}"
    m = re.match(r"No such command '([^']+)'\.", message.strip())
    if m and ctx is not None and hasattr(ctx.command, "list_commands"):
        return f"没有命令 “{m[1]}”{did_you_mean(m[1], ctx.command.list_commands(ctx))}"
    for pattern, render in _USAGE_PATTERNS:
        m = re.match(pattern, message.strip(), re.S)
        if m:
            return render(m)
    return message
