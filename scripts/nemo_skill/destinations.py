"""Where a video is sent: each place's frame, longest length, audio bitrate and size cap; sizes like "25MB".

Shared by the client (`--for`, `--max-size`) and the local backend's director and renderer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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


def output_options(place: str | None, max_size: str | None) -> tuple[dict[str, int], str]:
    """The render request's output options for `--for NAME` / `--max-size SIZE`, and the words for the prompt.

    ValueError names what is wrong (an unknown place, a size that is not one)."""
    options: dict[str, int] = {}
    words = ""
    if place:
        key = re.sub(r"[^a-z]", "", place.lower())
        key = {"instagram": "reels", "ytshorts": "shorts", "mail": "email", "yt": "youtube"}.get(key, key)
        if key not in DESTINATIONS:
            raise ValueError(f"--for {place!r}: say one of {', '.join(DESTINATIONS)}")
        target = DESTINATIONS[key]
        words = f" for {key}"
        options["audioKbps"] = target.audio_kbps
        if target.max_bytes:
            options["maxBytes"] = target.max_bytes
    if max_size:
        cap = parse_size(max_size)
        options["maxBytes"] = min(cap, options.get("maxBytes", cap))
    return options, words
