"""The local backend's ASGI app: every route wired to its handler, the server key, the request log, and the
parts each route shares (the records, the faults, the analyses and the render queue)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_local.service import admin, chat, renders, routes, uploads
from nemo_local.service.analyses import Analyses
from nemo_local.service.config import ServerConfig
from nemo_local.service.faults import Faults
from nemo_local.service.http import Backend, Denied, denied_response
from nemo_local.service.store import Store
from nemo_local.service.worker import RenderWorker

log = logging.getLogger("nemo_local")
Handler = Callable[[Request, Backend], Awaitable[Response]]


def server_key(backend: Backend, request: Request) -> None:
    """A server bound beyond loopback has a key; every API request must carry it in X-Server-Key."""
    key = backend.config.server_key
    if key and not secrets.compare_digest(request.headers.get("x-server-key", "").encode(), key.encode()):
        raise Denied(status=401, message="this server needs its key in X-Server-Key (set NEMO_SERVER_KEY)")


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
    analyses = Analyses()
    backend = Backend(config, store, Faults(), RenderWorker(store, config, analyses), analyses)

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

    table = [
        route("/api/auth/anonymous-token", routes.anonymous_token, ["POST"]),
        route("/api/tasks/me/with-session/nemo_agent", routes.create_session, ["POST"]),
        route("/run_sse", chat.run_sse, ["POST"]),
        route("/api/upload-video/nemo_agent/me/{session_id}", routes.upload, ["POST"]),
        route("/api/credits/balance/simple", routes.credits, ["GET"]),
        route("/api/state/nemo_agent/me/{session_id}/latest", routes.state, ["GET"]),
        route("/api/render/proxy/lambda", renders.start, ["POST"]),
        route("/api/render/proxy/lambda/{render_id}", renders.status, ["GET"]),
        route("/api/render/proxy/lambda/{render_id}/cancel", renders.cancel, ["POST"]),
        # Media links are unguessable capabilities, like a CDN's: no key or token is sent for them.
        route("/media/renders/{key}/{name}", renders.output, ["GET", "HEAD"], "render_output", keyed=False),
        route("/media/files/{key}/{name}", routes.file_media, ["GET", "HEAD"], "file_media", keyed=False),
        route("/healthz", routes.health, ["GET"], keyed=False),
        route("/_local/faults", admin.control, ["GET", "POST", "DELETE"]),
        route("/_local/admin/{action}", admin.control, ["GET", "POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        backend.worker.start()
        try:
            yield {}
        finally:
            await asyncio.to_thread(backend.worker.stop)
            backend.store.close()

    app = Starlette(routes=table, lifespan=lifespan)
    app.state.counts = Counter()
    app.add_middleware(RequestLog, counts=app.state.counts, body_timeout=config.body_timeout_s)
    app.state.backend = backend
    return app
