"""Render routes: start (freezing credits), status, cancel, and the download of the finished MP4."""

from __future__ import annotations

import json
import math
import re
import secrets
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from nemo_local.draft import DraftInvalid, exportable, validate
from nemo_local.service.http import Backend, Denied, authenticate, check_fault, iso, json_body, own_session, render_ok
from nemo_local.service.worker import CAPTION_FORMATS, Ticket, captions_path, poster_path

RENDER_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")
ATTRIBUTION = ("x-skill-source", "x-skill-version", "x-skill-platform")


def render_cost(draft: dict[str, Any], seconds_per_credit: float) -> int:
    """One credit per started `seconds_per_credit` seconds of output, at least one."""
    seconds = float(draft.get("d") or 0) / 1000
    return max(1, math.ceil(seconds / seconds_per_credit))


def _status_data(request: Request, backend: Backend, row: sqlite3.Row) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row["render_id"], "status": row["status"], "progress": row["progress"],
        "createdAt": iso(row["created"]), "completedAt": iso(row["completed"]),
    }
    if row["status"] == "completed":
        data["outputUrl"] = str(request.url_for("render_output", key=row["access_key"],
                                                name=f"{row['render_id']}.mp4"))
        if poster_path(backend.config, row["access_key"]).exists():
            data["posterUrl"] = str(request.url_for("render_output", key=row["access_key"],
                                                    name=f"{row['render_id']}.jpg"))
        captions = {ext: str(request.url_for("render_output", key=row["access_key"], name=f"{row['render_id']}.{ext}"))
                    for ext in CAPTION_FORMATS if captions_path(backend.config, row["access_key"], ext).exists()}
        if captions:
            data["captions"] = captions
        if row["settings"]:
            data["settings"] = json.loads(row["settings"])   # the frame and rates used (a cap may lower them)
    if row["error"]:
        data["error"] = row["error"]
    return data


def with_output_options(draft: Any, output: Any) -> Any:
    """The draft with the request's output options (`maxBytes`, `audioKbps`) as its metadata: a size cap set at
    export time wins over the one the words set."""
    if not isinstance(draft, dict) or not isinstance(output, dict):
        return draft
    extra = {key: output[name] for name, key in (("maxBytes", "max_bytes"), ("audioKbps", "audio_kbps"),
                                                 ("preview", "preview")) if output.get(name) is not None}
    if "preview" in extra:
        extra["preview"] = bool(extra["preview"])
    if not extra:
        return draft
    meta = draft.get("m")
    return {**draft, "m": {**(meta if isinstance(meta, dict) else {}), **extra}}


async def start(request: Request, backend: Backend) -> Response:
    user = authenticate(backend, request)
    fault = check_fault(backend, "render_start")
    if user["kind"] == "anon" and not all(request.headers.get(h, "").strip() for h in ATTRIBUTION):
        raise Denied(status=402)
    body = await json_body(request)
    render_id = str(body["id"]) if isinstance(body.get("id"), str) else ""
    if not RENDER_ID.match(render_id):
        raise Denied(status=400, message="id must be 1-80 letters, digits, '_', '-' or '.', e.g. render_<ms>")
    session = own_session(backend, user, str(body.get("sessionId") or body.get("session_id") or ""))
    draft = with_output_options(body.get("draft"), body.get("output"))
    try:
        validate(draft)
    except DraftInvalid as exc:
        raise Denied(status=400, message=f"the draft is not valid: {exc}") from None
    if not isinstance(draft, dict) or not exportable(draft):
        raise Denied(status=400, message="the draft has no track with segments: nothing to export yet")
    cfg = backend.config
    if backend.store.queued_renders(user["user_id"]) >= cfg.max_queued_renders_per_user:
        raise Denied(status=429, message=f"{cfg.max_queued_renders_per_user} renders are already queued or "
                                         "running for this user: wait for one to finish", retry_after=10)
    # Local renders are free; cloud emulation charges as the cloud does.
    preview = bool((draft.get("m") or {}).get("preview"))
    cost = render_cost(draft, cfg.seconds_per_credit) if cfg.cloud_emulation and not preview else 0
    problem = backend.store.start_render(render_id, user["user_id"], session["session_id"], draft, cost,
                                         secrets.token_urlsafe(18))
    if problem == "exists":
        raise Denied(status=409, message=f"a render with id {render_id} exists: use a new id")
    if problem == "credits":
        raise Denied(2001, message=f"Insufficient credits: this render needs {cost}")
    backend.worker.submit(Ticket(user["user_id"], render_id, fault.delay if fault else 0.0,
                                 fault.fail if fault else None, bool(fault and fault.uncapped)))
    return render_ok({"id": render_id, "status": "pending", "progress": 5, "cost": cost})


def _own_render(backend: Backend, user: sqlite3.Row, render_id: str) -> sqlite3.Row:
    row = backend.store.render(user["user_id"], render_id)
    if row is None:
        raise Denied(status=404, message=f"no render {render_id}")
    return row


async def status(request: Request, backend: Backend) -> Response:
    user = authenticate(backend, request)
    check_fault(backend, "render_status")
    return render_ok(_status_data(request, backend, _own_render(backend, user, request.path_params["render_id"])))


async def cancel(request: Request, backend: Backend) -> Response:
    user = authenticate(backend, request)
    check_fault(backend, "render_cancel")
    row = _own_render(backend, user, request.path_params["render_id"])
    if row["status"] in ("pending", "processing"):
        backend.store.request_cancel(user["user_id"], row["render_id"])
        if row["status"] == "pending":
            backend.store.finish_render(user["user_id"], row["render_id"], "cancelled",
                                        error="cancelled by the user")
    row = _own_render(backend, user, row["render_id"])
    return render_ok(_status_data(request, backend, row))


async def output(request: Request, backend: Backend) -> Response:
    """The finished MP4, at an unguessable URL (like a CDN link), so no token is sent to fetch it."""
    check_fault(backend, "download")
    row = backend.store.one("SELECT * FROM renders WHERE access_key=? AND status='completed'",
                            request.path_params["key"])
    if row is None or not row["output_path"]:
        raise Denied(status=404, message="no such output")
    if request.path_params["name"].endswith(".jpg"):   # the poster beside the video
        poster = poster_path(backend.config, row["access_key"])
        if not poster.exists():
            raise Denied(status=404, message="no poster for this render")
        return FileResponse(poster, media_type="image/jpeg", filename=f"{row['render_id']}.jpg")
    ext = request.path_params["name"].rsplit(".", 1)[-1]
    if ext in CAPTION_FORMATS:   # the captions beside the video
        path = captions_path(backend.config, row["access_key"], ext)
        if not path.exists():
            raise Denied(status=404, message="no captions for this render")
        kind = {"srt": "application/x-subrip", "vtt": "text/vtt", "lrc": "text/plain; charset=utf-8"}[ext]
        return FileResponse(path, media_type=kind, filename=f"{row['render_id']}.{ext}")
    return FileResponse(row["output_path"], media_type="video/mp4", filename=f"{row['render_id']}.mp4")
