"""Media facts through ffmpeg: where it is, a file's duration, size and streams, and its audio as PCM."""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nemo_local.media import procs


class FFmpegMissing(RuntimeError):
    pass


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The ffmpeg binary: the one shipped by imageio-ffmpeg, else one on PATH."""
    try:
        import imageio_ffmpeg  # the [local] extra's ffmpeg build; an ffmpeg on PATH otherwise

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:  # not installed, or no binary for this platform
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise FFmpegMissing("ffmpeg not found: run pip install -e '.[local]' (ships ffmpeg) or install ffmpeg on PATH")


@dataclass
class MediaInfo:
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    has_audio: bool = False
    has_video: bool = False
    has_cover: bool = False          # an embedded picture (cover art) in an audio file
    audio_codec: str | None = None
    video_codec: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Video|Audio): (\w+)(.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+) (?:fps|tbr)\b")


def parse_ffmpeg_banner(text: str) -> MediaInfo:
    """Read what `ffmpeg -i FILE` prints about a file's input streams."""
    info = MediaInfo()
    text = text.split("Output #0", 1)[0]
    m = _DURATION.search(text)
    if m:
        info.duration = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    for kind, codec, rest in _STREAM.findall(text):
        if kind == "Audio" and not info.has_audio:
            info.has_audio, info.audio_codec = True, codec
        elif kind == "Video" and "attached pic" in rest:
            info.has_cover = True
        elif kind == "Video" and not info.has_video:
            info.has_video, info.video_codec = True, codec
            size = _SIZE.search(rest)
            if size:
                info.width, info.height = int(size[1]), int(size[2])
            fps = _FPS.search(rest)
            if fps:
                info.fps = float(fps[1])
    return info


def decode_pcm(path: Path, rate: int, bufsize: int = -1, start: float = 0.0, *, channels: int = 1,
               seconds: float | None = None, loop: bool = False, resampler: str = "") -> subprocess.Popen[bytes]:
    """ffmpeg decoding the first audio stream to 16-bit PCM (mono, or `channels`) at `rate` Hz on its stdout,
    from `start` s, for `seconds` if given, the input looped endlessly with `loop`, resampled by `resampler`
    ("soxr", where a network expects the input it was trained on) or ffmpeg's own."""
    before = (["-stream_loop", "-1"] if loop else []) + (["-ss", f"{start:.3f}"] if start > 0 else [])
    length = ["-t", f"{seconds:.3f}"] if seconds else []
    if resampler:
        length += ["-af", f"aresample=resampler={resampler}"]
    return procs.popen(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *before, "-i", str(path), "-map", "0:a:0",
         "-vn", "-sn", "-dn", *length, "-ac", str(channels), "-ar", str(rate), "-f", "s16le", "pipe:1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, bufsize=bufsize,
    )


@contextlib.contextmanager
def pcm_stream(path: Path, rate: int, block: int, **decode: Any) -> Iterator[Iterator[np.ndarray]]:
    """Mono float32 samples of a file at `rate` Hz in blocks of `block` (ffmpeg decoding, `decode_pcm`'s options),
    read as the caller goes; the last block is the short one (maybe empty), which is how a reader knows it is
    last. ffmpeg is stopped when the block ends, however it ends."""
    proc = decode_pcm(path, rate, block * 2, **decode)
    assert proc.stdout is not None
    stdout = proc.stdout

    def blocks() -> Iterator[np.ndarray]:
        while True:
            raw = stdout.read(block * 2)
            yield np.frombuffer(raw[: len(raw) - len(raw) % 2], "<i2").astype(np.float32) / 32768.0
            if len(raw) < block * 2:
                return

    try:
        yield blocks()
    finally:
        stdout.close()
        proc.kill()
        proc.wait()


FLOAT_PCM = ("pcm_f32le", "pcm_f32be", "pcm_f64le", "pcm_f64be")
# What ffmpeg's own error lines mean, in words a user can act on; ffmpeg's lines are never shown as they are.
PROBLEMS = [
    (re.compile(r"NaN|\+-Inf", re.I), "its samples are not numbers in places (NaN or infinity): export it again"),
    (re.compile(r"No space left on device", re.I), "the disk is full: free some space"),
    (re.compile(r"Cannot allocate memory|Out of memory", re.I), "there was not enough memory"),
    (re.compile(r"Picture size \d+x\d+ is invalid|Invalid image size|too big|dimensions .* too large", re.I),
     "the picture is too large: make it smaller"),
    (re.compile(r"No such file or directory", re.I), "the file is missing"),
    (re.compile(r"Invalid data found|could not find codec|Unsupported codec|moov atom not found|"
                r"Error while decoding|End of file|Nothing was written|Output file is empty", re.I),
     "it cannot be decoded: it is damaged, or not what its name says"),
]


def explain(log: str) -> str:
    """What went wrong, from ffmpeg's log, in words (never ffmpeg's own lines, which name its internals)."""
    return next((said for pattern, said in PROBLEMS if pattern.search(log)), "ffmpeg could not process it")


def first_non_finite(path: Path, seconds_per_block: float = 10.0) -> float | None:
    """Where a float PCM file's first NaN or infinite sample is, in seconds (None: every sample is a number).
    Such samples make the AAC encoder stop; decoded as they are stored, a block at a time."""
    rate = 48_000
    proc = procs.popen([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-map",
                        "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    block, done = int(rate * seconds_per_block), 0
    try:
        while raw := proc.stdout.read(block * 4):
            samples = np.frombuffer(raw[: len(raw) - len(raw) % 4], "<f4")
            bad = np.flatnonzero(~np.isfinite(samples))
            if len(bad):
                return (done + int(bad[0])) / rate
            done += len(samples)
        return None
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()


def probe(path: Path, timeout: float = 60) -> MediaInfo:
    """Duration, size and frame rate of a media file, the way ffprobe reports them."""
    proc = procs.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], timeout=timeout)
    info = parse_ffmpeg_banner(proc.stderr.decode("utf-8", "replace"))
    if info.has_video and info.duration is not None and info.duration <= 0.05 and not info.has_audio:
        info.duration = None  # a still image
    return info
