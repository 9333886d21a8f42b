"""The command line: parse the arguments, call the library (`commands` holds one function per command), print
data on stdout and diagnostics on stderr, and turn every error into one line and an exit code."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from nemo_skill import commands, errors, skill
from nemo_skill.connect import connect
from nemo_skill.destinations import DESTINATIONS
from nemo_skill.output import Out
from nemo_skill.text import printable

EXAMPLES = """\
examples:
  nemo.py setup                                       # once: the skill's own environment, {baseDir}/.venv
  nemo.py --local make song.mp3 -o song.mp4          # offline: audio in, MP4 out
  nemo.py make talk.wav --image cover.jpg --prompt 'waveform, title "Episode 12" for 4 seconds'
  nemo.py route "send me the video"                   # -> export
  nemo.py do "make it vertical for TikTok"            # route the words and run the action
  nemo.py upload song.mp3 cover.png && nemo.py chat "bars style, neon, beat drops highlighted"
  nemo.py --local preview                             # 10 s of the look, in seconds, before the full render
  nemo.py state --json ; nemo.py credits ; nemo.py export -o final.mp4 --for discord
"""


def _exit_table() -> str:
    rows = [f"  {code:<4} {name:<12} {meaning}\n{'':20}next: {errors.NEXT[code]}"
            for code, (name, meaning) in errors.EXIT_CODES.items()]
    return "exit codes:\n" + "\n".join(rows)


def chunking(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=job_count, default=0, metavar="N",
                   help="local renders: draw long videos in chunks with N processes on this machine (default: one "
                        "pass; a chunk is --chunk-seconds long)")
    p.add_argument("--chunk-seconds", type=seconds_value, default=30.0, help=argparse.SUPPRESS)


def tls(p: argparse.ArgumentParser) -> None:
    for name, what in (("ca", "the CA certificate"), ("cert", "this machine's certificate"), ("key", "its key")):
        p.add_argument(f"--tls-{name}", type=Path, help=f"for a tls:// cluster: {what} (PEM)")


def job_count(value: str) -> int:
    return whole_number(value, 0, 64, "a number of processes")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object on stdout")
    common.add_argument("--local", action="store_true", default=argparse.SUPPRESS,
                        help="use the local backend on this machine (offline, no credits)")
    common.add_argument("--lang", metavar="CODE", type=language_code, default=argparse.SUPPRESS,
                        help="the language the user writes in (en, zh, ...); default: from the words, else LANG")
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
    chunking(p)
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
    chunking(p)
    p.add_argument("--cluster", metavar="ADDRESS", default=os.environ.get("NEMO_CLUSTER") or None,
                   help="send chunks of long renders to this Dask scheduler (tls://HOST:8786, or tcp:// on loopback "
                        "or a private network; default $NEMO_CLUSTER); needs: setup --with cluster")
    p.add_argument("--cluster-allow-public", action="store_true",
                   help="accept a plain tcp:// scheduler on a public address (anyone reaching it runs code there)")
    tls(p)
    p = add("scheduler", "run a Dask scheduler for `serve --cluster` (loopback or private network, or TLS)",
            "nemo.py scheduler --host 10.0.0.5 --port 8786")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=port_number, default=8786)
    p.add_argument("--dashboard-port", type=int, default=8787, help="Dask's dashboard, on the same host (0: any)")
    p.add_argument("--allow-public", action="store_true", help="bind a public address without TLS (unsafe)")
    tls(p)
    p = add("worker", "run chunk workers for `serve --cluster` on this machine", "nemo.py worker tcp://10.0.0.5:8786")
    p.add_argument("address", help="the scheduler: tls://HOST:PORT, or tcp:// on loopback or a private network")
    p.add_argument("--procs", type=int, default=0, help="worker processes (default: one per 2 cores)")
    p.add_argument("--allow-public", action="store_true", help="accept a plain tcp:// public address (unsafe)")
    tls(p)
    p = add("setup", "make the skill's own Python environment ({baseDir}/.venv) and install what it needs there; "
                     "the system Python is not touched (it works where pip is refused)",
            "nemo.py setup --with captions")
    p.add_argument("--with", dest="extras", action="append", default=[],
                   choices=["captions", "captions-zh", "cluster", "dev"],
                   help="also speech recognition for captions (captions-zh: Chinese too), Dask for renders across "
                        "machines (cluster), or what the tests need (dev)")
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


def language_code(value: str) -> str:
    code = value.strip().lower().replace("_", "-")
    if not re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?", code):
        raise argparse.ArgumentTypeError(f"{value!r} is not a language code such as en or zh")
    return code.split("-")[0]


def whole_number(value: str, low: int, high: int, what: str) -> int:
    """An argument that is a whole number from `low` to `high`, else a usage error naming `what` it should be."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"{number} is not {what} ({low}-{high})")
    return number


def port_number(value: str) -> int:
    return whole_number(value, 0, 65535, "a port number")


def seconds_value(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 1 <= seconds <= 3600:   # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 3600 seconds")
    return seconds


def dispatch(args: argparse.Namespace, out: Out) -> None:
    command = args.command
    if command == "route":
        return commands.route(args, out)
    if command in ("serve", "demo-track", "scheduler", "worker"):
        return commands.local_only(args, out)
    if command == "build-variant":
        return commands.build(args, out)
    if command == "setup":
        return commands.setup(args, out)
    with connect(bool(getattr(args, "local", False)), getattr(args, "lang", None),
                 getattr(args, "jobs", 0), getattr(args, "chunk_seconds", 30.0)) as api:
        if command == "do":
            commands.do(api, out, args.text)
        elif command == "state":
            commands.state(api, out)
        elif command == "credits":
            commands.credits(api, out)
        elif command == "upload":
            commands.upload(api, out, args.files, args.url)
        elif command == "chat":
            commands.chat(api, out, args.text)
        elif command == "export":
            commands.export(api, out, args)
        elif command == "preview":
            commands.preview(api, out, args)
        elif command == "make":
            commands.make_videos(api, out, args)
        elif command == "session":
            commands.session(api, out, args.new)
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
