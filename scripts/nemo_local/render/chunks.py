"""A render cut into chunks that render independently (other processes, other machines) and join without
re-encoding the video.

How: the frame range is split into chunks of about `chunk_frames` (a boundary moves to a cut between pictures
or a beat near it: a new picture costs a keyframe anyway). Each chunk is drawn by `drawing.draw_window` into an
MP4 of its own, video only, with the render's encoder settings; x264 starts every output with a keyframe, so the
chunks join with ffmpeg's concat demuxer and `-c:v copy`. The audio (loudness, fades, the clips' own sound) is
encoded once, in the join, exactly as a single pass encodes it. Chunks come back as bytes, so a worker on another
machine needs only the package: the inputs travel with the work (`Input`) and are kept in a cache by content.

Where the chunks run is a `Farm`: processes on this machine (`LocalFarm`, `make --local --jobs N`) or a Dask
cluster (`render.cluster`, `serve --cluster`).
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import hashlib
import itertools
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from nemo_local.media import procs
from nemo_local.media.ffmpeg import explain, ffmpeg_exe
from nemo_local.render.base import RenderError
from nemo_local.render.compose import Scene
from nemo_local.render.drawing import Sound, draw_window
from nemo_local.render.encode import audio_args, mp4_args
from nemo_local.render.settings import EncodeSettings

CHUNK_S = 30.0          # a chunk's shortest length: long enough that its start-up (layers, x264, settling) is noise
WAVES = 3               # ... and longer when the video is long: about this many chunks for each worker, enough to
                        # even out a slow worker, few enough that start-up stays small (BENCHMARKS.md)
MIN_CHUNK_S = 1.0
KEEP_INPUTS_S = 24 * 3600   # a worker keeps the files chunks read this long after their last use


class FarmLost(Exception):
    """The farm went away mid-render (the scheduler stopped, the pool broke). `finished` holds the chunks that
    came back; the renderer draws the others itself."""

    def __init__(self, why: str, finished: dict[int, PartResult]) -> None:
        super().__init__(why)
        self.finished = finished


@dataclass(frozen=True)
class Part:
    """One chunk's work: draw `window` (after settling from `settle_from`), write frame `poster` as a JPEG."""

    number: int
    window: range
    settle_from: int
    settings: EncodeSettings
    poster: int = -1


@dataclass(frozen=True)
class PartResult:
    number: int
    video: bytes            # the chunk's MP4, video only
    poster: bytes | None    # the poster JPEG, from the chunk that holds that frame
    seconds: float          # time the chunk took where it ran


@dataclass(frozen=True)
class Input:
    """A file the chunks read (the audio, pictures, clips, the logo), sent along to workers that may not have it."""

    digest: str
    suffix: str
    data: bytes

    @classmethod
    def read(cls, path: Path) -> Input:
        data = path.read_bytes()
        return cls(hashlib.sha256(data).hexdigest(), path.suffix[:12], data)

    def place(self, folder: Path) -> Path:
        """The file in `folder` (kept by content, written once, atomically). Files no chunk used for a day go."""
        path = folder / f"{self.digest}{self.suffix}"
        if not path.exists() or path.stat().st_size != len(self.data):
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.iterdir():
                with contextlib.suppress(OSError):
                    if old.stat().st_mtime < time.time() - KEEP_INPUTS_S:
                        old.unlink()
            part = path.with_name(f"{path.name}.{os.getpid()}.part")
            part.write_bytes(self.data)
            part.replace(path)
        else:
            os.utime(path)
        return path


class Stop(Protocol):
    def is_set(self) -> bool:
        """The render was cancelled: stop drawing."""


class Farm(Protocol):
    def slots(self) -> int:
        """How many chunks it draws at once (its worker processes)."""

    def run(self, scene: Scene, parts: list[Part], cancelled: Callable[[], bool],
            done: Callable[[PartResult], None]) -> dict[int, PartResult]:
        """Render every part; call `done` as each comes back. Raises Cancelled (when `cancelled()`),
        RenderError (a chunk failed for a reason the user can act on), or FarmLost."""

    def close(self) -> None:
        """Let go of processes and connections."""


def inputs_of(scene: Scene) -> dict[str, Path]:
    """The files a chunk may read, by their path here."""
    files = {str(scene.audio): scene.audio}
    files.update((str(path), path) for path in scene.sources.values())
    return files


def placed(scene: Scene, inputs: dict[str, Input], folder: Path) -> Scene:
    """The scene with its files read from `folder` (copies of the inputs sent along) instead of their paths."""
    here = {key: item.place(folder) for key, item in inputs.items()}
    return replace(scene, audio=here.get(str(scene.audio), scene.audio),
                   sources={fid: here.get(str(path), path) for fid, path in scene.sources.items()})


def input_cache() -> Path:
    return Path(tempfile.gettempdir()) / "nemo-chunk-inputs"


def keep_freed_memory() -> None:
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_ set (to give memory back to the system), and that
    also makes glibc map and unmap every array over 128 KB: each frame's temporaries then fault their pages in
    afresh (measured: a chunk 22 % slower). A chunk's arrays are a few frames in size: glibc may keep them."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:   # not glibc (macOS): nothing to undo
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 64 << 20)


def render_part(scene: Scene, part: Part, inputs: dict[str, Input] | None = None,
                stop: Stop | None = None) -> PartResult:
    """Draw one chunk (in a worker process); its MP4 and poster come back as bytes."""
    keep_freed_memory()
    started = time.monotonic()
    if inputs:
        scene = placed(scene, inputs, input_cache())
    with tempfile.TemporaryDirectory(prefix="nemo-chunk-") as folder:
        video, poster = Path(folder) / "chunk.mp4", Path(folder) / "poster.jpg"
        # stitchable: x264 writes the same headers whatever a chunk shows, so the joined stream decodes with the
        # first chunk's headers (the concat demuxer keeps only those)
        settings = replace(part.settings, x264=":".join(p for p in (part.settings.x264, "stitchable=1") if p))
        draw_window(scene, video, settings, part.window, part.settle_from, None, part.poster, poster,
                    cancelled=stop.is_set if stop is not None else lambda: False)
        return PartResult(part.number, video.read_bytes(), poster.read_bytes() if poster.exists() else None,
                          time.monotonic() - started)


def chunk_length(frames: int, slots: int, fps: int, shortest_s: float = CHUNK_S) -> int:
    """Frames a chunk: `shortest_s`, or more so that there are about WAVES chunks per worker."""
    return max(round(shortest_s * fps), -(-frames // (max(1, slots) * WAVES)))


def plan(window: range, chunk_frames: int, cuts: Sequence[int] = (), beats: Sequence[int] = (),
         fps: int = 30) -> list[range]:
    """Consecutive chunks covering `window`, each about `chunk_frames` long. A boundary moves to a cut within a
    quarter chunk of where it would fall, else to the nearest beat within half a second; no chunk is shorter
    than a second (the last one joins the one before)."""
    chunk_frames = max(chunk_frames, round(MIN_CHUNK_S * fps))
    cuts, beats = sorted(cuts), sorted(beats)
    bounds, at = [window.start], window.start
    while window.stop - at > chunk_frames * 1.5:
        aim = at + chunk_frames
        bound = _nearest(cuts, aim, chunk_frames // 4)
        if bound is None:
            bound = _nearest(beats, aim, fps // 2)
        bound = aim if bound is None or bound - at < fps or window.stop - bound < fps else bound
        bounds.append(bound)
        at = bound
    bounds.append(window.stop)
    return [range(a, b) for a, b in itertools.pairwise(bounds)]


def _nearest(points: Sequence[int], aim: int, reach: int) -> int | None:
    i = bisect.bisect_left(points, aim)
    near = [p for p in points[max(0, i - 1): i + 1] if abs(p - aim) <= reach]
    return min(near, key=lambda p: abs(p - aim)) if near else None


def encode_audio(sound: Sound, settings: EncodeSettings, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Start encoding the video's audio on its own (while the chunks are drawn), as a single pass encodes it; a
    second longer than the video, so that the join cuts it where a single pass's muxer does."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
           *audio_args(sound.path, sound.volume, settings, sound.start, sound.filter, alone=True),
           "-t", f"{seconds + 1:.3f}", "-f", "mp4", str(output)]
    return procs.popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def join(videos: list[Path], output: Path, frames: int, audio: Path | None) -> None:
    """The chunks' video and the audio, both copied as they are, into one MP4 of `frames` frames."""
    listing = output.with_suffix(".chunks.txt")
    listing.write_text("".join(f"file '{path.resolve()}'\n" for path in videos))
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
           "-i", str(listing)]
    if audio is not None:
        cmd += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0"]
    cmd += ["-c", "copy", *mp4_args(frames, output)]
    try:
        proc = procs.run(cmd, timeout=3600)
    finally:
        listing.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RenderError(f"the chunks could not be joined: {explain(proc.stderr.decode('utf-8', 'replace'))}")
