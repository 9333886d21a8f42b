"""Chunks rendered on a Dask cluster (`serve --cluster tls://HOST:8786`), the [cluster] extra.

A Dask scheduler runs whatever pickled code a client sends it: whoever reaches it owns every worker. So the
address must be loopback or a private network, or use TLS (`tls://`, with the certificates Dask's `Security`
takes); a plain `tcp://` address on the internet is refused unless the caller says it knows (`allow_public`).
Workers need the package and the address, nothing else: the chunk's inputs travel with it (scattered once per
render, kept on each worker by content) and each chunk comes back as bytes. No token is sent: chunks carry the
scene (timing, draft, captions) and the files, never a credential.

Faults: a worker that dies mid-chunk loses the chunk to another worker (Dask reschedules it); a scheduler that goes
away raises `FarmLost` within `POLL_S` of being noticed, and the renderer draws the chunks left on this machine;
cancel sets a Dask `Event` every chunk checks each 15 frames, and cancels the chunks not started.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemo_local.render.base import Cancelled, RenderError
from nemo_local.render.chunks import FarmLost, Input, Part, PartResult, inputs_of, render_part
from nemo_local.render.compose import Scene
from nemo_skill.hosts import is_private

log = logging.getLogger("nemo_local")
POLL_S = 0.2
NO_WORKERS_S = 30.0    # a cluster without workers this long: the chunks are drawn here
MAX_TRIES = 3          # a chunk lost with its worker is sent again this many times, then drawn here
CLUSTER_ENV = "NEMO_CLUSTER"
SCHEMES = ("tcp", "tls")


class ClusterRefused(ValueError):
    """The cluster address is not one to send work to (unsafe, malformed, unreachable, or the extra is missing)."""


def check_address(address: str, allow_public: bool = False) -> str:
    """The address if work may be sent there: tls:// anywhere, tcp:// on loopback or a private network."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in SCHEMES or not rest or "/" in rest:
        raise ClusterRefused(f"{address!r} is not a Dask scheduler address: give tls://HOST:PORT or tcp://HOST:PORT")
    if scheme == "tcp" and not allow_public and not is_private(f"//{rest}"):
        raise ClusterRefused(f"{address} is plain TCP to a public address: anyone who reaches a Dask scheduler runs "
                             "code on its workers. Use tls:// with certificates, or a loopback/private address")
    return f"{scheme}://{rest}"


@dataclass(frozen=True)
class TlsFiles:
    """The client's TLS files for a tls:// scheduler (Dask's `Security`)."""

    ca: Path
    cert: Path
    key: Path


def _tls_args(tls: TlsFiles | tuple[Path, Path, Path] | None) -> list[str]:
    if tls is None:
        return []
    ca, cert, key = (tls.ca, tls.cert, tls.key) if isinstance(tls, TlsFiles) else tls
    return ["--tls-ca-file", str(ca), "--tls-cert", str(cert), "--tls-key", str(key)]


def scheduler_command(host: str, port: int, tls: tuple[Path, Path, Path] | None = None,
                      allow_public: bool = False, dashboard_port: int = 8787) -> list[str]:
    """Dask's scheduler on host:port (its dashboard on the same host, `dashboard_port`; 0: any free port), TLS
    when given the files; a public host without TLS is refused (ClusterRefused) unless `allow_public`."""
    scheme = "tls" if tls else "tcp"
    check_address(f"{scheme}://{host}:{port}", allow_public)
    return [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", host, "--port", str(port),
            "--protocol", scheme, "--dashboard-address", f"{host}:{dashboard_port}", *_tls_args(tls)]


def worker_command(address: str, procs: int = 0, tls: tuple[Path, Path, Path] | None = None,
                   allow_public: bool = False) -> list[str]:
    """Dask workers for the scheduler at `address`: `procs` processes (default one per 2 cores) of one thread each
    (a chunk keeps a core busy drawing and x264 another), with the skill's code importable."""
    address = check_address(address, allow_public)
    if address.startswith("tls://") and tls is None:
        raise ClusterRefused("a tls:// scheduler needs the CA, certificate and key files (--tls-ca, --tls-cert, "
                             "--tls-key)")
    procs = procs or max(1, (os.cpu_count() or 2) // 2)
    return [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", str(procs),
            "--nthreads", "1", "--no-dashboard", *_tls_args(tls)]


def run_until_interrupted(cmd: list[str]) -> int:
    """Run a Dask process in the foreground with this package importable; Ctrl-C stops it. Its exit code."""
    scripts = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (scripts, os.environ.get("PYTHONPATH", "")) if p)
    try:
        import distributed  # noqa: F401  (the [cluster] extra: say so before starting a process without it)
    except ImportError:
        raise ClusterRefused("Dask is not installed: python3 scripts/nemo.py setup --with cluster") from None
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": path})
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()


@dataclass(frozen=True)
class EventStop:
    """Cancel across machines: a Dask Event by name, looked up by the chunk where it runs."""

    name: str

    def is_set(self) -> bool:
        from distributed import Event  # the [cluster] extra: this runs on a worker, which has it

        try:
            return bool(Event(self.name).is_set())
        except Exception:   # the scheduler is gone: the chunk's result cannot be delivered anyway
            return False


class DaskFarm:
    """Chunks on the Dask scheduler at `address` (connected once, at start; raises ClusterRefused when it cannot)."""

    def __init__(self, address: str, tls: TlsFiles | None = None, allow_public: bool = False,
                 timeout: float = 10.0) -> None:
        address = check_address(address, allow_public)
        try:
            from distributed import Client, Security  # the [cluster] extra, only with --cluster
        except ImportError:
            raise ClusterRefused("--cluster needs Dask: python3 scripts/nemo.py setup --with cluster") from None
        security = None
        if address.startswith("tls://"):
            if tls is None:
                raise ClusterRefused("a tls:// scheduler needs the CA, certificate and key files (--tls-ca, "
                                     "--tls-cert, --tls-key)")
            security = Security(tls_ca_file=str(tls.ca), tls_client_cert=str(tls.cert),
                                tls_client_key=str(tls.key), require_encryption=True)
        try:
            self.client: Any = Client(address, security=security, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterRefused(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.address = address

    def slots(self) -> int:
        """The cluster's worker threads now (at least 1: chunks wait for a worker to come)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:   # the scheduler is gone: run() says so
            return 1

    def run(self, scene: Scene, parts: list[Part], cancelled: Callable[[], bool],
            done: Callable[[PartResult], None]) -> dict[int, PartResult]:
        from distributed import Event  # the [cluster] extra, only with --cluster

        finished: dict[int, PartResult] = {}
        lost = f"the Dask scheduler at {self.address} went away"
        if self.client.status != "running":
            raise FarmLost(f"the Dask scheduler at {self.address} is not connected", finished)
        tag = uuid.uuid4().hex[:12]
        stop = EventStop(f"nemo-stop-{tag}")
        try:
            data: dict[str, Any] = {}
            tries: dict[int, int] = {}

            def scatter() -> None:
                """The scene and the files, sent to the workers. Scattered data has no task to compute it again:
                when the workers holding it die (Dask keeps one copy of data no task waits for), it is sent again."""
                if data and all(future.status == "finished" for future in data.values()):
                    try:
                        if all(self.client.who_has(list(data.values())).values()):
                            return
                    except Exception as exc:   # a future of the data was cancelled with it
                        log.info("the render's data on the cluster was lost: %s", exc)
                data.clear()
                data.update((key, self.client.scatter(Input.read(path), hash=False, timeout=NO_WORKERS_S))
                            for key, path in inputs_of(scene).items())
                data[""] = self.client.scatter(scene, hash=False, timeout=NO_WORKERS_S)

            def submit(part: Part) -> Any:
                tries[part.number] = tries.get(part.number, 0) + 1
                inputs = {key: future for key, future in data.items() if key}
                return self.client.submit(render_part, data[""], part, inputs, stop, pure=False,
                                          key=f"nemo-chunk-{tag}-{part.number}-{tries[part.number]}")

            scatter()

            pending = {submit(part): part for part in parts}
            heard = time.monotonic()
            while pending:
                ready = [future for future in pending if future.status != "pending"]
                if ready:
                    heard = time.monotonic()
                elif time.monotonic() - heard > NO_WORKERS_S and not self.client.nthreads():
                    raise FarmLost(f"the Dask cluster at {self.address} has had no workers for {NO_WORKERS_S:g} s",
                                   finished)
                for future in ready:
                    part = pending.pop(future)
                    if future.status in ("cancelled", "lost"):   # its worker died and Dask gave it up: again
                        if self.client.status != "running":
                            raise FarmLost(f"{lost} (client {self.client.status})", finished)
                        if tries[part.number] >= MAX_TRIES:
                            raise FarmLost(f"chunk {part.number} was lost {MAX_TRIES} times", finished)
                        log.warning("chunk %d of a render was lost with its worker (%s); sent again", part.number,
                                    getattr(future._state.exception, "reason", future.status))
                        scatter()
                        pending[submit(part)] = part
                        continue
                    try:
                        result = future.result()
                    except RenderError:               # the user's input: it would fail here too
                        raise
                    except Exception as exc:          # workers killed again and again, a broken worker
                        raise FarmLost(f"a chunk failed on the cluster ({type(exc).__name__}: {exc})",
                                       finished) from None
                    finished[result.number] = result
                    done(result)
                if pending and self.client.status != "running":
                    raise FarmLost(f"{lost} (client {self.client.status})", finished)
                if pending and cancelled():
                    Event(stop.name, client=self.client).set()
                    self.client.cancel(list(pending))
                    raise Cancelled()
                if pending and not ready:
                    time.sleep(POLL_S)
        except (OSError, TimeoutError) as exc:
            raise FarmLost(f"{lost} ({exc})", finished) from None
        return finished

    def close(self) -> None:
        try:
            self.client.close(timeout=5)
        except Exception as exc:   # closing a client whose scheduler is gone
            log.info("closing the Dask client: %s", exc)
