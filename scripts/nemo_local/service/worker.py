"""The render workers: threads that take queued renders, run the renderer and settle their credits.

No render can hold the queue: several run at once when the machine has the cores (`ServerConfig.render_workers`),
each has a wall-clock budget proportional to its length, and a watchdog kills the render's whole ffmpeg process
groups when the budget runs out, when the user cancels, or when the server shuts down.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nemo_local.media import procs
from nemo_local.render import Cancelled, RenderError, RenderJob, get_renderer
from nemo_local.render.chunks import Farm
from nemo_local.render.cluster import DaskFarm, TlsFiles
from nemo_local.render.farm import LocalFarm
from nemo_local.service.analyses import Analyses
from nemo_local.service.config import ServerConfig
from nemo_local.service.store import Store

log = logging.getLogger("nemo_local")
WATCH_EVERY_S = 0.2


def farm_for(config: ServerConfig) -> Farm | None:
    """Where chunks of long renders go: the Dask cluster, else processes here, else nowhere (one pass each).
    Raises ClusterRefused when the cluster's address is unsafe or cannot be reached."""
    if config.cluster:
        tls = TlsFiles(*config.cluster_tls) if config.cluster_tls else None
        return DaskFarm(config.cluster, tls, config.cluster_allow_public)
    if config.chunk_jobs > 1:
        return LocalFarm(config.chunk_jobs)
    return None


@dataclass
class Ticket:
    user_id: str
    render_id: str
    delay: float = 0.0
    fail: str | None = None
    uncapped: bool = False      # fault injection: render as if the size cap were not there


def output_path(config: ServerConfig, access_key: str) -> Path:
    return config.renders_dir / f"{access_key}.mp4"


def poster_path(config: ServerConfig, access_key: str) -> Path:
    return config.renders_dir / f"{access_key}.jpg"


CAPTION_FORMATS = ("srt", "vtt", "lrc")     # LRC for lyrics only


def captions_path(config: ServerConfig, access_key: str, ext: str) -> Path:
    """The render's SubRip, WebVTT or (lyrics) LRC file beside its MP4."""
    return config.renders_dir / f"{access_key}.{ext}"


def budget_seconds(config: ServerConfig, draft_ms: float) -> float:
    """How long a render of this many milliseconds may take before it is stopped."""
    return config.render_budget_base_s + config.render_budget_factor * max(0.0, draft_ms) / 1000


class Watch:
    """Why a running render must stop, checked by the frame loop and enforced by the watchdog."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.group = procs.Group()
        self.reason: str | None = None       # "cancelled", "budget" or "shutdown"
        self.done = threading.Event()

    def stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.group.kill()


class RenderWorker:
    def __init__(self, store: Store, config: ServerConfig, analyses: Analyses) -> None:
        self.store = store
        self.config = config
        self.analyses = analyses
        self.renderer = get_renderer(farm_for(config), config.chunk_seconds)
        self._queue: queue.Queue[Ticket | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._loop, name=f"render-worker-{i}", daemon=True)
                         for i in range(max(1, config.render_workers))]
        self._running: dict[str, Watch] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        """Start the threads; renders a previous run left unfinished are done again from the start."""
        for pattern in ("*.part.mp4", "*.part.jpg", "*.part.srt", "*.part.vtt", "*.part.wav"):
            for part in self.config.renders_dir.glob(pattern):
                part.unlink(missing_ok=True)
        for row in self.store.unfinished_renders():
            self._queue.put(Ticket(row["user_id"], row["render_id"]))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work, kill what runs (it is done again at the next start) and wait for the threads."""
        self._stopping.set()
        self.analyses.close()
        with self._lock:
            for watch in self._running.values():
                watch.stop("shutdown")
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=max(0.1, deadline - time.monotonic()))
        self.renderer.close()

    def submit(self, ticket: Ticket) -> None:
        self._queue.put(ticket)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            ticket = self._queue.get()
            if ticket is None or self._stopping.is_set():
                return
            try:
                self._run(ticket)
            except Exception:  # never let one render stop the worker
                log.exception("render %s crashed", ticket.render_id)
                self.store.finish_render(ticket.user_id, ticket.render_id, "failed", error="internal render error")

    def _cancelled(self, ticket: Ticket) -> bool:
        row = self.store.render(ticket.user_id, ticket.render_id)
        return row is None or bool(row["cancel"])

    def _wait(self, ticket: Ticket) -> None:
        deadline = time.monotonic() + ticket.delay
        while time.monotonic() < deadline and not self._stopping.is_set() and not self._cancelled(ticket):
            time.sleep(0.05)

    def _watchdog(self, ticket: Ticket, watch: Watch) -> None:
        while not watch.done.wait(WATCH_EVERY_S):
            if self._stopping.is_set():
                watch.stop("shutdown")
            elif time.monotonic() > watch.deadline:
                watch.stop("budget")
            elif self._cancelled(ticket):
                watch.stop("cancelled")

    def _run(self, ticket: Ticket) -> None:
        row = self.store.render(ticket.user_id, ticket.render_id)
        if row is None or row["status"] not in ("pending", "processing"):
            return
        self._wait(ticket)
        if self._stopping.is_set():
            return
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
        poster = poster_path(self.config, row["access_key"])
        poster_part = poster.with_suffix(".part.jpg")
        captions_base = final.with_suffix(".part")      # the renderer adds .srt and .vtt
        draft = json.loads(row["draft"])
        if ticket.uncapped:
            draft.get("m", {}).pop("max_bytes", None)
        budget = budget_seconds(self.config, float(draft.get("d") or 0))
        watch = Watch(time.monotonic() + budget)
        last = [10]

        def progress(fraction: float) -> None:
            value = 10 + int(fraction * 89)
            if value != last[0]:
                last[0] = value
                self.store.set_progress(ticket.user_id, ticket.render_id, "processing", value)

        job = RenderJob(draft=draft, sources=sources, output=part, fps=self.config.fps,
                        max_side=self.config.render_max_side, preset=self.config.x264_preset,
                        progress=progress, cancelled=lambda: watch.reason is not None, poster=poster_part,
                        captions=captions_base,
                        analysis=lambda path: self.analyses.get(path, lambda: watch.reason is not None))
        with self._lock:
            self._running[ticket.render_id] = watch
        dog = threading.Thread(target=self._watchdog, args=(ticket, watch), name="render-watchdog", daemon=True)
        dog.start()
        started = time.monotonic()
        error: str | None = None
        try:
            with procs.tracked(watch.group):
                rendered = self.renderer.render(job)
            if watch.reason is None:
                if poster_part.exists():
                    poster_part.replace(poster)
                for ext in CAPTION_FORMATS:
                    if captions_base.with_suffix(f".part.{ext}").exists():
                        captions_base.with_suffix(f".part.{ext}").replace(captions_path(self.config,
                                                                                        row["access_key"], ext))
                part.replace(final)
        except Exception as exc:
            if not isinstance(exc, Cancelled | RenderError) and watch.reason is None:
                raise   # a bug: the worker loop logs it and fails the render
            error = str(exc) if isinstance(exc, RenderError) else None
        finally:
            watch.done.set()
            dog.join()
            with self._lock:
                self._running.pop(ticket.render_id, None)
            watch.group.kill()   # nothing this render started outlives it
            part.unlink(missing_ok=True)
            poster_part.unlink(missing_ok=True)
            for ext in CAPTION_FORMATS:
                captions_base.with_suffix(f".part.{ext}").unlink(missing_ok=True)
        if watch.reason == "shutdown":
            log.info("render %s stopped by shutdown; it runs again at the next start", ticket.render_id)
            return
        if watch.reason == "cancelled":
            self.store.finish_render(ticket.user_id, ticket.render_id, "cancelled", error="cancelled by the user")
            return
        if watch.reason == "budget":
            log.warning("render %s stopped after its %.0f s budget", ticket.render_id, budget)
            self.store.finish_render(ticket.user_id, ticket.render_id, "failed",
                                     error=f"the render took longer than its {budget:.0f} s budget and was "
                                           "stopped; try a shorter clip or a smaller size")
            return
        if error is not None:
            self.store.finish_render(ticket.user_id, ticket.render_id, "failed", error=error)
            return
        log.info("render %s done in %.1fs", ticket.render_id, time.monotonic() - started)
        self.store.finish_render(ticket.user_id, ticket.render_id, "completed", output_path=str(final),
                                 settings=rendered.as_dict())
