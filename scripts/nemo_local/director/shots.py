"""The director's rules for the user's pictures and tracks: which audio, which pictures in which order, how
often to cut, which transition, and whether the visualizer is drawn over them. Part of the director (the only
place words become a draft); `montage` places the cuts on the music.

Draft keys written here (`m`): `pictures` (file ids in the order they show), `cut_beats` (beats per shot,
0 = one shot per section), `logo` (the image in the corner), `transition` (cut, crossfade, flash),
`visualizer` (bool), `frost` (bool: one photo is blurred where the visualizer draws over it; on unless false),
`clip_sound` (bool: the clips' own sound under their shots, the music ducked; muted by default), `seen` (how
many of the session's files the draft has taken in, so a new upload joins the montage).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nemo_local.director.montage import Rhythm, plan

VISUAL = ("image", "video")
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
            "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12}
THING = r"(?:photos?|pictures?|images?|pics?|clips?|shots?|videos?)"
NUMBER = r"(\d{1,3}|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|last)" \
         r"(?:st|nd|rd|th)?"
REMOVE = re.compile(rf"\b(?:drop|remove|delete|skip|take out|lose)\s+(?:the\s+)?(?:{NUMBER}\s+{THING}|{THING}\s+"
                    rf"(?:no\.?\s*|number\s+|#)?{NUMBER})\b")
SWAP_TWO = re.compile(rf"\bswap (?:the )?first two(?: {THING})?\b")
SWAP = re.compile(rf"\bswap (?:the )?(?:{THING} )?(?:#)?{NUMBER}(?: {THING})? (?:and|with) (?:the )?(?:{THING} )?"
                  rf"(?:#)?{NUMBER}\b")
USE_TRACK = re.compile(r"\b(?:use|pick|take|switch to|with)\s+(?:the\s+)?" + NUMBER +
                       r"\s+(?:track|song|audio|file|recording|tune)\b")
VISUALIZER_OFF = re.compile(rf"\bonly (?:my |the )?{THING}|\b(?:no|without(?: the| a)?) visuali[sz]ers?\b|"
                            r"\b(?:hide|remove|turn off|drop) (?:the )?visuali[sz]er\b")
VISUALIZER_ON = re.compile(rf"\bvisuali[sz]er (?:over|on top)|\b(?:over|on top of) (?:my |the |all )?"
                           rf"(?:{THING}|them)\b|\b(?:show|add|with|bring back) (?:the |a )?visuali[sz]er\b")
CUTS = [   # (pattern, how cut_beats changes)
    (re.compile(r"\bcuts?\b[^.;]*\b(?:every|each) beat\b|\b(?:every|each) beat\b[^.;]*\bcuts?\b"), lambda n: 1),
    (re.compile(r"\b(?:every|each) (?:two|2) bars\b"), lambda n: 8),
    (re.compile(r"\b(?:every|each|per|one) bar\b"), lambda n: 4),
    (re.compile(rf"\b(?:one|a|1) {THING} (?:per|for each|each|a) section\b|\bper section\b"), lambda n: 0),
    (re.compile(r"\b(?:faster|quicker|more|shorter|rapid) cuts\b|\bcut (?:faster|quicker|more often)\b"),
     lambda n: max(1, (n or 8) // 2)),
    (re.compile(r"\b(?:slower|fewer|longer) cuts\b|\bcut (?:slower|less often)\b"), lambda n: min(16, (n or 8) * 2)),
]
FROST_OFF = re.compile(r"\b(?:sharp|crisp|unblurred|clear) (?:photo|picture|background|image)s?\b|"
                       r"\b(?:photo|picture|background|image)s? (?:sharp|crisp|unblurred)\b|"
                       r"\bno (?:blur|frost\w*)\b|\b(?:don'?t|do not|never) (?:blur|frost)\b")
FROST_ON = re.compile(r"\bfrost(?:ed|ing)?\b|\bblur (?:the |my )?(?:photo|picture|background|image)\b")
CLIP_SOUND_OFF = re.compile(r"\bmute (?:the |my |all )?(?:clips|videos)\b|\bno clip sound\b|"
                            r"\bwithout (?:the |my )?(?:clips?|videos?)'?s? (?:own )?(?:sound|audio)\b")
CLIP_SOUND_ON = re.compile(r"\b(?:with|keep|use|include)(?: the| my)? (?:clips?|videos?)'?s? (?:own )?"
                           r"(?:sound|audio)\b|\bclip sound\b|\bunmute (?:the |my )?(?:clips|videos)\b")
TRANSITIONS = [
    (re.compile(r"\bcross ?-?fades?\b|\bfade between\b|\bdissolves?\b"), "crossfade"),
    (re.compile(r"\bflash ?-?cuts?\b|\bflash (?:between|transitions?)\b"), "flash"),
    (re.compile(r"\bhard cuts?\b|\bno transitions?\b|\bplain cuts?\b"), "cut"),
]


@dataclass
class Edit:
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rest: str = ""        # the words with what was consumed here removed (so "drop the third photo" is no drop)


def _index(word: str, count: int) -> int | None:
    """A 1-based ordinal word or number as a 0-based index into `count` items."""
    n = count if word == "last" else ORDINALS.get(word) or (int(word) if word.isdigit() else 0)
    return n - 1 if 1 <= n <= count else None


def choose_audio(lowered: str, files: list[dict[str, Any]], current: str | None, seen: int, edit: Edit
                 ) -> dict[str, Any] | None:
    """The audio the words name ("use the second track", a file name), else the one in use (unless an audio
    was uploaded since), else the last upload. A video with sound stands in when there is no audio."""
    audio = [f for f in files if f["kind"] == "audio"]
    if not audio:
        video = [f for f in files if f["kind"] == "video" and f["info"].get("has_audio")]
        return video[-1] if video else None
    wanted = USE_TRACK.search(lowered)
    if wanted:
        index = _index(wanted[1], len(audio))
        if index is None:
            edit.notes.append(f"There are {len(audio)} audio files; say which one, e.g. \"use the first track\".")
        else:
            return audio[index]
    for f in sorted(audio, key=lambda f: -len(f["filename"])):
        name = f["filename"].lower()
        stem = name.rsplit(".", 1)[0]
        if name in lowered or (len(stem) >= 3 and re.search(rf"(?<![\w.]){re.escape(stem)}(?![\w])", lowered)):
            return f
    fresh = [f for f in files[seen:] if f["kind"] == "audio"]
    if current and not fresh:
        kept = next((f for f in audio if f["file_id"] == current), None)
        if kept is not None:
            return kept
    return audio[-1]


LOGO = re.compile(r"(?:^|[\s\"'“‘(])([\w.\-]+\.(?:png|jpe?g|webp|gif))[\"'”’)]?\s+(?:as|for)\s+(?:the |a |my |our )?"
                  r"logo\b")
NO_LOGO = re.compile(r"\b(?:no|remove|without|drop|hide)(?: the| my)? logo\b")


def logo(text: str, meta: dict[str, Any], files: list[dict[str, Any]], edit: Edit) -> None:
    """"use logo.png as the logo" (or "add my logo" with an image named *logo*): that image goes in the corner
    (`m.logo`) and out of the montage; "no logo" removes it."""
    lowered = text.lower()
    if NO_LOGO.search(lowered):
        if meta.pop("logo", None):
            edit.changes.append("logo removed")
        return
    images = [f for f in files if f["kind"] == "image"]
    named = LOGO.search(lowered)
    found = None
    if named:
        found = next((f for f in images if f["filename"].lower() == named[1]), None)
        if found is None:
            edit.notes.append(f"No uploaded image is called {named[1]}; upload it, then say which is the logo.")
    elif re.search(r"\b(?:add|put|show|with|use)\b[^.]*\blogo\b", lowered):
        found = next((f for f in reversed(images) if "logo" in f["filename"].lower()), None)
    if found is not None and meta.get("logo") != found["file_id"]:
        meta["logo"] = found["file_id"]
        edit.changes.append(f"logo {found['filename']} in the corner")


def picture_order(lowered: str, meta: dict[str, Any], files: list[dict[str, Any]], edit: Edit,
                  existing: list[str]) -> list[str]:
    """The montage's pictures (file ids), in order, after this message's words (the logo is not one)."""
    visuals = [f["file_id"] for f in files if f["kind"] in VISUAL and f["file_id"] != meta.get("logo")]
    order = [i for i in (meta.get("pictures") or existing) if i in visuals]
    seen = int(meta.get("seen", 0) or 0)
    seen_ids = {f["file_id"] for f in files[:seen]}
    added = [v for v in visuals if v not in seen_ids and v not in order]
    order += added
    if added and len(order) > 1:
        edit.changes.append(f"{len(order)} pictures")
    rest = lowered
    if re.search(r"\b(?:in )?(?:the )?(?:order (?:i|they were) upload(?:ed)?|upload(?:ed)? order|original order)\b",
                 rest):
        order = list(visuals)
        edit.changes.append("pictures in upload order")
    elif re.search(r"\bshuffle|\brandom order\b|\bmix (?:them|the (?:photos|pictures)) up\b", rest):
        shuffled = list(order)
        random.Random(",".join(order)).shuffle(shuffled)
        order = shuffled
        edit.changes.append("pictures shuffled")
    swap = SWAP_TWO.search(rest)
    pair = (0, 1) if swap else None
    if not swap:
        swap = SWAP.search(rest)
        if swap:
            pair = (_index(swap[1], len(order)), _index(swap[2], len(order)))   # type: ignore[assignment]
    if swap:
        rest = rest.replace(swap[0], " ")
        if pair is None or None in pair or len(order) < 2:
            edit.notes.append(f"There are {len(order)} pictures; say which two to swap, e.g. \"swap 1 and 3\".")
        else:
            a, b = pair
            order[a], order[b] = order[b], order[a]
            edit.changes.append(f"swapped pictures {a + 1} and {b + 1}")
    removed = REMOVE.search(rest)
    if removed:
        rest = rest.replace(removed[0], " ")
        index = _index(removed[1] or removed[2], len(order))
        if index is None:
            edit.notes.append(f"There are {len(order)} pictures; say which one to drop, e.g. \"drop the 2nd photo\".")
        else:
            gone = order.pop(index)
            name = next((f["filename"] for f in files if f["file_id"] == gone), gone)
            edit.changes.append(f"removed picture {index + 1} ({name})")
    edit.rest = rest
    return order


def options(lowered: str, meta: dict[str, Any], edit: Edit) -> str:
    """Cut pace, transition and visualizer words into `meta`; returns the words with those phrases removed (so
    "every two bars" does not also pick the bars style)."""
    for pattern, change in CUTS:
        found = pattern.search(lowered)
        if found:
            meta["cut_beats"] = change(int(meta.get("cut_beats", 4)))
            every = meta["cut_beats"]
            edit.changes.append("one picture per section" if every == 0 else
                                f"a cut every {every} beat{'s' if every != 1 else ''}")
            lowered = lowered.replace(found[0], " ")
            break
    lowered = _first(lowered, meta, edit, "transition", [(p, name, f"transition {name}") for p, name in TRANSITIONS])
    lowered = _first(lowered, meta, edit, "clip_sound", [(CLIP_SOUND_OFF, False, "clips muted"),
                                                         (CLIP_SOUND_ON, True, "clips' own sound on")])
    off, on = VISUALIZER_OFF.search(lowered), VISUALIZER_ON.search(lowered)
    if off:
        meta["visualizer"] = False
        edit.changes.append("visualizer off")
    elif on:
        meta["visualizer"] = True
        edit.changes.append("visualizer over the pictures")
    for found in (off, on):
        if found:
            lowered = lowered.replace(found[0], " ")
    return _first(lowered, meta, edit, "frost", [(FROST_OFF, False, "the photo stays sharp under the visualizer"),
                                                 (FROST_ON, True, "the photo frosted under the visualizer")])


def _first(lowered: str, meta: dict[str, Any], edit: Edit, key: str,
           choices: list[tuple[re.Pattern[str], Any, str]]) -> str:
    """The first of `choices` (pattern, value, what the reply says) that the words hold sets `meta[key]`; the
    words are returned without its phrase."""
    for pattern, value, said in choices:
        found = pattern.search(lowered)
        if found:
            meta[key] = value
            edit.changes.append(said)
            return lowered.replace(found[0], " ")
    return lowered


def video_segments(order: list[str], files: list[dict[str, Any]], meta: dict[str, Any], duration_ms: int,
                   rhythm: Callable[[], Rhythm | None]) -> list[dict[str, Any]]:
    """The video track: the pictures in `order` cut on the music (the rhythm is asked for only when there is
    more than one picture to cut between)."""
    by_id = {f["file_id"]: f for f in files}
    pictures = [by_id[i] for i in order if i in by_id]
    meta["pictures"] = [p["file_id"] for p in pictures]
    return plan(rhythm() if len(pictures) > 1 else None, duration_ms, pictures, int(meta.get("cut_beats", 4)))
