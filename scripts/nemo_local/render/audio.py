"""Audio decoding through ffmpeg, streamed: PCM arrives in per-frame blocks, never as a whole file."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nemo_local.media import ffmpeg_exe


def pcm_blocks(path: Path, rate: int, block: int, blocks: int) -> Iterator[np.ndarray]:
    """Yield exactly `blocks` mono float32 blocks of `block` samples at `rate` Hz (zero-padded at the end)."""
    proc = subprocess.Popen(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:a:0",
         "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "pipe:1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    size = block * 2
    try:
        for _ in range(blocks):
            raw = proc.stdout.read(size)
            samples = np.frombuffer(raw[: len(raw) - len(raw) % 2], dtype="<i2").astype(np.float32) / 32768.0
            if len(samples) < block:
                samples = np.pad(samples, (0, block - len(samples)))
            yield samples
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
