"""What a command prints: data on stdout (text lines, or one JSON object with --json), diagnostics and progress
on stderr. Backend text passes through `text.printable` first: it is data, never bytes that drive a terminal."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Protocol

from nemo_skill.text import json_safe, printable


class Status(Protocol):
    status: str
    progress: int | None


class Out:
    """Prints results: text lines, or one JSON object at the end with --json."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.data: dict[str, Any] = {}

    def line(self, text: str) -> None:
        if not self.as_json:
            print(printable(text), flush=True)

    def put(self, **values: Any) -> None:
        self.data.update(values)

    def finish(self) -> None:
        if self.as_json:
            print(json_safe(json.dumps(self.data, ensure_ascii=False, default=str)))


def notice(text: str) -> None:
    """A diagnostic or progress line on stderr."""
    print(printable(text), file=sys.stderr, flush=True)


class Progress:
    """Render progress on stderr: percent and an ETA every 10 %, or one JSON line per update with --json."""

    def __init__(self, render_id: str, as_json: bool) -> None:
        self.render_id, self.as_json = render_id, as_json
        self.started: float | None = None
        self.first = 0
        self.shown = -10

    def eta(self, percent: int) -> float | None:
        now = time.monotonic()
        if self.started is None:
            self.started, self.first = now, percent
            return None
        done = percent - self.first
        if done <= 0 or percent >= 100:
            return None
        return (now - self.started) / done * (100 - percent)

    def update(self, status: Status) -> None:
        if status.progress is None:
            return
        eta = self.eta(status.progress)
        if self.as_json and status.progress != self.shown:
            self.shown = status.progress
            print(json.dumps({"event": "progress", "render_id": self.render_id, "status": status.status,
                              "percent": status.progress, "eta_seconds": round(eta) if eta else None}),
                  file=sys.stderr, flush=True)
        elif not self.as_json and status.progress >= self.shown + 10:
            self.shown = status.progress
            left = f", about {eta:.0f} s left" if eta is not None else ""
            notice(f"  {status.status} {status.progress}%{left}")
