"""Fault injection and test controls (`serve --enable-faults`): loopback Host only, the server's secret, JSON."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nemo_local.service.faults import Fault
from nemo_local.service.http import Backend, Denied, iso, json_body
from nemo_skill.hosts import is_loopback


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


async def control(request: Request, backend: Backend) -> Response:
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


