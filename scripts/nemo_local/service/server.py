"""Running the local backend: in the foreground (`nemo.py serve`) or in a thread for one command or a test."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from nemo_local.media.ffmpeg import ffmpeg_exe
from nemo_local.service.app import create_app
from nemo_local.service.config import ServerConfig
from nemo_local.service.guard import guarded_protocol
from nemo_skill.hosts import is_loopback


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(config: ServerConfig, quiet: bool) -> uvicorn.Server:
    ffmpeg_exe()  # fail early, with one clear line, when ffmpeg is missing
    app = create_app(config)
    level = logging.WARNING if quiet else logging.INFO
    logger = logging.getLogger("nemo_local")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s nemo-local %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                         timeout_graceful_shutdown=5, http=guarded_protocol(config.header_timeout_s),
                                         limit_concurrency=config.max_connections, timeout_keep_alive=5))


class UnsafeBind(ValueError):
    """Serving beyond loopback without a server key."""


def write_admin_secret(config: ServerConfig) -> Path:
    """The fault-injection secret, in a 0600 file of the data dir (its value is never printed or logged)."""
    path = config.data_dir / "admin-secret"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(config.admin_secret + "\n")
    return path


def serve(config: ServerConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until interrupted. Beyond loopback only with a server key, and with a warning."""
    log = logging.getLogger("nemo_local")
    shown = f"[{host}]" if ":" in host else host
    loopback = is_loopback(f"http://{shown}")
    if not loopback and not config.server_key:
        raise UnsafeBind(f"serving on {host} would let anyone on the network use this machine's renderer")
    sock = _bind(host, port)
    server = _server(config, quiet=False)
    if not loopback:
        log.warning("WARNING: serving on %s, reachable from the network; every API request needs the key in "
                    "X-Server-Key (NEMO_SERVER_KEY). Outputs download from unguessable links.", shown)
    if config.enable_faults:
        config.prepare()
        log.info("fault injection is on; admin routes need X-Admin-Secret from %s", write_admin_secret(config))
    log.info("serving on http://%s:%d (data in %s)", shown, sock.getsockname()[1], config.data_dir)
    server.run(sockets=[sock])


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_in_thread(config: ServerConfig, host: str = "127.0.0.1", port: int = 0, quiet: bool = True,
                    timeout: float = 20.0) -> RunningServer:
    """Start the backend on a free loopback port in a daemon thread; returns once it answers."""
    sock = _bind(host, port)
    server = _server(config, quiet=quiet)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="nemo-local", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local backend did not start")
        time.sleep(0.01)
    return RunningServer(f"http://{host}:{sock.getsockname()[1]}", server, thread)
