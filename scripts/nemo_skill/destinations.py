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
    "whatsapp": Destination("WhatsApp", None, None, 16 * MB, 128),        # what it plays as a video; larger: a file
    "email": Destination("e-mail", None, None, 25 * MB, 128),
}


CONTAINER_MARGIN = 0.96          # of a size cap, for the MP4 boxes and the encoder's rate-control slack
MUXING_KBPS = 8                  # what the container and AAC framing add on top of the two streams
# Smaller frames to try when a cap cannot be met at the asked size (by the frame's shorter side), and audio rates.
FRAME_SIDES = (1080, 720, 540, 360)
LAST_RESORT_SIDE = 240
AUDIO_KBPS = (192, 160, 128, 96, 64)
LAST_RESORT_AUDIO_KBPS = (48, 32)
# The least video rate at which our pictures hold together: bits a pixel a frame (about 0.75 Mbit/s at 1080p30,
# 85 kbit/s at 640x360). Below it a cap is met by a smaller frame, not by a smeared one.
MIN_BITS_PER_PIXEL = 0.012


def capped_video_kbps(max_bytes: int, seconds: float, audio_kbps: int, margin: float = CONTAINER_MARGIN) -> int:
    """The video rate (kbit/s) that keeps `seconds` of video plus its audio under `max_bytes`; may be <= 0."""
    total_kbps = max_bytes * 8 * margin / max(seconds, 0.1) / 1000
    return int(total_kbps - audio_kbps - MUXING_KBPS)


def least_video_kbps(width: int, height: int, fps: float) -> int:
    """The least video rate at which this frame size still looks like itself (MIN_BITS_PER_PIXEL)."""
    return max(24, round(MIN_BITS_PER_PIXEL * width * height * fps / 1000))


def scaled(width: int, height: int, side: int) -> tuple[int, int]:
    """The frame with its shorter side `side`, the aspect kept, both even."""
    scale = side / min(width, height)
    return int(width * scale) & ~1, int(height * scale) & ~1


@dataclass(frozen=True)
class Fit:
    """The frame and rates a capped video is encoded at."""

    width: int
    height: int
    audio_kbps: int
    video_kbps: int
    smaller: bool            # the frame or the audio rate was lowered to meet the cap

    def said(self) -> str:
        """How the settings are told to the user."""
        lowered = ": made smaller to fit" if self.smaller else ""
        return f"{self.width}x{self.height}, {self.audio_kbps} kbit/s audio{lowered}"


def fit_cap(max_bytes: int, seconds: float, width: int, height: int, fps: float, audio_kbps: int) -> Fit:
    """The largest frame and best audio at which `seconds` fit into `max_bytes` at a watchable video rate: the asked
    frame and audio first, then smaller frames (1080, 720, 540, 360 on the shorter side) at each audio rate down
    to 64 kbit/s, then 240 and lower audio rates as a last resort. ValueError says what would fit instead."""
    sides = [s for s in FRAME_SIDES if s < min(width, height)]
    sizes = [(width, height), *(scaled(width, height, s) for s in sides)]
    rates = [audio_kbps, *(a for a in AUDIO_KBPS if a < audio_kbps and a >= 64)]
    tries = [(size, rate) for size in sizes for rate in rates]
    last = [scaled(width, height, LAST_RESORT_SIDE)] if min(width, height) > LAST_RESORT_SIDE else []
    tries += [(size, rate) for size in last for rate in rates]
    tries += [(size, rate) for size in [*sizes, *last] for rate in LAST_RESORT_AUDIO_KBPS if rate < audio_kbps]
    for (w, h), rate in tries:
        video = capped_video_kbps(max_bytes, seconds, rate)
        if video >= least_video_kbps(w, h, fps):
            return Fit(w, h, rate, video, (w, h, rate) != (width, height, audio_kbps))
    smallest = scaled(width, height, LAST_RESORT_SIDE) if last else (width, height)
    need = (least_video_kbps(*smallest, fps) + LAST_RESORT_AUDIO_KBPS[-1] + MUXING_KBPS) * 1000 / 8 / CONTAINER_MARGIN
    longest = max_bytes / need
    raise ValueError(f"{seconds:.0f} s cannot fit into {max_bytes / MB:g} MB, even at {smallest[0]}x{smallest[1]} with "
                     f"{LAST_RESORT_AUDIO_KBPS[-1]} kbit/s audio: allow {need * seconds / MB:.1f} MB, or trim it to "
                     f"{longest:.0f} s")


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
