"""Beat and downbeat activations from BeatNet's CRNN, run in numpy while ffmpeg decodes the track.

The input is the one BeatNet was trained on (madmom's pipeline, rebuilt here): 22.05 kHz mono, 64 ms Hann frames
every 20 ms (50 per second, centred), magnitudes through 24-per-octave triangular filters from 30 Hz to 17 kHz,
log10(1 + x), and the positive difference to the frame before, stacked: 272 values a frame. The network: a
1-D convolution across those values (2 filters of 10), ReLU, max-pool by 2, a dense layer to 150, two LSTM layers of
150 cells and a dense layer to three classes (beat, downbeat, neither) with a softmax. Its LSTM runs forward only,
so the track is processed in blocks carrying the state: memory does not grow with the audio. The three trained
models run side by side and their activations are averaged (an ensemble is steadier than any one model on the
scoreboard, BENCHMARKS.md), and so are the answers on two frame grids half a hop apart (`activations`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nemo_local.analysis.beat_model import Weights
from nemo_local.media.ffmpeg import pcm_stream

RATE = 22050
FPS = 50
HOP = RATE // FPS                       # 441
FRAME = int(0.064 * RATE)               # 1411
BANDS_PER_OCTAVE, F_MIN, F_MAX, F_REF = 24, 30.0, 17000.0, 440.0
BLOCK = 500                             # frames per block: 10 s


def filterbank() -> np.ndarray:
    """(bins, bands) area-normalised triangular filters on a 24-per-octave scale, as madmom builds them."""
    bins_hz = np.fft.fftfreq(FRAME - 1, 1.0 / RATE)[: FRAME // 2]
    left = np.floor(np.log2(F_MIN / F_REF) * BANDS_PER_OCTAVE)
    right = np.ceil(np.log2(F_MAX / F_REF) * BANDS_PER_OCTAVE)
    freqs = F_REF * 2.0 ** (np.arange(left, right) / BANDS_PER_OCTAVE)
    freqs = freqs[np.searchsorted(freqs, F_MIN):]
    freqs = freqs[: np.searchsorted(freqs, F_MAX, "right")]
    idx = np.clip(bins_hz.searchsorted(freqs), 1, len(bins_hz) - 1)
    idx -= (freqs - bins_hz[idx - 1] < bins_hz[idx] - freqs).astype(idx.dtype)
    centres = np.unique(idx)
    filters = []
    for start, centre, stop in zip(centres[:-2], centres[1:-1], centres[2:], strict=True):
        if stop - start < 2:
            centre, stop = start, start + 1
        shape = np.concatenate([np.linspace(0, 1, centre - start, endpoint=False),
                                np.linspace(1, 0, stop - centre, endpoint=False)])
        column = np.zeros(len(bins_hz))
        column[start:stop] = shape / shape.sum()
        filters.append(column)
    return np.stack(filters, axis=1).astype(np.float32)


def diff_frames() -> int:
    """How many frames back the difference looks: where the window has fallen to half (madmom's rule)."""
    window = np.hanning(FRAME)
    sample = int(np.argmax(window > 0.5 * window.max()))
    return max(1, round((FRAME / 2 - sample) / HOP))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Network:
    """The three models stacked so that one step of the LSTM advances all of them; state carried between blocks."""

    def __init__(self, models: tuple[Weights, ...]) -> None:
        stack = lambda key: np.stack([m[key] for m in models])   # noqa: E731
        conv = stack("conv1.weight")[:, :, 0, :]                                              # (M, 2, 10)
        self.taps = conv.shape[2]
        self.conv_w = np.ascontiguousarray(conv.reshape(-1, self.taps).T)                      # (10, M * 2)
        self.conv_b = stack("conv1.bias").reshape(-1)
        self.dense_w_t = np.ascontiguousarray(stack("linear0.weight").transpose(0, 2, 1))       # (M, 262, 150)
        self.dense_b = stack("linear0.bias")
        # PyTorch orders an LSTM's gates input, forget, cell, output; here the three sigmoid gates come first
        cells = stack("lstm.weight_hh_l0").shape[2]
        order = np.r_[0: 2 * cells, 3 * cells: 4 * cells, 2 * cells: 3 * cells]
        self.w_ih_t = [np.ascontiguousarray(stack(f"lstm.weight_ih_l{k}")[:, order].transpose(0, 2, 1)) for k in (0, 1)]
        self.w_hh_t = [np.ascontiguousarray(stack(f"lstm.weight_hh_l{k}")[:, order].transpose(0, 2, 1)) for k in (0, 1)]
        self.bias = [(stack(f"lstm.bias_ih_l{k}") + stack(f"lstm.bias_hh_l{k}"))[:, order] for k in (0, 1)]
        self.out_w_t, self.out_b = np.ascontiguousarray(stack("linear.weight").transpose(0, 2, 1)), stack("linear.bias")
        count = len(models)
        self.h = [np.zeros((count, 1, cells), np.float32) for _ in (0, 1)]
        self.c = [np.zeros((count, 1, cells), np.float32) for _ in (0, 1)]

    def _lstm(self, layer: int, x: np.ndarray) -> np.ndarray:
        """x (M, T, 150) -> hidden states (M, T, 150)."""
        pre = x @ self.w_ih_t[layer] + self.bias[layer][:, None, :]
        h, c, w_hh_t = self.h[layer], self.c[layer], self.w_hh_t[layer]
        cells = h.shape[2]
        out = np.empty((*x.shape[:2], cells), np.float32)
        for t in range(x.shape[1]):
            gates = pre[:, t: t + 1, :] + h @ w_hh_t
            ifo = _sigmoid(gates[..., : 3 * cells])          # gates reordered at load: input, forget, output
            c = ifo[..., cells: 2 * cells] * c + ifo[..., :cells] * np.tanh(gates[..., 3 * cells:])
            h = ifo[..., 2 * cells:] * np.tanh(c)
            out[:, t, :] = h[:, 0, :]
        self.h[layer], self.c[layer] = h, c
        return out

    def step(self, features: np.ndarray) -> np.ndarray:
        """(T, 272) features -> (T, 2) beat and downbeat activations, the models' mean."""
        frames = len(features)
        taps = np.lib.stride_tricks.sliding_window_view(features.astype(np.float32), self.taps, axis=1)
        width = taps.shape[1]                                                     # 263 positions
        conv = np.maximum(taps.reshape(-1, self.taps) @ self.conv_w + self.conv_b, 0)
        conv = conv.reshape(frames, width, -1, 2).transpose(2, 0, 3, 1)          # (M, T, 2 filters, 263)
        pooled = conv[..., : width // 2 * 2].reshape(*conv.shape[:3], -1, 2).max(axis=4)
        x = pooled.reshape(pooled.shape[0], frames, -1) @ self.dense_w_t + self.dense_b[:, None, :]
        x = self._lstm(1, self._lstm(0, x.astype(np.float32)))
        logits = x @ self.out_w_t + self.out_b[:, None, :]
        logits -= logits.max(axis=2, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=2, keepdims=True)
        return prob[..., :2].mean(axis=0)


def activations(path: Path, models: tuple[Weights, ...]) -> np.ndarray:
    """(frames, 2) beat and downbeat activations of a track at FPS frames per second, frame i at i / FPS s: the
    mean of the network heard on frames centred there and on frames half a hop (10 ms) either side of it.

    The frame grid is an accident of where the track starts; the network's answers on two grids half a hop
    apart differ, and their mean is steadier (on the scoreboard: beats 0.787 -> 0.794, downbeats 0.617 -> 0.652)
    for twice the network's cost."""
    on_grid = grid_activations(path, models)
    between = grid_activations(path, models, delay=HOP // 2)      # frame i centred at i / FPS - 10 ms
    n = min(len(on_grid), len(between) - 1)
    if n <= 0:
        return on_grid
    centred = (between[:n] + between[1: n + 1]) / 2
    return np.concatenate([(on_grid[:n] + centred) / 2, on_grid[n:]])


def grid_activations(path: Path, models: tuple[Weights, ...], delay: int = 0) -> np.ndarray:
    """(frames, 2) activations of the track heard `delay` samples late: frame i centred at i / FPS - delay / RATE."""
    bank, lag, window = filterbank(), diff_frames(), np.hanning(FRAME).astype(np.float32)
    net = Network(models)
    carry = np.zeros(FRAME // 2 + delay, np.float32)  # frame i is centred on sample i * HOP (of the delayed track)
    previous = np.zeros((lag, bank.shape[1]), np.float32)
    parts, total, made = [], delay, 0
    with pcm_stream(path, RATE, BLOCK * HOP, resampler="soxr") as blocks:   # soxr: as librosa, which BeatNet used
        for samples in blocks:
            done = len(samples) < BLOCK * HOP
            total += len(samples)
            buf = np.concatenate([carry, samples, np.zeros(FRAME, np.float32) if done else samples[:0]])
            wanted = -(-total // HOP) - made if done else (len(buf) - FRAME) // HOP + 1
            count = max(0, min(wanted, (len(buf) - FRAME) // HOP + 1))
            if count:
                frames = np.lib.stride_tricks.sliding_window_view(buf, FRAME)[: count * HOP: HOP]
                magnitude = np.abs(np.fft.rfft(frames * window, axis=1))[:, : FRAME // 2].astype(np.float32)
                spec = np.log10(1.0 + magnitude @ bank)
                joined = np.concatenate([previous, spec])
                diff = np.maximum(joined[lag:] - joined[:-lag], 0)
                if made == 0:
                    diff[:lag] = 0                    # nothing before the first frame to differ from
                previous = joined[-lag:]
                parts.append(net.step(np.hstack([spec, diff])))
                made += count
                carry = buf[count * HOP:]
    return np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)
