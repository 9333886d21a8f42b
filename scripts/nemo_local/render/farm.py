"""Chunks rendered by worker processes on this machine (`make --local --jobs N`, `serve --jobs N`)."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nemo_local.render.base import Cancelled
from nemo_local.render.chunks import FarmLost, Part, PartResult, render_part
from nemo_local.render.compose import Scene

POLL_S = 0.2


@dataclass(frozen=True)
class FileStop:
    """Cancel across processes: the render is cancelled once this file exists."""

    path: Path

    def is_set(self) -> bool:
        return self.path.exists()


class LocalFarm:
    """`jobs` worker processes (started fresh, not forked from a threaded server), kept for the next render."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def slots(self) -> int:
        return self.jobs

    def _executor(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = cf.ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def run(self, scene: Scene, parts: list[Part], cancelled: Callable[[], bool],
            done: Callable[[PartResult], None]) -> dict[int, PartResult]:
        finished: dict[int, PartResult] = {}
        with tempfile.TemporaryDirectory(prefix="nemo-stop-") as folder:
            stop = FileStop(Path(folder) / "cancelled")
            pending: set[cf.Future[PartResult]] = set()
            try:
                pending = {self._executor().submit(render_part, scene, part, None, stop) for part in parts}
                try:
                    while pending:
                        ready, pending = cf.wait(pending, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
                        for future in ready:
                            result = future.result()      # a chunk's RenderError stops the render
                            finished[result.number] = result
                            done(result)
                        if pending and cancelled():
                            raise Cancelled()
                except BaseException:
                    stop.path.touch()                     # running chunks stop within 15 frames
                    for future in pending:
                        future.cancel()
                    cf.wait(pending, timeout=60)
                    raise
            except cf.process.BrokenProcessPool as exc:
                with self._lock:
                    self._pool = None
                raise FarmLost(f"a chunk worker process died ({exc})", finished) from None
        return finished

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
