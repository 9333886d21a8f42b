"""Settings of one local backend instance."""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR_ENV = "NEMO_LOCAL_DATA_DIR"
CLOUD_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
DISK_RESERVE_BYTES = 512 * 1024 * 1024     # an upload never leaves less than this free on the data disk


def default_workers() -> int:
    """Two renders at once on two cores (a short one never waits behind a long one), more on bigger machines."""
    return max(2, min(4, (os.cpu_count() or 2) // 2))


def default_data_dir() -> Path:
    """Where the local backend keeps its database and files unless told otherwise."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nemo-skill" / "local-backend"


@dataclass
class ServerConfig:
    data_dir: Path = field(default_factory=default_data_dir)
    token_ttl_seconds: int = 7 * 24 * 3600
    token_rate_window_seconds: int = 7 * 24 * 3600
    # Local mode is free and unlimited. Cloud emulation (tests, `serve --cloud-emulation`) brings back the
    # cloud's rules: credits frozen and charged per render, the 200 MB upload limit and the cloud's formats.
    cloud_emulation: bool = False
    initial_credits: int = 100
    seconds_per_credit: float = 10.0       # a render costs one credit per started 10 s of output
    max_upload_bytes: int | None = None    # None: as much as the disk allows (local); the cloud's is 200 MB
    heartbeat_seconds: float = 10.0
    enable_faults: bool = False
    fps: int = 30
    # For tests: render smaller than the draft asks (0 = as asked).
    render_max_side: int = 0
    x264_preset: str = "ultrafast"     # what 2 cores sustain at 1080p faster than realtime (BENCHMARKS.md)
    url_fetch_timeout: float = 30.0
    # URL uploads may not reach loopback, private or link-local addresses (such as a cloud's metadata service)
    # unless this is set; a local test server sets it to fetch from itself.
    url_fetch_private: bool = False
    max_files_per_upload: int = 20
    render_workers: int = field(default_factory=default_workers)
    render_budget_base_s: float = 120.0    # a render may take this long plus `factor` x its length, then it stops
    render_budget_factor: float = 3.0
    max_queued_renders_per_user: int = 4
    # Renders longer than two chunks are cut into chunks of `chunk_seconds` drawn on a Dask cluster (`cluster`, a
    # scheduler address; see render/cluster.py for the safety rules) or by `chunk_jobs` processes on this machine.
    # Neither set: every render is one pass in the render worker's thread, as before.
    cluster: str | None = None
    cluster_tls: tuple[Path, Path, Path] | None = None     # CA, certificate, key for a tls:// scheduler
    cluster_allow_public: bool = False
    chunk_jobs: int = 0
    chunk_seconds: float = 30.0
    # Fault injection and test controls need this secret in X-Admin-Secret (written 0600 to the data dir).
    admin_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # When set, every API request needs it in X-Server-Key: required to serve beyond loopback.
    server_key: str | None = None
    # Abuse limits of the HTTP server: a connection must send its request head within `header_timeout_s`,
    # and each part of its body within `body_timeout_s`; at most `max_connections` are served at once.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_connections: int = 256

    def upload_limit(self) -> int:
        """The most bytes one upload may have now: the configured limit, else what the disk can spare."""
        if self.cloud_emulation:
            return self.max_upload_bytes or CLOUD_MAX_UPLOAD_BYTES
        if self.max_upload_bytes:
            return self.max_upload_bytes
        free = shutil.disk_usage(self.files_dir).free
        return max(0, free - DISK_RESERVE_BYTES)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "backend.sqlite3"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def renders_dir(self) -> Path:
        return self.data_dir / "renders"

    def prepare(self) -> None:
        for d in (self.data_dir, self.files_dir, self.renders_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
