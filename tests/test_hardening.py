"""Nothing one request, one crash or one bad file can break: each case here once broke the server or the CLI."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN, User, admin, arm, eventually, new_user, request_count, serving
from nemo_local.draft import DraftInvalid, validate
from nemo_local.media import procs
from nemo_local.media.synth import demo_track, write_wav
from nemo_local.service import uploads
from nemo_skill import errors
from test_backend_api import RENDER, draft_of, ready_session, start_render, upload, wait_render

ROOT = Path(__file__).resolve().parents[1]
JSON_ROUTES = ["/api/tasks/me/with-session/nemo_agent", "/run_sse", RENDER]


def ffmpeg_under(folder: Path) -> list[int]:
    """Pids of live processes whose command line names a path under the folder (the renders' ffmpegs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if str(folder).encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def analysed_within(folder: Path, seconds: float) -> bool:
    """Whether the background analysis of an upload (started at upload) has cached its result under `folder`."""
    deadline = time.monotonic() + seconds
    while not list(folder.rglob(".*.analysis-v*.npz")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(list(folder.rglob(".*.analysis-v*.npz")))


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    track = demo_track(seconds=40, bpm=120, rate=22050)
    return write_wav(tmp_path_factory.mktemp("long") / "long.wav", track.samples, track.rate)


class TestDraftSchema:
    @pytest.mark.parametrize(("patch", "field"), [
        ({"t": [{"tt": 1, "sg": [{"src": "a", "v": 1e7}]}]}, "draft.t[0].sg[0].v"),
        ({"d": "abc"}, "draft.d"), ({"d": [1]}, "draft.d"), ({"d": float("inf")}, "draft.d"),
        ({"d": -5}, "draft.d"), ({"m": {"width": 1e9}}, "draft.m.width"), ({"m": {"drops": "yes"}}, "draft.m.drops"),
        ({"t": [{"tt": 1, "sg": [{"text": "x" * 501}]}]}, "longer than 500"),
        ({"t": [{"tt": 0, "sg": [{}] * 2001}]}, "more than 2000 segments"),
        ({"t": "tracks"}, "draft.t must be a list"),
    ])
    def test_every_number_and_string_is_bounded(self, patch: dict[str, Any], field: str) -> None:
        with pytest.raises(DraftInvalid, match=field.replace("[", r"\[").replace("]", r"\]")):
            validate({"d": 1000, "t": [], "m": {}, **patch})

    def test_directors_drafts_pass(self, user: User, wav: Path) -> None:
        draft = draft_of(user, ready_session(user, wav))
        assert validate(draft) is draft

    @pytest.mark.parametrize("d", ["NaN", "Infinity", "-Infinity", '"abc"', "[1]", "1e400"])
    def test_hostile_duration_is_a_400_not_a_500(self, user: User, wav: Path, d: str) -> None:
        session = ready_session(user, wav)
        draft = json.dumps({**draft_of(user, session), "d": "__D__"}).replace('"__D__"', d)
        body = f'{{"id": "r_{abs(hash(d))}", "sessionId": "{session}", "draft": {draft}}}'
        resp = user.post(RENDER, content=body, headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and resp.json()["error"]

    def test_a_huge_volume_never_reaches_the_encoder(self, user: User, wav: Path) -> None:
        session = ready_session(user, wav)
        draft = draft_of(user, session)
        draft["t"][1]["sg"][0]["v"] = 1e7
        resp = user.post(RENDER, json={"id": "loud", "sessionId": session, "draft": draft})
        assert resp.status_code == 400 and "v must be between 0 and 2" in resp.json()["error"]

    def test_fuzzed_drafts_get_a_4xx_or_a_video_never_a_500_or_a_stuck_queue(
            self, start_server: Any, tmp_path: Path, wav: Path) -> None:
        server = start_server(tmp_path / "fuzz", max_queued_renders_per_user=100)
        user = new_user(server.url, "fuzzer")
        session = ready_session(user, wav)
        good = draft_of(user, session)
        rng = random.Random(7)
        hostile: list[Any] = [None, True, -1, 0, 1e308, "", "x" * 300, [], {}, [[[[]]]], {"a": {"b": {}}}, "NaN"]

        def mutate(value: Any, depth: int = 0) -> Any:
            if depth > 3 or rng.random() < 0.3:
                return rng.choice(hostile)
            if isinstance(value, dict):
                out = dict(value)
                key = rng.choice([*out, "extra"]) if out else "extra"
                out[key] = mutate(out.get(key), depth + 1)
                return out
            if isinstance(value, list):
                return [mutate(v, depth + 1) if rng.random() < 0.5 else v for v in value] or [rng.choice(hostile)]
            return rng.choice(hostile)

        started, statuses = [], []
        for i in range(50):
            resp = user.post(RENDER, json={"id": f"fuzz_{i}", "sessionId": session, "draft": mutate(good)})
            statuses.append(resp.status_code)
            assert resp.status_code < 500, resp.text
            if resp.status_code == 200:
                started.append(f"fuzz_{i}")
        assert 400 in statuses
        for render_id in started:   # the queue drains: every accepted render ends
            assert wait_render(user, render_id, timeout=60)["status"] in ("completed", "failed")
        assert start_render(user, session, "after_fuzz").status_code == 200
        assert wait_render(user, "after_fuzz")["status"] == "completed"


class TestRendersCannotHoldTheQueue:
    def test_a_render_over_its_budget_is_stopped_and_its_ffmpeg_killed(
            self, start_server: Any, tmp_path: Path, long_wav: Path) -> None:
        data = tmp_path / "budget"
        server = start_server(data, render_budget_base_s=0.0, render_budget_factor=0.0)
        user = new_user(server.url, "slow")
        session = ready_session(user, long_wav, "bars")
        assert analysed_within(data, 30)   # the upload's background analysis (its ffmpeg not this render's) is done
        assert start_render(user, session, "r_budget").status_code == 200
        result = wait_render(user, "r_budget", timeout=30)
        assert result["status"] == "failed" and "budget" in result["error"]
        assert ffmpeg_under(data) == []
        assert not list((data / "renders").glob("*.mp4"))

    def test_cancel_kills_the_running_render(self, start_server: Any, tmp_path: Path, long_wav: Path) -> None:
        data = tmp_path / "cancel"
        server = start_server(data, render_max_side=640)
        user = new_user(server.url, "cancel")
        session = ready_session(user, long_wav, "bars")
        assert start_render(user, session, "r_cancel").status_code == 200
        eventually(lambda: user.get(f"{RENDER}/r_cancel").json()["data"]["progress"] >= 15, 20)
        assert ffmpeg_under(data)
        user.post(f"{RENDER}/r_cancel/cancel")
        assert wait_render(user, "r_cancel", timeout=10)["status"] == "cancelled"
        eventually(lambda: ffmpeg_under(data) == [], 5)

    def test_a_slow_render_does_not_stall_other_users(self, start_server: Any, tmp_path: Path, wav: Path) -> None:
        server = start_server(tmp_path / "two", render_workers=2)
        first, second = new_user(server.url, "first"), new_user(server.url, "second")
        arm(server.url, route="render_start", delay=30)
        assert start_render(first, ready_session(first, wav), "r_slow").status_code == 200
        assert start_render(second, ready_session(second, wav), "r_fast").status_code == 200
        assert wait_render(second, "r_fast", timeout=30)["status"] == "completed"
        assert first.get(f"{RENDER}/r_slow").json()["data"]["status"] == "pending"

    def test_queued_renders_per_user_are_limited(self, start_server: Any, tmp_path: Path, wav: Path) -> None:
        server = start_server(tmp_path / "limit", max_queued_renders_per_user=2)
        user = new_user(server.url, "busy")
        session = ready_session(user, wav)
        arm(server.url, route="render_start", delay=30, times=2)
        assert start_render(user, session, "q1").status_code == 200
        assert start_render(user, session, "q2").status_code == 200
        third = start_render(user, session, "q3")
        assert third.status_code == 429 and "already queued" in third.json()["error"]

    def test_process_groups_die_whole(self) -> None:
        group = procs.Group()
        with procs.tracked(group):
            proc = procs.popen(["sh", "-c", "sleep 300 & sleep 300"])
        eventually(lambda: len(live_in_group(proc.pid)) >= 2, 5)    # both sleeps (and the shell, unless it exec'd)
        group.kill()
        proc.wait(timeout=5)
        eventually(lambda: live_in_group(proc.pid) == [], 5)


def live_in_group(pgid: int) -> list[int]:
    """Pids of live (not zombie) processes in a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def test_shutdown_mid_render_is_quick_leaves_no_ffmpeg_and_renders_again_later(tmp_path: Path,
                                                                                long_wav: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "HOME": str(tmp_path)}
    cmd = [sys.executable, str(ROOT / "scripts" / "nemo.py"), "serve", "--port", str(port), "--data-dir", str(data)]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        serving(base)
        user = new_user(base, "shutdown")
        session = ready_session(user, long_wav, "bars")
        assert start_render(user, session, "r_stop").status_code == 200
        eventually(lambda: user.get(f"{RENDER}/r_stop").json()["data"]["progress"] >= 15, 30)
        assert ffmpeg_under(data)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        assert time.monotonic() - started < 10
        eventually(lambda: ffmpeg_under(data) == [], 5)
    finally:
        if proc.poll() is None:
            proc.kill()
    import sqlite3
    with sqlite3.connect(data / "backend.sqlite3") as db:
        assert db.execute("SELECT status FROM renders WHERE render_id='r_stop'").fetchone()[0] == "processing"


class TestRequestLimits:
    @pytest.mark.parametrize("route", JSON_ROUTES)
    def test_deeply_nested_json_is_a_400(self, user: User, route: str) -> None:
        body = "[" * 100_000 + "]" * 100_000
        resp = user.post(route, content=f'{{"a": {body}}}', headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and ("not valid JSON" in resp.text or "nested deeper" in resp.text)

    @pytest.mark.parametrize("route", JSON_ROUTES)
    def test_json_bodies_are_limited(self, user: User, route: str) -> None:
        resp = user.post(route, json={"task_name": "x" * (2 << 20)})
        assert resp.status_code == 413 and "larger than" in resp.text

    def test_text_fields_are_limited(self, user: User) -> None:
        resp = user.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "x" * 5000})
        assert resp.status_code == 400 and "task_name is longer than 200" in resp.text
        session = user.new_session()
        resp = user.post("/run_sse", json={"session_id": session,
                                           "new_message": {"role": "user", "parts": [{"text": "y" * 20_000}]}})
        assert resp.status_code == 400 and "longer than 10000" in resp.text

    def test_a_5000_character_boundary_is_a_4xx(self, user: User) -> None:
        boundary = "b" * 5000
        body = f"--{boundary}\r\nContent-Disposition: form-data; name=files; filename=a.wav\r\n\r\nx\r\n--{boundary}--"
        resp = user.post(f"/api/upload-video/nemo_agent/me/{user.new_session()}", content=body,
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert resp.status_code == 400 and "boundary" in resp.json()["message"]

    def test_request_counts_keep_one_entry_per_route(self, server: Any, user: User) -> None:
        for i in range(30):
            httpx.get(f"{server.url}/media/files/key{i}/file{i}.wav")
        counts = httpx.get(f"{server.url}/_local/admin/stats", headers=ADMIN).json()["requests"]
        assert counts["GET /media/files/{key}/{name}"] == 30
        assert not any("key1" in name for name in counts)

    def test_a_trickled_request_head_is_cut_off(self, start_server: Any, tmp_path: Path) -> None:
        server = start_server(tmp_path / "slow", header_timeout_s=0.5)
        host, port = server.url.rsplit("/", 1)[-1].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert sock.recv(100) == b""           # closed by the server
            assert time.monotonic() - started < 3

    def test_a_stalled_body_gets_408(self, start_server: Any, tmp_path: Path) -> None:
        server = start_server(tmp_path / "stall", body_timeout_s=0.5)
        token = new_user(server.url, "stall").token.encode()
        host, port = server.url.rsplit("/", 1)[-1].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"POST /api/tasks/me/with-session/nemo_agent HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                         + token + b"\r\nContent-Length: 100\r\n\r\n{")
            assert b" 408 " in sock.recv(200).split(b"\r\n", 1)[0]


class TestServerExposure:
    def test_admin_routes_need_json_a_loopback_host_and_the_secret(self, server: Any) -> None:
        url = f"{server.url}/_local/faults"
        fault = '{"route": "credits", "code": 2001}'
        assert httpx.post(url, content=fault, headers={**ADMIN, "Content-Type": "text/plain"}).status_code == 415
        assert httpx.post(url, content=fault, headers={"Content-Type": "application/json"}).status_code == 403
        evil = httpx.post(url, content=fault, headers={**ADMIN, "Content-Type": "application/json",
                                                       "Host": "evil.example"})
        assert evil.status_code == 403
        assert httpx.get(url, headers=ADMIN).json() == {"faults": []}

    def test_serve_writes_the_admin_secret_privately_and_never_prints_it(self, tmp_path: Path) -> None:
        from nemo_local.service.config import ServerConfig
        from nemo_local.service.server import write_admin_secret
        config = ServerConfig(data_dir=tmp_path, enable_faults=True)
        config.prepare()
        path = write_admin_secret(config)
        assert path.read_text().strip() == config.admin_secret and path.stat().st_mode & 0o777 == 0o600

    def test_a_server_key_guards_every_api_route(self, start_server: Any, tmp_path: Path) -> None:
        server = start_server(tmp_path / "keyed", server_key="k" * 24)
        plain = httpx.post(f"{server.url}/api/auth/anonymous-token", headers={"X-Client-Id": "a"})
        assert plain.status_code == 401 and "X-Server-Key" in plain.text
        keyed = httpx.post(f"{server.url}/api/auth/anonymous-token",
                           headers={"X-Client-Id": "a", "X-Server-Key": "k" * 24})
        assert keyed.status_code == 200
        assert httpx.get(f"{server.url}/healthz").status_code == 200

    def test_the_client_sends_the_server_key(self, cli: Any, start_server: Any, tmp_path: Path,
                                             monkeypatch: Any) -> None:
        server = start_server(tmp_path / "keyed2", server_key="s" * 24)
        monkeypatch.setenv("NEMO_API_URL", server.url)
        assert cli("credits").code == 3
        monkeypatch.setenv("NEMO_SERVER_KEY", "s" * 24)
        assert cli("credits").code == 0

    def test_serving_beyond_loopback_needs_a_key(self, cli: Any, monkeypatch: Any) -> None:
        monkeypatch.delenv("NEMO_SERVER_KEY", raising=False)
        result = cli("serve", "--host", "0.0.0.0", "--port", "0")
        assert result.code == 2 and "NEMO_SERVER_KEY" in result.err

    @pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "2002:7f00:1::", "::ffff:127.0.0.1", "::127.0.0.1",
                                         "2001:0:4136:e378:8000:63bf:80ff:fffe", "64:ff9b::a9fe:a9fe",
                                         "127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fe80::1"])
    def test_addresses_that_reach_inside_are_refused(self, address: str) -> None:
        import ipaddress
        assert not uploads.is_public(ipaddress.ip_address(address))

    def test_public_addresses_pass(self) -> None:
        import ipaddress
        assert uploads.is_public(ipaddress.ip_address("93.184.216.34"))
        assert uploads.is_public(ipaddress.ip_address("2606:4700:4700::1111"))


def test_orphaned_uploads_and_half_written_caches_are_removed_at_start(start_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "orphans"
    (data / "files" / "f_1").mkdir(parents=True)
    orphan = data / "files" / ".incoming-dead.part"
    cache = data / "files" / "f_1" / ".tmp-analysis-x.part"
    keep = data / "files" / "f_1" / "song.wav"
    for path in (orphan, cache, keep):
        path.write_bytes(b"x")
    start_server(data)
    assert not orphan.exists() and not cache.exists() and keep.exists()


class TestCli:
    def test_a_json_answer_is_never_saved_as_the_mp4(self, cli: Any, wav: Path, tmp_path: Path) -> None:
        assert cli("upload", wav).code == 0 and cli("chat", "bars").code == 0
        arm(cli.server.url, route="download", code=1001, status=200)
        result = cli("export", "-o", "out.mp4")
        assert result.code == 3 and "MEDIA:" not in result.out
        assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob("*.part"))

    def test_a_failed_download_resumes(self, cli: Any, wav: Path, tmp_path: Path) -> None:
        assert cli("upload", wav).code == 0 and cli("chat", "bars").code == 0
        arm(cli.server.url, route="download", status=503)
        failed = cli("export", "-o", "out.mp4")
        assert failed.code == 8 and "export --resume" in failed.err
        resumed = cli("export", "--resume")
        assert resumed.code == 0, resumed.err
        assert (tmp_path / "out.mp4").read_bytes()[4:8] == b"ftyp" and not list(tmp_path.glob("*.part"))
        assert cli("export", "--resume").code == 2   # nothing left to resume

    def test_a_broken_download_continues_with_a_range_request(self, cli: Any, wav: Path, tmp_path: Path) -> None:
        assert cli("upload", wav).code == 0 and cli("chat", "bars").code == 0
        assert cli("export", "-o", "whole.mp4").code == 0
        whole = (tmp_path / "whole.mp4").read_bytes()
        from nemo_skill import store
        entries = store.Store(tmp_path / "config").renders(cli.server.url)
        entry = entries[-1]
        store.Store(tmp_path / "config").save_render(cli.server.url, {**entry, "downloaded": False,
                                                                      "path": str(tmp_path / "again.mp4")})
        (tmp_path / "again.mp4.part").write_bytes(whole[: len(whole) // 2])
        resumed = cli("export", "--resume")
        assert resumed.code == 0, resumed.err
        assert (tmp_path / "again.mp4").read_bytes() == whole

    def test_a_spurious_1001_keeps_the_token(self, cli: Any, tmp_path: Path) -> None:
        assert cli("credits").code == 0
        tokens = (tmp_path / "config" / "tokens.json").read_text()
        arm(cli.server.url, route="credits", code=1001)
        arm(cli.server.url, route="token", status=429, retry_after=86400)
        result = cli("credits")
        assert result.code == 0, result.err
        assert (tmp_path / "config" / "tokens.json").read_text() == tokens
        assert cli("credits").code == 0

    def test_a_400_outside_the_token_route_is_a_usage_error(self, cli: Any) -> None:
        assert cli("credits").code == 0
        arm(cli.server.url, route="credits", status=400)
        result = cli("credits")
        assert result.code == 2 and request_count(cli.server.url, "POST /api/auth/anonymous-token") == 1

    def test_an_empty_message_is_refused_before_sending(self, cli: Any) -> None:
        result = cli("chat", "  ")
        assert result.code == 2 and "empty" in result.err
        assert request_count(cli.server.url, "POST /run_sse") == 0

    def test_a_read_only_output_folder_is_refused_before_uploading(self, cli: Any, wav: Path) -> None:
        result = cli("make", wav, "-o", "/proc/out.mp4")
        assert result.code == 7 and "cannot write" in result.err
        assert request_count(cli.server.url, "POST /api/upload-video/nemo_agent/me/{session_id}") == 0

    def test_2001_from_the_token_route_links_the_plain_registration_page(self, cli: Any) -> None:
        arm(cli.server.url, route="token", code=2001)
        result = cli("credits")
        assert result.code == 5 and "https://nemovideo.com/register" in result.err and "bind=" not in result.err

    def test_control_characters_from_the_backend_never_reach_the_terminal(self, cli: Any, wav: Path) -> None:
        assert cli("upload", wav).code == 0
        result = cli("chat", 'title "\x1b]0;owned\x07Hi\x1b[2J\x9b31m" for 1 seconds')
        assert result.code == 0 and "Hi" in result.out
        for text in (result.out, result.err, cli("state").out):
            assert not any(c in text for c in "\x1b\x07\x9b")

    @pytest.mark.parametrize("args", [("demo-track", "x.wav", "--seconds", s) for s in ("0", "-1", "nan", "1e9")]
                             + [("serve", "--port", "99999")])
    def test_bad_numbers_are_usage_errors(self, cli: Any, args: tuple[str, ...]) -> None:
        result = cli(*args)
        assert result.code == 2 and "Traceback" not in result.err

    def test_bad_api_url_is_a_usage_error(self, cli: Any, monkeypatch: Any) -> None:
        monkeypatch.setenv("NEMO_API_URL", "http://[::1")
        result = cli("credits")
        assert result.code == 2 and "NEMO_API_URL" in result.err

    def test_config_dir_that_is_a_file(self, cli: Any, monkeypatch: Any, tmp_path: Path) -> None:
        afile = tmp_path / "afile"
        afile.write_text("x")
        monkeypatch.setenv("NEMO_CONFIG_DIR", str(afile))
        result = cli("credits")
        assert result.code == 7 and "NEMO_CONFIG_DIR" in result.err

    def test_a_300_character_file_name(self, cli: Any) -> None:
        result = cli("upload", "a" * 300 + ".mp3")
        assert result.code == 7 and result.err.count("\n") == 1 and len(result.err) < 300

    def test_an_unreadable_file(self, cli: Any, wav: Path, monkeypatch: Any) -> None:
        real_open = Path.open

        def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
            if self.name == wav.name:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)
        monkeypatch.setattr(Path, "open", refuse)
        result = cli("upload", wav)
        assert result.code == 7 and "cannot be read (Permission denied)" in result.err

    def test_a_dead_backend_mid_render_points_at_resume(self, cli: Any, wav: Path) -> None:
        assert cli("upload", wav).code == 0 and cli("chat", "bars").code == 0
        arm(cli.server.url, route="render_start", delay=30)
        arm(cli.server.url, route="render_status", status=503, times=-1)
        result = cli("export")
        assert result.code == 8 and "export --resume" in result.err


def test_a_path_the_system_refuses_is_one_line_and_exit_7(cli: Any) -> None:
    result = cli("demo-track", "/proc/no-such-dir/track.wav")     # the write itself fails with an OSError
    assert result.code == errors.InputError.exit_code == 7
    assert result.err.count("\n") == 1 and "/proc/no-such-dir/track.wav" in result.err
    assert "Traceback" not in result.err and "unexpected" not in result.err


def test_local_formats_upload_ogg_opus_and_aiff(start_server: Any, tmp_path: Path, wav: Path) -> None:
    from nemo_local.media.ffmpeg import ffmpeg_exe
    server = start_server(tmp_path / "local", cloud_emulation=False)
    user = new_user(server.url, "formats")
    session = user.new_session()
    for ext, codec in (("ogg", "libvorbis"), ("opus", "libopus"), ("aiff", "pcm_s16be")):
        out = tmp_path / f"t.{ext}"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-c:a", codec, str(out)], check=True)
        resp = upload(user, session, out)
        assert resp.json()["code"] == 0, resp.text
        assert resp.json()["data"]["files"][0]["duration"] == pytest.approx(2.5, abs=0.1)
    cloud = start_server(tmp_path / "cloud")
    cloud_user = new_user(cloud.url, "formats")
    assert upload(cloud_user, cloud_user.new_session(), tmp_path / "t.ogg").json()["code"] == 4001


def test_local_mode_is_free(start_server: Any, tmp_path: Path, wav: Path) -> None:
    server = start_server(tmp_path / "free", cloud_emulation=False)
    user = new_user(server.url, "free")
    admin(server.url, "credits", available=0)
    session = ready_session(user, wav)
    assert start_render(user, session, "free_1").status_code == 200
    assert wait_render(user, "free_1")["status"] == "completed"
    credits = user.get("/api/credits/balance/simple").json()["data"]
    assert credits["unlimited"] is True and credits["frozen"] == 0


def test_local_mode_takes_twenty_minutes_without_a_credit_error(start_server: Any, tmp_path: Path) -> None:
    """A 20-minute track (an 8 kbit/s MP3, small enough for the test's upload limit) is accepted and rendered
    by the local backend with no credit error; the render is cancelled once it runs (its length is not the
    point, the credits are)."""
    from nemo_local.media.ffmpeg import ffmpeg_exe
    track = tmp_path / "long.mp3"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=110:sample_rate=8000",
                    "-t", "1200", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "8k", str(track)], check=True)
    server = start_server(tmp_path / "twenty", cloud_emulation=False)
    user = new_user(server.url, "twenty")
    admin(server.url, "credits", available=0)
    session = ready_session(user, track, "bars")
    resp = start_render(user, session, "twenty_1")
    assert resp.status_code == 200, resp.text
    assert draft_of(user, session)["d"] == 1_200_000
    status = eventually(lambda: (lambda s: s if s["status"] != "pending" else None)(
        user.get(f"{RENDER}/twenty_1").json()["data"]), 30)
    assert status["status"] == "processing", status
    assert "credit" not in json.dumps(status).lower()
    assert user.post(f"{RENDER}/twenty_1/cancel").json()["data"]["status"] in ("cancelled", "processing")
    assert user.get("/api/credits/balance/simple").json()["data"]["unlimited"] is True
