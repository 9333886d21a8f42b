"""Frame features of a whole track, computed while ffmpeg decodes it: memory grows with the number of
feature frames (60 per second, ~60 floats each), never with the audio itself.

At RATE = 12 kHz and HOP = 200 samples a feature frame is 1/60 s: two per video frame at 30 fps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nemo_local.media.ffmpeg import pcm_stream

RATE = 12000
HOP = 200
N_FFT = 1024
FEATURE_RATE = RATE / HOP          # 60 frames per second
N_BANDS = 48
BAND_LOW, BAND_HIGH = 30.0, 5500.0
BASS_LOW, BASS_HIGH = 20.0, 150.0
CHROMA_LOW, CHROMA_HIGH = 150.0, 2500.0   # where chords are heard, above the bass's muddy low bins
SILENT_DB = -50.0                  # a frame whose RMS is under this (dBFS) is silence
BLOCK_FRAMES = 600                 # 10 s of audio per processing block: ~20 MB of STFT temporaries


@dataclass
class Features:
    onset: np.ndarray              # (n,) spectral flux of log magnitudes, float32
    bands: np.ndarray              # (n, N_BANDS) band levels in dB, float32
    bass: np.ndarray               # (n,) 20-150 Hz energy (linear power), float32
    rms: np.ndarray                # (n,) RMS of each hop, float32
    duration: float                # seconds of audio decoded
    chroma: np.ndarray             # (n, 12) power of each pitch class (A, A#, ... G#), float32: chord changes

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.onset)) / FEATURE_RATE


def span_means(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The mean of a per-frame series from each start to each end (seconds); 0 for an empty span."""
    cum = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    a = np.clip(np.round(starts * FEATURE_RATE).astype(np.int64), 0, len(values))
    b = np.clip(np.round(ends * FEATURE_RATE).astype(np.int64), 0, len(values))
    return (cum[b] - cum[a]) / np.maximum(b - a, 1)


def beat_length(beats: np.ndarray, alone: float = 0.5) -> float:
    """Seconds a beat: the median gap between beats (`alone` when there are fewer than two)."""
    return float(np.median(np.diff(beats))) if len(beats) > 1 else alone


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, past the last) index of each run of True in a boolean series."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def heard_before(rms: np.ndarray) -> np.ndarray:
    """How many frames were heard (over SILENT_DB) before each frame; one entry more than there are frames."""
    return np.concatenate([[0], np.cumsum(20 * np.log10(rms + 1e-6) > SILENT_DB)])


def band_matrix() -> np.ndarray:
    """(bins, bands) weights summing FFT power into log-spaced bands (each band at least one bin)."""
    freqs = np.fft.rfftfreq(N_FFT, 1 / RATE)
    edges = np.geomspace(BAND_LOW, BAND_HIGH, N_BANDS + 1)
    matrix = np.zeros((len(freqs), N_BANDS), dtype=np.float32)
    for band in range(N_BANDS):
        inside = (freqs >= edges[band]) & (freqs < edges[band + 1])
        if not inside.any():
            inside = np.zeros_like(inside)
            inside[int(np.argmin(np.abs(freqs - np.sqrt(edges[band] * edges[band + 1]))))] = True
        matrix[inside, band] = 1.0 / inside.sum()
    return matrix


def chroma_matrix() -> np.ndarray:
    """(bins, 12) weights summing FFT power between CHROMA_LOW and CHROMA_HIGH into the nearest pitch class."""
    freqs = np.fft.rfftfreq(N_FFT, 1 / RATE)
    inside = (freqs >= CHROMA_LOW) & (freqs <= CHROMA_HIGH)
    pitch = np.round(12 * np.log2(np.where(inside, freqs, 440.0) / 440.0)).astype(np.int64) % 12
    matrix = np.zeros((len(freqs), 12), dtype=np.float32)
    matrix[inside, pitch[inside]] = 1.0
    return matrix


def extract(path: Path) -> Features:
    """Decode the first audio stream of any file ffmpeg reads and compute its features, block by block."""
    window = np.hanning(N_FFT).astype(np.float32)
    bands_w, chroma_w = band_matrix(), chroma_matrix()
    freqs = np.fft.rfftfreq(N_FFT, 1 / RATE)
    bass_bins = (freqs >= BASS_LOW) & (freqs <= BASS_HIGH)
    block = BLOCK_FRAMES * HOP
    carry = np.zeros(N_FFT // 2, dtype=np.float32)       # centred frames: half a window of silence first
    prev_log: np.ndarray | None = None
    parts: dict[str, list[np.ndarray]] = {"onset": [], "bands": [], "bass": [], "rms": [], "chroma": []}
    total = 0
    with pcm_stream(path, RATE, block) as blocks:
        for samples in blocks:
            done = len(samples) < block
            total += len(samples)
            buf = np.concatenate([carry, samples])
            if done and len(buf) > N_FFT // 2 + 1:
                # Centre the last hops on a mirror image of the end: padding with silence would cut the
                # signal inside the window and fake a broadband onset at the very end.
                buf = np.concatenate([buf, buf[-(N_FFT // 2) - 1: -1][::-1]])
            count = (len(buf) - N_FFT) // HOP + 1 if len(buf) >= N_FFT else 0
            if count > 0:
                frames = np.lib.stride_tricks.sliding_window_view(buf, N_FFT)[: count * HOP: HOP]
                power = np.abs(np.fft.rfft(frames * window, axis=1)).astype(np.float32) ** 2
                log_mag = np.log1p(100.0 * np.sqrt(power))
                previous = log_mag[:1] if prev_log is None else prev_log
                flux = np.maximum(np.diff(log_mag, axis=0, prepend=previous), 0).sum(axis=1)
                prev_log = log_mag[-1:]
                parts["onset"].append(flux.astype(np.float32))
                parts["bands"].append((10 * np.log10(power @ bands_w + 1e-10)).astype(np.float32))
                parts["bass"].append(power[:, bass_bins].sum(axis=1).astype(np.float32))
                parts["chroma"].append((power @ chroma_w).astype(np.float32))
                centre = frames[:, N_FFT // 2 - HOP // 2: N_FFT // 2 + HOP // 2]
                parts["rms"].append(np.sqrt(np.mean(centre**2, axis=1)).astype(np.float32))
                carry = buf[count * HOP:]
            else:
                carry = buf
    n_expected = int(np.ceil(total / HOP))

    def joined(name: str, shape: tuple[int, ...]) -> np.ndarray:
        arrays = parts.pop(name)
        data = np.concatenate(arrays) if arrays else np.zeros((0, *shape), np.float32)
        arrays.clear()
        return data[:n_expected]

    return Features(joined("onset", ()), joined("bands", (N_BANDS,)), joined("bass", ()), joined("rms", ()),
                    total / RATE, joined("chroma", (12,)))
