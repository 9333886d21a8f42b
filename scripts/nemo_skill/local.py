"""Offline mode: the local backend started in this process on a loopback port, for one command."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nemo_skill import errors

INSTALL_HINT = "Install the local backend: python3 -m pip install -e '{folder}[local]'"


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start(folder: Path, data_dir: Path | None = None) -> Any:
    """Start the backend in a thread; returns a handle with .url and .stop()."""
    try:
        from nemo_local.config import ServerConfig, default_data_dir
        from nemo_local.media import FFmpegMissing
        from nemo_local.server import start_in_thread
    except ImportError as exc:
        raise errors.DependencyError(f"local mode needs the package {exc.name}",
                                     hint=INSTALL_HINT.format(folder=folder)) from None
    config = ServerConfig(data_dir=data_dir or default_data_dir())
    try:
        return start_in_thread(config)
    except FFmpegMissing as exc:
        raise errors.DependencyError(str(exc)) from None
