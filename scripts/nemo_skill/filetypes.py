"""Accepted file types, and what a file really is judged by its first bytes (shared with the local backend)."""

from __future__ import annotations

import re
from pathlib import Path

AUDIO = frozenset({"mp3", "wav", "m4a", "aac", "flac"})
VIDEO = frozenset({"mp4", "mov", "avi", "webm", "mkv"})
IMAGE = frozenset({"jpg", "jpeg", "png", "gif", "webp"})
ACCEPTED = AUDIO | VIDEO | IMAGE                      # what the NemoVideo cloud takes
# The local backend decodes more: Ogg Vorbis/Opus (game, podcast and Linux audio) and AIFF (studio exports).
LOCAL_AUDIO = AUDIO | {"ogg", "oga", "opus", "aiff", "aif"}
# ... and the user's own words for the captions: subtitles, lyrics, a script (at most TEXT_MAX_BYTES).
TEXT = frozenset({"srt", "vtt", "lrc", "txt"})
TEXT_MAX_BYTES = 1 << 20
LOCAL_ACCEPTED = LOCAL_AUDIO | VIDEO | IMAGE | TEXT
HEAD_BYTES = 64
# The largest picture taken: 200-megapixel phone photos pass; past this, decoders refuse (ffmpeg near 268 MP) or
# need gigabytes.
MAX_PICTURE_PIXELS = 200_000_000

# Which container, found by sniffing, each extension may hold.
EXPECTED_CONTAINER = {
    "mp3": {"mp3"}, "wav": {"wav"}, "flac": {"flac"}, "aac": {"adts"}, "m4a": {"isobmff"},
    "mp4": {"isobmff"}, "mov": {"isobmff"}, "avi": {"avi"}, "webm": {"ebml"}, "mkv": {"ebml"},
    "ogg": {"ogg"}, "oga": {"ogg"}, "opus": {"ogg"}, "aiff": {"aiff"}, "aif": {"aiff"},
    "jpg": {"jpeg"}, "jpeg": {"jpeg"}, "png": {"png"}, "gif": {"gif"}, "webp": {"webp"},
}


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def accepted(local: bool) -> frozenset[str]:
    return LOCAL_ACCEPTED if local else ACCEPTED


def kind_of(ext: str, local: bool = False) -> str | None:
    """'audio', 'video', 'image', or None for an extension that is not accepted (by the cloud, or locally)."""
    ext = ext.lower().lstrip(".")
    if ext in (LOCAL_AUDIO if local else AUDIO):
        return "audio"
    if ext in VIDEO:
        return "video"
    if ext in IMAGE:
        return "image"
    if local and ext in TEXT:
        return "text"
    return None


def sniff(head: bytes) -> str | None:
    """The container a file's first bytes show, or None when they match no accepted type."""
    if len(head) < 4:
        return None
    if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "isobmff"
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WAVE": "wav", b"AVI ": "avi", b"WEBP": "webp"}.get(head[8:12])
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"FORM" and len(head) >= 12 and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "ebml"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:3] == b"ID3":
        return "mp3"
    if head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:  # ADTS sync word (layer bits 00)
        return "adts"
    if head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0:  # MPEG audio, layer I-III
        return "mp3"
    return None


def looks_like_text(ext: str, head: bytes) -> bool:
    """True when the first bytes are UTF-8 text of the kind the extension names (no NUL, a WEBVTT header,
    an SRT cue number and times, an LRC tag)."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:   # only a character cut at the end of the head is forgiven
            return False
        text = head[: exc.start].decode("utf-8")
    stripped = text.lstrip()
    if ext == "vtt":
        return stripped.startswith("WEBVTT")
    if ext == "srt":
        return bool(re.match(r"\d+\s*\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->", stripped))
    if ext == "lrc":
        return bool(re.match(r"\[(?:\d{1,3}:\d{2}|[a-z]{2,6}:)", stripped, re.I))
    return bool(stripped)


def content_matches(ext: str, head: bytes) -> bool:
    """True when the bytes are what the extension claims: a text file named .mp3 is False."""
    ext = ext.lower().lstrip(".")
    if ext in TEXT:
        return looks_like_text(ext, head)
    return sniff(head) in EXPECTED_CONTAINER.get(ext, set())


def picture_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF, WEBP or JPEG header, without decoding; None when it cannot be told."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        chunk = head[12:16]
        if chunk == b"VP8X":
            return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
        if chunk == b"VP8L":
            bits = int.from_bytes(head[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    if head[:2] == b"\xff\xd8":
        at = 2
        while at + 9 < len(head) and head[at] == 0xFF:
            marker, length = head[at + 1], int.from_bytes(head[at + 2:at + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(head[at + 7:at + 9], "big"), int.from_bytes(head[at + 5:at + 7], "big")
            at += 2 + length
    return None


def too_large(name: str, size: tuple[int, int] | None) -> str | None:
    """Why a picture of this size is refused (in megapixels), or None."""
    if size is None or size[0] * size[1] <= MAX_PICTURE_PIXELS:
        return None
    return (f"{name} is {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.0f} megapixels); pictures up to "
            f"{MAX_PICTURE_PIXELS / 1e6:.0f} megapixels are taken: make it smaller")


def check_local_file(path: Path, max_bytes: int | None, local: bool = False) -> str:
    """The kind of a file the user named, or a ValueError saying why it cannot be uploaded.

    `max_bytes` None means no fixed limit (the local backend checks the free disk itself)."""
    shown = path.name if len(path.name) <= 80 else path.name[:60] + "..." + path.name[-12:]
    try:
        if not path.is_file():
            raise ValueError(f"{shown}: no such file" if not path.exists() else f"{shown}: not a file")
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as exc:
        raise ValueError(f"{shown}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    ext = extension(path.name)
    kind = kind_of(ext, local)
    if kind is None:
        hint = "" if local or ext not in LOCAL_ACCEPTED else " (the local backend takes it: add --local)"
        raise ValueError(f"{shown}: .{ext or '?'} files are not accepted by the cloud{hint}; use one of: "
                         + ", ".join(sorted(accepted(local))))
    if kind == "text" and size > TEXT_MAX_BYTES:
        raise OverflowError(f"{shown} is {size / 1024:.0f} KB; captions, lyrics and scripts may be at most "
                            f"{TEXT_MAX_BYTES // 1024} KB")
    if max_bytes is not None and size > max_bytes:
        raise OverflowError(f"{shown} is {size / 1048576:.0f} MB; the cloud's limit is {max_bytes // 1048576} MB: "
                            "compress or trim it first, or use --local (no size limit)")
    if not content_matches(ext, head):
        raise ValueError(f"{path.name}: the content is not a real .{ext} file; export it again as .{ext}")
    if kind == "image":
        try:
            problem = too_large(shown, picture_size(path))
        except OSError as exc:
            raise ValueError(f"{shown}: cannot be read ({exc.strerror or type(exc).__name__})") from None
        if problem:
            raise OverflowError(problem)
    return kind
