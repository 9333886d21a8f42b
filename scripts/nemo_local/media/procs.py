"""Child processes (ffmpeg) in their own process groups, tracked per thread, so a render can be stopped whole.

Every ffmpeg the backend starts goes through `popen` or `run`. Each child leads a new process group; a thread
that runs a render opens a `Group`, and whatever that thread starts is registered in it. `Group.kill()` (from any
thread: a watchdog, cancel, shutdown) kills every registered group with SIGKILL, so a stuck encoder cannot keep
a render, its worker or the server's shutdown waiting.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

_local = threading.local()


class Group:
    """The child processes one thread started while the group was open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen[bytes]] = []
        self.killed = False

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs = [p for p in self._procs if p.poll() is None]
            self._procs.append(proc)
            killed = self.killed
        if killed:   # started after kill(): do not let it run
            _kill(proc)

    def kill(self) -> None:
        with self._lock:
            self.killed = True
            procs = list(self._procs)
        for proc in procs:
            _kill(proc)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()


@contextlib.contextmanager
def tracked(group: Group) -> Iterator[Group]:
    """Register every child this thread starts inside the block in `group`."""
    previous = getattr(_local, "group", None)
    _local.group = group
    try:
        yield group
    finally:
        _local.group = previous


def current() -> Group | None:
    """This thread's open Group, to hand to a helper thread (which then opens it with `tracked`)."""
    return getattr(_local, "group", None)


def popen(cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen in a new process group, registered with this thread's open Group."""
    proc: subprocess.Popen[bytes] = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    group: Group | None = getattr(_local, "group", None)
    if group is not None:
        group.add(proc)
    return proc


def run(cmd: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run with output captured, killed (whole group) at the timeout or when its Group is killed."""
    proc = popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        out, err = proc.communicate()
    except BaseException:
        _kill(proc)
        proc.wait()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode if proc.returncode is not None else -9, out, err)
