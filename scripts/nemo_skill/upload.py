"""Uploads: local files streamed from disk as multipart `files`, or http(s) URLs for the backend to fetch."""

from __future__ import annotations

import mimetypes
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx

from nemo_skill import errors, filetypes
from nemo_skill.api import Api


class ProgressReader:
    """A file wrapper that reports bytes read, so httpx streams it in chunks and we can show progress."""

    def __init__(self, handle: IO[bytes], report: Callable[[int], None]) -> None:
        self._handle = handle
        self._report = report

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._report(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()

    def close(self) -> None:
        self._handle.close()


class Bar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int, label: str, enabled: bool | None = None) -> None:
        self.total, self.label, self.done = max(total, 1), label, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._shown = -1

    def add(self, count: int) -> None:
        self.done += count
        percent = min(100, self.done * 100 // self.total)
        if self.enabled and percent != self._shown:
            self._shown = percent
            filled = percent // 5
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (20 - filled)}] {percent:3d}%")
            if percent == 100:
                sys.stderr.write("\n")
            sys.stderr.flush()


def check_files(paths: list[Path], max_bytes: int, local: bool = False) -> list[str]:
    """Kinds of the named files; InputError for the first one that cannot be uploaded.

    The cloud's formats and size limit apply to the cloud; the local backend takes more formats and checks
    sizes against its own disk."""
    kinds = []
    for path in paths:
        try:
            kinds.append(filetypes.check_local_file(path, None if local else max_bytes, local))
        except OverflowError as exc:
            raise errors.InputError(str(exc)) from None
        except ValueError as exc:
            raise errors.InputError(str(exc)) from None
    return kinds


def upload_files(api: Api, session_id: str, paths: list[Path], progress: bool | None = None) -> list[dict[str, Any]]:
    max_bytes = int(api.settings.config["limits"]["max_upload_bytes"])
    check_files(paths, max_bytes, api.settings.local)
    bar = Bar(sum(p.stat().st_size for p in paths), "Uploading", progress)
    opened: list[ProgressReader] = []

    def body() -> list[tuple[str, tuple[str, Any, str]]]:
        for reader in opened:
            reader.close()
        opened.clear()
        bar.done = 0
        parts = []
        for path in paths:
            reader = ProgressReader(path.open("rb"), bar.add)
            opened.append(reader)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            parts.append(("files", (path.name, reader, mime)))
        return parts

    timeout = httpx.Timeout(connect=api.timeout.connect, read=api.settings.timeout("read") * 5,
                            write=api.settings.timeout("write"), pool=api.timeout.pool)
    try:
        data = api.call("POST", "upload", params={"session_id": session_id}, files=body, timeout=timeout)
    finally:
        for reader in opened:
            reader.close()
    return list(data.get("files") or []) if isinstance(data, dict) else []


def upload_urls(api: Api, session_id: str, urls: list[str]) -> list[dict[str, Any]]:
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise errors.InputError(f"{url[:200]}: only http:// and https:// URLs can be uploaded")
    data = api.call("POST", "upload", params={"session_id": session_id},
                    json={"urls": urls, "source_type": "url"})
    return list(data.get("files") or []) if isinstance(data, dict) else []
