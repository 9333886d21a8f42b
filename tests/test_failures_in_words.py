"""Every failure in words an agent can pass on: what was wrong with which file and what to do, checked at upload
where it can be, and never a log line of a tool underneath (ffmpeg's "[aost#0:1/aac @ 0x56...]")."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import User, request_count
from nemo_local.media.ffmpeg import ffmpeg_exe
from nemo_local.render import RenderError, RenderJob, get_renderer
from nemo_skill import filetypes

TOOL_LINE = re.compile(r"@ 0x[0-9a-f]+|\[\w+#\d|Terminating thread|return code -\d+|Traceback")
UPLOAD = "/api/upload-video/nemo_agent/me/{}"


def huge_png(path: Path, side: int) -> Path:
    """A real PNG of side x side grey pixels, a few hundred KB on disk (zeros compress), too large to decode."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    squeeze, row = zlib.compressobj(9), bytes(side + 1)
    body = b"".join(squeeze.compress(row) for _ in range(side)) + squeeze.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def nan_wav(path: Path, at: float = 1.5, seconds: float = 3.0, rate: int = 22050) -> Path:
    """A 32-bit float WAV whose samples turn to NaN at `at` seconds."""
    samples = (0.3 * np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 220 / rate)).astype("<f4")
    samples[int(at * rate):] = np.nan
    raw = path.with_suffix(".f32")
    raw.write_bytes(samples.tobytes())
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", str(raw),
                    "-c:a", "pcm_f32le", str(path)], check=True)
    raw.unlink()
    return path


def silent_clip(path: Path) -> Path:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=160x120:d=2", "-an",
                    "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def test_picture_sizes_are_read_from_the_header(tmp_path: Path, png: Path) -> None:
    assert filetypes.picture_size(huge_png(tmp_path / "big.png", 17000)) == (17000, 17000)
    assert filetypes.picture_size(png) == (320, 240)
    jpeg = tmp_path / "p.jpg"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=red:s=321x123", "-frames:v", "1",
                    str(jpeg)], check=True)
    assert filetypes.picture_size(jpeg) == (321, 123)


def test_a_picture_too_large_is_refused_in_megapixels_before_it_is_sent(cli: Any, wav: Path, tmp_path: Path) -> None:
    big = huge_png(tmp_path / "poster.png", 17000)
    result = cli("upload", wav, big)
    assert result.code == 7
    assert result.err.strip().splitlines()[-1] == ("error: poster.png is 17000x17000 (289 megapixels); pictures up "
                                                   "to 200 megapixels are taken: make it smaller")
    assert request_count(cli.server.url, "POST /api/upload-video/nemo_agent/me/{session_id}") == 0


def test_the_backend_refuses_it_too(user: User, tmp_path: Path) -> None:
    big = huge_png(tmp_path / "poster.png", 17000)
    session = user.new_session()
    with big.open("rb") as handle:
        answer = user.post(UPLOAD.format(session), files=[("files", ("poster.png", handle, "image/png"))])
    assert answer.status_code == 400 and answer.json()["code"] == 4001
    assert "289 megapixels" in answer.json()["message"]


def test_audio_whose_samples_are_not_numbers_is_refused_at_upload(cli: Any, tmp_path: Path) -> None:
    result = cli("upload", nan_wav(tmp_path / "take.wav", at=1.5))
    assert result.code == 7
    line = result.err.strip().splitlines()[-1]
    assert re.search(r"take\.wav: its samples are not numbers from 0:01\.\d on \(NaN or infinity\): export it "
                     r"again", line), line
    assert not TOOL_LINE.search(result.err)


def test_the_encoder_says_the_same_in_words_when_such_audio_reaches_it(tmp_path: Path) -> None:
    audio = nan_wav(tmp_path / "take.wav")
    draft = {"d": 3000, "m": {"width": 320, "height": 180},
             "t": [{"tt": 0, "sg": [{"kind": "visualizer", "s": 0, "d": 3000}]}, {"tt": 1, "sg": [{"src": "a"}]}]}
    with pytest.raises(RenderError) as caught:
        get_renderer().render(RenderJob(draft=draft, sources={"a": audio}, output=tmp_path / "o.mp4"))
    assert "samples are not numbers" in str(caught.value) and not TOOL_LINE.search(str(caught.value))


def test_an_unreadable_picture_at_render_is_said_in_words(tmp_path: Path, wav: Path, png: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(png.read_bytes()[:200])                  # a PNG cut short
    draft = {"d": 2000, "m": {"width": 320, "height": 180},
             "t": [{"tt": 0, "sg": [{"kind": "image", "src": "p", "s": 0, "d": 2000}]},
                   {"tt": 1, "sg": [{"src": "a"}]}]}
    with pytest.raises(RenderError) as caught:
        get_renderer().render(RenderJob(draft=draft, sources={"a": wav, "p": broken}, output=tmp_path / "o.mp4"))
    assert str(caught.value).startswith("cannot read the picture broken.png: ")
    assert not TOOL_LINE.search(str(caught.value))


def test_a_video_without_sound_as_the_audio_says_so(cli: Any, tmp_path: Path) -> None:
    clip = silent_clip(tmp_path / "clip.mp4")
    result = cli("make", clip, "--json")
    assert result.code == 7 and "clip.mp4 has no sound track" in result.err
    assert json.loads(result.out)["exit_code"] == 7
    assert request_count(cli.server.url, "POST /api/render/proxy/lambda") == 0


def test_the_agent_says_so_too(cli: Any, tmp_path: Path) -> None:
    clip = silent_clip(tmp_path / "clip.mp4")
    assert cli("upload", clip).code == 0
    reply = cli("chat", "make a video")
    assert "clip.mp4 has no sound track" in reply.out and "timeline is empty" not in reply.out


def test_a_damaged_upload_says_what_to_do(cli: Any, wav: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "song.wav"
    shutil.copy(wav, damaged)
    with damaged.open("r+b") as handle:          # a WAV header, then noise where the format should be
        handle.seek(12)
        handle.write(bytes(range(256)) * 4)
        handle.truncate(1100)
    result = cli("upload", damaged)
    assert result.code == 7 and not TOOL_LINE.search(result.err)
    assert "cannot be decoded" in result.err and "damaged" in result.err
