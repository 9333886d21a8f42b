"""The user's own words for the captions: an SRT, a WebVTT, an LRC (lyrics) or a plain-text script, turned into
timed words. Timed files keep their cue times; each word then takes the time the recogniser heard it at, when it
did, else an even share of its cue. A plain script gets its times from the recogniser alone (aligned word by
word, the words it missed placed between their neighbours). Pure functions but for reading the file."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from nemo_local.speech.words import TOKENS, Word

MAX_BYTES = 1 << 20
TIME = r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
CUE_TIMES = re.compile(rf"{TIME}\s*-->\s*{TIME}")
LRC_TAG = re.compile(r"\[(\d{1,3}):(\d{2})(?:[.:](\d{1,3}))?\]")
TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")
LRC_HOLD_S = 4.0          # an LRC line has a start only: it lasts until the next one, at most this long
NEAR_S = 1.0              # a heard word counts for a timed cue when it is this close to the cue
MIN_WORD_S = 0.08


@dataclass
class Cue:
    start: float | None
    end: float | None
    text: str


class ScriptError(ValueError):
    """The file cannot be read as captions; the message says why."""


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")[:3]) / 1000


def read(path: Path) -> list[Cue]:
    """The cues of an .srt, .vtt, .lrc or .txt file (a .txt is one cue without times)."""
    raw = path.read_bytes()[:MAX_BYTES]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScriptError(f"{path.name} is not UTF-8 text") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    ext = path.suffix.lower().lstrip(".")
    cues = _lrc(text) if ext == "lrc" else _blocks(text) if ext in ("srt", "vtt") else \
        [Cue(None, None, " ".join(text.split()))]
    cues = [c for c in cues if c.text]
    if not cues:
        raise ScriptError(f"{path.name} holds no words")
    return cues


def _blocks(text: str) -> list[Cue]:
    cues = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().split("\n")
        for k, line in enumerate(lines):
            times = CUE_TIMES.search(line)
            if times:
                words = " ".join(TAGS.sub("", t).strip() for t in lines[k + 1:])
                cues.append(Cue(_seconds(*times.groups()[:4]), _seconds(*times.groups()[4:]), " ".join(words.split())))
                break
    return cues


def _lrc(text: str) -> list[Cue]:
    timed: list[tuple[float, str]] = []
    for line in text.split("\n"):
        tags = list(LRC_TAG.finditer(line))
        words = LRC_TAG.sub("", TAGS.sub("", line)).strip()
        for tag in tags:
            timed.append((int(tag[1]) * 60 + int(tag[2]) + int((tag[3] or "0").ljust(3, "0")[:3]) / 1000, words))
    timed.sort()
    return [Cue(start, min(timed[k + 1][0] if k + 1 < len(timed) else start + LRC_HOLD_S, start + LRC_HOLD_S), words)
            for k, (start, words) in enumerate(timed)]


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def words(cues: list[Cue], heard: list[Word] | None) -> list[Word]:
    """Timed words for the cues' text. Raises ScriptError for a script without times and nothing heard."""
    tokens = [(k, w) for k, cue in enumerate(cues) for w in TOKENS.findall(cue.text)]
    times: list[tuple[float, float] | None] = [None] * len(tokens)
    if heard:
        matcher = difflib.SequenceMatcher(a=[_key(w) for _, w in tokens], b=[_key(w.text) for w in heard],
                                          autojunk=False)
        for block in matcher.get_matching_blocks():
            for i in range(block.size):
                k, _ = tokens[block.a + i]
                said = heard[block.b + i]
                cue = cues[k]
                if cue.start is None or (cue.start - NEAR_S <= said.start and cue.end is not None
                                         and said.end <= cue.end + NEAR_S):
                    times[block.a + i] = (said.start, said.end)
    elif any(c.start is None for c in cues):
        raise ScriptError("a script without times needs the speech recogniser to place its words")
    _fill(tokens, times, cues)
    return [Word(t[0], t[1], w) for (_, w), t in zip(tokens, times, strict=True) if t is not None]


def _fill(tokens: list[tuple[int, str]], times: list[tuple[float, float] | None], cues: list[Cue]) -> None:
    """Give every word without a heard time one: an even share of the gap its cue (or its neighbours) leave."""
    i = 0
    while i < len(tokens):
        if times[i] is not None:
            i += 1
            continue
        j = i
        while j < len(tokens) and times[j] is None and tokens[j][0] == tokens[i][0]:
            j += 1
        cue = cues[tokens[i][0]]
        prev, nxt = (times[i - 1] if i > 0 else None), (times[j] if j < len(tokens) else None)
        before = prev[1] if prev is not None else None
        after = nxt[0] if nxt is not None else None
        lo = cue.start if cue.start is not None else before
        hi = cue.end if cue.end is not None else after
        if lo is not None and before is not None and tokens[i - 1][0] == tokens[i][0]:
            lo = max(lo, before)
        if hi is not None and after is not None and tokens[j][0] == tokens[i][0]:
            hi = min(hi, after)
        if lo is not None and hi is not None and hi - lo < MIN_WORD_S * (j - i) and (prev or nxt):
            # words the recogniser did not hear between two it did: borrow half of each neighbour's time
            if prev is not None:
                lo = (prev[0] + prev[1]) / 2
                times[i - 1] = (prev[0], lo)
            if nxt is not None:
                hi = (nxt[0] + nxt[1]) / 2
                times[j] = (hi, nxt[1])
        if lo is None or hi is None or hi <= lo:
            i = j
            continue
        weights = [len(tokens[k][1]) + 1 for k in range(i, j)]
        total, at = sum(weights), lo
        for k, weight in zip(range(i, j), weights, strict=True):
            step = (hi - lo) * weight / total
            times[k] = (at, at + step)
            at += step
        i = j
