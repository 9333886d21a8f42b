"""Audio decoding through ffmpeg, streamed: PCM arrives in per-frame blocks, never as a whole file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nemo_local.media import procs
from nemo_local.media.ffmpeg import ffmpeg_exe, pcm_stream
from nemo_local.render.base import RenderError

TRUE_PEAK_DB = -1.0
LIMITER_MARGIN_DB = 0.5     # a sample-peak limiter, so room for the peaks between samples
MAX_PASSES = 3


def pcm_blocks(path: Path, rate: int, block: int, blocks: int, start: float = 0.0) -> Iterator[np.ndarray]:
    """Yield exactly `blocks` mono float32 blocks of `block` samples at `rate` Hz (zero-padded at the end),
    from `start` seconds in."""
    silence = np.zeros(0, np.float32)
    with pcm_stream(path, rate, block, start=start) as stream:
        for _ in range(blocks):
            samples = next(stream, silence)
            yield np.pad(samples, (0, block - len(samples))) if len(samples) < block else samples


def measure(path: Path, start: float = 0.0, seconds: float | None = None, chain: str = "") -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of the audio after `chain`, by ffmpeg's EBU R128 meter."""
    span = (["-ss", f"{start:.3f}"] if start > 0 else []) + (["-t", f"{seconds:.3f}"] if seconds else [])
    graph = (chain + "," if chain else "") + "ebur128=peak=true:framelog=quiet"
    proc = procs.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *span, "-i", str(path), "-vn", "-af",
                      graph, "-f", "null", "-"], timeout=1800)
    text = proc.stderr.decode("utf-8", "replace")
    summary = text[text.rfind("Summary:"):]
    level = re.search(r"\bI:\s*(-?[\d.]+|-inf)\s*LUFS", summary)
    peak = re.search(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf)\s*dBFS", summary)
    if proc.returncode != 0 or level is None or peak is None:
        raise RenderError(f"cannot measure the loudness of {path.name}")
    return float(level[1]), float(peak[1])


def loudness_filter(path: Path, target: float, start: float = 0.0, seconds: float | None = None) -> str:
    """An audio filter that brings the audio to `target` LUFS integrated with true peaks at most -1 dBTP (EBU
    R128, the way platforms measure): one gain when the peaks allow it, else the gain and a peak limiter, the
    gain then corrected by measuring the limited audio (up to MAX_PASSES times). "" for silence."""
    loudness, peak = measure(path, start, seconds)
    if loudness < -69:
        return ""
    gain = target - loudness
    if peak + gain <= TRUE_PEAK_DB:
        return f"volume={gain:.2f}dB"
    ceiling = 10 ** ((TRUE_PEAK_DB - LIMITER_MARGIN_DB) / 20)

    def chain(db: float) -> str:
        return f"volume={db:.2f}dB,alimiter=limit={ceiling:.4f}:attack=1:release=60:level=0"
    for _ in range(MAX_PASSES):   # limiting takes loudness away: measure again and raise the gain to make up
        limited, _ = measure(path, start, seconds, chain(gain))
        if abs(target - limited) < 0.3:
            break
        gain += (target - limited) * 1.3
    return chain(gain)
