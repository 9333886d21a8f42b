"""Each uploaded file analysed once, and the result handed on: the upload starts the analysis in the background,
and the director (the montage, the best clip), the preview and the render all ask here. A request for a file
whose analysis is running waits for it instead of starting a second one; a finished one is kept for the next
asker (a few at a time: the file cache beside the upload keeps them all, across restarts too)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as Pending
from pathlib import Path

from nemo_local.analysis import Analysis, analyse
from nemo_local.media import procs

log = logging.getLogger("nemo_local")
KEEP = 4                  # finished analyses held in memory (about 15 KB a second of audio each)
POLL_S = 0.2              # how often a waiting asker checks whether it should stop waiting


class Interrupted(Exception):
    """The asker stopped waiting for an analysis (its render was cancelled, ran out of time, or the server stops)."""


def _failed(path: Path, done: Future[Analysis]) -> None:
    """A file that cannot be analysed fails its render later, with a reason; here it is only logged."""
    if not done.cancelled() and done.exception() is not None:
        log.debug("background analysis of %s failed", path.name, exc_info=done.exception())


class Analyses:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: OrderedDict[Path, Future[Analysis]] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analysis")
        self._group = procs.Group()      # the background analyses' ffmpeg, killed when the service stops

    def _background(self, path: Path) -> Analysis:
        with procs.tracked(self._group):
            return analyse(path)

    def _future(self, path: Path, background: bool) -> Future[Analysis]:
        with self._lock:
            found = self._known.get(path)
            if found is not None and not (found.done() and found.exception() is not None):
                self._known.move_to_end(path)
                return found
            future: Future[Analysis] = self._pool.submit(self._background, path) if background else Future()
            self._known[path] = future
            while len(self._known) > KEEP and next(iter(self._known.values())).done():
                self._known.popitem(last=False)
        if not background:   # the asker's own thread does the work: no pool thread waits on another
            try:
                future.set_result(analyse(path))
            except BaseException as exc:
                future.set_exception(exc)
        return future

    def start(self, path: Path) -> None:
        """Begin analysing an upload in the background, so the first preview or render finds it ready."""
        try:
            future = self._future(path, background=True)
        except RuntimeError:      # shut down
            return
        future.add_done_callback(lambda done: _failed(path, done))

    def get(self, path: Path, stop: Callable[[], bool] = lambda: False) -> Analysis:
        """The analysis of a file: the one running or done, else computed now (raises what `analyse` raises).
        Waiting for one running in the background ends with Interrupted as soon as `stop()` says so."""
        future = self._future(path, background=False)
        while True:
            try:
                return future.result(timeout=POLL_S)
            except Pending:
                if stop():
                    raise Interrupted(f"stopped waiting for the analysis of {path.name}") from None

    def close(self) -> None:
        """Stop: nothing new starts, and a running background analysis is killed (its asker gets its error)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._group.kill()
