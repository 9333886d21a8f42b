"""The API's own routes: anonymous tokens, sessions, credits, the session state, uploads and the uploaded files'
media links. Chat (`chat`) and renders (`renders`) have modules of their own; `app` wires them all."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from nemo_local.media import ffmpeg
from nemo_local.service import uploads
from nemo_local.service.http import (
    Backend,
    Denied,
    authenticate,
    check_fault,
    iso,
    json_body,
    ok,
    own_session,
    text_field,
)


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
        for (item, _, kind), info in zip(accepted, infos, strict=True):
            await asyncio.to_thread(uploads.check_media, item, kind, info)
    except uploads.UploadError as exc:
        uploads.discard(incoming)
        raise Denied(exc.code, message=str(exc)) from None
    result = []
    for (item, _ext, kind), info in zip(accepted, infos, strict=True):
        file_id, key = "f_" + secrets.token_hex(8), secrets.token_urlsafe(18)
        folder = cfg.files_dir / file_id
        folder.mkdir(mode=0o700)
        final = folder / item.filename
        item.path.replace(final)
        backend.store.add_file(file_id, user["user_id"], session["session_id"], item.filename, kind, final,
                               item.size, info.as_dict(), key, item.digest.hexdigest())
        if info.has_audio:
            backend.analyses.start(final)
        result.append({
            "file_id": file_id, "filename": item.filename, "file_type": kind, "size": item.size,
            "cdn_url": str(request.url_for("file_media", key=key, name=item.filename)),
            "duration": info.duration, "width": info.width, "height": info.height, "fps": info.fps,
            "has_audio": info.has_audio,
            "hash": file_id,
        })
    return ok({"files": result, "session_state_applied": True})


async def file_media(request: Request, backend: Backend) -> Response:
    row = backend.store.one("SELECT * FROM files WHERE access_key=?", request.path_params["key"])
    if row is None:
        raise Denied(status=404, message="no such file")
    return FileResponse(row["path"], filename=row["filename"], headers={"X-Content-Type-Options": "nosniff"})


async def health(request: Request, backend: Backend) -> Response:
    """Alive, and what it is: a client pointed at a loopback address asks, to know whether it talks to the local
    renderer or to a server that behaves like the cloud (`serve --cloud-emulation`)."""
    return JSONResponse({"ok": True, "service": "nemo-local", "cloud_emulation": backend.config.cloud_emulation})


