"""The local backend, spoken to with plain httpx over loopback: every endpoint and its rules."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from conftest import ADMIN, User, admin, arm, eventually, new_user
from nemo_local.media.ffmpeg import ffmpeg_exe, probe
from nemo_local.service.config import ServerConfig

UPLOAD = "/api/upload-video/nemo_agent/me/{}"
STATE = "/api/state/nemo_agent/me/{}/latest"
RENDER = "/api/render/proxy/lambda"
START_PROGRESS = 5    # a render start answers progress 5 (../shared/api-contract.md: the render proxy's answer)


def upload(user: User, session_id: str, *paths: Path) -> httpx.Response:
    handles = [p.open("rb") for p in paths]
    try:
        parts = [("files", (p.name, h)) for p, h in zip(paths, handles, strict=True)]
        return user.post(UPLOAD.format(session_id), files=parts)
    finally:
        for h in handles:
            h.close()


def chat(user: User, session_id: str, text: str) -> list[dict[str, Any]]:
    body = {"app_name": "nemo_agent", "user_id": "me", "session_id": session_id,
            "new_message": {"role": "user", "parts": [{"text": text}]}}
    with connect_sse(user.http, "POST", "/run_sse", json=body, headers=user.headers()) as source:
        return [json.loads(e.data) for e in source.iter_sse()]


def draft_of(user: User, session_id: str) -> dict[str, Any]:
    draft: dict[str, Any] = user.get(STATE.format(session_id)).json()["data"]["state"]["draft"]
    return draft


def start_render(user: User, session_id: str, render_id: str = "render_1", **headers: str) -> httpx.Response:
    body = {"id": render_id, "sessionId": session_id, "draft": draft_of(user, session_id),
            "output": {"format": "mp4", "quality": "high"}}
    return user.post(RENDER, json=body, headers=headers)


def wait_render(user: User, render_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = user.get(f"{RENDER}/{render_id}").json()["data"]
        if data["status"] in ("completed", "failed", "cancelled"):
            return data
        time.sleep(0.1)
    raise AssertionError("render did not finish")


def ready_session(user: User, wav: Path, prompt: str = 'waveform, title "Urban Dreams" for 1 seconds') -> str:
    session_id = user.new_session()
    assert upload(user, session_id, wav).json()["code"] == 0
    chat(user, session_id, prompt)
    return session_id


class TestToken:
    def test_needs_a_client_id(self, server: Any) -> None:
        resp = httpx.post(f"{server.url}/api/auth/anonymous-token")
        assert resp.status_code == 400
        assert "X-Client-Id" in resp.json()["message"]

    def test_gives_100_credits_for_7_days(self, server: Any) -> None:
        resp = httpx.post(f"{server.url}/api/auth/anonymous-token", headers={"X-Client-Id": "c1"})
        data = resp.json()["data"]
        assert resp.json()["code"] == 0
        assert data["token"].startswith("nmv_usr_") and data["user_id"].startswith("anon_")
        assert data["credits"] == 100
        expires = dt.datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
        assert abs((expires - dt.datetime.now(dt.UTC)).total_seconds() - 7 * 86400) < 60

    def test_second_token_for_the_same_client_is_rate_limited(self, server: Any) -> None:
        httpx.post(f"{server.url}/api/auth/anonymous-token", headers={"X-Client-Id": "c2"})
        again = httpx.post(f"{server.url}/api/auth/anonymous-token", headers={"X-Client-Id": "c2"})
        assert again.status_code == 429
        assert int(again.headers["retry-after"]) > 6 * 86400

    def test_expiry_is_configurable(self, start_server: Any, tmp_path: Path) -> None:
        short = start_server(tmp_path / "short", token_ttl_seconds=1)
        u = new_user(short.url, "c3")
        assert u.get("/api/credits/balance/simple").json()["code"] == 0
        resp = eventually(lambda: (lambda r: r if r.status_code != 200 else None)(
            u.get("/api/credits/balance/simple")), 5)
        assert resp.status_code == 401 and resp.json()["code"] == 1001


class TestAuthAndIsolation:
    def test_unknown_token_is_1001(self, server: Any) -> None:
        resp = httpx.get(f"{server.url}/api/credits/balance/simple", headers={"Authorization": "Bearer nope"})
        assert resp.json()["code"] == 1001

    def test_expired_token_is_1001(self, server: Any, user: User) -> None:
        admin(server.url, "expire-tokens", user_id=user.user_id)
        assert user.get("/api/credits/balance/simple").json()["code"] == 1001

    def test_other_users_session_answers_1002_and_never_their_data(self, server: Any, user: User,
                                                                    wav: Path) -> None:
        session_id = ready_session(user, wav)
        other = new_user(server.url, "client-b")
        state = other.get(STATE.format(session_id))
        assert state.json()["code"] == 1002 and state.json()["data"] is None
        assert upload(other, session_id, wav).json()["code"] == 1002
        render = other.post(RENDER, json={
            "id": "render_x", "sessionId": session_id, "draft": draft_of(user, session_id)})
        assert render.json()["code"] == 1002 and render.json()["success"] is False
        body = {"app_name": "nemo_agent", "user_id": "me", "session_id": session_id,
                "new_message": {"role": "user", "parts": [{"text": "hi"}]}}
        sse = other.post("/run_sse", json=body)
        assert sse.status_code == 404 and sse.json()["detail"] == "Session not found"

    def test_other_users_render_is_not_visible(self, server: Any, user: User, wav: Path) -> None:
        session_id = ready_session(user, wav)
        assert start_render(user, session_id, "render_private").json()["success"] is True
        other = new_user(server.url, "client-c")
        assert other.get(f"{RENDER}/render_private").status_code == 404


class TestSessionsAndState:
    def test_new_session_has_numeric_id_and_empty_draft(self, user: User) -> None:
        resp = user.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "project", "language": "en"})
        data = resp.json()["data"]
        assert data["session_id"].isdigit() and data["task_id"] and data["user_id"] == user.user_id
        state = user.get(STATE.format(data["session_id"])).json()["data"]["state"]
        assert set(state) >= {"draft", "video_infos", "generated_media"}
        assert state["draft"]["t"] == []

    def test_credits(self, user: User) -> None:
        data = user.get("/api/credits/balance/simple").json()["data"]
        assert (data["available"], data["frozen"], data["total"]) == (100, 0, 100)


class TestUpload:
    def test_wav_is_stored_and_probed(self, user: User, wav: Path) -> None:
        files = upload(user, user.new_session(), wav).json()["data"]["files"]
        assert files[0]["filename"] == "track.wav" and files[0]["file_type"] == "audio"
        assert files[0]["duration"] == pytest.approx(2.5, abs=0.05)
        assert httpx.get(files[0]["cdn_url"]).content == wav.read_bytes()

    def test_several_files_in_one_call(self, user: User, wav: Path, mp3: Path, png: Path) -> None:
        files = upload(user, user.new_session(), wav, mp3, png).json()["data"]["files"]
        assert [f["file_type"] for f in files] == ["audio", "audio", "image"]
        assert (files[2]["width"], files[2]["height"]) == (320, 240)

    @pytest.mark.parametrize(("ext", "codec"), [("flac", "flac"), ("aac", "aac"), ("m4a", "aac")])
    def test_other_audio_formats_are_accepted(self, user: User, wav: Path, tmp_path: Path, ext: str,
                                              codec: str) -> None:
        encoded = tmp_path / f"track.{ext}"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(wav), "-c:a", codec, str(encoded)], check=True)
        files = upload(user, user.new_session(), encoded).json()["data"]["files"]
        assert files[0]["file_type"] == "audio" and files[0]["duration"] == pytest.approx(2.5, abs=0.1)

    def test_text_named_mp3_is_rejected_by_content(self, user: User, tmp_path: Path) -> None:
        fake = tmp_path / "song.mp3"
        fake.write_text("this is not audio at all " * 20)
        resp = upload(user, user.new_session(), fake)
        assert resp.json()["code"] == 4001
        assert "not a real .mp3" in resp.json()["message"]

    def test_unknown_extension_is_rejected(self, user: User, tmp_path: Path) -> None:
        doc = tmp_path / "notes.txt"
        doc.write_text("hello")
        assert upload(user, user.new_session(), doc).json()["code"] == 4001

    def test_too_large_is_refused_while_streaming_and_leaves_nothing(self, server: Any, user: User,
                                                                     tmp_path: Path) -> None:
        big = tmp_path / "big.wav"
        with big.open("wb") as out:   # 5 MB against the test limit of 2 MB
            out.write(b"RIFF\x00\x00\x00\x00WAVEfmt ")
            out.write(b"\x00" * (5 * 1024 * 1024))
        resp = upload(user, user.new_session(), big)
        assert resp.json()["code"] == 4002
        files_dir = tmp_path / "backend" / "files"
        assert sum(p.stat().st_size for p in files_dir.rglob("*") if p.is_file()) == 0

    def test_url_upload_refuses_private_addresses_by_default(self, start_server: Any, tmp_path: Path,
                                                              wav: Path) -> None:
        strict = start_server(tmp_path / "strict", url_fetch_private=False)
        u = new_user(strict.url, "client-s")
        session_id = u.new_session()
        own = upload(u, session_id, wav).json()["data"]["files"][0]["cdn_url"]
        for url in (own, "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/a.mp3"):
            resp = u.post(UPLOAD.format(session_id), json={"urls": [url]})
            assert resp.json()["code"] == 4001 and "not a public address" in resp.json()["message"]

    def test_too_many_files_in_one_upload(self, user: User, wav: Path) -> None:
        resp = upload(user, user.new_session(), *([wav] * 21))
        assert resp.json()["code"] == 4001 and "at most 20 files" in resp.json()["message"]

    def test_url_upload_fetches_http_only(self, user: User, wav: Path) -> None:
        session_id = user.new_session()
        first = upload(user, session_id, wav).json()["data"]["files"][0]
        resp = user.post(UPLOAD.format(session_id), json={"urls": [first["cdn_url"]], "source_type": "url"})
        assert resp.json()["data"]["files"][0]["duration"] == pytest.approx(2.5, abs=0.05)
        bad = user.post(UPLOAD.format(session_id), json={"urls": ["file:///etc/passwd"]})
        assert bad.json()["code"] == 4001


class TestChat:
    def test_turn_streams_adk_events_and_builds_a_draft(self, user: User, wav: Path) -> None:
        session_id = user.new_session()
        upload(user, session_id, wav)
        events = chat(user, session_id, 'waveform video, title "Urban Dreams" for 2 seconds, 35% volume')
        events = [e for e in events if e != {"type": "heartbeat"}]     # sent while the music is analysed
        parts = [p for e in events for p in e["content"]["parts"]]
        assert any("functionCall" in p for p in parts) and any("functionResponse" in p for p in parts)
        assert "text" in events[-1]["content"]["parts"][0] and events[-1]["turnComplete"] is True
        assert all(set(e) >= {"id", "invocationId", "author", "timestamp", "actions"} for e in events)
        draft = draft_of(user, session_id)
        types = {t["tt"]: t for t in draft["t"]}
        assert set(types) == {0, 1, 7}
        assert types[1]["sg"][0]["v"] == pytest.approx(0.35)
        assert types[7]["sg"][0] == {"id": "t1", "text": "Urban Dreams", "s": 0, "d": 2000}
        assert draft["d"] == 2500

    def test_without_audio_the_agent_asks_for_it(self, user: User) -> None:
        events = chat(user, user.new_session(), "make a video")
        assert "Upload an audio file" in events[-1]["content"]["parts"][0]["text"]


class TestRender:
    def test_render_produces_h264_aac_mp4_matching_the_audio(self, user: User, wav: Path, tmp_path: Path) -> None:
        session_id = ready_session(user, wav)
        started = start_render(user, session_id, "render_1")
        seconds = probe(wav).duration or 0
        cost = math.ceil(seconds / ServerConfig().seconds_per_credit)     # a credit per started 10 s
        assert cost == 1 and started.json() == {"success": True, "data": {
            "id": "render_1", "status": "pending", "progress": START_PROGRESS, "cost": cost}}
        done = wait_render(user, "render_1")
        assert done["status"] == "completed" and done["progress"] == 100 and done["completedAt"]
        video = httpx.get(done["outputUrl"])
        assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
        path = tmp_path / "out.mp4"
        path.write_bytes(video.content)
        info = probe(path)
        assert info.video_codec == "h264" and info.audio_codec == "aac"
        assert info.duration == pytest.approx(2.5, abs=0.1)

    def test_credits_are_frozen_while_rendering_and_charged_when_done(self, server: Any, user: User,
                                                                      wav: Path) -> None:
        session_id = ready_session(user, wav)
        arm(server.url, route="render_start", delay=1.0)
        start_render(user, session_id)
        during = user.get("/api/credits/balance/simple").json()["data"]
        assert (during["available"], during["frozen"]) == (99, 1)
        wait_render(user, "render_1")
        after = user.get("/api/credits/balance/simple").json()["data"]
        assert (after["available"], after["frozen"], after["total"]) == (99, 0, 99)

    def test_no_credits_is_2001(self, server: Any, user: User, wav: Path) -> None:
        session_id = ready_session(user, wav)
        admin(server.url, "credits", user_id=user.user_id, available=0)
        resp = start_render(user, session_id)
        assert resp.json()["success"] is False and resp.json()["code"] == 2001

    def test_anonymous_render_without_attribution_is_402(self, user: User, wav: Path) -> None:
        session_id = ready_session(user, wav)
        body = {"id": "render_1", "sessionId": session_id, "draft": draft_of(user, session_id)}
        resp = user.http.post(RENDER, json=body, headers={"Authorization": f"Bearer {user.token}"})
        assert resp.status_code == 402 and resp.json()["success"] is False

    def test_ids_are_unique_and_empty_drafts_refused(self, user: User, wav: Path) -> None:
        session_id = ready_session(user, wav)
        assert start_render(user, session_id, "render_dup").json()["success"] is True
        assert start_render(user, session_id, "render_dup").status_code == 409
        empty = user.post(RENDER, json={"id": "render_e", "sessionId": session_id, "draft": {"t": []}})
        assert empty.status_code == 400

    def test_cancel_returns_the_credits(self, server: Any, user: User, wav: Path) -> None:
        session_id = ready_session(user, wav)
        arm(server.url, route="render_start", delay=5.0)
        start_render(user, session_id)
        cancelled = user.post(f"{RENDER}/render_1/cancel").json()["data"]
        assert cancelled["status"] == "cancelled"
        assert wait_render(user, "render_1")["status"] == "cancelled"
        assert user.get("/api/credits/balance/simple").json()["data"]["available"] == 100

    def test_injected_failure_reports_a_reason(self, server: Any, user: User, wav: Path) -> None:
        session_id = ready_session(user, wav)
        arm(server.url, route="render_start", fail="GPU node lost")
        start_render(user, session_id)
        done = wait_render(user, "render_1")
        assert done["status"] == "failed" and done["error"] == "GPU node lost"


class TestFaults:
    @pytest.mark.parametrize(("fault", "status", "code"), [
        ({"code": 1001}, 401, 1001), ({"code": 1002}, 404, 1002), ({"code": 2001}, 200, 2001),
        ({"code": 4001}, 400, 4001), ({"code": 4002}, 413, 4002), ({"status": 400}, 400, 400),
        ({"status": 402}, 402, 402), ({"status": 429, "retry_after": 3}, 429, 429), ({"status": 503}, 503, 503),
    ])
    def test_any_route_answers_any_documented_error(self, server: Any, user: User, fault: dict[str, Any],
                                                    status: int, code: int) -> None:
        arm(server.url, route="credits", **fault)
        resp = user.get("/api/credits/balance/simple")
        assert (resp.status_code, resp.json()["code"]) == (status, code)
        assert user.get("/api/credits/balance/simple").json()["code"] == 0   # once, then gone

    def test_render_routes_use_the_render_envelope(self, server: Any, user: User, wav: Path) -> None:
        session_id = ready_session(user, wav)
        arm(server.url, route="render_start", status=402)
        resp = start_render(user, session_id)
        assert resp.status_code == 402 and resp.json()["success"] is False

    def test_lost_session(self, server: Any, user: User, wav: Path) -> None:
        session_id = ready_session(user, wav)
        admin(server.url, "drop-sessions", session_id=session_id)
        assert user.get(STATE.format(session_id)).json()["code"] == 1002

    def test_sse_drop_cuts_the_stream_after_n_events(self, server: Any, user: User, wav: Path) -> None:
        session_id = user.new_session()
        upload(user, session_id, wav)
        arm(server.url, route="chat", sse="drop", after=1)
        with pytest.raises(httpx.RemoteProtocolError):
            chat(user, session_id, "bars")
        assert draft_of(user, session_id)["t"]   # the turn itself completed on the server

    def test_sse_heartbeats_only(self, server: Any, user: User) -> None:
        arm(server.url, route="chat", sse="heartbeats_only", seconds=0.3)
        events = chat(user, user.new_session(), "hello")
        assert len(events) >= 3 and all(e == {"type": "heartbeat"} for e in events)

    def test_sse_malformed_lines_come_first(self, server: Any, user: User, wav: Path) -> None:
        session_id = user.new_session()
        upload(user, session_id, wav)
        arm(server.url, route="chat", sse="malformed")
        body = {"app_name": "nemo_agent", "user_id": "me", "session_id": session_id,
                "new_message": {"role": "user", "parts": [{"text": "bars"}]}}
        raw = user.post("/run_sse", json=body).text
        assert raw.startswith("data: {not json") and "garbage line" in raw and '"turnComplete":true' in raw

    def test_sse_no_text_and_gui_phrasing(self, server: Any, user: User, wav: Path) -> None:
        session_id = user.new_session()
        upload(user, session_id, wav)
        arm(server.url, route="chat", sse="no_text")
        events = [e for e in chat(user, session_id, "bars") if e != {"type": "heartbeat"}]
        assert events and not any("text" in p for e in events for p in e["content"]["parts"])
        arm(server.url, route="chat", sse="gui")
        events = chat(user, session_id, "neon")
        assert "Click the Export button" in events[-1]["content"]["parts"][0]["text"]

    def test_faults_are_off_unless_enabled(self, start_server: Any, tmp_path: Path) -> None:
        plain = start_server(tmp_path / "plain", enable_faults=False)
        assert httpx.post(f"{plain.url}/_local/faults", json={"route": "credits", "code": 2001}).status_code == 404

    def test_bad_fault_is_explained(self, server: Any) -> None:
        resp = httpx.post(f"{server.url}/_local/faults", json={"route": "nowhere"}, headers=ADMIN)
        assert resp.status_code == 400 and "route must be one of" in resp.json()["message"]


def test_everything_survives_a_restart(start_server: Any, tmp_path: Path, wav: Path) -> None:
    data_dir = tmp_path / "persistent"
    first = start_server(data_dir)
    u = new_user(first.url, "client-r")
    session_id = ready_session(u, wav)
    start_render(u, session_id)
    output = wait_render(u, "render_1")["outputUrl"]
    first.stop()
    second = start_server(data_dir)
    u.http = httpx.Client(base_url=second.url, timeout=30)
    assert u.get("/api/credits/balance/simple").json()["data"]["available"] == 99
    assert [t["tt"] for t in draft_of(u, session_id)["t"]] == [0, 1, 7]
    again = u.get(f"{RENDER}/render_1").json()["data"]
    assert again["status"] == "completed"
    assert httpx.get(again["outputUrl"]).status_code == 200
    assert httpx.get(output.replace(first.url, second.url)).status_code == 200
    assert httpx.post(f"{second.url}/api/auth/anonymous-token", headers={"X-Client-Id": "client-r"}).status_code \
        == 429
