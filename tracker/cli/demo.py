"""``tracker demo`` (the whole pipeline on a fresh SQLite database) and ``tracker simulate``."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker import config
from tracker.cli import app
from tracker.cli.options import parse_date
from tracker.text import pad

if TYPE_CHECKING:
    from tracker.simulate import SimulationSummary
    from tracker.workspace import Workspace

KIND_LABELS: dict[str, str] = {
    "roster": "服务对象名册", "staff": "工作人员", "credential": "工作人员资质", "approval": "审批记录",
    "activity": "活动记录", "survey": "满意度调查", "assessment": "评估记录", "deliverable": "成果",
    "expense": "经费支出", "incident": "事件",
}



def _date(value: str | None, default: dt.date) -> dt.date:
    return default if value is None else parse_date(value)


def _codes(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [c.strip() for c in value.replace("，", ",").split(",") if c.strip()]


@contextmanager
def _bar(description: str, total: int) -> Iterator[Any]:
    """A progress bar on stderr (rich), advanced by calling ``update(advance=1, description=…)``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False, disable=not console.is_terminal) as p:
        task = p.add_task(description, total=total)

        def update(advance: int = 1, description: str | None = None) -> None:
            p.update(task, advance=advance, **({"description": description} if description else {}))

        yield update
    typer.echo(f"{description}：完成 {total} 项，用时 {time.perf_counter() - t0:.1f} 秒", err=True)


def _simulate_with_bar(ws: Workspace, as_of: dt.date, scale: float, seed: int,
                      codes: list[str] | None) -> SimulationSummary:
    from tracker.simulate.demo import simulate_with_steps

    return simulate_with_steps(ws, as_of, scale, seed, codes, _bar)


def _counts_table(summary: SimulationSummary) -> str:
    rows = [(label, str(summary.counts.get(kind, 0))) for kind, label in KIND_LABELS.items()]
    rows.append(("合计", str(summary.total)))
    lines = [pad("记录类型", 14) + pad("条数", 8, right=True)]
    lines += [pad(a, 14) + pad(b, 8, right=True) for a, b in rows]
    return "\n".join(lines)


@app.command("simulate")
def simulate_cmd(
    scale: Annotated[float, typer.Option("--scale", help="真实规模的倍数（基准测试用），如 1、5、10")] = 1.0,
    as_of: Annotated[str | None, typer.Option("--as-of", help="模拟到此日期（YYYY-MM-DD），缺省 2024-11-15")] = None,
    seed: Annotated[int, typer.Option("--seed", help="随机种子；同一种子得到同样的记录")] = 2024,
    projects: Annotated[str | None, typer.Option("--projects", help="只模拟这些项目（逗号分隔）")] = None,
) -> None:
    """按规格为全部项目生成模拟运营记录，经导入通道写入 TRACKER_DB_URL 指定的数据库。"""
    from tracker.simulate import DEFAULT_AS_OF
    from tracker.workspace import open_workspace

    day = _date(as_of, DEFAULT_AS_OF)
    ws = open_workspace(config.db_url(), config.specs_dir())
    summary = _simulate_with_bar(ws, day, scale, seed, _codes(projects))
    typer.echo(f"已模拟 {len(summary.per_project)} 个项目至 {day}（规模 ×{scale:g}，种子 {seed}），"
               f"用时 {summary.seconds:.1f} 秒：")
    typer.echo(_counts_table(summary))


@app.command("demo")
def demo_cmd(
    out: Annotated[Path | None, typer.Option("--out", help="报告输出目录，缺省 data/demo/")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="评估日期（YYYY-MM-DD），缺省 2024-11-15（中期评估）")] = None,
    db: Annotated[str | None, typer.Option("--db", help="数据库 URL；缺省新建 data/demo.db（不使用 TRACKER_DB_URL）")] = None,
    seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 2024,
    projects: Annotated[str | None, typer.Option("--projects", help="只演示这些项目（逗号分隔）")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="是否生成 PDF（缺省生成）")] = True,
) -> None:
    """一条命令演示全流程：新建 SQLite 数据库、载入规格、模拟一年运营记录、计算进度、生成中期报告。"""
    from tracker.simulate import DEFAULT_AS_OF
    from tracker.simulate.demo import fresh_sqlite, run_demo

    day = _date(as_of, DEFAULT_AS_OF)
    from tracker.cli.options import output_dir

    db_url = db or fresh_sqlite(config.data_dir() / "demo.db")
    opened_ws: list[Workspace] = []

    def opened(ws: Workspace) -> None:
        opened_ws.append(ws)
        typer.echo(f"数据库：{db_url}；规格：{len(ws.codes)} 个项目；评估日期：{day}", err=True)

    codes = _codes(projects)
    r = run_demo(output_dir(out), day, db_url, seed=seed, projects=codes, pdf=pdf, step=_bar, on_workspace=opened)
    from tracker.outputs import summary_table

    typer.echo(summary_table(r.progress))
    typer.echo("")
    typer.echo(_counts_table(r.simulation))
    typer.echo("")
    typer.echo(f"报告（{r.out_dir}）：")
    for p in r.portfolio_files:
        typer.echo(f"  {p}")
    pdfs = [p for p in r.report_files if p.suffix == ".pdf"]
    htmls = [p for p in r.report_files if p.suffix == ".html"]
    for p in pdfs or htmls:
        typer.echo(f"  {p}")
    typer.echo(f"  {r.progress_json}")
    ws = opened_ws[0]
    _web_hint(ws, db_url, codes or ws.codes)
    typer.echo(f"用时 {r.seconds:.1f} 秒。")


def _web_hint(ws: Workspace, db: str, chosen: list[str]) -> None:
    """Demo accounts, and how to open the web application on the demo database."""
    from tracker.accounts import DEMO_PASSWORD, ROLE_LABELS, create_demo_accounts

    code = "2024B004E" if "2024B004E" in chosen else chosen[0]
    made = create_demo_accounts(ws, code)
    typer.echo("")
    typer.echo(f"网页版：运行 TRACKER_DB_URL={db} .venv/bin/tracker serve ，然后在浏览器打开 http://127.0.0.1:8000/")
    for login, role, org in made:
        typer.echo(f"  演示账号 {login}（{ROLE_LABELS[role]}{'，' + org + '，项目 ' + code if org else ''}），密码 {DEMO_PASSWORD}")
