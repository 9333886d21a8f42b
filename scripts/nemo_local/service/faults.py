"""Fault injection: make chosen endpoints misbehave in documented ways, for tests and demos.

Switched on with `serve --enable-faults` (or ServerConfig.enable_faults) and driven over HTTP:
`POST /_local/faults` with one fault as JSON, `GET` to list, `DELETE` to clear. See README.md.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

ROUTES = {"token", "session", "chat", "upload", "credits", "state", "render_start", "render_status",
          "render_cancel", "download", "*"}
SSE_MODES = {"drop", "heartbeats_only", "malformed", "no_text", "gui", "question"}


@dataclass
class Fault:
    route: str
    code: int | None = None          # a backend code in the answer's envelope
    status: int | None = None        # an HTTP status
    message: str | None = None
    retry_after: float | None = None
    sse: str | None = None           # chat only: one of SSE_MODES
    after: int = 1                   # sse=drop: events sent before the stream breaks
    seconds: float = 1.0             # sse=heartbeats_only: how long to send heartbeats
    delay: float = 0.0               # render_start: seconds the worker waits before rendering
    fail: str | None = None          # render_start: the render fails with this reason
    uncapped: bool = False           # render_start: the size cap is ignored (as a renderer that misses it would)
    times: int = 1                   # how many requests it affects; -1 = until cleared

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Fault:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        fault = cls(**data)
        if fault.route not in ROUTES:
            raise ValueError(f"route must be one of {', '.join(sorted(ROUTES))}")
        if fault.sse is not None and (fault.route != "chat" or fault.sse not in SSE_MODES):
            raise ValueError(f"sse faults need route 'chat' and one of {', '.join(sorted(SSE_MODES))}")
        if (fault.delay or fault.fail or fault.uncapped) and fault.route != "render_start":
            raise ValueError("delay, fail and uncapped go with route 'render_start'")
        return fault


class Faults:
    """The armed faults; each request takes at most one that matches its route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._items.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._items]

    def take(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._items:
                if fault.route in (route, "*"):
                    if fault.times > 0:
                        fault.times -= 1
                        if fault.times == 0:
                            self._items.remove(fault)
                    return fault
        return None
