"""Counting beats through bars: the beat-synchronous bar model of `downbeats`, and the chord cue it reads."""

from __future__ import annotations

import numpy as np
import pytest

from nemo_local.analysis.downbeats import count_beats, downbeats
from nemo_local.analysis.features import FEATURE_RATE, N_BANDS, Features, chroma_matrix


def evidence(lengths: list[int], noise: float = 0.3, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Downbeat evidence (1 on each bar's first beat, 0 elsewhere, plus noise) and where the bars start."""
    first = np.concatenate([[1.0, *[0.0] * (n - 1)] for n in lengths])
    rng = np.random.default_rng(seed)
    return first + noise * rng.standard_normal(len(first)), np.flatnonzero(first)


@pytest.mark.parametrize("meter", [3, 4])
def test_a_steady_bar_is_counted_with_its_meter(meter: int) -> None:
    score, starts = evidence([meter] * 30)
    place, bar = count_beats(score)
    assert np.array_equal(np.flatnonzero(place == 0), starts)
    assert set(bar.tolist()) == {meter}


def test_a_bar_cut_short_moves_every_later_downbeat_with_it() -> None:
    score, starts = evidence([4] * 12 + [2] + [4] * 12)
    place, _ = count_beats(score)
    assert np.array_equal(np.flatnonzero(place == 0), starts)


def test_one_loud_off_beat_does_not_move_the_bar() -> None:
    score, starts = evidence([4] * 24, noise=0.0)
    score[41] = 3.0                       # one crash on the second beat of a bar
    place, _ = count_beats(score)
    assert np.array_equal(np.flatnonzero(place == 0), starts)


def test_flat_evidence_gives_no_downbeats() -> None:
    n = 600
    flat = Features(np.zeros(n, np.float32), np.zeros((n, N_BANDS), np.float32), np.ones(n, np.float32),
                    np.ones(n, np.float32), n / FEATURE_RATE, np.ones((n, 12), np.float32))
    bars, meter = downbeats(np.arange(0.5, n / FEATURE_RATE, 0.5), flat)
    assert len(bars) == 0 and meter == 4


@pytest.mark.parametrize(("hz", "pitch_class"), [(440.0, 0), (523.25, 3), (784.0, 10)])
def test_the_chroma_matrix_puts_a_note_in_its_pitch_class(hz: float, pitch_class: int) -> None:
    from nemo_local.analysis.features import N_FFT, RATE

    t = np.arange(N_FFT) / RATE
    power = np.abs(np.fft.rfft(np.hanning(N_FFT) * np.sin(2 * np.pi * hz * t))) ** 2
    assert int(np.argmax(power @ chroma_matrix())) == pitch_class
