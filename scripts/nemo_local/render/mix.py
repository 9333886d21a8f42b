"""The clips' own sound, when the user asks for it: one stereo WAV with the music under each clip's sound,
written shot by shot (memory does not grow with the track), which the encoder then takes as the audio."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nemo_local.media.ffmpeg import decode_pcm

RATE, CHANNELS = 48_000, 2
MUSIC_UNDER_CLIPS = 0.35     # the music's level while a clip speaks (a duck, not a cut)
CLIP_LEVEL = 0.9
RAMP_S = 0.03                # the duck eases in and out, so no click at a cut


def _read(proc: subprocess.Popen[bytes], samples: int) -> np.ndarray:
    """Exactly `samples` stereo samples as float32 (silence after the end)."""
    assert proc.stdout is not None
    want = samples * CHANNELS * 2
    raw = proc.stdout.read(want) or b""
    data = np.frombuffer(raw[: len(raw) - len(raw) % (CHANNELS * 2)], "<i2").astype(np.float32).reshape(-1, CHANNELS)
    if len(data) < samples:
        data = np.concatenate([data, np.zeros((samples - len(data), CHANNELS), np.float32)])
    return data


def _close(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdout is not None:
        proc.stdout.close()
    proc.kill()
    proc.wait()


def _blocks(total: int, size: int = RATE) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def mix_clip_sound(music: Path, shots: list[tuple[float, float, Path]], start: float, seconds: float,
                   out: Path, music_volume: float = 1.0) -> Path:
    """Write `out` (WAV): the music from `start` for `seconds`, and under each (shot start, shot length, clip)
    in seconds from `start`, the clip's own sound from its beginning (looped like its picture), the music
    ducked under it."""
    total = round(seconds * RATE)
    ramp = max(1, int(RAMP_S * RATE))
    music_proc = decode_pcm(music, RATE, start=start, channels=CHANNELS, seconds=seconds)
    try:
        with wave.open(str(out), "wb") as sink:
            sink.setnchannels(CHANNELS)
            sink.setsampwidth(2)
            sink.setframerate(RATE)
            edges = [(round(s * RATE), round((s + d) * RATE), clip) for s, d, clip in sorted(shots) if d > 0]
            at = 0
            for begin, end, clip in [*edges, (total, total, None)]:
                begin, end = max(at, min(begin, total)), min(end, total)
                for _, size in _blocks(begin - at):            # music alone up to the shot
                    sink.writeframesraw(_pcm(_read(music_proc, size) * music_volume))
                if clip is None or end <= begin:
                    at = max(at, begin)
                    continue
                clip_proc = decode_pcm(clip, RATE, channels=CHANNELS, seconds=(end - begin) / RATE, loop=True)
                try:
                    gain = np.full(end - begin, MUSIC_UNDER_CLIPS, np.float32)
                    edge = min(ramp, len(gain) // 2)
                    gain[:edge] = np.linspace(1, MUSIC_UNDER_CLIPS, edge)
                    gain[len(gain) - edge:] = np.linspace(MUSIC_UNDER_CLIPS, 1, edge)
                    gain *= music_volume
                    for offset, size in _blocks(end - begin):
                        music_part = _read(music_proc, size) * gain[offset: offset + size, None]
                        mixed = music_part + _read(clip_proc, size) * CLIP_LEVEL
                        sink.writeframesraw(_pcm(mixed))
                finally:
                    _close(clip_proc)
                at = end
    finally:
        _close(music_proc)
    return out


def _pcm(block: np.ndarray) -> bytes:
    return np.clip(block, -32768, 32767).astype("<i2").tobytes()
