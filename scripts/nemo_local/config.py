"""Settings of one local backend instance."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR_ENV = "NEMO_LOCAL_DATA_DIR"


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
    initial_credits: int = 100
    seconds_per_credit: float = 10.0       # a render costs one credit per started 10 s of output
    max_upload_bytes: int = 200 * 1024 * 1024
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
