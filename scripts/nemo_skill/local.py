"""Offline mode: the local backend started in this process on a loopback port, for one command."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nemo_skill import errors

INSTALL_HINT = "Install the local backend: python3 -m pip install -e '{folder}[local]'"


@contextmanager
def backend_errors(folder: Path, port: int | None = None) -> Iterator[None]:
    """Turn what can go wrong when the local backend starts into one clear error each."""
    try:
        yield
    except ImportError as exc:
        raise errors.DependencyError(f"local mode needs the package {exc.name}",
                                     hint=INSTALL_HINT.format(folder=folder)) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise errors.UsageError(f"port {port} is already in use", hint="Choose another with --port.") from None
        raise
    except RuntimeError as exc:   # nemo_local.media.FFmpegMissing and a server that did not start
        raise errors.DependencyError(str(exc)) from None


def start(folder: Path, data_dir: Path | None = None, jobs: int = 0, chunk_seconds: float = 30.0) -> Any:
    """Start the backend in a thread; returns a handle with .url and .stop(). With `jobs` > 1, renders longer
    than two chunks are drawn in chunks by that many processes."""
    with backend_errors(folder):
        from nemo_local.service import config, server  # the [local] extra, only in local mode

        return server.start_in_thread(config.ServerConfig(data_dir=data_dir or config.default_data_dir(),
                                                          chunk_jobs=jobs, chunk_seconds=chunk_seconds))
