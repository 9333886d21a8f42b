"""Shared fixtures: the local backend on a free loopback port, generated audio, and an isolated CLI."""

from __future__ import annotations

import io
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_local.analysis import beat_model
from nemo_local.media.ffmpeg import ffmpeg_exe
from nemo_local.media.synth import demo_track, write_wav
from nemo_local.service.config import ServerConfig
from nemo_local.service.server import RunningServer, start_in_thread

ADMIN_SECRET = "test-admin-secret"
ADMIN = {"X-Admin-Secret": ADMIN_SECRET}
ATTRIBUTION = {"X-Skill-Source": "music-to-video-ai", "X-Skill-Version": "test", "X-Skill-Platform": "unknown"}


@pytest.fixture(autouse=True, scope="session")
def no_model_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Speech models come from the installed package only: an empty Hugging Face cache, no hub, no user path."""
    saved = {k: os.environ.get(k) for k in ("HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "NEMO_ASR_MODEL",
                                            "NEMO_ASR_DOWNLOAD")}
    os.environ["HF_HOME"] = str(tmp_path_factory.mktemp("hf-home"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    for key in ("HF_HUB_CACHE", "NEMO_ASR_MODEL", "NEMO_ASR_DOWNLOAD"):
        os.environ.pop(key, None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_config(data_dir: Path, **overrides: Any) -> ServerConfig:
    values: dict[str, Any] = {
        "data_dir": data_dir, "enable_faults": True, "heartbeat_seconds": 0.05, "render_max_side": 192,
        "x264_preset": "ultrafast", "max_upload_bytes": 2 * 1024 * 1024, "url_fetch_private": True,
        "cloud_emulation": True, "admin_secret": ADMIN_SECRET,
    }
    values.update(overrides)
    return ServerConfig(**values)


@pytest.fixture(params=["beatnet", "signal"])
def tracker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
            tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each test that uses it runs with either beat tracker: the network's, and the signal one that runs when the
    network's weights are not found (`pytestmark = pytest.mark.usefixtures("tracker")` for a whole module)."""
    if request.param == "signal":
        monkeypatch.setenv(beat_model.ENV, str(tmp_path_factory.mktemp("no-beat-model")))
    elif not beat_model.available():
        pytest.skip(f"the beat model is not installed: {beat_model.INSTALL}")
    return str(request.param)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start (and at the end stop) backends; pass data_dir to reuse one across a restart."""
    running: list[RunningServer] = []

    def start(data_dir: Path | None = None, **overrides: Any) -> RunningServer:
        server = start_in_thread(test_config(data_dir or tmp_path / "backend", **overrides))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server()


@dataclass
class User:
    """A plain-httpx user of the backend, with its own token."""

    http: httpx.Client
    token: str
    user_id: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **ATTRIBUTION, **extra}

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, headers=self.headers(**kwargs.pop("headers", {})), **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(), **kwargs)

    def new_session(self) -> str:
        resp = self.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "project", "language": "en"})
        return str(resp.json()["data"]["session_id"])


def new_user(base_url: str, client_id: str) -> User:
    http = httpx.Client(base_url=base_url, timeout=30)
    data = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id}).json()["data"]
    return User(http, data["token"], data["user_id"])


@pytest.fixture
def user(server: RunningServer) -> Iterator[User]:
    u = new_user(server.url, "client-a")
    yield u
    u.http.close()


def eventually(condition: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    """Wait until `condition()` is truthy and return its value, or fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {getattr(condition, '__doc__', None) or condition}")
        time.sleep(every)


def serving(base_url: str, timeout: float = 30) -> None:
    """Wait for a server started in another process to answer /healthz."""
    def answers() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False
    eventually(answers, timeout, every=0.1)


def arm(base_url: str, **fault: Any) -> None:
    resp = httpx.post(f"{base_url}/_local/faults", json=fault, headers=ADMIN, timeout=10)
    assert resp.status_code == 200, resp.text


def admin(base_url: str, action: str, **body: Any) -> dict[str, Any]:
    resp = httpx.post(f"{base_url}/_local/admin/{action}", json=body, headers=ADMIN, timeout=10)
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()
    return result


def request_count(base_url: str, key: str) -> int:
    counts = httpx.get(f"{base_url}/_local/admin/stats", headers=ADMIN, timeout=10).json()["requests"]
    return int(counts.get(key, 0))


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def wav(audio_dir: Path) -> Path:
    """A 2.5 s synthetic track with drums, bass and a drop."""
    track = demo_track(seconds=2.5, bpm=120, rate=22050)
    return write_wav(audio_dir / "track.wav", track.samples, track.rate)


@pytest.fixture(scope="session")
def mp3(audio_dir: Path, wav: Path) -> Path:
    out = audio_dir / "track.mp3"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "96k",
                    str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def png(audio_dir: Path) -> Path:
    out = audio_dir / "cover.png"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "gradients=s=320x240:c0=ff0066:c1=3300ff:n=2", "-frames:v", "1", str(out)], check=True)
    return out


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: RunningServer) -> Callable[..., CliResult]:
    """Run `nemo.py ARGS` in this process against the test backend, with config and home in tmp dirs."""
    from nemo_skill import cli as cli_module
    from nemo_skill import connect

    sleeps: list[float] = []
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEMO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NEMO_LOCAL_DATA_DIR", str(tmp_path / "local-data"))
    monkeypatch.setenv("NEMO_API_URL", server.url)
    monkeypatch.delenv("NEMO_TOKEN", raising=False)
    monkeypatch.delenv("NEMO_DEBUG", raising=False)
    monkeypatch.setattr(connect, "SLEEP", sleeps.append)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = cli_module.main([str(a) for a in args])
            except SystemExit as exc:  # argparse
                code = int(exc.code or 0)
        return CliResult(code, out.getvalue(), err.getvalue())

    run.sleeps = sleeps  # type: ignore[attr-defined]
    run.server = server  # type: ignore[attr-defined]
    return run
