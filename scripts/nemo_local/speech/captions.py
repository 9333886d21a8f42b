"""Captions from timed words: the user's corrections, pages of at most two lines broken at phrase boundaries,
and the SRT and WebVTT files written beside the video. Pure functions."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from nemo_local.speech.words import Word

MAX_GAP_S = 0.7           # a pause this long starts a new caption
HOLD_S = 0.6              # a caption stays this long after its last word (less if the next one starts)
SENTENCE_END = re.compile(r"[.?!。？！…]$")
CLAUSE_END = re.compile(r"[,;:，；：]$")
JOINERS = frozenset({   # a caption may start with one of these: they begin a phrase
    "and", "but", "or", "so", "because", "with", "from", "to", "for", "of", "that", "which", "when", "while", "if",
    "as", "at", "in", "on", "by", "than", "then"})


CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def is_cjk(text: str) -> bool:
    return bool(CJK.search(text))


def join(words: list[Word]) -> str:
    """The words as one line: a space between words, none between two Chinese (or Japanese) ones."""
    out = ""
    for k, w in enumerate(words):
        if k and not (is_cjk(words[k - 1].text[-1:]) and is_cjk(w.text[:1])):
            out += " "
        out += w.text
    return out


def width(text: str) -> int:
    """A line's length in Latin characters: a Chinese character takes about two."""
    return len(text) + len(CJK.findall(text))


CJK_FONTS = (   # where systems keep a font with Chinese characters (Pillow's own font has none)
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc", "/System/Library/Fonts/STHeiti Medium.ttc", "C:/Windows/Fonts/msyh.ttc")


def cjk_font() -> str | None:
    """A font file with Chinese characters: NEMO_CAPTION_FONT, else one of the usual system places."""
    configured = os.environ.get("NEMO_CAPTION_FONT", "").strip()
    if configured:
        return configured if Path(configured).is_file() else None
    return next((path for path in CJK_FONTS if Path(path).is_file()), None)


@dataclass
class Page:
    lines: list[list[Word]]
    start: float
    end: float

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line]

    def text(self) -> str:
        return "\n".join(join(line) for line in self.lines)


def fix(words: list[Word], fixes: list[tuple[str, str]]) -> list[Word]:
    """Apply the user's corrections: each (wrong, right) replaces whole words, ignoring case and keeping the
    punctuation around them; a replacement of several words shares the original word's time."""
    out = list(words)
    for wrong, right in fixes:
        pattern = [re.escape(part) for part in wrong.split()]
        if not pattern:
            continue
        size, result, i = len(pattern), [], 0
        while i < len(out):
            window = out[i: i + size]
            bare = [re.sub(r"^[^\w']+|[^\w']+$", "", w.text) for w in window]
            if len(window) == size and all(re.fullmatch(p, b, re.I) for p, b in zip(pattern, bare, strict=True)):
                lead = re.match(r"^[^\w']*", window[0].text)
                trail = re.search(r"[^\w']*$", window[-1].text)
                text = (lead[0] if lead else "") + right + (trail[0] if trail else "")
                parts = text.split() or [text]
                start, end = window[0].start, window[-1].end
                step = (end - start) / len(parts)
                result += [Word(start + k * step, start + (k + 1) * step, part, window[0].probability)
                           for k, part in enumerate(parts)]
                i += size
            else:
                result.append(out[i])
                i += 1
        out = result
    return out


def _split(words: list[Word], max_chars: int) -> list[list[Word]]:
    """One or two lines: one when it fits, else the split that balances the lines, preferring a clause end."""
    if width(join(words)) <= max_chars or len(words) < 2:
        return [words]
    best, best_score = 1, float("inf")
    for k in range(1, len(words)):
        first, second = width(join(words[:k])), width(join(words[k:]))
        score = max(first, second) - (6 if CLAUSE_END.search(words[k - 1].text) else 0)
        if max(first, second) > max_chars:
            score += 1000
        if score < best_score:
            best, best_score = k, score
    return [words[:best], words[best:]]


def wrap(words: list[Word], max_chars: int) -> list[list[Word]]:
    """A line of words as rows of at most `max_chars`: balanced in two when two hold it, else filled greedily
    (a user's long cue or lyric line is shown whole, never cut into separate captions)."""
    two = _split(words, max_chars)
    if all(width(join(row)) <= max_chars for row in two) or len(words) < 3:
        return two
    rows: list[list[Word]] = [[]]
    for word in words:
        if rows[-1] and width(join([*rows[-1], word])) > max_chars:
            rows.append([])
        rows[-1].append(word)
    return rows


def _phrase_start(words: list[Word]) -> int:
    """Where to end a full caption: after a clause, or before a word that begins a phrase, in its second half
    (so the next caption starts a phrase, not with a stranded last word); else after all of it."""
    for k in range(len(words) - 1, max(1, len(words) // 2) - 1, -1):
        if CLAUSE_END.search(words[k - 1].text) or words[k].text.lower().strip(",.") in JOINERS:
            return k
    return len(words)


def pages(words: list[Word], max_chars: int) -> list[Page]:
    """Group words into captions of at most two lines of `max_chars`, starting a new caption after a sentence,
    at a pause, or when two lines are full. Each shows from its first word until HOLD_S after its last."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current:
            full = any(width(join(line)) > max_chars for line in _split([*current, word], max_chars))
            if word.start - current[-1].end > MAX_GAP_S or SENTENCE_END.search(current[-1].text):
                groups.append(current)
                current = []
            elif full:
                cut = _phrase_start(current)
                groups.append(current[:cut])
                current = current[cut:]
        current.append(word)
    if current:
        groups.append(current)
    out = []
    for k, group in enumerate(groups):
        end = group[-1].end + HOLD_S
        if k + 1 < len(groups):
            end = min(end, groups[k + 1][0].start)
        out.append(Page(_split(group, max_chars), group[0].start, max(end, group[-1].end)))
    return out


def _stamp(seconds: float, comma: bool) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{',' if comma else '.'}{ms:03d}"


def srt(captions: list[Page], offset: float = 0.0) -> str:
    """SubRip: numbered cues; `offset` seconds are taken off every time (a clip cut from the middle)."""
    cues = [f"{n}\n{_stamp(p.start - offset, True)} --> {_stamp(p.end - offset, True)}\n{p.text()}\n"
            for n, p in enumerate(captions, 1)]
    return "\n".join(cues)


def vtt(captions: list[Page], offset: float = 0.0) -> str:
    """WebVTT, with each word's time as an inline timestamp (players that know karaoke cues can follow it)."""
    cues = []
    for page in captions:
        lines = []
        for line in page.lines:
            text = ""
            for k, word in enumerate(line):
                first = k == 0 and line is page.lines[0]
                if k and not (is_cjk(line[k - 1].text[-1:]) and is_cjk(word.text[:1])):
                    text += " "
                text += word.text if first else f"<{_stamp(word.start - offset, False)}>{word.text}"
            lines.append(text)
        cues.append(f"{_stamp(page.start - offset, False)} --> {_stamp(page.end - offset, False)}\n"
                    + "\n".join(lines) + "\n")
    return "WEBVTT\n\n" + "\n".join(cues)


def lrc(captions: list[Page], offset: float = 0.0) -> str:
    """Enhanced LRC: a line per page at its start, each word after its own time; a line with a time and no words
    where a page ends before the next begins (so a player shows nothing there either)."""
    def stamp(seconds: float) -> str:
        centi = max(0, round((seconds - offset) * 100))
        return f"{centi // 6000:02d}:{centi // 100 % 60:02d}.{centi % 100:02d}"
    out = []
    for k, page in enumerate(captions):
        words = " ".join(f"<{stamp(w.start)}>{w.text}" for w in page.words)
        out.append(f"[{stamp(page.start)}]{words}")
        if k + 1 == len(captions) or captions[k + 1].start > page.end + 0.05:
            out.append(f"[{stamp(page.end)}]")
    return "\n".join(out) + "\n"


def within(captions: list[Page], start: float, end: float) -> list[Page]:
    """The captions of a clip from `start` to `end` seconds (words outside it left out)."""
    out = []
    for page in captions:
        lines = [[w for w in line if start <= w.start < end] for line in page.lines]
        lines = [line for line in lines if line]
        if lines:
            out.append(Page(lines, max(page.start, start), min(page.end, end)))
    return out
