"""Downloads: where a video goes (checked before anything is spent), and its bytes streamed into NAME.part,
checked to be what was promised and renamed into place; a broken download continues with an HTTP Range request.
Small files that go with the video (its poster, its captions) land whole or not at all."""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from nemo_skill import errors
from nemo_skill.api import Api
from nemo_skill.upload import Bar


def safe_filename(name: str, default: str = "video.mp4") -> str:
    """A server-supplied name made safe: no folders, no odd characters, an .mp4 ending."""
    name = unquote(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ]+", "_", name).strip(" ._")[:100]
    if not name:
        return default
    return name if name.lower().endswith(".mp4") else name + ".mp4"


def target_path(output: Path | None, url_or_id: str, force: bool) -> Path:
    """Where the MP4 goes: -o PATH (a folder takes the server's name), else the current folder.

    Checked before anything is uploaded or rendered: not an existing file (without --force), in a folder
    that exists and can be written."""
    name = safe_filename(urlsplit(url_or_id).path or url_or_id)
    path = output if output is not None else Path(name)
    try:
        if path.is_dir():
            path = path / name
        path = path.expanduser().absolute()
        if path.exists() and not force:
            raise errors.InputError(f"{path} exists", hint="Pass --force to replace it, or choose another -o PATH.")
        if not path.parent.is_dir():
            raise errors.InputError(f"{path.parent} is not a folder", hint="Create it or choose another -o PATH.")
        probe = tempfile.NamedTemporaryFile(dir=path.parent, prefix=".nemo-write-check-")  # noqa: SIM115
        probe.close()
    except OSError as exc:
        shown = str(path)[:120]
        raise errors.InputError(f"cannot write the video to {shown} ({exc.strerror or type(exc).__name__})",
                                hint="Choose another -o PATH in a folder you can write.") from None
    return path


TEXT_TYPES = ("application/json", "text/", "application/problem+json", "application/xml")


def _refused(resp: httpx.Response, head: bytes) -> errors.APIError:
    """The error a download that is not an MP4 stands for: the backend's own, when it sent one."""
    try:
        body = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("code") not in (None, 0, "0", 200):
        error = errors.error_from(resp.status_code if resp.status_code >= 400 else 500, body)
        if isinstance(error, errors.ServerError | errors.RateLimited):
            error.hint = "The video is ready: run `nemo.py export --resume` to download it."
        return error
    kind = resp.headers.get("content-type", "unknown type").split(";")[0]
    return errors.ServerError(f"the download is not an MP4 (HTTP {resp.status_code}, {kind[:60]})",
                              status=resp.status_code, hint="Run `nemo.py export --resume` to try again later.")


def _resume_from(part: Path, resp: httpx.Response) -> int:
    """Where the body of this answer starts in the file: the .part's length for a matching 206, else 0."""
    if resp.status_code != 206:
        return 0
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("content-range", ""))
    have = part.stat().st_size if part.exists() else 0
    return have if match and int(match[1]) == have else -1


def download(api: Api, url: str, path: Path, progress: bool | None = None) -> Path:
    """Stream the file into PATH.part, check it is a whole MP4, then rename; no token is sent (the link may
    be a CDN's). A .part left by a broken download is continued with an HTTP Range request when the server
    allows it (else fetched again); it is removed when what arrives is not the video."""
    url = urljoin(api.settings.base_url + "/", url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise errors.ServerError("the backend gave a download link that is not http(s)")
    part = path.with_name(path.name + ".part")
    timeout = httpx.Timeout(connect=api.timeout.connect, read=api.settings.timeout("download_read"),
                            write=api.timeout.write, pool=api.timeout.pool)
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    keep_part = True
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True, headers=headers) as resp:
            start = _resume_from(part, resp) if resp.status_code in (200, 206) else 0
            if have and (resp.status_code == 416 or start < 0):   # the .part does not fit: fetch it all again
                part.unlink(missing_ok=True)
                return download(api, url, path, progress)
            if resp.status_code not in (200, 206):
                head = resp.read()[:65536]
                keep_part = resp.status_code >= 500
                raise _refused(resp, head) if head.lstrip()[:1] in (b"{", b"[") else errors.ServerError(
                    f"the download answered HTTP {resp.status_code}", status=resp.status_code,
                    hint="Run `nemo.py export --resume` to try the download again.")
            if resp.headers.get("content-type", "").lower().startswith(TEXT_TYPES):
                keep_part = False
                raise _refused(resp, resp.read()[:65536])
            length = resp.headers.get("content-length")
            expected = start + int(length) if length and length.isdigit() else None
            bar = Bar(expected or 0, "Downloading", progress)
            bar.add(start)
            with part.open("r+b" if start else "wb") as out:
                out.seek(start)
                out.truncate()
                for chunk in resp.iter_bytes(1 << 16):
                    out.write(chunk)
                    bar.add(len(chunk))
        size = part.stat().st_size
        with part.open("rb") as handle:
            head = handle.read(12)
        if head[4:8] != b"ftyp":   # every MP4 opens with its ftyp box
            keep_part = False
            raise _refused(resp, head + part.read_bytes()[12:65536])
        if expected is not None and size != expected:
            raise errors.NetworkError(f"the download ended early ({size} of {expected} bytes)",
                                      hint="Run `nemo.py export --resume` to fetch the rest.")
        part.replace(path)
    except httpx.TransportError as exc:
        raise errors.NetworkError(f"the download broke off ({type(exc).__name__})",
                                  hint="Run `nemo.py export --resume` to fetch the rest.") from None
    finally:
        if not keep_part:
            with contextlib.suppress(OSError):
                part.unlink()
    return path


def download_poster(url: str, video: Path) -> Path | None:
    """The render's poster image beside the video (VIDEO.jpg); None when the backend offers none or it fails."""
    return _sidecar(url, video.with_suffix(".jpg"), ("image/",), lambda head: head[:3] == b"\xff\xd8\xff")


def download_captions(urls: dict[str, str], video: Path) -> dict[str, str]:
    """The render's captions beside the video (VIDEO.srt, VIDEO.vtt; lyrics also VIDEO.lrc): format -> path of those
    that arrived."""
    checks = {"srt": lambda head: head[:1].isdigit() or head.startswith(b"\xef\xbb\xbf"),
              "vtt": lambda head: head.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT"),
              "lrc": lambda head: head.startswith(b"[")}
    out = {}
    for ext, url in urls.items():
        got = _sidecar(url, video.with_suffix(f".{ext}"), ("text/", "application/x-subrip"), checks[ext])
        if got is not None:
            out[ext] = str(got)
    return out


def _sidecar(url: str, path: Path, types: tuple[str, ...], looks_right: Callable[[bytes], bool]) -> Path | None:
    """A small file that goes with the video, written whole or not at all; None when it cannot be had."""
    part = path.with_name(path.name + ".part")
    try:
        with httpx.stream("GET", url, timeout=30, follow_redirects=True) as resp:
            if resp.status_code != 200 or not resp.headers.get("content-type", "").startswith(types):
                return None
            with part.open("wb") as out:
                for chunk in resp.iter_bytes(1 << 16):
                    out.write(chunk)
        with part.open("rb") as handle:
            if not looks_right(handle.read(16)):
                return None
        part.replace(path)
        return path
    except (httpx.HTTPError, OSError):
        return None
    finally:
        with contextlib.suppress(OSError):
            part.unlink()


