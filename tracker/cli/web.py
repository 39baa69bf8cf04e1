"""``tracker serve`` and ``tracker user add|passwd|disable``: the web application and its accounts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tracker.cli import app
from tracker.cli.options import workspace as _ws
from tracker.errors import TrackerError

user_app = typer.Typer(help="网页账号：新建、改密码、停用。", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("密码：")
    line = sys.stdin.readline()
    if not line:
        raise TrackerError("没有读到密码：请在标准输入中给出一行密码")
    return line.rstrip("\r\n")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口")] = 8000,
) -> None:
    """启动网页版（使用 TRACKER_DB_URL 指定的数据库），在浏览器中打开 http://地址:端口/ 登录。"""
    import uvicorn

    from tracker.web import create_app

    ws = _ws()
    typer.echo(f"网页版已启动：请在浏览器中打开 http://{host}:{port}/ （按 Ctrl+C 停止）", err=True)
    uvicorn.run(create_app(ws, warm=True), host=host, port=port, proxy_headers=True, log_level="info")


@user_app.command("add")
def user_add(
    login: Annotated[str, typer.Argument(help="登录名")],
    role: Annotated[str, typer.Option("--role", help="operator（运营方）| auditor（审核员）| admin（管理员）")],
    org: Annotated[str | None, typer.Option("--org", help="所属组织（运营方必填）")] = None,
    project: Annotated[list[str] | None, typer.Option("--project", help="由该组织承接的项目编号（可多次）")] = None,
) -> None:
    """新建账号；密码从标准输入读取（一行）。"""
    from tracker.accounts import ROLE_LABELS, add_account

    ws = _ws()
    password = _read_password()
    p = add_account(ws, login, role, password, organisation=org, projects=project or [], by="命令行")
    typer.echo(f"已新建账号 {p.login}（{ROLE_LABELS[p.role]}{'，' + p.organisation if p.organisation else ''}）")


@user_app.command("passwd")
def user_passwd(login: Annotated[str, typer.Argument(help="登录名")]) -> None:
    """修改密码（从标准输入读取一行）；该账号已登录的会话全部失效。"""
    from tracker.accounts import set_password

    set_password(_ws(), login, _read_password(), by="命令行")
    typer.echo(f"已修改 {login} 的密码，其已登录的会话已全部退出")


@user_app.command("role")
def user_role(
    login: Annotated[str, typer.Argument(help="登录名")],
    role: Annotated[str, typer.Option("--role", help="operator（运营方）| auditor（审核员）| admin（管理员）")],
    org: Annotated[str | None, typer.Option("--org", help="所属组织（改为运营方时必填，除非已有）")] = None,
) -> None:
    """修改账号的角色（及运营方所属组织）；该账号已登录的会话全部失效，重新登录后按新角色使用。"""
    from tracker.accounts import ROLE_LABELS, set_role

    p = set_role(_ws(), login, role, organisation=org, by="命令行")
    typer.echo(f"已把 {p.login} 改为{ROLE_LABELS[p.role]}{'（' + p.organisation + '）' if p.organisation else ''}，"
               "其已登录的会话已全部退出")


@user_app.command("disable")
def user_disable(login: Annotated[str, typer.Argument(help="登录名")]) -> None:
    """停用账号：立即退出其所有会话，不能再登录。"""
    from tracker.accounts import set_active

    set_active(_ws(), login, False, by="命令行")
    typer.echo(f"已停用账号 {login}")
