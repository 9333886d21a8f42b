"""Export: start a render of the latest draft, poll it to the end, and download the MP4 (`download`); resume or
cancel a render this install started. `export` and `preview` are the whole flows, as library calls."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_local.draft import ASPECTS, duration_of, exportable, meta_of, with_meta
from nemo_skill import errors
from nemo_skill.api import Api
from nemo_skill.destinations import AS_ASKED, Output, fit_cap
from nemo_skill.download import download, download_captions, download_poster, target_path
from nemo_skill.shrink import shrink

TERMINAL = {"completed", "failed", "cancelled", "canceled", "error"}


@dataclass
class RenderStatus:
    status: str
    progress: int | None
    url: str | None
    error: str | None
    poster: str | None = None
    captions: dict[str, str] | None = None      # "srt"/"vtt" -> URL
    settings: dict[str, Any] | None = None      # the frame and rates the render used (width, height, audioKbps...)


def read_status(body: Any) -> RenderStatus:
    """Accept the documented shapes: data.{status, outputUrl}; top-level status; output.url."""
    body = body if isinstance(body, dict) else {}
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    status = str(data.get("status") or body.get("status") or "unknown").lower()
    url = data.get("outputUrl") or data.get("output_url") or body.get("outputUrl")
    for holder in (data, body):
        output = holder.get("output")
        if not url and isinstance(output, dict):
            url = output.get("url")
    progress = data.get("progress")
    error = data.get("error") or data.get("reason") or body.get("error")
    poster = data.get("posterUrl") or data.get("poster_url")
    captions = data.get("captions")
    captions = {k: v for k, v in captions.items() if k in ("srt", "vtt", "lrc") and isinstance(v, str) and v} \
        if isinstance(captions, dict) else None
    settings = data.get("settings")
    return RenderStatus(status, int(progress) if isinstance(progress, int | float) else None,
                        str(url) if url else None, str(error)[:300] if error else None,
                        str(poster) if isinstance(poster, str) and poster else None, captions or None,
                        settings if isinstance(settings, dict) else None)


def latest_draft(api: Api, session_id: str) -> dict[str, Any]:
    draft = api.draft(session_id)
    if not exportable(draft):
        raise errors.InputError("nothing to export yet: the timeline is empty",
                                hint='Upload audio and describe the video first, e.g. nemo.py chat "make a video".')
    assert isinstance(draft, dict)
    return draft


def start_render(api: Api, session_id: str, draft: dict[str, Any],
                 options: Mapping[str, int | bool] | None = None) -> str:
    """Queue a render; a start that fails for a passing reason is tried once more with a new id.

    `options` go into the request's `output` (`maxBytes`, `audioKbps`: a size cap and the audio rate)."""
    key = api.settings.api_key
    for attempt in range(2):
        render_id = f"render_{int(time.time() * 1000)}{'' if attempt == 0 else '_1'}"
        body = {"id": render_id, "sessionId": session_id, "draft": draft,
                "output": {"format": "mp4", "quality": "high", **(options or {})}}
        try:
            api.call("POST", "render_start", render=True, json=body)
        except (errors.ServerError, errors.NetworkError) as exc:
            if attempt == 0:
                api.settings.notice(f"The render did not start ({exc.message}); trying once more with a new id...")
                continue
            raise
        except errors.APIError as exc:
            if exc.status == 409 and attempt == 0:
                continue
            raise
        api.store.save_render(key, {"id": render_id, "session_id": session_id, "status": "pending",
                                    "started": time.time(), "preview": bool((options or {}).get("preview"))})
        return render_id
    raise errors.RenderFailed("the render could not be started", hint="Try again in a minute.")


def wait_for(api: Api, render_id: str,
             on_progress: Callable[[RenderStatus], None] = lambda s: None) -> RenderStatus:
    """Poll until the render ends; returns the completed status (with its URL) or raises RenderFailed /
    NetworkError.

    A completed render stays on record (with its link) until its file is downloaded, so `export --resume`
    can fetch it again after a broken download."""
    s = api.settings
    interval = float(s.config["poll"]["local_interval" if s.local else "cloud_interval"])
    deadline = s.clock() + s.timeout("export_total")
    while True:
        try:
            body = api.call("GET", "render_status", params={"render_id": render_id}, render=True)
        except (errors.NetworkError, errors.ServerError) as exc:
            raise type(exc)(f"lost contact with the backend while render {render_id} ran ({exc.message})",
                            hint="The render goes on where it runs: run `nemo.py export --resume` to pick it "
                                 "up.") from None
        status = read_status(body)
        on_progress(status)
        if status.status in TERMINAL:
            if status.status == "completed" and status.url:
                api.store.save_render(s.api_key, {"id": render_id, "status": "completed", "downloaded": False,
                                                  "ended": time.time()})
                return status
            api.store.save_render(s.api_key, {"id": render_id, "status": status.status, "ended": time.time()})
            reason = status.error or ("no download link was given" if status.status == "completed" else "")
            raise errors.RenderFailed(f"render {render_id} {status.status}" + (f": {reason}" if reason else ""),
                                      hint="Change the request and export again; credits of a failed render "
                                           "are returned.")
        if s.clock() > deadline:
            raise errors.NetworkError(f"render {render_id} is still running after "
                                      f"{s.timeout('export_total') / 60:.0f} minutes",
                                      hint="Run `nemo.py export --resume` later to pick it up.")
        s.sleep(interval)


def fetch(api: Api, render_id: str, done: RenderStatus, target: Path, max_bytes: int | None = None) -> Path:
    """Download a completed render to `target` and settle its record: where it goes (and its size cap) is
    remembered first, so a broken download resumes into the same .part. A size cap is met, not hoped for: a file
    over it is made to fit here, the render as it came kept beside it (it was paid for), never deleted."""
    assert done.url is not None   # wait_for returns only completed renders with a link
    key = api.settings.api_key
    api.store.save_render(key, {"id": render_id, "path": str(target), "max_bytes": max_bytes})
    path = download(api, done.url, target)
    api.store.save_render(key, {"id": render_id, "downloaded": True, "path": str(path)})
    if max_bytes and path.stat().st_size > max_bytes:
        api.settings.notice(f"The video came out at {path.stat().st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} "
                            "MB cap; making it fit here (the render as it came is kept)...")
        fit = shrink(path, max_bytes)
        done.settings = {"width": fit.width, "height": fit.height, "audioKbps": fit.audio_kbps,
                         "videoKbps": fit.video_kbps, "smaller": True}
    return path


def cancel(api: Api, render_id: str) -> RenderStatus:
    body = api.call("POST", "render_cancel", params={"render_id": render_id}, render=True)
    status = read_status(body)
    api.store.save_render(api.settings.api_key, {"id": render_id, "status": status.status, "ended": time.time()})
    return status


def unfinished(api: Api) -> dict[str, Any] | None:
    """The newest render this install started and has not seen end, or whose file it has not downloaded
    (previews are throwaway: never resumed)."""
    for entry in reversed(api.store.renders(api.settings.api_key)):
        if entry.get("preview"):
            continue
        status = entry.get("status")
        if status not in TERMINAL or (status == "completed" and entry.get("downloaded") is False):
            return entry
    return None


Watch = Callable[[str, RenderStatus], None]     # (render id, status): progress as the render runs


@dataclass
class Exported:
    """A video on disk, and what came with it."""

    render_id: str
    path: Path
    bytes: int
    max_bytes: int | None = None
    poster: Path | None = None
    captions: dict[str, str] = field(default_factory=dict)     # "srt"/"vtt" -> path
    settings: dict[str, Any] | None = None                       # what the render says it used

    def said(self) -> str:
        """The frame and audio rate, as the user is told them ("640x360, 64 kbit/s audio: made smaller to fit")."""
        s = self.settings or {}
        if not isinstance(s.get("width"), int) or not isinstance(s.get("height"), int):
            return ""
        lowered = ": made smaller to fit" if s.get("smaller") else ""
        audio = f", {s['audioKbps']} kbit/s audio" if isinstance(s.get("audioKbps"), int) else ""
        return f"{s['width']}x{s['height']}{audio}{lowered}"

    def as_dict(self) -> dict[str, Any]:
        return {"render_id": self.render_id, "path": str(self.path), "media": f"MEDIA:{self.path}",
                "bytes": self.bytes, "poster": str(self.poster) if self.poster else None,
                "captions": self.captions or None, "settings": self.settings}


def with_frame(draft: dict[str, Any], aspect: str | None) -> dict[str, Any]:
    """The draft in another frame ("9:16", ...), for one render of several sizes; as it is for None."""
    if aspect is None:
        return draft
    width, height = ASPECTS[aspect]
    return with_meta(draft, aspect=aspect, width=width, height=height)


def feasible(draft: dict[str, Any], max_bytes: int, audio_kbps: int | None) -> None:
    """Refuse a size cap that no frame and rate can meet for this draft's length, before anything is rendered
    (or paid for); the message says what size, or what length, would fit."""
    meta = meta_of(draft)
    width, height = meta.get("width"), meta.get("height")
    frame = (width, height) if isinstance(width, int) and isinstance(height, int) else ASPECTS["16:9"]
    try:
        fit_cap(max_bytes, duration_of(draft) / 1000, *frame, 30, audio_kbps or 128)
    except ValueError as exc:
        raise errors.UsageError(str(exc)) from None


def _finish(api: Api, render_id: str, target: Path | None, force: bool, max_bytes: int | None,
            watch: Watch, what: str = "Rendering") -> Exported:
    """Wait for a started render, download it with its poster and captions."""
    api.settings.notice(f"{what} ({render_id})...")
    try:
        done = wait_for(api, render_id, lambda status: watch(render_id, status))
    except KeyboardInterrupt:
        api.settings.notice(f"Stopped waiting; render {render_id} goes on. Resume with: nemo.py export --resume "
                            "(or cancel it with: nemo.py export --cancel)")
        raise
    path = fetch(api, render_id, done, target_path(target, render_id, force), max_bytes)
    poster = download_poster(done.poster, path) if done.poster else None
    captions = download_captions(done.captions, path) if done.captions else {}
    return Exported(render_id, path, path.stat().st_size, max_bytes, poster, captions, done.settings)


def export(api: Api, target: Path | None, output: Output = AS_ASKED, *, force: bool = False, resume: bool = False,
           watch: Watch = lambda render_id, status: None) -> Exported:
    """Render the session's timeline (in `output.aspect`'s frame when given) and download it to `target` (a file
    or folder; the current folder when None); with `resume`, pick up the last unfinished render instead. The
    target is checked before anything is rendered (or spent)."""
    if target is not None:
        target_path(target, "video.mp4", force)
    options: dict[str, int | bool] = dict(output.render_options())
    entry = unfinished(api) if resume else None
    if resume and entry is None:
        raise errors.UsageError("there is no unfinished render to resume")
    if entry is None:
        def begin(session_id: str) -> str:
            draft = with_frame(latest_draft(api, session_id), output.aspect)
            cap = output.max_bytes or meta_of(draft).get("max_bytes")
            if isinstance(cap, int) and cap > 0:
                feasible(draft, cap, output.audio_kbps)
            return start_render(api, session_id, draft, options)
        render_id = str(api.with_session(begin))
    else:
        render_id = str(entry["id"])
        options = {"maxBytes": int(entry["max_bytes"])} if entry.get("max_bytes") else options
        if target is None and entry.get("path"):   # continue the same file (and its .part)
            target = Path(str(entry["path"]))
    cap = options.get("maxBytes")
    return _finish(api, render_id, target, force, int(cap) if cap else None, watch)


def preview(api: Api, target: Path | None, *, force: bool = False,
            watch: Watch = lambda render_id, status: None) -> Exported:
    """Ten seconds of the look (the drop, or the loudest part), small and fast; local only."""
    if not api.settings.local:
        raise errors.UsageError("preview is local-only: the NemoVideo cloud renders whole videos only",
                                hint="Run it with --local to see the look in seconds, or export the full video.")
    if target is not None:
        target_path(target, "preview.mp4", force)

    def begin(session_id: str) -> str:
        return start_render(api, session_id, latest_draft(api, session_id), {"preview": True})
    render_id = str(api.with_session(begin))
    return _finish(api, render_id, target or Path(f"preview-{render_id}.mp4"), force, None, watch,
                   "Rendering a 10-second preview")


def cancel_unfinished(api: Api) -> tuple[str, RenderStatus]:
    """Cancel the last render this install started and has not seen end."""
    entry = unfinished(api)
    if entry is None or entry.get("status") == "completed":
        raise errors.UsageError("there is no unfinished render to cancel")
    return str(entry["id"]), cancel(api, str(entry["id"]))
