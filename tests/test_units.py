"""Pure functions: routing, headers, timeline summary, GUI translation, backoff, error mapping, file sniffing."""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path

import httpx
import pytest

from nemo_skill import errors, gui, skill
from nemo_skill.backoff import RetryPolicy, backoff_delay, parse_retry_after, rate_limit_wait, retry_wait
from nemo_skill.chat import parse_event
from nemo_skill.download import safe_filename
from nemo_skill.export import read_status
from nemo_skill.filetypes import content_matches, sniff
from nemo_skill.headers import attribution, detect_platform
from nemo_skill.routing import route
from nemo_skill.skill import SkillMeta, split_frontmatter, version_of
from nemo_skill.store import Store, write_private
from nemo_skill.timeline import summarize

INTENTS = skill.config()["intents"]


class TestRouting:
    @pytest.mark.parametrize(("text", "action"), [
        ("export", "export"), ("Please EXPORT it now", "export"), ("导出视频", "export"),
        ("can I download this?", "export"), ("Send me the video when ready", "export"), ("send it", "export"),
        ("ok, send it over", "export"), ("give me the video", "export"), ("下载视频", "export"), ("下载", "export"),
        ("发给我", "export"), ("做好了发我", "export"), ("把视频导出", "export"),
        ("how many credits do I have", "credits"), ("查一下积分", "credits"), ("what's my balance", "credits"),
        ("余额", "credits"), ("还有多少余额", "credits"), ("check my credit balance", "credits"),
        ("status?", "state"), ("当前状态", "state"), ("show tracks please", "state"), ("看看时间线", "state"),
        ("upload this", "upload"), ("帮我上传", "upload"),
        ("preview", "preview"), ("show me first", "preview"), ("先看看效果", "preview"), ("预览一下", "preview"),
        ("make it neon with beat drops highlighted", "chat"), ("add BGM", "chat"), ("", "chat"),
        ("balance the bass", "chat"), ("balance the levels of the music", "chat"), ("做成竖屏", "chat"),
        ("the exporter crashed", "chat"), ("downloads folder", "chat"),
    ])
    def test_keyword_table(self, text: str, action: str) -> None:
        assert route(text, INTENTS, exists=lambda p: False).action == action

    def test_first_row_wins(self) -> None:
        assert route("upload it and then export", INTENTS, exists=lambda p: False).action == "export"

    def test_an_existing_file_means_upload(self, tmp_path: Path) -> None:
        song = tmp_path / "my song.mp3"
        song.write_bytes(b"ID3")
        found = route(f'here is "{song}"', INTENTS)
        assert found.action == "upload" and found.files == [str(song)] and not found.more
        assert route("here is /no/such/file.mp3", INTENTS).action == "chat"

    def test_a_named_file_and_more_words_is_an_upload_then_the_words(self, tmp_path: Path) -> None:
        song = tmp_path / "x.wav"
        song.write_bytes(b"RIFF")
        styled = route(f"turn {song} into neon bars", INTENTS)
        assert (styled.action, styled.files, styled.more) == ("upload", [str(song)], True)
        exported = route(f"export {song} as a video", INTENTS)
        assert (exported.action, exported.files) == ("export", [str(song)])

    @pytest.mark.parametrize(("text", "place", "size"), [
        ("send me the video for discord", "discord", None), ("export it for TikTok", "tiktok", None),
        ("download it, under 8 MB please", None, "8 MB"), ("send it to me on WhatsApp under 5MB", "whatsapp", "5MB"),
        ("export", None, None)])
    def test_where_it_goes_and_its_size_are_kept_from_the_words(self, text: str, place: str | None,
                                                                size: str | None) -> None:
        found = route(text, INTENTS, exists=lambda p: False)
        assert (found.action, found.place, found.max_size, found.more) == ("export", place, size, False)


class TestHeaders:
    @pytest.mark.parametrize(("path", "platform"), [
        ("/home/a/.clawhub/skills/music-to-video-ai", "clawhub"),
        ("/home/a/project/.cursor/skills/music-to-video-ai", "cursor"),
        ("/home/a/.openclaw/workspace/skills/music-to-video-ai", "unknown"),
    ])
    def test_platform_from_install_path(self, path: str, platform: str) -> None:
        assert detect_platform(Path(path)) == platform

    def test_clawhub_origin_marker(self, tmp_path: Path) -> None:
        folder = tmp_path / "skills" / "video-a2e"
        (folder / ".clawhub").mkdir(parents=True)
        assert detect_platform(folder) == "unknown"
        (folder / ".clawhub" / "origin.json").write_text("{}")
        assert detect_platform(folder) == "clawhub"

    def test_headers_come_from_frontmatter(self) -> None:
        meta = skill.meta()
        headers = attribution(meta)
        assert headers["X-Skill-Source"] == "music-to-video-ai"
        assert headers["X-Skill-Version"] == meta.version != "unknown"
        assert attribution(SkillMeta("video-a2e", "2.0", Path("/x/.cursor/skills/video-a2e")))["X-Skill-Platform"] \
            == "cursor"

    def test_version_prefers_metadata_then_top_level(self) -> None:
        assert version_of({"metadata": {"version": "1.2"}, "version": "9"}) == "1.2"
        assert version_of({"version": 3}) == "3"
        assert version_of({}) == "unknown"
        front, body = split_frontmatter("---\nname: x\n---\n\n# Body\n")
        assert front == {"name": "x"} and body == "# Body\n"


class TestTimeline:
    def test_seed_example(self) -> None:
        draft = {"t": [
            {"tt": 0, "sg": [{"name": "city timelapse", "s": 0, "d": 10000}]},
            {"tt": 1, "sg": [{"name": "Lo-fi", "s": 0, "d": 10000, "v": 0.35}]},
            {"tt": 7, "sg": [{"text": "Urban Dreams", "s": 0, "d": 3000}]},
        ]}
        assert summarize(draft) == ('Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi '
                                    '(0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)')

    def test_tolerates_unknown_and_missing_fields(self) -> None:
        tracks = [{"tt": 9, "sg": [{"weird": True}]}, {"sg": None}, {"tt": 1, "sg": [
            {"st": 1500, "e": 4000, "volume": 80}]}]
        draft = {"t": [*tracks[:2], "junk", tracks[2]]}     # "junk" is no track: three tracks, numbered 1 to 3
        parts = ["Track: clip", "Track: (empty)", "BGM: clip (1.5-4s, 80%)"]
        assert summarize(draft) == f"Timeline ({len(tracks)} tracks): " + " ".join(
            f"{n}. {part}" for n, part in enumerate(parts, 1))
        assert summarize(None).startswith("Timeline (0 tracks)")

    def test_long_tracks_are_cut(self) -> None:
        draft = {"t": [{"tt": 0, "sg": [{"name": f"c{i}", "s": i * 1000, "d": 1000} for i in range(9)]}]}
        assert summarize(draft).endswith("+4 more")


class TestGuiTranslation:
    rules = gui.compile_rules(skill.config()["gui_translations"])
    said = {rule.instead for rule in rules} | {rule.instead_zh for rule in rules}

    @pytest.mark.parametrize(("text", "action", "gone"), [
        ("Click the Export button to download.", "export", "Export button"),
        ("点击导出按钮下载视频", "export", "导出按钮"),
        ("请点击右上角的导出", "export", "右上角"),
        ("Click the Apply button.", "chat", "Apply button"),
        ("Open the Effects panel to adjust.", "state", "Effects panel"),
        ("Drag and drop your clip here.", "chat", "Drag and drop"),
        ("Drag the clip onto the timeline", "chat", "onto the timeline"),
        ("You can preview in timeline now.", "state", "preview in timeline"),
        ("打开设置", "state", "打开"),
        ("拖拽文件到这里", "chat", "拖拽"),
    ])
    def test_rewrites_editor_language(self, text: str, action: str, gone: str) -> None:
        out, actions = gui.translate(text, self.rules)
        assert gone not in out and actions[0] == action
        assert out in self.said or all(s.strip() in self.said for s in gui.sentences(out))

    def test_a_chinese_sentence_is_answered_in_chinese(self) -> None:
        assert gui.translate("请点击右上角的导出", self.rules)[0] == next(
            rule.instead_zh for rule in self.rules if rule.action == "export")

    def test_plain_text_is_untouched(self) -> None:
        assert gui.translate("Added a neon title.", self.rules) == ("Added a neon title.", [])
        text = "Added a neon title. It runs 12.5 s at 1920x1080.\n好了。还要别的吗？"
        assert gui.translate(text, self.rules) == (text, [])

    def test_sentences_are_replaced_whole_never_spliced(self) -> None:
        """Property: every sentence of a translated reply is either one of the original's sentences, unchanged,
        or one of the skill's own sentences; never a piece of one joined to the other."""
        plain = ["Added a neon title.", "It runs 12.5 s at 1920x1080.", "Say export when ready!", "好了。",
                 "还要别的吗？", "The drop lands at 0:42.", "Use 9:16 for TikTok."]
        editor = ["Click the Export button to download it.", "Drag the clip onto the timeline.",
                  "Open the Effects panel to change the look.", "You can preview in timeline now.",
                  "Press the Apply button.", "请点击右上角的导出。", "拖拽文件到这里。", "打开设置面板。",
                  "Drop it here, then click the Share button.", "点击导出按钮下载视频！"]
        rng = random.Random(7)
        for _ in range(300):
            parts = rng.sample(plain + editor, rng.randint(1, 5))
            original = " ".join(parts)
            out, actions = gui.translate(original, self.rules)
            kept = {s.strip() for s in gui.sentences(original)}
            for sentence in gui.sentences(out):
                assert sentence.strip() in kept | self.said | {""}, (original, out)
            assert bool(actions) == any(p in editor for p in parts)


class TestBackoff:
    def test_grows_exponentially_with_cap_and_jitter(self) -> None:
        assert [backoff_delay(n, 0.5, 8, rand=lambda: 1.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
        assert backoff_delay(3, 0.5, 8, rand=lambda: 0.0) == 2.0

    def test_retry_after_seconds_and_dates(self) -> None:
        assert parse_retry_after("12", now=0) == 12
        assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480) == pytest.approx(30)
        assert parse_retry_after("soon", now=0) is None and parse_retry_after(None, now=0) is None

    def test_rate_limit_wait(self) -> None:
        assert rate_limit_wait(None, 30, 120) == 30
        assert rate_limit_wait(5, 30, 120) == 5
        assert rate_limit_wait(7 * 86400, 30, 120) is None

    policy = RetryPolicy(network_attempts=3, backoff_base=0.5, backoff_max=8, rate_limit_wait=30, longest_wait=120)

    def wait(self, error: Exception, method: str = "GET", attempt: int = 0, rate_waited: bool = False) -> float | None:
        return retry_wait(error, idempotent=method == "GET", attempt=attempt, rate_waited=rate_waited,
                          policy=self.policy, rand=lambda: 1.0)

    def test_connection_errors_and_5xx_retry_idempotent_requests_with_backoff(self) -> None:
        lost, failing = httpx.ConnectError("refused"), errors.ServerError("boom", status=503)
        for error in (lost, failing):
            waits = [self.wait(error, attempt=n) for n in range(self.policy.network_attempts)]
            assert waits == [0.5, 1.0, None]          # three tries in all: two waits, then final
            assert self.wait(error, method="POST") is None    # a POST may have taken effect: never sent twice

    def test_429_waits_once_as_asked(self) -> None:
        assert self.wait(errors.RateLimited("slow down", status=429, retry_after=7), method="POST") == 7
        assert self.wait(errors.RateLimited("slow down", status=429)) == self.policy.rate_limit_wait
        assert self.wait(errors.RateLimited("again", status=429), rate_waited=True) is None
        assert self.wait(errors.RateLimited("a week", status=429, retry_after=7 * 86400)) is None

    @pytest.mark.parametrize("error", [errors.AuthError("refused", status=401), errors.NoCredits("none", code=2001),
                                       errors.BadRequest("bad", status=400), errors.PlanRequired("plan", status=402)])
    def test_everything_else_is_final(self, error: Exception) -> None:
        assert self.wait(error) is None


class TestErrors:
    @pytest.mark.parametrize(("status", "body", "cls", "exit_code"), [
        (200, {"code": 1001, "message": "bad token"}, errors.AuthError, 3),
        (401, {"detail": "Unauthorized"}, errors.AuthError, 3),
        (200, {"code": 1002, "msg": "gone"}, errors.SessionNotFound, 4),
        (404, {"detail": "Session not found"}, errors.SessionNotFound, 4),
        (200, {"success": False, "code": 2001, "error": "no credits"}, errors.NoCredits, 5),
        (400, {"code": 4001}, errors.UnsupportedFile, 7),
        (413, {"code": "4002"}, errors.FileTooLarge, 7),
        (400, {"detail": "X-Client-Id missing"}, errors.BadRequest, 2),
        (402, None, errors.PlanRequired, 6),
        (429, {}, errors.RateLimited, 8),
        (502, "<html>", errors.ServerError, 8),
        (418, {"code": 77}, errors.APIError, 8),
    ])
    def test_mapping(self, status: int, body: object, cls: type, exit_code: int) -> None:
        error = errors.error_from(status, body, "req_1")
        assert type(error) is cls and error.exit_code == exit_code and "req_1" in str(error)

    def test_messages_read_as_sentences(self) -> None:
        assert str(errors.InputError("out.mp4 exists", hint="Pass --force.")) == "out.mp4 exists. Pass --force."
        assert str(errors.InputError("Too big.", hint="Trim it.")) == "Too big. Trim it."
        assert str(errors.UsageError("no file")) == "no file"

    def test_every_exit_code_is_in_the_table(self) -> None:
        classes = [errors.UsageError, errors.InputError, errors.DependencyError, errors.NetworkError,
                   errors.RenderFailed, errors.AuthError, errors.SessionNotFound, errors.NoCredits,
                   errors.PlanRequired, errors.UnsupportedFile, errors.RateLimited, errors.ServerError]
        assert {c.exit_code for c in classes} <= set(errors.EXIT_CODES)


class TestSniffing:
    @pytest.mark.parametrize(("ext", "head", "ok"), [
        ("mp3", b"ID3\x04\x00" + b"\x00" * 20, True), ("mp3", b"\xff\xfb\x90\x00" + b"\x00" * 20, True),
        ("mp3", b"this is just text, not audio", False), ("wav", b"RIFF\x00\x00\x00\x00WAVEfmt ", True),
        ("wav", b"RIFF\x00\x00\x00\x00AVI LIST", False), ("m4a", b"\x00\x00\x00\x20ftypM4A ", True),
        ("aac", b"\xff\xf1\x50\x80" + b"\x00" * 10, True), ("flac", b"fLaC\x00\x00\x00\x22", True),
        ("png", b"\x89PNG\r\n\x1a\n\x00", True), ("jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", True),
        ("mkv", b"\x1a\x45\xdf\xa3\x01", True), ("gif", b"GIF89a\x01\x00", True),
        ("webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", True), ("mp4", b"", False),
    ])
    def test_content_must_match_the_extension(self, ext: str, head: bytes, ok: bool) -> None:
        assert content_matches(ext, head) is ok

    def test_sniff_unknown(self) -> None:
        assert sniff(b"%PDF-1.7 blah") is None


class TestStore:
    def test_private_atomic_files(self, tmp_path: Path) -> None:
        target = tmp_path / "cfg" / "tokens.json"
        write_private(target, "{}")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
        assert [p.name for p in target.parent.iterdir()] == ["tokens.json"]

    def test_tokens_and_sessions_are_kept_per_api(self, tmp_path: Path) -> None:
        store = Store(tmp_path)
        store.save_token("local", "t1", "anon_1", None)
        store.save_session("local", "123", "anon_1")
        assert store.token("https://cloud") is None and store.token("local")["token"] == "t1"  # type: ignore[index]
        store.save_token("https://cloud", "t2", "anon_2", 0)   # already expired
        assert store.token("https://cloud") is None
        assert store.session("local")["session_id"] == "123"  # type: ignore[index]
        assert store.client_id() == store.client_id() != store.client_id(renew=True)
        assert os.access(tmp_path / "client_id", os.R_OK)


class TestStreamAndStatusParsing:
    @pytest.mark.parametrize(("line", "kind"), [
        ("", "heartbeat"), ('{"type": "heartbeat"}', "heartbeat"), ("{not json", "skip"), ("[1,2]", "skip"),
        ('{"type": "mystery"}', "skip"), ('{"error": "boom"}', "error"),
        ('{"author": "system", "content": {"parts": [{"text": "Error: quota"}]}}', "error"),
        ('{"content": {"parts": [{"text": "hi"}]}}', "text"),
        ('{"content": {"parts": [{"functionCall": {"name": "x"}}]}}', "tool"),
        ('{"content": {"parts": [{"functionResponse": {"name": "x"}}]}}', "tool"),
    ])
    def test_event_kinds(self, line: str, kind: str) -> None:
        assert parse_event(line).kind == kind

    @pytest.mark.parametrize("body", [
        {"success": True, "data": {"status": "completed", "outputUrl": "https://cdn/x.mp4"}},
        {"status": "completed", "outputUrl": "https://cdn/x.mp4"},
        {"data": {"status": "completed", "output": {"url": "https://cdn/x.mp4"}}},
        {"status": "completed", "output": {"url": "https://cdn/x.mp4"}},
    ])
    def test_all_documented_status_shapes(self, body: dict[str, object]) -> None:
        status = read_status(body)
        assert (status.status, status.url) == ("completed", "https://cdn/x.mp4")

    @pytest.mark.parametrize(("name", "safe"), [
        ("../../etc/passwd", "passwd.mp4"), ("render_1.mp4", "render_1.mp4"), ("a%2F..%2Fb.mp4", "b.mp4"),
        ("", "video.mp4"), ("my video;rm -rf.mp4", "my video_rm -rf.mp4"),
    ])
    def test_server_names_are_sanitised(self, name: str, safe: str) -> None:
        assert safe_filename(name) == safe
