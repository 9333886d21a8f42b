"""The render worker: one thread that takes queued renders, runs the renderer and settles their credits."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nemo_local.config import ServerConfig
from nemo_local.render import Cancelled, RenderError, RenderJob, get_renderer
from nemo_local.store import Store

log = logging.getLogger("nemo_local")


@dataclass
class Ticket:
    user_id: str
    render_id: str
    delay: float = 0.0
    fail: str | None = None


def output_path(config: ServerConfig, access_key: str) -> Path:
    return config.renders_dir / f"{access_key}.mp4"


class RenderWorker:
    def __init__(self, store: Store, config: ServerConfig) -> None:
        self.store = store
        self.config = config
        self.renderer = get_renderer()
        self._queue: queue.Queue[Ticket | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="render-worker", daemon=True)

    def start(self) -> None:
        """Start the thread; renders a previous run left unfinished are done again from the start."""
        for part in self.config.renders_dir.glob("*.part.mp4"):
            part.unlink(missing_ok=True)
        for row in self.store.unfinished_renders():
            self._queue.put(Ticket(row["user_id"], row["render_id"]))
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def submit(self, ticket: Ticket) -> None:
        self._queue.put(ticket)

    def _loop(self) -> None:
        while True:
            ticket = self._queue.get()
            if ticket is None:
                return
            try:
                self._run(ticket)
            except Exception:  # never let one render stop the worker
                log.exception("render %s crashed", ticket.render_id)
                self.store.finish_render(ticket.user_id, ticket.render_id, "failed", error="internal render error")

    def _cancelled(self, ticket: Ticket) -> bool:
        row = self.store.render(ticket.user_id, ticket.render_id)
        return row is None or bool(row["cancel"])

    def _run(self, ticket: Ticket) -> None:
        row = self.store.render(ticket.user_id, ticket.render_id)
        if row is None or row["status"] not in ("pending", "processing"):
            return
        deadline = time.monotonic() + ticket.delay
        while time.monotonic() < deadline:
            if self._cancelled(ticket):
                break
            time.sleep(0.05)
        if self._cancelled(ticket):
            self.store.finish_render(ticket.user_id, ticket.render_id, "cancelled", error="cancelled by the user")
            return
        if ticket.fail:
            self.store.finish_render(ticket.user_id, ticket.render_id, "failed", error=ticket.fail)
            return
        self.store.set_progress(ticket.user_id, ticket.render_id, "processing", 10)
        sources = {f["file_id"]: Path(f["path"]) for f in self.store.files(row["session_id"])
                   if f["user_id"] == ticket.user_id}
        final = output_path(self.config, row["access_key"])
        part = final.with_suffix(".part.mp4")
        last = [10]

        def progress(fraction: float) -> None:
            value = 10 + int(fraction * 89)
            if value != last[0]:
                last[0] = value
                self.store.set_progress(ticket.user_id, ticket.render_id, "processing", value)

        job = RenderJob(draft=json.loads(row["draft"]), sources=sources, output=part, fps=self.config.fps,
                        max_side=self.config.render_max_side, preset=self.config.x264_preset,
                        progress=progress, cancelled=lambda: self._cancelled(ticket))
        started = time.monotonic()
        try:
            self.renderer.render(job)
            part.replace(final)
        except Cancelled:
            part.unlink(missing_ok=True)
            self.store.finish_render(ticket.user_id, ticket.render_id, "cancelled", error="cancelled by the user")
            return
        except RenderError as exc:
            part.unlink(missing_ok=True)
            self.store.finish_render(ticket.user_id, ticket.render_id, "failed", error=str(exc))
            return
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        log.info("render %s done in %.1fs", ticket.render_id, time.monotonic() - started)
        self.store.finish_render(ticket.user_id, ticket.render_id, "completed", output_path=str(final))
