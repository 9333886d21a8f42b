"""Where a video is sent: each place's frame, longest length, audio bitrate and size cap; sizes like "25MB".

Shared by the client (`--for`, `--max-size`) and the local backend's director and renderer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Destination:
    """Where a video is sent: its frame, the longest it takes, the audio it needs and the size it accepts."""

    name: str
    aspect: str | None            # None: keep the draft's
    max_seconds: float | None
    max_bytes: int | None
    audio_kbps: int


MB = 1000 * 1000
# Upload limits as the platforms documented them in 2025 (chat apps: what a free account or a bot can send).
DESTINATIONS: dict[str, Destination] = {
    "tiktok": Destination("TikTok", "9:16", 600, 287 * MB, 128),
    "reels": Destination("Instagram Reels", "9:16", 180, 250 * MB, 128),
    "shorts": Destination("YouTube Shorts", "9:16", 180, 256 * MB, 128),
    "youtube": Destination("YouTube", "16:9", None, None, 192),
    "discord": Destination("Discord", None, None, 10 * MB, 128),
    "telegram": Destination("Telegram", None, None, 50 * MB, 128),
    "whatsapp": Destination("WhatsApp", None, None, 100 * MB, 128),
    "email": Destination("e-mail", None, None, 25 * MB, 128),
}


def parse_size(text: str) -> int:
    """'25MB', '10 mb', '1.5GB', '800k' -> bytes (decimal units, as the platforms state them)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a size such as 25MB")
    value = float(match[1]) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[match[2]]
    if not 100_000 <= value <= 4e9:
        raise ValueError(f"{text!r} is outside 0.1 MB to 4 GB")
    return int(value)


@dataclass(frozen=True)
class Output:
    """What the user asked of the file itself: where it goes, its frame, its size cap and audio rate. It travels as
    data: to the video agent as the chat request's `state_delta.output`, and to the renderer as the render
    request's `output` (and the frame in the draft it renders), never as words added to the user's."""

    destination: str | None = None       # a key of DESTINATIONS
    aspect: str | None = None            # "16:9", "9:16", "1:1"
    max_bytes: int | None = None
    audio_kbps: int | None = None

    def render_options(self) -> dict[str, int]:
        """The render request's `output` fields (the cloud's names)."""
        options = {"maxBytes": self.max_bytes, "audioKbps": self.audio_kbps}
        return {key: value for key, value in options.items() if value is not None}

    def state(self) -> dict[str, Any]:
        """What the video agent is told (`state_delta.output`); empty when nothing was asked."""
        values = {"destination": self.destination, "aspect": self.aspect, "max_bytes": self.max_bytes}
        return {key: value for key, value in values.items() if value is not None}


AS_ASKED = Output()          # no options: the file as the words and the draft make it

# Where the words say the video goes ("for TikTok", "to Discord") and how large it may be ("under 8 MB"): read by
# the client's router and by the local director alike.
PLACE_WORDS = [(re.compile(rf"\b(?:for|to|on|via|by)\s+(?:an?\s+)?{pattern}", re.I), name) for pattern, name in (
    (r"tik\s*tok", "tiktok"), (r"(?:instagram\s+)?reels?", "reels"), (r"(?:youtube\s+)?shorts", "shorts"),
    (r"youtube", "youtube"), (r"discord", "discord"), (r"telegram", "telegram"), (r"whats\s*app", "whatsapp"),
    (r"e-?mail", "email"))]
SIZE_WORDS = re.compile(r"\b(?:under|below|at most|max(?:imum)?|smaller than|less than|within)\s+"
                        r"(\d+(?:\.\d+)?\s*[kmg]i?b)\b", re.I)


def place_in(words: str) -> str | None:
    """The destination the words name ("for Discord" -> "discord"), or None."""
    return next((name for pattern, name in PLACE_WORDS if pattern.search(words)), None)


def size_in(words: str) -> str | None:
    """The size cap the words state ("under 8 MB" -> "8 MB"), or None."""
    found = SIZE_WORDS.search(words)
    return found[1] if found else None


def destination_key(place: str) -> str:
    """The DESTINATIONS key for what a user calls a place ("Instagram" is reels); ValueError names the choices."""
    key = re.sub(r"[^a-z]", "", place.lower())
    key = {"instagram": "reels", "ytshorts": "shorts", "mail": "email", "yt": "youtube"}.get(key, key)
    if key not in DESTINATIONS:
        raise ValueError(f"--for {place!r}: say one of {', '.join(DESTINATIONS)}")
    return key


def output_for(place: str | None, max_size: str | None, aspect: str | None = None) -> Output:
    """The output for `--for NAME`, `--max-size SIZE` and `--aspect`: a place's frame, audio rate and cap; a size
    cap alone; the smaller cap when both are given. ValueError names what is wrong."""
    key = destination_key(place) if place else None
    target = DESTINATIONS[key] if key else None
    cap = target.max_bytes if target else None
    if max_size:
        asked = parse_size(max_size)
        cap = min(asked, cap) if cap else asked
    return Output(key, aspect, cap, target.audio_kbps if target else None)
