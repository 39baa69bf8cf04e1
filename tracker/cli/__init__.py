"""The ``tracker`` command line: a thin shell over the library.

Each command group lives in its own module and registers itself on ``app``. Errors meant for people
(``TrackerError``) print in Chinese on stderr with exit status 1; usage errors exit with 2.
"""

from __future__ import annotations

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
    import importlib

    for name in ("spec", "records", "progress", "report", "schedule", "demo"):
        try:
            importlib.import_module(f"tracker.cli.{name}")
        except ModuleNotFoundError as e:  # a command group not written yet
            if e.name != f"tracker.cli.{name}":
                raise


def main() -> None:
    _register()
    try:
        app(standalone_mode=False)
    except TrackerError as e:
        typer.echo(f"错误：{e.message}", err=True)
        sys.exit(e.exit_code)
    except typer.Abort:
        typer.echo("已取消。", err=True)
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # click usage errors and the like
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            sys.exit(e.exit_code)
        raise
