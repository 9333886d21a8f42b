"""Renders across processes and machines: a real Dask scheduler and two worker processes (started as a user
starts them, `nemo.py scheduler` and `nemo.py worker`), a backend that sends them chunks (`serve --cluster`), and
what happens when a worker is killed, the scheduler stops, or the user cancels."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from conftest import User, eventually, new_user
from nemo_local.media.ffmpeg import ffmpeg_exe, probe
from nemo_local.media.synth import demo_track, write_wav
from nemo_local.render.chunks import chunk_length
from nemo_local.render.cluster import ClusterRefused, check_address
from test_backend_api import RENDER, ready_session, start_render, wait_render
from test_render import decoded

NEMO = Path(__file__).resolve().parents[1] / "scripts" / "nemo.py"
SECONDS = 16.0
SIDE = 192


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nemo(*args: str) -> subprocess.Popen[bytes]:
    """`nemo.py ARGS` in a process group of its own (so that all of it can be killed, as a machine going away)."""
    env = {**os.environ, "NEMO_NO_VENV": "1"}
    return subprocess.Popen([sys.executable, str(NEMO), *args], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    client: Any

    def running_chunks(self) -> dict[str, list[str]]:
        """Worker address -> the chunk tasks it is running now."""
        return {w: [k for k in keys if str(k).startswith("nemo-chunk-")]
                for w, keys in self.client.processing().items()}

    def worker_process(self, address: str) -> subprocess.Popen[bytes]:
        """The `nemo.py worker` process group a worker address belongs to."""
        pid = self.client.run(os.getpid, workers=[address])[address]
        group = os.getpgid(pid)
        return next(proc for proc in self.workers if proc.pid == group)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = nemo("scheduler", "--port", str(port), "--dashboard-port", "0")
    workers = [nemo("worker", address, "--procs", "1") for _ in range(2)]
    client = None
    try:
        client = eventually(lambda: _client(Client, address), timeout=60, every=0.5)
        eventually(lambda: len(client.scheduler_info()["workers"]) == 2, timeout=60, every=0.2)
        yield Cluster(address, scheduler, workers, client)
    finally:
        if client is not None:
            client.close(timeout=5)
        for proc in [*workers, scheduler]:
            kill(proc)


def _client(factory: Any, address: str) -> Any:
    try:
        return factory(address, timeout=2, set_as_default=False)
    except (OSError, TimeoutError):
        return None


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    track = demo_track(seconds=SECONDS, bpm=120, drop_at=8.0, rate=22050)
    return write_wav(tmp_path_factory.mktemp("song") / "song.wav", track.samples, track.rate)


def render(server: Any, song: Path, during: Callable[[User], None] = lambda user: None,
           timeout: float = 240) -> tuple[dict[str, Any], User]:
    """Upload, describe, render (calling `during` once the render runs), and wait for its end."""
    user = new_user(server.url, "client-cluster")
    session_id = ready_session(user, song, "bars, the drop highlighted")
    assert start_render(user, session_id).status_code == 200
    during(user)
    return wait_render(user, "render_1", timeout=timeout), user


def video_of(server: Any, user: User, data: dict[str, Any], path: Path) -> Path:
    url = data.get("outputUrl") or data.get("output_url") or data["url"]
    path.write_bytes(httpx.get(url if url.startswith("http") else f"{server.url}{url}", timeout=60).content)
    return path


def pcm(path: Path) -> bytes:
    return subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-f", "s16le", "-"],
                          capture_output=True, check=True).stdout


def same_video(a: Path, b: Path) -> None:
    """Same length to the frame, the same audio, the same pictures up to encoding (two lossy encodes of the same
    frames: luma within 2 levels on average in every frame)."""
    first, second = decoded(a), decoded(b)
    assert len(first) == len(second) == round(SECONDS * 30)
    worst = max(float(np.abs(x.astype(np.int16) - y).mean()) for x, y in zip(first, second, strict=True))
    assert worst < 2.0
    assert pcm(a) == pcm(b)


class TestAddresses:
    @pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "10.0.0.5:8786", "tcp://192.168.1.20:8786",
                                         "tls://scheduler.example.com:8786", "tls://8.8.8.8:8786"])
    def test_loopback_private_or_tls_is_accepted(self, address: str) -> None:
        assert check_address(address).split("://")[1] == address.split("://")[-1]

    @pytest.mark.parametrize("address", ["tcp://8.8.8.8:8786", "scheduler.example.com:8786",
                                         "tcp://0.0.0.0:8786"])
    def test_plain_tcp_to_a_public_address_is_refused_unless_told(self, address: str) -> None:
        with pytest.raises(ClusterRefused, match="public address"):
            check_address(address)
        assert check_address(address, allow_public=True)

    @pytest.mark.parametrize("address", ["http://10.0.0.5:8786", "tcp://", "tcp://10.0.0.5:8786/x"])
    def test_what_is_not_a_scheduler_address_says_so(self, address: str) -> None:
        with pytest.raises(ClusterRefused, match="not a Dask scheduler address"):
            check_address(address)

    def test_serve_refuses_a_public_cluster_in_one_line(self, tmp_path: Path) -> None:
        proc = subprocess.run([sys.executable, str(NEMO), "serve", "--cluster", "tcp://8.8.8.8:8786",
                               "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "NEMO_NO_VENV": "1"})
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "public address" in proc.stderr and "Traceback" not in proc.stderr

    def test_serve_says_when_the_scheduler_cannot_be_reached(self, tmp_path: Path) -> None:
        proc = subprocess.run([sys.executable, str(NEMO), "serve", "--cluster", f"tcp://127.0.0.1:{free_port()}",
                               "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "NEMO_NO_VENV": "1"})
        assert proc.returncode == 2
        assert "cannot reach the Dask scheduler" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
class TestRendersOnTheCluster:
    def test_a_render_through_the_server_on_two_workers_is_the_single_pass(
            self, start_server: Any, cluster: Cluster, song: Path, tmp_path: Path) -> None:
        chunked = start_server(tmp_path / "a", cloud_emulation=False, render_max_side=SIDE, cluster=cluster.address,
                               chunk_seconds=2.0)
        single = start_server(tmp_path / "b", cloud_emulation=False, render_max_side=SIDE)
        seen: set[str] = set()

        def watch(_: User) -> None:
            def both_busy() -> bool:
                seen.update(w for w, keys in cluster.running_chunks().items() if keys)
                return len(seen) == 2
            eventually(both_busy, timeout=120, every=0.02)

        done, user = render(chunked, song, watch)
        assert done["status"] == "completed", done
        assert done["settings"]["chunks"] >= 4
        reference, other = render(single, song)
        same_video(video_of(chunked, user, done, tmp_path / "chunked.mp4"),
                   video_of(single, other, reference, tmp_path / "single.mp4"))

    def test_a_worker_killed_mid_chunk_loses_nothing(self, start_server: Any, cluster: Cluster, song: Path,
                                                     tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        server = start_server(tmp_path / "a", cloud_emulation=False, render_max_side=SIDE, cluster=cluster.address,
                              chunk_seconds=2.0)
        killed: list[str] = []

        def kill_the_worker_with_the_data(_: User) -> None:
            """The worker that holds the render's scene (sent once to the cluster), once it is drawing a chunk:
            its chunk is lost, and so is the data every other chunk needs."""
            def holder() -> str | None:
                busy = [w for w, keys in cluster.running_chunks().items() if keys]
                scene = [w for key, where in cluster.client.who_has().items() if str(key).startswith("Scene-")
                         for w in where]
                return next((w for w in scene if w in busy), None)
            victim = eventually(holder, timeout=120, every=0.02)
            kill(cluster.worker_process(victim))
            killed.append(victim)

        done, user = render(server, song, kill_the_worker_with_the_data)
        assert killed and done["status"] == "completed", done
        assert killed[0] not in cluster.client.scheduler_info()["workers"]
        assert "farm was lost" not in caplog.text       # the lost chunk ran again on the other worker
        video = video_of(server, user, done, tmp_path / "out.mp4")
        assert len(decoded(video)) == round(SECONDS * 30) and probe(video).has_audio

    def test_the_only_worker_gone_another_takes_over_with_the_data_sent_again(
            self, start_server: Any, cluster: Cluster, song: Path, tmp_path: Path,
            caplog: pytest.LogCaptureFixture) -> None:
        server = start_server(tmp_path / "a", cloud_emulation=False, render_max_side=SIDE, cluster=cluster.address,
                              chunk_seconds=2.0)
        kill(cluster.workers[1])
        eventually(lambda: len(cluster.client.scheduler_info()["workers"]) == 1, timeout=60, every=0.1)

        def replace_the_worker(_: User) -> None:
            first = eventually(lambda: [w for w, keys in cluster.running_chunks().items() if keys], timeout=120,
                               every=0.02)[0]
            kill(cluster.worker_process(first))
            cluster.workers.append(nemo("worker", cluster.address, "--procs", "1"))

        done, user = render(server, song, replace_the_worker)
        assert done["status"] == "completed", done
        assert "farm was lost" not in caplog.text
        assert "lost with its worker" in caplog.text     # the data died with the only worker that had it
        video = video_of(server, user, done, tmp_path / "out.mp4")
        assert len(decoded(video)) == round(SECONDS * 30)

    def test_a_scheduler_gone_mid_render_falls_back_to_this_machine(self, start_server: Any, cluster: Cluster,
                                                                    song: Path, tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
        server = start_server(tmp_path / "a", cloud_emulation=False, render_max_side=SIDE, cluster=cluster.address,
                              chunk_seconds=2.0)

        def stop_the_scheduler(_: User) -> None:
            eventually(lambda: any(cluster.running_chunks().values()), timeout=120, every=0.02)
            kill(cluster.scheduler)

        started = time.monotonic()
        done, user = render(server, song, stop_the_scheduler, timeout=180)
        assert done["status"] == "completed", done
        assert time.monotonic() - started < 180
        assert "the render farm was lost" in caplog.text
        video = video_of(server, user, done, tmp_path / "out.mp4")
        assert len(decoded(video)) == round(SECONDS * 30)

    def test_cancel_reaches_the_chunks(self, start_server: Any, cluster: Cluster, song: Path,
                                       tmp_path: Path) -> None:
        server = start_server(tmp_path / "a", cloud_emulation=False, render_max_side=SIDE, cluster=cluster.address,
                              chunk_seconds=1.0)

        def cancel(user: User) -> None:
            eventually(lambda: any(cluster.running_chunks().values()), timeout=120, every=0.02)
            assert user.post(f"{RENDER}/render_1/cancel").status_code == 200

        done, _ = render(server, song, cancel)
        assert done["status"] == "cancelled"
        eventually(lambda: not any(cluster.running_chunks().values()), timeout=30, every=0.1)
        # the scheduler forgets a cancelled future's keys a moment after its tasks stop
        eventually(lambda: not any(str(k).startswith("nemo-chunk-") for k in cluster.client.who_has()), timeout=30,
                   every=0.1)


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and one certificate signed by it (for every machine, as in Dask's own tests), with openssl."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=nemo-test-ca")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "req.csr", "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "cert.pem", "-days", "1")
    return folder / "ca.pem", folder / "cert.pem", folder / "key.pem"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make certificates (.ci/run installs it)")
def test_a_tls_cluster_renders_and_a_plain_client_is_turned_away(song: Path, tmp_path: Path) -> None:
    from nemo_local.render import RenderJob
    from nemo_local.render.cluster import DaskFarm, TlsFiles
    from nemo_local.render.engine import MusicRenderer

    files = certificates(tmp_path)
    tls = ["--tls-ca", str(files[0]), "--tls-cert", str(files[1]), "--tls-key", str(files[2])]
    port = free_port()
    procs = [nemo("scheduler", "--port", str(port), "--dashboard-port", "0", *tls)]
    try:
        procs.append(nemo("worker", f"tls://127.0.0.1:{port}", "--procs", "1", *tls))
        def connected() -> DaskFarm | None:
            try:
                return DaskFarm(f"tls://127.0.0.1:{port}", TlsFiles(*files), timeout=3)
            except ClusterRefused:
                return None
        farm = eventually(connected, timeout=60, every=0.5)
        with pytest.raises(ClusterRefused, match="cannot reach"):
            DaskFarm(f"tcp://127.0.0.1:{port}", timeout=3)       # no certificate, no TLS: not let in
        with pytest.raises(ClusterRefused, match="needs the CA"):
            DaskFarm(f"tls://127.0.0.1:{port}")
        eventually(lambda: farm.slots() == 1 and bool(farm.client.nthreads()), timeout=60, every=0.2)
        ms = int(SECONDS * 1000)
        draft = {"d": ms, "m": {"style": "bars", "width": SIDE, "height": SIDE * 9 // 16 & ~1},
                 "t": [{"tt": 1, "sg": [{"src": "audio", "s": 0, "d": ms, "v": 1.0}]}]}
        job = RenderJob(draft=draft, sources={"audio": song}, output=tmp_path / "tls.mp4", fps=30)
        rendered = MusicRenderer(farm, chunk_seconds=4).render(job)
        farm.close()
        frames = round(SECONDS * 30)
        assert rendered.chunks == -(-frames // chunk_length(frames, 1, 30, 4)) > 1   # on the one TLS worker
        assert len(decoded(job.output)) == frames
    finally:
        for proc in procs:
            kill(proc)


@pytest.mark.slow
def test_make_local_jobs_draws_chunks_in_processes(cli: Any, song: Path, tmp_path: Path) -> None:
    result = cli("--json", "--local", "make", song, "-o", tmp_path / "out.mp4", "--jobs", "2", "--chunk-seconds", "4")
    assert result.code == 0, result.err
    assert len(decoded(tmp_path / "out.mp4")) == round(SECONDS * 30)
    assert json.loads(result.out)["settings"]["chunks"] == SECONDS // 4
