"""What every route shares: the backend's parts, the two envelopes, authentication and fault answers."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from nemo_local.draft import depth
from nemo_local.service.config import ServerConfig
from nemo_local.service.faults import Fault, Faults
from nemo_local.service.store import Store

if TYPE_CHECKING:   # the worker brings numpy and the analysis; routes need only its type here
    from nemo_local.service.analyses import Analyses
    from nemo_local.service.worker import RenderWorker

# The HTTP status that goes with each backend code when this server answers with it.
CODE_STATUS = {1001: 401, 1002: 404, 2001: 200, 4001: 400, 4002: 413}
CODE_MESSAGE = {
    1001: "Invalid or expired token",
    1002: "Session not found",
    2001: "Insufficient credits",
    4001: "Unsupported file type",
    4002: "File too large",
}
STATUS_MESSAGE = {
    400: "X-Client-Id header is required",
    401: "Unauthorized",
    402: "Free plan export blocked: register or upgrade your plan to unlock export",
    404: "Not found",
    413: "Request body too large",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


@dataclass
class Backend:
    config: ServerConfig
    store: Store
    faults: Faults
    worker: RenderWorker
    analyses: Analyses


class Denied(Exception):
    """Raised inside a route to answer with an error envelope."""

    def __init__(self, code: int | None = None, status: int | None = None, message: str | None = None,
                 retry_after: float | None = None) -> None:
        self.code = code
        self.status = status if status is not None else CODE_STATUS.get(code or 0, 400)
        self.message = message or CODE_MESSAGE.get(code or 0) or STATUS_MESSAGE.get(self.status, "Error")
        self.retry_after = retry_after
        super().__init__(self.message)

    @classmethod
    def from_fault(cls, fault: Fault) -> Denied:
        return cls(fault.code, fault.status, fault.message, fault.retry_after)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "message": "success", "data": data})


def render_ok(data: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data})


def denied_response(exc: Denied, render_envelope: bool) -> JSONResponse:
    headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after is not None else None
    code = exc.code if exc.code is not None else exc.status
    if render_envelope:
        body: dict[str, Any] = {"success": False, "code": code, "error": exc.message}
    else:
        body = {"code": code, "message": exc.message, "data": None}
    if exc.code is None and exc.status >= 400:
        body["detail"] = exc.message
    return JSONResponse(body, status_code=exc.status, headers=headers)


def check_fault(backend: Backend, route: str) -> Fault | None:
    """Take an armed fault for this route: error faults raise Denied, others are returned to the route."""
    if not backend.config.enable_faults:
        return None
    fault = backend.faults.take(route)
    if fault is not None and (fault.code is not None or fault.status is not None):
        raise Denied.from_fault(fault)
    return fault


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate(backend: Backend, request: Request) -> sqlite3.Row:
    token = bearer(request)
    user = backend.store.user_for_token(token) if token else None
    if user is None:
        raise Denied(1001, message="Invalid or expired token: get a new anonymous token")
    return user


def own_session(backend: Backend, user: sqlite3.Row, session_id: str) -> sqlite3.Row:
    row = backend.store.session(user["user_id"], session_id)
    if row is None:
        raise Denied(1002, message="Session not found: create a new session")
    return row


MAX_JSON_BYTES = 1 << 20          # every JSON body; a draft is limited further by nemo_local.draft
MAX_JSON_DEPTH = 32


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def json_body(request: Request, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The body as a JSON object, read up to `limit` bytes; anything else is a 4xx with a message."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Denied(status=413, message=f"the JSON body is larger than {limit // 1024} KB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Denied(status=413, message=f"the JSON body is larger than {limit // 1024} KB")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Denied(status=400, message="the body is not valid JSON (NaN and Infinity are not JSON)") from None
    if not isinstance(data, dict):
        raise Denied(status=400, message="the body must be a JSON object")
    if depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise Denied(status=400, message=f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def text_field(body: dict[str, Any], key: str, default: str, limit: int) -> str:
    """A string field of a JSON body, at most `limit` characters (HTTP 400 otherwise)."""
    value = body.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise Denied(status=400, message=f"{key} must be a string")
    if len(value) > limit:
        raise Denied(status=400, message=f"{key} is longer than {limit} characters")
    return value
