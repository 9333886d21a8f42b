"""Which tracker's pulse the analysis trusts when the network and the signal tracker disagree on the tempo beyond a
factor of two: the one the onsets repeat at (`analysis.pulse`, `analysis.chosen`). Onsets from a song rendered
here at 128 BPM (kick, snare, hats, bass); the network's wrong tempos on real recordings were 1.39x, 0.70x and
1.25x the music's (BENCHMARKS.md), the signal tracker's 4/3 (or 2/3 of a network at double time) on
syncopated songs."""

from __future__ import annotations

import numpy as np
import pytest

from nemo_local.analysis import Rhythm, chosen
from nemo_local.analysis.features import extract
from nemo_local.analysis.pulse import WEAK, one_pulse, refuse_network, salience
from nemo_local.media.synth import demo_track, write_wav

BPM = 128.0


@pytest.fixture(scope="module")
def onset(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    track = demo_track(seconds=40.0, bpm=BPM, drop_at=12.0, rate=22050)
    wav = write_wav(tmp_path_factory.mktemp("pulse") / "song.wav", track.samples, track.rate)
    return extract(wav).onset


def rhythm_at(bpm: float, tracker: str) -> Rhythm:
    beats = np.arange(0.0, 40.0, 60.0 / bpm)
    return Rhythm(beats, bpm, np.full(len(beats), bpm), beats[::4], 4, tracker, np.ones(len(beats)))


class TestSalience:
    def test_the_music_repeats_at_its_tempo_and_at_half_and_twice_it(self, onset: np.ndarray) -> None:
        assert salience(onset, BPM) > 2 * WEAK and salience(onset, BPM / 2) > 2 * WEAK
        assert salience(onset, BPM * 2) > WEAK               # every other point between the beats is a rest

    @pytest.mark.parametrize("ratio", [1.39, 0.70, 1.25])
    def test_not_at_a_tempo_that_drifts_through_the_bar(self, onset: np.ndarray, ratio: float) -> None:
        assert salience(onset, BPM * ratio) < WEAK < salience(onset, BPM)

    def test_no_tempo_or_too_little_music_has_none(self, onset: np.ndarray) -> None:
        assert salience(onset, 0.0) == 0.0
        assert salience(onset[:100], BPM) == 0.0           # under two bars at 128 BPM
        assert salience(np.zeros(5000, np.float32), BPM) == 0.0


class TestOnePulse:
    @pytest.mark.parametrize(("a", "b"), [(170.0, 170.0), (170.0, 85.0), (85.0, 170.0), (120.0, 122.0)])
    def test_the_same_pulse_or_one_twice_the_other(self, a: float, b: float) -> None:
        assert one_pulse(a, b)

    @pytest.mark.parametrize(("a", "b"), [(160.0, 111.2), (120.0, 90.0), (140.0, 175.0), (0.0, 120.0)])
    def test_three_against_two_four_against_three_or_none(self, a: float, b: float) -> None:
        assert not one_pulse(a, b)


class TestWhichTracker:
    def test_the_network_refused_at_a_tempo_the_music_does_not_repeat_at(self, onset: np.ndarray) -> None:
        assert refuse_network(onset, BPM * 1.39, BPM)
        picked = chosen(rhythm_at(BPM * 1.39, "beatnet"), rhythm_at(BPM, "signal"), onset)
        assert picked.tracker == "signal" and picked.tempo == BPM

    def test_the_network_kept_where_the_signal_tracker_takes_two_thirds(self, onset: np.ndarray) -> None:
        assert not refuse_network(onset, BPM, BPM * 2 / 3)
        assert chosen(rhythm_at(BPM, "beatnet"), rhythm_at(BPM * 2 / 3, "signal"), onset).tracker == "beatnet"

    def test_the_network_kept_at_half_or_twice_the_signal_trackers_tempo(self, onset: np.ndarray) -> None:
        """Half time is a level a viewer may tap, not a wrong pulse: no salience is asked."""
        assert not refuse_network(onset, BPM / 2, BPM)
        assert not refuse_network(onset, BPM * 2, BPM)

    def test_the_network_kept_when_neither_tempo_is_the_musics(self, onset: np.ndarray) -> None:
        """Both wrong: the signal tracker must be clearly better before the network is refused."""
        assert not refuse_network(onset, BPM * 1.39, BPM * 0.7)

    def test_the_signal_tracker_without_the_network(self, onset: np.ndarray) -> None:
        assert chosen(None, rhythm_at(BPM, "signal"), onset).tracker == "signal"
