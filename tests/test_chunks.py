"""A render cut into chunks (drawn in other processes, joined without re-encoding) is the single pass: the same
frames, to the frame, the same audio, the same poster; wherever a chunk starts (in a crossfade, mid-clip, just
after a drop, in the middle of a lyric line)."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from nemo_local.analysis import analyse
from nemo_local.director.montage import rhythm_of
from nemo_local.director.turn import direct
from nemo_local.media.ffmpeg import ffmpeg_exe, probe
from nemo_local.media.synth import demo_track, write_wav
from nemo_local.render import Cancelled, RenderError, RenderJob, chunks
from nemo_local.render.engine import MusicRenderer
from nemo_local.render.farm import LocalFarm
from nemo_local.render.settings import EncodeSettings
from test_render import decoded

FPS, SECONDS, DROP, SIDE = 30, 12.0, 6.0, 320


def pcm(path: Path) -> bytes:
    return subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-f", "s16le", "-"],
                          capture_output=True, check=True).stdout


class Montage:
    """12 s of music with a drop at 6 s, two photos and a 2.5 s clip cut on the bars with crossfades, and lyrics."""

    def __init__(self, folder: Path) -> None:
        track = demo_track(seconds=SECONDS, bpm=120, drop_at=DROP, rate=22050)
        self.audio = write_wav(folder / "song.wav", track.samples, track.rate)
        for name, colour in (("one", (200, 40, 40)), ("two", (40, 60, 200))):
            Image.new("RGB", (800, 600), colour).save(folder / f"{name}.jpg")
        self.clip = folder / "clip.mp4"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
                        "-t", "2.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(self.clip)], check=True)
        lyrics = folder / "song.lrc"
        lyrics.write_text("[00:01.00]first line of the song\n[00:04.50]a second line goes here\n"
                          "[00:06.20]the line on the drop\n[00:09.00]and the last one\n")
        files = [{"file_id": "a", "filename": "song.wav", "kind": "audio", "info": {"duration": SECONDS},
                  "path": str(self.audio)},
                 {"file_id": "p1", "filename": "one.jpg", "kind": "image", "info": {"width": 800, "height": 600}},
                 {"file_id": "c", "filename": "clip.mp4", "kind": "video", "info": {"width": 320, "height": 180}},
                 {"file_id": "p2", "filename": "two.jpg", "kind": "image", "info": {"width": 800, "height": 600}},
                 {"file_id": "l", "filename": "song.lrc", "kind": "text", "info": {}, "path": str(lyrics)}]
        from nemo_local.speech.lines import placed_file

        analysis = analyse(self.audio)
        self.draft: dict[str, Any] = direct(
            "a montage of my photos and clips with crossfades, lyrics, bars", {}, files, "bars",
            lambda _: rhythm_of(analysis), placing=lambda a, t: placed_file(Path(a["path"]), Path(t["path"]),
                                                                            analysis)).draft
        self.sources = {"a": self.audio, "p1": folder / "one.jpg", "p2": folder / "two.jpg", "c": self.clip,
                        "l": lyrics}
        self.drop_frame = round(analysis.drops[0] * FPS)

    def cuts(self) -> list[int]:
        video = next(t["sg"] for t in self.draft["t"] if t["tt"] == 0)
        return [round(seg["s"] * FPS / 1000) for seg in video]

    def clip_shots(self) -> list[int]:
        video = next(t["sg"] for t in self.draft["t"] if t["tt"] == 0)
        return [round(seg["s"] * FPS / 1000) for seg in video if seg["kind"] == "video"]

    def job(self, output: Path, lossless: bool = True) -> RenderJob:
        return RenderJob(draft=json.loads(json.dumps(self.draft)), sources=self.sources, output=output, fps=FPS,
                         max_side=SIDE, poster=output.with_suffix(".jpg"),
                         encoding=EncodeSettings(lossless=True) if lossless else None)


@pytest.fixture(scope="module")
def montage(tmp_path_factory: pytest.TempPathFactory) -> Montage:
    return Montage(tmp_path_factory.mktemp("montage"))


@pytest.fixture(scope="module")
def farm() -> Iterator[LocalFarm]:
    pool = LocalFarm(2)
    yield pool
    pool.close()


@pytest.fixture
def bounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The chunk boundaries the next render uses (instead of the planner's), to put them where they hurt."""
    chosen: list[int] = []
    monkeypatch.setattr(chunks, "plan", lambda window, *_, **__: [range(a, b) for a, b in
                                                                  zip([window.start, *chosen], [*chosen, window.stop],
                                                                      strict=True)])
    yield chosen


class TestPlan:
    def test_chunks_cover_the_window_once_in_order(self) -> None:
        parts = chunks.plan(range(30, 30 + 95 * FPS), 20 * FPS, fps=FPS)
        assert parts[0].start == 30 and parts[-1].stop == 30 + 95 * FPS
        assert all(a.stop == b.start for a, b in itertools.pairwise(parts))
        assert all(10 * FPS <= len(p) <= 30 * FPS for p in parts)

    def test_a_boundary_moves_to_a_cut_near_it_else_to_a_beat(self) -> None:
        parts = chunks.plan(range(0, 60 * FPS), 20 * FPS, cuts=[20 * FPS + 70], beats=[40 * FPS + 63], fps=FPS)
        assert [p.start for p in parts] == [0, 20 * FPS + 70, 40 * FPS + 63]    # each aims a chunk after the last
        far = chunks.plan(range(0, 60 * FPS), 20 * FPS, cuts=[20 * FPS + 200], beats=[40 * FPS - 40], fps=FPS)
        assert [p.start for p in far] == [0, 20 * FPS, 40 * FPS]   # more than a quarter chunk / half a second away

    def test_long_videos_get_longer_chunks_about_three_per_worker(self) -> None:
        assert chunks.chunk_length(10 * 60 * FPS, 2, FPS, 30) == 100 * FPS      # 10 min on 2 workers: 6 chunks
        assert chunks.chunk_length(10 * 60 * FPS, 8, FPS, 30) == 30 * FPS       # never under the shortest
        assert chunks.chunk_length(60 * FPS, 0, FPS, 30) == 30 * FPS            # no worker yet: as if one

    def test_no_chunk_is_shorter_than_a_second_and_a_short_render_is_one_chunk(self) -> None:
        assert chunks.plan(range(0, 25 * FPS), 20 * FPS, fps=FPS) == [range(0, 25 * FPS)]
        assert chunks.plan(range(0, 41 * FPS), 20 * FPS, fps=FPS) == [range(0, 20 * FPS), range(20 * FPS, 41 * FPS)]
        assert all(len(p) >= FPS for p in chunks.plan(range(0, 100), 5, fps=FPS))


@pytest.mark.slow
class TestChunkedIsTheSinglePass:
    def test_boundaries_in_a_crossfade_mid_clip_after_a_drop_and_mid_lyric(
            self, tmp_path: Path, montage: Montage, farm: LocalFarm, bounds: list[int]) -> None:
        cut, clip = montage.cuts()[1], montage.clip_shots()
        assert clip and montage.drop_frame
        bounds += sorted({cut + 3, clip[0] + 20, montage.drop_frame + 3, clip[-1] + 33,
                          round(9.4 * FPS)})           # 9.4 s: inside the last lyric line
        MusicRenderer().render(montage.job(tmp_path / "single.mp4"))
        MusicRenderer(farm).render(montage.job(tmp_path / "chunked.mp4"))
        single, chunked = decoded(tmp_path / "single.mp4", "rgb24"), decoded(tmp_path / "chunked.mp4", "rgb24")
        assert len(single) == len(chunked) == SECONDS * FPS
        differ = [i for i in range(len(single)) if not np.array_equal(single[i], chunked[i])]
        assert differ == []                                    # drawn alike, to the byte (lossless encodes)
        assert hashlib.sha256(pcm(tmp_path / "single.mp4")).digest() == \
            hashlib.sha256(pcm(tmp_path / "chunked.mp4")).digest()
        assert (tmp_path / "single.jpg").read_bytes() == (tmp_path / "chunked.jpg").read_bytes()

    def test_a_lossy_chunked_render_keeps_the_frames_and_the_audio(self, tmp_path: Path, montage: Montage,
                                                                   farm: LocalFarm) -> None:
        job = montage.job(tmp_path / "chunked.mp4", lossless=False)
        MusicRenderer(farm, chunk_seconds=4).render(job)
        reference = montage.job(tmp_path / "single.mp4", lossless=False)
        MusicRenderer().render(reference)
        info = probe(job.output)
        assert info.duration == pytest.approx(SECONDS, abs=0.05) and info.has_audio
        assert len(decoded(job.output)) == SECONDS * FPS
        assert pcm(job.output) == pcm(reference.output)

    def test_cancel_reaches_the_chunks_and_leaves_no_video(self, tmp_path: Path, montage: Montage,
                                                           farm: LocalFarm) -> None:
        job = montage.job(tmp_path / "cancelled.mp4")
        seen: list[float] = []
        job.progress = seen.append
        job.cancelled = lambda: len(seen) > 1      # after the analysis, as the first chunks run
        with pytest.raises(Cancelled):
            MusicRenderer(farm, chunk_seconds=1).render(job)
        assert not job.output.exists()

    def test_a_chunk_that_fails_fails_the_render_in_words(self, tmp_path: Path, montage: Montage,
                                                          farm: LocalFarm) -> None:
        broken = tmp_path / "clip.mp4"
        broken.write_bytes(b"\x00" * 2048)
        job = montage.job(tmp_path / "broken.mp4")
        job.sources = {**job.sources, "c": broken}
        with pytest.raises(RenderError, match=r"clip\.mp4"):
            MusicRenderer(farm, chunk_seconds=2).render(job)
