"""Export: start a render of the latest draft, poll it to the end, and download the MP4 safely."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from nemo_skill import errors
from nemo_skill.api import Api
from nemo_skill.timeline import exportable
from nemo_skill.upload import Bar

TERMINAL = {"completed", "failed", "cancelled", "canceled", "error"}


@dataclass
class RenderStatus:
    status: str
    progress: int | None
    url: str | None
    error: str | None


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
    return RenderStatus(status, int(progress) if isinstance(progress, int | float) else None,
                        str(url) if url else None, str(error)[:300] if error else None)


def latest_draft(api: Api, session_id: str) -> dict[str, Any]:
    draft = api.draft(session_id)
    if not exportable(draft):
        raise errors.InputError("nothing to export yet: the timeline is empty",
                                hint='Upload audio and describe the video first, e.g. nemo.py chat "make a video".')
    assert isinstance(draft, dict)
    return draft


def start_render(api: Api, session_id: str, draft: dict[str, Any]) -> str:
    """Queue a render; a start that fails for a passing reason is tried once more with a new id."""
    key = api.settings.api_key
    for attempt in range(2):
        render_id = f"render_{int(time.time() * 1000)}{'' if attempt == 0 else '_1'}"
        body = {"id": render_id, "sessionId": session_id, "draft": draft,
                "output": {"format": "mp4", "quality": "high"}}
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
                                    "started": time.time()})
        return render_id
    raise errors.RenderFailed("the render could not be started", hint="Try again in a minute.")


def wait_for(api: Api, render_id: str, on_progress: Callable[[RenderStatus], None] = lambda s: None) -> str:
    """Poll until the render ends; returns the output URL or raises RenderFailed / NetworkError."""
    s = api.settings
    interval = float(s.config["poll"]["local_interval" if s.local else "cloud_interval"])
    deadline = s.clock() + s.timeout("export_total")
    while True:
        body = api.call("GET", "render_status", params={"render_id": render_id}, render=True)
        status = read_status(body)
        on_progress(status)
        if status.status in TERMINAL:
            api.store.save_render(s.api_key, {"id": render_id, "status": status.status, "ended": time.time()})
            if status.status == "completed" and status.url:
                return status.url
            reason = status.error or ("no download link was given" if status.status == "completed" else "")
            raise errors.RenderFailed(f"render {render_id} {status.status}" + (f": {reason}" if reason else ""),
                                      hint="Change the request and export again; credits of a failed render "
                                           "are returned.")
        if s.clock() > deadline:
            raise errors.NetworkError(f"render {render_id} is still running after "
                                      f"{s.timeout('export_total') / 60:.0f} minutes",
                                      hint="Run `nemo.py export --resume` later to pick it up.")
        s.sleep(interval)


def safe_filename(name: str, default: str = "video.mp4") -> str:
    """A server-supplied name made safe: no folders, no odd characters, an .mp4 ending."""
    name = unquote(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ]+", "_", name).strip(" ._")[:100]
    if not name:
        return default
    return name if name.lower().endswith(".mp4") else name + ".mp4"


def target_path(output: Path | None, url_or_id: str, force: bool) -> Path:
    """Where the MP4 goes: -o PATH (a folder takes the server's name), else the current folder."""
    name = safe_filename(urlsplit(url_or_id).path or url_or_id)
    path = output if output is not None else Path(name)
    if path.is_dir():
        path = path / name
    path = path.expanduser().absolute()
    if path.exists() and not force:
        raise errors.InputError(f"{path} exists", hint="Pass --force to replace it, or choose another -o PATH.")
    if not path.parent.is_dir():
        raise errors.InputError(f"{path.parent} is not a folder", hint="Create it or choose another -o PATH.")
    return path


def download(api: Api, url: str, path: Path, progress: bool | None = None) -> Path:
    """Stream the file into PATH.part, then rename; no token is sent (the link may be a CDN's)."""
    url = urljoin(api.settings.base_url + "/", url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise errors.ServerError("the backend gave a download link that is not http(s)")
    part = path.with_name(path.name + ".part")
    timeout = httpx.Timeout(connect=api.timeout.connect, read=api.settings.timeout("download_read"),
                            write=api.timeout.write, pool=api.timeout.pool)
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as resp:
            if resp.status_code != 200:
                raise errors.ServerError(f"the download answered HTTP {resp.status_code}", status=resp.status_code,
                                         hint="Run `nemo.py export --resume` to try the download again.")
            bar = Bar(int(resp.headers.get("content-length") or 0), "Downloading", progress)
            with part.open("wb") as out:
                for chunk in resp.iter_bytes(1 << 16):
                    out.write(chunk)
                    bar.add(len(chunk))
        part.replace(path)
    except httpx.TransportError as exc:
        raise errors.NetworkError(f"the download broke off ({type(exc).__name__})",
                                  hint="Run `nemo.py export --resume` to try again.") from None
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
    return path


def cancel(api: Api, render_id: str) -> RenderStatus:
    body = api.call("POST", "render_cancel", params={"render_id": render_id}, render=True)
    status = read_status(body)
    api.store.save_render(api.settings.api_key, {"id": render_id, "status": status.status, "ended": time.time()})
    return status


def unfinished(api: Api) -> str | None:
    """The newest render this install started and has not seen end."""
    for entry in reversed(api.store.renders(api.settings.api_key)):
        if entry.get("status") not in TERMINAL:
            return str(entry["id"])
    return None
