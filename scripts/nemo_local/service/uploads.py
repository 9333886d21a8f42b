"""Receiving uploads: multipart bodies and URLs streamed to disk under a size limit, then checked and probed."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import re
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from nemo_local.media.ffmpeg import FLOAT_PCM, MediaInfo, first_non_finite
from nemo_local.speech import transcripts
from nemo_skill import filetypes


class UploadError(Exception):
    """An upload that must be refused; `code` is the backend code (4001 or 4002)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Incoming:
    filename: str
    path: Path
    size: int = 0
    head: bytes = b""
    handle: IO[bytes] | None = field(default=None, repr=False)
    digest: Any = field(default_factory=hashlib.sha256, repr=False)   # of the content: the same recording again

    def take(self, chunk: bytes, max_bytes: int, too_large: str) -> None:
        """Count, sniff and hash a chunk as it arrives; UploadError 4002 past `max_bytes`."""
        self.size += len(chunk)
        if self.size > max_bytes:
            raise UploadError(4002, too_large)
        if len(self.head) < 64:
            self.head += chunk[: 64 - len(self.head)]
        self.digest.update(chunk)


def safe_name(name: str) -> str:
    """A file name safe to store and to put in a URL: no folders, no control or odd characters."""
    name = unquote(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ]+", "_", name).strip(" .")
    return name[:120] or "file"


def remove_orphans(files_dir: Path) -> int:
    """Delete what a killed server left half-written: incoming uploads and analysis caches being saved."""
    count = 0
    for pattern in (".incoming-*.part", "*/.tmp-analysis-*.part", "*/.tmp-transcript-*.part"):
        for path in files_dir.glob(pattern):
            path.unlink(missing_ok=True)
            count += 1
    return count


def discard(items: list[Incoming]) -> None:
    for item in items:
        if item.handle is not None:
            item.handle.close()
        item.path.unlink(missing_ok=True)


class _Receiver:
    """Callbacks for python-multipart: each `files` part goes straight into its own file."""

    def __init__(self, tmp_dir: Path, max_bytes: int, max_files: int) -> None:
        self.tmp_dir = tmp_dir
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.files: list[Incoming] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._current: Incoming | None = None

    def on_part_begin(self) -> None:
        self._headers, self._current = {}, None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if params.get(b"name") != b"files" or b"filename" not in params:
            return  # other fields are ignored
        if len(self.files) >= self.max_files:
            raise UploadError(4001, f"at most {self.max_files} files per upload")
        name = safe_name(params[b"filename"].decode("utf-8", "replace"))
        path = self.tmp_dir / f".incoming-{secrets.token_hex(8)}.part"
        self._current = Incoming(name, path, handle=path.open("wb"))
        self.files.append(self._current)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        item = self._current
        if item is None or item.handle is None:
            return
        chunk = data[start:end]
        item.take(chunk, self.max_bytes, f"{item.filename} is larger than {self.max_bytes // (1024 * 1024)} MB")
        item.handle.write(chunk)

    def on_part_end(self) -> None:
        if self._current is not None and self._current.handle is not None:
            self._current.handle.close()
            self._current.handle = None


async def receive_multipart(content_type: str, body: AsyncIterator[bytes], tmp_dir: Path,
                            max_bytes: int, max_files: int = 20) -> list[Incoming]:
    """Stream a multipart body into files in tmp_dir; nothing is kept when it fails."""
    ctype, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadError(4001, "send multipart/form-data with one or more 'files' fields, or JSON {\"urls\": [...]}")
    if len(boundary) > 70:   # RFC 2046: 1 to 70 characters
        raise UploadError(4001, "the multipart boundary is longer than 70 characters")
    receiver = _Receiver(tmp_dir, max_bytes, max_files)
    callbacks = {name: getattr(receiver, name) for name in dir(receiver) if name.startswith("on_")}
    parser = MultipartParser(boundary, callbacks=callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except UploadError:
        discard(receiver.files)
        raise
    except Exception as exc:
        discard(receiver.files)
        raise UploadError(4001, f"malformed multipart body: {exc}") from None
    discard([f for f in receiver.files if f.handle is not None])  # a part the body never finished
    done = [f for f in receiver.files if f.handle is None and f.path.exists()]
    if not done:
        raise UploadError(4001, "no file found in the 'files' field")
    return done


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64, IPv4-compatible), if any."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if any(addr in net for net in NAT64) or (int(addr) >> 32 == 0 and int(addr) > 1):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def is_public(addr: Address) -> bool:
    """A global unicast address, and so is any IPv4 address it embeds."""
    if not addr.is_global or addr.is_multicast:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        inner = embedded_ipv4(addr)
        if inner is not None and not is_public(inner):
            return False
    return True


async def resolve(host: str, port: int, allow_private: bool) -> Address | None:
    """The address to connect to: every address the host resolves to must be public (unless allowed)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses or not (allow_private or all(is_public(a) for a in addresses)):
        return None
    return addresses[0]


async def fetch_url(url: str, tmp_dir: Path, max_bytes: int, timeout: float, allow_private: bool = False) -> Incoming:
    """Download one http(s) URL into tmp_dir under the same limit as an upload; redirects are not followed.

    The host is resolved once, checked, and the connection goes to that very address (the Host header and
    TLS name stay the URL's), so a DNS answer that changes between check and connect cannot reach inside."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UploadError(4001, f"only http and https URLs can be fetched, not {parts.scheme or 'this'!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UploadError(4001, "the URL has an invalid port") from None
    address = await resolve(parts.hostname, port, allow_private)
    if address is None:
        raise UploadError(4001, f"{parts.hostname} is not a public address; upload the file itself instead")
    literal = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    host_header = parts.netloc.rsplit("@", 1)[-1]
    item = Incoming(safe_name(parts.path or "download"), tmp_dir / f".incoming-{secrets.token_hex(8)}.part")
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client, \
                client.stream("GET", pinned, headers={"Host": host_header},
                              extensions={"sni_hostname": parts.hostname}) as resp:
            if resp.status_code != 200:
                raise UploadError(4001, f"the URL answered HTTP {resp.status_code}")
            declared = int(resp.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise UploadError(4002, f"the file at the URL is larger than {max_bytes // (1024 * 1024)} MB")
            with item.path.open("wb") as out:
                async for chunk in resp.aiter_bytes():
                    item.take(chunk, max_bytes, f"the file at the URL is larger than {max_bytes // (1024 * 1024)} MB")
                    out.write(chunk)
    except UploadError:
        item.path.unlink(missing_ok=True)
        raise
    except (httpx.HTTPError, ValueError) as exc:
        item.path.unlink(missing_ok=True)
        raise UploadError(4001, f"could not fetch the URL: {type(exc).__name__}") from None
    return item


def check_media(item: Incoming, kind: str, info: MediaInfo) -> None:
    """What an accepted file's probe says about it, as an UploadError a user can act on: audio or video that
    cannot be decoded, a picture that cannot be read or is too large (in megapixels), audio whose samples are not
    numbers (a float WAV with NaN or infinity, which stops the AAC encoder). Runs in a worker thread."""
    if kind in ("audio", "video") and not info.duration:
        raise UploadError(4001, f"{item.filename}: the media cannot be decoded: it is damaged, or not what its "
                                "name says")
    if kind == "image":
        size = filetypes.picture_size(item.path) or ((info.width, info.height) if info.width and info.height else None)
        problem = filetypes.too_large(item.filename, size)
        if problem:
            raise UploadError(4001, problem)
        if not (info.width and info.height):
            raise UploadError(4001, f"{item.filename}: cannot be read as a picture: export it again")
    if kind == "text":
        try:
            transcripts.read(item.path, item.filename)
        except transcripts.ScriptError as exc:
            raise UploadError(4001, str(exc)) from None
    if info.audio_codec in FLOAT_PCM:
        at = first_non_finite(item.path)
        if at is not None:
            raise UploadError(4001, f"{item.filename}: its samples are not numbers from {int(at // 60)}:"
                                    f"{at % 60:04.1f} on (NaN or infinity): export it again, e.g. as 16-bit WAV")


def check_type(item: Incoming, local: bool = True) -> tuple[str, str]:
    """(extension, kind) of an accepted file (the local formats, or the cloud's); UploadError 4001 otherwise."""
    ext = filetypes.extension(item.filename)
    kind = filetypes.kind_of(ext, local)
    accepted = ", ".join(sorted(filetypes.accepted(local)))
    if kind is None:
        raise UploadError(4001, f"{item.filename}: unsupported type; accepted: {accepted}")
    if not filetypes.content_matches(ext, item.head):
        raise UploadError(4001, f"{item.filename}: the content is not a real .{ext} file; accepted: {accepted}")
    if kind == "text" and item.size > filetypes.TEXT_MAX_BYTES:
        raise UploadError(4002, f"{item.filename}: captions, lyrics and scripts may be at most "
                                f"{filetypes.TEXT_MAX_BYTES // 1024} KB")
    return ext, kind
