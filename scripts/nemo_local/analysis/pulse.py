"""Which tracker's pulse to trust when the two disagree on the tempo beyond a factor of two.

The network's bar-pointer model now and then settles on a tempo the music does not repeat at: 111 BPM for a 160 BPM
track, 121 for an 87 BPM one, 175 for 140 (bench/real_beats.py, the Freedoom scoreboard). Its beats then drift
through the bar and every cut and drop rule built on them is lost. The signal tracker, fitted on the onsets
themselves, is rarely fooled that way, but it has its own failure: on syncopated songs it takes 4/3 of the tempo (or
2/3 of a network at double time), where the network is right. Neither tracker can be trusted alone on a
disagreement; the onsets can judge it: `salience` is how strongly the onset envelope repeats at a tempo's beat and
its next three multiples (the autocorrelation there, 1 at the envelope itself). At a wrong tempo the multiples land
between the music's beats and the salience is near 0; at a right one, or at half or twice it, it is clearly
positive. On every disagreement on the scoreboards (11 recordings) the right tracker had the higher salience; the
network's wrong tempos scored -0.05 to -0.03, its right ones 0.39 to 0.68. The network is refused only when its
tempo is WEAK and the signal tracker's at least MARGIN stronger: when unsure, the network stays (it wins on swing
and syncopation).
"""

from __future__ import annotations

import numpy as np

from nemo_local.analysis.beats import autocorrelation, normalise_onset
from nemo_local.analysis.features import FEATURE_RATE

MULTIPLES = (1, 2, 3, 4)   # a beat and the next three: a tempo the music repeats at repeats over a bar
OCTAVE = 0.05              # tempos within this (log2) of one, twice or half the other are one pulse
WEAK = 0.2                 # the network's tempo is refused under this salience ...
MARGIN = 0.2               # ... when the signal tracker's is at least this much stronger
SPAN_S = 300.0             # of the envelope the autocorrelation is measured on (the start of the track)


def salience(onset: np.ndarray, bpm: float) -> float:
    """How strongly the onset envelope repeats at this tempo: the mean of its autocorrelation (normalised, 1 at lag
    0) at one to four beats; near 0 for a tempo the music does not repeat at, 0 for no tempo or no envelope."""
    envelope = normalise_onset(onset[: int(SPAN_S * FEATURE_RATE)]).astype(np.float64)
    lags = np.array(MULTIPLES) * 60.0 / bpm * FEATURE_RATE if bpm > 0 else np.zeros(1)
    if lags[0] <= 0 or len(envelope) < 2 * lags[-1]:
        return 0.0
    correlation = autocorrelation(envelope, int(np.ceil(lags[-1])) + 1)
    if correlation[0] <= 0:
        return 0.0
    correlation /= correlation[0]
    return float(np.mean(np.interp(lags, np.arange(len(correlation)), correlation)))


def one_pulse(a: float, b: float) -> bool:
    """Whether two tempos are the same pulse, or one twice the other (within OCTAVE)."""
    if a <= 0 or b <= 0:
        return False
    octaves = np.log2(a / b)
    return bool(min(abs(octaves - k) for k in (-1, 0, 1)) < OCTAVE)


def refuse_network(onset: np.ndarray, network_bpm: float, signal_bpm: float) -> bool:
    """Whether the network's tempo is one the music does not repeat at while the signal tracker's is: the trackers
    disagree beyond a factor of two, the network's salience is under WEAK and the signal's MARGIN over it."""
    if network_bpm <= 0 or signal_bpm <= 0 or one_pulse(network_bpm, signal_bpm):
        return False
    network = salience(onset, network_bpm)
    return network < WEAK and salience(onset, signal_bpm) >= network + MARGIN
