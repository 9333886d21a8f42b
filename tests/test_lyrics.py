"""Lyric videos: the user's LRC, SRT and VTT lines kept as written (one cue a line, at its own time, never merged;
words lit at their own times), bad lines left out and counted, plain lyrics placed on the singing, corrections,
and the lyric layout on screen."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from nemo_local.analysis import analyse
from nemo_local.director.turn import direct
from nemo_local.media.ffmpeg import probe
from nemo_local.media.synth import demo_track, write_wav
from nemo_local.render import RenderJob, get_renderer
from nemo_local.render.lyrics import lyric_size, safe_band
from nemo_local.speech import asr
from nemo_local.speech.captions import lrc
from nemo_local.speech.lines import placed_file
from nemo_local.speech.lyrics import corrected, place, spread
from nemo_local.speech.transcripts import ScriptError, read
from nemo_local.speech.words import Word
from test_render import decoded

FPS = 30
WIDTH, HEIGHT = 640, 360
RED = "#ff2020"


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    track = demo_track(seconds=40, bpm=120, rate=22050)
    return write_wav(tmp_path_factory.mktemp("song") / "song.wav", track.samples, track.rate)


def stamp(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{seconds % 60:05.2f}"


def lrc_file(path: Path, lines: list[tuple[float, str]], extra: str = "") -> Path:
    path.write_text(extra + "".join(f"[{stamp(t)}]{text}\n" for t, text in lines), encoding="utf-8")
    return path


def render(tmp_path: Path, audio: Path, lyrics: Path, words: str = "lyrics video, no visualizer",
           draft: dict[str, Any] | None = None, name: str = "out") -> tuple[Path, dict[str, Any], str]:
    files = [{"file_id": "a", "filename": audio.name, "kind": "audio", "info": {"duration": probe(audio).duration},
              "path": str(audio)},
             {"file_id": "l", "filename": lyrics.name, "kind": "text", "info": {}, "path": str(lyrics)}]
    result = direct(f"{words}, {RED}", draft or {}, files, "bars",
                    placing=lambda a, t: placed_file(Path(a["path"]), Path(t["path"]), analyse(Path(a["path"]))))
    out = tmp_path / f"{name}.mp4"
    get_renderer().render(RenderJob(draft=result.draft, sources={"a": audio, "l": lyrics}, output=out, fps=FPS,
                                    max_side=WIDTH, captions=tmp_path / name))
    return out, result.draft, result.reply


def srt_cues(path: Path) -> list[tuple[float, float, str]]:
    found = re.findall(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+?)(?:\n\n|\n?$)",
                       path.read_text(), re.S)
    return [(int(c[1]) * 60 + int(c[2]) + int(c[3]) / 1000, int(c[5]) * 60 + int(c[6]) + int(c[7]) / 1000,
             " ".join(c[8].split())) for c in found]


def text_extent(video: Path, at: float) -> tuple[int, int] | None:
    """The columns the lyric text spans in the lyric band at `at` seconds, white or lit in red (None: none)."""
    frame = decoded(video, "rgb24", at=at).astype(int)
    top, bottom = (int(share * HEIGHT) for share in safe_band(WIDTH, HEIGHT))
    band = frame[top:bottom]
    bright = (band.min(axis=2) > 185) | ((band[..., 0] > 170) & (band[..., 1] < 110) & (band[..., 2] < 110))
    columns = np.flatnonzero(bright.sum(axis=0) >= 2)
    return (int(columns[0]), int(columns[-1])) if len(columns) else None


def expected_width(text: str) -> float:
    from PIL import ImageFont
    return ImageFont.load_default(size=lyric_size(WIDTH, HEIGHT)).getlength(text)


class TestReading:
    def test_malformed_lines_are_left_out_and_counted_and_long_ones_cut(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.lrc"
        path.write_text("[ti:Song]\n[offset:+0]\n[00:01.00]one\n[00:75.00]impossible seconds\n[-00:02.00]negative\n"
                        "no time at all\n[00:03.00]two\n[00:03.00]two\n[00:05.00]" + "long " * 1000 + "\n")
        script = read(path)
        assert [(c.start, c.text) for c in script.cues][:2] == [(1.0, "one"), (3.0, "two")]   # duplicate: once
        assert script.skipped == 3 and script.cut == 1 and len(script.cues[2].text) <= 200
        assert script.said() == "3 lines without a valid time were left out; 1 overlong line was cut at 200 characters"

    def test_each_line_ends_at_the_next_or_after_a_hold_and_a_bare_time_ends_it(self, tmp_path: Path) -> None:
        script = read(lrc_file(tmp_path / "a.lrc", [(1.0, "first"), (2.0, "second line here"), (4.0, ""),
                                                   (20.0, "last"), (40.0, "after a long break")]))
        assert [(c.start, c.end) for c in script.cues] == [(1.0, 2.0), (2.0, 4.0), (20.0, 22.5), (40.0, 42.6)]

    def test_offset_and_enhanced_word_times(self, tmp_path: Path) -> None:
        path = tmp_path / "e.lrc"
        path.write_text("[offset:+500]\n[00:02.50]<00:02.50>Sing <00:03.10>it <00:03.60>loud\n[00:06.50]next\n")
        first = read(path).cues[0]
        assert (first.start, first.text, first.stamps) == (2.0, "Sing it loud", [2.0, 2.6, 3.1])

    def test_srt_and_vtt_cues_with_bad_times_are_left_out(self, tmp_path: Path) -> None:
        (tmp_path / "a.srt").write_text("1\n00:00:02,000 --> 00:00:01,000\nbackwards\n\n2\n00:00:03,000 --> "
                                        "00:00:04,000\nfine\n\n3\n00:00:xx --> soon\nbroken\n")
        script = read(tmp_path / "a.srt")
        assert [(c.start, c.text) for c in script.cues] == [(3.0, "fine")] and script.skipped == 2
        (tmp_path / "a.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:03.000 align:start\n<00:01.000>one "
                                        "<00:01.800>two <00:02.400>three\n")
        cue = read(tmp_path / "a.vtt").cues[0]
        assert (cue.text, cue.stamps) == ("one two three", [1.0, 1.8, 2.4])

    def test_a_file_with_nothing_usable_says_why(self, tmp_path: Path) -> None:
        (tmp_path / "none.lrc").write_text("[ar:Someone]\njust words\n[99:99.99]\n")
        with pytest.raises(ScriptError, match=r"none\.lrc: no line has a valid time .*\[mm:ss\.xx\]"):
            read(tmp_path / "none.lrc")

    def test_the_exported_lrc_reads_back_the_same(self, tmp_path: Path) -> None:
        from nemo_local.speech.captions import Page
        pages = [Page([[Word(1.0, 1.4, "Hello"), Word(1.5, 2.0, "there")]], 1.0, 2.2),
                 Page([[Word(5.0, 5.5, "again")]], 5.0, 6.0)]
        (tmp_path / "out.lrc").write_text(lrc(pages))
        back = read(tmp_path / "out.lrc").cues
        assert [(c.start, c.end, c.text, c.stamps) for c in back] == [(1.0, 2.2, "Hello there", [1.0, 1.5]),
                                                                    (5.0, 6.0, "again", [5.0])]


class TestPlacing:
    def test_heard_lines_are_placed_where_their_words_were_sung(self) -> None:
        heard = [Word(2.0, 2.4, "hello"), Word(2.5, 2.9, "world"), Word(9.0, 9.4, "third"), Word(9.5, 9.9, "line")]
        placed = place(["Hello world", "something unheard", "third line"], heard, [(1.5, 11.0)], 12.0)
        assert placed.spans[0][0] == 2.0 and placed.spans[2][0] == 9.0 and placed.heard == 2
        assert 2.9 < placed.spans[1][0] < placed.spans[1][1] < 9.0           # between its neighbours
        assert placed.sure and "2 of 3 lines heard" in placed.said()

    def test_without_anything_heard_lines_are_spread_over_the_sung_stretches(self) -> None:
        placed = place(["aa", "bb"], [], [(0.0, 1.0), (10.0, 11.0)], 20.0)
        assert not placed.sure and "could not be made out" in placed.said()
        assert 0.0 <= placed.spans[0][0] < 1.0 and 10.0 <= placed.spans[1][0] < 11.0
        assert spread([1.0, 1.0], [], 4.0, 8.0)[1][0] == pytest.approx(6.0)

    def test_corrections_move_a_line_and_shift_them_all(self) -> None:
        spans = [(1.0, 3.0), (4.0, 6.0), (7.0, 9.0)]
        assert corrected(spans, [], 0.3) == [(1.3, 3.3), (4.3, 6.3), (7.3, 9.3)]
        moved = corrected(spans, [(2, 2.5)], 0.0)
        assert moved[1] == (2.5, 4.5) and moved[0][1] <= 2.5


class TestTheDirector:
    FILES: ClassVar[list[dict[str, Any]]] = [
        {"file_id": "a", "filename": "song.mp3", "kind": "audio", "info": {"duration": 60.0}}]

    def test_an_lrc_turns_the_lyric_layout_on_and_the_reply_counts_what_was_left_out(self, tmp_path: Path) -> None:
        path = lrc_file(tmp_path / "lyrics.lrc", [(1.0, "one"), (3.0, "two")], extra="[00:99.00]bad\nbad\n")
        files = [*self.FILES, {"file_id": "l", "filename": "lyrics.lrc", "kind": "text", "info": {},
                               "path": str(path)}]
        result = direct("bars", {}, files, "bars")
        assert result.draft["m"]["lyrics"] is True and result.draft["m"]["captions"] is True
        assert "lyrics from lyrics.lrc: 2 lines at their own times" in result.reply
        assert "2 lines without a valid time were left out." in result.reply
        plain = direct("as plain captions", result.draft, files, "bars")
        assert "lyrics" not in plain.draft["m"] and "lyrics shown as captions" in plain.reply

    def test_corrections_change_only_the_lyric_timing(self) -> None:
        before = direct("lyric video", {}, self.FILES, "bars").draft
        after = direct("line 3 starts at 0:42.5 and shift the lyrics 0.3 s later", before, self.FILES, "bars")
        assert after.draft["m"]["lyric_starts"] == [[3, 42500]] and after.draft["m"]["lyric_shift_ms"] == 300
        changed = {k for k in after.draft["m"] if after.draft["m"][k] != before["m"].get(k)}
        assert changed == {"lyric_starts", "lyric_shift_ms"} and after.draft["t"] == before["t"]
        earlier = direct("the lyrics are 200 ms late", after.draft, self.FILES, "bars").draft
        assert earlier["m"]["lyric_shift_ms"] == 100


class TestOnScreen:
    def test_three_lines_one_cue_each_at_their_times_the_right_one_shown(self, tmp_path: Path, song: Path) -> None:
        lines = [(1.0, "First line of the song"), (4.0, "Second"), (8.0, "And the last one, longer")]
        out, draft, _ = render(tmp_path, song, lrc_file(tmp_path / "lyrics.lrc", [*lines[:2], (6.0, ""), lines[2]]))
        cues = srt_cues(tmp_path / "out.part.srt")
        assert [text for _, _, text in cues] == [text for _, text in lines]
        assert all(abs(start - t) <= 1 / FPS for (start, _, _), (t, _) in zip(cues, lines, strict=True))
        for (start, end, text) in cues:
            extent = text_extent(out, (start + end) / 2)
            assert extent is not None and abs(extent[1] - extent[0] - expected_width(text)) <= 0.06 * \
                expected_width(text) + 6, (text, extent)
        assert cues[1][1] == 6.0 and text_extent(out, 7.0) is None        # the LRC leaves 6-8 s empty
        assert (tmp_path / "out.part.lrc").read_text().startswith("[00:01.00]<00:01.00>First")
        assert draft["m"]["lyrics"] is True

    def test_thirty_lines_keep_their_own_times(self, tmp_path: Path, song: Path) -> None:
        lines = [(0.5 + k * 1.2, f"line number {k + 1}") for k in range(30)]
        render(tmp_path, song, lrc_file(tmp_path / "thirty.lrc", lines))
        cues = srt_cues(tmp_path / "out.part.srt")
        assert len(cues) == 30 and [c[2] for c in cues] == [text for _, text in lines]
        assert max(abs(c[0] - t) for c, (t, _) in zip(cues, lines, strict=True)) <= 1 / FPS

    def test_words_are_lit_at_their_own_times(self, tmp_path: Path, song: Path) -> None:
        path = tmp_path / "words.lrc"
        path.write_text("[00:01.00]<00:01.00>ONE <00:02.50>TWO <00:04.00>THREE\n[00:06.00]\n")
        out, _, _ = render(tmp_path, song, path)
        lit = []
        for at in (1.7, 3.2, 4.7):
            frame = decoded(out, "rgb24", at=at).astype(int)
            red = (frame[..., 0] > 170) & (frame[..., 1] < 110) & (frame[..., 2] < 110)
            columns = np.flatnonzero(red.sum(axis=0) >= 2)
            lit.append(columns.mean() if len(columns) else None)
        assert None not in lit and lit[0] < lit[1] < lit[2]

    @pytest.mark.parametrize("kind", ["srt", "vtt"])
    def test_srt_and_vtt_lines_are_kept_as_written(self, tmp_path: Path, song: Path, kind: str) -> None:
        stamp_ = (lambda s: f"00:00:{s:06.3f}".replace(".", ",")) if kind == "srt" else (lambda s: f"00:{s:06.3f}")
        body = "".join(f"{k + 1}\n{stamp_(a)} --> {stamp_(b)}\n{text}\n\n" for k, (a, b, text) in
                       enumerate([(1.0, 3.0, "alpha beta"), (3.0, 5.5, "gamma"), (7.0, 9.0, "delta epsilon")]))
        path = tmp_path / f"lyrics.{kind}"
        path.write_text(("WEBVTT\n\n" if kind == "vtt" else "") + body)
        render(tmp_path, song, path)
        assert srt_cues(tmp_path / "out.part.srt") == [(1.0, 3.0, "alpha beta"), (3.0, 5.5, "gamma"),
                                                       (7.0, 9.0, "delta epsilon")]

    def test_corrections_reach_the_video(self, tmp_path: Path, song: Path) -> None:
        lyrics = lrc_file(tmp_path / "lyrics.lrc", [(1.0, "one"), (4.0, "two"), (8.0, "three")])
        _, draft, _ = render(tmp_path, song, lyrics)
        render(tmp_path, song, lyrics, "line 2 starts at 0:05 and shift the lyrics 0.5 s later", draft, "fixed")
        assert [c[0] for c in srt_cues(tmp_path / "fixed.part.srt")] == [1.5, 5.0, 8.5]

    def test_a_malformed_lrc_renders_without_an_internal_error(self, tmp_path: Path, song: Path) -> None:
        path = tmp_path / "bad.lrc"
        path.write_text("[00:01.00]fine\n[00:75.00]x\n[-1:00.00]y\n[00:03.00]" + "word " * 1000 +
                        "\n[00:03.00]" + "word " * 1000 + "\n" + "[00:06.00]" + "x" * 5000 + "\n")
        out, _, reply = render(tmp_path, song, path)
        assert probe(out).duration == pytest.approx(40, abs=0.1)
        assert "2 lines without a valid time were left out" in reply and "overlong lines were cut" in reply


def test_a_lyrics_file_with_nothing_usable_is_refused_at_upload(cli: Any, tmp_path: Path, wav: Path) -> None:
    (tmp_path / "empty.lrc").write_text("[ar:Someone]\n[00:01.00]\n[00:02.00]\n")
    result = cli("--local", "upload", wav, tmp_path / "empty.lrc")
    assert result.code == 7
    assert result.err.strip().splitlines()[-1].startswith("error: empty.lrc: no line has a valid time")


# ---- plain lyrics on a sung track: espeak-ng sings (speaks) the lines over a generated backing -----------------

needs_singing = pytest.mark.skipif(shutil.which("espeak-ng") is None or asr.available() is not None,
                                   reason="needs espeak-ng and the [captions] extra (CI installs both)")
SUNG = [(2.0, "Walking down the river in the morning light"), (8.0, "Every little window shining gold and bright"),
        (14.0, "Hold on to the feeling when the summer ends"), (20.0, "Dancing with the shadows of my oldest friends")]


@pytest.fixture(scope="module")
def sung_track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sung")
    rate = 22050
    backing = demo_track(seconds=28, bpm=100, rate=rate).samples * 0.35
    for k, (start, text) in enumerate(SUNG):
        voice_path = folder / f"v{k}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-p", "60", "-w", str(voice_path), text], check=True)
        with wave.open(str(voice_path)) as handle:
            voice = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
        voice = voice[np.flatnonzero(np.abs(voice) > 0.02)[0]:]
        at = int(start * rate)
        backing[at: at + len(voice)] += voice[: len(backing) - at] * 0.9
    return write_wav(folder / "sung.wav", backing / np.abs(backing).max() * 0.9, rate)


@needs_singing
def test_plain_lyrics_land_within_half_a_second_of_each_sung_line(tmp_path: Path, sung_track: Path) -> None:
    lyrics = tmp_path / "lyrics.txt"
    lyrics.write_text("\n".join(text for _, text in SUNG) + "\n")
    _, _, reply = render(tmp_path, sung_track, lyrics, "lyric video")
    cues = srt_cues(tmp_path / "out.part.srt")
    assert [c[2] for c in cues] == [text for _, text in SUNG]
    assert all(abs(c[0] - t) <= 0.5 for c, (t, _) in zip(cues, SUNG, strict=True)), cues
    assert "lines heard in the singing" in reply


def test_make_with_an_lrc_keeps_its_lines_end_to_end(cli: Any, tmp_path: Path, song: Path) -> None:
    lines = [(1.0, "First line of the song"), (4.0, "Second line comes here"), (8.0, "And the last one")]
    lrc_file(tmp_path / "lyrics.lrc", lines)
    result = cli("--local", "make", song, tmp_path / "lyrics.lrc", "--prompt", "lyrics video, bars", "-o",
                 "clip.mp4", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data["captions"]) == {"srt", "vtt", "lrc"}
    assert [c[2] for c in srt_cues(Path(data["captions"]["srt"]))] == [text for _, text in lines]
    assert Path(data["captions"]["lrc"]).read_text().count("[00:") >= 3
