"""The user's photos and clips cut to the music: where the cuts go, what the words change, what the video shows."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from nemo_local.analysis import analyse
from nemo_local.director.montage import Rhythm, cut_times, plan, rhythm_of
from nemo_local.director.turn import direct
from nemo_local.media.ffmpeg import ffmpeg_exe, probe
from nemo_local.media.synth import demo_track, write_wav
from nemo_local.render import RenderJob, get_renderer
from nemo_local.render.pictures import Still, load_rgb
from test_render import decoded

FPS = 30
COLOURS = {"red": (230, 30, 30), "green": (30, 200, 40), "blue": (30, 60, 230), "yellow": (240, 220, 20)}


def beats_every(period: float, until: float, start: float = 0.5) -> list[float]:
    return [round(t, 3) for t in np.arange(start, until, period)]


def photo(name: str, kind: str = "image") -> dict[str, Any]:
    return {"file_id": f"f_{name}", "filename": f"{name}.jpg" if kind == "image" else f"{name}.mp4", "kind": kind,
            "info": {"width": 1600, "height": 1200}}


def song(name: str = "song", seconds: float = 20.0) -> dict[str, Any]:
    return {"file_id": f"f_{name}", "filename": f"{name}.mp3", "kind": "audio", "info": {"duration": seconds}}


RHYTHM = Rhythm(beats_every(0.5, 20.0), drops=[10.5], sections=[8.5], loud=[False, True])
PHOTOS = [photo(n) for n in ("one", "two", "three", "four")]


def steady(_: dict[str, Any]) -> Rhythm:
    return RHYTHM


def video_track(draft: dict[str, Any]) -> list[dict[str, Any]]:
    return next(t["sg"] for t in draft["t"] if t["tt"] == 0)


def audio_name(draft: dict[str, Any]) -> str:
    return str(next(t["sg"] for t in draft["t"] if t["tt"] == 1)[0]["name"])


def say(*messages: str, files: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], list[str]]:
    draft: dict[str, Any] = {}
    reply = []
    for text in messages:
        result = direct(text, draft, files if files is not None else [song(), *PHOTOS], "bars", steady)
        draft = result.draft
        reply.append(result.reply)
    return draft, reply


class TestWhereTheCutsGo:
    def test_one_cut_a_bar_plus_every_section_and_drop(self) -> None:
        cuts = cut_times(Rhythm(beats_every(0.5, 20.0), [], [], [False]), 20.0)
        assert cuts[0] == 0.0
        assert np.allclose(np.diff(cuts[1:]), 2.0)            # a bar of 4 beats at 120 BPM
        assert all(t in RHYTHM.beats for t in cuts[1:])
        placed = cut_times(RHYTHM, 20.0)
        assert 8.5 in placed and 10.5 in placed

    def test_loud_sections_cut_twice_as_often(self) -> None:
        cuts = np.array(cut_times(RHYTHM, 20.0))
        assert np.median(np.diff(cuts[cuts < 8.5])) == pytest.approx(2.0)
        assert np.median(np.diff(cuts[cuts > 10.5])) == pytest.approx(1.0)

    def test_no_sliver_before_the_first_beat_and_no_shot_shorter_than_the_pace_allows(self) -> None:
        cuts = cut_times(Rhythm(beats_every(0.5, 12.0, start=0.3), [], [], [False]), 12.0)
        assert cuts[1] >= 1.0
        assert min(np.diff(cuts)) >= 0.4

    def test_every_beat_and_one_per_section(self) -> None:
        assert len(cut_times(RHYTHM, 20.0, every=1)) > 30
        assert cut_times(RHYTHM, 20.0, every=0) == [0.0, 8.5, 10.5]

    def test_with_downbeats_the_cuts_land_on_the_bar_even_after_an_off_bar_section_start(self) -> None:
        beats = beats_every(0.5, 20.0, start=0.0)
        bars = [t for t in beats if (t - 1.0) % 2.0 == 0 and t >= 1.0]   # the song starts two beats before a bar
        cuts = cut_times(Rhythm(beats, [], [7.5], [False, False], bars), 20.0)
        assert 7.5 in cuts and 7.0 not in cuts          # the section start wins over the bar half a second before
        assert [t for t in cuts if t not in (0.0, 7.5)] == [t for t in bars if t != 7.0]
        assert [t for t in cut_times(Rhythm(beats, [], [], [False]), 20.0) if t][:2] == [2.0, 4.0]   # no bars: count

    def test_a_bar_of_three_beats_is_a_waltz_bar(self) -> None:
        beats = beats_every(0.5, 18.0, start=0.0)
        bars = beats[::3]
        assert cut_times(Rhythm(beats, [], [], [False], bars, beats_per_bar=3), 18.0) == bars
        assert cut_times(Rhythm(beats, [], [], [False], bars, beats_per_bar=3), 18.0, every=8)[:3] == [0.0, 3.0, 6.0]

    def test_after_a_bar_cut_short_the_cuts_follow_the_new_downbeats(self) -> None:
        beats = beats_every(0.5, 20.0, start=0.0)
        bars = [0.0, 2.0, 4.0, 6.0, *np.arange(7.0, 19.5, 2.0).tolist()]    # the bar at 6 s has two beats
        cuts = cut_times(Rhythm(beats, [], [], [False], bars), 20.0)
        assert cuts == bars
        two_bars = cut_times(Rhythm(beats, [], [], [False], bars), 20.0, every=8)
        assert two_bars == [0.0, 4.0, 7.0, 11.0, 15.0, 19.0]

    def test_a_track_without_beats_is_cut_at_a_steady_pace(self) -> None:
        assert cut_times(Rhythm([], [], [], [False]), 12.0) == [0.0, 4.0, 8.0]

    def test_segments_cover_the_track_and_cycle_through_the_pictures_in_order(self) -> None:
        segments = plan(RHYTHM, 20_000, PHOTOS)
        assert segments[0]["s"] == 0 and sum(s["d"] for s in segments) == 20_000
        assert all(a["s"] + a["d"] == b["s"] for a, b in itertools.pairwise(segments))
        assert [s["src"] for s in segments[:5]] == ["f_one", "f_two", "f_three", "f_four", "f_one"]


class TestWordsAboutPictures:
    def test_every_upload_is_in_the_montage_in_upload_order(self) -> None:
        draft, reply = say("make a video")
        shots = video_track(draft)
        assert [s["src"] for s in shots[:4]] == [p["file_id"] for p in PHOTOS]
        assert len(shots) > 4 and "cut on the music" in reply[0]

    def test_pace_words(self) -> None:
        base = len(video_track(say("make a video")[0]))
        assert len(video_track(say("make a video", "faster cuts")[0])) > base
        assert len(video_track(say("make a video", "slower cuts")[0])) < base
        assert say("cut on every beat")[0]["m"]["cut_beats"] == 1
        assert len(video_track(say("one photo per section")[0])) == 3

    def test_every_two_bars_is_a_pace_not_the_bars_style(self) -> None:
        draft, _ = say("waveform", "cut every two bars")
        assert draft["m"]["cut_beats"] == 8 and draft["m"]["style"] == "wave"

    def test_order_words(self) -> None:
        ids = [p["file_id"] for p in PHOTOS]
        swapped, _ = say("make a video", "swap the first two")
        assert swapped["m"]["pictures"] == [ids[1], ids[0], *ids[2:]]
        shuffled, _ = say("make a video", "shuffle the photos")
        assert sorted(shuffled["m"]["pictures"]) == sorted(ids) and shuffled["m"]["pictures"] != ids
        again, _ = say("make a video", "shuffle the photos", "in the order I uploaded")
        assert again["m"]["pictures"] == ids
        assert say("swap photo 2 and 4")[0]["m"]["pictures"] == [ids[0], ids[3], ids[2], ids[1]]

    def test_dropping_a_photo_is_not_a_drop_toggle(self) -> None:
        draft, reply = say("make a video, no drops", "drop the third photo")
        assert "f_three" not in draft["m"]["pictures"] and "f_three" not in {s["src"] for s in video_track(draft)}
        assert draft["m"]["drops"] is False and "removed picture 3 (three.jpg)" in reply[1]

    def test_visualizer_off_and_over_the_pictures(self) -> None:
        off, _ = say("only my photos, no visualizer")
        assert off["m"]["visualizer"] is False
        on, _ = say("only my photos", "bars over my photos")
        assert on["m"]["visualizer"] is True and on["m"]["style"] == "bars"

    def test_transitions(self) -> None:
        assert say("crossfade between photos")[0]["m"]["transition"] == "crossfade"
        assert say("flash cuts")[0]["m"]["transition"] == "flash"
        assert say("crossfade", "hard cuts")[0]["m"]["transition"] == "cut"

    def test_a_follow_up_changes_only_what_was_asked(self) -> None:
        before, _ = say('neon, vertical, title "Gig night"')
        after, _ = say('neon, vertical, title "Gig night"', "faster cuts")
        assert {k: v for k, v in after["m"].items() if k != "cut_beats"} == \
            {k: v for k, v in before["m"].items() if k != "cut_beats"}
        assert [t for t in after["t"] if t["tt"] != 0] == [t for t in before["t"] if t["tt"] != 0]
        assert video_track(after)[0]["src"] == video_track(before)[0]["src"]

    def test_a_new_upload_joins_the_montage(self) -> None:
        draft = direct("make a video", {}, [song(), *PHOTOS[:2]], "bars", steady).draft
        later = direct("ok", draft, [song(), *PHOTOS], "bars", steady).draft
        assert later["m"]["pictures"] == [p["file_id"] for p in PHOTOS]

    def test_the_rhythm_is_asked_once_a_turn_and_not_for_speech(self) -> None:
        asked: list[str] = []

        def spy(f: dict[str, Any]) -> Rhythm:
            asked.append(f["file_id"])
            return RHYTHM
        direct("make a video", {}, [song(), *PHOTOS], "bars", spy)    # the drops named, the pictures cut: once
        assert asked == ["f_song"]
        direct("make a video", {}, [song(), PHOTOS[0]], "bars", spy, for_speech=True)   # a podcast: no drops
        assert asked == ["f_song"]


class TestWhichTrack:
    FILES: ClassVar[list[dict[str, Any]]] = [song("a", 10), song("b", 12), song("c", 14), PHOTOS[0]]

    def test_the_last_upload_by_default_then_by_words(self) -> None:
        draft, _ = say("make a video", files=self.FILES)
        assert audio_name(draft) == "c.mp3" and draft["d"] == 14_000
        draft, _ = say("make a video", "use the second track", files=self.FILES)
        assert audio_name(draft) == "b.mp3" and draft["d"] == 12_000
        draft, _ = say("make a video", "now a.mp3 please", files=self.FILES)
        assert audio_name(draft) == "a.mp3"

    def test_follow_ups_keep_the_chosen_track_until_a_new_one_arrives(self) -> None:
        draft, _ = say("use the 1st track", "purple", files=self.FILES)
        assert audio_name(draft) == "a.mp3"
        fresh = direct("ok", draft, [*self.FILES, song("d", 9)], "bars", steady).draft
        assert audio_name(fresh) == "d.mp3"


class TestPictures:
    def test_a_phone_photo_is_turned_upright(self, tmp_path: Path) -> None:
        stored = Image.new("RGB", (200, 100), COLOURS["red"])
        stored.paste(COLOURS["blue"], (100, 0, 200, 100))
        exif = Image.Exif()
        exif[0x0112] = 6   # "rotate 90 clockwise to display"
        stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
        rgb = load_rgb(tmp_path / "phone.jpg", 100, 200)
        assert rgb.shape == (200, 100, 3)
        assert rgb[20, 50, 0] > 180 and rgb[180, 50, 2] > 180       # red on top, blue below

    def test_a_portrait_photo_in_a_wide_frame_is_shown_whole(self, tmp_path: Path) -> None:
        Image.new("RGB", (300, 600), COLOURS["green"]).save(tmp_path / "tall.png")
        rgb = load_rgb(tmp_path / "tall.png", 320, 180)
        assert rgb[90, 160, 1] > 180                  # the photo, in the middle
        assert rgb[90, 5, 1] < 140                    # a darker fill at the sides, not the photo cropped

    def test_the_pan_moves_whole_pixels_at_an_even_pace(self, tmp_path: Path) -> None:
        """Steps of two pixels (so the half-size colour planes move with the luma), always the same number of
        frames apart, covering the margin and never leaving it."""
        Image.new("RGB", (640, 360), COLOURS["yellow"]).save(tmp_path / "p.png")
        for frames in (20, 60, 400):
            still = Still(tmp_path / "p.png", 320, 180, frames, number=0, dim=1.0)
            xs = [still.offset(k)[0] for k in range(frames)]
            steps = np.diff(xs)
            assert set(steps.tolist()) <= {0, 2} and min(xs) >= 0 and max(xs) <= still.margin
            assert xs[-1] - xs[0] >= min(frames, still.margin) - 2 * still.every
            moves = np.flatnonzero(steps)
            assert len(set(np.diff(moves).tolist())) <= 1    # the same number of frames between every step


def solid(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    Image.new("RGB", (480, 270), COLOURS[name]).save(path)
    return path


def rgb_means(path: Path) -> np.ndarray:
    frames = decoded(path, "rgb24")
    return frames.reshape(len(frames), -1, 3).mean(axis=1)


def labels(means: np.ndarray) -> list[str]:
    names = list(COLOURS)
    palette = np.array([COLOURS[n] for n in names], np.float32)
    return [names[int(np.argmin(((palette - m) ** 2).sum(axis=1)))] for m in means]


@pytest.fixture(scope="module")
def track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    music = demo_track(seconds=8.0, bpm=120, drop_at=5.0, rate=22050)
    return write_wav(tmp_path_factory.mktemp("montage") / "music.wav", music.samples, music.rate)


def montage_render(tmp_path: Path, track: Path, prompt: str, names: list[str], name: str = "out.mp4"
                   ) -> tuple[Path, dict[str, Any]]:
    files = [{"file_id": "music", "filename": "music.wav", "kind": "audio", "info": {"duration": 8.0},
              "path": str(track)}]
    files += [{"file_id": n, "filename": f"{n}.png", "kind": "image", "info": {}, "path": str(solid(tmp_path, n))}
              for n in names]
    draft = direct(prompt, {}, files, "bars", lambda f: rhythm_of(analyse(Path(f["path"])))).draft
    out = tmp_path / name
    get_renderer().render(RenderJob(draft=draft, sources={f["file_id"]: Path(f["path"]) for f in files},
                                    output=out, fps=FPS, max_side=256))
    return out, draft


class TestTheVideo:
    def test_cuts_land_on_the_beats_and_show_the_photos_in_order(self, tmp_path: Path, track: Path) -> None:
        names = list(COLOURS)
        out, draft = montage_render(tmp_path, track, "only my photos, no drops", names)
        seen = labels(rgb_means(out))
        cuts = [i for i in range(1, len(seen)) if seen[i] != seen[i - 1]]
        starts = [round(s["s"] * FPS / 1000) for s in video_track(draft)][1:]
        assert len(cuts) == len(starts) >= 3
        assert all(abs(a - b) <= 1 for a, b in zip(cuts, starts, strict=True))
        beat_frames = np.round(analyse(track).beats * FPS)
        assert all(np.min(np.abs(beat_frames - c)) <= 1 for c in cuts)
        order = [seen[0]] + [seen[c] for c in cuts]
        assert order == [names[k % 4] for k in range(len(order))]

    def test_drops_still_flash_over_the_photos(self, tmp_path: Path, track: Path) -> None:
        out, _ = montage_render(tmp_path, track, "only my photos", ["blue", "green"])
        drop = round(analyse(track).drops[0] * FPS)
        luma = rgb_means(out).mean(axis=1)
        assert luma[drop + 1] > luma[drop + 24] + 15      # the same shot, a bloom at the drop and none after

    def test_the_visualizer_is_drawn_over_the_photos_or_left_out(self, tmp_path: Path, track: Path) -> None:
        def spread(path: Path) -> float:
            return float(decoded(path, at=2.2).std())
        over, _ = montage_render(tmp_path, track, "bars over my photos", ["blue", "red"], "over.mp4")
        alone, _ = montage_render(tmp_path, track, "only my photos", ["blue", "red"], "alone.mp4")
        assert spread(over) > spread(alone) + 5 and spread(alone) < 4

    def test_a_looped_clip_never_shows_a_black_or_frozen_frame(self, tmp_path: Path, track: Path) -> None:
        clip = tmp_path / "clip.mp4"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
                        "-t", "0.4", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
        files = [{"file_id": "music", "filename": "music.wav", "kind": "audio", "info": {"duration": 8.0}},
                 {"file_id": "clip", "filename": "clip.mp4", "kind": "video", "info": {}}]
        draft = direct("only my clips", {}, files, "bars").draft
        draft["d"] = 2000
        out = tmp_path / "loop.mp4"
        get_renderer().render(RenderJob(draft=draft, sources={"music": track, "clip": clip}, output=out, fps=FPS,
                                        max_side=256))
        frames = decoded(out)
        frames = frames.reshape(len(frames), -1).astype(np.float32)
        assert len(frames) == 60                                  # five loops of a 12-frame clip, and then some
        assert frames.mean(axis=1).min() > 40                      # never black
        assert np.abs(np.diff(frames, axis=0)).mean(axis=1).min() > 1.0   # never the same frame twice

    def test_a_crossfade_blends_the_two_photos(self, tmp_path: Path, track: Path) -> None:
        out, draft = montage_render(tmp_path, track, "only my photos, crossfade, no drops", ["red", "blue"])
        cut = round(video_track(draft)[1]["s"] * FPS / 1000)
        means = rgb_means(out)
        mid = means[cut + 3]
        assert 60 < mid[0] < 200 and 60 < mid[2] < 200             # part red, part blue
        assert labels(means[cut + 10: cut + 11]) == ["blue"]


def test_make_renders_one_video_per_audio_file(cli: Callable[..., Any], tmp_path: Path, png: Path) -> None:
    tracks = []
    for name, seconds in (("first", 2.5), ("second", 3.0)):
        music = demo_track(seconds=seconds, bpm=120, rate=22050)
        tracks.append(write_wav(tmp_path / f"{name}.wav", music.samples, music.rate))
    result = cli("--json", "make", *tracks, png, "-o", tmp_path / "videos", "--prompt", "bars")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    videos = data["videos"]
    assert [v["audio"] for v in videos] == ["first.wav", "second.wav"]
    for video, seconds in zip(videos, (2.5, 3.0), strict=True):
        path = Path(video["path"])
        assert path.parent == tmp_path / "videos" and video["media"] == f"MEDIA:{path}"
        assert probe(path).duration == pytest.approx(seconds, abs=0.1)
    plain = cli("make", *tracks, "-o", tmp_path / "again", "--prompt", "bars")
    assert plain.code == 0 and plain.out.count("MEDIA:") == 2


def test_make_with_several_audio_files_wants_a_folder(cli: Callable[..., Any], tmp_path: Path, wav: Path) -> None:
    result = cli("make", wav, wav, "-o", tmp_path / "one.mp4")
    assert result.code == 2 and "-o names a folder" in result.err


def test_a_clip_plays_muted_unless_its_sound_is_asked_for(tmp_path: Path, track: Path) -> None:
    """A clip with a 1 kHz tone: muted by default; with "keep the clips' sound" the tone is heard under its shot
    and the music goes on, ducked."""
    clip = tmp_path / "tone.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", "1.0", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip)], check=True)
    files = [{"file_id": "music", "filename": "music.wav", "kind": "audio", "info": {"duration": 8.0}},
             {"file_id": "clip", "filename": "tone.mp4", "kind": "video", "info": {}}]

    def tone(prompt: str) -> float:
        draft = direct(prompt, {}, files, "bars").draft
        draft["d"] = 3000
        out = tmp_path / "sound.mp4"
        get_renderer().render(RenderJob(draft=draft, sources={"music": track, "clip": clip}, output=out, fps=FPS,
                                        max_side=192))
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(out), "-ac", "1", "-ar", "8000", "-f", "s16le",
                              "-"], capture_output=True, check=True).stdout
        samples = np.frombuffer(raw, "<i2").astype(np.float32)
        spectrum = np.abs(np.fft.rfft(samples[:8000 * 2]))
        freqs = np.fft.rfftfreq(8000 * 2, 1 / 8000)
        band = (freqs > 980) & (freqs < 1020)
        return float(spectrum[band].max() / (np.median(spectrum) + 1e-9))
    muted, heard = tone("only my clips"), tone("only my clips, keep the clips' sound")
    assert muted < 50
    assert heard > 200


def test_all_sizes_in_one_go(cli: Callable[..., Any], tmp_path: Path, wav: Path) -> None:
    result = cli("--json", "make", wav, "-o", tmp_path / "clip.mp4", "--prompt", "vertical bars, all sizes")
    assert result.code == 0, result.err
    videos = json.loads(result.out)["videos"]
    assert [v["aspect"] for v in videos] == ["16:9", "9:16", "1:1"]
    sizes = [(probe(Path(v["path"])).width, probe(Path(v["path"])).height) for v in videos]
    assert sizes == [(192, 108), (108, 192), (192, 192)]
    assert [Path(v["path"]).name for v in videos] == ["clip-16x9.mp4", "clip-9x16.mp4", "clip-1x1.mp4"]
    assert cli("make", wav, "--aspect", "all", "--for", "discord").code == 2


def test_a_broken_photo_fails_the_render_with_its_name(tmp_path: Path, track: Path) -> None:
    from nemo_local.render import RenderError
    good = solid(tmp_path, "red")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    files = [{"file_id": "music", "filename": "music.wav", "kind": "audio", "info": {"duration": 8.0}},
             {"file_id": "good", "filename": "red.png", "kind": "image", "info": {}},
             {"file_id": "bad", "filename": "broken.jpg", "kind": "image", "info": {}}]
    draft = direct("only my photos", {}, files, "bars", lambda f: RHYTHM).draft
    with pytest.raises(RenderError, match=r"cannot read the picture broken\.jpg"):
        get_renderer().render(RenderJob(draft=draft, sources={"music": track, "good": good, "bad": bad},
                                        output=tmp_path / "o.mp4", fps=FPS, max_side=192))
