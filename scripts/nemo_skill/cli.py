"""The command line: parse arguments, call the library, print data on stdout and diagnostics on stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from nemo_skill import errors, gui, hosts, local, routing, skill, timeline
from nemo_skill import export as exporting
from nemo_skill.api import Api, Settings
from nemo_skill.chat import run_turn
from nemo_skill.destinations import DESTINATIONS, output_options
from nemo_skill.making import ALL_SIZES, ASPECT_NAMES, make_targets
from nemo_skill.store import Store
from nemo_skill.text import json_safe, printable
from nemo_skill.upload import check_files, ordinal, split_inputs, upload_files, upload_urls

SLEEP: Callable[[float], None] = time.sleep   # tests replace this to skip real waits
API_URL_ENV = "NEMO_API_URL"

EXAMPLES = """\
examples:
  nemo.py --local make song.mp3 -o song.mp4          # offline: audio in, MP4 out
  nemo.py make talk.wav --image cover.jpg --prompt 'waveform, title "Episode 12" for 4 seconds'
  nemo.py route "send me the video"                   # -> export
  nemo.py do "make it vertical for TikTok"            # route the words and run the action
  nemo.py upload song.mp3 cover.png && nemo.py chat "bars style, neon, beat drops highlighted"
  nemo.py --local preview                             # 10 s of the look, in seconds, before the full render
  nemo.py state --json ; nemo.py credits ; nemo.py export -o final.mp4 --for discord
"""


def _exit_table() -> str:
    rows = [f"  {code:<4} {name:<12} {meaning}" for code, (name, meaning) in errors.EXIT_CODES.items()]
    return "exit codes:\n" + "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object on stdout")
    common.add_argument("--local", action="store_true", default=argparse.SUPPRESS,
                        help="use the local backend on this machine (offline, no credits)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for unexpected errors")
    parser = argparse.ArgumentParser(
        prog="nemo.py", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Turn audio into video: NemoVideo cloud, or the local renderer with --local.",
        epilog=EXAMPLES + "\n" + _exit_table())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                              epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)

    add("route", "print which action the words ask for", 'nemo.py route "导出视频" --json').add_argument("text")
    add("do", "route the words and run that action", 'nemo.py do "show tracks"').add_argument("text")
    add("chat", "send one message to the video agent", 'nemo.py chat "add a title \\"Urban Dreams\\""') \
        .add_argument("text")
    p = add("upload", "upload audio, video or image files (or URLs)", "nemo.py upload song.mp3 cover.jpg")
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("--url", action="append", default=[], help="an http(s) URL to fetch (repeatable)")
    add("state", "show the timeline of the current session", "nemo.py state --json")
    add("credits", "show the credit balance", "nemo.py credits")
    p = add("export", "render the timeline to MP4 and download it", "nemo.py export -o video.mp4 --for discord")
    p.add_argument("-o", "--output", type=Path, help="file or folder for the MP4 (default: current folder)")
    sharing(p)
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--resume", action="store_true", help="pick up the last unfinished render")
    p.add_argument("--cancel", action="store_true", help="cancel the last unfinished render")
    p = add("preview", "render 10 s of the look (the drop, or the loudest part), small and fast; local only",
            "nemo.py --local preview -o look.mp4")
    p.add_argument("-o", "--output", type=Path, help="file or folder for the clip (default: preview-<id>.mp4)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p = add("make", "one go: new session, upload, describe, export, download (one video per audio file; "
                    "photos and clips after the audio are cut to the music)",
            "nemo.py --local make song.mp3 photo1.jpg photo2.jpg clip.mp4 --prompt 'cut on the beat, bars over them'"
            "\n  nemo.py --local make a.mp3 b.mp3 c.mp3 --image cover.jpg -o videos/")
    p.add_argument("inputs", nargs="+", type=Path, metavar="FILE",
                   help="audio file(s), then images and video clips in the order they should show; locally also "
                        "an .srt, .vtt, .lrc or .txt with the words for the captions")
    p.add_argument("--image", type=Path, help="a background image (the same as naming it after the audio)")
    p.add_argument("--aspect", choices=["16:9", "9:16", "1:1", "all"],
                   help="frame size; 'all' renders all three, each laid out for its frame (NAME-9x16.mp4, ...)")
    p.add_argument("--prompt", help="what the video should look like (default: the skill's example prompt)")
    p.add_argument("-o", "--output", type=Path)
    sharing(p)
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    add("session", "print the session id, or start a new session", "nemo.py session --new") \
        .add_argument("--new", action="store_true", help="start a new session")
    p = add("serve", "run the local backend as an HTTP server", "nemo.py serve --port 8765")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=port_number, default=8765)
    p.add_argument("--data-dir", type=Path, help="where records and files live")
    p.add_argument("--enable-faults", action="store_true", help="allow fault injection (see README)")
    p.add_argument("--heartbeat", type=float, default=10.0, help="seconds between SSE heartbeats")
    p.add_argument("--max-upload-mb", type=int, default=None,
                   help="largest upload (default: what the disk can spare; 200 with --cloud-emulation)")
    p.add_argument("--cloud-emulation", action="store_true",
                   help="behave like the cloud: credits per render, 200 MB uploads, the cloud's formats (tests)")
    p.add_argument("--x264-preset", default="ultrafast", choices=["ultrafast", "superfast", "veryfast", "faster",
                                                                  "fast", "medium"],
                   help="encoder speed against file size (default ultrafast; see BENCHMARKS.md)")
    p = add("build-variant", "write an installable skill folder for a variant",
            "nemo.py build-variant video-a2e --out dist")
    p.add_argument("variant", nargs="?", help="variant name (see skill.yaml); omit with --all")
    p.add_argument("--all", action="store_true", help="build every variant")
    p.add_argument("--out", type=Path, default=Path("dist"))
    p.add_argument("--force", action="store_true")
    p = add("demo-track", "write a synthetic music track (drums, bass, a drop) to try the skill",
            "nemo.py demo-track demo.wav --seconds 20")
    p.add_argument("output", type=Path)
    p.add_argument("--seconds", type=seconds_value, default=20.0, help="length, 1-3600 (default 20)")
    p.add_argument("--force", action="store_true")
    return parser


def sharing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--for", dest="place", metavar="NAME",
                        help="where it goes: " + ", ".join(DESTINATIONS) + " (sets frame, audio and a size cap)")
    parser.add_argument("--max-size", metavar="SIZE", help="a size the file never exceeds, e.g. 25MB")


def sharing_options(args: argparse.Namespace) -> tuple[dict[str, int], str]:
    try:
        return output_options(getattr(args, "place", None), getattr(args, "max_size", None))
    except ValueError as exc:
        raise errors.UsageError(str(exc)) from None


class Out:
    """Prints results: text lines, or one JSON object at the end with --json."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.data: dict[str, Any] = {}

    def line(self, text: str) -> None:
        if not self.as_json:
            print(printable(text), flush=True)

    def put(self, **values: Any) -> None:
        self.data.update(values)

    def finish(self) -> None:
        if self.as_json:
            print(json_safe(json.dumps(self.data, ensure_ascii=False, default=str)))


def notice(text: str) -> None:
    print(printable(text), file=sys.stderr, flush=True)


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def seconds_value(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 1 <= seconds <= 3600:   # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 3600 seconds")
    return seconds


def api_base(value: str) -> str:
    """A backend URL from NEMO_API_URL or skill.yaml, checked: one clear error instead of a traceback later."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise errors.UsageError(f"{API_URL_ENV}={value[:100]!r} is not an http(s) URL",
                                hint="Use e.g. http://127.0.0.1:8765, or local, or unset it for the cloud.")
    return value.rstrip("/")


@contextmanager
def connect(args: argparse.Namespace) -> Iterator[Api]:
    cfg = skill.config()
    env_url = os.environ.get(API_URL_ENV, "").strip()
    server = None
    if getattr(args, "local", False) or env_url.lower() == "local":
        server = local.start(skill.SKILL_DIR)
        base, key, is_local = server.url, "local", True
    else:
        base = api_base(env_url or str(cfg["api"]["base_url"]))
        key, is_local = base, hosts.is_loopback(base)
    store = Store()
    if store.folder.exists() and not store.folder.is_dir():
        raise errors.InputError(f"the config folder {store.folder} is a file",
                                hint="Point NEMO_CONFIG_DIR at a folder (it is created if missing).")
    settings = Settings(base_url=base, api_key=key, config=cfg, local=is_local, sleep=SLEEP, notice=notice)
    api = Api(settings, skill.meta(), store, server_key=os.environ.get("NEMO_SERVER_KEY") if env_url else None)
    try:
        yield api
    except errors.NoCredits as exc:
        exc.user_id, exc.anonymous = api.user_id, api.anonymous  # type: ignore[attr-defined]
        raise
    finally:
        api.close()
        if server is not None:
            server.stop()


def cmd_route(args: argparse.Namespace, out: Out) -> None:
    found = routing.route(args.text, skill.config()["intents"])
    out.put(**found.as_dict())
    out.line(found.action)


def cmd_state(api: Api, out: Out) -> None:
    draft = api.with_session(api.draft)
    summary = timeline.summarize(draft)
    out.put(session_id=api.session_id(), summary=summary, draft=draft)
    out.line(summary)


def cmd_credits(api: Api, out: Out) -> None:
    data = api.call("GET", "credits")
    values = {k: data.get(k) for k in ("available", "frozen", "total")}
    if data.get("unlimited"):
        out.put(**values, unlimited=True)
        out.line("Credits: unlimited (the local backend charges nothing)")
        return
    out.put(**values)
    out.line(f"Credits: {values['available']} available, {values['frozen']} frozen, {values['total']} total")


def cmd_upload(api: Api, out: Out, files: list[Path], urls: list[str]) -> None:
    if not files and not urls:
        raise errors.UsageError("name at least one file or --url to upload")
    check_files(files, int(skill.config()["limits"]["max_upload_bytes"]), api.settings.local)  # before any request

    def send(session_id: str) -> list[dict[str, Any]]:
        done = upload_files(api, session_id, files) if files else []
        return done + (upload_urls(api, session_id, urls) if urls else [])
    uploaded = api.with_session(send)
    out.put(files=uploaded)
    for item in uploaded:
        length = f", {item['duration']:.1f} s" if isinstance(item.get("duration"), int | float) else ""
        out.line(f"Uploaded {item.get('filename')} ({item.get('file_type')}{length})")


def cmd_chat(api: Api, out: Out, text: str) -> None:
    if not text.strip():
        raise errors.UsageError("the message is empty", hint='Say what the video should look like, e.g. '
                                                             'nemo.py chat "bars, neon, beat drops highlighted".')
    if len(text) > 10_000:
        raise errors.UsageError("the message is longer than 10000 characters", hint="Shorten it.")
    rules = gui.compile_rules(skill.config()["gui_translations"])
    shown = not out.as_json
    result = api.with_session(lambda sid: run_turn(api, sid, text, rules, out.line if shown else lambda t: None))
    if result.dropped:
        notice("The connection dropped before the reply ended; the message was not sent again (that would "
               "charge twice). The timeline below shows what the agent did.")
    if result.timed_out:
        notice("No reply within 15 minutes; the turn may still be running. Check with: nemo.py state")
    if result.question:
        out.line(f"The agent asks: {result.question}")
    if result.summary:
        out.line(result.summary)
    out.put(**result.as_dict())


def cmd_export(api: Api, out: Out, args: argparse.Namespace) -> None:
    if args.cancel:
        entry = exporting.unfinished(api)
        if entry is None or entry.get("status") == "completed":
            raise errors.UsageError("there is no unfinished render to cancel")
        status = exporting.cancel(api, str(entry["id"]))
        out.put(render_id=entry["id"], status=status.status)
        out.line(f"Render {entry['id']}: {status.status}")
        return
    if args.output is not None:  # refuse an existing output before spending anything
        exporting.target_path(args.output, "video.mp4", args.force)
    options, _ = sharing_options(args)
    entry = exporting.unfinished(api) if args.resume else None
    if args.resume and entry is None:
        raise errors.UsageError("there is no unfinished render to resume")
    if entry is None:
        def begin(session_id: str) -> str:
            return exporting.start_render(api, session_id, exporting.latest_draft(api, session_id), options)
        render_id = api.with_session(begin)
    else:
        render_id = str(entry["id"])
        options = {"maxBytes": int(entry["max_bytes"])} if entry.get("max_bytes") else options
        if args.output is None and entry.get("path"):   # continue the same file (and its .part)
            args.output = Path(str(entry["path"]))
    notice(f"Rendering ({render_id})...")
    progress = Progress(render_id, out.as_json)
    try:
        done = exporting.wait_for(api, render_id, progress.update)
    except KeyboardInterrupt:
        notice(f"Stopped waiting; render {render_id} goes on. Resume with: nemo.py export --resume "
               "(or cancel it with: nemo.py export --cancel)")
        raise
    path = exporting.fetch(api, render_id, done, exporting.target_path(args.output, render_id, args.force),
                           options.get("maxBytes"))
    poster = exporting.download_poster(done.poster, path) if done.poster else None
    captions = exporting.download_captions(done.captions, path) if done.captions else {}
    size = path.stat().st_size
    out.put(render_id=render_id, path=str(path), media=f"MEDIA:{path}", bytes=size,
            poster=str(poster) if poster else None, captions=captions or None)
    cap = f", under the {options['maxBytes'] / 1e6:g} MB cap" if options.get("maxBytes") else ""
    notice(f"Saved {size / 1e6:.1f} MB{cap}" + (f"; poster {poster.name}" if poster else "")
           + (f"; captions {', '.join(Path(p).name for p in captions.values())}" if captions else ""))
    out.line(str(path))
    out.line(f"MEDIA:{path}")


def cmd_preview(api: Api, out: Out, args: argparse.Namespace) -> None:
    if not api.settings.local:
        raise errors.UsageError("preview is local-only: the NemoVideo cloud renders whole videos only",
                                hint="Run it with --local to see the look in seconds, or export the full video.")
    if args.output is not None:
        exporting.target_path(args.output, "preview.mp4", args.force)

    def begin(session_id: str) -> str:
        return exporting.start_render(api, session_id, exporting.latest_draft(api, session_id), {"preview": True})
    render_id = api.with_session(begin)
    notice(f"Rendering a 10-second preview ({render_id})...")
    done = exporting.wait_for(api, render_id, Progress(render_id, out.as_json).update)
    target = exporting.target_path(args.output or Path(f"preview-{render_id}.mp4"), render_id, args.force)
    path = exporting.fetch(api, render_id, done, target)
    out.put(render_id=render_id, path=str(path), media=f"MEDIA:{path}", preview=True)
    out.line(str(path))
    out.line(f"MEDIA:{path}")


class Progress:
    """Render progress on stderr: percent and an ETA every 10 %, or one JSON line per update with --json."""

    def __init__(self, render_id: str, as_json: bool) -> None:
        self.render_id, self.as_json = render_id, as_json
        self.started: float | None = None
        self.first = 0
        self.shown = -10

    def eta(self, percent: int) -> float | None:
        now = time.monotonic()
        if self.started is None:
            self.started, self.first = now, percent
            return None
        done = percent - self.first
        if done <= 0 or percent >= 100:
            return None
        return (now - self.started) / done * (100 - percent)

    def update(self, status: exporting.RenderStatus) -> None:
        if status.progress is None:
            return
        eta = self.eta(status.progress)
        if self.as_json and status.progress != self.shown:
            self.shown = status.progress
            print(json.dumps({"event": "progress", "render_id": self.render_id, "status": status.status,
                              "percent": status.progress, "eta_seconds": round(eta) if eta else None}),
                  file=sys.stderr, flush=True)
        elif not self.as_json and status.progress >= self.shown + 10:
            self.shown = status.progress
            left = f", about {eta:.0f} s left" if eta is not None else ""
            notice(f"  {status.status} {status.progress}%{left}")


def cmd_make(api: Api, out: Out, args: argparse.Namespace) -> None:
    audio, pictures = split_inputs(list(args.inputs) + ([args.image] if args.image else []), api.settings.local)
    check_files(audio + pictures, int(skill.config()["limits"]["max_upload_bytes"]), api.settings.local)
    prompt = args.prompt or skill.config()["variants"][skill.meta().name]["example_prompt"]
    every = args.aspect == "all" or (args.aspect is None and ALL_SIZES.search(prompt) is not None)
    if every and getattr(args, "place", None):
        raise errors.UsageError("--for sets the frame size; use it without --aspect all")
    sizes: list[str | None] = list(ASPECT_NAMES) if every else [args.aspect]
    targets = make_targets(audio, sizes, args.output, args.force)
    prompt += sharing_options(args)[1]   # "for discord": the reply then says which settings it used
    api.session_id(new=True)
    notice("Started a new editing session.")
    cmd_upload(api, Out(True), audio + pictures, [])
    notice(f"Uploaded {len(audio) + len(pictures)} file(s); asking for: {prompt}")
    videos = []
    for number, track in enumerate(audio, 1):
        for size, target in zip(sizes, targets[number - 1], strict=True):   # analysed and transcribed once
            words = [prompt] if number == 1 and size == sizes[0] else []
            words += [f"Use the {ordinal(number)} track."] if len(audio) > 1 and size == sizes[0] else []
            if words:
                cmd_chat(api, out, " ".join(words))
            if size:   # on its own, so the prompt's own frame words cannot outvote it
                cmd_chat(api, out, f"Make it {ASPECT_NAMES[size]}.")
            args.cancel = args.resume = False
            args.output = target
            cmd_export(api, out, args)
            videos.append({"audio": track.name, "aspect": size, **{
                k: out.data.get(k) for k in ("render_id", "path", "media", "bytes", "poster", "captions")}})
    if len(videos) > 1:
        out.put(videos=videos)


def cmd_local_only(args: argparse.Namespace, out: Out) -> None:
    with local.backend_errors(skill.SKILL_DIR, getattr(args, "port", None)):
        _local_only(args, out)


def _local_only(args: argparse.Namespace, out: Out) -> None:
    if args.command == "serve":
        from nemo_local.service.config import ServerConfig, default_data_dir
        from nemo_local.service.server import UnsafeBind, serve
        key = os.environ.get("NEMO_SERVER_KEY", "").strip() or None
        if key is not None and len(key) < 16:
            raise errors.UsageError("NEMO_SERVER_KEY is shorter than 16 characters",
                                    hint='Make one with: python3 -c "import secrets; print(secrets.token_urlsafe())"')
        config = ServerConfig(data_dir=args.data_dir or default_data_dir(), enable_faults=args.enable_faults,
                              heartbeat_seconds=args.heartbeat, cloud_emulation=args.cloud_emulation,
                              max_upload_bytes=args.max_upload_mb << 20 if args.max_upload_mb else None,
                              x264_preset=args.x264_preset, server_key=key)
        try:
            serve(config, args.host, args.port)
        except UnsafeBind as exc:
            raise errors.UsageError(str(exc), hint="Set NEMO_SERVER_KEY (16+ characters) to serve beyond loopback; "
                                                   "clients send it from the same variable.") from None
    elif args.command == "demo-track":
        from nemo_local.media.synth import write_demo_track
        if args.output.exists() and not args.force:
            raise errors.InputError(f"{args.output} exists", hint="Pass --force to replace it.")
        path = write_demo_track(args.output, args.seconds)
        out.put(path=str(path))
        out.line(str(path))


def cmd_build(args: argparse.Namespace, out: Out) -> None:
    from nemo_skill import variants
    names = list(skill.config()["variants"]) if args.all else [args.variant]
    if not names or names == [None]:
        raise errors.UsageError("name a variant or pass --all")
    built = [str(variants.build(name, args.out, force=args.force)) for name in names]
    out.put(built=built)
    for path in built:
        out.line(path)


def dispatch(args: argparse.Namespace, out: Out) -> None:
    command = args.command
    if command == "route":
        return cmd_route(args, out)
    if command in ("serve", "demo-track"):
        return cmd_local_only(args, out)
    if command == "build-variant":
        return cmd_build(args, out)
    files: list[Path] = []
    if command == "do":
        found = routing.route(args.text, skill.config()["intents"])
        out.put(route=found.action)
        command, files = found.action, [Path(f).expanduser() for f in found.files]
        if command == "upload" and not files:
            raise errors.UsageError("name the file to upload, e.g. nemo.py upload song.mp3")
        if command in ("export", "preview"):
            args.output, args.force, args.resume, args.cancel = None, False, False, False
            args.place = args.max_size = None
    with connect(args) as api:
        if command == "state":
            cmd_state(api, out)
        elif command == "credits":
            cmd_credits(api, out)
        elif command == "upload":
            cmd_upload(api, out, files or args.files, getattr(args, "url", []))
        elif command == "chat":
            cmd_chat(api, out, args.text)
        elif command == "export":
            cmd_export(api, out, args)
        elif command == "preview":
            cmd_preview(api, out, args)
        elif command == "make":
            cmd_make(api, out, args)
        elif command == "session":
            session_id = api.session_id(new=args.new)
            out.put(session_id=session_id)
            out.line(session_id)
    return None


def explain(exc: errors.NemoError, user_id: str | None, anonymous: bool) -> str:
    """The one line shown for an error, with the registration link when an anonymous user is out of credits."""
    if isinstance(exc, errors.NoCredits) and anonymous:
        register = str(skill.config()["api"]["register_url"])
        link = f"{register}?bind={user_id}" if user_id else register
        return f"Out of credits (code 2001). Register to get more: {link}"
    if isinstance(exc, errors.NoCredits):
        return "Out of credits (code 2001). Top up credits in your account."
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False) or os.environ.get("NEMO_DEBUG"))
    out = Out(bool(getattr(args, "json", False)))
    try:
        dispatch(args, out)
        out.finish()
        return 0
    except errors.NemoError as exc:
        if debug:
            raise
        message = printable(explain(exc, getattr(exc, "user_id", None), getattr(exc, "anonymous", True)))
        print(f"error: {message}", file=sys.stderr)
        out.put(error=message, exit_code=exc.exit_code)
        out.finish()
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:   # a file or folder the system refused: one line, the input exit code
        if debug:
            raise
        where = f": {str(exc.filename)[:120]}" if exc.filename else ""
        message = printable(f"{exc.strerror or type(exc).__name__}{where}")
        print(f"error: {message}. Check the path and its permissions.", file=sys.stderr)
        out.put(error=message, exit_code=errors.InputError.exit_code)
        out.finish()
        return errors.InputError.exit_code
    except Exception as exc:
        if debug:
            raise
        print(f"error: unexpected {type(exc).__name__}; rerun with --debug and report it", file=sys.stderr)
        return 1
