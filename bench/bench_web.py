"""Benchmark: the web application over HTTP on loopback, on SQLite with N activities over the 43
projects of kpi_specs/ (rows generated as in bench_progress.py), served by ``tracker serve`` in its
own process.

    .venv/bin/python bench/bench_web.py                       # 1,000,000 activities, 20 users × 60 s
    .venv/bin/python bench/bench_web.py --activities 100000 --seconds 20

Measures: a project dashboard (server time from the Server-Timing header, and the whole request):
first views of ten projects (nothing remembered yet; the start-up warm-up may be running) and
repeated views of one; the portfolio page (first view, repeated views, and the view after one record
was entered in one project); the dashboard right after each of five records entered in it (its
figures computed again: the uncached path with the warm-up done); 20
concurrent users browsing dashboards for a bounded time (errors, p50/p95); and the dry run of a
20,000-row activity XLSX upload. Targets (issue 14): dashboard < 300 ms server time, portfolio < 2 s,
p95 < 1 s with 20 users and no error, 20k-row dry run < 5 s. ``--no-cache`` serves with
``TRACKER_PROGRESS_CACHE=0`` (every figure computed on every view).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_progress import generate, machine  # noqa: E402

from tracker import accounts  # noqa: E402
from tracker.db.connection import dispose_engines  # noqa: E402
from tracker.workspace import open_workspace  # noqa: E402

PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def server_ms(r: httpx.Response) -> float | None:
    m = re.search(r"app;dur=([\d.]+)", r.headers.get("server-timing", ""))
    return float(m[1]) if m else None


def login(url: str, who: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=120)
    r = c.post("/login", data={"login": who, "password": PASSWORD})
    assert r.status_code == 303, r.text[:300]
    return c


def ledger(code: str, ws, n: int) -> bytes:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    spec = ws.spec(code)
    t = next(t for t in spec.activity_types if t.serves == "person")
    pop = next(p for p in spec.populations if p.key == t.population) if t.population else spec.populations[0]
    size = max(20, min(pop.expected or 300, 3000))
    start = spec.project.period.start
    wb = Workbook(write_only=True)
    sh = wb.create_sheet("活动记录")
    sh.append(["记录编号", "日期", "活动类型", "服务对象编号", "备注"])
    rnd = random.Random(7)
    for i in range(n):
        d = start.toordinal() + rnd.randrange(120)
        sh.append([f"W{i}", __import__("datetime").date.fromordinal(d).isoformat(), t.label,
                   f"{pop.key}-{rnd.randrange(size)}", ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--activities", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--upload-rows", type=int, default=20_000)
    ap.add_argument("--no-cache", action="store_true", help="serve with TRACKER_PROGRESS_CACHE=0")
    args = ap.parse_args()
    print(machine(), "load average", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    tmp = Path(tempfile.mkdtemp(prefix="bench_web_"))
    db = f"sqlite:///{tmp / 'web.db'}"
    os.environ.update(TRACKER_DATA=str(tmp / "data"), TRACKER_ID_KEY="bench-key", TRACKER_DB_URL=db,
                      TRACKER_SPECS=str(REPO / "kpi_specs"))
    ws = open_workspace(db, REPO / "kpi_specs")
    t0 = time.perf_counter()
    counts = generate(ws, args.activities)
    print(f"generated {counts} in {time.perf_counter() - t0:.1f} s")
    code = "2024B004E" if "2024B004E" in ws.codes else ws.codes[0]
    accounts.add_account(ws, "bench_auditor", "auditor", PASSWORD)
    for i in range(args.users):
        accounts.add_account(ws, f"bench_user{i}", "auditor", PASSWORD)
    accounts.add_account(ws, "bench_ngo", "operator", PASSWORD, organisation="基准测试组织", projects=[code])
    body = ledger(code, ws, args.upload_rows)
    dispose_engines()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TRACKER_PROGRESS_CACHE": "0" if args.no_cache else "1"}
    server = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.3)
        aud = login(url, "bench_auditor")
        aud.get("/projects")  # warm-up of the server itself (templates, imports), no figure
        aud.get(f"/projects/{ws.codes[-1]}")
        per_project = args.activities // len(ws.codes)
        print(f"\nactivities {args.activities:,} ({per_project:,} in {code}); cache {'off' if args.no_cache else 'on'}")
        first = []
        for c in [code, *[c for c in ws.codes if c != code][:-1][:9]]:
            r = aud.get(f"/projects/{c}")
            assert r.status_code == 200
            first.append(server_ms(r) or float("nan"))
        print(f"dashboard, first view of 10 projects: server median {statistics.median(first):.0f} ms "
              f"(min {min(first):.0f}, max {max(first):.0f}; {code} {first[0]:.0f} ms)")
        whole, srv = [], []
        for _ in range(15):
            t = time.perf_counter()
            r = aud.get(f"/projects/{code}")
            whole.append(1000 * (time.perf_counter() - t))
            srv.append(server_ms(r) or float("nan"))
            assert r.status_code == 200
        print(f"dashboard {code}, repeated: server median {statistics.median(srv):.0f} ms (min {min(srv):.0f}, "
              f"max {max(srv):.0f}); request median {statistics.median(whole):.0f} ms")

        def portfolio(label: str, n: int) -> None:
            times, srv = [], []
            for _ in range(n):
                t = time.perf_counter()
                r = aud.get("/portfolio")
                times.append(time.perf_counter() - t)
                srv.append(server_ms(r) or float("nan"))
                assert r.status_code == 200
            print(f"portfolio page (43 projects), {label}: {min(times):.2f}–{max(times):.2f} s "
                  f"(server {min(srv):.0f}–{max(srv):.0f} ms, {n} requests)")

        portfolio("first view", 1)
        portfolio("repeated", 3)
        ngo = login(url, "bench_ngo")

        def enter(day: str) -> None:
            form = ngo.get(f"/projects/{code}/records/new?kind=activity").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]  # type: ignore[index]
            t_label = re.search(r'name="f_activity"[^>]*>\s*(?:<option value="">[^<]*</option>\s*)?'
                                r'<option value="([^"]+)"', form)
            person = re.search(r'name="f_person_id"[^>]*>\s*(?:<option value="">[^<]*</option>\s*)?'
                               r'<option value="([^"]+)"', form)
            r = ngo.post(f"/projects/{code}/records/new", data={
                "csrf_token": csrf, "kind": "activity", "f_date": day,
                "f_activity": t_label[1] if t_label else "", "f_person_id": person[1] if person else ""})
            assert r.status_code in (200, 303), re.sub(r"<[^>]+>", " ", r.text)[-600:]

        enter("2024-07-01")
        print(f"one record entered in {code} by form")
        portfolio("after that write", 1)
        after = []  # each view after a write to the project: its progress and violations computed again
        for day in ("2024-07-02", "2024-07-03", "2024-07-04", "2024-07-05", "2024-07-08"):
            enter(day)
            r = aud.get(f"/projects/{code}")
            assert r.status_code == 200
            after.append(server_ms(r) or float("nan"))
        print(f"dashboard {code} right after a record entered in it (nothing remembered), 5 times: server median "
              f"{statistics.median(after):.0f} ms (min {min(after):.0f}, max {max(after):.0f})")

        codes = ws.codes
        clients = [login(url, f"bench_user{i}") for i in range(args.users)]
        lat: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def user(c: httpx.Client, seed: int) -> None:
            rnd = random.Random(seed)
            while time.monotonic() < stop_at:
                path = f"/projects/{rnd.choice(codes)}"
                t = time.perf_counter()
                try:
                    r = c.get(path)
                    ok = r.status_code == 200
                    err = None if ok else f"{path} {r.status_code}"
                except httpx.HTTPError as e:
                    err = f"{path} {type(e).__name__}"
                with lock:
                    lat.append(time.perf_counter() - t)
                    if err:
                        errors.append(err)

        threads = [threading.Thread(target=user, args=(c, i)) for i, c in enumerate(clients)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        span = time.perf_counter() - t
        print(f"{args.users} users × {args.seconds:.0f} s on dashboards: {len(lat)} requests ({len(lat) / span:.1f}/s), "
              f"errors {len(errors)}, p50 {1000 * pct(lat, 50):.0f} ms, p95 {1000 * pct(lat, 95):.0f} ms, "
              f"max {1000 * max(lat):.0f} ms")

        page = ngo.get(f"/projects/{code}/upload").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]
        t = time.perf_counter()
        r = ngo.post(f"/projects/{code}/upload", data={"csrf_token": csrf},
                     files={"file": ("活动记录.xlsx", body)}, follow_redirects=False)
        took = time.perf_counter() - t
        assert r.status_code == 303, r.text[-500:]
        res = ngo.get(r.headers["location"]).text
        m = re.search(r"将新增 (\d+) 条", res)
        print(f"upload {args.upload_rows:,}-row XLSX ({len(body) / 1e6:.1f} MB) → dry run answered in {took:.2f} s "
              f"({m[1] if m else '?'} rows would be new)")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
