"""Drops of every kind a listener hears on real recordings, and what is no drop, on songs built here bar by bar:
drums entering after an intro without them (the bass held throughout), a breakdown whose bass dips only 6 dB,
stop-time hits, a fade-out and the band back at full, the band back after a dip that fades in, a return whose
bars before still hold the previous section's tail; and no drop at the song's start, at phrase-end fills or where
a section merely continues.

Each song: 120 BPM (a bar of 2 s) unless said; a drop is found when one drop lies within 0.5 s of it (the
real-recording scoreboard's window) and no other is found."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from nemo_local.analysis import analyse
from nemo_local.media.synth import CHORDS, _kick, _noise_hit, write_wav

RATE = 22050
BAR = 2.0
Part = Callable[[int], dict[str, float]]      # beat index in the section -> {layer: gain}


pytestmark = pytest.mark.usefixtures("tracker")    # every test with either beat tracker (conftest.py)


def full(_: int) -> dict[str, float]:
    return {"kick": 0.8, "bass": 0.5, "hat": 0.1, "snare": 0.3, "pad": 0.08}


def no_drums(_: int) -> dict[str, float]:
    return {"bass": 0.5, "pad": 0.08}


def pad(_: int) -> dict[str, float]:
    return {"pad": 0.08}


def song(*sections: tuple[float, Part], seed: int = 3) -> np.ndarray:
    """Sections of (bars, part) one after another at 120 BPM: a kick on every beat, a bass note (55 Hz, a beat
    long) on every beat, a hat on every eighth, a snare on 2 and 4, a pad chord held per bar (four chords in
    turn); each layer at the gain the part gives it for that beat (absent: silent)."""
    rng = np.random.default_rng(seed)
    seconds = sum(bars for bars, _ in sections) * BAR
    out = np.zeros(int(seconds * RATE) + RATE, np.float32)
    beat_len = int(BAR / 4 * RATE)
    t = np.arange(beat_len) / RATE
    bass_note = np.sin(2 * np.pi * 55.0 * t) * np.minimum(1.0, (beat_len - np.arange(beat_len)) / 400)
    held = np.arange(int(BAR * RATE)) / RATE
    chords = [sum(np.sin(2 * np.pi * f * held) for f in notes) for notes in CHORDS]
    start_beat = 0
    for bars, part in sections:
        for i in range(int(bars * 4)):
            gains, at = part(i), (start_beat + i) * beat_len
            layers = {"kick": _kick(RATE, 1.0), "bass": bass_note, "snare": _noise_hit(RATE, 0.15, 25, 1.0, rng)}
            for name, sound in layers.items():
                if gains.get(name) and (name != "snare" or i % 2 == 1):
                    out[at: at + len(sound)] += (gains[name] * sound).astype(np.float32)
            if gains.get("hat"):
                for half in (0, beat_len // 2):
                    hat = np.diff(_noise_hit(RATE, 0.05, 80, 1.0, rng), prepend=0.0)
                    out[at + half: at + half + len(hat)] += (gains["hat"] * hat).astype(np.float32)
            if gains.get("pad") and i % 4 == 0:
                chord = chords[(start_beat + i) // 4 % len(chords)]
                out[at: at + len(chord)] += (gains["pad"] * chord).astype(np.float32)
        start_beat += int(bars * 4)
    return out


def drops_of(tmp_path: Path, samples: np.ndarray) -> list[float]:
    return analyse(write_wav(tmp_path / "song.wav", samples, RATE), cache=False).drops


def assert_one_drop_at(found: list[float], expected: float) -> None:
    assert len(found) == 1 and abs(found[0] - expected) <= 0.5, f"expected one drop at {expected}, found {found}"


class TestDropsOfEveryKind:
    def test_drums_entering_after_an_intro_without_them_while_the_bass_plays_on(self, tmp_path: Path) -> None:
        found = drops_of(tmp_path, song((12, no_drums), (12, full)))
        assert_one_drop_at(found, 12 * BAR)

    def test_the_return_after_a_breakdown_whose_bass_only_dips_six_db(self, tmp_path: Path) -> None:
        def breakdown(_: int) -> dict[str, float]:       # no drums, the bass at half its level: -6 dB
            return {"bass": 0.25, "pad": 0.08}
        found = drops_of(tmp_path, song((8, full), (8, breakdown), (8, full)))
        assert_one_drop_at(found, 16 * BAR)

    def test_the_band_back_after_stop_time_hits(self, tmp_path: Path) -> None:
        def stops(i: int) -> dict[str, float]:            # the whole band on each bar's first beat, silence between
            return full(i) if i % 4 == 0 else {}
        found = drops_of(tmp_path, song((8, full), (4, stops), (8, full)))
        assert_one_drop_at(found, 12 * BAR)

    def test_the_band_back_after_a_second_of_silence(self, tmp_path: Path) -> None:
        """Nothing builds up and the bars before are as full as the bars after: only the stop says it."""
        gap = np.zeros(RATE, np.float32)                  # one second: two beats, half a bar
        samples = np.concatenate([song((8, full))[: int(16 * RATE)], gap, song((8, full), seed=4)])
        assert_one_drop_at(drops_of(tmp_path, samples), 17.0)

    def test_the_band_back_at_full_after_a_fade_out(self, tmp_path: Path) -> None:
        def fading(i: int) -> dict[str, float]:           # down 30 dB over four bars
            return {name: gain * 10 ** (-1.5 * i / 16) for name, gain in full(i).items()}
        found = drops_of(tmp_path, song((8, full), (4, fading), (8, full)))
        assert_one_drop_at(found, 12 * BAR)

    def test_the_band_back_after_a_bar_that_fades_in_from_near_silence(self, tmp_path: Path) -> None:
        """The sound comes back a second before the band does (as out of a fade-out dip): the drop is the band's
        first hit, not the moment something is heard again."""
        samples = song((8, full), (1, full), (8, full))
        dip = slice(int(8 * BAR * RATE), int(9 * BAR * RATE))
        ramp_db = np.linspace(-60.0, -12.0, dip.stop - dip.start)          # -30 dB crossed 1.25 s in
        samples[dip] *= (10 ** (ramp_db / 20)).astype(np.float32)
        assert_one_drop_at(drops_of(tmp_path, samples), 9 * BAR)

    def test_a_return_whose_bars_before_still_hold_the_tail_of_the_last_section(self, tmp_path: Path) -> None:
        """The break (the pad alone) is a bar and a half: the two bars before the return still hold half a bar of
        the full band, so 'the bass over the loudest of the two bars before' cannot see it."""
        found = drops_of(tmp_path, song((8.5, full), (1.5, pad), (8, full)))
        assert_one_drop_at(found, 10 * BAR)

    def test_the_band_back_after_a_bar_where_only_the_pad_holds(self, tmp_path: Path) -> None:
        """No silence (the chord rings on), and the bar is three of the seven beats the contrast weighs before: too
        few to move their median. Only the low end gone for a bar, and back, says it."""
        found = drops_of(tmp_path, song((8, full), (1, pad), (8, full)))
        assert_one_drop_at(found, 9 * BAR)

    def test_the_bass_and_then_the_drums_arriving_a_phrase_apart(self, tmp_path: Path) -> None:
        """An intro that steps up each phrase: the bass arrives under the pad, eight bars later the drums. The
        second lift comes a phrase after the first, but from the level the first one raised: a step up, each a
        drop, not an accent the song repeats."""
        found = drops_of(tmp_path, song((8, pad), (8, no_drums), (8, full)))
        assert len(found) == 2 and abs(found[0] - 8 * BAR) <= 0.5 and abs(found[1] - 16 * BAR) <= 0.5, found


class TestWhatIsNoDrop:
    def test_the_full_band_from_the_first_beat(self, tmp_path: Path) -> None:
        assert drops_of(tmp_path, song((16, full))) == []

    def test_the_band_starting_after_a_few_seconds_of_silence(self, tmp_path: Path) -> None:
        samples = np.concatenate([np.zeros(3 * RATE, np.float32), song((12, full))])
        assert drops_of(tmp_path, samples) == []

    def test_a_fill_at_the_end_of_each_phrase(self, tmp_path: Path) -> None:
        def phrases(i: int) -> dict[str, float]:          # the last two beats of every fourth bar: snare roll, no bass
            return {"snare": 0.5, "hat": 0.1, "pad": 0.08} if i % 16 >= 14 else full(i)
        assert drops_of(tmp_path, song((24, phrases))) == []

    def test_a_bar_without_drums_or_bass_ending_each_phrase(self, tmp_path: Path) -> None:
        """Every eighth bar the drums and the bass rest (the pad plays on) and the phrase starts again at full: a
        break of one bar is a phrase's breath, not a drop (a track that does this every phrase would flash every
        16 s)."""
        def breathing(i: int) -> dict[str, float]:
            return {"pad": 0.08} if i % 32 >= 28 else full(i)
        assert drops_of(tmp_path, song((32, breathing))) == []

    def test_the_same_two_bar_break_and_return_in_every_phrase(self, tmp_path: Path) -> None:
        """Two bars without drums (the bass down 6 dB) closing every eight-bar phrase: each return alone would be a
        drop, but the same lift each phrase is the song's pulse; flashing it every 16 s says nothing."""
        def phrases(i: int) -> dict[str, float]:
            return {"bass": 0.25, "pad": 0.08} if i % 32 >= 24 else full(i)
        assert drops_of(tmp_path, song((48, phrases))) == []

    def test_a_riff_whose_low_end_rests_three_beats_in_ten(self, tmp_path: Path) -> None:
        """Kick and bass for seven beats, three without them (hats and the chord on), across the bar lines: each
        return alone looks like the band back after a stop, but a stop that comes round every few bars is the
        riff."""
        def riff(i: int) -> dict[str, float]:
            return full(i) if i % 10 < 7 else {"hat": 0.1, "pad": 0.08}
        assert drops_of(tmp_path, song((24, riff))) == []

    def test_a_second_of_silence_closing_every_phrase(self, tmp_path: Path) -> None:
        samples = song((48, full))
        for phrase_end in (8, 16, 24, 32, 40, 48):         # the last two beats of every eighth bar: nothing at all
            samples[int((phrase_end - 0.5) * BAR * RATE): int(phrase_end * BAR * RATE)] = 0
        assert drops_of(tmp_path, samples) == []

    def test_a_section_that_carries_on_with_new_chords_and_more_hats(self, tmp_path: Path) -> None:
        def more(i: int) -> dict[str, float]:
            return {**full(i), "hat": 0.16, "pad": 0.12}
        assert drops_of(tmp_path, song((12, full), (12, more))) == []
