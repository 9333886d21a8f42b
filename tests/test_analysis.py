"""Audio analysis on synthetic tracks whose beats, tempo change and drop are known exactly, with either beat tracker:
the network (the default) and the signal-processing one it falls back to without its weights."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from nemo_local.analysis import analyse
from nemo_local.analysis.features import FEATURE_RATE, extract
from nemo_local.analysis.structure import bar_drops
from nemo_local.media.ffmpeg import ffmpeg_exe
from nemo_local.media.synth import demo_track, write_wav

TOLERANCE = 0.07


pytestmark = pytest.mark.usefixtures("tracker")    # every test with either beat tracker (conftest.py)


def f_measure(reference: np.ndarray, estimate: np.ndarray, tolerance: float = TOLERANCE) -> float:
    """Beat F-measure (MIREX style): one-to-one matches within the tolerance."""
    if len(reference) == 0 or len(estimate) == 0:
        return 0.0
    used = np.zeros(len(estimate), bool)
    hits = 0
    for ref in reference:
        distance = np.where(used, np.inf, np.abs(estimate - ref))
        best = int(np.argmin(distance))
        if distance[best] <= tolerance:
            used[best] = True
            hits += 1
    precision, recall = hits / len(estimate), hits / len(reference)
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def track_file(tmp_path: Path, name: str, **kwargs: float) -> tuple[Path, object]:
    track = demo_track(rate=22050, **kwargs)  # type: ignore[arg-type]
    return write_wav(tmp_path / f"{name}.wav", track.samples, track.rate), track


@pytest.mark.parametrize("bpm", [90.0, 120.0, 128.0, 150.0])
def test_steady_tempo(tmp_path: Path, bpm: float, tracker: str) -> None:
    path, track = track_file(tmp_path, "steady", seconds=30, bpm=bpm, drop_at=20)
    result = analyse(path, cache=False)
    assert result.tracker == tracker
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]
    assert result.tempo == pytest.approx(bpm, rel=0.02)


@pytest.mark.parametrize(("before", "after"), [(100.0, 130.0), (140.0, 110.0)])
def test_tempo_change_is_followed(tmp_path: Path, before: float, after: float) -> None:
    path, track = track_file(tmp_path, "change", seconds=40, bpm=before, bpm_after=after, change_at=14,
                             drop_at=28)
    result = analyse(path, cache=False)
    # a sudden 20 % change of tempo, rare in music, costs the bar tracker's tempo prior a few beats (3 s)
    assert f_measure(track.beats, result.beats) >= 0.9  # type: ignore[attr-defined]
    early, late = result.local_tempo[result.beats < 10], result.local_tempo[result.beats > 22]
    assert np.median(early) == pytest.approx(before, rel=0.03)
    assert np.median(late) == pytest.approx(after, rel=0.03)


@pytest.mark.parametrize(("bpm", "drop_at"), [(120.0, 18.0), (95.0, 28.0), (140.0, 10.0)])
def test_drop_is_found_within_one_beat(tmp_path: Path, bpm: float, drop_at: float) -> None:
    path, track = track_file(tmp_path, "drop", seconds=36, bpm=bpm, drop_at=drop_at)
    result = analyse(path, cache=False)
    assert len(result.drops) == 1
    assert abs(result.drops[0] - track.drop) <= 60 / bpm  # type: ignore[attr-defined]
    assert any(abs(s - track.drop) <= 60 / bpm for s in result.sections)  # type: ignore[attr-defined]


def test_no_drop_in_steady_music(tmp_path: Path) -> None:
    track = demo_track(seconds=20, bpm=120, rate=22050)
    after_drop = track.samples[int(track.drop * track.rate):]    # the full groove only, looped: no drop in it
    path = write_wav(tmp_path / "loop.wav", np.tile(after_drop, 3), track.rate)
    assert analyse(path, cache=False).drops == []


def test_compressed_audio_keeps_its_timing(tmp_path: Path) -> None:
    # at 44.1 kHz, as music is: an MP3 of 22.05 kHz audio keeps nothing above ~8 kHz, where the hats are
    track = demo_track(rate=44100, seconds=24, bpm=126, drop_at=14)
    path = write_wav(tmp_path / "lossy.wav", track.samples, track.rate)
    mp3 = tmp_path / "lossy.mp3"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-c:a", "libmp3lame", "-b:a", "128k", str(mp3)],
                   check=True)
    result = analyse(mp3, cache=False)
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]
    assert abs(result.drops[0] - track.drop) <= 60 / 126  # type: ignore[attr-defined]


def test_audio_of_a_video_file(tmp_path: Path) -> None:
    path, track = track_file(tmp_path, "clip", seconds=12, bpm=120, drop_at=8)
    video = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:r=10", "-i", str(path),
                    "-shortest", "-c:v", "libx264", "-c:a", "aac", str(video)], check=True)
    result = analyse(video, cache=False)
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]


def test_silence_has_no_beats(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(22050 * 5, np.float32), 22050)
    result = analyse(path, cache=False)
    assert len(result.beats) == 0 and result.drops == [] and result.duration == pytest.approx(5.0, abs=0.01)


def test_features_have_one_row_per_hop(tmp_path: Path) -> None:
    path, _ = track_file(tmp_path, "rows", seconds=7.5, bpm=120)
    features = extract(path)
    assert len(features.onset) == len(features.bands) == len(features.rms) == round(7.5 * FEATURE_RATE)
    assert features.duration == pytest.approx(7.5, abs=0.01)


def test_analysis_is_cached_next_to_the_file(tmp_path: Path) -> None:
    path, _ = track_file(tmp_path, "cached", seconds=10, bpm=120)
    first = analyse(path)
    caches = list(tmp_path.glob(".cached.wav.analysis-*.npz"))
    assert len(caches) == 1
    second = analyse(path)
    np.testing.assert_array_equal(first.beats, second.beats)
    assert second.drops == first.drops and second.tempo == first.tempo


@pytest.mark.parametrize(("ext", "codec"), [("flac", "flac"), ("aac", "aac"), ("m4a", "aac")])
def test_every_accepted_audio_format(tmp_path: Path, ext: str, codec: str) -> None:
    path, track = track_file(tmp_path, "formats", seconds=16, bpm=120, drop_at=10)
    encoded = tmp_path / f"formats.{ext}"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-c:a", codec, str(encoded)], check=True)
    result = analyse(encoded, cache=False)
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]
    assert result.duration == pytest.approx(16, abs=0.1)


def without_bass(samples: np.ndarray, rate: int, start: float, end: float, cutoff: float = 180.0) -> None:
    """Take the kick and bass out of [start, end) in place (everything under `cutoff` Hz)."""
    lo, hi = int(start * rate), int(end * rate)
    spectrum = np.fft.rfft(samples[lo:hi])
    spectrum[np.fft.rfftfreq(hi - lo, 1 / rate) < cutoff] = 0
    samples[lo:hi] = np.fft.irfft(spectrum, hi - lo).astype(np.float32)


def test_a_drop_after_a_silent_stop_is_found(tmp_path: Path) -> None:
    track = demo_track(seconds=30, bpm=120, rate=22050, drop_at=18)
    samples = track.samples.copy()
    samples[int((track.drop - 1.5) * track.rate): int(track.drop * track.rate)] = 0   # the stop before the drop
    result = analyse(write_wav(tmp_path / "stop.wav", samples, track.rate), cache=False)
    assert len(result.drops) == 1 and abs(result.drops[0] - track.drop) <= 0.5


def test_a_bass_that_leaves_for_the_last_bar_of_each_phrase_is_no_drop(tmp_path: Path) -> None:
    track = demo_track(seconds=20, bpm=120, rate=22050)
    groove = np.tile(track.samples[int(track.drop * track.rate):], 6)    # 24 bars of the full groove
    bar = 2.0                                                            # four beats at 120 BPM
    for phrase_end in (8, 16, 24):                                       # bars 8, 16 and 24: kick and bass out
        without_bass(groove, track.rate, (phrase_end - 1) * bar, phrase_end * bar)
    assert analyse(write_wav(tmp_path / "phrases.wav", groove, track.rate), cache=False).drops == []


def test_music_that_starts_after_silence_has_no_drop_at_its_start(tmp_path: Path) -> None:
    track = demo_track(seconds=20, bpm=120, rate=22050)
    groove = np.tile(track.samples[int(track.drop * track.rate):], 3)
    samples = np.concatenate([np.zeros(3 * track.rate, np.float32), groove])
    assert analyse(write_wav(tmp_path / "late.wav", samples, track.rate), cache=False).drops == []


def test_a_bass_entry_that_leaves_the_loudness_alone_is_a_drop(tmp_path: Path) -> None:
    track = demo_track(seconds=36, bpm=120, rate=22050, drop_at=20)
    samples = track.samples.copy()
    cut = int(track.drop * track.rate)
    samples[cut:] *= 0.5     # the mix after the drop turned down: the bass comes back, the loudness does not rise
    result = analyse(write_wav(tmp_path / "entry.wav", samples, track.rate), cache=False)
    assert len(result.drops) == 1 and abs(result.drops[0] - track.drop) <= 0.5


def test_a_drop_needs_the_bar_it_starts() -> None:
    """The same bass entry is a drop on a known bar line, and none without downbeats or where the count of the
    bars stumbled just before it (a bar of two beats, then one of six): nothing says a phrase starts there, and a
    false drop flashes the screen."""
    beats = np.arange(0.0, 64.0, 0.5)                         # 120 BPM, 32 bars of 2 s
    bass = np.full(int(64 * FEATURE_RATE), 1e-4, np.float32)
    bass[int(32 * FEATURE_RATE):] = 1.0                       # the bass comes in on bar 17 and stays: +40 dB
    rms = np.full(len(bass), 0.1, np.float32)
    strength = np.full(len(beats), 0.9)
    assert bar_drops(bass, rms, beats, beats[::4], strength) == [32.0]
    assert bar_drops(bass, rms, beats, np.zeros(0), strength) == []
    stumbling = np.concatenate([np.arange(0.0, 29.0, 2.0), [29.0], np.arange(32.0, 64.0, 2.0)])
    assert bar_drops(bass, rms, beats, stumbling, strength) == []


def place(out: np.ndarray, rate: int, time: float, hit: np.ndarray) -> None:
    """Mix a drum hit into `out` at `time` seconds (cut at the end)."""
    start = int(time * rate)
    end = min(len(out), start + len(hit))
    out[start:end] += hit[: end - start]


def swung_groove(bpm: float, seconds: float, rate: int = 22050) -> tuple[np.ndarray, np.ndarray]:
    """Kick on 1 and 3 with a pickup, snare on 2 and 4, and hats in triplet swing, the off-beat one louder."""
    from nemo_local.media.synth import _kick, _noise_hit

    rng = np.random.default_rng(3)
    period = 60 / bpm
    beats = np.arange(0, seconds - 0.5, period)
    out = np.zeros(int(seconds * rate), np.float32)

    for index, beat in enumerate(beats):
        if index % 4 in (0, 2) or index % 8 == 7:
            place(out, rate, beat, _kick(rate, 0.8))
        if index % 2 == 1:
            place(out, rate, beat, _noise_hit(rate, 0.15, 25, 0.35, rng))
        place(out, rate, beat, _noise_hit(rate, 0.04, 90, 0.12, rng))
        place(out, rate, beat + period * 2 / 3, _noise_hit(rate, 0.04, 90, 0.16, rng))     # the swung eighth
    return out / np.abs(out).max() * 0.9, beats


@pytest.mark.parametrize("bpm", [100.0, 120.0])
def test_a_swung_groove_is_tracked_on_the_beat_not_between(tmp_path: Path, bpm: float) -> None:
    samples, beats = swung_groove(bpm, 40)
    result = analyse(write_wav(tmp_path / "swing.wav", samples, 22050), cache=False)
    assert f_measure(beats, result.beats) >= 0.9
    assert result.tempo == pytest.approx(bpm, rel=0.02)
    phase = ((result.beats - beats[0]) / (60 / bpm)) % 1.0
    assert np.median(np.minimum(phase, 1 - phase)) < 0.1     # on the beat, not a third or two thirds past it


CHORDS = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6), (164.8, 207.7, 246.9)]


def bar_song(bpm: float, meter: int, seconds: float = 40, kick_every_beat: bool = False,
             rate: int = 22050, short_bar: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A song in `meter` that starts on the second beat of a bar (a pickup): the kick on 1 (or on every beat),
    snares on 2 and 4 in 4/4, a hat on every beat, and a new chord on every bar; bar number `short_bar` (if given)
    has two beats. Returns (samples, downbeats)."""
    from nemo_local.media.synth import _kick, _noise_hit

    rng = np.random.default_rng(5)
    beats = np.arange(0, seconds - 0.5, 60 / bpm)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    out = np.zeros(n, np.float32)

    lengths = [2 if k == short_bar else meter for k in range(len(beats))]
    position = np.concatenate([np.arange(1, meter), *map(np.arange, lengths)])[: len(beats)]
    for beat, pos in zip(beats, position, strict=True):
        if pos == 0 or kick_every_beat:
            place(out, rate, beat, _kick(rate, 0.8))
        if meter == 4 and pos in (1, 3):
            place(out, rate, beat, _noise_hit(rate, 0.15, 25, 0.3, rng))
        place(out, rate, beat, _noise_hit(rate, 0.04, 90, 0.1, rng))
    bars = beats[position == 0]
    for index, (start, end) in enumerate(zip([0.0, *bars], [*bars, seconds], strict=True)):
        inside = (t >= start) & (t < end)
        out[inside] += sum(0.07 * np.sin(2 * np.pi * f * t[inside]) for f in CHORDS[index % 4]).astype(np.float32)
    return out / np.abs(out).max() * 0.9, bars


@pytest.mark.parametrize(("bpm", "meter", "kick_every_beat"),
                         [(120.0, 4, False), (96.0, 4, False), (128.0, 4, True), (150.0, 3, False), (90.0, 3, False)])
def test_downbeats_and_the_bar_are_found(tmp_path: Path, bpm: float, meter: int, kick_every_beat: bool) -> None:
    samples, bars = bar_song(bpm, meter, kick_every_beat=kick_every_beat)
    result = analyse(write_wav(tmp_path / "bars.wav", samples, 22050), cache=False)
    assert result.beats_per_bar == meter
    assert f_measure(bars, result.downbeats) >= 0.9


def test_after_a_bar_of_two_beats_the_downbeats_follow_the_new_bar(tmp_path: Path) -> None:
    """One bar of 2/4 in a 4/4 song (or a beat the tracker adds): every later bar starts two beats later. The
    count must follow it, not keep the first half's phase and put every later downbeat on the snare."""
    samples, bars = bar_song(120.0, 4, seconds=48, short_bar=10)
    result = analyse(write_wav(tmp_path / "short.wav", samples, 22050), cache=False)
    assert result.beats_per_bar == 4
    later = bars[bars > 24.0]
    assert f_measure(bars[bars < 20.0], result.downbeats[result.downbeats < 20.5]) >= 0.9
    assert f_measure(later, result.downbeats[result.downbeats > 23.5]) >= 0.9


def test_a_bar_marked_only_by_the_backbeat_starts_on_a_kick_not_a_snare(tmp_path: Path) -> None:
    """A kick on every beat, snares on 2 and 4, one chord: beats 1 and 3 sound alike, so either may start the bar
    (both are right for a cut), but never a snare beat."""
    from nemo_local.media.synth import _kick, _noise_hit

    rate, rng = 22050, np.random.default_rng(4)
    beats = np.arange(0, 49.5, 0.5)
    out = np.zeros(50 * rate, np.float32)
    for index, beat in enumerate(beats):
        place(out, rate, beat, _kick(rate, 0.8))
        if index % 2 == 1:
            place(out, rate, beat, _noise_hit(rate, 0.15, 25, 0.3, rng))
        place(out, rate, beat, _noise_hit(rate, 0.04, 90, 0.1, rng))
    t = np.arange(len(out)) / rate
    out += sum(0.07 * np.sin(2 * np.pi * f * t) for f in CHORDS[0]).astype(np.float32)
    result = analyse(write_wav(tmp_path / "backbeat.wav", out / np.abs(out).max() * 0.9, rate), cache=False)
    assert result.beats_per_bar == 4
    snares = beats[1::2]
    assert len(result.downbeats) > 1, "no bars found: nothing to check against the snare"
    assert all(np.min(np.abs(snares - d)) > TOLERANCE for d in result.downbeats)
    assert np.median(np.diff(result.downbeats)) == pytest.approx(2.0, abs=0.05)


def test_downbeats_survive_the_cache(tmp_path: Path) -> None:
    samples, _ = bar_song(120.0, 3, seconds=20)
    path = write_wav(tmp_path / "waltz.wav", samples, 22050)
    first, again = analyse(path), analyse(path)
    assert again.beats_per_bar == first.beats_per_bar == 3
    assert np.array_equal(again.downbeats, first.downbeats) and len(first.downbeats) > 0


def three_three_two(bpm: float, seconds: float, rate: int = 22050) -> np.ndarray:
    """Kicks (and a bass note) on eighths 1, 4 and 7 of every bar (3-3-2), hats on every eighth, a snare on 3."""
    from nemo_local.media.synth import _kick, _noise_hit

    rng = np.random.default_rng(5)
    eighth = 60 / bpm / 2
    out = np.zeros(int(seconds * rate), np.float32)
    for index, time in enumerate(np.arange(0, seconds - 0.5, eighth)):
        position = index % 8
        if position in (0, 3, 6):
            place(out, rate, time, _kick(rate, 0.9))
            length = np.arange(int(eighth * (2 if position == 6 else 3) * 0.9 * rate)) / rate
            place(out, rate, time, (0.3 * np.sin(2 * np.pi * 55 * length) * np.exp(-3 * length)).astype(np.float32))
        if position == 4:
            place(out, rate, time, _noise_hit(rate, 0.18, 20, 0.5, rng))
        place(out, rate, time, _noise_hit(rate, 0.05, 100, 0.25, rng))
    return out / np.abs(out).max() * 0.8


@pytest.mark.parametrize("bpm", [128.0, 143.6, 170.0])
def test_a_three_three_two_kick_is_tracked_at_its_tempo_not_the_frame_grid(tmp_path: Path, bpm: float,
                                                                          tracker: str) -> None:
    """The network's beats sit on its 20 ms frames: one gap is 23 or 24 frames at 128 BPM (130.4 or 125 BPM). The
    tempo comes from runs of sixteen beats, so 128 is 128 (never 4/3 of it on a 3-3-2 kick); very fast music may
    be felt, and tracked, at half time."""
    result = analyse(write_wav(tmp_path / "332.wav", three_three_two(bpm, 30), 22050), cache=False)
    assert result.tracker == tracker
    level = bpm / 2 if bpm > 160 and result.tempo < bpm * 0.75 else bpm
    assert result.tempo == pytest.approx(level, abs=0.5)
    assert float(np.median(result.local_tempo)) == pytest.approx(level, rel=0.01)
