"""The music-synced renderer, checked on its output: frames, pulses on beats, the drop, styles, aspects."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nemo_local.analysis import analyse
from nemo_local.draft import ASPECTS
from nemo_local.media.ffmpeg import ffmpeg_exe, parse_ffmpeg_banner, probe
from nemo_local.media.synth import demo_track, write_wav
from nemo_local.render import RenderJob, get_renderer
from nemo_local.render.styles import STYLES

FPS = 30
SECONDS = 8.0
BPM = 120.0
DROP = 5.0


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    track = demo_track(seconds=SECONDS, bpm=BPM, drop_at=DROP, rate=22050)
    return write_wav(tmp_path_factory.mktemp("music") / "music.wav", track.samples, track.rate), track


def draft(style: str = "bars", aspect: str = "16:9", **meta: Any) -> dict[str, Any]:
    width, height = ASPECTS[aspect]
    ms = int(SECONDS * 1000)
    return {"d": ms, "m": {"style": style, "aspect": aspect, "width": width, "height": height,
                           "accent": "#36c5f0", "beat_sync": True, "drops": True, **meta},
            "t": [{"tt": 0, "sg": [{"kind": "visualizer", "s": 0, "d": ms}]},
                  {"tt": 1, "sg": [{"src": "audio", "s": 0, "d": ms, "v": 1.0}]}]}


def render(tmp_path: Path, audio: Path, the_draft: dict[str, Any], name: str = "out.mp4",
           sources: dict[str, Path] | None = None) -> Path:
    out = tmp_path / name
    get_renderer().render(RenderJob(draft=the_draft, sources={"audio": audio, **(sources or {})}, output=out,
                                    fps=FPS, max_side=256, preset="ultrafast"))
    return out


def decoded(path: Path, pix_fmt: str = "gray", at: float | None = None) -> np.ndarray:
    """A video's frames as uint8, (frames, height, width) for "gray", (..., 3) for "rgb24"; with `at` (seconds),
    only the frame there."""
    info = probe(path)
    assert info.width and info.height
    seek, one = (["-ss", f"{at:.3f}"], ["-frames:v", "1"]) if at is not None else ([], [])
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", *seek, "-i", str(path), *one, "-f", "rawvideo", "-pix_fmt",
                          pix_fmt, "-"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, info.height, info.width, *((3,) if pix_fmt == "rgb24" else ()))
    return frames[0] if at is not None else frames


def luma_frames(path: Path) -> np.ndarray:
    """Every frame of a video as a (frames, height, width) uint8 array of luma."""
    return decoded(path)


def brightness_jumps(frames: np.ndarray) -> np.ndarray:
    """How much brighter each frame is than the one before (0 for the first)."""
    mean = frames.reshape(len(frames), -1).mean(axis=1)
    return np.concatenate([[0.0], np.diff(mean)])


class TestOutput:
    def test_exact_frames_duration_and_streams(self, tmp_path: Path, music: tuple[Path, Any]) -> None:
        out = render(tmp_path, music[0], draft())
        info = probe(out)
        assert (info.video_codec, info.audio_codec) == ("h264", "aac")
        assert info.duration == pytest.approx(SECONDS, abs=1 / FPS)
        assert len(luma_frames(out)) == round(SECONDS * FPS)
        assert out.read_bytes()[4:8] == b"ftyp" and b"moov" in out.read_bytes()[:4096]   # +faststart

    @pytest.mark.parametrize("style", STYLES)
    def test_each_style_renders_and_differs(self, tmp_path: Path, music: tuple[Path, Any], style: str) -> None:
        out = render(tmp_path, music[0], draft(style), f"{style}.mp4")
        frames = luma_frames(out)
        assert len(frames) == round(SECONDS * FPS)
        assert frames[int(6.2 * FPS)].std() > 8          # something is drawn over the background

    def test_styles_look_different(self, tmp_path: Path, music: tuple[Path, Any]) -> None:
        stills = [luma_frames(render(tmp_path, music[0], draft(s), f"d{s}.mp4"))[int(6.2 * FPS)].astype(float)
                  for s in STYLES]
        for i in range(len(stills)):
            for j in range(i + 1, len(stills)):
                assert np.abs(stills[i] - stills[j]).mean() > 2, (STYLES[i], STYLES[j])

    @pytest.mark.parametrize(("aspect", "size"), [("16:9", (256, 144)), ("9:16", (144, 256)), ("1:1", (256, 256))])
    def test_aspect_ratios(self, tmp_path: Path, music: tuple[Path, Any], aspect: str, size: tuple[int, int]) -> None:
        info = probe(render(tmp_path, music[0], draft("circle", aspect), f"{aspect.replace(':', 'x')}.mp4"))
        assert (info.width, info.height) == size


class TestSync:
    def test_pulses_sit_on_the_beats(self, tmp_path: Path, music: tuple[Path, Any]) -> None:
        audio, track = music
        frames = luma_frames(render(tmp_path, audio, draft("bars")))
        jumps = brightness_jumps(frames)
        beats = analyse(audio).beats
        beat_frames = np.round(beats * FPS).astype(int)
        threshold = 4.0
        on_beat = [jumps[max(0, f - 1): f + 2].max() > threshold for f in beat_frames if 0 < f < len(frames) - 1]
        assert np.mean(on_beat) >= 0.95
        pulses = np.nonzero(jumps > threshold)[0]
        assert all(np.min(np.abs(beat_frames - p)) <= 1 for p in pulses)
        truth = np.round(track.beats * FPS).astype(int)
        assert all(np.min(np.abs(truth - p)) <= 1 + round(0.07 * FPS) for p in pulses)

    def test_the_drop_is_unmistakable(self, tmp_path: Path, music: tuple[Path, Any]) -> None:
        audio, track = music
        frames = luma_frames(render(tmp_path, audio, draft("wave")))
        jumps = brightness_jumps(frames)
        drop_frame = round(track.drop * FPS)
        beat_jumps = [jumps[round(b * FPS)] for b in track.beats if abs(b - track.drop) > 0.5 and b > 0.2]
        assert jumps[drop_frame - 1: drop_frame + 2].max() > 3 * np.median(beat_jumps)
        assert int(np.argmax(jumps)) in range(drop_frame - 1, drop_frame + 2)

    def test_beat_sync_and_drops_can_be_turned_off(self, tmp_path: Path, music: tuple[Path, Any]) -> None:
        audio, track = music
        on = brightness_jumps(luma_frames(render(tmp_path, audio, draft("wave"), "on.mp4")))
        off = brightness_jumps(luma_frames(render(tmp_path, audio, draft("wave", beat_sync=False, drops=False),
                                                  "off.mp4")))
        beat_frames = [round(b * FPS) for b in track.beats if b > 0.2]
        assert np.median(off[beat_frames]) < np.median(on[beat_frames]) / 5
        assert off.max() < on.max() / 5


class TestDraftsAreClientData:
    def test_sizes_are_kept_within_bounds(self) -> None:
        job = RenderJob(draft={"m": {"width": 20000, "height": 20000}}, sources={}, output=Path("x"))
        assert job.frame_size() == (1920, 1920)
        job.draft = {"m": {"width": "wide", "height": None}}
        assert job.frame_size() == (1920, 1080)
        job.draft = {"m": {"width": 2, "height": 3}}
        assert job.frame_size() == (64, 64)

    def test_never_renders_past_the_audio(self, tmp_path: Path, music: tuple[Path, Any]) -> None:
        long_draft = draft()
        long_draft["d"] = 600_000
        info = probe(render(tmp_path, music[0], long_draft))
        assert info.duration == pytest.approx(SECONDS, abs=1 / FPS)


class TestInputs:
    def test_chapters_cover_and_metadata_do_not_leak(self, tmp_path: Path, music: tuple[Path, Any],
                                                     png: Path) -> None:
        chapters = tmp_path / "chapters.txt"
        chapters.write_text(";FFMETADATA1\ntitle=Secret Title\nartist=Someone\n\n[CHAPTER]\nTIMEBASE=1/1000\n"
                            "START=0\nEND=4000\ntitle=Intro\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=4000\nEND=8000\n"
                            "title=Drop\n")
        tagged = tmp_path / "tagged.m4a"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(music[0]), "-i", str(chapters), "-i", str(png),
                        "-map", "0:a", "-map", "2:v", "-map_metadata", "1", "-map_chapters", "1", "-c:a", "aac",
                        "-c:v", "png", "-disposition:v", "attached_pic", str(tagged)], check=True)
        source_banner = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(tagged)], capture_output=True,
                                       text=True).stderr
        assert "Chapter" in source_banner and "Secret Title" in source_banner and probe(tagged).has_cover
        out = render(tmp_path, tagged, draft("bars"))
        banner = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
        assert "Chapter" not in banner and "Secret Title" not in banner and "Someone" not in banner
        assert banner.count("Stream #") == 2
        info = parse_ffmpeg_banner(banner)
        assert (info.video_codec, info.audio_codec, info.has_cover) == ("h264", "aac", False)

    def test_cover_art_is_the_default_background(self, tmp_path: Path, music: tuple[Path, Any], png: Path) -> None:
        with_cover = tmp_path / "cover.mp3"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(music[0]), "-i", str(png), "-map", "0:a", "-map", "1:v",
                        "-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic", str(with_cover)],
                       check=True)
        plain = luma_frames(render(tmp_path, music[0], draft("rings"), "plain.mp4"))[10]
        covered = luma_frames(render(tmp_path, with_cover, draft("rings"), "covered.mp4"))[10]
        assert np.abs(plain.astype(float) - covered.astype(float)).mean() > 10

    def test_uploaded_image_background_and_titles(self, tmp_path: Path, music: tuple[Path, Any], png: Path) -> None:
        the_draft = draft("wave")
        the_draft["t"][0]["sg"][0].update({"kind": "image", "src": "image"})
        the_draft["t"].append({"tt": 7, "sg": [{"text": "Urban Dreams", "s": 0, "d": 2000}]})
        frames = luma_frames(render(tmp_path, music[0], the_draft, sources={"image": png}))
        top = slice(0, frames.shape[1] // 5)
        assert frames[30][top].astype(float).std() > frames[90][top].astype(float).std() + 5   # title, then gone


def test_a_clip_too_short_for_beats_still_renders(tmp_path: Path) -> None:
    track = demo_track(seconds=1.0, bpm=120, rate=22050)
    audio = write_wav(tmp_path / "short.wav", track.samples, track.rate)
    short = draft("circle")
    short["d"] = 1000
    out = render(tmp_path, audio, short)
    assert len(luma_frames(out)) == FPS and probe(out).audio_codec == "aac"


def test_the_progress_bar_fills_with_the_video(tmp_path: Path, music: tuple[Path, Any]) -> None:
    audio, _ = music
    quiet = {"visualizer": False, "drops": False, "beat_sync": False}    # nothing else drawn near the bottom
    frames = luma_frames(render(tmp_path, audio, draft(progress_bar=True, **quiet), "bar.mp4"))
    count, height, width = frames.shape
    for k in (count // 4, count // 2, 3 * count // 4, count - 1):
        row = frames[k, height - 2].astype(int)        # inside the bar, along the bottom edge
        lit = np.flatnonzero(row > np.median(frames[k, height // 2]) + 60)
        assert len(lit) and abs(lit.max() + 1 - width * (k + 1) / count) <= 4, (k, lit.max() if len(lit) else None)
    plain = luma_frames(render(tmp_path, audio, draft(**quiet), "plain.mp4"))
    assert (plain[count - 1, height - 2].astype(int) <= np.median(plain[count - 1, height // 2]) + 60).all()
