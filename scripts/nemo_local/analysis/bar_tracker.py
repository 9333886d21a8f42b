"""Beats and downbeats from beat/downbeat activations: the bar-pointer hidden Markov model, decoded by Viterbi.

The model is madmom's DBNDownBeatTrackingProcessor (Böck, Krebs and Widmer, "Joint beat and downbeat tracking
with recurrent neural networks", ISMIR 2016; Krebs, Böck and Widmer, "An efficient state space model for joint
tempo and meter tracking", ISMIR 2015), rebuilt in numpy with its published defaults. A state is (beat of the
bar, beat period in frames, position within that beat); the position advances one frame at a time, and the period
may change only where a beat begins, the more likely the smaller the change (exp(-100 |ratio - 1|)). The first
sixteenth of a beat is where a beat is heard (the activation of a beat, or a downbeat on the bar's first beat);
elsewhere, neither. A bar of 3 and a bar of 4 are decoded separately and the likelier one is kept. Each beat is
then placed on its activation's peak, between frames (`vertex`): at 50 frames a second a beat on a frame is up to
10 ms off, and one beat period a whole number of frames (23 or 24 at 128 BPM).

Only the predecessor of a beat's first state is a choice (of the period before it), so only that choice is kept
for each frame: (beats a bar x periods) bytes a frame, not a pointer for every state; and only for one stretch of
frames at a time (checkpointed Viterbi), so the memory held does not grow with the track but for a score vector
every ten minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nemo_local.analysis.features import runs

MIN_BPM, MAX_BPM, NUM_TEMPI = 55.0, 215.0, 60
TRANSITION_LAMBDA = 100.0
OBSERVATION_LAMBDA = 16
THRESHOLD = 0.05          # frames before the first and after the last activation this strong are left out
METERS = (3, 4)
STRETCH = 30000          # frames (10 minutes) between the Viterbi's checkpoints: 7 MB of choices at most


def periods(fps: float) -> np.ndarray:
    """The beat periods the model knows, in frames (as madmom: every whole number, or NUM_TEMPI log-spaced)."""
    shortest, longest = 60.0 * fps / MAX_BPM, 60.0 * fps / MIN_BPM
    values = np.arange(np.round(shortest), np.round(longest) + 1)
    count = NUM_TEMPI
    if len(values) > NUM_TEMPI:
        values = np.zeros(0)
        while len(values) < NUM_TEMPI:
            values = np.unique(np.round(np.logspace(np.log2(shortest), np.log2(longest), count, base=2)))
            count += 1
    return values.astype(np.int64)


def tempo_change(intervals: np.ndarray) -> np.ndarray:
    """(from, to) log probabilities of the next beat's period given this one's."""
    ratio = intervals[None, :] / intervals[:, None].astype(np.float64)
    prob = np.exp(-TRANSITION_LAMBDA * np.abs(ratio - 1.0))
    prob[prob <= np.spacing(1)] = 0.0
    prob /= prob.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(prob)


@dataclass
class BarModel:
    meter: int
    intervals: np.ndarray    # (K,) beat periods in frames
    first: np.ndarray        # (meter, K) the state where each beat of each period begins
    last: np.ndarray         # (meter, K) the state where it ends
    kind: np.ndarray         # (states,) 0 between beats, 1 a beat, 2 the bar's first beat
    beat: np.ndarray         # (states,) which beat of the bar
    change: np.ndarray       # (K, K) log P(period -> period)

    @classmethod
    def build(cls, meter: int, fps: float) -> BarModel:
        intervals = periods(fps)
        starts = np.concatenate([[0], np.cumsum(intervals)[:-1]])
        per_beat = int(intervals.sum())
        first = np.arange(meter)[:, None] * per_beat + starts[None, :]
        fraction = np.concatenate([np.arange(i) / i for i in intervals])
        onset = np.tile(fraction < 1.0 / OBSERVATION_LAMBDA, meter)
        beat = np.repeat(np.arange(meter), per_beat)
        kind = np.where(onset, np.where(beat == 0, 2, 1), 0).astype(np.int64)
        return cls(meter, intervals, first, first + intervals[None, :] - 1, kind, beat, tempo_change(intervals))

    def _forward(self, delta: np.ndarray, observe: np.ndarray, frames: range,
                 choice: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Viterbi scores after `frames` from `delta` (normalised to a top of 0 each frame, the total removed is
        returned); each frame's choice of the period before a beat begins goes to `choice` when given."""
        before = np.roll(np.arange(self.meter), 1)      # beat b follows beat b - 1
        total = 0.0
        for i, t in enumerate(frames):
            ends = delta[self.last][before]                                 # (meter, K from)
            options = ends[:, :, None] + self.change[None, :, :]            # (meter, K from, K to)
            best = np.argmax(options, axis=1)
            moved = np.empty_like(delta)
            moved[1:] = delta[:-1]
            moved[self.first] = np.take_along_axis(options, best[:, None, :], axis=1)[:, 0, :]
            moved += observe[t, self.kind]
            if choice is not None:
                choice[i] = best
            top = moved.max()
            total += top
            delta = moved - top
        return delta, total

    def decode(self, observe: np.ndarray) -> tuple[np.ndarray, float]:
        """The likeliest state path for (frames, 3) log densities (neither, beat, downbeat), and its log prob.

        Checkpointed: the forward pass keeps the scores at the start of each STRETCH of frames and the choices of
        the stretch it is in; the trace back runs the forward pass of each earlier stretch again to get its
        choices. The memory held is one stretch of choices and a score vector a stretch, and a track no longer
        than a stretch is decoded in one pass."""
        frames, states = len(observe), len(self.kind)
        delta = np.full(states, -np.log(states)) + observe[0, self.kind]
        stretches = [range(a, min(a + STRETCH, frames)) for a in range(1, frames, STRETCH)]
        choice = np.zeros((min(STRETCH, frames), self.meter, len(self.intervals)), np.uint8)
        saved, total = [], 0.0
        for stretch in stretches:
            saved.append(delta)
            delta, removed = self._forward(delta, observe, stretch, choice)
            total += removed
        state = int(np.argmax(delta))
        score = float(delta[state] + total)
        path = np.empty(frames, np.int32)
        starts = {int(s): (b, k) for (b, k), s in np.ndenumerate(self.first)}
        for n in range(len(stretches) - 1, -1, -1):
            stretch = stretches[n]
            if n < len(stretches) - 1:                   # the last stretch's choices are still there
                self._forward(saved[n], observe, stretch, choice)
            for t in reversed(stretch):
                path[t] = state
                if state in starts:
                    b, k = starts[state]
                    state = int(self.last[(b - 1) % self.meter, choice[t - stretch.start, b, k]])
                else:
                    state -= 1
        path[0] = state
        return path, score


def log_densities(activations: np.ndarray) -> np.ndarray:
    """(frames, 3) log densities of neither, a beat and a downbeat, as madmom's observation model."""
    act = np.clip(activations.astype(np.float64), 1e-7, None)
    neither = np.clip(1.0 - act.sum(axis=1), 1e-7, None) / (OBSERVATION_LAMBDA - 1)
    return np.log(np.column_stack([neither, act[:, 0], act[:, 1]]))


def track(activations: np.ndarray, fps: float, meters: tuple[int, ...] = METERS) -> tuple[np.ndarray, np.ndarray, int]:
    """(beat times in s, each beat's number in its bar from 1, beats a bar) for (frames, 2) activations."""
    strong = np.nonzero((activations >= THRESHOLD).any(axis=1))[0]
    if len(strong) < 2:
        return np.zeros(0), np.zeros(0, np.int64), 4
    first, end = int(strong[0]), int(strong[-1]) + 1
    act = activations[first:end]
    observe = log_densities(act)
    best: tuple[float, BarModel, np.ndarray] | None = None
    for meter in meters:
        model = BarModel.build(meter, fps)
        path, score = model.decode(observe)
        if best is None or score > best[0]:
            best = (score, model, path)
    assert best is not None
    _, model, path = best
    onset = model.kind[path] >= 1
    peaks = np.array([left + int(np.argmax(act[left:right].max(axis=1))) for left, right in runs(onset)], np.int64)
    if len(peaks) == 0:
        return np.zeros(0), np.zeros(0, np.int64), model.meter
    numbers = model.beat[path[peaks]] + 1
    return (peaks + vertex(act.max(axis=1), peaks) + first) / fps, numbers.astype(np.int64), model.meter


def vertex(curve: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Where between frames each peak of `curve` lies, -0.5 to 0.5 frames from it: the top of the parabola through
    the peak and its two neighbours (a peak at either end of the curve stays where it is)."""
    inner = (peaks > 0) & (peaks < len(curve) - 1)
    shift = np.zeros(len(peaks))
    at = peaks[inner]
    left, mid, right = curve[at - 1], curve[at], curve[at + 1]
    bend = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift[inner] = np.where(bend < 0, 0.5 * (left - right) / bend, 0.0)
    return np.clip(shift, -0.5, 0.5)
