#!/usr/bin/env python3
"""The plots drops are marked from (bench/real_drops.py): runs in the reference environment (bench/.reference,
librosa and matplotlib), never imports the skill, so nothing of the analysis under test shows in them.

    bench/.reference/bin/python bench/real_plots.py WAV PNG            # the whole recording
    bench/.reference/bin/python bench/real_plots.py WAV PNG 400 430    # a closer look: from 400 s to 430 s

One row per minute; in each row the log-frequency spectrogram (mel, 30 Hz-11 kHz) and, under it, the bass
(20-150 Hz) and the whole signal's level in dB (0.1 s means) with the onset density (librosa's onset strength,
a 1 s mean, scaled to the panel). Grid lines every second, labels every five.
"""

from __future__ import annotations

import sys

import librosa
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SR, HOP = 22050, 441          # 50 frames a second
ROW_S = 60.0


def levels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    spec = np.abs(librosa.stft(y, n_fft=4096, hop_length=HOP)) ** 2
    freqs = librosa.fft_frequencies(sr=SR, n_fft=4096)
    bass = spec[(freqs >= 20) & (freqs <= 150)].sum(axis=0)
    total = spec.sum(axis=0)
    smooth = np.ones(5) / 5                                        # 0.1 s
    bass_db = 10 * np.log10(np.convolve(bass, smooth, mode="same") + 1e-10)
    total_db = 10 * np.log10(np.convolve(total, smooth, mode="same") + 1e-10)
    onset = librosa.onset.onset_strength(y=y, sr=SR, hop_length=HOP)
    density = np.convolve(onset, np.ones(50) / 50, mode="same")
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP, n_mels=96, fmin=30,
                                                             fmax=11000), ref=np.max)
    return mel, bass_db - bass_db.max(), total_db - total_db.max(), density / (density.max() + 1e-9)


def plot(wav: str, png: str, start: float = 0.0, end: float | None = None) -> None:
    y, _ = librosa.load(wav, sr=SR, mono=True)
    mel, bass, total, density = levels(y)
    duration = len(y) / SR
    row_s = ROW_S if end is None else end - start
    rows = int(np.ceil((duration - start) / row_s)) if end is None else 1
    fig, axes = plt.subplots(2 * rows, 1, figsize=(26, 3.6 * rows), gridspec_kw={"height_ratios": [1, 1] * rows},
                             squeeze=False)
    t = np.arange(mel.shape[1]) * HOP / SR
    for r in range(rows):
        a, b = start + r * row_s, start + (r + 1) * row_s
        sel = (t >= a) & (t < b)
        top, low = axes[2 * r, 0], axes[2 * r + 1, 0]
        top.imshow(mel[:, sel], origin="lower", aspect="auto", extent=(a, min(b, duration), 0, 96), cmap="magma",
                   vmin=-70, vmax=0)
        low.plot(t[sel], bass[sel], color="tab:blue", lw=0.9, label="bass 20-150 Hz dB")
        low.plot(t[sel], total[sel], color="tab:gray", lw=0.7, label="all dB")
        low.plot(t[sel], -60 + 60 * density[sel], color="tab:red", lw=0.9, label="onset density (scaled)")
        low.set_ylim(-60, 2)
        for ax in (top, low):
            ax.set_xlim(a, b)
            major, minor = (5, 1) if row_s > 20 else (1, 0.1)
            ax.set_xticks(np.arange(np.ceil(a / major) * major, b + 0.01, major))
            ax.set_xticks(np.arange(np.ceil(a / minor) * minor, b + 0.01, minor), minor=True)
            ax.grid(True, which="minor", axis="x", color="white" if ax is top else "#ddd", lw=0.3)
            ax.grid(True, which="major", axis="x", color="cyan" if ax is top else "#999", lw=0.6)
            ax.tick_params(labelsize=8)
        top.set_yticks([])
        if r == 0:
            low.legend(loc="lower right", fontsize=7)
    fig.suptitle(wav.rsplit("/", 1)[-1], fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=75)


if __name__ == "__main__":
    plot(sys.argv[1], sys.argv[2], *(float(a) for a in sys.argv[3:5]))
