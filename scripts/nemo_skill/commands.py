"""One function per command: call the library, print what it returned. Data goes to stdout through `Out`
(lines, or one JSON object with --json); diagnostics and progress go to stderr."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from nemo_skill import errors, gui, install, local, routing, skill, timeline, variants
from nemo_skill import export as exporting
from nemo_skill.api import Api
from nemo_skill.chat import ChatResult, language_of, run_turn
from nemo_skill.destinations import AS_ASKED, Output, output_for
from nemo_skill.making import Plan, Reporter, make, plan
from nemo_skill.output import Out, Progress, notice
from nemo_skill.upload import check_files, upload_files, upload_urls


def output_of(args: argparse.Namespace, aspect: str | None = None) -> Output:
    """The command's `--for` and `--max-size` (and frame) as structured output options."""
    try:
        return output_for(getattr(args, "place", None), getattr(args, "max_size", None), aspect)
    except ValueError as exc:
        raise errors.UsageError(str(exc)) from None


def upload_limit() -> int:
    return int(skill.config()["limits"]["max_upload_bytes"])


def route(args: argparse.Namespace, out: Out) -> None:
    found = routing.route(args.text, skill.config()["intents"])
    out.put(**found.as_dict())
    out.line(found.action)


def state(api: Api, out: Out) -> None:
    draft = api.with_session(api.draft)
    summary = timeline.summarize(draft)
    out.put(session_id=api.session_id(), summary=summary, draft=draft)
    out.line(summary)


def credits(api: Api, out: Out) -> None:
    data = api.call("GET", "credits")
    values = {k: data.get(k) for k in ("available", "frozen", "total")}
    if data.get("unlimited"):
        out.put(**values, unlimited=True)
        out.line("Credits: unlimited (the local backend charges nothing)")
        return
    out.put(**values)
    out.line(f"Credits: {values['available']} available, {values['frozen']} frozen, {values['total']} total")


def upload(api: Api, out: Out, files: list[Path], urls: list[str]) -> None:
    if not files and not urls:
        raise errors.UsageError("name at least one file or --url to upload")
    check_files(files, upload_limit(), api.settings.local)  # before any request

    def send(session_id: str) -> list[dict[str, Any]]:
        done = upload_files(api, session_id, files) if files else []
        return done + (upload_urls(api, session_id, urls) if urls else [])
    uploaded = api.with_session(send)
    out.put(files=uploaded)
    for item in uploaded:
        length = f", {item['duration']:.1f} s" if isinstance(item.get("duration"), int | float) else ""
        out.line(f"Uploaded {item.get('filename')} ({item.get('file_type')}{length})")


def said(out: Out, result: ChatResult) -> None:
    """What a finished chat turn printed besides its words: a dropped stream, a question, the summary."""
    if result.dropped:
        notice("The connection dropped before the reply ended; the message was not sent again (that would "
               "charge twice). The timeline below shows what the agent did.")
    if result.timed_out:
        notice("No reply within 15 minutes; the turn may still be running. Check with: nemo.py state")
    if result.question:
        out.line(f"The agent asks: {result.question}")
    if result.summary:
        out.line(result.summary)


def chat(api: Api, out: Out, text: str, output: Output = AS_ASKED) -> None:
    if not text.strip():
        raise errors.UsageError("the message is empty", hint='Say what the video should look like, e.g. '
                                                             'nemo.py chat "bars, neon, beat drops highlighted".')
    if len(text) > 10_000:
        raise errors.UsageError("the message is longer than 10000 characters", hint="Shorten it.")
    rules = gui.compile_rules(skill.config()["gui_translations"])
    shown = out.line if not out.as_json else lambda t: None
    result = api.with_session(lambda sid: run_turn(api, sid, text, rules, shown, output.state()),
                              language=language_of(text))
    said(out, result)
    out.put(**result.as_dict())


def _saved(out: Out, video: exporting.Exported, lines: bool = True) -> None:
    cap = f", under the {video.max_bytes / 1e6:g} MB cap" if video.max_bytes else ""
    settings = f" ({video.said()})" if video.max_bytes and video.said() else ""
    poster = f"; poster {video.poster.name}" if video.poster else ""
    captions = f"; captions {', '.join(Path(p).name for p in video.captions.values())}" if video.captions else ""
    notice(f"Saved {video.bytes / 1e6:.1f} MB{cap}{settings}{poster}{captions}")
    if lines:
        out.line(str(video.path))
        out.line(f"MEDIA:{video.path}")


def watcher(out: Out) -> exporting.Watch:
    """Progress lines on stderr for each render (a fresh ETA per render id)."""
    shown: dict[str, Progress] = {}

    def watch(render_id: str, status: exporting.RenderStatus) -> None:
        shown.setdefault(render_id, Progress(render_id, out.as_json)).update(status)
    return watch


def export(api: Api, out: Out, args: argparse.Namespace) -> None:
    if args.cancel:
        render_id, status = exporting.cancel_unfinished(api)
        out.put(render_id=render_id, status=status.status)
        out.line(f"Render {render_id}: {status.status}")
        return
    video = exporting.export(api, args.output, output_of(args), force=args.force, resume=args.resume,
                             watch=watcher(out))
    out.put(**video.as_dict())
    _saved(out, video)


def preview(api: Api, out: Out, args: argparse.Namespace) -> None:
    video = exporting.preview(api, args.output, force=args.force, watch=watcher(out))
    out.put(render_id=video.render_id, path=str(video.path), media=f"MEDIA:{video.path}", preview=True)
    out.line(str(video.path))
    out.line(f"MEDIA:{video.path}")


def make_plan(args: argparse.Namespace, is_local: bool) -> Plan:
    """`make`'s arguments as a checked plan (nothing sent yet)."""
    aspect = args.aspect if args.aspect != "all" else None
    return plan(list(args.inputs), image=args.image, aspect=args.aspect, prompt=args.prompt, output_path=args.output,
                output=output_of(args, aspect), force=args.force, local=is_local)


def make_videos(api: Api, out: Out, args: argparse.Namespace) -> None:
    chosen = make_plan(args, api.settings.local)
    report = Reporter(text=out.line if not out.as_json else lambda t: None, turn=lambda result: said(out, result),
                      watch=watcher(out), done=lambda made: _saved(out, made.video))
    try:
        videos = make(api, chosen, report)
    finally:
        if report.turns:
            out.put(**report.turns[-1].as_dict())
    if videos:
        out.put(**videos[-1].video.as_dict())
    if len(videos) > 1:
        out.put(videos=[video.as_dict() for video in videos])


def serve(args: argparse.Namespace) -> None:
    from nemo_local.render.cluster import ClusterRefused  # the [local] extra, only when serving
    from nemo_local.service import config, server  # the [local] extra

    key = os.environ.get("NEMO_SERVER_KEY", "").strip() or None
    if key is not None and len(key) < 16:
        raise errors.UsageError("NEMO_SERVER_KEY is shorter than 16 characters",
                                hint='Make one with: python3 -c "import secrets; print(secrets.token_urlsafe())"')
    settings = config.ServerConfig(
        data_dir=args.data_dir or config.default_data_dir(), enable_faults=args.enable_faults,
        heartbeat_seconds=args.heartbeat, cloud_emulation=args.cloud_emulation,
        max_upload_bytes=args.max_upload_mb << 20 if args.max_upload_mb else None, x264_preset=args.x264_preset,
        server_key=key, cluster=args.cluster, cluster_tls=tls_files(args),
        cluster_allow_public=args.cluster_allow_public, chunk_jobs=args.jobs, chunk_seconds=args.chunk_seconds)
    try:
        server.serve(settings, args.host, args.port)
    except server.UnsafeBind as exc:
        raise errors.UsageError(str(exc), hint="Set NEMO_SERVER_KEY (16+ characters) to serve beyond loopback; "
                                               "clients send it from the same variable.") from None
    except ClusterRefused as exc:
        raise errors.UsageError(str(exc), hint=CLUSTER_HINT) from None


CLUSTER_HINT = "See README, \"Renders across machines\": nemo.py scheduler, nemo.py worker ADDRESS, serve --cluster."


def tls_files(args: argparse.Namespace) -> tuple[Path, Path, Path] | None:
    """The --tls-ca/--tls-cert/--tls-key files: all three or none."""
    given = (args.tls_ca, args.tls_cert, args.tls_key)
    if not any(given):
        return None
    if not all(given):
        raise errors.UsageError("TLS needs all three files", hint="Pass --tls-ca, --tls-cert and --tls-key.")
    for path in given:
        if not path.is_file():
            raise errors.InputError(f"{path} is not a file", hint="Give the PEM files Dask's TLS uses.")
    return given[0], given[1], given[2]


def cluster_process(args: argparse.Namespace) -> None:
    """`scheduler` and `worker`: Dask's own, started with the skill's code importable and the safety rules kept;
    runs until interrupted."""
    from nemo_local.render import cluster  # the [local] extra; Dask itself comes with [cluster]
    from nemo_local.render.cluster import ClusterRefused  # the [local] extra

    try:
        if args.command == "scheduler":
            cmd = cluster.scheduler_command(args.host, args.port, tls_files(args), args.allow_public,
                                            args.dashboard_port)
        else:
            cmd = cluster.worker_command(args.address, args.procs, tls_files(args), args.allow_public)
    except ClusterRefused as exc:
        raise errors.UsageError(str(exc), hint=CLUSTER_HINT) from None
    code = cluster.run_until_interrupted(cmd)
    if code not in (0, -2, 130):
        raise errors.DependencyError(f"the Dask {args.command} stopped with exit code {code}", hint=CLUSTER_HINT)


def demo_track(args: argparse.Namespace, out: Out) -> None:
    from nemo_local.media.synth import write_demo_track  # the [local] extra, only for this command

    if args.output.exists() and not args.force:
        raise errors.InputError(f"{args.output} exists", hint="Pass --force to replace it.")
    path = write_demo_track(args.output, args.seconds)
    out.put(path=str(path))
    out.line(str(path))


def local_only(args: argparse.Namespace, out: Out) -> None:
    """`serve` and `demo-track`: they need the local backend's packages, and say which when they are missing."""
    with local.backend_errors(skill.SKILL_DIR, getattr(args, "port", None)):
        if args.command == "serve":
            serve(args)
        elif args.command in ("scheduler", "worker"):
            cluster_process(args)
        else:
            demo_track(args, out)


def setup(args: argparse.Namespace, out: Out) -> None:
    try:
        venv = install.setup(["local", *args.extras], say=notice)
    except install.SetupFailed as exc:
        raise errors.DependencyError(str(exc)) from None
    out.put(path=str(install.venv_python(venv)))
    out.line(str(install.venv_python(venv)))


def build(args: argparse.Namespace, out: Out) -> None:
    names = list(skill.config()["variants"]) if args.all else [args.variant]
    if not names or names == [None]:
        raise errors.UsageError("name a variant or pass --all")
    built = [str(variants.build(name, args.out, force=args.force)) for name in names]
    out.put(built=built)
    for path in built:
        out.line(path)


def do(api: Api, out: Out, text: str) -> None:
    """Route the words and run what they ask: upload the files they name, tell the video agent the rest, and
    export or preview with the destination and size the words give."""
    found = routing.route(text, skill.config()["intents"])
    out.put(route=found.action)
    files = [Path(name).expanduser() for name in found.files]
    try:
        output = output_for(found.place, found.max_size)
    except ValueError as exc:
        raise errors.UsageError(str(exc)) from None
    if found.action == "credits":
        return credits(api, out)
    if found.action == "state":
        return state(api, out)
    if found.action == "preview" and not api.settings.local:
        raise errors.UsageError("preview is local-only: the NemoVideo cloud renders whole videos only",
                                hint="Add --local to see the look in seconds, or ask to export the full video.")
    if found.action == "upload" and not files:
        raise errors.UsageError("name the file to upload, e.g. nemo.py upload song.mp3")
    if files:
        upload(api, out, files, [])
    if found.action == "chat" or found.more or (files and found.action in ("export", "preview")):
        chat(api, out, text, output)
    if found.action == "export":
        video = exporting.export(api, None, output, watch=watcher(out))
        out.put(**video.as_dict())
        _saved(out, video)
    elif found.action == "preview":
        shown = exporting.preview(api, None, watch=watcher(out))
        out.put(render_id=shown.render_id, path=str(shown.path), media=f"MEDIA:{shown.path}", preview=True)
        out.line(str(shown.path))
        out.line(f"MEDIA:{shown.path}")
    return None


def session(api: Api, out: Out, new: bool) -> None:
    session_id = api.session_id(new=new)
    out.put(session_id=session_id)
    out.line(session_id)
