"""Helpers for the web tests: the two fixture projects of the report tests run by two different
organisations, one account of each role, and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from tracker import accounts
from tracker.workspace import Workspace, open_workspace

SPECS = Path(__file__).resolve().parent / "fixtures" / "reports"
A, B = "2099B001", "2099B002"  # run by 甲 and 乙 respectively
PASSWORD = "correct-horse-9"
USERS = {  # login → (role, organisation, projects)
    "op_a": ("operator", "甲社会工作服务中心", [A]),
    "op_b": ("operator", "乙社会工作服务中心", [B]),
    "auditor": ("auditor", None, []),
    "admin": ("admin", None, []),
}


# Argon2id still, with cheap parameters: the default costs about 0.7 s a hash on the test machine.
accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))


def web_workspace(db_url: str) -> Workspace:
    ws = open_workspace(db_url, SPECS)
    for login, (role, org, projects) in USERS.items():
        accounts.add_account(ws, login, role, PASSWORD, organisation=org, projects=projects)
    return ws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    ws: Workspace
    _server: Any
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def client(self, login: str | None = None, password: str = PASSWORD) -> httpx.Client:
        c = httpx.Client(base_url=self.url, follow_redirects=False, timeout=60)
        if login:
            r = c.post("/login", data={"login": login, "password": password})
            assert r.status_code == 303, r.text
        return c


def start_server(ws: Workspace, *, worker: bool = True) -> Server:
    """uvicorn serving the app on 127.0.0.1 (a free port), in a thread of this process."""
    import uvicorn

    from tracker.web import create_app

    port = free_port()
    config = uvicorn.Config(create_app(ws, worker=worker), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not t.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return Server(f"http://127.0.0.1:{port}", ws, server, t)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m.group(1)
