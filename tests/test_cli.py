"""The command line against the local backend over loopback: flows, every error row, SSE faults, secrets."""

from __future__ import annotations

import json
import math
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ADMIN, admin, arm, request_count
from nemo_local.media.ffmpeg import ffmpeg_exe, probe
from nemo_skill import errors, skill
from nemo_skill.upload import check_files


def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


def prepared(cli: Any, wav: Path, prompt: str = "bars, neon") -> None:
    assert cli("upload", wav).code == 0
    assert cli("chat", prompt).code == 0


class TestFlows:
    def test_make_turns_a_wav_into_an_mp4_offline(self, cli: Any, wav: Path, tmp_path: Path) -> None:
        result = cli("--local", "make", wav, "--prompt", 'waveform, title "Night Drive" for 1 seconds', "-o",
                     "clip.mp4")
        assert result.code == 0, result.err
        path = tmp_path / "clip.mp4"
        assert result.out.strip().splitlines()[-2:] == [str(path), f"MEDIA:{path}"]
        info = probe(path)
        assert info.video_codec == "h264" and info.audio_codec == "aac"
        assert info.duration == pytest.approx(2.5, abs=0.1)
        assert "Connecting" not in result.err and "local backend" in result.err
        assert not list(tmp_path.glob("*.part"))

    def test_upload_chat_state_credits_export_json(self, cli: Any, wav: Path, png: Path, tmp_path: Path) -> None:
        up = json.loads(cli("upload", wav, png, "--json").out)
        assert [f["file_type"] for f in up["files"]] == ["audio", "image"]
        reply = json.loads(cli("chat", 'circle, title "Hi" for 1 seconds', "--json").out)
        assert "Updated the video" in reply["reply"] and reply["tool_calls"] == 2 and reply["tool_results"] == 2
        state = json.loads(cli("state", "--json").out)
        assert state["summary"].startswith("Timeline (3 tracks): 1. Video: cover.png (0-2.5s) 2. BGM: track.wav")
        credits = cli("credits")
        assert credits.out.strip() == "Credits: 100 available, 0 frozen, 100 total"
        (tmp_path / "out").mkdir()
        exported = cli("export", "-o", tmp_path / "out", "--json")
        assert exported.code == 0, exported.err
        data = json.loads(exported.out)
        assert Path(data["path"]).parent == tmp_path / "out" and data["media"] == f"MEDIA:{data['path']}"
        assert json.loads(cli("credits", "--json").out)["available"] == 99

    def test_do_routes_and_runs(self, cli: Any, wav: Path) -> None:
        assert cli("do", f"upload {wav}").out.startswith("Uploaded track.wav")
        assert "Updated the video" in cli("do", "make it vertical for TikTok").out
        assert cli("do", "show tracks").out.startswith("Timeline (2 tracks)")
        assert cli("do", "余额多少").out.startswith("Credits:")

    def test_do_uploads_a_named_file_and_passes_on_the_rest_of_the_words(self, cli: Any, wav: Path,
                                                                         tmp_path: Path) -> None:
        shutil.copy(wav, tmp_path / "x.wav")
        result = cli("do", "turn x.wav into neon bars")
        assert result.code == 0, result.err
        assert result.out.startswith("Uploaded x.wav") and "style bars" in result.out and "#39ff14" in result.out
        draft = json.loads(cli("state", "--json").out)["draft"]
        assert draft["m"]["style"] == "bars" and draft["m"]["accent"] == "#39ff14"

    def test_do_export_with_a_named_file_makes_the_video_of_that_file(self, cli: Any, wav: Path,
                                                                      tmp_path: Path) -> None:
        shutil.copy(wav, tmp_path / "x.wav")
        result = cli("do", "export x.wav as a video", "--json")
        assert result.code == 0, result.err
        data = json.loads(result.out)
        assert data["route"] == "export" and Path(data["path"]).parent == tmp_path
        assert probe(Path(data["path"])).duration == pytest.approx(probe(wav).duration, abs=0.1)

    def test_do_keeps_the_destination_the_words_name(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        result = cli("do", "send me the video for discord")
        assert result.code == 0, result.err
        assert "under the 10 MB cap" in result.err and result.out.splitlines()[-1].startswith("MEDIA:")

    def test_do_preview_in_the_cloud_says_it_is_local_only(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        result = cli("do", "preview it first")
        assert result.code == 2 and "preview is local-only" in result.err and "--local" in result.err

    def test_route_prints_the_action(self, cli: Any) -> None:
        assert cli("route", "send me the video please").out.strip() == "export"
        assert json.loads(cli("route", "查看状态", "--json").out)["action"] == "state"

    def test_export_refuses_to_overwrite_before_spending(self, cli: Any, wav: Path, tmp_path: Path) -> None:
        prepared(cli, wav)
        existing = tmp_path / "keep.mp4"
        existing.write_bytes(b"precious")
        result = cli("export", "-o", existing)
        assert result.code == 7 and "--force" in result.err
        assert existing.read_bytes() == b"precious"
        assert request_count(cli.server.url, "POST /api/render/proxy/lambda") == 0

    def test_export_of_an_empty_timeline_says_what_to_do(self, cli: Any) -> None:
        result = cli("export")
        assert result.code == 7 and "nothing to export" in result.err

    def test_resume_and_cancel(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        arm(cli.server.url, route="render_start", delay=30)
        arm(cli.server.url, route="render_status", status=503, times=-1)
        assert cli("export").code == 8
        admin_clear(cli.server.url)
        cancelled = cli("export", "--cancel")
        assert cancelled.code == 0 and "cancelled" in cancelled.out
        assert cli("export", "--resume").code == 2


class TestCloudPathEndToEnd:
    """The client in cloud mode: the backend runs with --cloud-emulation and says so at /healthz, so the client
    follows the cloud's rules (its formats, 200 MB, credits, no preview) over loopback, as it would in the cloud."""

    def test_the_client_says_it_talks_to_the_cloud(self, cli: Any) -> None:
        result = cli("credits")
        assert result.code == 0 and "Connecting to NemoVideo (cloud)" in result.err and "local" not in result.err

    def test_the_quick_flow_charges_a_credit_per_started_ten_seconds(self, cli: Any, wav: Path) -> None:
        before = json.loads(cli("credits", "--json").out)["available"]
        made = cli("make", wav, "--prompt", "bars, neon", "--json")
        assert made.code == 0, made.err
        assert json.loads(made.out)["media"].startswith("MEDIA:")
        assert "Updated the video" in json.loads(made.out)["reply"] and "say export" not in made.out.lower()
        charged = math.ceil((probe(wav).duration or 0) / 10)
        assert json.loads(cli("credits", "--json").out)["available"] == before - charged

    def test_the_clouds_formats_and_size_are_checked_before_anything_is_sent(self, cli: Any, tmp_path: Path,
                                                                               wav: Path) -> None:
        ogg = tmp_path / "song.ogg"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(wav), "-c:a", "libvorbis", str(ogg)], check=True)
        refused = cli("upload", ogg)
        assert refused.code == 7 and "not accepted by the cloud (the local backend takes it: add --local)" in \
            refused.err
        huge = tmp_path / "huge.wav"
        with huge.open("wb") as handle:      # 201 MB on paper (a sparse file): the cloud's limit is 200 MB
            handle.write(wav.read_bytes()[:64])
            handle.truncate(201 * 1024 * 1024)
        too_big = cli("upload", huge)
        assert too_big.code == 7 and "the cloud's limit is 200 MB" in too_big.err
        assert request_count(cli.server.url, "POST /api/auth/anonymous-token") == 0
        assert request_count(cli.server.url, "POST /api/upload-video/nemo_agent/me/{session_id}") == 0

    def test_preview_is_refused_as_the_cloud_would(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        result = cli("preview")
        assert result.code == 2 and "preview is local-only" in result.err

    def test_402_from_the_render_route_is_about_the_plan_not_credits(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        arm(cli.server.url, route="render_start", status=402)
        result = cli("export")
        assert result.code == 6 and "Register or upgrade your plan" in result.err and "not about credits" in result.err


class TestMake:
    def test_several_audio_files_without_o_give_one_video_each_here(self, cli: Any, wav: Path,
                                                                    tmp_path: Path) -> None:
        for name in ("a.wav", "b.wav"):
            shutil.copy(wav, tmp_path / name)
        result = cli("make", "a.wav", "b.wav", "--json")
        assert result.code == 0, result.err
        videos = json.loads(result.out)["videos"]
        assert [Path(v["path"]) for v in videos] == [tmp_path / "a.mp4", tmp_path / "b.mp4"]
        assert [v["audio"] for v in videos] == ["a.wav", "b.wav"]
        for video in videos:
            assert probe(Path(video["path"])).duration == pytest.approx(probe(wav).duration, abs=0.1)

    def test_a_question_from_the_agent_stops_make_before_anything_is_rendered(self, cli: Any, wav: Path,
                                                                              tmp_path: Path) -> None:
        arm(cli.server.url, route="chat", sse="question")
        result = cli("make", wav, "-o", "clip.mp4", "--json")
        assert result.code == 11, result.err
        assert "the video agent asks: Which part of the track" in result.err and "nemo.py chat" in result.err
        assert json.loads(result.out)["question"].startswith("Which part of the track")
        assert request_count(cli.server.url, "POST /api/render/proxy/lambda") == 0
        assert not (tmp_path / "clip.mp4").exists()

    def test_image_must_be_a_picture(self, cli: Any, wav: Path) -> None:
        result = cli("make", wav, "--image", wav)
        assert result.code == 2 and "--image needs a picture" in result.err


def admin_clear(url: str) -> None:
    import httpx
    httpx.delete(f"{url}/_local/faults", headers=ADMIN)


class TestErrorTable:
    def test_1001_gets_a_new_token_once_and_retries(self, cli: Any, tmp_path: Path) -> None:
        assert cli("credits").code == 0
        first = json.loads((config_dir(tmp_path) / "tokens.json").read_text())
        admin(cli.server.url, "expire-tokens")
        result = cli("credits")
        assert result.code == 0 and "getting a new one" in result.err
        assert json.loads((config_dir(tmp_path) / "tokens.json").read_text()) != first

    def test_1001_with_nemo_token_says_the_token_is_invalid(self, cli: Any, monkeypatch: Any) -> None:
        monkeypatch.setenv("NEMO_TOKEN", "not-a-valid-token")
        result = cli("credits")
        assert result.code == 3 and "NEMO_TOKEN is invalid or expired" in result.err

    def test_1002_starts_a_new_session_and_says_so(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        admin(cli.server.url, "drop-sessions")
        result = cli("state")
        assert result.code == 0 and "session is gone" in result.err
        assert result.out.startswith("Timeline (0 tracks)")

    def test_2001_anonymous_gets_the_registration_link(self, cli: Any, wav: Path, tmp_path: Path) -> None:
        prepared(cli, wav)
        admin(cli.server.url, "credits", available=0)
        result = cli("export")
        user_id = json.loads((config_dir(tmp_path) / "tokens.json").read_text())[cli.server.url]["user_id"]
        assert result.code == 5
        assert f"https://nemovideo.com/register?bind={user_id}" in result.err

    def test_2001_registered_is_told_to_top_up(self, cli: Any, wav: Path, monkeypatch: Any) -> None:
        registered = admin(cli.server.url, "users", credits=0)
        monkeypatch.setenv("NEMO_TOKEN", registered["token"])
        prepared(cli, wav)
        result = cli("export")
        assert result.code == 5 and "Top up credits in your account" in result.err
        assert "register?bind" not in result.err

    @pytest.mark.parametrize("code", [4001, 4002])
    def test_4001_and_4002_from_the_backend(self, cli: Any, wav: Path, code: int) -> None:
        arm(cli.server.url, route="upload", code=code)
        result = cli("upload", wav)
        assert result.code == 7
        assert ("MP3, WAV" in result.err) if code == 4001 else ("compress or trim" in result.err)

    def test_files_are_checked_before_sending(self, cli: Any, tmp_path: Path, monkeypatch: Any) -> None:
        fake = tmp_path / "fake.mp3"
        fake.write_text("not audio")
        result = cli("upload", fake)
        assert result.code == 7 and "not a real .mp3" in result.err
        assert request_count(cli.server.url, "POST /api/auth/anonymous-token") == 0
        big = tmp_path / "big.wav"   # the cloud's limit is checked by the client; a local backend checks its own
        big.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * (3 << 20))
        result = cli("upload", big)
        assert result.code == 7 and "compress or trim" in result.err
        with pytest.raises(errors.InputError, match="cloud's limit is 0 MB"):
            check_files([big], 1000, local=False)
        assert check_files([big], 1000, local=True) == ["audio"]

    def test_http_400_makes_a_new_client_id(self, cli: Any, tmp_path: Path) -> None:
        arm(cli.server.url, route="token", status=400)
        assert cli("credits").code == 0
        assert request_count(cli.server.url, "POST /api/auth/anonymous-token") == 2

    def test_http_402_is_a_plan_problem_not_credits(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        arm(cli.server.url, route="render_start", status=402)
        result = cli("export")
        assert result.code == 6
        assert "Register or upgrade your plan to unlock export" in result.err and "Out of credits" not in result.err

    def test_http_429_waits_30_seconds_and_retries_once(self, cli: Any) -> None:
        arm(cli.server.url, route="credits", status=429)
        assert cli("credits").code == 0
        assert cli.sleeps == [30.0]
        arm(cli.server.url, route="credits", status=429, times=2)
        result = cli("credits")
        assert result.code == 8 and "429" in result.err

    def test_server_errors_on_reads_are_retried_with_backoff(self, cli: Any) -> None:
        arm(cli.server.url, route="credits", status=503, times=2)
        assert cli("credits").code == 0
        assert len(cli.sleeps) == 2 and all(0 < s <= 8 for s in cli.sleeps)

    def test_a_failed_render_start_is_retried_once_with_a_new_id(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        arm(cli.server.url, route="render_start", status=500)
        result = cli("export")
        assert result.code == 0 and "trying once more with a new id" in result.err
        assert request_count(cli.server.url, "POST /api/render/proxy/lambda") == 2

    def test_a_failed_render_reports_its_reason(self, cli: Any, wav: Path) -> None:
        prepared(cli, wav)
        arm(cli.server.url, route="render_start", fail="GPU node lost")
        result = cli("export")
        assert result.code == 9 and "GPU node lost" in result.err

    def test_unreachable_backend(self, cli: Any, monkeypatch: Any) -> None:
        monkeypatch.setenv("NEMO_API_URL", "http://127.0.0.1:9")
        result = cli("credits")
        assert result.code == 8 and "could not be reached" in result.err
        assert "Traceback" not in result.err


class TestChatStream:
    def test_dropped_stream_is_not_resent_and_the_state_is_read(self, cli: Any, wav: Path) -> None:
        cli("upload", wav)
        arm(cli.server.url, route="chat", sse="drop", after=1)
        result = cli("chat", "bars")
        assert result.code == 0 and "not sent again" in result.err
        assert result.out.startswith("Timeline (2 tracks)")
        assert request_count(cli.server.url, "POST /run_sse") == 1

    def test_heartbeats_only_prints_still_working(self, cli: Any, monkeypatch: Any) -> None:
        monkeypatch.setitem(skill.config()["timeouts"], "still_working_every", 0.1)
        arm(cli.server.url, route="chat", sse="heartbeats_only", seconds=0.5)
        result = cli("chat", "hello")
        assert result.code == 0 and "⏳ Still working..." in result.err
        assert "No visible change" in result.out

    def test_malformed_lines_are_skipped(self, cli: Any, wav: Path) -> None:
        cli("upload", wav)
        arm(cli.server.url, route="chat", sse="malformed")
        result = json.loads(cli("chat", "bars", "--json").out)
        assert "Updated the video" in result["reply"] and result["skipped"] >= 3

    def test_turn_without_text_is_summarised(self, cli: Any, wav: Path) -> None:
        cli("upload", wav)
        arm(cli.server.url, route="chat", sse="no_text")
        result = cli("chat", "bars")
        assert result.out.startswith("Timeline (2 tracks): 1. Video: bars visualizer")

    def test_gui_phrasing_is_translated(self, cli: Any, wav: Path) -> None:
        cli("upload", wav)
        arm(cli.server.url, route="chat", sse="gui")
        result = json.loads(cli("chat", "bars", "--json").out)
        assert "Export button" not in result["reply"] and "ask to export" in result["reply"]
        assert result["actions"][0] == "export"


class TestSecrets:
    def test_files_are_private(self, cli: Any, wav: Path, tmp_path: Path) -> None:
        prepared(cli, wav)
        folder = config_dir(tmp_path)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("client_id", "tokens.json", "sessions.json"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600

    def test_a_canary_token_never_appears_in_any_output(self, cli: Any, wav: Path, tmp_path: Path,
                                                        monkeypatch: Any) -> None:
        canary = admin(cli.server.url, "users", credits=100)["token"]
        monkeypatch.setenv("NEMO_TOKEN", canary)
        outputs = []
        for args in (("upload", wav), ("chat", "bars"), ("state", "--json"), ("credits", "--json"),
                     ("export", "-o", "a.mp4", "--json"), ("session",), ("route", "export")):
            result = cli(*args)
            outputs += [result.out, result.err]
        arm(cli.server.url, route="credits", code=1001)
        failed = cli("credits")
        outputs += [failed.out, failed.err]
        assert failed.code == 3
        assert all(canary not in text for text in outputs)
        assert not any(canary in p.read_text() for p in config_dir(tmp_path).glob("*") if p.is_file())
        monkeypatch.delenv("NEMO_TOKEN")
        anon = cli("credits")
        token_file = json.loads((config_dir(tmp_path) / "tokens.json").read_text())
        anonymous_tokens = [v["token"] for v in token_file.values()]
        assert anonymous_tokens and all(t not in anon.out + anon.err for t in anonymous_tokens)


def test_help_lists_examples_and_exit_codes(cli: Any) -> None:
    result = cli("--help")
    assert result.code == 0 and "examples:" in result.out and "130  interrupted" in result.out
    sub = cli("export", "--help")
    assert "example:" in sub.out and "--force" in sub.out


def test_usage_errors_exit_2(cli: Any) -> None:
    assert cli("upload").code == 2
    assert cli("frobnicate").code == 2


class TestLocalMode:
    def test_local_starts_its_own_backend_and_the_session_continues(self, cli: Any, wav: Path,
                                                                    monkeypatch: Any, tmp_path: Path) -> None:
        monkeypatch.delenv("NEMO_API_URL")
        first = cli("--local", "upload", wav)
        assert first.code == 0 and "local backend" in first.err and "Connecting to NemoVideo" not in first.err
        assert cli("--local", "chat", "circle").code == 0
        monkeypatch.setenv("NEMO_API_URL", "local")
        state = cli("state")
        assert state.out.startswith("Timeline (2 tracks): 1. Video: circle visualizer")
        assert (tmp_path / "local-data" / "backend.sqlite3").is_file()
        assert request_count(cli.server.url, "POST /api/auth/anonymous-token") == 0   # never the other server


def test_upload_progress_bar_on_a_terminal(capsys: Any) -> None:
    from nemo_skill.upload import Bar

    bar = Bar(1000, "Uploading", enabled=True)
    for _ in range(4):
        bar.add(250)
    err = capsys.readouterr().err
    assert err.startswith("\rUploading [") and err.endswith("] 100%\n") and " 50%" in err
    quiet = Bar(1000, "Uploading", enabled=False)
    quiet.add(1000)
    assert capsys.readouterr().err == ""
