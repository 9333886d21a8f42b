"""`make`'s plan, checked before anything is sent: which files are audio and which pictures, `--image` a picture,
the frame sizes, and where each video goes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nemo_local.draft import ASPECTS
from nemo_local.media.ffmpeg import ffmpeg_exe
from nemo_skill import errors
from nemo_skill.destinations import output_for
from nemo_skill.making import ordinal, plan, split_inputs


@pytest.fixture
def folder(tmp_path: Path, wav: Path, png: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("a.wav", "b.wav"):
        shutil.copy(wav, tmp_path / name)
    shutil.copy(png, tmp_path / "cover.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_one_video_per_audio_file_in_the_current_folder_without_o(folder: Path) -> None:
    chosen = plan([Path("a.wav"), Path("b.wav"), Path("cover.png")])
    assert chosen.audio == [Path("a.wav"), Path("b.wav")] and chosen.pictures == [Path("cover.png")]
    assert chosen.targets == [[folder / "a.mp4"], [folder / "b.mp4"]]


def test_several_audio_files_go_into_the_folder_o_names(folder: Path) -> None:
    chosen = plan([Path("a.wav"), Path("b.wav")], output_path=Path("videos"))
    assert chosen.targets == [[folder / "videos" / "a.mp4"], [folder / "videos" / "b.mp4"]]
    with pytest.raises(errors.UsageError, match="-o names a folder"):
        plan([Path("a.wav"), Path("b.wav")], output_path=Path("one.mp4"))


def test_all_sizes_name_one_file_per_frame(folder: Path) -> None:
    chosen = plan([Path("a.wav")], aspect="all", output_path=Path("clip.mp4"))
    assert chosen.sizes == list(ASPECTS) and chosen.output.aspect is None
    assert chosen.targets == [[folder / f"clip-{size.replace(':', 'x')}.mp4" for size in ASPECTS]]
    words = plan([Path("a.wav")], prompt="bars in all the sizes")
    assert words.sizes == list(ASPECTS)
    with pytest.raises(errors.UsageError, match="--for sets the frame"):
        plan([Path("a.wav")], aspect="all", output=output_for("tiktok", None))


def test_one_frame_travels_as_an_output_option(folder: Path) -> None:
    chosen = plan([Path("a.wav")], aspect="9:16", output=output_for("discord", None, "9:16"))
    assert chosen.sizes == ["9:16"] and chosen.output.state() == {
        "destination": "discord", "aspect": "9:16", "max_bytes": 10_000_000}


def test_image_must_be_a_picture(folder: Path) -> None:
    with pytest.raises(errors.UsageError, match=r"--image needs a picture .* a\.wav is audio"):
        plan([Path("b.wav")], image=Path("a.wav"))
    assert plan([Path("b.wav")], image=Path("cover.png")).pictures == [Path("cover.png")]


def test_an_existing_video_is_refused_before_anything_is_sent(folder: Path) -> None:
    (folder / "a.mp4").write_bytes(b"precious")
    with pytest.raises(errors.InputError, match="--force"):
        plan([Path("a.wav")])
    assert plan([Path("a.wav")], force=True).targets == [[folder / "a.mp4"]]
    assert (folder / "a.mp4").read_bytes() == b"precious"


def test_missing_and_mislabelled_files_are_refused(folder: Path) -> None:
    with pytest.raises(errors.InputError, match="no such file"):
        plan([Path("gone.wav")])
    (folder / "fake.mp3").write_text("not audio")
    with pytest.raises(errors.InputError, match=r"not a real \.mp3"):
        plan([Path("fake.mp3")])


def test_a_video_is_the_sound_only_without_audio() -> None:
    assert split_inputs([Path("clip.mp4"), Path("p.jpg")], local=False) == ([Path("clip.mp4")], [Path("p.jpg")])
    assert split_inputs([Path("clip.mp4"), Path("s.mp3")], local=False) == ([Path("s.mp3")], [Path("clip.mp4")])
    with pytest.raises(errors.UsageError, match="name an audio file"):
        split_inputs([Path("p.jpg")], local=False)


@pytest.mark.parametrize(("n", "said"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                         (13, "13th"), (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th")])
def test_ordinals(n: int, said: str) -> None:
    assert ordinal(n) == said


def test_a_clip_as_the_sound_is_never_its_own_output(folder: Path) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-f", "lavfi", "-i",
                    "color=s=64x64:d=1", "-shortest", str(folder / "clip.mp4")], check=True)
    chosen = plan([Path("clip.mp4"), Path("cover.png")])
    assert chosen.audio == [Path("clip.mp4")] and chosen.targets == [[folder / "clip-video.mp4"]]
