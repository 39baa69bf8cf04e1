"""The web application: server-rendered pages in Chinese for NGO operators, auditors and admins.

Every route is a thin shell over the library (``tracker.accounts``, ``tracker.dashboard``,
``tracker.uploads``, ``tracker.files``, ``tracker.jobs``, the measure/records/reports functions):
no counting, no rule and no SQL here. Routes that touch the database are plain ``def`` functions
(FastAPI runs them in its thread pool); reports run in a background worker thread.

Sessions live in the database (``tracker.accounts``); the cookie holds a random token (HttpOnly,
SameSite=Lax, Secure when the request came over HTTPS). Every unsafe request carries the session's
CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``), except ``POST /login`` (no session
yet; fixed by the contract to the fields ``login`` and ``password``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tracker import accounts, clock, dashboard, files, jobs, uploads
from tracker.accounts import Principal
from tracker.errors import Forbidden, NotFound, TrackerError

HERE = Path(__file__).resolve().parent
COOKIE = "tracker_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_EXEMPT = {"/login"}
MAX_BODY = files.LEDGER_MAX + files.MB


class NeedLogin(Exception):
    pass


class Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _env() -> Environment:
    # autoescape=True for every template (select_autoescape would go by the file's extension)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["localtime"] = clock.local_text  # stored UTC → Beijing time
    return env


def _num(v: Any) -> str:
    if v is None:
        return "—"
    v = round(float(v), 1)
    return str(int(v)) if v.is_integer() else f"{v}"


def create_app(ws: Any = None, *, worker: bool = True, warm: bool = False) -> FastAPI:
    """The application on workspace ``ws`` (default: the one the environment names); with ``warm``,
    today's portfolio is computed in a background thread at start (``dashboard.warm_up``)."""
    state: dict[str, Any] = {"ws": ws}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if state["ws"] is None:
            from tracker.workspace import open_workspace

            state["ws"] = await run_in_threadpool(open_workspace)
        w = jobs.Worker(state["ws"]) if worker else None
        if w:
            w.start()
        if warm:
            import threading

            threading.Thread(target=dashboard.warm_up, args=(state["ws"],), name="tracker-warm-up", daemon=True).start()
        yield
        if w:
            w.stop()

    app = FastAPI(title="tracker", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(_guard)])
    app.state.tracker = state
    app.add_middleware(ServerTiming)
    templates = Jinja2Templates(env=_env())
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def W() -> Any:
        return state["ws"]

    def page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        s = getattr(request.state, "session", None)
        ctx.setdefault("who", s.principal if s else None)
        ctx.setdefault("csrf", s.csrf_token if s else "")
        ctx["role_labels"] = accounts.ROLE_LABELS
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    # ---------------------------------------------------------------- errors

    @app.exception_handler(NeedLogin)
    async def _need_login(request: Request, exc: NeedLogin) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "未登录：请先登录或提供接口令牌"}, status_code=401)
        nxt = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(nxt)}", status_code=303)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        return page(request, "error.html", exc.status, message=exc.message)

    @app.exception_handler(TrackerError)
    async def _tracker_error(request: Request, exc: TrackerError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 400
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.message}, status_code=status)
        return page(request, "error.html", status, message=exc.message, back=request.headers.get("referer"))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "未找到该页面或您无权查看：请从首页重新进入",
                   405: "该地址不支持这种操作：请从页面上的按钮或链接进入"}.get(exc.status_code, "请求无法处理：请返回后重试")
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=exc.status_code)
        return page(request, "error.html", exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = "、".join(sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()}))
        message = f"请求内容不完整或格式不对（{fields}）：请从页面上的表单重新提交"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=422)
        return page(request, "error.html", 422, message=message)

    # ---------------------------------------------------------------- who is asking

    def who(request: Request) -> Principal:
        s = getattr(request.state, "session", None)
        if s is not None:
            return s.principal
        p = getattr(request.state, "api_principal", None)
        if p is not None:
            return p
        raise NeedLogin()

    def project(code: str, request: Request) -> str:
        p = who(request)
        if not accounts.may_see(W(), p, code):
            raise Denied(404, "未找到该项目，或您的账号无权查看：请从“我的项目”进入")
        return code

    def writer(code: str, request: Request) -> str:
        project(code, request)
        if not accounts.may_write_records(who(request)):
            raise Denied(403, "只有项目的运营方账号可以录入或修改记录")
        return code

    def judge_role(request: Request) -> Principal:
        p = who(request)
        if not accounts.may_judge(p):
            raise Denied(403, "只有审核员可以评定指标")
        return p

    def sees_all(request: Request) -> Principal:
        p = who(request)
        if not p.sees_all:
            raise Denied(403, "该页面仅供审核员和管理员使用")
        return p

    def admin(request: Request) -> Principal:
        p = who(request)
        if p.role != "admin":
            raise Denied(403, "该页面仅供管理员使用")
        return p

    def as_of_param(request: Request, spec: Any | None = None) -> dt.date | None:
        raw = request.query_params.get("as_of")
        if not raw:
            return None
        from tracker.clock import parse_date

        return parse_date(raw, "as_of")

    # ---------------------------------------------------------------- login

    @app.get("/login")
    def login_page(request: Request, next: str = "/") -> Response:
        return page(request, "login.html", next=_safe_next(next))

    @app.post("/login")
    def login(request: Request, login: str = Form(""), password: str = Form(""), next: str = Form("/")) -> Response:
        address = request.client.host if request.client else "?"
        try:
            s = accounts.log_in(W(), login, password, address)
        except accounts.LoginThrottled as e:
            return page(request, "login.html", 429, error=e.message, login=login, next=_safe_next(next))
        except accounts.LoginFailed as e:
            return page(request, "login.html", 401, error=e.message, login=login, next=_safe_next(next))
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie(COOKIE, s.token, max_age=accounts.SESSION_DAYS * 86400, httponly=True, samesite="lax",
                        secure=_secure(request), path="/")
        return resp

    @app.post("/logout")
    def logout(request: Request) -> Response:
        accounts.log_out(W(), request.cookies.get(COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
        return resp

    @app.get("/")
    def home(request: Request) -> Response:
        p = who(request)
        return RedirectResponse("/portfolio" if p.sees_all else "/projects", status_code=303)

    # ---------------------------------------------------------------- projects

    @app.get("/projects")
    def my_projects(request: Request) -> Response:
        p = who(request)
        ws = W()
        orgs = accounts.project_organisations(ws)
        rows = [(ws.spec(c), orgs.get(c)) for c in accounts.visible_projects(ws, p)]
        return page(request, "projects.html", rows=rows)

    @app.get("/projects/{code}")
    def project_page(request: Request, code: str = Depends(project)) -> Response:
        ws = W()
        spec = ws.spec(code)
        d = dashboard.default_as_of(spec, as_of_param(request))
        board = dashboard.build_dashboard(ws, code, d, violations_limit=20)
        from tracker import evaluation
        from tracker.reports.notes import TOPICS

        return page(request, "dashboard.html", spec=spec, board=board, as_of=d, topics=TOPICS,
                    org=accounts.project_organisations(ws).get(code), notes=dashboard.project_notes(ws, code),
                    can_write=accounts.may_write_records(who(request)), can_judge=accounts.may_judge(who(request)),
                    evaluations=evaluation.stages(ws, code)[:2])

    @app.get("/projects/{code}/kpis/{kpi_id}/chart.png")
    def kpi_chart(request: Request, kpi_id: str, code: str = Depends(project)) -> Response:
        ws = W()
        d = dashboard.default_as_of(ws.spec(code), as_of_param(request))
        if not kpi_id.startswith(code + "."):
            raise Denied(404, "未找到该指标")
        png = dashboard.kpi_chart(ws, code, kpi_id, d)
        if png is None:
            raise Denied(404, "该指标没有图表")
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})

    @app.get("/projects/{code}/violations")
    def violations_page(request: Request, code: str = Depends(project)) -> Response:
        ws = W()
        spec = ws.spec(code)
        d = dashboard.default_as_of(spec, as_of_param(request))
        board = dashboard.build_dashboard(ws, code, d, violations_limit=5000)
        return page(request, "violations.html", spec=spec, board=board, as_of=d)

    # ---------------------------------------------------------------- upload, templates

    @app.get("/projects/{code}/upload")
    def upload_page(request: Request, code: str = Depends(writer)) -> Response:
        from tracker.records.columns import KINDS

        return page(request, "upload.html", spec=W().spec(code), kinds=KINDS)

    @app.post("/projects/{code}/upload")
    def upload(request: Request, code: str = Depends(writer), file: UploadFile = File(...),
               kind: str = Form("")) -> Response:
        p = who(request)
        row = uploads.check_upload(W(), code, file.filename or "", file.file, p.id, p.author, kind or None)
        return RedirectResponse(f"/projects/{code}/upload/{row.token}", status_code=303)

    @app.get("/projects/{code}/upload/{token}")
    def upload_result(request: Request, token: str, code: str = Depends(writer)) -> Response:
        row = uploads.get_upload(W(), code, token)
        return page(request, "upload_result.html", spec=W().spec(code), up=row, s=row.summary,
                    can_download=uploads.may_download_errors(W(), who(request), row))

    @app.post("/projects/{code}/upload/{token}/confirm")
    def upload_confirm(request: Request, token: str, code: str = Depends(writer),
                       skip_invalid: str = Form("")) -> Response:
        uploads.confirm_upload(W(), code, token, who(request).author, skip_invalid=bool(skip_invalid))
        return RedirectResponse(f"/projects/{code}/upload/{token}", status_code=303)

    @app.get("/projects/{code}/upload/{token}/errors.xlsx")
    def upload_errors(request: Request, token: str, code: str = Depends(writer)) -> Response:
        path = uploads.error_file(W(), code, token, who(request))
        return FileResponse(path, filename=path.name,
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @app.get("/projects/{code}/templates/{kind}.xlsx")
    def template(request: Request, kind: str, code: str = Depends(project)) -> Response:
        from tracker.records.columns import KINDS, resolve_kind
        from tracker.records.template import write_template

        kd = KINDS[resolve_kind(kind)]
        out = files.config.data_dir() / "templates" / code / f"{code}-{kd.label}模板.xlsx"
        out.parent.mkdir(parents=True, exist_ok=True)
        write_template(W().spec(code), kd.kind, out)
        return FileResponse(out, filename=out.name,
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # ---------------------------------------------------------------- one record, corrections, notes

    @app.get("/projects/{code}/records/new")
    def record_form(request: Request, kind: str = "activity", code: str = Depends(writer)) -> Response:
        from tracker.records.columns import KINDS, resolve_kind

        ws = W()
        spec = ws.spec(code)
        kd = KINDS[resolve_kind(kind)]
        return page(request, "record_form.html", spec=spec, kd=kd, kinds=KINDS, fields=_form_fields(spec, kd, ws, code),
                    today=dashboard.default_as_of(spec))

    @app.post("/projects/{code}/records/new")
    def record_add(request: Request, code: str = Depends(writer), form: dict = Depends(_form)) -> Response:
        from tracker.records.columns import KINDS, resolve_kind
        from tracker.records.importer import import_rows

        kd = KINDS[resolve_kind(str(form.get("kind") or "activity"))]
        row = {c.label: str(form.get("f_" + c.key) or "").strip() or None for c in kd.columns
               if c.type != "id_number"}
        row = {k: v for k, v in row.items() if v is not None}
        if not row:
            raise TrackerError("表单是空的：请至少填写必填项")
        r = import_rows(W(), code, kd.kind, [row], source_name="网页录入", entered_by=who(request).author)
        if not r.committed or r.invalid_rows:
            msg = "；".join(f"{e.column}：{e.message}" for e in r.invalid) or r.summary()
            raise TrackerError(f"记录未保存：{msg}")
        return page(request, "message.html", title="已保存", message=f"已保存 1 条{kd.label}（{r.summary()}）。",
                    links=[(f"/projects/{code}/records/new?kind={kd.kind}", "继续录入"), (f"/projects/{code}", "返回项目")])

    @app.post("/projects/{code}/records/{kind}/void")
    def record_void(request: Request, kind: str, code: str = Depends(writer), record_id: str = Form(""),
                    row_id: str = Form(""), reason: str = Form("")) -> Response:
        from tracker.records.corrections import void

        rid = int(row_id) if row_id.strip().isdigit() else None
        void(W(), code, kind, record_id.strip() or None, reason, who(request).author, row_id=rid)
        what = f"库内编号 {rid}" if rid is not None else f"记录 {record_id}"
        return page(request, "message.html", title="已作废", message=f"{what} 已作废（历史仍保留）。",
                    links=[(f"/projects/{code}/records?kind={quote(kind)}", "返回记录列表"), (f"/projects/{code}", "返回项目")])

    @app.post("/projects/{code}/records/{kind}/amend")
    def record_amend(request: Request, kind: str, code: str = Depends(writer), record_id: str = Form(""),
                     row_id: str = Form(""), column: str = Form(""), value: str = Form(""),
                     reason: str = Form("")) -> Response:
        from tracker.records.corrections import amend

        if not column.strip():
            raise TrackerError("请选择要更正的列")
        rid = int(row_id) if row_id.strip().isdigit() else None
        new_id = amend(W(), code, kind, record_id.strip() or None, {column.strip(): value}, reason, who(request).author,
                       row_id=rid)
        what = f"库内编号 {rid}" if rid is not None else f"记录 {record_id}"
        return page(request, "message.html", title="已更正", message=f"{what} 已更正（原记录保留在历史中）。",
                    links=[(f"/projects/{code}/records/{quote(kind)}/{new_id}/history", "查看这条记录的历史"),
                           (f"/projects/{code}", "返回项目")])

    @app.get("/projects/{code}/records")
    def records_page(request: Request, code: str = Depends(project), kind: str = "activity", kpi: str = "",
                     month: str = "", person: str = "", batch: str = "") -> Response:
        from tracker.records.columns import KINDS

        ws = W()
        spec = ws.spec(code)
        d = dashboard.default_as_of(spec, as_of_param(request))
        if kpi and not kpi.startswith(code + "."):
            raise Denied(404, "未找到该指标")
        got = dashboard.listed_records(ws, code, d, kpi=kpi or None, kind=kind, month=month or None,
                                       person=person or None, batch=int(batch) if batch.isdigit() else None)
        return page(request, "records.html", spec=spec, got=got, kinds=KINDS, kpi=kpi, month=month, person=person,
                    batch=batch, as_of=d, limit=dashboard.FIGURE_ROWS,
                    can_write=accounts.may_write_records(who(request)))

    @app.get("/projects/{code}/records/{kind}/{record}/history")
    def record_history_page(request: Request, kind: str, record: int, code: str = Depends(project)) -> Response:
        from tracker.records.columns import KINDS, resolve_kind
        from tracker.records.listing import record_history

        kind = resolve_kind(kind)
        versions = record_history(W(), code, kind, record)
        return page(request, "history.html", spec=W().spec(code), versions=versions, kd=KINDS[kind], record=record,
                    can_write=accounts.may_write_records(who(request)))

    @app.get("/projects/{code}/batches")
    def batches_page(request: Request, code: str = Depends(project)) -> Response:
        from tracker.records.listing import list_batches

        table = list_batches(W(), code)
        table.rows.reverse()  # newest first
        return page(request, "batches.html", spec=W().spec(code), table=table,
                    can_write=accounts.may_write_records(who(request)))

    @app.post("/projects/{code}/batches/{batch_id}/undo")
    def batch_undo(request: Request, batch_id: int, code: str = Depends(writer), reason: str = Form("")) -> Response:
        from tracker.records.listing import undo_batch

        r = undo_batch(W(), batch_id, reason, who(request).author, project=code)
        return page(request, "message.html", title="已撤销导入批次",
                    message=f"导入批次 {r.batch} 已撤销：{r.retired} 条记录退回，{r.restored} 条此前被替换的记录恢复（历史仍保留）。",
                    links=[(f"/projects/{code}/batches", "返回导入批次"), (f"/projects/{code}", "返回项目")])

    @app.post("/projects/{code}/notes")
    def note_add(request: Request, code: str = Depends(writer), topic: str = Form(""), text: str = Form(""),
                 kpi: str = Form("")) -> Response:
        from tracker.reports.notes import add_note

        add_note(W(), code, topic, text, who(request).author, kpi or None)
        return RedirectResponse(f"/projects/{code}#notes", status_code=303)

    # ---------------------------------------------------------------- judgements, evidence

    @app.get("/projects/{code}/kpis/{kpi_id}/judge")
    def judge_page(request: Request, kpi_id: str, code: str = Depends(project),
                   _p: Principal = Depends(judge_role)) -> Response:
        ws = W()
        spec = ws.spec(code)
        from tracker.measure.compile import find_kpi

        if not kpi_id.startswith(code + "."):
            raise Denied(404, "未找到该指标")
        clause, kpi = find_kpi(spec, kpi_id)
        return page(request, "judge.html", spec=spec, clause=clause, kpi=kpi, kpi_id=kpi_id,
                    evidence=files.list_evidence(ws, code, "judgement"))

    @app.post("/projects/{code}/kpis/{kpi_id}/judge")
    def judge(request: Request, kpi_id: str, code: str = Depends(project), p: Principal = Depends(judge_role),
              verdict: str = Form(""), comment: str = Form(""), photo: UploadFile | None = File(None)) -> Response:
        from tracker.measure.judgements import record_judgement

        if not kpi_id.startswith(code + "."):
            raise Denied(404, "未找到该指标")
        ws = W()
        text = comment.strip()
        if photo is not None and photo.filename:
            ev = files.store_evidence(ws, code, photo.filename, photo.file, p.author, attached_to="judgement",
                                      attached_id=kpi_id, description=text)
            text = (text + "；" if text else "") + f"佐证文件：{ev.file_name}（证据编号 {ev.id}）"
        record_judgement(ws, kpi_id, verdict, text, p.author)
        return RedirectResponse(f"/projects/{code}#kpi-{kpi_id}", status_code=303)

    @app.get("/projects/{code}/evidence")
    def evidence_page(request: Request, code: str = Depends(project)) -> Response:
        return page(request, "evidence.html", spec=W().spec(code), rows=files.list_evidence(W(), code),
                    help=files.EVIDENCE_HELP)

    @app.post("/projects/{code}/evidence")
    def evidence_upload(request: Request, code: str = Depends(writer), file: UploadFile = File(...),
                        record_id: str = Form(""), description: str = Form("")) -> Response:
        files.store_evidence(W(), code, file.filename or "", file.file, who(request).author,
                             attached_to="record" if record_id.strip() else "project",
                             attached_id=record_id.strip() or None, description=description)
        return RedirectResponse(f"/projects/{code}/evidence", status_code=303)

    @app.get("/projects/{code}/evidence/{evidence_id}")
    def evidence_download(request: Request, evidence_id: int, code: str = Depends(project)) -> Response:
        row, path = files.evidence_file(W(), code, evidence_id)
        return FileResponse(path, media_type=row.content_type, filename=row.file_name,
                            headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})

    @app.get("/projects/{code}/evidence/{evidence_id}/thumb.jpg")
    def evidence_thumb(request: Request, evidence_id: int, code: str = Depends(project)) -> Response:
        return Response(files.evidence_thumbnail(W(), code, evidence_id), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})

    # ---------------------------------------------------------------- the report's photos (self-assessment)

    @app.get("/projects/{code}/evaluation/{which}/photos")
    def photos_page(request: Request, which: str, code: str = Depends(project)) -> Response:
        from tracker import evaluation

        ws = W()
        return page(request, "photos.html", spec=ws.spec(code), pp=evaluation.photo_page(ws, code, which, who(request).role),
                    which=which, max_photos=evaluation.MAX_PHOTOS, caption_max=evaluation.CAPTION_MAX,
                    saved=request.query_params.get("saved") == "1")

    @app.post("/projects/{code}/evaluation/{which}/photos")
    def photos_choose(request: Request, which: str, code: str = Depends(project),
                      form: list = Depends(_form_items)) -> Response:
        from tracker import evaluation

        p = who(request)
        fields = dict(form)
        chosen = [(int(v), fields.get(f"caption_{v}")) for k, v in form if k == "photo" and v.isdigit()]
        evaluation.choose_report_photos(W(), code, which, chosen, actor=p.author, role=p.role)
        return RedirectResponse(f"/projects/{code}/evaluation/{which}/photos?saved=1", status_code=303)

    # ---------------------------------------------------------------- evaluation: submit, review, lock

    @app.get("/projects/{code}/evaluation")
    def evaluation_index(request: Request, code: str = Depends(project)) -> Response:
        from tracker import evaluation

        ws = W()
        return page(request, "evaluation_index.html", spec=ws.spec(code), stages=evaluation.stages(ws, code))

    @app.get("/projects/{code}/evaluation/{which}")
    def evaluation_page(request: Request, which: str, code: str = Depends(project)) -> Response:
        from tracker import evaluation

        ws = W()
        rp = evaluation.review_page(ws, code, which, who(request).role)
        return page(request, "evaluation.html", spec=ws.spec(code), rp=rp, done=request.query_params.get("done", ""),
                    action_labels=evaluation.EVENT_LABELS)

    @app.post("/projects/{code}/evaluation/{which}/narrative")
    def evaluation_narrative(request: Request, which: str, code: str = Depends(project),
                             form: dict = Depends(_form)) -> Response:
        from tracker import evaluation

        p = who(request)
        sections = {k: str(form.get(f"section_{i}") or "") for i, k in enumerate(evaluation.NARRATIVE_SECTIONS)}
        evaluation.save_stage_narrative(W(), code, which, sections, actor=p.author, role=p.role)
        done = "saved"
        if form.get("then") == "submit":
            evaluation.move_stage(W(), code, which, "submit", actor=p.author, role=p.role)
            done = "submit"
        return RedirectResponse(f"/projects/{code}/evaluation/{which}?done={done}", status_code=303)

    @app.post("/projects/{code}/evaluation/{which}/move")
    def evaluation_move(request: Request, which: str, code: str = Depends(project),
                        form: list = Depends(_form_items)) -> Response:
        from tracker import evaluation

        p = who(request)
        fields = dict(form)
        action = str(fields.get("action") or "")
        kpi_comments = {k[4:]: v for k, v in form if k.startswith("kpi:")}
        evaluation.move_stage(W(), code, which, action, actor=p.author, role=p.role,
                              comment=str(fields.get("comment") or ""), kpi_comments=kpi_comments)
        return RedirectResponse(f"/projects/{code}/evaluation/{which}?done={quote(action)}", status_code=303)

    # ---------------------------------------------------------------- reports (background)

    @app.get("/projects/{code}/reports")
    def reports_page(request: Request, code: str = Depends(project)) -> Response:
        return page(request, "reports.html", spec=W().spec(code), jobs_=jobs.recent_jobs(W(), code), code=code)

    @app.post("/projects/{code}/reports")
    def report_start(request: Request, code: str = Depends(project), which: str = Form("midterm")) -> Response:
        job = jobs.submit(W(), "project_report", who(request).id, code, which=which)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.post("/portfolio/reports")
    def portfolio_report_start(request: Request, p: Principal = Depends(sees_all),
                               which: str = Form("midterm")) -> Response:
        job = jobs.submit(W(), "portfolio", p.id, None, which=which)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    def _job(request: Request, job_id: int) -> Any:
        p = who(request)
        job = jobs.get_job(W(), job_id)
        ok = accounts.may_see(W(), p, job.project_code) if job.project_code else p.sees_all
        if not ok:
            raise Denied(404, "未找到该任务")
        return job

    @app.get("/jobs/{job_id}")
    def job_page(request: Request, job_id: int) -> Response:
        job = _job(request, job_id)
        return page(request, "job.html", job=job, kinds=jobs.JOB_KINDS, which=jobs.WHICH)

    @app.get("/jobs/{job_id}/files/{name}")
    def job_file(request: Request, job_id: int, name: str) -> Response:
        _job(request, job_id)
        path = jobs.result_file(W(), job_id, name)
        return FileResponse(path, filename=path.name)

    # ---------------------------------------------------------------- auditors: portfolio

    @app.get("/portfolio")
    def portfolio_page(request: Request, sort: str = "worst", _p: Principal = Depends(sees_all)) -> Response:
        d = as_of_param(request) or clock.today()
        lines = dashboard.portfolio_lines(W(), d, sort)
        return page(request, "portfolio.html", lines=lines, as_of=d, sort=sort, sorts=dashboard.PORTFOLIO_SORTS,
                    jobs_=jobs.recent_jobs(W(), None))

    # ---------------------------------------------------------------- admin

    @app.get("/admin")
    def admin_page(request: Request, _p: Principal = Depends(admin)) -> Response:
        ws = W()
        return page(request, "admin.html", users=accounts.list_accounts(ws), orgs=accounts.list_organisations(ws),
                    linked=accounts.project_organisations(ws), specs=[ws.spec(c) for c in ws.codes])

    @app.post("/admin/users")
    def admin_add_user(request: Request, p: Principal = Depends(admin), login: str = Form(""),
                       role: str = Form(""), password: str = Form(""), organisation: str = Form("")) -> Response:
        accounts.add_account(W(), login, role, password, organisation=organisation or None, by=p.author)
        return RedirectResponse("/admin", status_code=303)

    @app.post("/admin/users/{login}/disable")
    def admin_disable_user(request: Request, login: str, p: Principal = Depends(admin)) -> Response:
        if login == p.login:
            raise TrackerError("不能停用自己的账号")
        accounts.set_active(W(), login, False, by=p.author)
        return RedirectResponse("/admin", status_code=303)

    @app.post("/admin/projects/{code}/organisation")
    def admin_set_org(request: Request, code: str, p: Principal = Depends(admin),
                      organisation: str = Form("")) -> Response:
        accounts.set_project_organisation(W(), code, organisation, p.author)
        return RedirectResponse("/admin#projects", status_code=303)

    # ---------------------------------------------------------------- JSON API

    @app.get("/api/projects/{code}/progress")
    def api_progress(request: Request, code: str = Depends(project)) -> Response:
        from tracker.measure import cache

        ws = W()
        d = dashboard.default_as_of(ws.spec(code), as_of_param(request))
        return JSONResponse(cache.progress(ws, code, d).to_json())

    @app.get("/api/projects/{code}/violations")
    def api_violations(request: Request, code: str = Depends(project)) -> Response:
        from tracker.measure.progress import list_violations

        ws = W()
        d = dashboard.default_as_of(ws.spec(code), as_of_param(request))
        rows = [{**r, "date": r["date"].isoformat() if r.get("date") else None}
                for r in list_violations(ws, code, None, d)]
        return JSONResponse({"project": code, "as_of": d.isoformat(), "violations": rows})

    @app.get("/api/portfolio")
    def api_portfolio(request: Request, _p: Principal = Depends(sees_all)) -> Response:
        from tracker.measure import cache

        d = as_of_param(request) or clock.today()
        ps = cache.portfolio(W(), d)
        return JSONResponse([{"project": p.project, "name": p.name, "as_of": p.as_of.isoformat(), **p.counts(),
                              "kpis": len(p.kpis)} for p in ps])

    @app.post("/account/api-token")
    def api_token(request: Request) -> Response:
        p = who(request)
        token = accounts.new_api_token(W(), p.login)
        return page(request, "message.html", title="接口令牌",
                    message=f"您的接口令牌（只显示这一次，请妥善保存；在请求头写 Authorization: Bearer 令牌）：{token}",
                    links=[("/", "返回首页")])

    @app.post("/account/password")
    def change_password(request: Request, old: str = Form(""), new: str = Form("")) -> Response:
        p = who(request)
        try:
            accounts.log_in(W(), p.login, old, request.client.host if request.client else "?")
        except (accounts.LoginFailed, accounts.LoginThrottled) as e:
            raise TrackerError("原密码不正确：" + e.message) from None
        accounts.set_password(W(), p.login, new, by=p.author)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    @app.get("/account")
    def account_page(request: Request) -> Response:
        who(request)
        return page(request, "account.html")

    return app


SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin")]


class ServerTiming:
    """``Server-Timing: app;dur=<ms>`` on every response (the time the application took, for the
    benchmarks and the browser's developer tools), and headers that keep pages out of frames and
    files from being sniffed into something else."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()

        async def timed(message: Any) -> None:
            if message["type"] == "http.response.start":
                ms = 1000 * (time.perf_counter() - t0)
                message.setdefault("headers", [])
                have = {k.lower() for k, _ in message["headers"]}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in have]
                message["headers"] = [*message["headers"], *extra, (b"server-timing", f"app;dur={ms:.1f}".encode())]
            await send(message)

        await self.app(scope, receive, timed)


async def _guard(request: Request) -> None:
    """Every request: find the session (cookie) or the API token; refuse an unsafe request without
    its CSRF token, or a body larger than any upload may be."""
    state = request.app.state.tracker
    ws = state["ws"]
    token = request.cookies.get(COOKIE)
    sess = await run_in_threadpool(accounts.session_for, ws, token) if token else None
    request.state.session = sess
    request.state.api_principal = None
    auth = request.headers.get("authorization", "")
    if sess is None and request.url.path.startswith("/api/") and auth.lower().startswith("bearer "):
        request.state.api_principal = await run_in_threadpool(accounts.principal_for_api_token, ws, auth[7:].strip())
    if request.method in SAFE_METHODS:
        return
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise Denied(413, f"上传的内容超过 {MAX_BODY // files.MB} MB 的上限，未保存：请拆分后再上传")
    if request.url.path in CSRF_EXEMPT:
        return
    if sess is None:
        raise NeedLogin()
    sent = request.headers.get("x-csrf-token")
    if not sent:
        form = await request.form()
        v = form.get("csrf_token")
        sent = v if isinstance(v, str) else None
    if not sent or not hmac.compare_digest(sent, sess.csrf_token):
        raise Denied(403, "表单已过期或来源不明（缺少安全令牌）：请刷新页面后重新提交")


async def _form(request: Request) -> dict:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _form_items(request: Request) -> list:
    """Every text field of the form as (name, value), repeated names kept (checkboxes)."""
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def _safe_next(nxt: str | None) -> str:
    """Only a path on this site (no //host or scheme): an open redirect otherwise."""
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
        return "/"
    return nxt


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or os.environ.get("TRACKER_COOKIE_SECURE") == "1"


def _form_fields(spec: Any, kd: Any, ws: Any, code: str) -> list[dict[str, Any]]:
    """The inputs of a one-record form: the project's own lists as dropdowns."""
    out = []
    for c in kd.columns:
        if c.type == "id_number":
            continue
        f: dict[str, Any] = {"key": c.key, "label": c.label, "required": c.required, "type": c.type, "options": None}
        if c.vocab:
            f["options"] = [(v.label, v.label) for v in getattr(spec, c.vocab)]
        elif c.key == "person_id" and kd.kind != "roster":
            f["options"] = [(pid, f"{pid} {name}".strip()) for pid, name in dashboard.roster_choices(ws, code)]
        elif c.key == "town":
            towns = getattr(spec.project, "towns", None) or []
            if towns:
                f["options"] = [(t, t) for t in towns]
        elif c.type == "bool":
            f["options"] = [("是", "是"), ("否", "否")]
        elif c.type == "level":
            f["options"] = [(v, v) for v in ("区县", "市级", "省级", "国家级")]
        out.append(f)
    return out
