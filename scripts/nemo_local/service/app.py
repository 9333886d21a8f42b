"""The local backend's ASGI app: the NemoVideo routes, media links, and the fault-injection admin routes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_local.media import ffmpeg
from nemo_local.service import chat, renders, uploads
from nemo_local.service.config import ServerConfig
from nemo_local.service.faults import Fault, Faults
from nemo_local.service.http import (
    Backend,
    Denied,
    authenticate,
    check_fault,
    denied_response,
    iso,
    json_body,
    ok,
    own_session,
    text_field,
)
from nemo_local.service.store import Store
from nemo_local.service.worker import RenderWorker
from nemo_skill.hosts import is_loopback

log = logging.getLogger("nemo_local")
Handler = Callable[[Request, Backend], Awaitable[Response]]


async def anonymous_token(request: Request, backend: Backend) -> Response:
    check_fault(backend, "token")
    client_id = request.headers.get("x-client-id", "").strip()
    if not client_id or len(client_id) > 64:
        raise Denied(status=400, message="X-Client-Id header is required (64 characters or fewer)")
    cfg = backend.config
    issued = backend.store.client_issued_at(client_id)
    if issued is not None and time.time() - issued < cfg.token_rate_window_seconds:
        wait = cfg.token_rate_window_seconds - (time.time() - issued)
        raise Denied(status=429, message="one anonymous token per client id per 7 days", retry_after=wait)
    token, user_id, expires = backend.store.create_user("anon", cfg.initial_credits, cfg.token_ttl_seconds,
                                                        client_id)
    return ok({"token": token, "user_id": user_id, "credits": cfg.initial_credits, "expires_at": iso(expires)})


async def create_session(request: Request, backend: Backend) -> Response:
    user = authenticate(backend, request)
    check_fault(backend, "session")
    body = await json_body(request)
    task_name = text_field(body, "task_name", "project", 200)
    language = text_field(body, "language", "en", 16)
    task_id = str(uuid.uuid4())
    session_id = backend.store.create_session(user["user_id"], task_name, language, task_id)
    return ok({"task_id": task_id, "session_id": session_id, "user_id": user["user_id"]})


async def credits(request: Request, backend: Backend) -> Response:
    user = authenticate(backend, request)
    check_fault(backend, "credits")
    data = {"available": user["available"], "frozen": user["frozen"],
            "total": user["available"] + user["frozen"], "user_id": user["user_id"]}
    if not backend.config.cloud_emulation:   # local renders are free: the balance is never spent
        data["unlimited"] = True
    return ok(data)


async def state(request: Request, backend: Backend) -> Response:
    user = authenticate(backend, request)
    check_fault(backend, "state")
    row = own_session(backend, user, request.path_params["session_id"])
    return ok({"session_id": row["session_id"], "task_id": row["task_id"], "task_name": row["task_name"],
               "user_id": user["user_id"], "state": json.loads(row["state"])})


async def upload(request: Request, backend: Backend) -> Response:
    user = authenticate(backend, request)
    check_fault(backend, "upload")
    session = own_session(backend, user, request.path_params["session_id"])
    cfg = backend.config
    limit = cfg.upload_limit()
    local_formats = not cfg.cloud_emulation
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await json_body(request)
        urls = body.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise Denied(status=400, message='send {"urls": ["https://..."]} with at least one URL')
        if len(urls) > cfg.max_files_per_upload:
            raise Denied(status=400, message=f"at most {cfg.max_files_per_upload} files per upload")
        incoming: list[uploads.Incoming] = []
        try:
            for url in urls:
                incoming.append(await uploads.fetch_url(url, cfg.files_dir, limit,
                                                        cfg.url_fetch_timeout, cfg.url_fetch_private))
        except uploads.UploadError as exc:
            uploads.discard(incoming)
            raise Denied(exc.code, message=str(exc)) from None
    else:
        body_iter = request.stream()
        try:
            incoming = await uploads.receive_multipart(request.headers.get("content-type", ""), body_iter,
                                                       cfg.files_dir, limit,
                                                       cfg.max_files_per_upload)
        except uploads.UploadError as exc:
            async for _ in body_iter:  # read the rest, so the client gets the answer, not a broken pipe
                pass
            raise Denied(exc.code, message=str(exc)) from None
    try:
        accepted = [(item, *uploads.check_type(item, local_formats)) for item in incoming]
        infos = [ffmpeg.MediaInfo() if kind == "text" else await asyncio.to_thread(ffmpeg.probe, item.path)
                 for item, _, kind in accepted]
    except uploads.UploadError as exc:
        uploads.discard(incoming)
        raise Denied(exc.code, message=str(exc)) from None
    result = []
    for (item, _ext, kind), info in zip(accepted, infos, strict=True):
        if kind in ("audio", "video") and not info.duration:
            uploads.discard(incoming)
            raise Denied(4001, message=f"{item.filename}: the media cannot be decoded")
        file_id, key = "f_" + secrets.token_hex(8), secrets.token_urlsafe(18)
        folder = cfg.files_dir / file_id
        folder.mkdir(mode=0o700)
        final = folder / item.filename
        item.path.replace(final)
        backend.store.add_file(file_id, user["user_id"], session["session_id"], item.filename, kind, final,
                               item.size, info.as_dict(), key)
        if info.has_audio:
            backend.worker.warm(final)
        result.append({
            "file_id": file_id, "filename": item.filename, "file_type": kind, "size": item.size,
            "cdn_url": str(request.url_for("file_media", key=key, name=item.filename)),
            "duration": info.duration, "width": info.width, "height": info.height, "fps": info.fps,
            "hash": file_id,
        })
    return ok({"files": result, "session_state_applied": True})


def server_key(backend: Backend, request: Request) -> None:
    """A server bound beyond loopback has a key; every API request must carry it in X-Server-Key."""
    key = backend.config.server_key
    if key and not secrets.compare_digest(request.headers.get("x-server-key", "").encode(), key.encode()):
        raise Denied(status=401, message="this server needs its key in X-Server-Key (set NEMO_SERVER_KEY)")


async def file_media(request: Request, backend: Backend) -> Response:
    row = backend.store.one("SELECT * FROM files WHERE access_key=?", request.path_params["key"])
    if row is None:
        raise Denied(status=404, message="no such file")
    return FileResponse(row["path"], filename=row["filename"], headers={"X-Content-Type-Options": "nosniff"})


async def health(request: Request, backend: Backend) -> Response:
    return JSONResponse({"ok": True, "service": "nemo-local"})


def _admin_allowed(request: Request, backend: Backend) -> None:
    """Admin routes answer only a loopback Host, the server's secret, and (for POST) a JSON content type:
    a web page elsewhere cannot drive them with a cross-origin text/plain form post."""
    if not is_loopback(f"http://{request.headers.get('host', '')}"):
        raise Denied(status=403, message="admin routes answer loopback hosts only")
    if not secrets.compare_digest(request.headers.get("x-admin-secret", "").encode(),
                                  backend.config.admin_secret.encode()):
        raise Denied(status=403, message="admin routes need the server's secret in X-Admin-Secret (see the "
                                         "admin-secret file in the data dir)")
    if request.method == "POST" and not request.headers.get("content-type", "").startswith("application/json"):
        raise Denied(status=415, message="admin routes take application/json")


async def admin(request: Request, backend: Backend) -> Response:
    """Fault injection and test controls; present only when the server runs with faults enabled."""
    if not backend.config.enable_faults:
        raise Denied(status=404, message="fault injection is off: start the server with --enable-faults")
    _admin_allowed(request, backend)
    action = request.path_params.get("action", "faults")
    body = await json_body(request) if request.method == "POST" else {}
    if action == "faults":
        if request.method == "DELETE":
            backend.faults.clear()
        elif request.method == "POST":
            try:
                backend.faults.add(Fault.parse(body))
            except (TypeError, ValueError) as exc:
                raise Denied(status=400, message=str(exc)) from None
        return JSONResponse({"faults": backend.faults.list()})
    if action == "stats":
        return JSONResponse({"requests": dict(request.app.state.counts)})
    if action == "expire-tokens":
        return JSONResponse({"expired": backend.store.expire_tokens(body.get("user_id"))})
    if action == "drop-sessions":
        return JSONResponse({"dropped": backend.store.drop_sessions(body.get("session_id"))})
    if action == "credits":
        try:
            available = int(body.get("available", 0))
        except (TypeError, ValueError):
            raise Denied(status=400, message="available must be a whole number") from None
        backend.store.set_credits(body.get("user_id"), available)
        return JSONResponse({"ok": True})
    if action == "users":  # a registered (non-anonymous) user, for tests of registered-user messages
        try:
            credit = int(body.get("credits", 100))
        except (TypeError, ValueError):
            raise Denied(status=400, message="credits must be a whole number") from None
        token, user_id, expires = backend.store.create_user("registered", credit, backend.config.token_ttl_seconds)
        return JSONResponse({"token": token, "user_id": user_id, "expires_at": iso(expires)})
    raise Denied(status=404, message=f"unknown admin action {action}")


class RequestLog:
    """ASGI middleware: a request id on every answer, one log line per request (the route's template, never
    a header, token or media key), request counts per route template, and a time limit on reading the body."""

    def __init__(self, app: ASGIApp, counts: Counter[str], body_timeout: float) -> None:
        self.app = app
        self.counts = counts
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + uuid.uuid4().hex[:16]
        started = time.monotonic()
        status = [0]
        body_done = [False]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        async def receive_in_time() -> Message:
            if body_done[0]:   # after the body: waiting for a disconnect (SSE) has no limit
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                raise BodyTimeout() from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done[0] = True
            return message

        try:
            await self.app(scope, receive_in_time, send_with_id)
        except BodyTimeout:
            if not status[0]:
                status[0] = 408
                await send_with_id({"type": "http.response.start", "status": 408,
                                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
                await send_with_id({"type": "http.response.body",
                                    "body": b'{"code": 408, "message": "the request body arrived too slowly"}'})
        finally:
            route = scope.get("nemo.route") or "(no route)"
            self.counts[f"{scope['method']} {route}"] += 1
            log.info("%s %s %s %.0fms %s", scope["method"], route, status[0] or "-",
                     (time.monotonic() - started) * 1000, request_id)


class BodyTimeout(Exception):
    """The client stopped sending its request body (a slow-body attack or a dead client)."""


def create_app(config: ServerConfig) -> Starlette:
    config.prepare()
    removed = uploads.remove_orphans(config.files_dir)
    if removed:
        log.info("removed %d half-written file(s) a previous run left behind", removed)
    store = Store(config.db_path)
    backend = Backend(config, store, Faults(), RenderWorker(store, config))

    def route(path: str, handler: Handler, methods: list[str], name: str | None = None,
              keyed: bool = True) -> Route:
        async def endpoint(request: Request) -> Response:
            request.scope["nemo.route"] = path
            try:
                if keyed:
                    server_key(backend, request)
                return await handler(request, backend)
            except Denied as exc:
                return denied_response(exc, path.startswith("/api/render/"))
        return Route(path, endpoint, methods=methods, name=name)

    routes = [
        route("/api/auth/anonymous-token", anonymous_token, ["POST"]),
        route("/api/tasks/me/with-session/nemo_agent", create_session, ["POST"]),
        route("/run_sse", chat.run_sse, ["POST"]),
        route("/api/upload-video/nemo_agent/me/{session_id}", upload, ["POST"]),
        route("/api/credits/balance/simple", credits, ["GET"]),
        route("/api/state/nemo_agent/me/{session_id}/latest", state, ["GET"]),
        route("/api/render/proxy/lambda", renders.start, ["POST"]),
        route("/api/render/proxy/lambda/{render_id}", renders.status, ["GET"]),
        route("/api/render/proxy/lambda/{render_id}/cancel", renders.cancel, ["POST"]),
        # Media links are unguessable capabilities, like a CDN's: no key or token is sent for them.
        route("/media/renders/{key}/{name}", renders.output, ["GET", "HEAD"], "render_output", keyed=False),
        route("/media/files/{key}/{name}", file_media, ["GET", "HEAD"], "file_media", keyed=False),
        route("/healthz", health, ["GET"], keyed=False),
        route("/_local/faults", admin, ["GET", "POST", "DELETE"]),
        route("/_local/admin/{action}", admin, ["GET", "POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        backend.worker.start()
        try:
            yield {}
        finally:
            await asyncio.to_thread(backend.worker.stop)
            backend.store.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.counts = Counter()
    app.add_middleware(RequestLog, counts=app.state.counts, body_timeout=config.body_timeout_s)
    app.state.backend = backend
    return app
